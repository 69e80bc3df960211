"""Processes the checker starts: started in their own group, always stopped."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from checker.command import ui
from checker.outcomes import Stop

# A server start that uses no CPU (a blocking call) ends at this many times its timeout.
STARVED_FACTOR = 4

_RUNNING: list["Server"] = []


def _parent_death_signal():
    """On Linux, a child that gets SIGKILL when the checker dies, however it dies
    (SIGKILL included, which no handler sees). prctl is looked up here, in the
    parent: the child, between fork and exec, only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def arm() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return arm


_ON_PARENT_DEATH = _parent_death_signal()


def parent_death_hook():
    """The preexec_fn that arms the parent-death signal (None where there is none)."""
    return _ON_PARENT_DEATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A uvicorn (or any) server process whose output goes to a log file."""

    def __init__(
        self, command: list[str], cwd: Path, env: dict[str, str], port: int, forks=None
    ) -> None:
        """forks: a forkserver.ForkServer to fork a `python -m` command from, if any."""
        self.command, self.cwd, self.port, self.forks = command, cwd, port, forks
        self.env = {**os.environ, **env}
        self.log_path = Path(tempfile.mkstemp(prefix="workshop-server-", suffix=".log")[1])
        self.process = None  # a subprocess.Popen, or a forkserver.Forked

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.process = self._forked()
        if self.process is not None:
            _RUNNING.append(self)
            return self
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_ON_PARENT_DEATH,
        )  # fmt: skip
        log.close()
        _RUNNING.append(self)
        return self

    def _forked(self):
        """The command forked from the warm Python, when it is `[nice] python -m ...`."""
        command, niceness = self.command, 0
        if command[:3] == ["nice", "-n", "10"]:
            command, niceness = command[3:], 10
        if self.forks is None or command[:2] != [sys.executable, "-m"] or len(command) < 3:
            return None
        return self.forks.spawn(command[2], command[3:], self.cwd, self.env, self.log_path,
                                niceness)  # fmt: skip

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.log_lines()[-lines:]) or "(no output)"

    def wait_until_up(
        self, path: str = "/healthz", timeout: float = 45.0, ready_status: int | None = None
    ) -> None:
        """Until path answers (below 500, or exactly ready_status); Stop with the log's tail.
        The timeout counts the server's own CPU time where the system reports it: on a
        busy machine a slow start is not a hung one. A start that uses no CPU at all (a
        blocking call) still ends, at four times the timeout."""
        started = time.monotonic()
        deadline = started + STARVED_FACTOR * timeout
        what = f"waiting for the server on port {self.port} to answer {path}"
        with ui.waiting(what, timeout, spent=lambda: self.busy_seconds(started)):
            while time.monotonic() < deadline and self.busy_seconds(started) < timeout:
                if not self.alive():
                    self._stop_starting(
                        f"the server exited with code {self.process.returncode} while starting",
                        self.process.returncode, timeout,
                    )  # fmt: skip
                with contextlib.suppress(httpx.HTTPError):
                    code = httpx.get(self.url + path, timeout=1.0).status_code
                    if code == ready_status if ready_status else code < 500:
                        return
                time.sleep(0.2)
        self._stop_starting(f"the server did not answer {path} within {timeout:.0f} s", None,
                            timeout)  # fmt: skip

    def busy_seconds(self, started: float) -> float:
        """The server's CPU seconds so far (Linux /proc), else the wall time since started."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return time.monotonic() - started

    def runqueue_seconds(self) -> float | None:
        """How long the process has waited for a CPU while it could run (Linux
        /proc/PID/schedstat): the machine's contention, which a blocked call never adds."""
        try:
            return int(Path(f"/proc/{self.process.pid}/schedstat").read_text().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def _stop_starting(self, what: str, returncode: int | None, timeout: float) -> None:
        """Stop with the cause the log shows and its hint, or with the log's tail."""
        from checker.processes.diagnosis import diagnose

        cause = diagnose(self.log_lines(), self.cwd, returncode, timeout)
        if cause is not None:
            raise Stop(cause.message, hint=cause.hint)
        raise Stop(what, detail="its last log lines:\n" + indent(self.tail()))

    def finish(self, timeout: float) -> int | None:
        """Waits for a job (not a server) to end by itself; None if it ran too long."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(grace=1.0)
            return None

    def stop(self, grace: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self in _RUNNING:
            _RUNNING.remove(self)


@dataclass
class Job:
    """A command run to its end, or stopped: how long it ran, on a CPU and waiting for one."""

    returncode: int | None  # None: stopped before it ended
    output: str
    wall: float
    cpu: float
    waited: float | None  # seconds runnable but waiting for a CPU (None: not reported)

    def starved(self) -> bool:
        """It waited for a CPU longer than it ran, for a good part of its time: the
        machine was busy, not the job slow (a blocked call waits for no CPU)."""
        return self.waited is not None and self.waited > max(self.cpu, 0.25 * self.wall)


def run_job(command: list[str], cwd: Path, timeout: float) -> Job:
    """Runs command until it ends or has used timeout seconds of CPU; one that hardly
    gets a CPU (a busy machine) or uses none (a blocking call) still ends, at
    STARVED_FACTOR times the timeout. Its own group, stopped however the checker ends."""
    job = Server(command, cwd, {}, port=0)
    job.start()
    started = time.monotonic()
    cpu = waited = None
    try:
        while job.alive() and time.monotonic() - started < STARVED_FACTOR * timeout:
            cpu, waited = job.busy_seconds(started), job.runqueue_seconds()
            if cpu >= timeout:
                break
            time.sleep(0.2)
        code = job.process.poll()
    finally:
        job.stop(grace=1.0)
    return Job(code, "\n".join(job.log_lines()), time.monotonic() - started,
               cpu or 0.0, waited)  # fmt: skip


def uvicorn(
    cwd: Path,
    env: dict[str, str],
    module: str = "app.main:app",
    background: bool = False,
    forks=None,
) -> Server:
    """background: at a lower CPU priority, so the server a run waits for first
    starts first when several start at once. forks: see Server."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", module, "--host", "127.0.0.1",
               "--port", str(port), "--timeout-graceful-shutdown", "3"]  # fmt: skip
    return Server(nice(command) if background else command, cwd, env, port, forks)


def nice(command: list[str]) -> list[str]:
    """The command at a lower CPU priority, where the system has nice (not Windows)."""
    return ["nice", "-n", "10", *command] if shutil.which("nice") else command


def indent(text: str, prefix: str = "        ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


_CLEANUPS: list = []


def on_cleanup(callback) -> None:
    """Runs callback when the checker ends, however it ends (containers, images)."""
    _CLEANUPS.append(callback)


def stop_all() -> None:
    for server in list(_RUNNING):
        server.stop(grace=2.0)
    while _CLEANUPS:
        with contextlib.suppress(Exception):
            _CLEANUPS.pop()()


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Stops every started server when the run ends, is interrupted or is killed."""

    def on_term(signum: int, _frame: object) -> None:
        stop_all()
        raise KeyboardInterrupt

    # SIGHUP: the terminal closed. Both stop what the checker started, then end it.
    caught = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, on_term) for s in caught}
    try:
        yield
    finally:
        stop_all()
        for s, handler in previous.items():
            signal.signal(s, handler)
