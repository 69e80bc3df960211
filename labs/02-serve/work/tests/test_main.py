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


def test_predict_returns_plain_float_and_ids(client):
    response = client.post("/predict", json=PATIENT, headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["prediction"], float) and math.isfinite(body["prediction"])
    assert body["request_id"] == "abc-123" == response.headers["x-request-id"]


# TODO(lab02): add tests for /predict/batch (one prediction per row, 422 over the
# bound), for bad payloads (a missing field, a string, NaN, an extra field all get
# 422) and for a body over max_body_bytes (413). conftest.py gives you a client.
def test_nan_is_refused(client):
    response = client.post(
        "/predict",
        content=json.dumps(PATIENT).replace("0.0381", "NaN"),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
