"""Lab 01's model artifact as every checker loads it: skops, one trusted type,
input in the card's feature order. Heavy imports stay inside the functions."""

from pathlib import Path

TRUSTED = ["sklearn.tree._tree.Tree"]
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def load(path: Path):
    import skops.io as sio

    return sio.load(path, trusted=TRUSTED)


def predict(model, rows: list[dict[str, float]]) -> list[float]:
    import pandas as pd

    return [float(value) for value in model.predict(pd.DataFrame(rows, columns=FEATURES))]
