"""Lab 09 (the fast predictor): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import DELETE, PRECONDITION, Mistake

GRAPH_SHA256 = "562a9ebc767a02cb6cd5414634f345fd685543cfb211192a7b3b0583431495d6"

MISTAKES = [
    Mistake(9, "batch-answers-the-first-row", "app/main.py",
            "values = model.predict([row.model_dump() for row in batch.rows])",
            "values = model.predict([batch.rows[0].model_dump()])", "predictions_equal",
            says="predictions, one per row",
            hint="predict every row of the batch (model.predict on all of them), "
            "not only the first"),
    Mistake(
        9,
        "features-out-of-order",
        "app/model.py",
        "[[row[name] for name in names] for row in rows]",
        "[[row[name] for name in reversed(names)] for row in rows]",
        "predictions_equal",
    ),
    Mistake(
        9,
        "half-precision",
        "app/model.py",
        "dtype=np.float32)",
        "dtype=np.float16)",
        "predictions_equal",
    ),
    Mistake(
        9,
        "scikit-learn-still-serves",
        "app/model.py",
        "return self.compiled.predict(matrix).tolist()",
        "return [float(v) for v in self.estimator.predict(matrix)]",
        "throughput",
    ),
    Mistake(
        9,
        "graph-never-compiled",
        "models/diabetes-rf.onnx",
        DELETE,
        "",
        "graph_on_card",
        says="models/diabetes-rf.onnx does not exist",
        hint="run python -m app.compile in your folder",
    ),
    Mistake(
        9,
        "graph-changed-after-compile",
        "models/model-card.json",
        f'"artifact_sha256": "{GRAPH_SHA256}"',
        '"artifact_sha256": "' + "0" * 64 + '"',
        "graph_on_card",
        hint="the graph changed after it was compiled",
    ),
    Mistake(
        9,
        "graph-hash-unchecked",
        "app/model.py",
        "    actual = hashlib.sha256(graph).hexdigest()",
        '    actual = entry["artifact_sha256"]  # the file is ours',
        "graph_checked",
        hint="load_model loads the graph without checking it",
    ),
    Mistake(
        9,
        "converts-at-start-up",
        "app/model.py",
        "    graph = read_graph(card, card_path)",
        "    from app.predictor import convert\n\n"
        '    graph = convert(estimator, len(card["feature_names"]))',
        "graph_checked",
        hint="load_model serves without the graph file",
    ),
]  # fmt: skip

UNSEEDED = {
    "service_starts": PRECONDITION,
    "load_tool": "reads the machine (wrk on PATH), not the folder: CI installs wrk",
    "tail_latency": "sklearn-still-serving fails throughput and tail_latency together",
}
