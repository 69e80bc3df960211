"""The workshop's own GitHub workflows pass the same linters lab 08 asks of learners."""

import subprocess
import sys
from pathlib import Path

import pytest

from checker.manifest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"labs.yml", "nightly.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_is_clean(workflow):
    done = subprocess.run([BIN / "actionlint", "-no-color", str(workflow)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_matches_the_workflow_schema(workflow):
    done = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_sha(workflow):
    for number, line in enumerate(workflow.read_text().splitlines(), 1):
        stripped = line.strip().removeprefix("- ")
        if stripped.startswith("uses:") and not stripped.split()[1].startswith("./"):
            action = stripped.split()[1]
            ref = action.split("@")[-1]
            assert len(ref) == 40 and "# v" in line, f"{workflow.name}:{number}: {action}"
