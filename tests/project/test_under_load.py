"""Right under load, proven: the timing labs (05 and 10) judged while a CPU hog keeps
the host's cores busy (tests/project/hog.py). A correct folder gives ✓ or "could not
judge" with its evidence, never a ✗; lab 05's stop-path mistakes are still caught, or
at worst not judged, and never pass. Each run prints what every check said.

make test's hog phase (and make test-hog alone) runs these and the room test under one
hog for the whole run (WORKSHOP_TEST_HOG=1, started by tests/project/conftest.py)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.command.course import REPO, find
from project import hog, seeded
from project.conftest import copy_tree
from project.test_live_labs import MEASURED, cluster, deploy_and_check  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.full, pytest.mark.cluster, pytest.mark.hog]
# Long enough for lab 10's whole run; each hog process ends itself by then anyway.
DEADLINE_SECONDS = 900


def under_the_hog():
    return hog.cpu_hog(DEADLINE_SECONDS)


def said(run) -> str:
    return ", ".join(f"{c['id']} {c['status']}" for c in run.results.get("checks", []))


def test_a_busy_loop_gets_a_small_share_under_the_hog():
    """Twice the cores in busy processes leave a new one about 0.4 of a core (make test's
    hog phase: the run's own hog; alone, one of its own)."""
    with hog.cpu_hog(10):
        busy = hog.busy_share()
    print(f"a busy loop's share of a core under the hog: {busy:.2f}")
    assert busy < 0.6, busy


def test_the_hog_ends_by_itself():
    with hog.cpu_hog(2, workers=1, own=True) as hogs:
        deadline = time.monotonic() + 7
        while hog.still_running(hogs) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = hog.still_running(hogs)
    assert not left, f"hog processes outlived their deadline: {left}"


KILLED_PARENT = """import sys, time
sys.path.insert(0, sys.argv[1])
from project import hog
with hog.cpu_hog(120, 2, own=True) as hogs:
    print(*(h.pid for h in hogs), flush=True)
    time.sleep(120)
"""


def test_the_hog_ends_with_the_run_that_started_it():
    """A test run killed outright (SIGKILL runs no finally) leaves no hog spinning."""
    parent = subprocess.Popen([sys.executable, "-c", KILLED_PARENT, str(REPO / "tests")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    parent.stdout.readline()  # the hog's own first line
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 2, pids
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if Path(f"/proc/{pid}/cmdline").exists()
            and b"deadline" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # fmt: skip
    assert not left, f"hog processes outlived the run that started them: {left}"


@pytest.mark.parametrize("number", [5, 10], ids=["05-probes", "10-scale"])
def test_a_correct_folder_is_never_failed_under_the_hog(cluster, number, tmp_path):  # noqa: F811
    lab = find(number)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    run = deploy_and_check(cluster, lab, tree, tmp_path, measured=number in MEASURED,
                           checking=under_the_hog)  # fmt: skip
    print(f"lab {lab.code} under the hog, exit {run.code}: {said(run)}")
    assert "Traceback" not in run.output, run.output
    assert run.results["counts"]["failed"] == 0, run.output
    assert run.code == (2 if run.unjudged() else 0), run.output


STOP_PATH = ["no-prestop", "shell-form-cmd"]


@pytest.mark.parametrize("mistake_id", STOP_PATH)
def test_a_stop_path_mistake_is_not_passed_under_the_hog(cluster, mistake_id, tmp_path):  # noqa: F811
    """Caught with its own hint where the evidence still shows the cause; otherwise
    'could not judge' with that evidence. A pass would tell a learner "done"."""
    lab = find(5)
    mistake = next(m for m in seeded.of(lab).mistakes if m.id == mistake_id)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    mistake.apply(tree)
    run = deploy_and_check(cluster, lab, tree, tmp_path, *mistake.until(),
                           checking=under_the_hog)  # fmt: skip
    status = run.status(mistake.caught_by)
    print(f"{mistake_id} under the hog: {mistake.caught_by} {status}; {said(run)}")
    assert "Traceback" not in run.output, run.output
    assert status in ("failed", "could-not-judge"), run.output
    if status == "failed":
        assert f"hint: {mistake.hint or lab.checks[mistake.caught_by].hint}" in run.output
        assert mistake.says in run.output, run.output
