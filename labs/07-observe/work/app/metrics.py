"""Prometheus metrics: HTTP traffic, time in the model, what it predicts, which model.

Every metric lives in the registry the app is given, so each test (and each app)
gets a clean one instead of the process-wide default.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry


class ServiceMetrics:
    """The service's own metrics, beside the HTTP ones the instrumentator keeps."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # TODO(lab07): README → Step 2. Create, in `registry`:
        #   - a Histogram diabetes_inference_seconds, labelled by handler (the route:
        #     /predict or /predict/batch);
        #   - a Histogram diabetes_prediction_value, buckets every 25 from 25 to 375;
        #   - a Counter diabetes_predicted_rows, labelled by handler;
        #   - an Info diabetes_model (exposed as diabetes_model_info).
        self.registry = registry

    def model_loaded(self, name: str, version: str) -> None:
        # TODO(lab07): set the Info's name and version labels.
        pass

    @contextmanager
    def inference(self, handler: str) -> Iterator[None]:
        # TODO(lab07): observe how long the block inside `with` takes.
        yield

    def predicted(self, handler: str, values: Sequence[float]) -> None:
        # TODO(lab07): count the rows, and observe each predicted value.
        pass


def instrument(app: FastAPI, registry: CollectorRegistry) -> ServiceMetrics:
    """Counts and times every request by route template, and serves GET /metrics."""
    # TODO(lab07): README → Step 2. Build an Instrumentator on `registry` that
    # groups status codes, ignores untemplated paths and skips /metrics, /healthz
    # and /readyz; add its requests and latency metrics; instrument the app and
    # expose /metrics. Register a ProcessCollector for CPU and memory per pod.
    return ServiceMetrics(registry)
