"""Lab 01: the notebook trains a forest and saves a safe artifact with its card."""

import hashlib
import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checker import Fail, Needs, Soft, Stop, artifact, expect, ui
from checker.artifact import TRUSTED

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


@pytest.fixture(scope="session")
def notebook(lab_dir):
    import nbformat

    path = lab_dir / NOTEBOOK
    if not path.is_file():
        raise Stop(f"{path} does not exist")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a broken file
        raise Stop(f"{NOTEBOOK} is not a valid notebook: {exc}") from None


def warm_imports() -> None:
    import contextlib

    with contextlib.suppress(Exception):  # the checks import them again and report
        import sklearn.ensemble
        import sklearn.model_selection  # noqa: F401
        import skops.io  # noqa: F401
        from sklearn.datasets import load_diabetes

        load_diabetes(as_frame=True)


@pytest.fixture(scope="session")
def run(lab_dir, notebook) -> Run:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    result = Run(started=time.time())
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(lab_dir)}},
    )
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    result.cells = len(code_cells)
    # The checker's own imports load on the other core while the kernel works.
    threading.Thread(target=warm_imports, daemon=True).start()
    # Figures are drawn but not rendered to PNG: nothing reads them, and rendering
    # is a third of the notebook's time.
    env = {**os.environ, "MPLBACKEND": "agg"}
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env):
            for n, index in enumerate(code_cells, start=1):
                ui.status(f"running code cell {n}/{len(code_cells)}")
                try:
                    client.execute_cell(notebook.cells[index], index)
                except CellExecutionError as exc:
                    result.failed_cell = n
                    result.error = f"{exc.ename}: {exc.evalue}"
                    break
                except CellTimeoutError:
                    result.failed_cell = n
                    result.error = f"the cell ran longer than {CELL_TIMEOUT} s"
                    break
        ui.status_done()
    except DeadKernelError as exc:
        result.error = f"the Python kernel died: {exc}"
    except Exception as exc:  # no kernel at all: a broken environment, not the learner's code
        raise Stop(
            f"could not start a Jupyter kernel: {exc}", detail="run make setup, then try again"
        ) from None
    return result


def code_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_notebook_valid(notebook):
    """The notebook is a valid Jupyter notebook"""
    expect(any(c.cell_type == "code" for c in notebook.cells), "no code cells", "code cells")


def test_notebook_runs(run, notebook):
    """The notebook runs from top to bottom"""
    if run.error:
        first_line = ""
        if run.failed_cell:
            code = code_cells(notebook)[run.failed_cell - 1]
            first_line = next((ln for ln in code.source.splitlines() if ln.strip()), "")
        where = f"code cell {run.failed_cell} of {run.cells}" if run.failed_cell else "the kernel"
        detail = run.error
        if re.search(r"U\+201[89CD]|[‘’“”]", run.error):
            detail += "  (smart quotes: type plain ' or \" instead)"
        # A cell that fails on what an unfinished cell above it left unset (forest =
        # None) is not where the work is: name the nearest cell above still marked TODO.
        cells = enumerate(code_cells(notebook), start=1)
        marked = [n for n, cell in cells if "TODO(lab01)" in cell.source]
        todo = max((n for n in marked if n <= (run.failed_cell or 0)), default=None)
        if todo is not None and todo != run.failed_cell:
            raise Fail(
                f"{where} raised {detail}; code cell {todo} above it still has its TODO(lab01)",
                "every cell runs without error",
                detail=f"the cell that failed starts with: {first_line}" if first_line else "",
                hint=f"finish the TODO(lab01) in code cell {todo} first: the cells below it "
                "use what it leaves unset",
            )
        raise Fail(
            f"{where} raised {detail}",
            "every cell runs without error",
            detail=f"the cell starts with: {first_line}" if first_line else "",
        )


def written_by(run: Run, lab_dir: Path, path: Path) -> Path:
    """The file as this run wrote it; one left from an earlier run is never judged."""
    full = lab_dir / path
    if not full.is_file():
        raise Needs(f"{path}, which the notebook did not write")
    if full.stat().st_mtime < run.started - 1:
        raise Needs(f"{path} written by this run (the one there is left from an earlier run)")
    return full


@pytest.fixture(scope="session")
def card(lab_dir, run) -> dict:
    path = written_by(run, lab_dir, CARD)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise Fail(f"{CARD} is not valid JSON ({exc})", "a JSON object") from None


def test_artifact_saved(lab_dir, run):
    """Running the notebook saves the model and its card"""
    soft = Soft()
    for path in (ARTIFACT, CARD):
        full = lab_dir / path
        if soft.check(full.is_file(), f"no {path}", f"{path}, written by the notebook"):
            soft.check(
                full.stat().st_mtime >= run.started - 1,
                f"{path} is left from an earlier run",
                f"{path} written by this run",
            )
    soft.raise_if_any()


def test_card_fields(card):
    """The model card has every field the service needs"""
    soft = Soft()
    missing = [key for key in CARD_KEYS if key not in card]
    soft.check(not missing, f"missing keys {missing}", "all of " + ", ".join(CARD_KEYS))
    version = str(card.get("version", ""))
    soft.check(
        re.fullmatch(r"\d+\.\d+\.\d+", version),
        f"version '{version}'",
        "a semantic version such as 1.0.0",
    )
    metrics = card.get("metrics", {})
    absent = [key for key in METRIC_KEYS if not isinstance(metrics.get(key), int | float)]
    soft.check(not absent, f"metrics without {absent}", "metrics " + ", ".join(METRIC_KEYS))
    soft.check(
        "scikit-learn" in card.get("libraries", {}),
        "no scikit-learn version in libraries",
        "libraries with the scikit-learn version",
    )
    created = str(card.get("created_at", ""))
    soft.check(
        has_utc_offset(created),
        f"created_at '{created}' has no UTC offset",
        "an ISO 8601 time with its offset, such as 2026-11-27T09:30:00+00:00",
        hint="created_at = datetime.now(UTC).isoformat(): a time without an offset is ambiguous",
    )
    soft.raise_if_any()


