"""The room board: learners × a lab's checks, from each learner's own latest run.

  board.py ROOM_FILE LAB [--out DIR] [--jobs 8] [--every SECONDS]

Each learner's `make check-lab N` judges their folder (on their laptop) and what
runs in their namespace, and keeps its results in a ConfigMap there
(checker.room.learner). The board reads those maps with the instructor's kubeconfig, a
bounded number of namespaces at a time, and asks each namespace how many of the
service's pods are ready. It does not run the checker again from here: without the
learner's folder it would judge the wrong thing.

It prints the board in the terminal and writes board.html (which reloads itself)
and board.json into DIR. --every repeats until Ctrl-C.
"""

import argparse
import concurrent.futures
import html
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from room import OUT, RoomError, read_room, run_kubectl  # its sibling: python puts its folder first

from checker.command.course import ManifestError, find
from checker.room.learner import CONFIGMAP, read_entry

MARK = {"passed": "✓", "failed": "✗", "not-run": "–", "could-not-judge": "?", None: "·"}
REFRESH_SECONDS = 15


# -- the board's data ------------------------------------------------------------------
@dataclass
class Row:
    learner: str
    namespace: str
    marks: dict[str, str | None] = field(default_factory=dict)  # check id -> status
    first_failure: str = ""  # the first failing check's title, and its hint
    hint: str = ""
    minutes_on_lab: int | None = None  # since their first run of this lab
    last_run: str = ""  # when they last ran it
    passed: bool = False
    pods: str = ""  # ready/desired pods of the service, "" when none is deployed
    error: str = ""  # why this row could not be read


@dataclass
class Board:
    room: str
    lab: int
    title: str
    checks: list[tuple[str, str]]  # (id, title), in the lab's order
    rows: list[Row]
    made_at: str


def row_of(learner: str, namespace: str, lab, now: datetime) -> Row:
    row = Row(learner, namespace)
    got = run_kubectl("-n", namespace, "get", "configmap", CONFIGMAP, "-o", "json", timeout=30)
    if got.returncode != 0 and "NotFound" not in got.stderr:
        row.error = got.stderr.strip().splitlines()[-1][:160] if got.stderr.strip() else "no answer"
        return row
    data = json.loads(got.stdout).get("data", {}) if got.returncode == 0 else {}
    results, first = read_entry(data, lab.code)
    if first:
        started = datetime.fromisoformat(first)
        row.minutes_on_lab = int((now - started).total_seconds() // 60)
    if results:
        for check in results.get("checks", []):
            row.marks[check["id"]] = check["status"]
            if check["status"] == "failed" and not row.first_failure:
                row.first_failure, row.hint = check["title"], check.get("hint", "")
        row.last_run = results.get("finished_at", "")
        row.passed = results.get("exit_code") == 0
    pods = run_kubectl("-n", namespace, "get", "deployment", "-l",
                   "app.kubernetes.io/name=diabetes-api", "-o", "json", timeout=30)  # fmt: skip
    if pods.returncode == 0:
        for item in json.loads(pods.stdout).get("items", []):
            status = item.get("status", {})
            row.pods = f"{status.get('readyReplicas', 0)}/{item['spec'].get('replicas', 0)}"
    return row


def collect(room_file: Path, number: int, jobs: int) -> Board:
    room = read_room(room_file)
    lab = find(number)
    now = datetime.now(UTC)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(row_of, learner, room.namespace(learner), lab, now)
                   for learner in room.learners]  # fmt: skip
        rows = [future.result() for future in futures]
    checks = [(check_id, info.see) for check_id, info in lab.checks.items()]
    return Board(room.name, lab.number, lab.title, checks, rows,
                 now.isoformat(timespec="seconds"))  # fmt: skip


# -- its writers: the terminal, HTML, JSON ----------------------------------------------
def status_of(row: Row) -> str:
    if row.error:
        return "unreadable"
    if row.passed:
        return "done"
    if not row.marks:
        return "not started"
    if "could-not-judge" in row.marks.values() and "failed" not in row.marks.values():
        return "could not judge"  # nothing failed: the machine was too busy for a timing check
    return "stuck" if (row.minutes_on_lab or 0) >= 20 else "working"


