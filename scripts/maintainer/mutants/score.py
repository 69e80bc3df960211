"""The score in the open: per lab, the mutants tried, caught, equivalent and surviving,
kept in score.json beside this file and as a table in scripts/maintainer/README.md."""

import datetime
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCORE = HERE / "score.json"
README = HERE.parent / "README.md"
BEGIN, END = "<!-- mutants:begin -->", "<!-- mutants:end -->"


def record(lab: str, row: dict) -> None:
    scores = json.loads(SCORE.read_text()) if SCORE.exists() else {}
    scores[lab] = {**row, "when": datetime.date.today().isoformat()}
    SCORE.write_text(json.dumps(dict(sorted(scores.items())), indent=2) + "\n")
    _table(scores)


def _table(scores: dict) -> None:
    lines = [BEGIN, "| lab | mutants | tried | caught | equivalent | surviving | s per mutant | "
             "run |", "|---|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for lab, row in scores.items():
        run = "all" if row["tried"] + row["equivalent"] >= row["mutants"] else (
            f"sample (seed {row['seed']})")  # fmt: skip
        lines.append(f"| {lab} | {row['mutants']} | {row['tried']} | {row['caught']} | "
                     f"{row['equivalent']} | {row['surviving']} | {row['seconds_per_mutant']} | "
                     f"{run}, {row['when']} |")  # fmt: skip
    lines.append(END)
    text = README.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < 0:
        return  # the README has no table to keep (a copy without it)
    README.write_text(text[:start] + "\n".join(lines) + text[end + len(END) :])
