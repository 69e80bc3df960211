"""The model card as the service reads it: each field it relies on of the right
type, and the model's width against the card's feature names. Anything else is a
ModelLoadError (not ready), never a crash at start-up."""

import json
from pathlib import Path
from typing import Any


class ModelLoadError(Exception):
    """The artifact is missing, tampered with, or does not match its card."""


def read_card(card_path: Path) -> dict[str, Any]:
    """The card, with each field the service relies on of the right type: a card of
    the wrong shape is a ModelLoadError (not ready), never a crash at start-up."""
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"model card {card_path} is not valid JSON: {exc}") from exc
    if not isinstance(card, dict):
        raise ModelLoadError(f"model card {card_path} holds {type(card).__name__}, not an object")
    for key in ("name", "version", "artifact_sha256"):
        if not isinstance(card.get(key), str):
            raise ModelLoadError(f"model card {card_path}: '{key}' must be a string")
    names = card.get("feature_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelLoadError(f"model card {card_path}: 'feature_names' must be a list of names")
    return card


def require_width(estimator: Any, card: dict[str, Any]) -> None:
    width = getattr(estimator, "n_features_in_", None)
    if width != len(card["feature_names"]):
        raise ModelLoadError(
            f"the model takes {width} features, the card names {len(card['feature_names'])}"
        )
