"""A lab's equivalent mutants (tests/labs/labNN/equivalent.toml): changes to its
solution that keep the lab's contract, each with a one-line reason."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE = "equivalent.toml"


class BadList(Exception):
    """equivalent.toml cannot be read: the message names the file, the entry and why."""


@dataclass(frozen=True)
class Equivalent:
    file: str
    was: str
    now: str
    why: str
    nth: int = 0

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.file, self.was, self.now, self.nth


def load(suite: Path) -> list[Equivalent]:
    path = suite / FILE
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadList(f"{path}: {exc}") from None
    found = []
    for number, entry in enumerate(data.get("mutant", []), 1):
        missing = [k for k in ("file", "was", "now", "why") if not isinstance(entry.get(k), str)]
        if missing or not entry["why"].strip():
            raise BadList(f"{path}: mutant {number} has no {', '.join(missing) or 'why'}")
        found.append(Equivalent(entry["file"], entry["was"], entry["now"], entry["why"],
                                int(entry.get("nth", 0))))  # fmt: skip
    return found


def stale(listed: list[Equivalent], keys: set) -> list[Equivalent]:
    """The entries that no mutant of the current solution matches any more."""
    return [entry for entry in listed if entry.key not in keys]
