"""Lab 02: the learner's FastAPI service, started with real uvicorn and judged over HTTP."""

import ast
import concurrent.futures
import contextlib
import json
import math
import os
import shutil
import sys
import threading
import time
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from checker import Fail, Needs, Soft, Stop, expect, forkserver, procs, ui
from checker.artifact import FEATURES
from checker.plugin import will_run
from checker.reference import forked as fork_reference
from checker.reference import result as reference_result

ARTIFACT, CARD = "diabetes-rf.skops", "model-card.json"
BATCH_BOUND = 16  # the checker's MAX_BATCH_ROWS, to see that settings come from the environment
CHECKER_VERSION = "1.0.0+checker"  # written into the copied card: proves MODEL_CARD_PATH is read
TOLERANCE = 1e-9
SMART = {"\u2018": "‘", "\u2019": "’", "\u201c": "“", "\u201d": "”", "\u2013": "–"}


# -- fixtures -----------------------------------------------------------------------
FOLDER_HINT = "point LAB_DIR at a lab 02 folder, or restore the starter: make reset 2"
MODEL_HINT = "lab 02 starts with lab 01's models/: make reset 2 restores them"


@pytest.fixture(scope="session")
def sources(lab_dir):
    app = lab_dir / "app" / "main.py"
    if not app.is_file():
        raise Stop(f"{lab_dir} has no app/main.py", hint=FOLDER_HINT, see="Files you edit")
    return python_sources(lab_dir)


def python_sources(lab_dir) -> list:
    """The folder's .py files; a symbolic link that loops back stops the run."""
    found = []
    for root, dirs, files in os.walk(lab_dir):  # symbolic links are not followed
        here = Path(root)
        for name in dirs:
            link = here / name
            if not link.is_symlink():
                continue
            try:
                target = link.resolve(strict=True)
            except (OSError, RuntimeError):
                target = None
            if target is None or target == here.resolve() or target in here.resolve().parents:
                raise Stop(f"{link.relative_to(lab_dir)} is a symbolic link that loops back "
                           "to a folder containing it", hint="remove the link")  # fmt: skip
        dirs[:] = [d for d in dirs if d not in {".venv", "__pycache__", ".git"}]
        found += [here / f for f in files if f.endswith(".py")]
    return sorted(found)


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


# What every Python lab 02 starts imports first: imported once in the fork server;
# the learner's tests' own imports come last.
SERVICE_LIBRARIES = [*forkserver.SERVICE_IMPORTS, "--", "pytest", "httpx", "fastapi.testclient"]


