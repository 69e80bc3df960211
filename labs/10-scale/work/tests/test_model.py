import json
import shutil

import pytest

from app.model import ModelLoadError, load_model
from tests.conftest import MODELS, PATIENT


def test_loads_and_predicts():
    model = load_model(MODELS / "diabetes-rf.skops", MODELS / "model-card.json")
    [value] = model.predict([PATIENT])
    assert type(value) is float


def test_refuses_artifact_whose_hash_differs(tmp_path):
    shutil.copy(MODELS / "diabetes-rf.skops", tmp_path / "model.skops")
    card = json.loads((MODELS / "model-card.json").read_text())
    card["artifact_sha256"] = "0" * 64
    (tmp_path / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="SHA-256"):
        load_model(tmp_path / "model.skops", tmp_path / "card.json")


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nope.skops", MODELS / "model-card.json")
