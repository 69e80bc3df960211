"""Lab 01's harness: what its checks and fixtures share."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from checker import Needs

NOTEBOOK = "train.ipynb"
ARTIFACT = Path("models/diabetes-rf.skops")
CARD = Path("models/model-card.json")
CARD_KEYS = ["name", "version", "created_at", "libraries", "feature_names", "metrics",
             "training_data_sha256", "artifact_sha256"]  # fmt: skip
METRIC_KEYS = ["test_r2", "test_mae", "test_rmse", "baseline_r2"]
TEST_SIZE, RANDOM_STATE = 0.2, 42
# The forest must beat the mean predictor (R² ≈ 0) by this much on the hold-out set.
R2_MARGIN = 0.30
# No honest model reaches this on the diabetes hold-out set (the forest scores ~0.46,
# one trained on every row ~0.9): above it, the model has seen the test rows.
R2_LEAK = 0.65
CELL_TIMEOUT = 300


@dataclass
class Run:
    started: float
    error: str = ""
    failed_cell: int | None = None
    cells: int = 0
    outputs: list[str] = field(default_factory=list)


def warm_imports() -> None:
    import contextlib

    with contextlib.suppress(Exception):  # the checks import them again and report
        import sklearn.ensemble
        import sklearn.model_selection  # noqa: F401
        import skops.io  # noqa: F401
        from sklearn.datasets import load_diabetes

        load_diabetes(as_frame=True)


def code_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code"]


def written_by(run: Run, lab_dir: Path, path: Path) -> Path:
    """The file as this run wrote it; one left from an earlier run is never judged."""
    full = lab_dir / path
    if not full.is_file():
        raise Needs(f"{path}, which the notebook did not write")
    if full.stat().st_mtime < run.started - 1:
        raise Needs(f"{path} written by this run (the one there is left from an earlier run)")
    return full


def has_utc_offset(text: str) -> bool:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).utcoffset() is not None
    except ValueError:
        return False


# The card rounds its metrics to 4 decimals.
METRIC_TOLERANCE = 1e-3


def sha256_hex(*frames) -> str:
    return hashlib.sha256(b"".join(f.to_numpy().tobytes() for f in frames)).hexdigest()


def holdout_target(y_train, y_test):
    """y in the data set's own row order (what a hash over all rows would have read)."""
    import pandas as pd

    return pd.concat([y_train, y_test]).sort_index()
