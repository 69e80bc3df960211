"""Catching up and starting again: copy a lab's solution in, or restore its starter,
always after backing up the learner's work to .workshop/backups/."""

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from checker.command import ui
from checker.command.course import REPO, Lab, ManifestError
from checker.command.folders import display
from checker.command.progress import STATE

BACKUPS = STATE / "backups"
IGNORED = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".ruff_cache"
)


def backup(lab: Lab) -> Path | None:
    tree = lab.tree_path
    if tree is None or not tree.exists():
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target, n = BACKUPS / f"{lab.slug}-{stamp}", 1
    while target.exists():  # two backups within one second
        n += 1
        target = BACKUPS / f"{lab.slug}-{stamp}-{n}"
    shutil.copytree(tree, target, ignore=IGNORED)
    return target


def editable(lab: Lab) -> Lab:
    if not lab.tree:
        raise ManifestError(f"lab {lab.code} has no files to edit")
    if not lab.ready:
        raise ManifestError(f"lab {lab.code} is not available yet")
    return lab


def solution(lab: Lab) -> int:
    lab = editable(lab)
    saved = backup(lab)
    shutil.copytree(lab.solution_path, lab.tree_path, dirs_exist_ok=True, ignore=IGNORED)
    ui.say(f"{ui.PASS} copied the reference solution of lab {lab.code} into {lab.tree}")
    if saved:
        ui.say(f"  your previous work is saved in {display(saved)}")
    return 0


def reset(lab: Lab) -> int:
    lab = editable(lab)
    if shutil.which("git") is None or not (REPO / ".git").exists():
        ui.say(f"{ui.FAIL} reset restores the starter from git, and this folder is not a git clone")
        return 2
    saved = backup(lab)
    restore = ["git", "-C", str(REPO), "checkout", "HEAD", "--", lab.tree]
    clean = ["git", "-C", str(REPO), "clean", "-fdq", "--", lab.tree]
    for command in (restore, clean):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            ui.say(f"{ui.FAIL} {' '.join(command)} failed: {done.stderr.strip()}")
            return 2
    ui.say(f"{ui.PASS} lab {lab.code} is back to its starter in {lab.tree}")
    if saved:
        ui.say(f"  your previous work is saved in {display(saved)}")
    return 0
