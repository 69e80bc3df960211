"""Serving throughput, measured: a server on one core, wrk on the other.

Shared by `make bench` (scripts/maintainer/bench/serving.py) and lab 09's checker.
wrk is a maintained C load generator: one thread of it sends far more requests than one
Python worker can answer, so the server, not the tool, is what gets measured.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from checker.outcomes import Stop
from checker.processes import procs

# One uvicorn worker with this Python; {port} is filled in by server().
UVICORN = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
           "--no-access-log"]  # fmt: skip
# On Linux the server gets core 0 and wrk core 1, so they never share a core;
# elsewhere (macOS has no taskset) both float.
SERVER_CPU, LOAD_CPU = "0", "1"
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


class ServingError(Exception):
    pass


@dataclass
class Result:
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors, timeouts and non-2xx answers

    def row(self) -> str:
        return f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms"


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise ServingError(
            "wrk is not installed: apt-get install wrk (Debian, Ubuntu, WSL) or brew install wrk"
        )
    return found


def pinned(command: list[str], cpu: str) -> list[str]:
    if sys.platform.startswith("linux") and shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", cpu, *command]
    return command


@contextmanager
def server(
    command: list[str],
    cwd: Path,
    ready_path: str,
    env: dict | None = None,
    seconds: float = 60,
    port: int | None = None,
) -> Iterator[str]:
    """Starts a server command (with {port} in it) on the server core; yields its URL.
    A procs.Server: stopped however the run ends, like every process the checker starts."""
    port = port or procs.free_port()
    command = pinned([part.replace("{port}", str(port)) for part in command], SERVER_CPU)
    process = procs.Server(command, cwd, env or {}, port).start()
    try:
        try:
            process.wait_until_up(ready_path, seconds, ready_status=200)
        except Stop as exc:
            tail = " / ".join(process.log_lines()[-5:])
            raise ServingError(f"{exc.message}: {tail}") from None
        yield process.url
    finally:
        process.stop(grace=10)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def load(url: str, body: str, connections: int, seconds: float) -> Result:
    """wrk on the load core: one thread, `connections` kept-alive connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=body))
    try:
        command = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                   "-s", script.name, url]  # fmt: skip
        done = subprocess.run(pinned(command, LOAD_CPU), capture_output=True, text=True,
                              timeout=seconds + 30, check=False)  # fmt: skip
    finally:
        os.unlink(script.name)
    return parse_wrk(done.stdout, done.returncode, done.stderr, connections)


def parse_wrk(out: str, returncode: int, stderr: str, connections: int) -> Result:
    """wrk's report (run with --latency), here or in a pod (lab 10)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (returncode == 0 and rps and p50 and p99 and total):
        raise ServingError(f"wrk failed: {(stderr or out).strip()[-300:]}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Result(connections, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)),
                  int(total.group(1)), errors)  # fmt: skip
