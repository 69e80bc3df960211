"""Runs one lab's checker suite under pytest with the report plugin, and says what next."""

import time
from pathlib import Path

from checker.command import progress, ui
from checker.command.course import REPO, Lab
from checker.command.folders import display, own_tree, resolve_lab_dir
from checker.command.nextstep import next_step
from checker.command.results import default_results
from checker.room import learner


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

    from checker.command.plugin import Reporter, suite_fixtures
    from checker.processes import procs

    # The suite gets its lab, its folder and the checks this run reaches as fixtures
    # (the plugin's), straight from here.
    reporter = Reporter(lab, lab_dir, verbose, until)
    args = [
        str(lab.suite), "-s", "-p", "no:terminal", "-p", "no:cacheprovider",
        "-W", "ignore", "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"),
        "-o", "addopts=",
    ]  # fmt: skip
    with procs.cleanup_on_signals():
        pytest_code = pytest.main(args, plugins=[reporter, suite_fixtures(lab, lab_dir, reporter)])
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
        f"{counts['not-run']} not run"
        + (f", {counts['could-not-judge']} could not judge" if counts["could-not-judge"] else "")
        + f" in {elapsed:.1f} s · results in {display(path)}"
    )
    if reporter.stopped_as_asked:
        # A partial run says nothing about the lab as a whole: not recorded as progress.
        ui.say(ui.paint(f"Stopped as asked (--until): {counts['not-run']} check(s) not run.",
                        "yellow"))  # fmt: skip
        return code
    ui.say(next_step(lab, code, counts))
    if own_tree(lab, lab_dir):
        progress.record(lab, code, counts)
    if own_tree(lab, lab_dir) or learner.asked():
        learner.publish(lab, path)
    return code
