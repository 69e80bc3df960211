"""The checker engine's own behaviour: exit codes, messages, no tracebacks."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.command.course import REPO, ManifestError, find, load
from checker.outcomes import Fail, Soft
from checker.upkeep.versions import pins


def checker(*args, cwd=REPO):
    # The engine of the tree under test, never the main checkout's: PYTHONPATH comes
    # before the .pth of .venv's editable install.
    env = {**os.environ, "PYTHONPATH": str(cwd / "scripts" / "engine"), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_soft_collects_every_problem():
    soft = Soft()
    soft.check(True, "a", "b")
    soft.check(False, "x is 1", "x is 2")
    soft.check(False, "y is 3", "y is 4")
    with pytest.raises(Fail) as caught:
        soft.raise_if_any()
    assert "2 problems" in caught.value.found and "y is 4" in caught.value.expected


def test_unknown_lab_is_a_clear_error():
    with pytest.raises(ManifestError, match="no lab 42"):
        find(42)
    with pytest.raises(ManifestError, match="not a lab number"):
        find("two")


@pytest.mark.parametrize("args,needle", [
    (["check", "42"], "there is no lab 42"),
    (["check", "two"], "not a lab number"),
    (["check", "2", "--lab-dir", "/nonexistent/folder"], "does not exist"),
])  # fmt: skip
def test_cannot_run_exits_2_without_traceback(args, needle):
    done = checker(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_until_ends_the_run_after_the_named_checks(tmp_path):
    """--until (the seeded-mistake tests) runs the checks up to the named ones; the
    rest are "not run" as asked, so the exit code is that of what ran."""
    results = tmp_path / "r.json"
    done = checker("check", "0", "--until", "python_version", "--json", str(results))
    data = json.loads(results.read_text())
    statuses = {c["id"]: c["status"] for c in data["checks"]}
    assert statuses.pop("python_version") == "passed", done.stdout
    assert statuses and set(statuses.values()) == {"not-run"}, statuses
    assert "stopped after python_version (--until)" in done.stdout
    assert done.returncode == 0, done.stdout
    unknown = checker("check", "0", "--until", "no_such_check")
    assert unknown.returncode == 2 and "lab 00 has no check no_such_check" in unknown.stdout


def test_a_lab_not_ready_is_not_run(capsys):
    """labs.toml can announce a lab before it is built: checking it says so, exit 2."""
    import argparse
    import dataclasses

    from checker.command import cli

    planned = dataclasses.replace(find(8), ready=False)
    original = cli.find
    cli.find = lambda _: planned
    try:
        code = cli.cmd_check(
            argparse.Namespace(lab="8", lab_dir=None, json=None, verbose=False, until=None)
        )
    finally:
        cli.find = original
    assert code == 2
    assert "not available yet" in capsys.readouterr().out


def test_versions_are_pinned_in_one_place():
    values = pins()
    for key in ("KIND_VERSION", "KIND_NODE_IMAGE", "KUBECTL_VERSION", "HELM_VERSION", "UV_VERSION"):
        assert values[key], key
    # kind's node image and kubectl stay on the same Kubernetes minor.
    node_minor = values["KIND_NODE_IMAGE"].split(":v")[1].rsplit(".", 1)[0]
    assert values["KUBECTL_VERSION"].lstrip("v").rsplit(".", 1)[0] == node_minor


def test_progress_lists_every_lab():
    done = checker("progress")
    assert done.returncode == 0
    for lab in load():
        assert f"{lab.code} " in done.stdout and lab.title in done.stdout


def test_make_help_is_the_default_goal():
    done = subprocess.run(["make", "--no-print-directory"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    assert "check-lab" in done.stdout and "Serve the model with FastAPI" in done.stdout


def test_make_help_is_grouped_learners_first():
    """make help: the lab commands, then the instructor's, then the maintainer's; every
    target with a description stands in one group."""
    done = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    groups, current = {}, None
    for line in done.stdout.splitlines():
        if line.startswith("For "):
            current = line.split(":")[0].split(" (")[0]
            groups[current] = []
        elif line.startswith("  ") and current and not line.strip()[:1].isdigit():
            groups[current].append(line.split()[0])
    assert list(groups) == ["For learners", "For instructors", "For maintainers"], list(groups)
    assert groups["For learners"][1] == "check-lab", groups["For learners"][:3]
    assert {"room-up", "room-board"} <= set(groups["For instructors"])
    assert {"test", "lint", "labs-sync"} <= set(groups["For maintainers"])
    makefile = (REPO / "Makefile").read_text()
    described = set(re.findall(r"^\.PHONY: ([a-z-]+) +## ", makefile, flags=re.M))
    listed = [name for names in groups.values() for name in names]
    assert sorted(listed) == sorted(described)


@pytest.fixture
def clone(tmp_path):
    """A throwaway clone, so solution/reset can be tried on a learner's tree."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    # Carry over uncommitted work so the clone is the tree under test.
    diff = subprocess.run(
        ["git", "diff", "--binary", "HEAD"], cwd=REPO, capture_output=True, check=True
    )
    if diff.stdout:
        subprocess.run(["git", "apply", "--allow-empty"], cwd=target, input=diff.stdout, check=True)
    return target


