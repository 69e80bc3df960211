"""Where a run's results file goes (.workshop/results)."""

import hashlib
from pathlib import Path

from checker.command.course import Lab
from checker.command.folders import own_tree
from checker.command.progress import STATE


def default_results(lab: Lab, lab_dir: Path | None, partial: bool = False) -> Path:
    """The learner's own run: labNN-latest.json. Grading another folder (LAB_DIR=)
    never overwrites it: labNN-<folder>-<hash of its path>.json; nor does a run
    ended early with --until: labNN-partial.json."""
    results = STATE / "results"
    if partial:
        return results / f"lab{lab.code}-partial.json"
    if own_tree(lab, lab_dir):
        return results / f"lab{lab.code}-latest.json"
    tag = hashlib.sha256(str(lab_dir).encode()).hexdigest()[:8]
    return results / f"lab{lab.code}-{lab_dir.name}-{tag}.json"