def server_env(model_dir, **extra) -> dict[str, str]:
    env = {
        "MODEL_PATH": str(model_dir / ARTIFACT),
        "MODEL_CARD_PATH": str(model_dir / CARD),
        "MAX_BATCH_ROWS": str(BATCH_BOUND),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@dataclass
class Started:
    server: procs.Server  # the service under test
    cases: dict[str, dict[str, str]]  # readiness_semantics' environments
    lab_dir: Path
    forks: object  # a forkserver.ForkServer, or None
    without_model: dict[str, procs.Server] = field(default_factory=dict)
    unit_tests: procs.Server | None = None  # the learner's own pytest, as a job
    reference: concurrent.futures.Future | None = None  # the forked checker.reference

    helpers_started: bool = False

    def start_helpers(self) -> None:
        """Once the service under test is up: started together with it, on two cores,
        they made its own start (the slowest step of a run) two to three times longer.
        A run ended early (--until) starts only what its checks use."""
        if self.helpers_started:
            return
        self.helpers_started = True
        if will_run("readiness_semantics"):
            self.without_model = {
                name: procs.uvicorn(self.lab_dir, env, background=True, forks=self.forks).start()
                for name, env in self.cases.items()
            }
        if will_run("unit_tests"):
            pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            self.unit_tests = procs.Server(procs.nice(pytest_run), self.lab_dir, {}, port=0,
                                           forks=self.forks)  # fmt: skip
            self.unit_tests.start()


@pytest.fixture(scope="session", autouse=True)
def forks():
    """The fork server starts with the run, for the servers that start after the first."""
    return procs.fork_server(SERVICE_LIBRARIES) if will_run("server_starts") else None


@pytest.fixture(scope="session")
def started(lab_dir, model_copy, sources, tmp_path_factory, forks):
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
    found = Started(main, cases, lab_dir, forks)
    if forks is None:
        # The checker's own imports (the reference predictions) load while it starts.
        threading.Thread(target=warm_imports, daemon=True).start()
        return found
    # The reference, forked as soon as the fork server has its imports.
    out = tmp_path_factory.mktemp("reference") / "reference.json"
    found.reference = fork_reference(forks, lab_dir, model_copy / ARTIFACT, out)
    return found


def warm_imports() -> None:
    with contextlib.suppress(Exception):  # the fixtures import them again and report
        import skops.io  # noqa: F401
        from sklearn.datasets import load_diabetes

        load_diabetes(as_frame=True)


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


def post(http, path, **kwargs) -> httpx.Response:
    try:
        return http.post(path, **kwargs)
    except httpx.HTTPError as exc:
        raise Fail(f"no answer from POST {path} ({type(exc).__name__})", "an HTTP answer") from None


def describe(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} {body[:160]}"


# -- checks ---------------------------------------------------------------------------
def test_code_compiles(lab_dir, sources):
    """Your Python files compile"""
    for path in sources:
        try:
            with tokenize.open(path) as handle:
                ast.parse(handle.read(), filename=str(path))
        except UnicodeDecodeError as exc:
            raise Stop(f"{path.relative_to(lab_dir)}: not UTF-8 text (byte {exc.start})",
                       hint="save the file as UTF-8 in your editor") from None  # fmt: skip
        except SyntaxError as exc:
            if exc.lineno is None:  # tokenize: a bad encoding, before any line
                raise Stop(f"{path.relative_to(lab_dir)}: {exc.msg}",
                           hint="save the file as UTF-8 in your editor") from None  # fmt: skip
            line = (exc.text or "").rstrip()
            found = [f"{SMART[c]} (U+{ord(c):04X})" for c in line if c in SMART]
            where = f"{path.relative_to(lab_dir)}, line {exc.lineno}"
            reason = f"smart quote or dash {', '.join(found)}" if found else exc.msg
            hint = "" if found else "fix the syntax error at the line shown"
            raise Stop(f"{where}: {reason}", detail=f"the line is: {line.strip()}",
                       hint=hint) from None  # fmt: skip


def test_model_loads(model_copy):
    """The folder's model and card are there and readable (models/ from lab 01)"""
    expect((model_copy / ARTIFACT).stat().st_size > 0, f"models/{ARTIFACT} is empty",
           "lab 01's saved forest", hint=MODEL_HINT)  # fmt: skip


def test_server_starts(server):
    """uvicorn starts your app"""
    expect(server.alive(), "the uvicorn process exited", "uvicorn running and answering")


def test_healthz(http):
    """GET /healthz answers 200 at once"""
    started = time.perf_counter()
    response = http.get("/healthz")
    elapsed_ms = (time.perf_counter() - started) * 1000
    soft = Soft()
    soft.check(response.status_code == 200, describe(response), "HTTP 200")
    soft.check(elapsed_ms < 200, f"{elapsed_ms:.0f} ms", "under 200 ms (liveness must be cheap)")
    soft.raise_if_any()


def test_readyz(http, rows, ready):
    """GET /readyz answers 200 once the model is loaded"""
    expect(ready, describe(http.get("/readyz")), "HTTP 200 within 15 s of start-up")
    # Ready must mean able to serve: a /readyz that answers 200 while /predict
    # answers 503 sends traffic to a pod that cannot serve it.
    answer = post(http, "/predict", json=rows[0])
    expect(
        answer.status_code != 503,
        f"/readyz 200 while POST /predict → {describe(answer)}",
        "/readyz 200 only once the model is loaded",
        hint="answer 503 from /readyz until app.state holds the loaded model",
    )


def test_predict_float(http, rows, ready):
    """POST /predict returns a plain float, the model version and a request id"""
    response = post(http, "/predict", json=rows[0])
    if response.status_code == 503:
        raise Fail(describe(response), "HTTP 200: the model loaded at start-up",
                   hint="call load_model in lifespan and keep the model in app.state",
                   see="Step 1 — Load the model once")  # fmt: skip
    expect(response.status_code == 200, describe(response), "HTTP 200")
    try:
        body = response.json()
    except ValueError:
        raise Fail(describe(response), "a JSON object") from None
    soft = Soft()
    value = body.get("prediction") if isinstance(body, dict) else None
    soft.check(
        isinstance(value, float) and math.isfinite(value),
        f"prediction = {json.dumps(value)}",
        "a single finite number, such as 152.3",
    )
    version = body.get("model_version") if isinstance(body, dict) else None
    # The checker's copy of the card says CHECKER_VERSION: only a service that
    # reads MODEL_CARD_PATH's card answers it.
    soft.check(
        version == CHECKER_VERSION,
        f"model_version = {json.dumps(version)}" if version else "no model_version",
        f"{CHECKER_VERSION!r}, the version in the card at MODEL_CARD_PATH",
        hint="answer model_version from the loaded card (model.version), never a constant",
        see="Step 1 — Load the model once",
    )
    soft.check(isinstance(body, dict) and body.get("request_id"), "no request_id", "a request_id")
    soft.raise_if_any()


def test_predict_matches_model(http, rows, reference, serving):
    """/predict agrees with the saved model on real patients"""
    worst = 0.0
    for row, expected in zip(rows, reference, strict=True):
        response = post(http, "/predict", json=row)
        if response.status_code != 200:
            raise Needs("POST /predict to answer 200 (see the check above)")
        got = response.json().get("prediction")
        if not isinstance(got, float):
            raise Needs("a float prediction (see the check above)")
        worst = max(worst, abs(got - expected))
    expect(
        worst <= TOLERANCE,
        f"a difference of {worst:.3g}",
        f"at most {TOLERANCE} for {len(rows)} patients",
    )


def test_settings_from_env(http, serving):
    """Settings come from the environment (MODEL_CARD_PATH, MAX_BATCH_ROWS)"""
    response = http.get("/model")
    version = response.json().get("version") if response.status_code == 200 else None
    expect(
        version == CHECKER_VERSION,
        f"/model says version {version!r}",
        f"{CHECKER_VERSION!r}, from the card at MODEL_CARD_PATH",
    )


def test_batch(http, rows, reference, serving):
    """POST /predict/batch predicts every row and refuses too many"""
    soft = Soft()
    response = post(http, "/predict/batch", json={"rows": rows[:5]})
    if soft.check(response.status_code == 200, describe(response), "HTTP 200 for 5 rows"):
        got = response.json().get("predictions")
        same = (
            isinstance(got, list)
            and len(got) == 5
            and all(
                isinstance(g, float) and abs(g - e) <= TOLERANCE
                for g, e in zip(got, reference, strict=False)
            )
        )
        soft.check(same, f"predictions {str(got)[:80]}", "5 floats matching the model")
    # The bound itself: exactly MAX_BATCH_ROWS rows are allowed, one more is not.
    at_bound = post(http, "/predict/batch", json={"rows": [rows[0]] * BATCH_BOUND})
    got = at_bound.json().get("predictions") if at_bound.status_code == 200 else None
    soft.check(
        isinstance(got, list) and len(got) == BATCH_BOUND,
        f"exactly {BATCH_BOUND} rows → {describe(at_bound)}",
        f"HTTP 200 with {BATCH_BOUND} predictions: MAX_BATCH_ROWS={BATCH_BOUND} rows are allowed",
        hint="refuse only len(rows) > max_batch_rows: the limit itself is allowed",
    )
    too_many = post(http, "/predict/batch", json={"rows": [rows[0]] * (BATCH_BOUND + 1)})
    soft.check(
        too_many.status_code == 422,
        f"{BATCH_BOUND + 1} rows → {describe(too_many)}",
        f"HTTP 422 over MAX_BATCH_ROWS={BATCH_BOUND}",
    )
    # Refused for its size alone: no error may point into a row (they were not read).
    big = [rows[0]] * (BATCH_BOUND * 10 - 1) + [{**rows[0], "bmi": "heavy"}]
    oversized = post(http, "/predict/batch", json={"rows": big})
    detail = oversized.json().get("detail") if is_json_object(oversized) else None
    into_rows = [e for e in detail if isinstance(e, dict) and len(e.get("loc") or []) > 2] if (
        isinstance(detail, list)) else []  # fmt: skip
    soft.check(
        oversized.status_code == 422 and not into_rows,
        f"{len(big)} rows, the last one bad → {describe(oversized)}"
        + (" (its rows were validated first)" if into_rows else ""),
        "HTTP 422 for the size alone, before any row is validated",
        # Only when the bound works, but late: without a bound at all, that is the cause.
        hint="bound the rows in the schema (Field(max_length=...), README → Step 4): pydantic"
        " then counts them before validating any"
        if too_many.status_code == 422
        else "",
    )
    # A batch holds to the same contract as one prediction, and to its own shape.
    for name, body in bad_batches(rows[0]):
        try:
            answer = http.post("/predict/batch", json=body)
        except httpx.HTTPError as exc:  # the schema let it in, and it broke the answer
            answer, said = None, f"no answer ({type(exc).__name__})"
        else:
            said = describe(answer)
        soft.check(
            answer is not None and 400 <= answer.status_code < 500,
            f"{name} → {said}",
            f"a 4xx JSON error for {name}",
            # Not a 4xx: the schema let it through, whatever the endpoint then did.
            hint="BatchRequest: extra='forbid', rows: list[PatientFeatures] with min_length=1",
        )
    soft.raise_if_any()


def is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def bad_batches(row) -> list[tuple[str, dict]]:
    return [
        ("an empty batch", {"rows": []}),
        ("a batch with an unknown field", {"rows": [row], "limit": 5}),
        ("a row with an extra field", {"rows": [row, {**row, "weight": 80.0}]}),
        ("a row with a numeric string", {"rows": [row, {**row, "bmi": "0.05"}]}),
        ("rows that are not a list", {"rows": row}),
    ]


def bad_payloads(row):
    missing = {k: v for k, v in row.items() if k != "bmi"}
    return [
        ("a missing field", {"json": missing}),
        ("a string for a number", {"json": {**row, "bmi": "heavy"}}),
        ("a numeric string", {"json": {**row, "bmi": "0.05"}}),
        ("NaN", {"content": json.dumps({**row, "bmi": float("nan")})}),
        ("Infinity", {"content": json.dumps({**row, "bmi": float("inf")})}),
        ("an extra field", {"json": {**row, "weight": 80.0}}),
        ("an empty body", {"content": b""}),
        ("malformed JSON", {"content": b'{"age": 0.1,'}),
        ("a list instead of an object", {"json": [row]}),
    ]


def test_bad_payloads(http, rows, serving):
    """Bad payloads get a 4xx JSON error, and the server keeps serving"""
    soft = Soft()
    for name, kwargs in bad_payloads(rows[0]):
        kwargs.setdefault("headers", {"content-type": "application/json"})
        response = post(http, "/predict", **kwargs)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        refused = 400 <= response.status_code < 500 and is_json
        optional = [] if refused or name != "a missing field" else optional_fields(http, rows[0])
        soft.check(
            refused,
            f"{name} → {describe(response)}"
            + (f" ({', '.join(optional)} optional in the schema)" if optional else ""),
            f"a 4xx JSON error for {name}",
            # The model's config may be right: a default makes the field optional.
            hint="every feature is required: drop the default (Field(default=None)) from "
            + ", ".join(optional)
            if optional
            else "",
        )
    soft.check(
        http.get("/healthz").status_code == 200,
        "the server stopped answering",
        "/healthz still 200 afterwards",
    )
    soft.raise_if_any()


def optional_fields(http, row) -> list[str]:
    """The features the request schema does not require (a default makes them optional)."""
    try:
        schemas = http.get("/openapi.json").json()["components"]["schemas"]
    except (ValueError, KeyError, httpx.HTTPError):
        return []
    for schema in schemas.values():
        properties = set(schema.get("properties") or {})
        if set(row) <= properties:
            return sorted(set(row) - set(schema.get("required") or []))
    return []


def test_body_size_limit(http, ready):
    """A 2 MB body is refused with 413"""
    body = b'{"age": "' + b"9" * 2_000_000 + b'"}'
    response = post(http, "/predict", content=body, headers={"content-type": "application/json"})
    is_json = response.headers.get("content-type", "").startswith("application/json")
    expect(response.status_code == 413 and is_json, describe(response), "HTTP 413 with a JSON body")


def test_openapi_documents_fields(http):
    """The OpenAPI schema documents every input field"""
    schema = http.get("/openapi.json").json()
    operation = schema.get("paths", {}).get("/predict", {}).get("post", {})
    ref = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref", "")
    )
    model = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    if not model:
        raise Fail("POST /predict has no request schema", "a pydantic model as the request body")
    props = model.get("properties", {})
    soft = Soft()
    soft.check(sorted(props) == sorted(FEATURES), f"fields {sorted(props)}", f"fields {FEATURES}")
    undocumented = [n for n, p in props.items() if not p.get("description")]
    soft.check(not undocumented, f"no description on {undocumented}", "a description on each field")
    no_example = [n for n, p in props.items() if not (p.get("examples") or p.get("example"))]
    soft.check(not no_example, f"no example on {no_example}", "an example on each field")
    soft.check(
        model.get("additionalProperties") is False,
        "extra fields allowed",
        "additionalProperties: false (extra='forbid')",
    )
    soft.raise_if_any()


