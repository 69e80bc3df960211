"""The pytest plugin: collects a lab suite's checks and classifies each outcome into
the report (checker.command.report), printing each line as it comes (checker.command.writers)."""

import time
import traceback
import types
from pathlib import Path

import pytest

from checker.command import writers
from checker.command.course import Lab
from checker.command.report import Report, Result
from checker.outcomes import Fail, Needs, NotRun, Stop, Unavailable, Unjudged


def check_id(item: pytest.Item) -> str:
    return item.originalname.removeprefix("test_")


def check_title(item: pytest.Item) -> str:
    doc = (item.function.__doc__ or "").strip().splitlines()
    return doc[0] if doc else check_id(item).replace("_", " ")


class Reporter:
    def __init__(
        self, lab: Lab, lab_dir: Path | None, verbose: bool, until: set[str] = frozenset()
    ) -> None:
        self.lab = lab
        self.verbose = verbose
        self.report = Report(lab, lab_dir)
        self.results = self.report.results
        self.collect_errors = self.report.collect_errors
        self.started = self.report.started
        self.order: list[pytest.Item] = []
        self.stop_reason = ""
        # --until: the run ends once these checks have run; what follows was not
        # asked for, so it is "not run" without turning the exit code into 2.
        self.until = set(until)
        self.stopped_as_asked = False
        # The checks this run reaches (None: all of them), known once collected.
        self.reaches: set[str] | None = None
        self._item_started: dict[str, float] = {}

    # -- collection -------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.order = list(items)
        if self.until:
            # What a suite need not start for checks that will not run (will_run).
            ids = [check_id(item) for item in items]
            last = max((ids.index(cid) for cid in self.until if cid in ids), default=len(ids))
            self.reaches = set(ids[: last + 1])

    def will_run(self, cid: str) -> bool:
        """False for a check that a run ended early (--until) will not reach: a suite
        need not start what only that check uses."""
        return self.reaches is None or cid in self.reaches

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr))

    # -- running ----------------------------------------------------------
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._item_started[nodeid] = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        # One line per check: its first failure (setup or call) or its pass.
        if check_id(item) not in self.results and (call.excinfo or call.when == "call"):
            self._record(item, call.excinfo)
        return report

    def _record(self, item: pytest.Item, excinfo: pytest.ExceptionInfo | None) -> None:
        cid = check_id(item)
        info = self.lab.checks.get(cid)
        result = Result(
            id=cid,
            title=check_title(item),
            status="passed",
            hint=info.hint if info else "",
            step=info.see if info else "",
            duration_s=round(
                time.monotonic() - self._item_started.get(item.nodeid, self.started), 3
            ),
        )
        if excinfo is not None:
            exc = excinfo.value
            result.status = "failed"
            if isinstance(exc, Fail | Stop) and exc.hint:
                result.hint, result.step = exc.hint, exc.see or result.step
            if isinstance(exc, Fail):
                result.found, result.expected, result.message = exc.found, exc.expected, exc.detail
            elif isinstance(exc, Stop):
                result.message = "\n".join(filter(None, (exc.message, exc.detail)))
                result.blocks_exit = True
                self.stop_reason = f"'{result.title}' failed"
                item.session.shouldstop = self.stop_reason
            elif isinstance(exc, Unavailable):
                result.message = f"missing: {exc.missing}\nto get it: {exc.how}"
                result.blocks_exit = True
            elif isinstance(exc, Unjudged):
                result.status, result.blocks_exit = "could-not-judge", True
                result.found, result.expected = exc.found, exc.expected
                result.message, result.hint = exc.evidence, exc.hint
            elif isinstance(exc, Needs):
                result.status, result.message = "not-run", f"needs {exc.what}"
            elif isinstance(exc, NotRun) or excinfo.errisinstance(pytest.skip.Exception):
                result.status, result.blocks_exit = "not-run", True
                result.message = getattr(exc, "reason", None) or str(exc)
            elif isinstance(exc, KeyboardInterrupt):
                return
            else:
                result.message = (
                    f"the check itself hit an unexpected {type(exc).__name__}: {exc}"
                    " (run with -v for the traceback)"
                )
            if self.verbose:
                result.message += "\n" + "".join(
                    traceback.format_exception(excinfo.type, excinfo.value, excinfo.tb)
                )
        if cid not in self.results:
            self.results[cid] = result
            writers.print_result(result, self.verbose)
        if self.until and self.until <= self.results.keys() and not item.session.shouldstop:
            self.stopped_as_asked = True
            self.stop_reason = f"stopped after {', '.join(sorted(self.until))} (--until)"
            item.session.shouldstop = self.stop_reason

    # -- the end ----------------------------------------------------------
    def finish(self) -> int:
        for item in self.order:
            cid = check_id(item)
            if cid not in self.results:
                info = self.lab.checks.get(cid)
                r = Result(
                    cid,
                    check_title(item),
                    "not-run",
                    message=f"skipped: {self.stop_reason or 'the run was stopped'}",
                    step=info.see if info else "",
                    blocks_exit=not self.stopped_as_asked,
                )
                self.results[cid] = r
                writers.print_result(r, self.verbose)
        return self.exit_code()

    def exit_code(self) -> int:
        return self.report.exit_code()

    def counts(self) -> dict[str, int]:
        return self.report.counts()

    def write_json(self, path: Path, code: int) -> None:
        writers.write_json(self.report, path, code)


def suite_fixtures(lab: Lab, lab_dir: Path | None, reporter: Reporter) -> types.ModuleType:
    """The fixtures every lab suite gets from the run itself, as a plugin: its lab (the
    manifest's entry, read once), the folder it checks, and will_run."""
    plugin = types.ModuleType("checker_suite_fixtures")

    @pytest.fixture(scope="session", name="lab")
    def lab_fixture() -> Lab:
        return lab

    @pytest.fixture(scope="session", name="lab_dir")
    def lab_dir_fixture() -> Path:
        return lab_dir if lab_dir is not None else Path()

    @pytest.fixture(scope="session", name="will_run")
    def will_run_fixture():
        return reporter.will_run

    plugin.lab, plugin.lab_dir, plugin.will_run = lab_fixture, lab_dir_fixture, will_run_fixture
    return plugin
