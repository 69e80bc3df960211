"""The lab's checker on one mutant, in a scratch copy of the solution: caught, or
survived (with why it counts as one)."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from checker.command.course import REPO

# Checks that run the folder's own tests: a learner writes those, so a mutant only
# they fail is one the checker itself did not notice.
OWN_TESTS = {"unit_tests", "lint_and_tests_pass_here"}


@dataclass
class Verdict:
    caught: bool
    by: list[str] = field(default_factory=list)  # the checks that failed
    note: str = ""  # why a survivor counts as one
    seconds: float = 0.0


def judge(number: int, tree: Path, scratch: Path, until: list[str], timeout: float) -> Verdict:
    results = scratch / "results.json"
    results.unlink(missing_ok=True)
    command = [sys.executable, "-m", "checker", "check", str(number), "--lab-dir", str(tree),
               "--json", str(results)]  # fmt: skip
    for check in until:
        command += ["--until", check]
    started = time.monotonic()
    # A session of its own, so that a checker that outlives its time takes whatever it
    # started (uvicorn, pytest) with it.
    with subprocess.Popen(command, cwd=REPO, env={**os.environ, "NO_COLOR": "1"},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True) as run:  # fmt: skip
        try:
            output, _ = run.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
            return Verdict(False, note=f"the checker did not end in {timeout:g} s",
                           seconds=time.monotonic() - started)  # fmt: skip
        finally:
            if run.poll() is None:  # interrupted: leave nothing running
                os.killpg(run.pid, signal.SIGKILL)
    seconds = time.monotonic() - started
    checks = json.loads(results.read_text())["checks"] if results.exists() else []
    failed = [c["id"] for c in checks if c["status"] == "failed"]
    if run.returncode not in (0, 1, 2) or not results.exists():
        return Verdict(False, failed, f"the checker crashed (exit {run.returncode}): "
                       f"{output.strip()[-300:]}", seconds)  # fmt: skip
    if set(failed) - OWN_TESTS:
        return Verdict(True, failed, seconds=seconds)
    if failed:
        return Verdict(False, failed, "only the folder's own tests failed", seconds)
    if any(c["status"] == "could-not-judge" for c in checks):
        return Verdict(False, note="could not judge: a broken folder must not be excused",
                       seconds=seconds)  # fmt: skip
    if run.returncode != 0:
        return Verdict(False, note=f"exit {run.returncode} with no check failed", seconds=seconds)
    return Verdict(False, note="every check passed", seconds=seconds)
