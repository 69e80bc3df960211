import hashlib
import json
import shutil

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from app import predictor
from app.compile import compile_models
from app.model import ModelLoadError, load_model
from app.predictor import RELATIVE_TOLERANCE, CompiledForestError, compile_forest, convert
from tests.conftest import MODELS

FOREST, CARD, GRAPH = "diabetes-rf.skops", "model-card.json", "diabetes-rf.onnx"


@pytest.fixture(scope="module")
def model():
    return load_model(MODELS / FOREST, MODELS / CARD)


@pytest.fixture
def models(tmp_path):
    for name in (FOREST, CARD, GRAPH):
        shutil.copy(MODELS / name, tmp_path / name)
    return tmp_path


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
    graph = (MODELS / GRAPH).read_bytes()
    with pytest.raises(CompiledForestError, match="differs from scikit-learn"):
        compile_forest(model.estimator, graph, len(model.feature_names))


def test_the_card_holds_the_hash_of_the_graph_that_serves():
    card = json.loads((MODELS / CARD).read_text())
    assert card["compiled"]["artifact"] == GRAPH
    assert (
        card["compiled"]["artifact_sha256"]
        == hashlib.sha256((MODELS / GRAPH).read_bytes()).hexdigest()
    )


def test_compiling_again_gives_the_same_graph(models):
    compile_models(models)
    assert (models / GRAPH).read_bytes() == (MODELS / GRAPH).read_bytes()
    assert json.loads((models / CARD).read_text()) == json.loads((MODELS / CARD).read_text())


def test_a_graph_whose_hash_differs_is_refused(models):
    graph = bytearray((models / GRAPH).read_bytes())
    graph[-1] ^= 0xFF
    (models / GRAPH).write_bytes(bytes(graph))
    with pytest.raises(ModelLoadError, match=r"compiled graph .* has SHA-256"):
        load_model(models / FOREST, models / CARD)


def test_a_missing_graph_is_refused_not_converted(models):
    (models / GRAPH).unlink()
    with pytest.raises(ModelLoadError, match=r"run python -m app\.compile"):
        load_model(models / FOREST, models / CARD)


def test_a_card_without_a_compiled_section_is_refused(models):
    card = json.loads((models / CARD).read_text())
    del card["compiled"]
    (models / CARD).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="no 'compiled' section"):
        load_model(models / FOREST, models / CARD)


def test_a_graph_of_another_width_is_refused(model):
    narrow = convert(model.estimator, 10)  # the real graph loads
    with pytest.raises(CompiledForestError, match="width 10, the card names 3"):
        predictor.CompiledForest(narrow, 3)


def test_predictions_come_back_as_plain_floats(model):
    [value] = model.predict([dict.fromkeys(model.feature_names, 0.0)])
    assert type(value) is float and np.isfinite(value)
