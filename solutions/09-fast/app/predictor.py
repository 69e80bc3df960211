"""The forest compiled for serving: converted to ONNX once, at training time
(python -m app.compile), hashed into the model card, then run by ONNX Runtime on
one thread. The service loads that graph and never converts: what serves is an
artifact that was checked and hashed, like the forest itself.

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
# conversion, at start-up and in the tests.
RELATIVE_TOLERANCE = 1e-4
# Checked at start-up: seeded random rows over the features' range, plus zeros.
SELF_CHECK_ROWS = 256
# The ONNX opsets the graph is written for: ai.onnx.ml 3 holds the tree ensembles.
OPSETS = {"": 17, "ai.onnx.ml": 3}


class CompiledForestError(Exception):
    """The compiled forest cannot be built, or disagrees with scikit-learn."""


def convert(estimator: Any, n_features: int) -> bytes:
    """The fitted forest as a serialized ONNX graph (at training time only: the
    converter is not in the service's image)."""
    from skl2onnx import to_onnx

    sample = np.zeros((1, n_features), dtype=np.float32)
    try:
        return to_onnx(estimator, sample, target_opset=OPSETS).SerializeToString()
    except Exception as exc:  # skl2onnx raises many kinds for an unsupported model
        raise CompiledForestError(f"the model cannot be converted to ONNX: {exc}") from exc


class CompiledForest:
    def __init__(self, graph: bytes, n_features: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One pod, one core: extra threads would only contend with the event loop.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                graph, options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own kinds for a bad graph
            raise CompiledForestError(f"ONNX Runtime cannot load the graph: {exc}") from exc
        inputs = self._session.get_inputs()
        width = inputs[0].shape[-1] if len(inputs) == 1 else None
        if width != n_features:
            raise CompiledForestError(
                f"the graph takes {len(inputs)} input(s) of width {width}, "
                f"the card names {n_features} features"
            )
        self._input = inputs[0].name
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


def self_check_rows(n_features: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).uniform(-0.2, 0.2, size=(SELF_CHECK_ROWS, n_features))
    return np.vstack([np.zeros((1, n_features)), rows])


def compile_forest(estimator: Any, graph: bytes, n_features: int) -> CompiledForest:
    """The graph, loaded, once it has been shown to agree with scikit-learn."""
    forest = CompiledForest(graph, n_features)
    error = forest.largest_relative_error(estimator, self_check_rows(n_features))
    if error > RELATIVE_TOLERANCE:
        raise CompiledForestError(
            f"the compiled forest differs from scikit-learn by {error:.1e} (relative),"
            f" more than {RELATIVE_TOLERANCE:.0e}"
        )
    return forest
