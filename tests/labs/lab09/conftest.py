"""Lab 09's fixtures: what its checks are given."""

import json
import shutil

import httpx
import pytest

from checker.command import ui
from checker.load import wrk
from checker.outcomes import Fail, Needs, Stop
from checker.processes import forkserver, procs
from checker.processes.artifact import PATIENT
from checker.processes.reference import forked as fork_reference
from checker.processes.reference import result as reference_result

from harness import (
    ARTIFACT,
    BASELINE,
    CARD,
    CONNECTIONS,
    MEASURE_SECONDS,
    PATIENTS,
    QUIET,
    SERVICE_LIBRARIES,
    UNKNOWN_FIELD,
    compiled_entry,
    running,
)


@pytest.fixture(scope="session", autouse=True)
def forks(will_run):
    """Starts with the run, while the service under test starts as its own process."""
    return forkserver.start(SERVICE_LIBRARIES) if will_run("service_starts") else None


@pytest.fixture(scope="session", autouse=True)
def forked_reference(lab_dir, forks, tmp_path_factory, will_run):
    """scikit-learn's predictions, computed in a fork as soon as the fork server has
    its imports."""
    if forks is None or not will_run("predictions_equal"):
        return None
    out = tmp_path_factory.mktemp("reference") / "reference.json"
    return fork_reference(forks, lab_dir, lab_dir / "models" / ARTIFACT, out, PATIENTS)


@pytest.fixture(scope="session")
def reference(lab_dir, forked_reference):
    """scikit-learn's own predictions for the data set's first patients: from the
    fork that computed them, else computed here."""
    found = reference_result(forked_reference, lab_dir / "models" / ARTIFACT, PATIENTS)
    if "error" in found:
        raise Stop(f"models/{ARTIFACT} cannot be loaded: {found['error']}",
                   hint="restore it: make reset 9 keeps a backup of your work")  # fmt: skip
    return found["rows"], found["predictions"]


@pytest.fixture(scope="session")
def service(lab_dir):
    try:
        with wrk.server([*wrk.UVICORN, "app.main:app"], lab_dir, "/readyz", env=QUIET) as url:
            yield url
    except wrk.ServingError as exc:
        yield exc


@pytest.fixture(scope="session")
def graph_cases(service, lab_dir, tmp_path_factory, forks):
    """Two more instances of the learner's service, started together once the first
    is up: one with a graph that still predicts the same but is not the hashed one
    (an extra protobuf field), one without the graph."""
    running(service)
    try:
        entry = compiled_entry(lab_dir)
    except (Fail, Stop):
        raise Needs("the card's compiled section") from None
    cases = {}
    for case in ("changed", "missing"):
        models = tmp_path_factory.mktemp(f"graph-{case}")
        for item in (lab_dir / "models").iterdir():
            if item.is_file():
                shutil.copy(item, models / item.name)
        graph = models / entry["artifact"]
        if case == "missing":
            graph.unlink(missing_ok=True)
        elif graph.is_file():
            graph.write_bytes(graph.read_bytes() + UNKNOWN_FIELD)
        env = {**QUIET, "MODEL_PATH": str(models / ARTIFACT),
               "MODEL_CARD_PATH": str(models / CARD)}  # fmt: skip
        cases[case] = procs.uvicorn(lab_dir, env, background=True, forks=forks).start()
    answers = {}
    try:
        for case, instance in cases.items():
            try:
                instance.wait_until_up("/healthz", timeout=60)
                answers[case] = httpx.get(instance.url + "/readyz", timeout=10).status_code
            except (Stop, httpx.HTTPError):
                answers[case] = None  # it did not stay live
        yield answers
    finally:
        for instance in cases.values():
            instance.stop(grace=2)


@pytest.fixture(scope="session")
def measured(service, lab_dir):
    """The guide's design, then your service, each alone on the same core."""
    url = running(service)
    try:
        wrk.wrk_path()
    except wrk.ServingError:
        raise Needs("wrk") from None
    body = json.dumps(PATIENT)
    results = {}
    ui.progress(f"the guide's design: {CONNECTIONS} connections for {MEASURE_SECONDS} s")
    baseline = [*wrk.UVICORN, "--app-dir", str(BASELINE), "naive:app"]
    with wrk.server(baseline, lab_dir, "/health", env=QUIET) as base_url:
        wrk.load(base_url + "/predict", body, 4, 1)
        results["baseline"] = wrk.load(base_url + "/predict", body, CONNECTIONS, MEASURE_SECONDS)
    ui.progress(f"  {results['baseline'].row()}")
    ui.progress(f"your service: {CONNECTIONS} connections for {MEASURE_SECONDS} s")
    wrk.load(url + "/predict", body, 4, 1)
    results["yours"] = wrk.load(url + "/predict", body, CONNECTIONS, MEASURE_SECONDS)
    ui.progress(f"  {results['yours'].row()}")
    return results
