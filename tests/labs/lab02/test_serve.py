"""Lab 02: the learner's FastAPI service, started with real uvicorn and judged over HTTP."""

import ast
import contextlib
import json
import math
import time
import tokenize

import httpx

from checker import Fail, Needs, Soft, Stop, expect
from checker.command import ui
from checker.processes.artifact import FEATURES

import harness


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
            found = [f"{harness.SMART[c]} (U+{ord(c):04X})" for c in line if c in harness.SMART]
            where = f"{path.relative_to(lab_dir)}, line {exc.lineno}"
            reason = f"smart quote or dash {', '.join(found)}" if found else exc.msg
            hint = "" if found else "fix the syntax error at the line shown"
            raise Stop(f"{where}: {reason}", detail=f"the line is: {line.strip()}",
                       hint=hint) from None  # fmt: skip


def test_model_loads(model_copy):
    """The folder's model and card are there and readable (models/ from lab 01)"""
    expect((model_copy / harness.ARTIFACT).stat().st_size > 0,
           f"models/{harness.ARTIFACT} is empty",
           "lab 01's saved forest", hint=harness.MODEL_HINT)  # fmt: skip


def test_server_starts(server):
    """uvicorn starts your app"""
    expect(server.alive(), "the uvicorn process exited", "uvicorn running and answering")


def test_healthz(http):
    """GET /healthz answers 200 at once"""
    started = time.perf_counter()
    response = http.get("/healthz")
    elapsed_ms = (time.perf_counter() - started) * 1000
    soft = Soft()
    soft.check(response.status_code == 200, harness.describe(response), "HTTP 200")
    soft.check(elapsed_ms < 200, f"{elapsed_ms:.0f} ms", "under 200 ms (liveness must be cheap)")
    soft.raise_if_any()


def test_readyz(http, rows, ready):
    """GET /readyz answers 200 once the model is loaded"""
    expect(ready, harness.describe(http.get("/readyz")), "HTTP 200 within 15 s of start-up")
    # Ready must mean able to serve: a /readyz that answers 200 while /predict
    # answers 503 sends traffic to a pod that cannot serve it.
    answer = harness.post(http, "/predict", json=rows[0])
    expect(
        answer.status_code != 503,
        f"/readyz 200 while POST /predict → {harness.describe(answer)}",
        "/readyz 200 only once the model is loaded",
        hint="answer 503 from /readyz until app.state holds the loaded model",
    )


def test_predict_float(http, rows, ready):
    """POST /predict returns a plain float, the model version and a request id"""
    response = harness.post(http, "/predict", json=rows[0])
    if response.status_code == 503:
        raise Fail(harness.describe(response), "HTTP 200: the model loaded at start-up",
                   hint="call load_model in lifespan and keep the model in app.state",
                   see="Step 1 — Load the model once")  # fmt: skip
    expect(response.status_code == 200, harness.describe(response), "HTTP 200")
    try:
        body = response.json()
    except ValueError:
        raise Fail(harness.describe(response), "a JSON object") from None
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
        version == harness.CHECKER_VERSION,
        f"model_version = {json.dumps(version)}" if version else "no model_version",
        f"{harness.CHECKER_VERSION!r}, the version in the card at MODEL_CARD_PATH",
        hint="answer model_version from the loaded card (model.version), never a constant",
        see="Step 1 — Load the model once",
    )
    first = body.get("request_id") if isinstance(body, dict) else None
    if soft.check(first, "no request_id", "a request_id"):
        # One id per request: an id made once, at import, names every request alike.
        second = harness.request_id(harness.post(http, "/predict", json=rows[0]))
        soft.check(second != first,
                   f"request_id {first!r} again for a second request (no X-Request-ID sent)",
                   "a new request_id for each request",
                   hint="make the id inside the request (uuid4() in the middleware's call), "
                   "not once when the module is imported",
                   see="Step 7 — Logs you can search")  # fmt: skip
    soft.raise_if_any()


