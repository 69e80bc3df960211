"""Labs 02 and 09's reference: what the learner's saved model predicts for rows of
the diabetes data, the figures the service's answers are compared with.

Run as a fork of the fork server (checker.forkserver), which has scikit-learn
imported already, so the checker itself need not import it:
    python -m checker.reference ARTIFACT OUT.json [FIRST]
Lab 02's rows are every 22nd patient; with FIRST, the first FIRST patients.
It writes {"rows": [...], "predictions": [...]}, or {"rows": [...], "error": "<type>"}
when the artifact cannot be loaded."""

import json
import sys
from pathlib import Path


def rows(first: int | None = None) -> list[dict[str, float]]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True).data
    picked = data.head(first) if first else data.iloc[::22]
    return [{k: float(v) for k, v in row.items()} for row in picked.to_dict("records")]


def main(artifact_path: str, out: str, first: str = "") -> int:
    from checker import artifact

    found: dict = {"rows": rows(int(first) if first else None)}
    try:
        model = artifact.load(Path(artifact_path))
    except Exception as exc:  # skops raises several kinds for a broken file
        found["error"] = type(exc).__name__
    else:
        found["predictions"] = artifact.predict(model, found["rows"])
    Path(out).write_text(json.dumps(found), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
