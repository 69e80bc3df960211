"""Why a learner's server did not start, read from its log: the exception at the
deepest line of the learner's own code, a missing module, an exit at import, or an
import that never finishes. Each cause comes with the hint for it."""

import re
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
EXCEPTION = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): ?(?P<text>.*)$"
)
MISSING_MODULE = re.compile(r"No module named '(?P<module>[^']+)'")


@dataclass(frozen=True)
class Cause:
    message: str
    hint: str


def _own_frame(lines: list[str], folder: Path) -> tuple[str, int] | None:
    """The deepest traceback frame in the learner's folder: (relative file, line)."""
    found = None
    for line in lines:
        match = FRAME.match(line)
        if not match:
            continue
        path = Path(match["file"])
        try:
            found = (path.resolve().relative_to(folder.resolve()).as_posix(), int(match["line"]))
        except (ValueError, OSError):
            continue
    return found


def diagnose(
    lines: list[str], folder: Path, returncode: int | None, timeout: float
) -> Cause | None:
    """The cause, or None where the log says nothing this can name (show the log)."""
    exceptions = [m for m in map(EXCEPTION.match, (ln.strip() for ln in lines)) if m]
    where = _own_frame(lines, folder)
    at = f"{where[0]}, line {where[1]}" if where else "importing your app"
    if exceptions:
        last = exceptions[-1]
        missing = MISSING_MODULE.search(last["text"])
        if last["type"].endswith("ModuleNotFoundError") and missing:
            return Cause(
                f"{at}: imports '{missing['module']}', which is not installed here",
                f"install it and add it to requirements.txt, or remove the import "
                f"(pip install {missing['module'].split('.')[0]})",
            )
        if where:
            return Cause(
                f"{at}: {last['type']}: {last['text']}"[:300],
                "fix that line: it runs when uvicorn imports your app, before any request",
            )
    if returncode is not None and not any(line.strip() for line in lines):
        return Cause(
            f"your app exited with code {returncode} while importing, and printed nothing",
            "look for sys.exit() or exit() at module level, outside any function",
        )
    if returncode is None and not any(line.strip() for line in lines):
        return Cause(
            f"importing your app did not finish within {timeout:.0f} s, and printed nothing",
            "look for a loop or a blocking call at module level, outside any function",
        )
    return None
