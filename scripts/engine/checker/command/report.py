"""The report's data model: one Result per check, the counts and the exit code.
Writers (terminal, JSON) live in checker.command.writers; pytest's side in checker.plugin."""

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from checker.command.course import Lab

# Bumped when a field of the results JSON changes meaning or goes away.
SCHEMA_VERSION = 1


@dataclass
class Result:
    id: str
    title: str
    status: str  # passed | failed | not-run | could-not-judge
    message: str = ""
    found: str = ""
    expected: str = ""
    hint: str = ""
    step: str = ""
    duration_s: float = 0.0
    blocks_exit: bool = False  # this outcome means "could not run" (exit 2)


@dataclass
class Report:
    lab: Lab
    lab_dir: Path | None
    results: dict[str, Result] = field(default_factory=dict)
    collect_errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "not-run": 0, "could-not-judge": 0}
        for r in self.results.values():
            counts[r.status] += 1
        return counts

    def exit_code(self) -> int:
        """0 all passed, 1 something to fix, 2 could not run everything."""
        if self.collect_errors or not self.results:
            return 2
        if any(r.blocks_exit for r in self.results.values()):
            return 2
        if any(r.status == "failed" for r in self.results.values()):
            return 1
        return 0

    def as_dict(self, code: int) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "lab": self.lab.number,
            "slug": self.lab.slug,
            "lab_dir": str(self.lab_dir) if self.lab_dir else None,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "exit_code": code,
            "duration_s": round(time.monotonic() - self.started, 2),
            "counts": self.counts(),
            "checks": [asdict(r) for r in self.results.values()],
        }
