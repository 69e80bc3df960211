"""One mutant: a small change to one file of a lab's reference solution, named by what
it changes (the lines it was and the lines it is now), so that a name stays the same
while the rest of the file moves."""

import difflib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    file: str  # relative to the lab's tree
    kind: str  # python, ...
    operator: str  # what made it: cosmic-ray's operator, or the mutator's own name
    line: int  # the first changed line, from 1
    was: str  # the changed lines, before
    now: str  # the changed lines, after ("" when deleted)
    text: str  # the whole mutated file
    nth: int = 0  # among the file's mutants with the same was and now (a line repeated)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.file, self.was, self.now, self.nth

    def apply(self, tree: Path) -> None:
        (tree / self.file).write_text(self.text, encoding="utf-8")

    def describe(self) -> str:
        now = self.now or "(deleted)"
        return f"{self.file}:{self.line} {self.operator}: {self.was!r} → {now!r}"


def made(file: str, kind: str, operator: str, before: str, after: str) -> Mutant | None:
    """The mutant that turns before into after, or None when nothing changed."""
    if after == before:
        return None
    old, new = before.splitlines(), after.splitlines()
    was: list[str] = []
    now: list[str] = []
    first = 0
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        first = first or i1 + 1
        was += [line.strip() for line in old[i1:i2]]
        now += [line.strip() for line in new[j1:j2]]
    return Mutant(file, kind, operator, first or 1, "\n".join(was), "\n".join(now), after)


def numbered(mutants) -> list[Mutant]:
    """The mutants, each with its rank among the same file's same change (nth)."""
    from dataclasses import replace

    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for mutant in mutants:
        base = (mutant.file, mutant.was, mutant.now)
        out.append(replace(mutant, nth=seen.get(base, 0)))
        seen[base] = seen.get(base, 0) + 1
    return out
