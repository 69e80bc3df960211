"""One source for the lab trees: every carried file has one owner, and every other
copy of it is generated from that owner by `make labs-sync`.

The owner of a file in lab N's solution is lab N when labs.toml lists it in the
lab's `edits` or `provided`, or when the lab it `builds_on` has no such file;
otherwise it is the owner of the same file in that earlier solution, or in the
solution of the lab it `brings` the file from. A starter
holds its own `edits` (with TODO marks) and a copy of everything else in its
solution. The README's course map and diagram come from labs.toml too (readme), and
each owner of a requirements file from uv.lock (requirements)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from checker.command.course import REPO, Lab, load
from checker.upkeep.readme import render_readme
from checker.upkeep.requirements import COMMAND, locked, locked_owners

SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Copy:
    target: str  # relative to the repository
    owner: str  # the one place this file is edited


@dataclass
class Plan:
    copies: list[Copy]
    problems: list[str]  # what labs-sync cannot fix by itself


def files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*")
        if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(root).parts[:-1])
        and p.suffix != ".pyc"
    }  # fmt: skip


def plan(repo: Path = REPO, labs: list[Lab] | None = None) -> Plan:
    labs = [lab for lab in (labs or load()) if lab.ready and lab.tree and lab.tree != "notebooks"]
    by_number = {lab.number: lab for lab in labs}
    owner: dict[str, str] = {}  # solution path -> owner path
    solution_files: dict[int, set[str]] = {}
    copies, problems = [], []
    for lab in sorted(labs, key=lambda lab: lab.number):
        own = set(lab.edits) | set(lab.provided)
        on_disk = files(repo / lab.solution)
        previous = by_number.get(lab.builds_on)
        carried = solution_files[previous.number] - own if previous else set()
        source = {name: previous for name in carried}
        for name, number in sorted(lab.brings.items()):
            donor = by_number.get(number)
            if donor is None or number >= lab.number or name not in solution_files[number]:
                problems.append(f"labs.toml: lab {lab.code} brings {name} from lab {number}, "
                                "whose solution has no such file")  # fmt: skip
                continue
            if name in own:
                problems.append(f"labs.toml: lab {lab.code} both brings and lists {name}")
                continue
            carried.add(name)
            source[name] = donor
        for name in sorted(own - on_disk):
            problems.append(f"{lab.solution}/{name} is listed for lab {lab.code} in labs.toml "
                            "but does not exist: write it, or remove it from the list")  # fmt: skip
        for name in sorted(on_disk - carried - own if previous else ()):
            problems.append(
                f"{lab.solution}/{name} is new in lab {lab.code} but labs.toml lists it in neither "
                f"edits nor provided: add it to one, or delete the file"
            )
        present = carried | (own & on_disk) if previous else on_disk
        for name in sorted(present):
            path = f"{lab.solution}/{name}"
            if name in carried:
                owner[path] = owner[f"{source[name].solution}/{name}"]
                copies.append(Copy(path, owner[path]))
            else:
                owner[path] = path
        solution_files[lab.number] = present
        starter = files(repo / lab.tree)
        for name in sorted(set(lab.edits) - starter):
            problems.append(f"{lab.tree}/{name} is missing: the starter of every file in edits "
                            "is written by hand, with TODO marks")  # fmt: skip
        for name in sorted(starter - present):
            problems.append(f"{lab.tree}/{name} is not in the solution {lab.solution}: add it "
                            "there (and to provided), or delete it")  # fmt: skip
        for name in sorted(present - set(lab.edits)):
            copies.append(Copy(f"{lab.tree}/{name}", owner[f"{lab.solution}/{name}"]))
    return Plan(copies, problems)


# -- check and sync -------------------------------------------------------------------
def differences(repo: Path = REPO, labs: list[Lab] | None = None) -> list[str]:
    """Each committed file that differs from what labs-sync would write, with the cause."""
    labs = labs or load()
    found = plan(repo, labs)
    out = list(found.problems)
    for path in locked_owners(labs):
        try:
            if (repo / path).read_text(encoding="utf-8") != locked(path):
                out.append(f"{path} differs from uv.lock: run {COMMAND} (it exports it again)")
        except OSError as exc:
            out.append(f"{path}: {exc}")
    for copy in found.copies:
        target, source = repo / copy.target, repo / copy.owner
        if not target.exists():
            out.append(f"{copy.target} is missing: run {COMMAND} (it copies {copy.owner})")
        elif target.read_bytes() != source.read_bytes():
            out.append(f"{copy.target} differs from its owner {copy.owner}: edit the owner, then "
                       f"run {COMMAND} (it rewrites every copy)")  # fmt: skip
    readme = repo / "README.md"
    text = readme.read_text(encoding="utf-8")
    rendered, problems = render_readme(text, labs)
    out += problems
    if rendered != text:
        out.append(f"README.md's course map or diagram differs from labs/labs.toml: run {COMMAND}")
    return out


def sync(repo: Path = REPO, labs: list[Lab] | None = None) -> tuple[list[str], list[str]]:
    """Rewrites every copy from its owner; returns (what changed, what it cannot fix)."""
    labs = labs or load()
    found = plan(repo, labs)
    changed, problems = [], []
    for path in locked_owners(labs):  # owners first: the copies below carry them
        try:
            text = locked(path)
        except OSError as exc:
            problems.append(f"{path}: {exc}")
            continue
        if not (repo / path).is_file() or (repo / path).read_text(encoding="utf-8") != text:
            (repo / path).write_text(text, encoding="utf-8")
            changed.append(path)
    for copy in found.copies:
        target, source = repo / copy.target, repo / copy.owner
        if target.exists() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        shutil.copymode(source, target)
        changed.append(copy.target)
    readme = repo / "README.md"
    text = readme.read_text(encoding="utf-8")
    rendered, readme_problems = render_readme(text, labs)
    if rendered != text:
        readme.write_text(rendered, encoding="utf-8")
        changed.append("README.md")
    return changed, found.problems + problems + readme_problems
