from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import PATIENT, make_settings

KEY = "k" * 24


def client_with_key() -> TestClient:
    return TestClient(create_app(make_settings(api_key=KEY)))


def test_no_key_configured_leaves_prediction_open(client):
    assert client.post("/predict", json=PATIENT).status_code == 200


def test_prediction_needs_the_key():
    with client_with_key() as client:
        missing = client.post("/predict", json=PATIENT)
        wrong = client.post("/predict", json=PATIENT, headers={"X-API-Key": "x" * 24})
        right = client.post("/predict", json=PATIENT, headers={"X-API-Key": KEY})
        batch = client.post("/predict/batch", json={"rows": [PATIENT]})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "APIKey"
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert batch.status_code == 401


def test_health_stays_open_with_a_key():
    with client_with_key() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_a_short_key_is_refused_at_start():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 16"):
        make_settings(api_key="short")
