"""Every solution passes its checker; every starter fails it, with hints (rustlings-style)."""

import shutil

import pytest

from project.conftest import OFFLINE, copy_tree, run_checker

pytestmark = pytest.mark.full


@pytest.mark.parametrize("lab", OFFLINE, ids=lambda lab: lab.slug)
def test_solution_passes(lab, tmp_path):
    run = run_checker(lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path)
    assert run.code == 0, run.output
    assert run.results["counts"]["failed"] == 0 and run.results["counts"]["not-run"] == 0
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