def test_docs_pages(http):
    """/docs and /redoc are served"""
    soft = Soft()
    for path in ("/docs", "/redoc"):
        response = http.get(path)
        soft.check(response.status_code == 200, f"{path} → HTTP {response.status_code}", "HTTP 200")
    soft.raise_if_any()


def test_model_card_endpoint(http, model_copy, serving):
    """GET /model returns the model card"""
    card = json.loads((model_copy / CARD).read_text(encoding="utf-8"))
    response = http.get("/model")
    expect(response.status_code == 200, describe(response), "HTTP 200")
    body = response.json()
    soft = Soft()
    for key in ("name", "feature_names", "artifact_sha256"):
        soft.check(
            body.get(key) == card[key],
            f"{key} = {str(body.get(key))[:60]}",
            f"{key} as in the card",
        )
    soft.raise_if_any()


def test_json_logs(http, server, ready):
    """Logs are JSON lines that carry the request id"""
    response = http.get("/healthz", headers={"X-Request-ID": "checker-log-probe"})
    soft = Soft()
    soft.check(
        response.headers.get("x-request-id") == "checker-log-probe",
        f"X-Request-ID header {response.headers.get('x-request-id')!r}",
        "the incoming X-Request-ID echoed back",
    )
    time.sleep(0.3)
    lines = [line for line in server.log_lines() if line.strip()]
    parsed = []
    for line in lines:
        with contextlib.suppress(ValueError):
            parsed.append(json.loads(line))
    soft.check(
        lines and len(parsed) == len(lines),
        f"{len(lines) - len(parsed)} of {len(lines)} log lines are not JSON",
        "every log line a JSON object",
    )
    soft.check(
        any(isinstance(p, dict) and p.get("request_id") == "checker-log-probe" for p in parsed),
        "no log line with request_id 'checker-log-probe'",
        "the request id in the log",
    )
    soft.raise_if_any()


