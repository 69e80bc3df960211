"""Which folder a lab's checker judges, and how a path is shown to the learner."""

from pathlib import Path

from checker.command.course import REPO, Lab


def resolve_lab_dir(lab: Lab, given: str | None) -> Path | None:
    if not lab.tree:
        return None
    path = Path(given).expanduser() if given else lab.tree_path
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def own_tree(lab: Lab, lab_dir: Path | None) -> bool:
    """The learner's own folder (not a solution, nor another learner's)."""
    return lab_dir is None or lab_dir == lab.tree_path
