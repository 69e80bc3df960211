"""Every solution passes its checker; every starter fails it, with hints (rustlings-style)."""

import json
import os
import shutil

import nbformat
import pytest

from checker.command.course import find
from project.conftest import OFFLINE, copy_tree, run_checker

pytestmark = pytest.mark.full


@pytest.mark.parametrize("lab", OFFLINE, ids=lambda lab: lab.slug)
def test_solution_passes(lab, tmp_path):
    run = run_checker(lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path)
    # A busy machine may leave a timing check unjudged (exit 2, with its evidence); a ✗
    # on the solution never passes.
    assert run.code == (2 if run.unjudged() else 0), run.output
    counts = run.results["counts"]
    assert counts["failed"] == 0 and counts["not-run"] == 0, run.output
    assert "Traceback" not in run.output


@pytest.mark.parametrize("lab", OFFLINE, ids=lambda lab: lab.slug)
def test_starter_fails_with_hints(lab, tmp_path):
    run = run_checker(lab, copy_tree(lab, lab.tree_path, tmp_path), tmp_path)
    assert run.code == 1, run.output
    failed = [c for c in run.results["checks"] if c["status"] == "failed"]
    assert failed
    for check in failed:
        assert check["hint"] and check["step"], check
    assert run.output.count("hint: ") == len(failed)
    assert "Traceback" not in run.output


def test_doctor_says_what_is_missing(tmp_path):
    """On a laptop without kind and helm (none on PATH, no make tools), lab 00 names both."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("docker", "kubectl", "git"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "WORKSHOP_TOOLS_BIN": str(tmp_path / "no-tools")}
    run = run_checker(0, None, tmp_path, env=env)
    assert "Traceback" not in run.output
    assert run.code == 2, run.output
    for tool in ("kind", "helm"):
        assert run.status(tool) == "failed"
        assert f"{tool} is not installed" in run.output
    assert "make tools" in run.output


def test_a_card_left_from_an_earlier_run_is_not_judged(tmp_path):
    """Lab 01's README promises that only what this run writes is judged: a card and
    model left from an earlier run (here: a wrong card) get "written by this run"."""
    lab = find(1)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    notebook = nbformat.read(tree / "train.ipynb", as_version=4)
    for cell in notebook.cells:  # this run writes neither file
        cell.source = cell.source.replace("sio.dump(forest, artifact)", "pass").replace(
            "card_path.write_text(", "print("
        )
    nbformat.write(notebook, tree / "train.ipynb")
    models = tree / "models"
    models.mkdir()
    (models / "model-card.json").write_text(json.dumps({"artifact_sha256": "0" * 64}))
    (models / "diabetes-rf.skops").write_bytes(b"old")
    for old in models.iterdir():
        os.utime(old, (1_700_000_000, 1_700_000_000))
    run = run_checker(lab, tree, tmp_path)
    assert run.code == 1, run.output
    assert run.status("artifact_saved") == "failed", run.output
    assert "left from an earlier run" in run.output
    for judged in ("card_fields", "card_metrics", "artifact_hash", "safe_load", "training_split"):
        assert run.status(judged) == "not-run", (judged, run.output)
    assert "Traceback" not in run.output