def test_solution_then_reset_backs_up_the_learners_work(clone):
    work = clone / "labs" / "02-serve" / "work"
    (work / "app" / "main.py").write_text("# my own attempt\n")
    done = checker("solution", "2", cwd=clone)
    assert done.returncode == 0, done.stdout
    solution = (clone / "solutions" / "02-serve" / "app" / "main.py").read_text()
    assert (work / "app" / "main.py").read_text() == solution
    backups = list((clone / ".workshop" / "backups").glob("02-serve-*"))
    assert len(backups) == 1
    assert (backups[0] / "app" / "main.py").read_text() == "# my own attempt\n"

    (work / "scratch.py").write_text("x = 1\n")
    done = checker("reset", "2", cwd=clone)
    assert done.returncode == 0, done.stdout
    assert "TODO(lab02)" in (work / "app" / "main.py").read_text()
    assert not (work / "scratch.py").exists()


def test_results_json_has_what_instructors_collect(tmp_path):
    results = tmp_path / "r.json"
    checker("check", "0", "--json", str(results))
    data = json.loads(results.read_text())
    assert data["lab"] == 0 and data["checks"]
    for check in data["checks"]:
        assert set(check) >= {"id", "status", "message", "hint", "step", "duration_s"}


def test_grading_a_folder_never_overwrites_the_learners_results():
    from checker.command.results import default_results

    lab = find(2)
    own = default_results(lab, lab.tree_path)
    graded = default_results(lab, Path("/elsewhere/alice/labs/02-serve/work"))
    assert own.name == "lab02-latest.json"
    assert graded.name.startswith("lab02-work-") and graded != own


def test_every_check_run_and_some_failed_is_failed_not_could_not_run(monkeypatch, tmp_path):
    from checker.command import progress

    monkeypatch.setattr(progress, "STATE", tmp_path)
    monkeypatch.setattr(progress, "PROGRESS", tmp_path / "progress.json")
    progress.record(find(0), 2, {"passed": 6, "failed": 3, "not-run": 0})
    progress.record(find(3), 2, {"passed": 5, "failed": 0, "not-run": 4})
    state = progress.read()
    assert state["00"]["status"] == "failed" and state["03"]["status"] == "could not run"


