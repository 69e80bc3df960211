"""The learner's progress store: .workshop/progress.json, one entry per lab."""

import json
from datetime import datetime

from checker.command import ui
from checker.command.course import REPO, Lab, load

STATE = REPO / ".workshop"
PROGRESS = STATE / "progress.json"
STATUS = {0: "passed", 1: "failed"}


def read() -> dict:
    try:
        return json.loads(PROGRESS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def record(lab: Lab, code: int, counts: dict[str, int] | None = None) -> None:
    state = read()
    # Exit 2 with every check run and some failed (lab 00: a missing tool) is a
    # failure to fix, not a run that could not happen.
    ran_all = counts is not None and counts.get("failed") and not counts.get("not-run")
    unjudged = counts is not None and counts.get("could-not-judge") and not counts.get("failed")
    fallback = "failed" if ran_all else "could not judge" if unjudged else "could not run"
    state[lab.code] = {
        "status": STATUS.get(code, fallback),
        "at": datetime.now().isoformat(timespec="seconds"),
    }
    STATE.mkdir(exist_ok=True)
    PROGRESS.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def show() -> int:
    state = read()
    ui.say(f"{'lab':<5}{'title':<42}{'status':<16}last run")
    for lab in load():
        entry = state.get(lab.code, {})
        status = entry.get("status", "not tried" if lab.ready else "coming soon")
        colour = {"passed": "green", "failed": "red"}.get(status, "dim")
        ui.say(
            f"{lab.code:<5}{lab.title:<42}{ui.paint(f'{status:<16}', colour)}{entry.get('at', '')}"
        )
    return 0
