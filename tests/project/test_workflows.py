"""The workshop's own GitHub workflows pass the same linters lab 08 asks of learners."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checker.command.course import REPO

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


def test_the_lab_matrix_comes_from_the_manifest():
    """labs.yml runs one job per lab of labs.toml: adding a lab needs no edit there."""
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "labs.yml").read_text())
    jobs = workflow["jobs"]
    assert jobs["lab"]["strategy"]["matrix"] == {
        "include": "${{ fromJSON(needs.plan.outputs.labs) }}"
    }
    assert "plan" in jobs["lab"]["needs"]
    steps = " ".join(step.get("run", "") for step in jobs["plan"]["steps"])
    assert "python3 -m checker labs --json" in steps
    # As the plan job runs it: a bare python3 with no .venv, the engine's folder its path.
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts" / "engine")}
    done = subprocess.run(["python3", "-m", "checker", "labs", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    from checker.command.course import load

    ready = [lab for lab in load() if lab.ready]
    assert [entry["lab"] for entry in json.loads(done.stdout)] == [lab.code for lab in ready]
