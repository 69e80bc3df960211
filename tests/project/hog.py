"""A bounded CPU hog: what a learner's busy laptop (a build, a video call) does to the
cluster a checker judges. Busy-looping processes on the host, which is every node of
the test cluster (its kubelets, room nodes included, share the host's cores; so do
kind's node containers). They compete at the host's default CPU weight with the
cluster's whole pod tree, which a pod's requests cannot do: a hog pod's low requests
would give it almost no CPU against the pods it is meant to starve.

Bounded four ways: a number of processes, a hard deadline each one keeps by itself,
the context manager's exit, and the death of the test process that started them (so a
killed test run cannot leave one spinning)."""

import contextlib
import os
import subprocess
import sys
import time

from checker.processes import procs

# Twice the cores: the pods' tree gets about a third of the machine while it lasts.
WORKERS = 2 * (os.cpu_count() or 2)
BUSY = """
import sys, time
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    for _ in range(100_000):
        pass
"""


def busy_share(seconds: float = 1.0) -> float:
    """The share of one core a fresh busy loop gets now (1.0 on an idle machine)."""
    started_cpu, started = time.process_time(), time.monotonic()
    while time.monotonic() - started < seconds:
        pass
    return (time.process_time() - started_cpu) / (time.monotonic() - started)


# Set while the test run's own hog keeps the machine busy (make test's hog phase,
# started once by tests/project/conftest.py): a case under it starts no second one.
RUN_HOG = "WORKSHOP_RUN_HOG"


@contextlib.contextmanager
def cpu_hog(deadline_seconds: float, workers: int = WORKERS, own: bool = False):
    """Keeps the host's cores busy until the block ends or the deadline passes; inside
    the run's hog, the block runs under that one (unless `own`), and yields no process."""
    if os.environ.get(RUN_HOG) == "1" and not own:
        print("cpu hog: the test run's own, already on")
        yield []
        return
    command = [sys.executable, "-c", BUSY, str(deadline_seconds)]
    hogs = [
        subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=procs.parent_death_hook())
        for _ in range(workers)
    ]
    started = time.monotonic()
    print(f"cpu hog: {workers} busy processes, at most {deadline_seconds:.0f} s")
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        print(f"cpu hog: stopped after {time.monotonic() - started:.0f} s")


def still_running(hogs) -> list[int]:
    return [hog.pid for hog in hogs if hog.poll() is None]
