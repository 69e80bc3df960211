"""Open-loop latency: requests sent at a fixed rate whatever the server does.

wrk is closed-loop: each connection waits for its answer before sending again, so
a slow answer delays the requests behind it and they are never timed as late
(coordinated omission). Its p99 then says more about the connection count than
about the server. vegeta schedules every request at its time and starts more
workers when answers are slow, so a stall shows in every request it delayed.
wrk measures peak throughput; this measures latency below it.
"""

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from checker.load.wrk import LOAD_CPU, ServingError, pinned
from checker.upkeep.versions import installed_tool

INSTALL = "scripts/maintainer/install-vegeta.sh"
KEPT_UP = 0.95  # the share of the offered rate the generator must send


@dataclass
class OpenLoopResult:
    offered_rps: float  # the fixed rate asked for
    sent_rps: float  # what vegeta managed to send
    throughput_rps: float  # successful answers per second
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    success: float  # share of 2xx/3xx answers

    @property
    def generator_kept_up(self) -> bool:
        """Open loop holds only while the generator sends at the rate asked: below
        it, the generator, not the server, set the pace, and the point says nothing."""
        return self.sent_rps >= KEPT_UP * self.offered_rps

    def row(self) -> str:
        return (f"{self.offered_rps:6.0f} req/s offered  p50 {self.p50_ms:6.1f} ms  "
                f"p90 {self.p90_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
                f"max {self.max_ms:7.1f} ms  ok {self.success:6.1%}"
                + ("" if self.generator_kept_up else
                   f"  (not valid: vegeta sent only {self.sent_rps:.0f}/s)"))  # fmt: skip


def vegeta_path() -> str:
    found = installed_tool("vegeta")
    if not found:
        raise ServingError(f"vegeta is not installed: {INSTALL} builds it into .tools/bin")
    return found


def attack(url: str, body: str, rate: float, seconds: float) -> OpenLoopResult:
    """vegeta on the load core: POST `body` to `url` at `rate` per second."""
    if rate < 1:
        raise ServingError(f"an open-loop rate must be at least 1 request/s, not {rate:g}")
    with tempfile.TemporaryDirectory() as scratch:
        body_file = Path(scratch) / "body.json"
        body_file.write_text(body, encoding="utf-8")
        command = [vegeta_path(), "attack", f"-rate={rate:.0f}/1s", f"-duration={seconds:g}s",
                   f"-body={body_file}", "-header=Content-Type: application/json",
                   "-timeout=10s", "-http2=false"]  # fmt: skip
        try:
            sent = subprocess.run(pinned(command, LOAD_CPU), input=f"POST {url}\n".encode(),
                                  capture_output=True, timeout=seconds + 30,
                                  check=False)  # fmt: skip
            if sent.returncode != 0:
                raise ServingError(f"vegeta attack failed: {sent.stderr.decode()[-300:].strip()}")
            report = subprocess.run([vegeta_path(), "report", "-type=json"], input=sent.stdout,
                                    capture_output=True, timeout=60, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise ServingError(f"vegeta did not finish within {exc.timeout:g} s") from None
    if report.returncode != 0:
        raise ServingError(f"vegeta report failed: {report.stderr.decode()[-300:].strip()}")
    return parse_report(report.stdout.decode(), rate)


def parse_report(text: str, rate: float) -> OpenLoopResult:
    """vegeta's JSON report: latencies in nanoseconds, success as a share."""
    try:
        metrics = json.loads(text)
        latencies = metrics["latencies"]
        return OpenLoopResult(
            offered_rps=rate, sent_rps=float(metrics["rate"]),
            throughput_rps=float(metrics["throughput"]),
            p50_ms=latencies["50th"] / 1e6, p90_ms=latencies["90th"] / 1e6,
            p99_ms=latencies["99th"] / 1e6, max_ms=latencies["max"] / 1e6,
            requests=int(metrics["requests"]), success=float(metrics["success"]),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise ServingError(f"vegeta's report could not be read ({exc}): {text[:200]}") from None
