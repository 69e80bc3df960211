import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readiness_turns_false_on_sigterm_while_requests_finish():
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
               "--timeout-graceful-shutdown", "10"]  # fmt: skip
    # A delay long enough for a busy machine to deliver the signal and answer twice.
    env = {**os.environ, "LOG_LEVEL": "WARNING", "SHUTDOWN_DELAY_SECONDS": "5"}
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        # A deadline, not a number of tries: on a busy machine the import and the
        # model load alone can take longer than 100 quick polls.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, "uvicorn exited before it was ready"
            time.sleep(0.1)
        else:
            raise AssertionError("the service was not ready within 60 s")
        with httpx.Client(base_url=url) as client:
            assert client.get("/readyz").status_code == 200
            server.send_signal(signal.SIGTERM)
            # Still serving during the delay, but no longer ready, once the signal is
            # handled: polled, since a busy machine handles it late.
            signalled = time.monotonic() + 4
            ready = client.get("/readyz")
            while ready.status_code == 200 and time.monotonic() < signalled:
                time.sleep(0.05)
                ready = client.get("/readyz")
            alive = client.get("/healthz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "draining"}
        assert alive.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert server.wait(20) in (0, -signal.SIGTERM)