def test_a_check_that_could_not_judge_is_its_own_outcome(tmp_path, capsys):
    """Neither ✓ nor ✗: its own status, line and exit code 2, with what it measured
    and why that points at the machine; progress and the next step say so too."""
    from checker import Unjudged
    from checker.command import nextstep, writers
    from checker.command.report import Report, Result

    lab = find(5)
    report = Report(lab, None)
    report.results["healthz"] = Result("healthz", "healthz", "passed")
    caught = Unjudged("8 failed (TimeoutError: 8)", "every failure timed out", "0 failed")
    report.results["zero_downtime"] = Result(
        "zero_downtime", "A rollout drops no request", "could-not-judge",
        message=caught.evidence, found=caught.found, expected=caught.expected,
        hint=caught.hint, blocks_exit=True)  # fmt: skip
    writers.print_result(report.results["zero_downtime"], verbose=False)
    shown = capsys.readouterr().out
    assert "? A rollout drops no request: could not judge" in shown
    assert "because:  every failure timed out" in shown and "quieter" in shown
    assert report.exit_code() == 2
    assert report.counts()["could-not-judge"] == 1
    writers.write_json(report, tmp_path / "r.json", 2)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["checks"][1]["status"] == "could-not-judge"
    text = nextstep.next_step(lab, 2, report.counts())
    assert "too busy to judge" in text


def test_make_takes_one_lab_at_a_time():
    done = subprocess.run(["make", "--no-print-directory", "check-lab", "2", "3"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "one lab at a time: make check-lab 2, then make check-lab 3" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server is Linux only")
def test_fork_server_children_run_like_python_dash_m(tmp_path):
    """A forked child sees its own cwd, environment and argv, its exit code comes back,
    and closing the fork server leaves none of its children running."""
    from checker.processes import forkserver, procs

    forks = forkserver.start(["json"])
    assert forks is not None
    (tmp_path / "probe.py").write_text(
        "import os, sys\nprint(os.getcwd(), os.environ['PROBE'], sys.argv[1:])\nsys.exit(3)\n"
    )
    done = procs.Server([sys.executable, "-m", "probe", "a"], tmp_path, {"PROBE": "p"}, 0,
                        forks=forks).start()  # fmt: skip
    sleeper = procs.Server([sys.executable, "-m", "http.server", "0"], tmp_path, {}, 0,
                           forks=forks).start()  # fmt: skip
    try:
        assert done.finish(30) == 3
        assert done.log_lines() == [f"{tmp_path} p ['a']"]
        assert sleeper.alive()
    finally:
        forks.close()
    # The sleeper is the fork server's child, not ours: looked up by its pid.
    gone = Path(f"/proc/{sleeper.process.pid}")
    deadline = time.monotonic() + 5
    while gone.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not gone.exists()
    procs.stop_all()


@pytest.mark.parametrize("value", ["abc", "2h", "-5s"])
def test_a_bad_rollout_timeout_stops_make_deploy_before_any_build(value):
    deploy = REPO / "scripts" / "learner" / "deploy.sh"
    done = subprocess.run([str(deploy), str(find(4).solution_path)],
                          env={**os.environ, "ROLLOUT_TIMEOUT": value}, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"ROLLOUT_TIMEOUT={value} is not a duration" in done.stderr
    assert "docker build" not in done.stderr and "Traceback" not in done.stderr


def test_a_job_that_hangs_or_loops_is_not_taken_for_a_busy_machine():
    """run_job's evidence: a blocked call and a busy loop are the job's doing; only a
    job that waited for a CPU longer than it ran says the machine was busy."""
    from checker.processes import procs

    blocked = procs.run_job([sys.executable, "-c", "import time; time.sleep(30)"], Path(), 0.5)
    assert blocked.returncode is None and not blocked.starved(), blocked
    looping = procs.run_job([sys.executable, "-c", "while True: pass"], Path(), 0.5)
    assert looping.returncode is None and looping.cpu >= 0.5 and not looping.starved(), looping
    done = procs.run_job([sys.executable, "-c", "print('hi')"], Path(), 5)
    assert done.returncode == 0 and done.output == "hi", done
    busy = procs.Job(None, "", wall=480, cpu=100, waited=300)
    assert busy.starved()
