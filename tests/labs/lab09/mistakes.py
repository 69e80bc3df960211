"""Lab 09 (the fast predictor): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

MISTAKES = [
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
]  # fmt: skip

UNSEEDED = {
    "service_starts": PRECONDITION,
    "load_tool": "reads the machine (wrk on PATH), not the folder: CI installs wrk",
    "tail_latency": "sklearn-still-serving fails throughput and tail_latency together",
}
