"""The manifest, the folders, the checker suites and the READMEs agree."""

import ast
import re

import pytest

from checker.command.course import REPO, load
from project.conftest import EDITABLE, READY

README_SECTIONS = ["Goal", "What you will learn", "Steps", "Files you edit", "Verify",
                   "Troubleshooting", "Going further"]  # fmt: skip


def headings(path) -> list[str]:
    return [re.sub(r"^#+\s*", "", line).strip() for line in path.read_text().splitlines()
            if line.startswith("#")]  # fmt: skip


def suite_checks(lab) -> dict[str, str | None]:
    """check id -> docstring, read from the suite's source without importing it."""
    found = {}
    for path in sorted(lab.suite.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name.removeprefix("test_")] = ast.get_docstring(node)
    return found


def test_numbers_are_in_order_and_slugs_match():
    labs = load()
    assert [lab.number for lab in labs] == list(range(len(labs)))
    for lab in labs:
        assert lab.slug.startswith(f"{lab.code}-"), lab.slug


def test_only_manifest_labs_have_folders():
    slugs = {lab.slug for lab in READY}
    assert {p.name for p in (REPO / "labs").iterdir() if p.is_dir()} == slugs
    assert {p.name for p in (REPO / "solutions").iterdir()} == {lab.slug for lab in EDITABLE}
    suites = {p.name for p in (REPO / "tests" / "labs").iterdir() if p.name.startswith("lab")}
    assert suites == {f"lab{lab.code}" for lab in READY}


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_readme_has_every_section(lab):
    assert lab.readme.is_file()
    found = headings(lab.readme)
    missing = [s for s in README_SECTIONS if not any(h.startswith(s) for h in found)]
    assert not missing, f"{lab.readme} lacks sections {missing}"
    assert f"make check-lab {lab.number}" in lab.readme.read_text()


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_every_check_has_a_hint_and_every_hint_a_check(lab):
    checks = suite_checks(lab)
    assert checks, f"no checks in {lab.suite}"
    assert sorted(checks) == sorted(lab.checks), "suite and manifest list different checks"
    undocumented = [cid for cid, doc in checks.items() if not doc]
    assert not undocumented, f"checks without a title (docstring): {undocumented}"
    for info in lab.checks.values():
        assert info.hint.strip() and len(info.hint) < 140, info


FIRST_SCREEN = 40  # lines: a newcomer opening a suite sees its first check at once


def is_check(node) -> bool:
    return isinstance(node, ast.FunctionDef) and node.name.startswith("test_")


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_a_suite_reads_as_the_labs_contract(lab):
    """Its test_*.py holds only checks, in labs.toml's order, the first on the first
    screen; fixtures live in conftest.py and helpers in harness.py beside it."""
    [suite] = sorted(lab.suite.glob("test_*.py"))
    tree = ast.parse(suite.read_text())
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    imports = ast.Import | ast.ImportFrom
    other = [getattr(node, "name", type(node).__name__) for node in body
             if not isinstance(node, imports) and not is_check(node)]  # fmt: skip
    assert not other, f"{suite.name} holds more than checks: {other} (conftest.py, harness.py)"
    checks = [node for node in body if is_check(node)]
    assert checks[0].lineno <= FIRST_SCREEN, f"the first check is at line {checks[0].lineno}"
    order = [node.name.removeprefix("test_") for node in checks]
    assert order == list(lab.checks), "checks out of labs.toml's order"


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_hints_point_to_existing_readme_sections(lab):
    found = headings(lab.readme)
    broken = sorted({i.see for i in lab.checks.values() if i.see not in found})
    assert not broken, f"{lab.readme} has no heading(s) {broken}"


@pytest.mark.parametrize("lab", EDITABLE, ids=lambda lab: lab.slug)
def test_readme_lists_the_files_you_edit(lab):
    text = lab.readme.read_text()
    section = text.split("## Files you edit", 1)[1].split("\n## ", 1)[0]
    for name in lab.edits:
        assert name in section, f"{name} is not under 'Files you edit' in {lab.readme}"


def test_every_make_target_has_a_description():
    makefile = (REPO / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M)
    documented = re.findall(r"^\.PHONY: ([a-z-]+) +## \S", makefile, flags=re.M)
    assert targets and sorted(targets) == sorted(documented)


def test_readme_commands_are_the_ones_ci_runs():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make check-lab 1" in readme and "make test" in readme
    assert re.search(r"^\s*(phase \"[^\"]+\" )?make test\s*$", ci, flags=re.M), (
        ".ci/run must call `make test`"
    )


DOCS = ["README.md", "labs/labs.toml", "labs/*/README.md", "scripts/**/README.md"]


def test_every_script_a_document_names_exists():
    """A path under scripts/ in a README or the manifest is there: a learner copies these
    commands. One under another folder (lab 08's workshop/scripts/, the pipeline's checkout
    at its pinned commit) is not this tree's."""
    missing = []
    for pattern in DOCS:
        for doc in sorted(REPO.glob(pattern)):
            text = doc.read_text(encoding="utf-8")
            for found in re.finditer(r"(?<![\w/.-])(?:\.\./)*scripts/[\w./-]*\w", text):
                path = found.group(0)
                if not (REPO / path.lstrip("./")).exists() and not (doc.parent / path).exists():
                    missing.append(f"{doc.relative_to(REPO)}: {path}")
    assert not missing, missing


def test_lab09s_wrk_script_is_what_the_checker_sends():
    import json

    from checker.load.wrk import WRK_SCRIPT
    from checker.processes.artifact import PATIENT

    lua = (REPO / "scripts" / "learner" / "post.lua").read_text(encoding="utf-8")
    assert lua.split("\n", 1)[1] == WRK_SCRIPT.format(body=json.dumps(PATIENT))
