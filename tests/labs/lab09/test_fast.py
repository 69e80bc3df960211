"""Lab 09 (bonus): the learner's service, measured side by side with the source
guide's design on this machine: same predictions from the graph compiled at
training time (and only from it), five times the throughput, no worse tail
latency."""

import hashlib

import httpx

from checker.command import ui
from checker.load import wrk
from checker.outcomes import Fail, Soft, Stop, Unavailable, Unjudged, expect

import harness


def test_graph_on_card(lab_dir):
    """The card names the compiled graph and its SHA-256, and the file has that hash"""
    entry = harness.compiled_entry(lab_dir)
    graph = lab_dir / "models" / entry["artifact"]
    if not graph.is_file():
        raise Fail(f"models/{entry['artifact']} does not exist", "the graph the card names",
                   hint=f"run {harness.COMPILE} in your folder")  # fmt: skip
    actual = hashlib.sha256(graph.read_bytes()).hexdigest()
    recorded = entry["artifact_sha256"]
    expect(actual == recorded,
           f"models/{entry['artifact']} has SHA-256 {actual[:12]}…, the card {recorded[:12]}…",
           "the hash the card records",
           hint="the graph changed after it was compiled: "
                f"run {harness.COMPILE} again")  # fmt: skip


def test_service_starts(service):
    """Your service starts and answers /readyz"""
    if isinstance(service, Exception):
        raise Stop(f"uvicorn app.main:app: {service}")


def test_predictions_equal(service, reference):
    """Its predictions equal scikit-learn's within 1e-4, relative"""
    url = harness.running(service)
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
        # The same patients as one batch: one prediction per row, each row its own.
        response = client.post("/predict/batch", json={"rows": rows})
        batch = response.json().get("predictions") if response.status_code == 200 else None
        if not isinstance(batch, list) or len(batch) != len(rows):
            found = (f"{len(batch)} prediction{'' if len(batch) == 1 else 's'}"
                     if isinstance(batch, list)
                     else f"HTTP {response.status_code} {response.text[:120]}")  # fmt: skip
            raise Fail(f"POST /predict/batch of {len(rows)} patients: {found}",
                       f"{len(rows)} predictions, one per row, in order",
                       hint="predict every row of the batch (model.predict on all of them), "
                       "not only the first")  # fmt: skip
        for index, (got, want) in enumerate(zip(batch, expected, strict=True)):
            error = abs(got - want) / max(abs(want), 1e-12)
            worst = max(worst, (error, (f"{index} in the batch", got, want)), key=lambda w: w[0])
    error, where = worst
    harness.OBSERVED["largest_error"] = error
    ui.progress(f"{len(rows)} patients, largest relative difference {error:.1e}")
    if error > harness.RELATIVE_TOLERANCE:
        index, got, want = where
        raise Fail(f"patient {index}: {got:.6f}, scikit-learn says {want:.6f} ({error:.1e})",
                   "a relative difference of at most "
                   f"{harness.RELATIVE_TOLERANCE:.0e}")  # fmt: skip


def test_graph_checked(graph_cases):
    """A changed or missing graph leaves the service live and not ready"""
    changed, missing = graph_cases["changed"], graph_cases["missing"]
    found = f"/readyz {changed} with a changed graph, {missing} without it"
    if None in (changed, missing):
        case = "a changed graph" if changed is None else "no graph"
        raise Fail(f"with {case} the service did not stay live (/healthz did not answer)",
                   "/healthz 200 and /readyz 503", hint="raise ModelLoadError in load_model: "
                   "lifespan then serves /readyz 503 with the reason")  # fmt: skip
    if missing == 200 and harness.OBSERVED.get("largest_error") == 0.0:
        # float32 trees differ from scikit-learn's float64 ones by about 1e-7: exactly
        # equal answers mean scikit-learn still serves.
        raise Fail(found, "503 for both",
                   hint="your service predicts exactly what scikit-learn does, so scikit-learn "
                   "still serves: build the CompiledForest from the graph the card names "
                   "and predict with it (Step 3)")  # fmt: skip
    if missing == 200:
        raise Fail(found, "503 for both",
                   hint="load_model serves without the graph file, so it converts the forest "
                   "itself: read the graph the card's compiled section names (Step 3)")  # fmt: skip
    if changed == 200:
        raise Fail(found, "503 for both",
                   hint="load_model loads the graph without checking it: refuse it unless "
                   "its SHA-256 is the card's compiled.artifact_sha256 (Step 3)")  # fmt: skip
    expect(changed == 503 and missing == 503, found, "503 for both")


def test_load_tool():
    """wrk, the load generator, is installed"""
    try:
        wrk.wrk_path()
    except wrk.ServingError as exc:
        raise Unavailable("wrk", str(exc).split(": ", 1)[1]) from None


def test_throughput(measured):
    """At least 5× the throughput of the guide's design, with no failed request"""
    base, yours = measured["baseline"], measured["yours"]
    ratio = yours.rps / base.rps if base.rps else 0.0
    soft = Soft()
    soft.check(ratio >= harness.SPEEDUP,
               f"{yours.rps:.0f} req/s, {ratio:.1f}× the guide's {base.rps:.0f}",
               f"at least {harness.SPEEDUP:g}× "
               f"({harness.SPEEDUP * base.rps:.0f} req/s)")  # fmt: skip
    soft.check(yours.errors == 0, f"{yours.errors} failed requests", "none")
    soft.raise_if_any()


def test_tail_latency(measured):
    """p99 latency no worse than the guide's design at the same concurrency"""
    base, yours = measured["baseline"], measured["yours"]
    found, wanted = f"p99 {yours.p99_ms:.1f} ms", f"at most the guide's {base.p99_ms:.1f} ms"
    if stalled := harness.stalled(base, yours):
        raise Unjudged(found, stalled, wanted)
    expect(yours.p99_ms <= base.p99_ms, found, wanted)
