"""Shared helpers for the project's own tests."""

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checker.command.course import REPO, Lab, load
from checker.load import capacity
from project import hog

READY = [lab for lab in load() if lab.ready]
EDITABLE = [lab for lab in READY if lab.tree]
# Labs judged against a live cluster: proven by test_live_labs.py, one namespace each.
LIVE = [lab for lab in EDITABLE if "cluster" in lab.needs]
OFFLINE = [lab for lab in EDITABLE if lab not in LIVE]


# The full tier's cases that compute on this machine's cores (notebooks, uvicorn
# start-ups, Docker builds, throughput on pinned cores) and share its state (lab
# 03's labelled containers and images) run one after another, on one worker.
# make test spreads the cluster cases, which mostly wait on rollouts, scale-ups
# and scrapes, each in a namespace of its own, over the other workers.
LOCAL_MODULES = {"test_labs", "test_mistakes", "test_docker_tier", "test_signals",
                 "test_hostile_folders", "test_services", "test_openloop"}  # fmt: skip
GROUPED_MODULES = {"test_room", "test_room_board"}


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's own loadgroup cannot group under pytest 9 (it rewrites a node id
    attribute pytest 9 no longer has): a LoadScope scheduler whose scope is
    "local" for the modules above, and each test alone otherwise."""
    from xdist.scheduler import LoadScopeScheduling

    class LocalOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
            if module in LOCAL_MODULES:
                return "local"
            # A module whose tests share one cluster fixture (a room) stays together.
            return module if module in GROUPED_MODULES else nodeid

    return LocalOnOneWorker(config, log)


# make test's hog phase (WORKSHOP_TEST_HOG=1): one hog for the whole run, started by
# the controller before its workers, so that two cases never stack two hogs.
RUN_HOG_SECONDS = 3600


def pytest_configure(config):
    if os.environ.get("WORKSHOP_TEST_HOG") != "1" or hasattr(config, "workerinput"):
        return
    config.run_hog = hog.cpu_hog(RUN_HOG_SECONDS)
    config.run_hog.__enter__()
    os.environ[hog.RUN_HOG] = "1"


def pytest_unconfigure(config):
    if running := getattr(config, "run_hog", None):
        running.__exit__(None, None, None)
        os.environ.pop(hog.RUN_HOG, None)


TIER_SECONDS: dict[str, float] = defaultdict(float)
TIER_TESTS: dict[str, int] = defaultdict(int)
# Each xdist worker's busy time: the run's wall time is about the busiest one's.
WORKER_SECONDS: dict[str, float] = defaultdict(float)


def tier(report) -> str:
    """quick, or the full tier's module: labs, mistakes, docker_tier, cluster, live_labs."""
    if "full" not in report.keywords:
        return "quick"
    return Path(report.fspath).stem.removeprefix("test_")


def pytest_runtest_logreport(report):
    TIER_SECONDS[tier(report)] += report.duration
    node = getattr(report, "node", None)  # set on the controller of an xdist run
    if node is not None:
        WORKER_SECONDS[node.gateway.id] += report.duration
    if report.when == "call":
        TIER_TESTS[tier(report)] += 1


def pytest_terminal_summary(terminalreporter):
    if not TIER_SECONDS:
        return
    terminalreporter.section("time per test tier")
    for name, seconds in sorted(TIER_SECONDS.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{name:<14} {TIER_TESTS[name]:>4} tests {seconds:>8.0f} s")
    for worker, seconds in sorted(WORKER_SECONDS.items()):
        terminalreporter.write_line(f"worker {worker:<7} busy {seconds:>14.0f} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # A skipped test has proved nothing: count it as a failure, loudly.
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped tests count as failures here: {reason}"
    return report


@contextlib.contextmanager
def the_clusters_adapter():
    """The Prometheus Adapter serves one cluster-wide API with one set of rules: the
    cases that install it (lab 10's) and the room's learner on lab 10 take turns,
    across xdist workers."""
    path = Path(tempfile.gettempdir()) / "ml-workshop-adapter.lock"
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class CheckerRun:
    code: int
    output: str
    results: dict
    deployed: str = ""  # make deploy's output, when the test deployed first
    later: dict = field(default_factory=dict)  # runs after further edits, by mistake id

    def status(self, check_id: str) -> str:
        for check in self.results.get("checks", []):
            if check["id"] == check_id:
                return check["status"]
        return "absent"

    def failed(self) -> list[str]:
        return [c["id"] for c in self.results.get("checks", []) if c["status"] == "failed"]

    def unjudged(self) -> list[str]:
        """The timing checks that could not judge on this busy machine, each with its
        evidence; said out loud as a warning, since they proved nothing here."""
        found = [c["id"] for c in self.results.get("checks", [])
                 if c["status"] == "could-not-judge" and c.get("message")]  # fmt: skip
        if found:
            warnings.warn(f"could not judge on this machine: {', '.join(found)}", stacklevel=2)
        return found


def run_checker(
    lab: Lab | int, lab_dir: Path | None, tmp_path: Path, *extra: str, env: dict | None = None
) -> CheckerRun:
    number = lab if isinstance(lab, int) else lab.number
    results = tmp_path / f"results-{number}.json"
    command = [sys.executable, "-m", "checker", "check", str(number), "--json", str(results)]
    if lab_dir is not None:
        command += ["--lab-dir", str(lab_dir)]
    env = {**os.environ, **(env or {}), "NO_COLOR": "1"}
    done = subprocess.run(command + list(extra), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    output = done.stdout + done.stderr
    data = json.loads(results.read_text()) if results.exists() else {}
    return CheckerRun(done.returncode, output, data)


def measure_capacity(tree: Path, env: dict) -> bool:
    """Lab 10's Steps 1 and 3, as a learner runs them once the service is deployed: make
    capacity measures one pod into the tree's capacity.json, then the HPA's target is set
    to capacity.SHARE (60%) of it (as on this machine, now: busy or not). True when the
    target changed, so that the tree must be deployed again."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "checker", "capacity", "--lab-dir", str(tree)],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    print(f"make capacity: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stdout + done.stderr
    measured = json.loads((tree / capacity.FILE).read_text())["requests_per_second"]
    target = round(capacity.SHARE * measured)
    hpa = tree / "k8s" / "hpa.yaml"
    before = hpa.read_text()
    after = re.sub(r'averageValue: "\d+"', f'averageValue: "{target}"', before)
    hpa.write_text(after)
    print(f"capacity {measured}/s: the HPA's target set to {target}/s")
    return after != before


def copy_tree(lab: Lab, source: Path, tmp_path: Path) -> Path:
    """A copy of a lab tree without caches or, for the notebook lab, earlier outputs."""
    skip = ["__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"]
    if lab.tree == "notebooks":
        skip.append("models")  # written by running the notebook, so never reused
    target = tmp_path / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skip))
    return target