def test_predict_matches_model(http, rows, reference, serving):
    """/predict agrees with the saved model on real patients"""
    worst = 0.0
    for row, expected in zip(rows, reference, strict=True):
        response = harness.post(http, "/predict", json=row)
        if response.status_code != 200:
            raise Needs("POST /predict to answer 200 (see the check above)")
        got = response.json().get("prediction")
        if not isinstance(got, float):
            raise Needs("a float prediction (see the check above)")
        worst = max(worst, abs(got - expected))
    expect(
        worst <= harness.TOLERANCE,
        f"a difference of {worst:.3g}",
        f"at most {harness.TOLERANCE} for {len(rows)} patients",
    )


def test_settings_from_env(http, serving):
    """Settings come from the environment (MODEL_CARD_PATH, MAX_BATCH_ROWS)"""
    response = http.get("/model")
    version = response.json().get("version") if response.status_code == 200 else None
    expect(
        version == harness.CHECKER_VERSION,
        f"/model says version {version!r}",
        f"{harness.CHECKER_VERSION!r}, from the card at MODEL_CARD_PATH",
    )


def test_batch(http, rows, reference, serving):
    """POST /predict/batch predicts every row and refuses too many"""
    soft = Soft()
    response = harness.post(http, "/predict/batch", json={"rows": rows[:5]})
    if soft.check(response.status_code == 200, harness.describe(response), "HTTP 200 for 5 rows"):
        got = response.json().get("predictions")
        same = (
            isinstance(got, list)
            and len(got) == 5
            and all(
                isinstance(g, float) and abs(g - e) <= harness.TOLERANCE
                for g, e in zip(got, reference, strict=False)
            )
        )
        soft.check(same, f"predictions {str(got)[:80]}", "5 floats matching the model")
    # The bound itself: exactly MAX_BATCH_ROWS rows are allowed, one more is not.
    at_bound = harness.post(http, "/predict/batch", json={"rows": [rows[0]] * harness.BATCH_BOUND})
    got = at_bound.json().get("predictions") if at_bound.status_code == 200 else None
    soft.check(
        isinstance(got, list) and len(got) == harness.BATCH_BOUND,
        f"exactly {harness.BATCH_BOUND} rows → {harness.describe(at_bound)}",
        f"HTTP 200 with {harness.BATCH_BOUND} predictions: "
        f"MAX_BATCH_ROWS={harness.BATCH_BOUND} rows are allowed",
        hint="refuse only len(rows) > max_batch_rows: the limit itself is allowed",
    )
    too_many = harness.post(
        http, "/predict/batch", json={"rows": [rows[0]] * (harness.BATCH_BOUND + 1)}
    )
    soft.check(
        too_many.status_code == 422,
        f"{harness.BATCH_BOUND + 1} rows → {harness.describe(too_many)}",
        f"HTTP 422 over MAX_BATCH_ROWS={harness.BATCH_BOUND}",
    )
    # Refused for its size alone: no error may point into a row (they were not read).
    big = [rows[0]] * (harness.BATCH_BOUND * 10 - 1) + [{**rows[0], "bmi": "heavy"}]
    oversized = harness.post(http, "/predict/batch", json={"rows": big})
    detail = oversized.json().get("detail") if harness.is_json_object(oversized) else None
    into_rows = [e for e in detail if isinstance(e, dict) and len(e.get("loc") or []) > 2] if (
        isinstance(detail, list)) else []  # fmt: skip
    soft.check(
        oversized.status_code == 422 and not into_rows,
        f"{len(big)} rows, the last one bad → {harness.describe(oversized)}"
        + (" (its rows were validated first)" if into_rows else ""),
        "HTTP 422 for the size alone, before any row is validated",
        # Only when the bound works, but late: without a bound at all, that is the cause.
        hint="bound the rows in the schema (Field(max_length=...), README → Step 4): pydantic"
        " then counts them before validating any"
        if too_many.status_code == 422
        else "",
    )
    # A batch holds to the same contract as one prediction, and to its own shape.
    for name, body in harness.bad_batches(rows[0]):
        try:
            answer = http.post("/predict/batch", json=body)
        except httpx.HTTPError as exc:  # the schema let it in, and it broke the answer
            answer, said = None, f"no answer ({type(exc).__name__})"
        else:
            said = harness.describe(answer)
        soft.check(
            answer is not None and 400 <= answer.status_code < 500,
            f"{name} → {said}",
            f"a 4xx JSON error for {name}",
            # Not a 4xx: the schema let it through, whatever the endpoint then did.
            hint="BatchRequest: extra='forbid', rows: list[PatientFeatures] with min_length=1",
        )
    soft.raise_if_any()


