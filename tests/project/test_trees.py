"""Starters and solutions: TODO marks where the learner edits, and no drift elsewhere."""

import filecmp
import json
import re
import tomllib

import pytest

from checker.manifest import REPO
from project.conftest import EDITABLE

IGNORED = {"__pycache__", ".pytest_cache", ".ruff_cache", "models"}


def files(root):
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and not IGNORED & set(p.relative_to(root).parts[:-1])
        and p.suffix != ".pyc"
    )  # fmt: skip


@pytest.mark.parametrize("lab", EDITABLE, ids=lambda lab: lab.slug)
def test_starter_and_solution_hold_the_same_paths(lab):
    assert files(lab.tree_path) == files(lab.solution_path)


@pytest.mark.parametrize("lab", EDITABLE, ids=lambda lab: lab.slug)
def test_todo_marks_are_exactly_in_the_files_you_edit(lab):
    mark = f"TODO(lab{lab.code})"
    marked = [f for f in files(lab.tree_path) if mark in (lab.tree_path / f).read_text()]
    assert sorted(marked) == sorted(lab.edits)
    in_solution = [
        f for f in files(lab.solution_path) if "TODO(lab" in (lab.solution_path / f).read_text()
    ]
    assert not in_solution, f"solution still has TODO marks in {in_solution}"


@pytest.mark.parametrize("lab", EDITABLE, ids=lambda lab: lab.slug)
def test_files_outside_the_lab_work_do_not_drift(lab):
    """diff -r starter solution shows exactly the lab's work: everything else is identical."""
    shared = [f for f in files(lab.tree_path) if f not in lab.edits]
    _, mismatch, errors = filecmp.cmpfiles(lab.tree_path, lab.solution_path, shared, shallow=False)
    assert not mismatch and not errors, f"drifted: {mismatch + errors}"


def test_carried_over_model_is_identical_everywhere():
    """Every lab from 02 on ships lab 01's artifact; one set of bytes, everywhere."""
    copies = sorted(REPO.glob("labs/*/work/models/diabetes-rf.skops")) + sorted(
        REPO.glob("solutions/*/models/diabetes-rf.skops")
    )
    copies = [p for p in copies if "01-train" not in p.parts]
    assert len(copies) >= 2
    first = copies[0].read_bytes()
    assert all(p.read_bytes() == first for p in copies[1:])


def test_notebooks_are_committed_without_outputs():
    for path in list(REPO.glob("notebooks/*.ipynb")) + list(REPO.glob("solutions/*/*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path


def test_service_requirements_match_the_lock_file():
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"]}
    for req in REPO.glob("**/requirements.txt"):
        if ".venv" in req.parts:
            continue
        for line in req.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line)
            if match:
                name = match.group(1).lower().replace("_", "-")
                assert locked.get(name) == match.group(2), (
                    f"{req}: {line} vs lock {locked.get(name)}"
                )


def carried_over_pairs():
    """(lab, previous lab) where lab's starter is the previous solution plus new files."""
    by_number = {lab.number: lab for lab in EDITABLE}
    for lab in EDITABLE:
        previous = by_number.get(lab.builds_on)
        if previous is not None and previous.tree != "notebooks":
            yield lab, previous


@pytest.mark.parametrize("lab,previous", list(carried_over_pairs()),
                         ids=lambda lab: getattr(lab, "slug", ""))  # fmt: skip
def test_starter_holds_the_previous_solution(lab, previous):
    """A learner who failed lab N-1 can still do lab N: its work is already there."""
    carried = [f for f in files(lab.tree_path) if f not in lab.edits + lab.provided]
    previous_files = [f for f in files(previous.solution_path) if f not in lab.edits + lab.provided]
    assert sorted(carried) == previous_files
    _, mismatch, errors = filecmp.cmpfiles(previous.solution_path, lab.tree_path, carried,
                                           shallow=False)  # fmt: skip
    assert not mismatch and not errors, (
        f"{lab.slug} starter drifted from {previous.slug}: {mismatch}"
    )
