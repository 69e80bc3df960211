"""The forest compiled for serving: converted to ONNX once at start-up, then run by
ONNX Runtime on one thread. README → Step 3.
"""

from typing import Any

import numpy as np

# ONNX Runtime computes in float32, scikit-learn in float64: the two must agree
# to this relative tolerance, checked at start-up and in the tests.
RELATIVE_TOLERANCE = 1e-4
SELF_CHECK_ROWS = 256


class CompiledForestError(Exception):
    """The compiled forest cannot be built, or disagrees with scikit-learn."""


class CompiledForest:
    def __init__(self, estimator: Any, n_features: int) -> None:
        # TODO(lab09): convert the estimator with skl2onnx.to_onnx (a float32 sample
        # of shape (1, n_features)), and open an onnxruntime.InferenceSession on it
        # with one intra-op and one inter-op thread.
        self.n_features = n_features

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predictions for a (rows, features) array, as float64."""
        # TODO(lab09): run the session on the matrix as float32; return a flat array.
        raise NotImplementedError

    def largest_relative_error(self, estimator: Any, matrix: np.ndarray) -> float:
        expected = estimator.predict(matrix)
        got = self.predict(matrix)
        return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-12)))


def compile_forest(estimator: Any, n_features: int, seed: int = 0) -> CompiledForest:
    """A CompiledForest that has been shown to agree with scikit-learn."""
    # TODO(lab09): build it, compare it with the estimator on SELF_CHECK_ROWS seeded
    # random rows, and raise CompiledForestError above RELATIVE_TOLERANCE.
    return CompiledForest(estimator, n_features)
