"""Lab 02's fixtures: what its checks are given."""

import json
import shutil
import threading
import time
import zipfile

import httpx
import pytest

from checker import Needs, Stop
from checker.processes import forkserver, procs
from checker.processes.reference import forked as fork_reference
from checker.processes.reference import result as reference_result

from harness import (
    ARTIFACT,
    CARD,
    CHECKER_VERSION,
    FOLDER_HINT,
    MODEL_HINT,
    SERVICE_LIBRARIES,
    Started,
    post,
    python_sources,
    server_env,
    warm_imports,
)


@pytest.fixture(scope="session")
def sources(lab_dir):
    app = lab_dir / "app" / "main.py"
    if not app.is_file():
        raise Stop(f"{lab_dir} has no app/main.py", hint=FOLDER_HINT, see="Files you edit")
    return python_sources(lab_dir)


@pytest.fixture(scope="session")
def model_copy(lab_dir, tmp_path_factory):
    """A private copy of the learner's artifact and card, so the checker never touches theirs."""
    source = lab_dir / "models"
    for name in (ARTIFACT, CARD):
        if not (source / name).is_file():
            raise Stop(f"models/{name} is missing from {lab_dir}", hint=MODEL_HINT)
    try:
        card = json.loads((source / CARD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Stop(f"models/{CARD} cannot be read: {exc}", hint=MODEL_HINT) from None
    if not isinstance(card, dict):
        raise Stop(f"models/{CARD} holds {type(card).__name__}, not a card object",
                   hint=MODEL_HINT)  # fmt: skip
    # A skops file is a zip archive: checked here in microseconds, loaded for real
    # (seconds: scikit-learn) only by the checks that compare predictions.
    if not zipfile.is_zipfile(source / ARTIFACT):
        size = (source / ARTIFACT).stat().st_size
        raise Stop(f"models/{ARTIFACT} ({size} bytes) cannot be loaded: not a skops file",
                   hint=MODEL_HINT)  # fmt: skip
    target = tmp_path_factory.mktemp("model")
    shutil.copy(source / ARTIFACT, target / ARTIFACT)
    card["version"] = CHECKER_VERSION
    (target / CARD).write_text(json.dumps(card), encoding="utf-8")
    return target


@pytest.fixture(scope="session", autouse=True)
def forks(will_run):
    """The fork server starts with the run, for the servers that start after the first."""
    return forkserver.start(SERVICE_LIBRARIES) if will_run("server_starts") else None


@pytest.fixture(scope="session")
def started(lab_dir, model_copy, sources, tmp_path_factory, forks, will_run):
    """The service under test, started once the code compiles; the rest follow it."""
    broken = tmp_path_factory.mktemp("broken")
    shutil.copy(model_copy / ARTIFACT, broken / ARTIFACT)
    card = json.loads((model_copy / CARD).read_text(encoding="utf-8"))
    card["artifact_sha256"] = "0" * 64
    (broken / CARD).write_text(json.dumps(card), encoding="utf-8")
    cases = {
        "a missing artifact": server_env(model_copy, MODEL_PATH=str(broken / "nothing.skops")),
        "a mismatched artifact": server_env(broken),
    }
    # Its own process, not a fork: a broken folder fails at once, not after the fork
    # server's imports.
    main = procs.uvicorn(lab_dir, server_env(model_copy)).start()
    found = Started(main, cases, lab_dir, forks, will_run)
    if forks is None:
        # The checker's own imports (the reference predictions) load while it starts.
        threading.Thread(target=warm_imports, daemon=True).start()
        return found
    # The reference, forked as soon as the fork server has its imports.
    out = tmp_path_factory.mktemp("reference") / "reference.json"
    found.reference = fork_reference(forks, lab_dir, model_copy / ARTIFACT, out)
    return found


@pytest.fixture(scope="session")
def server(started):
    instance = started.server
    try:
        instance.wait_until_up("/healthz")
        started.start_helpers()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def http(server):
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


@pytest.fixture(scope="session")
def computed(started, model_copy) -> dict:
    """The rows and the artifact's own predictions for them: from the fork of the
    fork server that computed them (started with the service), else computed here."""
    return reference_result(started.reference, model_copy / ARTIFACT)


@pytest.fixture(scope="session")
def rows(computed):
    return computed["rows"]


@pytest.fixture(scope="session")
def reference(computed, model_copy):
    """What the artifact itself predicts for the test rows; an unloadable model stops
    the run here."""
    if "error" in computed:
        size = (model_copy / ARTIFACT).stat().st_size
        raise Stop(f"models/{ARTIFACT} ({size} bytes) cannot be loaded: {computed['error']}",
                   hint=MODEL_HINT)  # fmt: skip
    return computed["predictions"]


@pytest.fixture(scope="session")
def ready(http):
    """Waits briefly for readiness: a warm-up may take a moment after /healthz answers."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if http.get("/readyz").status_code == 200:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="session")
def serving(http, rows, ready):
    """Checks that need a loaded model wait for it, instead of all failing with a 503."""
    response = post(http, "/predict", json=rows[0])
    if response.status_code == 503:
        raise Needs("the model loaded at start-up (see the /predict check)")
    return response
