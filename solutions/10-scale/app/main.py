"""The FastAPI application: model loaded once at start-up, health, prediction.

Lab 10: lab 07's service (metrics, API key, draining) with lab 09's compiled
forest, served on the event loop."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry

from app import draining, metrics, responses
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
    draining.install(app.state, settings.shutdown_delay_seconds)
    try:
        model = load_model(settings.model_path, settings.model_card_path)
        # A warm-up prediction proves the model works before we report ready.
        model.predict([dict.fromkeys(model.feature_names, 0.0)])
    except ModelLoadError as exc:
        log.error("model not loaded, /readyz will answer 503: %s", exc)
    else:
        app.state.model = model
        app.state.metrics.model_loaded(model.name, model.version)
        log.info("model loaded", extra={"fields": {"model": model.name, "version": model.version}})
    yield
    app.state.model = None


# Dependencies are async: FastAPI runs a plain `def` dependency in its thread
# pool, a hop that costs more than the compiled forest's whole prediction.
async def get_model(request: Request) -> LoadedModel:
    model = request.app.state.model
    if model is None:
        raise HTTPException(status_code=503, detail="model not loaded")
    return model


async def get_metrics(request: Request) -> metrics.ServiceMetrics:
    return request.app.state.metrics


ModelDep = Annotated[LoadedModel, Depends(get_model)]
MetricsDep = Annotated[metrics.ServiceMetrics, Depends(get_metrics)]
# Only the prediction endpoints need the key; health and the model card stay open.
KEY_REQUIRED = [Depends(require_api_key)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def create_app(
    settings: Settings | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
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
    # A registry per app, not the process-wide default: tests build many apps.
    app.state.metrics = metrics.instrument(app, registry or CollectorRegistry())

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
        if request.app.state.draining:
            return JSONResponse(status_code=503, content={"status": "draining"})
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
        response_model=PredictionResponse,
    )
    async def predict(
        features: PatientFeatures, model: ModelDep, measure: MetricsDep, request: Request
    ) -> Response:
        # async: the compiled forest answers in microseconds, less than a hop to
        # FastAPI's thread pool costs, so it runs on the event loop.
        with measure.inference("/predict"):
            [value] = model.predict([features.model_dump()])
        measure.predicted("/predict", [value])
        answer = PredictionResponse(
            prediction=value,
            model_version=model.version,
            request_id=request.state.request_id,
        )
        # Serialized by pydantic in one step; returning the model would validate
        # it again and encode it twice.
        return Response(answer.model_dump_json(), media_type="application/json")

    @app.post(
        "/predict/batch",
        tags=["model"],
        summary="Predict for several patients",
        responses=responses.PREDICT_WITH_KEY,
        dependencies=KEY_REQUIRED,
        response_model=BatchPredictionResponse,
    )
    async def predict_batch(
        batch: Batch,
        model: ModelDep,
        measure: MetricsDep,
        request: Request,
    ) -> Response:
        with measure.inference("/predict/batch"):
            values = model.predict([row.model_dump() for row in batch.rows])
        measure.predicted("/predict/batch", values)
        answer = BatchPredictionResponse(
            predictions=values,
            model_version=model.version,
            request_id=request.state.request_id,
        )
        return Response(answer.model_dump_json(), media_type="application/json")

    return app


app = create_app()
