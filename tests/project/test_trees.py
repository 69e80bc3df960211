"""Starters and solutions: TODO marks where the learner edits, and every other file
a copy of its one owner (make labs-sync)."""

import json
import re
import shutil
import tomllib

import pytest

from checker.command.course import REPO, find
from checker.upkeep import labsync
from project.conftest import EDITABLE


def files(root):
    return sorted(name for name in labsync.files(root) if not name.startswith("models/"))


def test_committed_trees_are_what_labs_sync_writes():
    found = labsync.differences()
    assert not found, "\n".join(found)


@pytest.fixture
def two_labs(tmp_path):
    """A repository of labs 02 and 03 only, in sync, to change and re-sync."""
    labs = [find(2), find(3)]
    for lab in labs:
        for folder in (lab.tree, lab.solution):
            shutil.copytree(REPO / folder, tmp_path / folder,
                            ignore=shutil.ignore_patterns(*labsync.SKIPPED_DIRS))  # fmt: skip
    (tmp_path / "README.md").write_text(
        "<!-- generated: course-map (make labs-sync) -->\n<!-- end: course-map -->\n"
        "<!-- generated: diagram (make labs-sync) -->\n<!-- end: diagram -->\n"
    )
    labsync.sync(tmp_path, labs)
    assert labsync.differences(tmp_path, labs) == []
    return tmp_path, labs


def test_a_change_to_a_copy_names_the_owner_and_the_command(two_labs):
    repo, labs = two_labs
    copy = repo / "labs/03-docker/work/app/middleware.py"
    copy.write_text(copy.read_text() + "# edited in a copy\n")
    found = labsync.differences(repo, labs)
    assert found == [
        "labs/03-docker/work/app/middleware.py differs from its owner "
        "solutions/02-serve/app/middleware.py: edit the owner, then run make labs-sync "
        "(it rewrites every copy)"
    ]


def test_labs_sync_carries_an_owners_change_to_every_copy(two_labs):
    repo, labs = two_labs
    owner = repo / "solutions/02-serve/app/middleware.py"
    owner.write_text(owner.read_text() + "# fixed once, in the owner\n")
    changed, problems = labsync.sync(repo, labs)
    assert problems == []
    assert sorted(changed) == [
        "labs/02-serve/work/app/middleware.py",
        "labs/03-docker/work/app/middleware.py",
        "solutions/03-docker/app/middleware.py",
    ]
    for path in changed:
        assert (repo / path).read_text() == owner.read_text()
    assert labsync.differences(repo, labs) == []


def test_a_new_file_outside_the_manifest_is_named(two_labs):
    repo, labs = two_labs
    (repo / "solutions/03-docker/app/extra.py").write_text("x = 1\n")
    found = labsync.differences(repo, labs)
    assert len(found) == 1 and "app/extra.py is new in lab 03" in found[0], found
    assert "provided" in found[0]


def test_the_model_is_carried_too(two_labs):
    repo, labs = two_labs
    (repo / "solutions/03-docker/models/model-card.json").write_text("{}\n")
    found = labsync.differences(repo, labs)
    assert any("solutions/03-docker/models/model-card.json differs" in f for f in found), found


@pytest.mark.parametrize("lab", EDITABLE, ids=lambda lab: lab.slug)
def test_todo_marks_are_exactly_in_the_files_you_edit(lab):
    mark = f"TODO(lab{lab.code})"
    marked = [f for f in files(lab.tree_path) if mark in (lab.tree_path / f).read_text()]
    assert sorted(marked) == sorted(lab.edits)
    in_solution = [
        f for f in files(lab.solution_path) if "TODO(lab" in (lab.solution_path / f).read_text()
    ]
    assert not in_solution, f"solution still has TODO marks in {in_solution}"


def test_notebooks_are_committed_without_outputs():
    for path in list(REPO.glob("notebooks/*.ipynb")) + list(REPO.glob("solutions/*/*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path


def test_service_requirements_are_the_lock_files_with_hashes():
    """Each requirements file is exported from uv.lock (make labs-sync checks the bytes):
    every package of the lock's group, pinned, with its hashes."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {(p["name"], p["version"]) for p in lock["package"]}
    found = sorted(REPO.glob("solutions/*/requirements*.txt"))
    assert len(found) >= 9, found
    for req in found:
        entries = re.sub(r"\\\n\s*", " ", req.read_text()).splitlines()
        pins = [e for e in entries if e and not e.startswith(("#", " "))]
        assert len(pins) > 20, f"{req}: {len(pins)} packages: not the whole dependency tree"
        for entry in pins:
            match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", entry)
            assert match and "--hash=sha256:" in entry, f"{req}: {entry[:80]}"
            name = match.group(1).lower().replace("_", "-")
            assert (name, match.group(2)) in locked, f"{req}: {entry[:60]} is not in uv.lock"
