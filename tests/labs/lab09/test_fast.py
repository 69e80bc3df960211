"""Lab 09 (bonus): the learner's service, measured side by side with the source
guide's design on this machine: same predictions, five times the throughput,
no worse tail latency."""

import json

import httpx
import pytest

from checker import serving, ui
from checker.artifact import PATIENT
from checker.course import REPO
from checker.outcomes import Fail, Needs, Soft, Stop, Unavailable, expect

CONNECTIONS = 16
MEASURE_SECONDS = 8
SPEEDUP = 5.0
RELATIVE_TOLERANCE = 1e-4
PATIENTS = 100
# Both services log warnings only: the comparison is about serving, not logging.
QUIET = {"LOG_LEVEL": "WARNING"}
BASELINE = REPO / "scripts" / "bench" / "servers"


@pytest.fixture(scope="session")
def reference(lab_dir):
    """scikit-learn's own predictions for the data set's first patients."""
    import skops.io as sio
    from sklearn.datasets import load_diabetes

    card = json.loads((lab_dir / "models" / "model-card.json").read_text())
    forest = sio.load(lab_dir / "models" / "diabetes-rf.skops", trusted=["sklearn.tree._tree.Tree"])
    frame = load_diabetes(as_frame=True).data[card["feature_names"]].head(PATIENTS)
    return frame.to_dict("records"), [float(v) for v in forest.predict(frame)]


@pytest.fixture(scope="session")
def service(lab_dir):
    try:
        with serving.server(
            [*serving.UVICORN, "app.main:app"], lab_dir, "/readyz", env=QUIET
        ) as url:
            yield url
    except serving.ServingError as exc:
        yield exc


def running(service) -> str:
    if isinstance(service, Exception):
        raise Needs("the service running")
    return service


def test_service_starts(service):
    """Your service starts and answers /readyz"""
    if isinstance(service, Exception):
        raise Stop(f"uvicorn app.main:app: {service}")


def test_predictions_equal(service, reference):
    """Its predictions equal scikit-learn's within 1e-4, relative"""
    url = running(service)
    rows, expected = reference
    worst = (0.0, None)
    with httpx.Client(base_url=url, timeout=10) as client:
        for index, (row, want) in enumerate(zip(rows, expected, strict=True)):
            response = client.post("/predict", json=row)
            if response.status_code != 200:
                raise Fail(f"patient {index}: HTTP {response.status_code} {response.text[:120]}",
                           "200 with a prediction")  # fmt: skip
            got = response.json()["prediction"]
            error = abs(got - want) / max(abs(want), 1e-12)
            worst = max(worst, (error, (index, got, want)), key=lambda w: w[0])
    error, where = worst
    ui.progress(f"{len(rows)} patients, largest relative difference {error:.1e}")
    if error > RELATIVE_TOLERANCE:
        index, got, want = where
        raise Fail(f"patient {index}: {got:.6f}, scikit-learn says {want:.6f} ({error:.1e})",
                   f"a relative difference of at most {RELATIVE_TOLERANCE:.0e}")  # fmt: skip


def test_load_tool():
    """wrk, the load generator, is installed"""
    try:
        serving.wrk_path()
    except serving.ServingError as exc:
        raise Unavailable("wrk", str(exc).split(": ", 1)[1]) from None


@pytest.fixture(scope="session")
def measured(service, lab_dir):
    """The guide's design, then your service, each alone on the same core."""
    url = running(service)
    try:
        serving.wrk_path()
    except serving.ServingError:
        raise Needs("wrk") from None
    body = json.dumps(PATIENT)
    results = {}
    ui.progress(f"the guide's design: {CONNECTIONS} connections for {MEASURE_SECONDS} s")
    baseline = [*serving.UVICORN, "--app-dir", str(BASELINE), "naive:app"]
    with serving.server(baseline, lab_dir, "/health", env=QUIET) as base_url:
        serving.load(base_url + "/predict", body, 4, 1)
        results["baseline"] = serving.load(
            base_url + "/predict", body, CONNECTIONS, MEASURE_SECONDS
        )
    ui.progress(f"  {results['baseline'].row()}")
    ui.progress(f"your service: {CONNECTIONS} connections for {MEASURE_SECONDS} s")
    serving.load(url + "/predict", body, 4, 1)
    results["yours"] = serving.load(url + "/predict", body, CONNECTIONS, MEASURE_SECONDS)
    ui.progress(f"  {results['yours'].row()}")
    return results


def test_throughput(measured):
    """At least 5× the throughput of the guide's design, with no failed request"""
    base, yours = measured["baseline"], measured["yours"]
    ratio = yours.rps / base.rps if base.rps else 0.0
    soft = Soft()
    soft.check(ratio >= SPEEDUP, f"{yours.rps:.0f} req/s, {ratio:.1f}× the guide's {base.rps:.0f}",
               f"at least {SPEEDUP:g}× ({SPEEDUP * base.rps:.0f} req/s)")  # fmt: skip
    soft.check(yours.errors == 0, f"{yours.errors} failed requests", "none")
    soft.raise_if_any()


def test_tail_latency(measured):
    """p99 latency no worse than the guide's design at the same concurrency"""
    base, yours = measured["baseline"], measured["yours"]
    expect(yours.p99_ms <= base.p99_ms, f"p99 {yours.p99_ms:.1f} ms",
           f"at most the guide's {base.p99_ms:.1f} ms")  # fmt: skip