def test_readiness_semantics(started):
    """With a missing or mismatched model, /healthz is 200 and /readyz is 503"""
    started.start_helpers()
    servers = started.without_model
    soft = Soft()
    try:
        for name, instance in servers.items():
            try:
                instance.wait_until_up("/healthz", timeout=30)
            except Stop as exc:
                soft.check(
                    False,
                    f"with {name} the server did not start: {exc.message}",
                    "the server stays up without a model",
                )
                continue
            live = httpx.get(instance.url + "/healthz", timeout=5).status_code
            answer = httpx.get(instance.url + "/readyz", timeout=5)
            soft.check(live == 200, f"with {name}, /healthz → {live}", "/healthz 200")
            if flask_style(answer):
                # lifespan was right: readyz returned (body, 503), which FastAPI sends
                # as a JSON list with 200.
                soft.check(False, f"with {name}, /readyz → 200 {answer.text[:60]}", "/readyz 503",
                           hint="FastAPI sends a returned tuple as a JSON list with 200: "
                           "set response.status_code = 503, or return JSONResponse(..., "
                           "status_code=503)")  # fmt: skip
                continue
            readiness = answer.status_code
            soft.check(readiness == 503, f"with {name}, /readyz → {readiness}", "/readyz 503")
            soft.check(reason_logged(instance), f"with {name}, no log line says why",
                       "one log line giving the reason")  # fmt: skip
    finally:
        for instance in servers.values():
            instance.stop()
    soft.raise_if_any()


