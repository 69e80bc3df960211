"""The forest compiled for serving: converted to ONNX once at start-up, then run by
ONNX Runtime on one thread.

Measured on the workshop's laptop-class machine: scikit-learn spends about 1.5 ms
on any predict call, one row or thirty-two (input checks, per-tree dispatch);
ONNX Runtime walks the same 100 trees in about 6 µs for one row. The model call
stops being the bottleneck, so no request has to wait to be batched with others.
"""

from typing import Any

import numpy as np

# Both walk the trees on float32 features (scikit-learn casts X to float32 too);
# the graph keeps thresholds, leaf values and their sum in float32 where
# scikit-learn keeps float64. The two agree to this relative tolerance, checked at
# start-up and in the tests.
RELATIVE_TOLERANCE = 1e-4
# Checked at start-up: seeded random rows over the features' range, plus zeros.
SELF_CHECK_ROWS = 256


class CompiledForestError(Exception):
    """The compiled forest cannot be built, or disagrees with scikit-learn."""


class CompiledForest:
    def __init__(self, estimator: Any, n_features: int) -> None:
        import onnxruntime
        from skl2onnx import to_onnx

        sample = np.zeros((1, n_features), dtype=np.float32)
        try:
            onnx_model = to_onnx(estimator, sample, target_opset={"": 17, "ai.onnx.ml": 3})
        except Exception as exc:  # skl2onnx raises many kinds for an unsupported model
            raise CompiledForestError(f"the model cannot be converted to ONNX: {exc}") from exc
        options = onnxruntime.SessionOptions()
        # One pod, one core: extra threads would only contend with the event loop.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            onnx_model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self.n_features = n_features

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Predictions for a (rows, features) array, as float64."""
        feed = {self._input: np.asarray(matrix, dtype=np.float32).reshape(-1, self.n_features)}
        return self._session.run(None, feed)[0].ravel().astype(np.float64)

    def largest_relative_error(self, estimator: Any, matrix: np.ndarray) -> float:
        import warnings

        with warnings.catch_warnings():
            # The forest was fitted on a DataFrame; a plain array is fine here.
            warnings.simplefilter("ignore", UserWarning)
            expected = estimator.predict(matrix)
        got = self.predict(matrix)
        return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-12)))


def compile_forest(estimator: Any, n_features: int, seed: int = 0) -> CompiledForest:
    """A CompiledForest that has been shown to agree with scikit-learn."""
    forest = CompiledForest(estimator, n_features)
    rows = np.random.default_rng(seed).uniform(-0.2, 0.2, size=(SELF_CHECK_ROWS, n_features))
    rows = np.vstack([np.zeros((1, n_features)), rows])
    error = forest.largest_relative_error(estimator, rows)
    if error > RELATIVE_TOLERANCE:
        raise CompiledForestError(
            f"the compiled forest differs from scikit-learn by {error:.1e} (relative),"
            f" more than {RELATIVE_TOLERANCE:.0e}"
        )
    return forest
