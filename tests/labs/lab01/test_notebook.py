"""Lab 01: the notebook trains a forest and saves a safe artifact with its card."""

import hashlib
import re

from checker import Fail, Soft, expect

import harness


def test_notebook_valid(notebook):
    """The notebook is a valid Jupyter notebook"""
    expect(any(c.cell_type == "code" for c in notebook.cells), "no code cells", "code cells")


def test_notebook_runs(run, notebook):
    """The notebook runs from top to bottom"""
    if run.error:
        first_line = ""
        if run.failed_cell:
            code = harness.code_cells(notebook)[run.failed_cell - 1]
            first_line = next((ln for ln in code.source.splitlines() if ln.strip()), "")
        where = f"code cell {run.failed_cell} of {run.cells}" if run.failed_cell else "the kernel"
        detail = run.error
        if re.search(r"U\+201[89CD]|[‘’“”]", run.error):
            detail += "  (smart quotes: type plain ' or \" instead)"
        # A cell that fails on what an unfinished cell above it left unset (forest =
        # None) is not where the work is: name the nearest cell above still marked TODO.
        cells = enumerate(harness.code_cells(notebook), start=1)
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


def test_artifact_saved(lab_dir, run):
    """Running the notebook saves the model and its card"""
    soft = Soft()
    for path in (harness.ARTIFACT, harness.CARD):
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
    missing = [key for key in harness.CARD_KEYS if key not in card]
    soft.check(not missing, f"missing keys {missing}", "all of " + ", ".join(harness.CARD_KEYS))
    version = str(card.get("version", ""))
    soft.check(
        re.fullmatch(r"\d+\.\d+\.\d+", version),
        f"version '{version}'",
        "a semantic version such as 1.0.0",
    )
    metrics = card.get("metrics", {})
    absent = [key for key in harness.METRIC_KEYS if not isinstance(metrics.get(key), int | float)]
    soft.check(not absent, f"metrics without {absent}", "metrics " + ", ".join(harness.METRIC_KEYS))
    soft.check(
        "scikit-learn" in card.get("libraries", {}),
        "no scikit-learn version in libraries",
        "libraries with the scikit-learn version",
    )
    created = str(card.get("created_at", ""))
    soft.check(
        harness.has_utc_offset(created),
        f"created_at '{created}' has no UTC offset",
        "an ISO 8601 time with its offset, such as 2026-11-27T09:30:00+00:00",
        hint="created_at = datetime.now(UTC).isoformat(): a time without an offset is ambiguous",
    )
    soft.raise_if_any()


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
            isinstance(found, int | float) and abs(found - value) <= harness.METRIC_TOLERANCE,
            f"{key} {found} in the card",
            f"{value:.4f}, the saved forest's on the hold-out set",
        )
    soft.raise_if_any()


def test_artifact_hash(lab_dir, run, card):
    """The card's SHA-256 matches the saved artifact"""
    path = harness.written_by(run, lab_dir, harness.ARTIFACT)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = str(card.get("artifact_sha256", ""))
    expect(
        actual == recorded,
        f"card says {recorded[:16] or 'nothing'}…, file is {actual[:16]}…",
        "the SHA-256 of the file as saved",
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
    wanted = harness.sha256_hex(x_train, y_train)
    found = str(card.get("training_data_sha256", ""))
    score = r2_score(y_test, model.predict(x_test))
    if score > harness.R2_LEAK:  # the model saw the test rows: the split or the fit is wrong
        raise Fail(
            f"hold-out R² {score:.2f}, too good to be true",
            f"at most {harness.R2_LEAK}: a higher score means the model saw the test rows",
        )
    if found != wanted:
        # The model was trained right: only the card's hash is wrong. Say what it hashed.
        y_all = harness.holdout_target(y_train, y_test)
        hashed = {
            harness.sha256_hex(x_all, y_all): f"all {len(x_all)} rows (X and y)",
            harness.sha256_hex(x_train): "X_train without y_train",
            harness.sha256_hex(x_test, y_test): "the test split (X_test and y_test)",
        }.get(found, "something else than the training split")
        raise Fail(
            f"training_data_sha256 {found[:16] or 'missing'}… is the hash of {hashed}",
            f"{wanted[:16]}…, the hash of X_train and y_train from the given split",
            hint="the model is trained right: hash only the training split, "
            "X_train.to_numpy().tobytes() + y_train.to_numpy().tobytes()",
        )


def test_beats_baseline(model, holdout):
    """The forest beats the mean baseline on the hold-out set"""
    import numpy as np
    from sklearn.metrics import r2_score

    _, (_, x_test, y_train, y_test) = holdout
    baseline = r2_score(y_test, np.full(len(y_test), y_train.mean()))
    score = r2_score(y_test, model.predict(x_test))
    expect(
        score >= baseline + harness.R2_MARGIN,
        f"hold-out R² {score:.3f} (baseline {baseline:.3f})",
        f"R² of at least {baseline + harness.R2_MARGIN:.3f}, "
        f"{harness.R2_MARGIN} above the mean baseline",
    )
