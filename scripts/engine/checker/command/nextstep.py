"""What the learner does next, said after the summary line of a run."""

from checker.command import ui
from checker.command.course import Lab, load


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
    if counts.get("could-not-judge", 0) and not counts.get("failed", 0):
        return ui.paint(
            "Nothing failed, but the machine was too busy to judge the ? lines: run "
            f"make check-lab {lab.number} again when it is quieter.",
            "yellow",
        )
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
