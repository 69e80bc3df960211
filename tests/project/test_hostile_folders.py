"""Broken folders, as a grader or a hurried learner hands them over: each stops the
run with exit 2, names the file (and line), gives the hint for that cause and no
traceback, without waiting for the 45 s start-up timeout (about 2-4 s on a quiet
machine: the bound here leaves room for CI's other workers); an import that never
ends is bounded by that timeout."""

import os
import shutil
import time

import pytest

from checker.command.course import find
from checker.processes.procs import STARVED_FACTOR
from project.conftest import copy_tree, run_checker

pytestmark = pytest.mark.full
LAB = find(2)
MAIN = "app/main.py"


def prepend(path, text: str) -> None:
    path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")


def empty(tree):
    shutil.rmtree(tree)
    tree.mkdir()


def missing_module(tree):
    prepend(tree / MAIN, "import reticulating_splines\n")


def zero_byte_model(tree):
    (tree / "models" / "diabetes-rf.skops").write_bytes(b"")


def no_model(tree):
    shutil.rmtree(tree / "models")


def card_of_the_wrong_shape(tree):
    (tree / "models" / "model-card.json").write_text("42\n")


def symlink_loop(tree):
    os.symlink(tree, tree / "app" / "loop")


def not_utf8(tree):
    (tree / "app" / "notes.py").write_bytes(b"# caf\xe9 \xff\xfe\nx = 1\n")


def exits_at_import(tree):
    prepend(tree / MAIN, "import sys\nsys.exit(3)\n")


def endless_import(tree):
    prepend(tree / MAIN, "while True:\n    pass\n")


CASES = {
    # case: (break it, what the output must say, the hint it must give, seconds at most)
    "empty folder": (empty, "has no app/main.py", "point LAB_DIR at a lab 02 folder", 20),
    "missing module": (missing_module, "app/main.py, line 1: imports 'reticulating_splines'",
                       "pip install reticulating_splines", 20),
    "0-byte model": (zero_byte_model, "models/diabetes-rf.skops (0 bytes) cannot be loaded",
                     "make reset 2 restores them", 20),
    "no model": (no_model, "models/diabetes-rf.skops is missing", "make reset 2 restores", 20),
    "card of the wrong shape": (card_of_the_wrong_shape, "holds int, not a card object",
                                "make reset 2 restores", 20),
    "symlink loop": (symlink_loop, "app/loop is a symbolic link that loops back",
                     "remove the link", 20),
    "not UTF-8": (not_utf8, "app/notes.py", "save the file as UTF-8", 20),
    "sys.exit at import": (exits_at_import, "exited with code 3 while importing",
                           "sys.exit() or exit() at module level", 20),
    # Its 45 s are the server's CPU seconds: a busy machine stretches them, at most to
    # STARVED_FACTOR times as long in wall time (the start-up bound of checker.processes.procs).
    "endless loop at import": (endless_import, "did not finish within 45 s",
                               "a loop or a blocking call at module level",
                               STARVED_FACTOR * 45 + 15),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_folder_stops_with_its_cause(case, tmp_path):
    breaks, says, hint, seconds = CASES[case]
    tree = copy_tree(LAB, LAB.solution_path, tmp_path)
    breaks(tree)
    started = time.monotonic()
    run = run_checker(LAB, tree, tmp_path)
    elapsed = time.monotonic() - started
    assert run.code == 2, run.output
    assert "Traceback" not in run.output, run.output
    assert says in run.output, run.output
    hints = [line for line in run.output.splitlines() if line.strip().startswith("hint:")]
    assert any(hint in line for line in hints), run.output
    assert "smart quote" not in run.output, run.output
    assert elapsed < seconds, f"{case} took {elapsed:.1f} s"
