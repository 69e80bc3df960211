"""The report's writers: one terminal line (and its detail) per check, and the JSON file."""

import json
from pathlib import Path

from checker.command import ui
from checker.command.report import Report, Result


def print_result(r: Result, verbose: bool) -> None:
    timing = ui.paint(f"  ({r.duration_s:.2f} s)", "dim") if verbose else ""
    if r.status == "passed":
        ui.say(f"  {ui.paint(ui.PASS, 'green')} {r.title}{timing}")
        return
    if r.status == "could-not-judge":
        ui.say(f"  {ui.paint(ui.UNJUDGED, 'yellow')} {r.title}: could not judge{timing}")
        ui.say(f"      found:    {r.found}")
        ui.say(f"      because:  {r.message}")
        if r.expected:
            ui.say(f"      expected: {r.expected}")
        ui.say(ui.paint(f"      hint: {r.hint}", "yellow"))
        return
    if r.status == "not-run":
        ui.say(f"  {ui.paint(ui.NOT_RUN, 'yellow')} {r.title}: not run: {r.message}{timing}")
        return
    ui.say(f"  {ui.paint(ui.FAIL, 'red')} {r.title}{timing}")
    for line in r.message.splitlines():
        ui.say(f"      {line}")
    if r.found:
        ui.say(f"      found:    {r.found}")
    if r.expected:
        ui.say(f"      expected: {r.expected}")
    if r.hint:
        ui.say(ui.paint(f"      hint: {r.hint} (README → {r.step})", "yellow"))


def write_json(report: Report, path: Path, code: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(code), indent=2) + "\n", encoding="utf-8")
