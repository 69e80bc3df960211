"""Reads labs/labs.toml, the course manifest. Standard library only, so that
`make help` works before the virtual environment exists."""

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
MANIFEST = REPO / "labs" / "labs.toml"


@dataclass(frozen=True)
class CheckInfo:
    id: str
    see: str
    hint: str
    # Reads only the lab's files: a cluster lab's mistake it catches is judged
    # without deploying.
    offline: bool = False


@dataclass(frozen=True)
class Lab:
    number: int
    slug: str
    title: str
    minutes: int
    needs: tuple[str, ...]
    ready: bool
    short: str = ""  # the diagram's label
    summary: str = ""  # the course map's "what you learn"
    tree: str = ""
    edits: tuple[str, ...] = ()
    # Files this lab hands over complete (new, or changed since the previous
    # solution) that the learner reads but does not edit.
    provided: tuple[str, ...] = ()
    # The lab whose solution this starter carries (the previous one, unless a
    # bonus lab starts from an earlier service).
    builds_on: int | None = None
    # Files carried from another earlier solution than builds_on's: path -> lab.
    brings: dict[str, int] = field(default_factory=dict)
    checks: dict[str, CheckInfo] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return f"{self.number:02d}"

    @property
    def folder(self) -> Path:
        return REPO / "labs" / self.slug

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def tree_path(self) -> Path | None:
        return REPO / self.tree if self.tree else None

    @property
    def solution_path(self) -> Path | None:
        return REPO / self.solution if self.tree else None

    @property
    def solution(self) -> str:
        """The solution's folder, relative to the repository."""
        return f"solutions/{self.slug}" if self.tree else ""

    @property
    def suite(self) -> Path:
        return REPO / "tests" / "labs" / f"lab{self.code}"


class ManifestError(Exception):
    pass


def load(path: Path = MANIFEST) -> list[Lab]:
    """The labs, in order. Read once per run: parsed again only when the file changed."""
    try:
        stamp = path.stat()
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    return list(_parsed(path, stamp.st_mtime_ns, stamp.st_size))


@cache
def _parsed(path: Path, mtime_ns: int, size: int) -> tuple[Lab, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    labs = []
    for entry in data.get("lab", []):
        checks = {
            check_id: CheckInfo(check_id, info["see"], info["hint"], info.get("offline", False))
            for check_id, info in entry.get("checks", {}).items()
        }
        labs.append(
            Lab(
                number=entry["number"],
                slug=entry["slug"],
                title=entry["title"],
                minutes=entry["minutes"],
                short=entry.get("short", ""),
                summary=entry.get("summary", ""),
                needs=tuple(entry["needs"]),
                ready=entry["ready"],
                tree=entry.get("tree", ""),
                edits=tuple(entry.get("edits", ())),
                provided=tuple(entry.get("provided", ())),
                builds_on=entry.get("builds_on", entry["number"] - 1),
                brings=dict(entry.get("brings", {})),
                checks=checks,
            )
        )
    return tuple(labs)


def find(number: int | str) -> Lab:
    try:
        wanted = int(str(number).strip())
    except ValueError:
        raise ManifestError(f"'{number}' is not a lab number (`make labs` lists them)") from None
    for lab in load():
        if lab.number == wanted:
            return lab
    raise ManifestError(f"there is no lab {wanted}; `make labs` lists them")
