"""The FastAPI application: model loaded once at start-up, health, prediction."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app import responses
from app.config import Settings, get_settings
from app.logging_setup import configure_logging
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.model import LoadedModel, ModelLoadError, load_model
from app.schemas import (
    BatchPredictionResponse,
    PatientFeatures,
    PredictionResponse,
    batch_request,
)
from app.security import require_api_key

log = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.model = None
    try:
        model = load_model(settings.model_path, settings.model_card_path)
        # A warm-up prediction proves the model works before we report ready.
        model.predict([dict.fromkeys(model.feature_names, 0.0)])
    except ModelLoadError as exc:
        log.error("model not loaded, /readyz will answer 503: %s", exc)
    else:
        app.state.model = model
        log.info("model loaded", extra={"fields": {"model": model.name, "version": model.version}})
    yield
    app.state.model = None


def get_model(request: Request) -> LoadedModel:
    model = request.app.state.model
    if model is None:
        raise HTTPException(status_code=503, detail="model not loaded")
    return model


ModelDep = Annotated[LoadedModel, Depends(get_model)]
# Only the prediction endpoints need the key; health and the model card stay open.
KEY_REQUIRED = [Depends(require_api_key)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # The batch schema carries this app's MAX_BATCH_ROWS (README → Step 4).
    Batch = batch_request(settings.max_batch_rows)
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Diabetes progression predictor",
        version="1.0.0",
        description="Predicts disease progression one year after baseline.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes the input back, and an echoed NaN cannot be
        # written as JSON: the client would get a 500 instead of a 422.
        errors = [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            status_code=500,
            content={"detail": "internal error", "request_id": request.state.request_id},
        )

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the model is loaded and warmed up",
        responses=responses.NOT_READY,
    )
    async def readyz(request: Request) -> JSONResponse:
        if request.app.state.model is None:
            return JSONResponse(status_code=503, content={"status": "not ready"})
        return JSONResponse(content={"status": "ready"})

    @app.get("/model", tags=["model"], summary="The model card", responses=responses.MODEL)
    async def model_card(model: ModelDep) -> dict[str, Any]:
        return model.card

    @app.post(
        "/predict",
        tags=["model"],
        summary="Predict for one patient",
        responses=responses.PREDICT_WITH_KEY,
        dependencies=KEY_REQUIRED,
    )
    def predict(features: PatientFeatures, model: ModelDep, request: Request) -> PredictionResponse:
        # A plain def: FastAPI runs it in a thread, so the CPU-bound predict
        # does not block the event loop that serves /healthz.
        [value] = model.predict([features.model_dump()])
        return PredictionResponse(
            prediction=value,
            model_version=model.version,
            request_id=request.state.request_id,
        )

    @app.post(
        "/predict/batch",
        tags=["model"],
        summary="Predict for several patients",
        responses=responses.PREDICT_WITH_KEY,
        dependencies=KEY_REQUIRED,
    )
    def predict_batch(batch: Batch, model: ModelDep, request: Request) -> BatchPredictionResponse:
        values = model.predict([row.model_dump() for row in batch.rows])
        return BatchPredictionResponse(
            predictions=values,
            model_version=model.version,
            request_id=request.state.request_id,
        )

    return app


app = create_app()
