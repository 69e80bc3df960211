from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from tests.conftest import PATIENT, make_settings


def scrape(client: TestClient) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {f.name: f for f in text_string_to_metric_families(response.text)}


def samples(family, name: str) -> list:
    return [s for s in family.samples if s.name == name]


def test_metrics_are_exposed_without_a_key():
    with TestClient(create_app(make_settings(api_key="k" * 24))) as client:
        assert client.get("/metrics").status_code == 200


def test_http_requests_are_counted_by_route_template_and_status_class(client):
    client.post("/predict", json=PATIENT)
    client.post("/predict", json={"age": "old"})
    client.get("/healthz")
    client.get("/no/such/path")
    families = scrape(client)
    requests = families["http_requests"]
    assert requests.type == "counter"
    counted = {(s.labels["handler"], s.labels["status"]): s.value
               for s in samples(requests, "http_requests_total")}  # fmt: skip
    assert counted == {("/predict", "2xx"): 1.0, ("/predict", "4xx"): 1.0}
    assert families["http_request_duration_seconds"].type == "histogram"


def test_inference_time_and_predictions_are_observed(client):
    client.post("/predict", json=PATIENT)
    client.post("/predict/batch", json={"rows": [PATIENT, PATIENT, PATIENT]})
    families = scrape(client)
    inference = samples(families["diabetes_inference_seconds"], "diabetes_inference_seconds_count")
    by_route = {s.labels["handler"]: s.value for s in inference}
    assert by_route == {"/predict": 1.0, "/predict/batch": 1.0}
    rows = samples(families["diabetes_predicted_rows"], "diabetes_predicted_rows_total")
    assert sum(s.value for s in rows) == 4.0
    values = samples(families["diabetes_prediction_value"], "diabetes_prediction_value_count")
    assert values[0].value == 4.0


def test_the_model_is_named_with_its_version(client):
    [info] = samples(scrape(client)["diabetes_model_info"], "diabetes_model_info")
    card = client.get("/model").json()
    assert info.labels == {"name": card["name"], "version": card["version"]}
    assert info.value == 1.0


def test_each_app_has_its_own_registry():
    registry = CollectorRegistry()
    with TestClient(create_app(make_settings(), registry=registry)) as client:
        client.post("/predict", json=PATIENT)
    with TestClient(create_app(make_settings())) as other:
        assert "diabetes_model_info" in other.get("/metrics").text
    assert registry.get_sample_value("diabetes_predicted_rows_total", {"handler": "/predict"}) == 1
