import json
import math

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import PATIENT, make_settings


def test_healthz_answers_without_model(tmp_path):
    settings = make_settings(model_path=tmp_path / "missing.skops")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        assert client.post("/predict", json=PATIENT).status_code == 503


def test_ready_once_model_loaded(client):
    assert client.get("/readyz").json() == {"status": "ready"}


def test_predict_returns_plain_float_and_ids(client):
    response = client.post("/predict", json=PATIENT, headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["prediction"], float) and math.isfinite(body["prediction"])
    assert body["model_version"] == "1.0.0"
    assert body["request_id"] == "abc-123" == response.headers["x-request-id"]


def test_batch_matches_single_predictions(client):
    other = {**PATIENT, "bmi": -0.02}
    batch = client.post("/predict/batch", json={"rows": [PATIENT, other]}).json()
    singles = [client.post("/predict", json=row).json()["prediction"] for row in (PATIENT, other)]
    assert batch["predictions"] == singles


def test_batch_over_bound_is_rejected(client):
    assert client.post("/predict/batch", json={"rows": [PATIENT] * 9}).status_code == 422


def test_bad_payloads_get_422(client):
    bad = [
        {k: v for k, v in PATIENT.items() if k != "age"},
        {**PATIENT, "age": "old"},
        {**PATIENT, "extra": 1.0},
    ]
    for payload in bad:
        assert client.post("/predict", json=payload).status_code == 422
    nan_body = json.dumps(PATIENT).replace("0.0381", "NaN")
    response = client.post(
        "/predict", content=nan_body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_large_body_gets_413(client):
    response = client.post("/predict", content=b"x" * 20_000)
    assert response.status_code == 413
    assert response.json()["detail"]


def test_model_card_served(client):
    assert client.get("/model").json()["feature_names"][:2] == ["age", "sex"]
