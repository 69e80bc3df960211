"""Lab 02 (the service): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

MAIN, SCHEMAS = "app/main.py", "app/schemas.py"

MISTAKES = [
    Mistake(2, "request-id-made-at-import", "app/middleware.py",
            "request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex",
            "request_id = incoming if _SAFE_ID.match(incoming) else _PROCESS_ID", "predict_float",
            also=(('_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")\n',
                   '_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")\n'
                   "_PROCESS_ID = uuid.uuid4().hex\n"),),
            says="again for a second request",
            hint="make the id inside the request (uuid4() in the middleware's call), "
            "not once when the module is imported"),
    Mistake(2, "model-version-hard-coded", MAIN, "model_version=model.version,",
            'model_version="1.0.0",', "predict_float", says="model_version = \"1.0.0\"",
            hint="answer model_version from the loaded card (model.version), never a constant"),
    Mistake(2, "batch-bound-refuses-the-limit", SCHEMAS, "max_length=max_rows,",
            "max_length=max_rows - 1,", "batch", says="exactly 16 rows",
            hint="refuse only len(rows) > max_batch_rows: the limit itself is allowed"),
    Mistake(
        2,
        "smart-quotes-in-code",
        MAIN,
        'log = logging.getLogger("app")',
        "log = logging.getLogger(\u2018app\u2019)",
        "code_compiles",
        exit_code=2,
    ),
    Mistake(
        2,
        "prediction-as-ndarray",
        MAIN,
        "[value] = model.predict([features.model_dump()])",
        "import pandas as pd\n        value = model.estimator.predict("
        "pd.DataFrame([features.model_dump()]))",
        "predict_float",
    ),
    Mistake(
        2,
        "readiness-checks-nothing",
        MAIN,
        "if request.app.state.model is None:",
        "if False:",
        "readiness_semantics",
    ),
    Mistake(
        2,
        "model-loaded-per-request",
        MAIN,
        "        [value] = model.predict([features.model_dump()])",
        "        settings = request.app.state.settings\n"
        "        model = load_model(settings.model_path, settings.model_card_path)\n"
        "        [value] = model.predict([features.model_dump()])",
        "model_loaded_once",
    ),
    Mistake(
        2,
        "extra-fields-allowed",
        SCHEMAS,
        'extra="forbid", strict=True',
        'extra="ignore", strict=True',
        "bad_payloads",
    ),
    Mistake(
        2,
        "nan-allowed",
        SCHEMAS,
        "allow_inf_nan=False",
        "allow_inf_nan=True",
        "bad_payloads",
        also=((", ge=-_BOUND, le=_BOUND)", ")"),),
    ),
    Mistake(2, "numeric-strings-coerced", SCHEMAS, "strict=True, ", "", "bad_payloads"),
    Mistake(
        2,
        "default-422-handler-echoes-nan",
        MAIN,
        "    @app.exception_handler(RequestValidationError)",
        "    @app.exception_handler(KeyError)",
        "bad_payloads",
    ),
    Mistake(
        2,
        "no-body-limit",
        MAIN,
        "    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)\n",
        "",
        "body_size_limit",
    ),
    Mistake(2, "fields-default-to-none", SCHEMAS,
            "Field(..., description=description,", "Field(default=None, description=description,",
            "bad_payloads", says="optional in the schema",
            hint="every feature is required: drop the default (Field(default=None)) from age, bmi,"
            " bp, s1, s2, s3, s4, s5, s6, sex"),
    Mistake(2, "flask-style-readyz", MAIN,
            '            return JSONResponse(status_code=503, content={"status": "not ready"})',
            '            return {"status": "not ready"}, 503', "readiness_semantics",
            says="/readyz → 200 [",
            hint="FastAPI sends a returned tuple as a JSON list with 200: set response.status_code"
            " = 503, or return JSONResponse(..., status_code=503)"),
    Mistake(2, "empty-batch-accepted", SCHEMAS, "min_length=1, max_length=max_rows,",
            "max_length=max_rows,", "batch", says="an empty batch → ",
            hint="BatchRequest: extra='forbid', rows: list[PatientFeatures] with min_length=1"),
    Mistake(2, "batch-bound-hard-coded", SCHEMAS, "max_length=max_rows,", "max_length=256,",
            "batch"),
    Mistake(2, "batch-bound-checked-after-validation", MAIN,
            "    def predict_batch(batch: Batch, model: ModelDep, request: Request)"
            " -> BatchPredictionResponse:\n",
            "    def predict_batch(batch: BatchRequest, model: ModelDep, request: Request)"
            " -> BatchPredictionResponse:\n"
            "        if len(batch.rows) > settings.max_batch_rows:\n"
            "            raise HTTPException(status_code=422, detail='too many rows')\n",
            "batch", says="its rows were validated first",
            also=(("    BatchPredictionResponse,\n",
                   "    BatchPredictionResponse,\n    BatchRequest,\n"),),
            hint="bound the rows in the schema (Field(max_length=...), README → Step 4): pydantic"
            " then counts them before validating any"),
    Mistake(
        2,
        "crashes-without-model",
        MAIN,
        "    except ModelLoadError as exc:",
        "    except KeyError as exc:",
        "readiness_semantics",
    ),
    Mistake(
        2,
        "fields-undocumented",
        SCHEMAS,
        "Field(..., description=description, examples=[example], ge=-_BOUND, le=_BOUND)",
        "Field(..., ge=-_BOUND, le=_BOUND)",
        "openapi_documents_fields",
    ),
    Mistake(
        2,
        "model-from-app-state",
        MAIN,
        "    def predict(features: PatientFeatures, model: ModelDep, request: Request)",
        "    def predict(features: PatientFeatures, request: Request)",
        "readiness_semantics",
        also=(("        [value] = model.predict([features.model_dump()])",
               "        model = request.app.state.model\n"
               "        [value] = model.predict([features.model_dump()])"),),
        says="POST /predict → 500",
        hint="take the model through the get_model dependency (ModelDep), which answers 503 "
        "while none is loaded",
    ),
    Mistake(
        2,
        "answers-undocumented",
        MAIN,
        'summary="Predict for one patient", responses=responses.PREDICT',
        'summary="Predict for one patient"',
        "openapi_documents_fields",
        says="POST /predict documents 200, 422",
        hint="list the other answers with responses= on each route, from app/responses.py",
    ),
    Mistake(
        2,
        "example-out-of-bounds",
        SCHEMAS,
        'age: float = _feature("Age in years, scaled", 0.0381)',
        'age: float = _feature("Age in years, scaled", 38.0)',
        "openapi_documents_fields",
        says="POST /predict with the schema's own examples",
        hint="an example lies outside its own field's bounds or type: make every "
        "examples=[...] a value the field accepts",
    ),
    Mistake(
        2, "plain-text-logs", MAIN, "    configure_logging(settings.log_level)\n", "", "json_logs"
    ),
    Mistake(
        2,
        "paths-hard-coded",
        MAIN,
        "load_model(settings.model_path, settings.model_card_path)",
        'load_model(Path("models/diabetes-rf.skops"), Path("models/model-card.json"))',
        "settings_from_env",
        also=(("import logging\n", "import logging\nfrom pathlib import Path\n"),),
    ),
    Mistake(2, "own-test-broken", "tests/test_main.py", '== "1.0.0"', '== "2.0.0"', "unit_tests"),
]  # fmt: skip

UNSEEDED = {
    "model_loads": PRECONDITION + "; tests/project/test_hostile_folders.py breaks the model",
    "server_starts": PRECONDITION,
    "healthz": "the starter's ✗ (test_starter_fails_with_hints); a solution without it fails "
    "server_starts' wait first",
    "readyz": "the starter's ✗ (its /readyz answers 200 with no model loaded)",
    "predict_matches_model": "its only realistic cause, a wrong feature order, also breaks "
    "predict_float's types in the starter; test_starter_fails_with_hints shows it",
    "docs_pages": "FastAPI serves them by default: only turning them off breaks it",
    "model_card_endpoint": "the starter's ✗ (test_starter_fails_with_hints)",
}
