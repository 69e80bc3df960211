"""Lab 01 (the notebook): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

NB = "train.ipynb"

CREATED_AT_HINT = (
    "created_at = datetime.now(UTC).isoformat(): a time without an offset is ambiguous"
)

HASH_HINT = (
    "the model is trained right: hash only the training split, "
    "X_train.to_numpy().tobytes() + y_train.to_numpy().tobytes()"
)

MISTAKES = [
    Mistake(1, "card-metrics-of-the-linear-model", NB, 'scores.loc["random forest"]',
            'scores.loc["linear"]', "card_metrics", says="the saved forest's on the hold-out set"),
    Mistake(1, "created-at-without-offset", NB, "datetime.now(UTC).isoformat(",
            "datetime.now().isoformat(", "card_fields", says="has no UTC offset",
            hint=CREATED_AT_HINT),
    Mistake(
        1,
        "smart-quotes-in-notebook",
        NB,
        'MODEL_DIR = Path("models")',
        "MODEL_DIR = Path(\u201cmodels\u201d)",
        "notebook_runs",
    ),
    Mistake(
        1,
        "pickle-instead-of-skops",
        NB,
        "sio.dump(forest, artifact)",
        "import pickle\nartifact.write_bytes(pickle.dumps(forest))",
        "safe_load",
    ),
    Mistake(
        1,
        "trained-on-all-rows",
        NB,
        "forest.fit(X_train, y_train)",
        "forest.fit(X, y)",
        "training_split",
    ),
    Mistake(1, "training-hash-over-all-rows", NB,
            "training_bytes = X_train.to_numpy().tobytes() + y_train.to_numpy().tobytes()",
            "training_bytes = X.to_numpy().tobytes() + y.to_numpy().tobytes()", "training_split",
            says="is the hash of all 442 rows (X and y)", hint=HASH_HINT),
    Mistake(1, "forest-left-as-todo", NB,
            'forest.fit(X_train, y_train)\nresults.append(evaluate("random forest", forest))',
            "# TODO(lab01): fit the forest on the training split\nforest = None",
            "notebook_runs", says="code cell 6 above it still has its TODO(lab01)",
            hint="finish the TODO(lab01) in code cell 6 first: the cells below it use what it"
            " leaves unset"),
    Mistake(
        1,
        "features-sorted-in-card",
        NB,
        '"feature_names": list(X.columns)',
        '"feature_names": sorted(X.columns)',
        "feature_order",
    ),
    Mistake(
        1,
        "hash-of-nothing",
        NB,
        '"artifact_sha256": sha256_of(artifact)',
        '"artifact_sha256": hashlib.sha256(b"").hexdigest()',
        "artifact_hash",
    ),
    Mistake(
        1,
        "card-without-training-hash",
        NB,
        '"training_data_sha256": hashlib.sha256(training_bytes).hexdigest(),',
        "",
        "card_fields",
    ),
    Mistake(
        1,
        "a-stump-not-a-forest",
        NB,
        "n_estimators=100, min_samples_leaf=5",
        "n_estimators=1, max_depth=1",
        "beats_baseline",
    ),
]  # fmt: skip

UNSEEDED = {
    "notebook_valid": PRECONDITION,
    "artifact_saved": "needs the notebook to run without writing the files: every run of the "
    "starter shows it (test_starter_fails_with_hints)",
}
