"""Whatever ends the checker, nothing it started keeps running: SIGTERM and SIGHUP
are handled (the servers are stopped), SIGKILL is not catchable, so the servers
are armed with a parent-death signal (Linux)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.command.course import REPO, find
from project.conftest import copy_tree

pytestmark = pytest.mark.full


def processes_in(folder: Path) -> list[str]:
    """Command lines of the live processes whose working directory is folder."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "cwd")) == folder:
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue  # gone, or not ours to read
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("ending", ["SIGHUP", "SIGKILL", "SIGTERM"])
def test_no_process_outlives_the_checker(ending, tmp_path):
    tree = copy_tree(find(2), REPO / "solutions" / "02-serve", tmp_path).resolve()
    env = {**os.environ, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "checker", "check", "2", "--lab-dir", str(tree),
               "--json", str(tmp_path / "r.json")]  # fmt: skip
    checker = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(processes_in(tree)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the service and its helpers are starting in the tree
        started = processes_in(tree)
        assert len(started) >= 2, "the checker started no server in the tree"
        checker.send_signal(getattr(signal, ending))
        checker.wait(30)
        deadline = time.monotonic() + 10
        while processes_in(tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_in(tree) == [], f"left running after {ending}: {processes_in(tree)}"
    finally:
        if checker.poll() is None:
            checker.kill()