def has_utc_offset(text: str) -> bool:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).utcoffset() is not None
    except ValueError:
        return False


# The card rounds its metrics to 4 decimals.
METRIC_TOLERANCE = 1e-3


def test_card_metrics(card, model, holdout):
    """The card's metrics are the saved forest's, on the hold-out set"""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    _, (_, x_test, _, y_test) = holdout
    predicted = model.predict(x_test)
    measured = {
        "test_r2": r2_score(y_test, predicted),
        "test_mae": mean_absolute_error(y_test, predicted),
        "test_rmse": root_mean_squared_error(y_test, predicted),
    }
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    soft = Soft()
    for key, value in measured.items():
        found = metrics.get(key)
        soft.check(
            isinstance(found, int | float) and abs(found - value) <= METRIC_TOLERANCE,
            f"{key} {found} in the card",
            f"{value:.4f}, the saved forest's on the hold-out set",
        )
    soft.raise_if_any()


def test_artifact_hash(lab_dir, run, card):
    """The card's SHA-256 matches the saved artifact"""
    path = written_by(run, lab_dir, ARTIFACT)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = str(card.get("artifact_sha256", ""))
    expect(
        actual == recorded,
        f"card says {recorded[:16] or 'nothing'}…, file is {actual[:16]}…",
        "the SHA-256 of the file as saved",
    )


@pytest.fixture(scope="session")
def model(lab_dir, run):
    import skops.io as sio

    path = written_by(run, lab_dir, ARTIFACT)
    try:
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED))
    except Exception:
        raise Fail(
            f"{ARTIFACT} is not a skops file (saved with pickle or joblib?)",
            "a file written by skops.io.dump",
        ) from None
    if untrusted:
        raise Fail(
            f"the artifact needs extra trusted types {untrusted}",
            f"a bare RandomForestRegressor needing only {TRUSTED}",
        )
    return artifact.load(path)


@pytest.fixture(scope="session")
def holdout():
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    data = load_diabetes(as_frame=True)
    return data.data, train_test_split(
        data.data, data.target, test_size=TEST_SIZE, random_state=RANDOM_STATE
    )


def test_safe_load(model):
    """The artifact loads through the safe path (skops, no untrusted types)"""
    from sklearn.ensemble import RandomForestRegressor

    expect(
        isinstance(model, RandomForestRegressor), type(model).__name__, "a RandomForestRegressor"
    )


def test_feature_order(card, model, holdout):
    """The card's feature order is the order the model expects"""
    features, _ = holdout
    expected = list(features.columns)
    soft = Soft()
    soft.check(
        card.get("feature_names") == expected,
        f"card feature_names {card.get('feature_names')}",
        f"{expected}",
    )
    in_model = list(getattr(model, "feature_names_in_", []))
    soft.check(
        in_model == expected,
        f"model trained on {in_model or 'unnamed columns'}",
        f"a model fitted on the DataFrame columns {expected}",
    )
    soft.raise_if_any()


def test_training_split(card, model, holdout):
    """The model was trained on the 80 % training split only"""
    from sklearn.metrics import r2_score

    x_all, (x_train, x_test, y_train, y_test) = holdout
    wanted = sha256_hex(x_train, y_train)
    found = str(card.get("training_data_sha256", ""))
    score = r2_score(y_test, model.predict(x_test))
    if score > R2_LEAK:  # the model saw the test rows: the split or the fit is wrong
        raise Fail(
            f"hold-out R² {score:.2f}, too good to be true",
            f"at most {R2_LEAK}: a higher score means the model saw the test rows",
        )
    if found != wanted:
        # The model was trained right: only the card's hash is wrong. Say what it hashed.
        y_all = holdout_target(y_train, y_test)
        hashed = {
            sha256_hex(x_all, y_all): f"all {len(x_all)} rows (X and y)",
            sha256_hex(x_train): "X_train without y_train",
            sha256_hex(x_test, y_test): "the test split (X_test and y_test)",
        }.get(found, "something else than the training split")
        raise Fail(
            f"training_data_sha256 {found[:16] or 'missing'}… is the hash of {hashed}",
            f"{wanted[:16]}…, the hash of X_train and y_train from the given split",
            hint="the model is trained right: hash only the training split, "
            "X_train.to_numpy().tobytes() + y_train.to_numpy().tobytes()",
        )


def sha256_hex(*frames) -> str:
    return hashlib.sha256(b"".join(f.to_numpy().tobytes() for f in frames)).hexdigest()


def holdout_target(y_train, y_test):
    """y in the data set's own row order (what a hash over all rows would have read)."""
    import pandas as pd

    return pd.concat([y_train, y_test]).sort_index()


def test_beats_baseline(model, holdout):
    """The forest beats the mean baseline on the hold-out set"""
    import numpy as np
    from sklearn.metrics import r2_score

    _, (_, x_test, y_train, y_test) = holdout
    baseline = r2_score(y_test, np.full(len(y_test), y_train.mean()))
    score = r2_score(y_test, model.predict(x_test))
    expect(
        score >= baseline + R2_MARGIN,
        f"hold-out R² {score:.3f} (baseline {baseline:.3f})",
        f"R² of at least {baseline + R2_MARGIN:.3f}, {R2_MARGIN} above the mean baseline",
    )
