from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

MODELS = Path(__file__).resolve().parent.parent / "models"

PATIENT = {
    "age": 0.0381, "sex": 0.0507, "bmi": 0.0617, "bp": 0.0219, "s1": -0.0442,
    "s2": -0.0348, "s3": -0.0434, "s4": -0.0026, "s5": 0.0199, "s6": -0.0176,
}  # fmt: skip


def make_settings(**overrides: object) -> Settings:
    values = {
        "model_path": MODELS / "diabetes-rf.skops",
        "model_card_path": MODELS / "model-card.json",
        "max_batch_rows": 8,
        "max_body_bytes": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client() -> Iterator[TestClient]:
    # The context manager runs the lifespan, so the model is loaded as in production.
    with TestClient(create_app(make_settings())) as test_client:
        yield test_client
