"""The pytest plugin that turns a lab suite into one friendly line per check."""

import json
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checker import ui
from checker.manifest import Lab
from checker.outcomes import Fail, Needs, NotRun, Stop, Unavailable


@dataclass
class Result:
    id: str
    title: str
    status: str  # passed | failed | not-run
    message: str = ""
    found: str = ""
    expected: str = ""
    hint: str = ""
    step: str = ""
    duration_s: float = 0.0
    blocks_exit: bool = False  # this outcome means "could not run" (exit 2)


def check_id(item: pytest.Item) -> str:
    return item.originalname.removeprefix("test_")


def check_title(item: pytest.Item) -> str:
    doc = (item.function.__doc__ or "").strip().splitlines()
    return doc[0] if doc else check_id(item).replace("_", " ")


class Reporter:
    def __init__(self, lab: Lab, lab_dir: Path | None, verbose: bool) -> None:
        self.lab = lab
        self.lab_dir = lab_dir
        self.verbose = verbose
        self.results: dict[str, Result] = {}
        self.order: list[pytest.Item] = []
        self.stop_reason = ""
        self.collect_errors: list[str] = []
        self.started = time.monotonic()
        self._item_started: dict[str, float] = {}

    # -- collection -------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.order = list(items)

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
            self._print(result)

    def _print(self, r: Result) -> None:
        timing = ui.paint(f"  ({r.duration_s:.2f} s)", "dim") if self.verbose else ""
        if r.status == "passed":
            ui.say(f"  {ui.paint(ui.PASS, 'green')} {r.title}{timing}")
            return
        if r.status == "not-run":
            ui.say(f"  {ui.paint(ui.NOT_RUN, 'yellow')} {r.title}: not run: {r.message}{timing}")
            return
        ui.say(f"  {ui.paint(ui.FAIL, 'red')} {r.title}{timing}")
        if r.message:
            for line in r.message.splitlines():
                ui.say(f"      {line}")
        if r.found:
            ui.say(f"      found:    {r.found}")
        if r.expected:
            ui.say(f"      expected: {r.expected}")
        if r.hint:
            ui.say(ui.paint(f"      hint: {r.hint} (README → {r.step})", "yellow"))

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
                    blocks_exit=True,
                )
                self.results[cid] = r
                self._print(r)
        return self.exit_code()

    def exit_code(self) -> int:
        if self.collect_errors or not self.results:
            return 2
        if any(r.blocks_exit for r in self.results.values()):
            return 2
        if any(r.status == "failed" for r in self.results.values()):
            return 1
        return 0

    def counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "not-run": 0}
        for r in self.results.values():
            counts[r.status] += 1
        return counts

    def write_json(self, path: Path, code: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "lab": self.lab.number,
            "slug": self.lab.slug,
            "lab_dir": str(self.lab_dir) if self.lab_dir else None,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "exit_code": code,
            "duration_s": round(time.monotonic() - self.started, 2),
            "counts": self.counts(),
            "checks": [asdict(r) for r in self.results.values()],
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
