"""The FastAPI application: model loaded once at start-up, health, prediction."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.config import Settings, get_settings
from app.logging_setup import configure_logging
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware
from app.model import LoadedModel, ModelLoadError, load_model
from app.schemas import (
    BatchPredictionResponse,
    BatchRequest,
    PatientFeatures,
    PredictionResponse,
)

log = logging.getLogger("app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.model = None
    # TODO(lab02): load the model once, here, with
    # load_model(settings.model_path, settings.model_card_path), then make one
    # warm-up prediction. On ModelLoadError, log the reason in one line and keep
    # app.state.model = None: the service stays up and /readyz answers 503.
    yield
    app.state.model = None


def get_model(request: Request) -> LoadedModel:
    model = request.app.state.model
    if model is None:
        raise HTTPException(status_code=503, detail="model not loaded")
    return model


ModelDep = Annotated[LoadedModel, Depends(get_model)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Diabetes progression predictor",
        version="1.0.0",
        description="Predicts disease progression one year after baseline.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.dependency_overrides[get_settings] = lambda: settings
    # TODO(lab02): bound the body size with
    # app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
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

    @app.get("/readyz", tags=["health"], summary="Readiness: the model is loaded and warmed up")
    async def readyz(request: Request) -> JSONResponse:
        # TODO(lab02): answer 503 {"status": "not ready"} while request.app.state.model
        # is None. A readiness probe that checks nothing sends traffic to a pod
        # that cannot serve it.
        return JSONResponse(content={"status": "ready"})

    @app.get("/model", tags=["model"], summary="The model card")
    async def model_card(model: ModelDep) -> dict[str, Any]:
        return model.card

    @app.post("/predict", tags=["model"], summary="Predict for one patient")
    def predict(features: PatientFeatures, model: ModelDep, request: Request) -> PredictionResponse:
        # TODO(lab02): predict with model.predict([features.model_dump()]) and return a
        # PredictionResponse with the value as a plain float, model.version and
        # request.state.request_id.
        raise HTTPException(status_code=501, detail="TODO(lab02): /predict")

    @app.post("/predict/batch", tags=["model"], summary="Predict for several patients")
    def predict_batch(
        batch: BatchRequest, model: ModelDep, settings: SettingsDep, request: Request
    ) -> BatchPredictionResponse:
        # TODO(lab02): refuse more than settings.max_batch_rows rows with a 422, before
        # the rows are validated (README → Step 4: a batch model built here with
        # Field(max_length=...)); otherwise predict every row, in order.
        raise HTTPException(status_code=501, detail="TODO(lab02): /predict/batch")

    return app


app = create_app()
