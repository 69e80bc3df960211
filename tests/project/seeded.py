"""Seeded mistakes: realistic learner mistakes, each applied to a copy of a lab's
solution, that the check meant for it must catch with its hint. Each lab keeps its
own beside its suite, in tests/labs/labNN/mistakes.py: MISTAKES, and UNSEEDED (a
written reason for every check that has no seeded mistake)."""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import nbformat

from checker.command.course import Lab

DELETE = "<delete the file>"
WHOLE = "<replace the whole file>"
# The reason a precondition check has no seeded mistake of its own.
PRECONDITION = "a precondition: it stops the run (exit 2), and every seeded mistake passes it first"


@dataclass(frozen=True)
class Mistake:
    lab: int
    id: str
    file: str
    old: str
    new: str
    caught_by: str
    exit_code: int = 1
    also: tuple[tuple[str, str], ...] = ()  # further (old, new) edits in the same file
    says: str = ""  # what the output must also say, where the check could fail otherwise
    also_fails: str = ""  # a live check that must fail too (so the mistake is deployed)
    hint: str = ""  # the cause's own hint, where it is not the check's usual one
    # An edit the API server refuses, applied over the deployed solution: kubectl
    # applies the other objects and the cluster keeps running the solution's version.
    refused: bool = False
    # An edit of what a learner's step wrote once the solution ran (lab 10's
    # capacity.json), applied over the deployed solution like a refused one.
    over_deployed: bool = False

    @property
    def over_the_solution(self) -> bool:
        return self.refused or self.over_deployed

    def until(self) -> tuple[str, ...]:
        """The checker's arguments that end its run once this mistake's checks have
        run: what it proves is that they catch it, and later checks cost time only."""
        also = ("--until", self.also_fails) if self.also_fails else ()
        return ("--until", self.caught_by, *also)

    def apply(self, tree: Path) -> None:
        for old, new in ((self.old, self.new), *self.also):
            self._replace(tree, old, new)

    def _replace(self, tree: Path, old: str, new: str) -> None:
        path = tree / self.file
        if old == DELETE:
            path.unlink()
            return
        if old == WHOLE:
            path.write_text(new, encoding="utf-8")
            return
        if path.suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            hits = [c for c in notebook.cells if old in c.source]
            assert hits, f"{self.id}: '{old}' is not in {self.file}; update the catalogue"
            for cell in hits:
                cell.source = cell.source.replace(old, new)
            nbformat.write(notebook, path)
            return
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{self.id}: '{old}' is not in {self.file}; update the catalogue"
        path.write_text(text.replace(old, new), encoding="utf-8")


@dataclass(frozen=True)
class LabMistakes:
    mistakes: list[Mistake]
    unseeded: dict[str, str]  # check id -> why it has no seeded mistake


def of(lab: Lab) -> LabMistakes:
    path = lab.suite / "mistakes.py"
    if not path.is_file():
        return LabMistakes([], {})
    spec = importlib.util.spec_from_file_location(f"mistakes_lab{lab.code}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return LabMistakes(list(getattr(module, "MISTAKES", [])), dict(getattr(module, "UNSEEDED", {})))


def catalogue(labs: list[Lab]) -> list[Mistake]:
    return [mistake for lab in labs for mistake in of(lab).mistakes]
