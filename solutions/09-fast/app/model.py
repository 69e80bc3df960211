"""Loading the model artifact safely, and predicting with it."""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio

from app.card import ModelLoadError, read_card, require_width
from app.predictor import CompiledForest, CompiledForestError, compile_forest

SHA256_HEX = 64

# The only non-default type a RandomForestRegressor needs. Anything else in the
# file is refused: skops then never builds an object we did not expect.
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    card: dict[str, Any]
    # What serves predictions: the graph converted at training time (python -m
    # app.compile); the scikit-learn estimator stays to check it at start-up.
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


def compiled_entry(card: dict[str, Any], card_path: Path) -> dict[str, str]:
    """The card's "compiled" section: the graph's file name and its SHA-256."""
    entry = card.get("compiled")
    if not isinstance(entry, dict):
        raise ModelLoadError(
            f"model card {card_path} has no 'compiled' section: run python -m app.compile"
        )
    for key in ("artifact", "artifact_sha256"):
        if not isinstance(entry.get(key), str):
            raise ModelLoadError(f"model card {card_path}: 'compiled.{key}' must be a string")
    if (
        len(entry["artifact_sha256"]) != SHA256_HEX
        or Path(entry["artifact"]).name != entry["artifact"]
    ):
        raise ModelLoadError(
            f"model card {card_path}: 'compiled' must name a file beside the card and its SHA-256"
        )
    return entry


def read_graph(card: dict[str, Any], card_path: Path) -> bytes:
    """The compiled graph, refused unless its SHA-256 is the one on the card."""
    entry = compiled_entry(card, card_path)
    graph_path = card_path.parent / entry["artifact"]
    try:
        graph = graph_path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(
            f"compiled graph {graph_path} cannot be read ({exc.strerror}):"
            " run python -m app.compile"
        ) from exc
    actual = hashlib.sha256(graph).hexdigest()
    if actual != entry["artifact_sha256"]:
        raise ModelLoadError(
            f"compiled graph {graph_path} has SHA-256 {actual[:12]}…, "
            f"the card expects {entry['artifact_sha256'][:12]}…"
        )
    return graph


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
    graph = read_graph(card, card_path)
    try:
        compiled = compile_forest(estimator, graph, len(card["feature_names"]))
    except CompiledForestError as exc:
        raise ModelLoadError(str(exc)) from exc
    except Exception as exc:  # the runtime raises many kinds: not ready, never a crash
        raise ModelLoadError(f"the compiled forest could not be loaded: {exc}") from exc
    return LoadedModel(estimator=estimator, card=card, compiled=compiled)