def terminal(board: Board) -> str:
    ids = [check_id for check_id, _ in board.checks]
    lines = [f"Room {board.room} · lab {board.lab:02d} {board.title} · {board.made_at}",
             f"{'learner':14} {'min':>4} {'pods':>5}  checks  ({' '.join(ids)})"]  # fmt: skip
    for row in board.rows:
        marks = "".join(MARK[row.marks.get(i)] for i in ids)
        minutes = "" if row.minutes_on_lab is None else str(row.minutes_on_lab)
        tail = row.error or (f"✗ {row.first_failure}: {row.hint}" if row.first_failure else "")
        lines.append(f"{row.learner:14} {minutes:>4} {row.pods:>5}  {marks}  {status_of(row)}"
                     f"{'  ' + tail if tail else ''}")  # fmt: skip
    done = sum(row.passed for row in board.rows)
    lines.append(f"{done} of {len(board.rows)} done")
    return "\n".join(lines)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } p.meta { color: #57606a; margin: 0 0 1rem; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .5rem; text-align: center; }
th.check { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: 500; }
td.learner, td.hint { text-align: left; } td.hint { max-width: 32rem; color: #57606a; }
td.passed { background: #dafbe1; color: #116329; }
td.failed { background: #ffebe9; color: #a40e26; }
td.not-run { background: #fff8c5; } td.none { color: #8c959f; }
td.could-not-judge { background: #ddf4ff; color: #0550ae; }
tr.stuck td.learner { border-left: 6px solid #cf222e; }
tr.done td.learner { border-left: 6px solid #1a7f37; }
tr.working td.learner { border-left: 6px solid #bf8700; }
"""


def page(board: Board) -> str:
    e = html.escape
    head = "".join(f'<th class="check" title="{e(see)}">{e(check_id)}</th>'
                   for check_id, see in board.checks)  # fmt: skip
    body = []
    for row in board.rows:
        cells = "".join(
            f'<td class="{row.marks.get(i) or "none"}">{MARK[row.marks.get(i)]}</td>'
            for i, _ in board.checks
        )
        minutes = "" if row.minutes_on_lab is None else f"{row.minutes_on_lab} min"
        hint = (
            e(row.error)
            if row.error
            else (f"<b>{e(row.first_failure)}</b>: {e(row.hint)}" if row.first_failure else "")
        )
        body.append(f'<tr class="{status_of(row).replace(" ", "-")}"><td class="learner">'
                    f"{e(row.learner)}</td><td>{e(status_of(row))}</td><td>{minutes}</td>"
                    f'<td>{e(row.pods)}</td>{cells}<td class="hint">{hint}</td>'
                    "</tr>")  # fmt: skip
    done = sum(row.passed for row in board.rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Room {e(board.room)} · lab {board.lab:02d}</title><style>{STYLE}</style></head>
<body><h1>Room {e(board.room)} · lab {board.lab:02d}: {e(board.title)}</h1>
<p class="meta">{done} of {len(board.rows)} done · made {e(board.made_at)} · reloads every
{REFRESH_SECONDS} s</p>
<table><thead><tr><th>learner</th><th>status</th><th>on lab</th><th>pods</th>{head}
<th>first failing check and its hint</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table></body></html>
"""


def write(board: Board, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("board.html", page(board)),
        ("board.json", json.dumps(asdict(board), indent=2)),
    ):
        scratch = out / f".{name}.tmp"
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(out / name)  # a reload never sees half a page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("room", type=Path)
    parser.add_argument("lab", type=int)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=8, help="namespaces read at once")
    parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")
    args = parser.parse_args(argv)
    try:
        while True:
            board = collect(args.room, args.lab, max(1, args.jobs))
            out = args.out or OUT / board.room
            write(board, out)
            print(terminal(board))
            print(f"board: {out / 'board.html'}", flush=True)
            if not args.every:
                return 0
            time.sleep(args.every)
    except RoomError as exc:
        print(f"✗ {exc}\n  hint: {exc.hint}", file=sys.stderr)
        return 2
    except ManifestError as exc:
        print(f"✗ {exc}\n  hint: make labs lists them", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
