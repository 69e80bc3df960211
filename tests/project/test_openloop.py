"""make bench's open-loop latency: the pinned vegeta, built from the Go module
proxy, against a real uvicorn over HTTP."""

import json
import subprocess
import sys

import pytest

from checker.command.course import REPO
from checker.load.vegeta import attack, parse_report
from checker.load.wrk import UVICORN, ServingError, server
from checker.upkeep.versions import pins

pytestmark = pytest.mark.full
SERVERS = REPO / "scripts" / "maintainer" / "bench" / "servers"


@pytest.fixture(scope="module")
def vegeta():
    install = REPO / "scripts" / "maintainer" / "install-vegeta.sh"
    done = subprocess.run([str(install)], capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, f"install-vegeta.sh failed: {done.stderr[-600:]}"
    version = subprocess.run([str(REPO / ".tools" / "bin" / "vegeta"), "-version"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"Version: {pins()['VEGETA_VERSION']}" in version


@pytest.fixture(scope="module")
def ceiling(vegeta):
    command = [*UVICORN, "--app-dir", str(SERVERS), "ceiling:app"]
    with server(command, REPO, "/healthz", env={"LOG_LEVEL": "WARNING"}) as url:
        yield url


def test_sends_at_the_rate_asked_and_times_every_request(ceiling):
    result = attack(ceiling + "/predict", "{}", rate=40, seconds=2)
    assert result.requests == 80
    assert result.success == 1.0
    assert 35 <= result.sent_rps <= 45 and result.generator_kept_up
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms


def test_a_slow_server_shows_in_the_latency_not_in_fewer_requests(vegeta):
    """Open loop: a server that answers one request at a time, 100 ms each, gets
    every request at its scheduled time, and the queue shows in the latency."""
    command = [sys.executable, "-c", ONE_AT_A_TIME, "{port}"]
    with server(command, REPO, "/") as url:
        result = attack(url + "/", "{}", rate=20, seconds=2)
    assert result.requests == 40, "vegeta held requests back: that would be a closed loop"
    assert result.p99_ms > 500, f"20/s offered to a 10/s server: p99 {result.p99_ms:.0f} ms"


# A single-threaded WSGI server: 100 ms per request, one at a time (10/s at most).
ONE_AT_A_TIME = """
import sys, time
from wsgiref.simple_server import WSGIRequestHandler, make_server
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
def app(environ, start):
    time.sleep(0.1)
    start("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]
make_server("127.0.0.1", int(sys.argv[1]), app, handler_class=Quiet).serve_forever()
"""


def test_an_unreadable_report_is_named():
    with pytest.raises(ServingError, match="vegeta's report could not be read"):
        parse_report("not json", 10)


def test_a_rate_below_one_is_refused():
    with pytest.raises(ServingError, match="at least 1 request/s"):
        attack("http://127.0.0.1:9/", "{}", rate=0.5, seconds=1)


def test_a_point_where_vegeta_fell_behind_is_marked_not_valid():
    latencies = {"50th": 1e6, "90th": 2e6, "99th": 3e6, "max": 4e6}
    report = json.dumps({"latencies": latencies, "rate": 50.0, "throughput": 50.0,
                         "requests": 500, "success": 1.0})  # fmt: skip
    result = parse_report(report, 100)
    assert not result.generator_kept_up and "not valid" in result.row()
