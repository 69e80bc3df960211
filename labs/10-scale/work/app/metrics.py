"""Prometheus metrics: HTTP traffic, time in the model, what it predicts, which model.

Every metric lives in the registry the app is given, so each test (and each app)
gets a clean one instead of the process-wide default.
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, Info, ProcessCollector
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator import metrics as http

# Fine buckets around the 250 ms latency objective, so p50/p95/p99 are estimated
# from neighbouring buckets rather than interpolated across a wide one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
# A forest's predict takes about a millisecond per call: finer still.
INFERENCE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
# The training target ranges from 25 to 346: a bucket every 25 shows output drift.
PREDICTION_BUCKETS = tuple(float(edge) for edge in range(25, 376, 25))
# Probes and scrapes would swamp the request rate and flatter the latency.
NOT_MEASURED = ["/metrics", "/healthz", "/readyz"]


class ServiceMetrics:
    """The service's own metrics, beside the HTTP ones the instrumentator keeps."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.inference_seconds = Histogram(
            "diabetes_inference_seconds",
            "Time spent in the model's predict call, without HTTP and validation.",
            ["handler"],
            buckets=INFERENCE_BUCKETS,
            registry=registry,
        )
        self.prediction_value = Histogram(
            "diabetes_prediction_value",
            "Predicted disease progression, one observation per row.",
            buckets=PREDICTION_BUCKETS,
            registry=registry,
        )
        # The exposition adds _total: a counter only goes up, and rate() needs that.
        self.predicted_rows = Counter(
            "diabetes_predicted_rows",
            "Rows predicted, one per patient.",
            ["handler"],
            registry=registry,
        )
        self.model = Info("diabetes_model", "The model being served.", registry=registry)

    def model_loaded(self, name: str, version: str) -> None:
        self.model.info({"name": name, "version": version})

    @contextmanager
    def inference(self, handler: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.inference_seconds.labels(handler=handler).observe(time.perf_counter() - started)

    def predicted(self, handler: str, values: Sequence[float]) -> None:
        self.predicted_rows.labels(handler=handler).inc(len(values))
        for value in values:
            self.prediction_value.observe(value)


def instrument(app: FastAPI, registry: CollectorRegistry) -> ServiceMetrics:
    """Counts and times every request by route template, and serves GET /metrics."""
    # CPU seconds and resident memory of this process: per-pod usage without cAdvisor.
    ProcessCollector(registry=registry)
    instrumentator = Instrumentator(
        # 2xx/4xx/5xx and route templates, never raw paths: bounded label values.
        should_group_status_codes=True,
        should_ignore_untemplated=True,
        excluded_handlers=NOT_MEASURED,
        registry=registry,
    )
    instrumentator.add(http.requests(registry=registry))
    instrumentator.add(
        http.latency(buckets=LATENCY_BUCKETS, should_include_status=False, registry=registry)
    )
    instrumentator.instrument(app).expose(app, endpoint="/metrics", include_in_schema=False)
    return ServiceMetrics(registry)
