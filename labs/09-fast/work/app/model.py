"""Loading the model artifact safely, and predicting with it."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io as sio

from app.card import ModelLoadError, read_card, require_width

# The only non-default type a RandomForestRegressor needs. Anything else in the
# file is refused: skops then never builds an object we did not expect.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    card: dict[str, Any]

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
        # TODO(lab09): README → Step 3. Predict with the compiled forest (built in
        # load_model) from a float32 array in the card's feature order.
        frame = pd.DataFrame(rows, columns=self.feature_names)
        # float() turns numpy scalars into plain floats that JSON can carry.
        return [float(value) for value in self.estimator.predict(frame)]


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
    # TODO(lab09): README → Step 3. Read the graph that the card's "compiled" section
    # names (python -m app.compile wrote it), refuse it (ModelLoadError) unless its
    # SHA-256 is the card's, and build the checked CompiledForest from it.
    return LoadedModel(estimator=estimator, card=card)
