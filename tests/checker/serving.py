"""Serving throughput, measured: a server on one core, wrk on the other.

Shared by `make bench` (scripts/bench/serving.py) and lab 09's checker. wrk is a
maintained C load generator: one thread of it sends far more requests than one
Python worker can answer, so the server, not the tool, is what gets measured.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# One patient of the diabetes data set: the request every measurement sends.
PATIENT = {"age": 0.0381, "sex": 0.0507, "bmi": 0.0617, "bp": 0.0219, "s1": -0.0442,
           "s2": -0.0348, "s3": -0.0434, "s4": -0.0026, "s5": 0.0199, "s6": -0.0176}  # fmt: skip
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(
    command: list[str],
    cwd: Path,
    ready_path: str,
    env: dict | None = None,
    seconds: float = 60,
    port: int | None = None,
) -> Iterator[str]:
    """Starts a server command (with {port} in it) on the server core; yields its URL."""
    port = port or free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        pinned([part.replace("{port}", str(port)) for part in command], SERVER_CPU),
        cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                log.seek(0)
                tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
                raise ServingError(
                    f"the server exited with {process.returncode}: " + " / ".join(tail)
                )
            try:
                if httpx.get(url + ready_path, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServingError(f"the server did not answer {ready_path} within {seconds:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


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
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (done.returncode == 0 and rps and p50 and p99 and total):
        raise ServingError(f"wrk failed: {(done.stderr or out).strip()[-300:]}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Result(connections, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)),
                  int(total.group(1)), errors)  # fmt: skip