def test_bad_payloads(http, rows, serving):
    """Bad payloads get a 4xx JSON error, and the server keeps serving"""
    soft = Soft()
    for name, kwargs in harness.bad_payloads(rows[0]):
        kwargs.setdefault("headers", {"content-type": "application/json"})
        response = harness.post(http, "/predict", **kwargs)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        refused = 400 <= response.status_code < 500 and is_json
        optional = (
            [] if refused or name != "a missing field" else harness.optional_fields(http, rows[0])
        )
        soft.check(
            refused,
            f"{name} → {harness.describe(response)}"
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


def test_body_size_limit(http, ready):
    """A 2 MB body is refused with 413"""
    body = b'{"age": "' + b"9" * 2_000_000 + b'"}'
    response = harness.post(
        http, "/predict", content=body, headers={"content-type": "application/json"}
    )
    is_json = response.headers.get("content-type", "").startswith("application/json")
    expect(
        response.status_code == 413 and is_json,
        harness.describe(response),
        "HTTP 413 with a JSON body",
    )


def test_openapi_documents_fields(http):
    """The OpenAPI schema documents every input field and every answer"""
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
    # Step 6: the answers other than 200 and 422, so a generated client handles them too.
    for path in ("/predict", "/predict/batch"):
        said = sorted(schema.get("paths", {}).get(path, {}).get("post", {}).get("responses", {}))
        missing = [code for code in harness.ANSWERS if code not in said]
        soft.check(not missing, f"POST {path} documents {', '.join(said) or 'no answer'}",
                   f"{', '.join(harness.ANSWERS)} documented too",
                   hint="list the other answers with responses= on each route, from "
                   "app/responses.py", see="Step 6 — Documentation and the model card")  # fmt: skip
    # /docs' "Try it out" sends these examples: the service must not refuse its own. Only
    # a 422 is theirs: a 503 (no model) or a 500 is another check's cause.
    example = {n: (p.get("examples") or [p.get("example")])[0] for n, p in props.items()}
    if not no_example and sorted(props) == sorted(FEATURES):
        tried = harness.post(http, "/predict", json=example)
        soft.check(tried.status_code != 422,
                   f"POST /predict with the schema's own examples → {harness.describe(tried)}",
                   "no 422: each example is a value its field accepts",
                   hint="an example lies outside its own field's bounds or type: make every "
                   "examples=[...] a value the field accepts")  # fmt: skip
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
    card = json.loads((model_copy / harness.CARD).read_text(encoding="utf-8"))
    response = http.get("/model")
    expect(response.status_code == 200, harness.describe(response), "HTTP 200")
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


def test_readiness_semantics(started, rows):
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
            if harness.flask_style(answer):
                # lifespan was right: readyz returned (body, 503), which FastAPI sends
                # as a JSON list with 200.
                soft.check(False, f"with {name}, /readyz → 200 {answer.text[:60]}", "/readyz 503",
                           hint="FastAPI sends a returned tuple as a JSON list with 200: "
                           "set response.status_code = 503, or return JSONResponse(..., "
                           "status_code=503)")  # fmt: skip
                continue
            readiness = answer.status_code
            soft.check(readiness == 503, f"with {name}, /readyz → {readiness}", "/readyz 503")
            # A client that calls anyway is told "not ready", not "server error".
            predicted = httpx.post(instance.url + "/predict", json=rows[0], timeout=5).status_code
            soft.check(predicted == 503, f"with {name}, POST /predict → {predicted}",
                       "/predict 503 too: there is no model to answer with",
                       hint="take the model through the get_model dependency (ModelDep), which "
                       "answers 503 while none is loaded")  # fmt: skip
            soft.check(harness.reason_logged(instance), f"with {name}, no log line says why",
                       "one log line giving the reason")  # fmt: skip
    finally:
        for instance in servers.values():
            instance.stop()
    soft.raise_if_any()


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
    (model_copy / harness.ARTIFACT).unlink()
    response = harness.post(http, "/predict", json=rows[0])
    expect(
        response.status_code == 200,
        f"after the model file was removed: {harness.describe(response)}",
        "HTTP 200: the model already in memory",
    )
