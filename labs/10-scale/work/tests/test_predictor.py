import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from app import predictor
from app.model import load_model
from app.predictor import RELATIVE_TOLERANCE, CompiledForestError, compile_forest
from tests.conftest import MODELS


@pytest.fixture(scope="module")
def model():
    return load_model(MODELS / "diabetes-rf.skops", MODELS / "model-card.json")


def test_the_compiled_forest_agrees_with_scikit_learn_on_every_patient(model):
    patients = load_diabetes().data
    assert model.compiled.largest_relative_error(model.estimator, patients) <= RELATIVE_TOLERANCE


def test_the_service_answers_what_scikit_learn_would(client, model):
    patients = load_diabetes(as_frame=True).data.head(25)
    expected = model.estimator.predict(patients)
    for row, want in zip(patients.to_dict("records"), expected, strict=True):
        got = client.post("/predict", json=row).json()["prediction"]
        assert got == pytest.approx(want, rel=RELATIVE_TOLERANCE)


def test_a_batch_matches_one_by_one(client):
    rows = load_diabetes(as_frame=True).data.head(8).to_dict("records")
    batch = client.post("/predict/batch", json={"rows": rows}).json()["predictions"]
    singles = [client.post("/predict", json=row).json()["prediction"] for row in rows]
    assert batch == singles


def test_a_forest_that_disagrees_is_refused(model, monkeypatch):
    monkeypatch.setattr(predictor, "RELATIVE_TOLERANCE", -1.0)
    with pytest.raises(CompiledForestError, match="differs from scikit-learn"):
        compile_forest(model.estimator, len(model.feature_names))


def test_predictions_come_back_as_plain_floats(model):
    [value] = model.predict([dict.fromkeys(model.feature_names, 0.0)])
    assert type(value) is float and np.isfinite(value)
