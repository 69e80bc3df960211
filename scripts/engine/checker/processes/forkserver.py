"""A Python that imports the service's libraries once and forks servers from it.

Lab 02 starts four Pythons (the service, two without a model, the learner's pytest).
Each spent about 6 s of CPU importing scikit-learn, skops and FastAPI before any of
the learner's code ran; on two cores they queued behind one another. The service
under test still starts as its own process, at once (a folder that fails at import
must fail in seconds); the other three fork from one warm process, at a lower
priority, and import only the learner's own modules, then run real uvicorn (or
pytest) exactly as `python -m uvicorn ...` would.

Linux only (fork after importing numpy is not safe with macOS's Accelerate).
Anything that goes wrong here falls back to a plain subprocess: it costs time,
never a result.

Run as `python -m checker.processes.forkserver MODULE... [-- MODULE...]`. Requests are
JSON lines on stdin; answers are lines on stdout: `started ID PID`, then `exited PID CODE`.
"""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from checker.processes import procs

AVAILABLE = sys.platform.startswith("linux")
SPAWN_TIMEOUT = 120.0  # the libraries' imports, once, on a busy machine
# What a lab's FastAPI service and checker.processes.reference import first (labs 02 and 09).
SERVICE_IMPORTS = [
    "numpy", "sklearn.ensemble", "sklearn.datasets", "skops.io", "pydantic",
    "pydantic_settings", "fastapi", "checker.processes.artifact",
    "uvicorn.main", "uvicorn.loops.auto", "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto", "uvicorn.lifespan.on",
]  # fmt: skip


# --- the server process ---------------------------------------------------------


def _arm_parent_death() -> None:
    """The child dies with the fork server, as the fork server dies with the checker."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(request: dict, ready_fd: int) -> None:
    """In the forked child: become `python -m MODULE ARGV...` in cwd with env. Never returns."""
    code = 1
    try:
        os.setsid()
        _arm_parent_death()
        os.write(ready_fd, b"x")
        os.close(ready_fd)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        wanted = request.get("nice", 0) - os.nice(0)  # a niced fork server's children are too
        if wanted > 0:
            os.nice(wanted)
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = os.getcwd()  # what `python -m` puts first
        sys.argv = [request["module"], *request["argv"]]
        import runpy

        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:  # a child reports what ended it, as python does
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _import(name: str) -> None:
    with contextlib.suppress(BaseException):  # the child reports its own import errors
        __import__(name)


def _serve(modules: list[str]) -> None:
    """modules before `--` are imported before the first fork; those after it, one at a
    time while idle after the first fork, so the first server starts sooner."""
    first, _, later = " ".join(modules).partition("--")
    for name in first.split():
        _import(name)
    later = later.split()
    children: set[int] = set()
    buffer = b""
    out = sys.stdout
    try:
        while True:
            readable, _, _ = select.select([0], [], [], 0.1)
            if readable:
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    request = json.loads(line)
                    read_end, write_end = os.pipe()
                    out.flush()
                    pid = os.fork()
                    if pid == 0:
                        os.close(read_end)
                        _child(request, write_end)
                    os.close(write_end)
                    os.read(read_end, 1)  # the child has its own session now
                    os.close(read_end)
                    children.add(pid)
                    out.write(f"started {request['id']} {pid}\n")
                    out.flush()
            if later and children and not readable:
                _import(later.pop(0))
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    out.write(f"exited {pid} {os.waitstatus_to_exitcode(status)}\n")
                    out.flush()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


# --- the checker's side ---------------------------------------------------------


class Forked:
    """A forked child, with the part of Popen's interface that procs.Server uses."""

    def __init__(self, server: "ForkServer", pid: int) -> None:
        self.server, self.pid = server, pid

    @property
    def returncode(self) -> int | None:
        if self.pid not in self.server.exits and not self.server.alive():
            return self._gone()
        return self.server.exits.get(self.pid)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.server.changed:
            while self.pid not in self.server.exits:
                if not self.server.alive():
                    return self._gone()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(["forked", str(self.pid)], timeout)
                self.server.changed.wait(min(left, 0.5) if left is not None else 0.5)
            return self.server.exits[self.pid]

    def _gone(self) -> int:
        """The fork server died; its children died with it (parent-death signal)."""
        self.server.exits.setdefault(self.pid, -signal.SIGKILL)
        return self.server.exits[self.pid]


class ForkServer:
    """One warm Python per run; spawn() forks a child from it."""

    def __init__(self, modules: list[str]) -> None:
        # At a lower priority: it imports while the service under test starts (which a
        # broken folder must not wait for), and its children are the run's background work.
        self.process = subprocess.Popen(
            procs.nice([sys.executable, "-m", "checker.processes.forkserver", *modules]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=procs.parent_death_hook(),
        )  # fmt: skip
        self.exits: dict[int, int] = {}
        self.started: dict[int, int] = {}
        self.changed = threading.Condition()
        self._next = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self) -> None:
        for line in self.process.stdout:
            kind, *fields = line.decode().split()
            with self.changed:
                if kind == "started":
                    self.started[int(fields[0])] = int(fields[1])
                elif kind == "exited":
                    self.exits[int(fields[0])] = int(fields[1])
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def spawn(self, module: str, argv: list[str], cwd: Path, env: dict[str, str], log: Path,
              nice: int = 0) -> Forked | None:  # fmt: skip
        """The forked child, or None when the fork server cannot give one in time."""
        with self._lock:
            self._next += 1
            ident = self._next
        request = {"id": ident, "module": module, "argv": argv, "cwd": str(cwd), "env": env,
                   "log": str(log), "nice": nice}  # fmt: skip
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            return None
        deadline = time.monotonic() + SPAWN_TIMEOUT
        with self.changed:
            while ident not in self.started:
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    return None
                self.changed.wait(min(left, 0.5))
        return Forked(self, self.started[ident])

    def close(self) -> None:
        """Ends it at once, busy importing or not; its children die with it (each has
        the parent-death signal)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        self.process.wait()


def start(modules: list[str]) -> ForkServer | None:
    """A warm Python that has imported modules, stopped when the run ends; None where
    forking is not available (then each server starts as its own process)."""
    if not AVAILABLE or os.environ.get("WORKSHOP_NO_FORKSERVER"):
        return None
    try:
        forks = ForkServer(modules)
    except OSError:
        return None
    procs.on_cleanup(forks.close)
    return forks


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the checker decides when it ends
    _serve(sys.argv[1:])
    os._exit(0)  # no interpreter teardown: a second's work for nothing
