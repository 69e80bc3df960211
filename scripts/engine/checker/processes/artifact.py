"""Lab 01's model artifact as every checker loads it: skops, one trusted type,
input in the card's feature order. Heavy imports stay inside the functions."""

from pathlib import Path

TRUSTED = ["sklearn.tree._tree.Tree"]
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
# One patient of the diabetes data set: the request every check, load and bench sends.
PATIENT = {"age": 0.0381, "sex": 0.0507, "bmi": 0.0617, "bp": 0.0219, "s1": -0.0442,
           "s2": -0.0348, "s3": -0.0434, "s4": -0.0026, "s5": 0.0199, "s6": -0.0176}  # fmt: skip


def load(path: Path):
    import skops.io as sio

    return sio.load(path, trusted=TRUSTED)


def predict(model, rows: list[dict[str, float]]) -> list[float]:
    import pandas as pd

    return [float(value) for value in model.predict(pd.DataFrame(rows, columns=FEATURES))]
