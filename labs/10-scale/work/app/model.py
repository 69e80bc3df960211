"""Loading the model artifact safely, and predicting with it."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio

from app.card import ModelLoadError, read_card, require_width
from app.predictor import CompiledForest, CompiledForestError, compile_forest

# The only non-default type a RandomForestRegressor needs. Anything else in the
# file is refused: skops then never builds an object we did not expect.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    card: dict[str, Any]
    # What serves predictions; the scikit-learn estimator stays for reference.
    compiled: CompiledForest

    @property
    def name(self) -> str:
        return self.card["name"]

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def feature_names(self) -> list[str]:
        return self.card["feature_names"]

    def predict(self, rows: list[dict[str, float]]) -> list[float]:
        names = self.feature_names
        matrix = np.array([[row[name] for name in names] for row in rows], dtype=np.float32)
        # tolist() turns numpy scalars into plain floats that JSON can carry.
        return self.compiled.predict(matrix).tolist()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model(model_path: Path, card_path: Path) -> LoadedModel:
    if not card_path.is_file():
        raise ModelLoadError(f"model card not found at {card_path}")
    if not model_path.is_file():
        raise ModelLoadError(f"model artifact not found at {model_path}")
    card = read_card(card_path)

    actual = sha256_of(model_path)
    if actual != card["artifact_sha256"]:
        raise ModelLoadError(
            f"artifact {model_path} has SHA-256 {actual[:12]}…, "
            f"the card expects {card['artifact_sha256'][:12]}…"
        )
    try:
        untrusted = set(sio.get_untrusted_types(file=model_path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ModelLoadError(f"artifact holds untrusted types: {sorted(untrusted)}")
        estimator = sio.load(model_path, trusted=TRUSTED_TYPES)
    except ModelLoadError:
        raise
    except Exception as exc:  # skops raises many kinds for a corrupt file
        raise ModelLoadError(f"artifact {model_path} could not be loaded: {exc}") from exc

    expected = list(getattr(estimator, "feature_names_in_", card["feature_names"]))
    if expected != card["feature_names"]:
        raise ModelLoadError(f"card features {card['feature_names']} != model's {expected}")
    require_width(estimator, card)
    try:
        compiled = compile_forest(estimator, len(card["feature_names"]))
    except CompiledForestError as exc:
        raise ModelLoadError(str(exc)) from exc
    except Exception as exc:  # the converter raises many kinds: not ready, never a crash
        raise ModelLoadError(f"the forest could not be compiled: {exc}") from exc
    return LoadedModel(estimator=estimator, card=card, compiled=compiled)
