"""Runs one lab's checker suite under pytest with the report plugin, and says what next."""

import hashlib
import os
import time
from pathlib import Path

from checker import progress, roomreport, ui
from checker.course import REPO, Lab, load


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


def check(
    lab: Lab, given_dir: str | None, verbose: bool, json_path: str | None, until: list[str] = ()
) -> int:
    lab_dir = resolve_lab_dir(lab, given_dir)
    ui.say(ui.paint(f"Lab {lab.code} · {lab.title}", "bold"))
    if not lab.ready:
        ui.say(f"  {ui.NOT_RUN} lab {lab.code} is not available yet in this version of the course")
        return 2
    if unknown := [cid for cid in until if cid not in lab.checks]:
        ui.say(f"  {ui.FAIL} lab {lab.code} has no check {', '.join(unknown)}")
        ui.say(f"      hint: --until takes one of: {', '.join(lab.checks)}")
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
    return run_suite(lab, lab_dir, verbose=verbose, json_path=json_path, until=set(until))


def run_suite(
    lab: Lab,
    lab_dir: Path | None,
    verbose: bool,
    json_path: str | None,
    until: set[str] = frozenset(),
) -> int:
    import pytest  # only here: `make help` must work without the venv

    from checker import procs
    from checker.plugin import Reporter

    os.environ["WORKSHOP_LAB"] = str(lab.number)
    os.environ["WORKSHOP_LAB_DIR"] = str(lab_dir or "")
    reporter = Reporter(lab, lab_dir, verbose, until)
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
    partial = reporter.stopped_as_asked
    path = Path(json_path) if json_path else default_results(lab, lab_dir, partial)
    reporter.write_json(path, code)
    counts = reporter.counts()
    elapsed = time.monotonic() - reporter.started
    ui.say()
    ui.say(
        f"Lab {lab.code}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['not-run']} not run in {elapsed:.1f} s · results in {display(path)}"
    )
    if reporter.stopped_as_asked:
        # A partial run says nothing about the lab as a whole: not recorded as progress.
        ui.say(ui.paint(f"Stopped as asked (--until): {counts['not-run']} check(s) not run.",
                        "yellow"))  # fmt: skip
        return code
    ui.say(next_step(lab, code, counts))
    if own_tree(lab, lab_dir):
        progress.record(lab, code, counts)
    if own_tree(lab, lab_dir) or roomreport.asked():
        roomreport.publish(lab, path)
    return code


def own_tree(lab: Lab, lab_dir: Path | None) -> bool:
    return lab_dir is None or lab_dir == lab.tree_path


def default_results(lab: Lab, lab_dir: Path | None, partial: bool = False) -> Path:
    """The learner's own run: labNN-latest.json. Grading another folder (LAB_DIR=)
    never overwrites it: labNN-<folder>-<hash of its path>.json; nor does a run
    ended early with --until: labNN-partial.json."""
    results = progress.STATE / "results"
    if partial:
        return results / f"lab{lab.code}-partial.json"
    if own_tree(lab, lab_dir):
        return results / f"lab{lab.code}-latest.json"
    tag = hashlib.sha256(str(lab_dir).encode()).hexdigest()[:8]
    return results / f"lab{lab.code}-{lab_dir.name}-{tag}.json"


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
    if counts.get("failed", 0) and not counts.get("not-run", 0):
        # Every check ran; some found what this machine lacks (a tool, Docker).
        return ui.paint(
            "Every check ran: fix the ✗ lines above (what this machine lacks), then run it again.",
            "yellow",
        )
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
