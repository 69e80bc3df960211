"""Which mutants a lab gets, and which of its checks judge them."""

import documents
import python_mutants
from mutant import Mutant, numbered


def live(lab) -> bool:
    return "cluster" in lab.needs


def offline_checks(lab) -> list[str]:
    """A live lab's checks that read only its files: the run ends after them (--until)."""
    return [check for check, info in lab.checks.items() if info.offline] if live(lab) else []


def mutants_of(lab) -> list[Mutant]:
    """Its Python's, then its manifests' and configuration's. A live lab's app is judged
    on a cluster only: offline, its files are what counts."""
    python = [] if live(lab) else list(python_mutants.mutants(lab.solution_path))
    return numbered([*python, *documents.mutants(lab.solution_path)])