def reason_logged(instance: procs.Server, within: float = 2.0) -> bool:
    """A log line about the model that says why it is not loaded. A service that loads
    in the background may write it just after it answers: it gets a moment."""
    deadline = time.monotonic() + within
    while True:
        for line in map(str.lower, instance.log_lines()):
            if "model" in line and any(
                w in line for w in ("not found", "sha-256", "sha256", "missing")
            ):
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def flask_style(response: httpx.Response) -> bool:
    """A Flask habit: `return {...}, 503` arrives as 200 with the body [{...}, 503]."""
    try:
        body = response.json()
    except ValueError:
        return False
    return (response.status_code == 200 and isinstance(body, list) and len(body) == 2
            and isinstance(body[1], int) and body[1] >= 400)  # fmt: skip


def test_unit_tests(started):
    """Your own unit tests pass"""
    started.start_helpers()
    timeout = 180
    with ui.waiting("running your tests with pytest", timeout):
        code = started.unit_tests.finish(timeout)
    if code is None:
        raise Fail(f"pytest ran longer than {timeout} s", "tests that finish")
    summary = [line for line in started.unit_tests.log_lines() if line.strip()] or ["no output"]
    expect(code != 5, "pytest found no tests", "tests in tests/")
    expect(code == 0, f"pytest: {summary[-1].strip()}", "all your tests passing")


def test_model_loaded_once(http, model_copy, rows, serving):
    """The model is loaded once at start-up, not on every request"""
    if serving.status_code != 200:
        raise Needs("POST /predict to answer 200 first (see the /predict check)")
    # Remove the artifact the server started from: a server that loaded it once
    # does not notice, one that loads it per request fails.
    (model_copy / ARTIFACT).unlink()
    response = post(http, "/predict", json=rows[0])
    expect(
        response.status_code == 200,
        f"after the model file was removed: {describe(response)}",
        "HTTP 200: the model already in memory",
    )
