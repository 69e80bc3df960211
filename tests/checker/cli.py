"""Command line of the workshop: python -m checker COMMAND (the Makefile calls it)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from checker import ui
from checker.manifest import REPO, Lab, ManifestError, find, load

STATE = REPO / ".workshop"
PROGRESS = STATE / "progress.json"
BACKUPS = STATE / "backups"
IGNORED = shutil.ignore_patterns(
    "__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".ruff_cache"
)


def resolve_lab_dir(lab: Lab, given: str | None) -> Path | None:
    if not lab.tree:
        return None
    path = Path(given).expanduser() if given else lab.tree_path
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def cmd_check(args: argparse.Namespace) -> int:
    lab = find(args.lab)
    lab_dir = resolve_lab_dir(lab, args.lab_dir)
    ui.say(ui.paint(f"Lab {lab.code} · {lab.title}", "bold"))
    if not lab.ready:
        ui.say(f"  {ui.NOT_RUN} lab {lab.code} is not available yet in this version of the course")
        return 2
    if lab_dir is not None:
        ui.say(ui.paint(f"  checking {display(lab_dir)}", "dim"))
        if not lab_dir.is_dir():
            ui.say(f"  {ui.FAIL} the folder {display(lab_dir)} does not exist")
            ui.say(
                "      hint: give LAB_DIR as a path to a lab folder, e.g. LAB_DIR=solutions/"
                f"{lab.slug}"
            )
            return 2
    ui.say()
    return run_suite(lab, lab_dir, verbose=args.verbose, json_path=args.json)


def run_suite(lab: Lab, lab_dir: Path | None, verbose: bool, json_path: str | None) -> int:
    import pytest  # only here: `make help` must work without the venv

    from checker import procs
    from checker.plugin import Reporter

    os.environ["WORKSHOP_LAB"] = str(lab.number)
    os.environ["WORKSHOP_LAB_DIR"] = str(lab_dir or "")
    reporter = Reporter(lab, lab_dir, verbose)
    args = [
        str(lab.suite), "-s", "-p", "no:terminal", "-p", "no:cacheprovider",
        "-W", "ignore", "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"),
        "-o", "addopts=",
    ]  # fmt: skip
    with procs.cleanup_on_signals():
        pytest_code = pytest.main(args, plugins=[reporter])
    # pytest reports our own early stop (a missing precondition) as INTERRUPTED too.
    if pytest_code == pytest.ExitCode.INTERRUPTED and not reporter.stop_reason:
        ui.say("\n  interrupted: everything the checker started has been stopped")
        return 130
    code = reporter.finish()
    if reporter.collect_errors:
        ui.say(
            f"  {ui.FAIL} the checker for lab {lab.code} could not load (a bug in the course,"
            " not in your work): please tell your instructor"
        )
        if verbose:
            ui.say("\n".join(reporter.collect_errors))
    path = Path(json_path) if json_path else STATE / "results" / f"lab{lab.code}-latest.json"
    reporter.write_json(path, code)
    counts = reporter.counts()
    elapsed = time.monotonic() - reporter.started
    ui.say()
    ui.say(
        f"Lab {lab.code}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['not-run']} not run in {elapsed:.1f} s · results in {display(path)}"
    )
    ui.say(next_step(lab, code, counts))
    if lab_dir is None or lab_dir == lab.tree_path:
        record_progress(lab, code)
    return code


def next_step(lab: Lab, code: int, counts: dict[str, int] | None = None) -> str:
    if code == 0:
        later = [other for other in load() if other.number > lab.number and other.ready]
        tail = f" Next: lab {later[0].code}, labs/{later[0].slug}/README.md" if later else ""
        return ui.paint("All checks passed." + tail, "green")
    if code == 1:
        return ui.paint(
            f"Fix the ✗ lines above, then run make check-lab {lab.number} again "
            f"(make watch {lab.number} re-runs it on every save).",
            "red",
        )
    counts = counts or {}
    if counts.get("failed", 0) == 0 and counts.get("not-run", 0):
        # Everything that ran passed; the rest needs something this machine lacks.
        return ui.paint(
            f"Everything that could run passed; {counts['not-run']} check(s) could not run"
            " here: the – lines above say what they need.",
            "yellow",
        )
    return ui.paint(
        "The checker could not run everything: fix the first problem above, then run it again.",
        "yellow",
    )


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# -- progress ------------------------------------------------------------------
def read_progress() -> dict:
    try:
        return json.loads(PROGRESS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def record_progress(lab: Lab, code: int) -> None:
    state = read_progress()
    status = {0: "passed", 1: "failed"}.get(code, "could not run")
    state[lab.code] = {"status": status, "at": datetime.now().isoformat(timespec="seconds")}
    STATE.mkdir(exist_ok=True)
    PROGRESS.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def cmd_progress(_: argparse.Namespace) -> int:
    state = read_progress()
    ui.say(f"{'lab':<5}{'title':<42}{'status':<16}last run")
    for lab in load():
        entry = state.get(lab.code, {})
        status = entry.get("status", "not tried" if lab.ready else "coming soon")
        colour = {"passed": "green", "failed": "red"}.get(status, "dim")
        ui.say(
            f"{lab.code:<5}{lab.title:<42}{ui.paint(f'{status:<16}', colour)}{entry.get('at', '')}"
        )
    return 0


def cmd_labs(_: argparse.Namespace) -> int:
    for lab in load():
        where = f"labs/{lab.slug}" if lab.ready else "(coming soon)"
        ui.say(f"  {lab.number:>2}  {lab.title:<40} {lab.minutes:>3} min  {where}")
    return 0


# -- solution / reset --------------------------------------------------------------
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


def cmd_solution(args: argparse.Namespace) -> int:
    lab = editable(find(args.lab))
    saved = backup(lab)
    shutil.copytree(lab.solution_path, lab.tree_path, dirs_exist_ok=True, ignore=IGNORED)
    ui.say(f"{ui.PASS} copied the reference solution of lab {lab.code} into {lab.tree}")
    if saved:
        ui.say(f"  your previous work is saved in {display(saved)}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    lab = editable(find(args.lab))
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


# -- watch ---------------------------------------------------------------------------
def cmd_watch(args: argparse.Namespace) -> int:
    lab = find(args.lab)
    lab_dir = resolve_lab_dir(lab, args.lab_dir)
    command = [sys.executable, "-m", "checker", "check", str(lab.number)]
    if args.lab_dir:
        command += ["--lab-dir", args.lab_dir]

    def run() -> None:
        subprocess.run(command)
        ui.say(ui.paint("\nwaiting for a change (Ctrl-C to quit) …", "dim"))

    run()
    try:
        if lab_dir is not None and not args.manual:
            try:
                from watchfiles import watch

                for _ in watch(lab_dir, debounce=800, rust_timeout=0):
                    run()
            except (OSError, RuntimeError) as exc:
                ui.say(f"file watching failed here ({exc}); switching to manual mode")
        while True:
            input("press Enter to check again (Ctrl-C to quit) ")
            run()
    except (KeyboardInterrupt, EOFError):
        ui.say()
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    """Prints the folder that lab N's checker would check (for make image)."""
    lab_dir = resolve_lab_dir(find(args.lab), args.lab_dir)
    if lab_dir is None:
        raise ManifestError(f"lab {args.lab} has no folder of its own")
    print(lab_dir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m checker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="run a lab's checker")
    check.add_argument("lab")
    check.add_argument("--lab-dir", help="check this folder instead of the learner's tree")
    check.add_argument("--json", help="where to write the machine-readable results")
    check.add_argument("-v", "--verbose", action="store_true", help="timings and tracebacks")
    check.set_defaults(func=cmd_check)
    for name, func in (("solution", cmd_solution), ("reset", cmd_reset)):
        one = sub.add_parser(name)
        one.add_argument("lab")
        one.set_defaults(func=func)
    watch = sub.add_parser("watch", help="re-run a lab's checker on every change")
    watch.add_argument("lab")
    watch.add_argument("--lab-dir")
    watch.add_argument("--manual", action="store_true", help="press Enter instead of watching")
    watch.set_defaults(func=cmd_watch)
    tree = sub.add_parser("tree", help="print the folder of a lab")
    tree.add_argument("lab")
    tree.add_argument("--lab-dir")
    tree.set_defaults(func=cmd_tree)
    sub.add_parser("progress").set_defaults(func=cmd_progress)
    sub.add_parser("labs").set_defaults(func=cmd_labs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "lab") and not str(args.lab).strip():
        ui.say("which lab? for example: make check-lab 2")
        return 2
    try:
        return args.func(args)
    except ManifestError as exc:
        ui.say(f"{ui.FAIL} {exc}")
        return 2
    except OSError as exc:
        ui.say(f"{ui.FAIL} {exc.strerror or exc}: {exc.filename or ''}")
        return 2
    except KeyboardInterrupt:
        ui.say("\ninterrupted")
        return 130
