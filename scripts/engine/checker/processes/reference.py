"""Labs 02 and 09's reference: what the learner's saved model predicts for rows of
the diabetes data, the figures the service's answers are compared with.

Run as a fork of the fork server (checker.processes.forkserver), which has scikit-learn
imported already, so the checker itself need not import it:
    python -m checker.processes.reference ARTIFACT OUT.json [FIRST]
Lab 02's rows are every 22nd patient; with FIRST, the first FIRST patients.
It writes {"rows": [...], "predictions": [...]}, or {"rows": [...], "error": "<type>"}
when the artifact cannot be loaded."""

import concurrent.futures
import contextlib
import json
import sys
from pathlib import Path


def rows(first: int | None = None) -> list[dict[str, float]]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True).data
    picked = data.head(first) if first else data.iloc[::22]
    return [{k: float(v) for k, v in row.items()} for row in picked.to_dict("records")]


def compute(artifact_path: Path, first: int | None = None) -> dict:
    """{"rows", "predictions"}, or {"rows", "error": "<type>"} for an unloadable artifact."""
    from checker.processes import artifact

    found: dict = {"rows": rows(first)}
    try:
        model = artifact.load(Path(artifact_path))
    except Exception as exc:  # skops raises several kinds for a broken file
        found["error"] = type(exc).__name__
    else:
        found["predictions"] = artifact.predict(model, found["rows"])
    return found


def forked(forks, cwd: Path, artifact_path: Path, out: Path, first: int | None = None):
    """This module run as a fork of forks (a forkserver.ForkServer), asked for in a
    thread: a fork waits for the fork server's imports, and the run goes on meanwhile.
    A Future of (procs.Server, out)."""
    from checker.processes import procs

    command = [sys.executable, "-m", "checker.processes.reference", str(artifact_path), str(out)]
    command += [str(first)] if first else []

    def fork():
        return procs.Server(command, cwd, {}, port=0, forks=forks).start(), out

    return concurrent.futures.ThreadPoolExecutor(1).submit(fork)


def result(job, artifact_path: Path, first: int | None = None, timeout: float = 120) -> dict:
    """What the fork (job, from forked) wrote; computed here without a fork, or when it
    failed."""
    if job is not None:
        server, out = job.result()
        if server.finish(timeout) == 0:
            with contextlib.suppress(OSError, ValueError):
                found = json.loads(Path(out).read_text(encoding="utf-8"))
                if "predictions" in found or "error" in found:
                    return found
    return compute(artifact_path, first)


def main(artifact_path: str, out: str, first: str = "") -> int:
    found = compute(Path(artifact_path), int(first) if first else None)
    Path(out).write_text(json.dumps(found), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
