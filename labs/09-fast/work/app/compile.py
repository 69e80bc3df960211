"""Compile the forest at training time: python -m app.compile [MODELS_DIR]

Converts the forest the card describes to ONNX, checks that the graph agrees with
scikit-learn on every patient of the data set and on seeded random rows, then
writes the graph beside the forest and its SHA-256 into the card's "compiled"
section. The service loads only a graph whose hash is on the card.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import skops.io as sio

from app.card import ModelLoadError, read_card, require_width
from app.model import TRUSTED_TYPES, sha256_of
from app.predictor import (
    OPSETS,
    RELATIVE_TOLERANCE,
    CompiledForest,
    CompiledForestError,
    convert,
    self_check_rows,
)

GRAPH_SUFFIX = ".onnx"


def write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)


def compile_models(models: Path) -> dict:
    card_path = models / "model-card.json"
    card = read_card(card_path)
    forest_path = models / card.get("artifact", "diabetes-rf.skops")
    if sha256_of(forest_path) != card["artifact_sha256"]:
        raise ModelLoadError(f"{forest_path} is not the forest its card describes (SHA-256)")
    estimator = sio.load(forest_path, trusted=TRUSTED_TYPES)
    require_width(estimator, card)
    width = len(card["feature_names"])

    graph = convert(estimator, width)
    from sklearn.datasets import load_diabetes

    patients = load_diabetes(as_frame=True).data[card["feature_names"]].to_numpy()
    compiled = CompiledForest(graph, width)
    error = max(
        compiled.largest_relative_error(estimator, patients),
        compiled.largest_relative_error(estimator, self_check_rows(width)),
    )
    if error > RELATIVE_TOLERANCE:
        raise CompiledForestError(
            f"the graph differs from scikit-learn by {error:.1e},"
            f" more than {RELATIVE_TOLERANCE:.0e}"
        )

    import onnxruntime
    import skl2onnx

    graph_path = forest_path.with_suffix(GRAPH_SUFFIX)
    write_atomically(graph_path, graph)
    card["compiled"] = {
        "artifact": graph_path.name,
        "artifact_sha256": hashlib.sha256(graph).hexdigest(),
        "format": "onnx",
        "opsets": {domain or "ai.onnx": version for domain, version in OPSETS.items()},
        "converter": f"skl2onnx {skl2onnx.__version__}",
        "runtime": f"onnxruntime {onnxruntime.__version__}",
        "largest_relative_error": float(f"{error:.2e}"),
    }
    write_atomically(card_path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return card["compiled"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="?", default="models", type=Path)
    args = parser.parse_args(argv)
    try:
        entry = compile_models(args.models)
    except (ModelLoadError, CompiledForestError, OSError) as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    error = entry["largest_relative_error"]
    print(f"✓ {args.models / entry['artifact']}: SHA-256 {entry['artifact_sha256'][:12]}…, "
          f"largest relative difference from scikit-learn {error:.1e}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
