"""One source for the lab trees: every carried file has one owner, and every other
copy of it is generated from that owner by `make labs-sync`.

The owner of a file in lab N's solution is lab N when labs.toml lists it in the
lab's `edits` or `provided`, or when the lab it `builds_on` has no such file;
otherwise it is the owner of the same file in that earlier solution. A starter
holds its own `edits` (with TODO marks) and a copy of everything else in its
solution. The README's course map and diagram are generated from labs.toml too.
Standard library only: `make labs-sync` runs before the virtual environment."""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from checker.course import REPO, Lab, load

SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}
COMMAND = "make labs-sync"


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
                owner[path] = owner[f"{previous.solution}/{name}"]
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


# -- the README's generated parts -------------------------------------------------------
def course_map(labs: list[Lab]) -> str:
    rows = ["| lab | folder | what you learn | time |", "|---|---|---|---|"]
    for lab in labs:
        if lab.ready:
            rows.append(f"| {lab.code} | [labs/{lab.slug}](labs/{lab.slug}/README.md) | "
                        f"{lab.summary} | {lab.minutes} min |")  # fmt: skip
    return "\n".join(rows)


def diagram(labs: list[Lab]) -> str:
    shown = [lab for lab in labs if lab.ready and lab.tree]
    numbers = {lab.number for lab in shown}

    def node(lab: Lab) -> str:
        return f'L{lab.code}["Lab {lab.code}<br/>{lab.short}"]'

    lines = ["```mermaid", "flowchart LR"]
    lines += [f"    {node(lab)}" for lab in shown if "cluster" not in lab.needs]
    in_cluster = [lab for lab in shown if "cluster" in lab.needs]
    if in_cluster:
        lines.append("    subgraph cluster [Kubernetes cluster]")
        lines += [f"        {node(lab)}" for lab in in_cluster]
        lines.append("    end")
    edges = [lab for lab in shown if lab.builds_on in numbers]
    lines += [f"    L{lab.builds_on:02d} --> L{lab.code}" for lab in edges]
    lines.append("```")
    return "\n".join(lines)


def generated_sections(labs: list[Lab]) -> dict[str, str]:
    return {"course-map": course_map(labs), "diagram": diagram(labs)}


def render_readme(text: str, labs: list[Lab]) -> tuple[str, list[str]]:
    """The README with each generated section between its markers rewritten."""
    problems = []
    for name, body in generated_sections(labs).items():
        start, end = f"<!-- generated: {name} (make labs-sync) -->", f"<!-- end: {name} -->"
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), flags=re.S)
        if not pattern.search(text):
            problems.append(f"README.md lacks the markers {start} … {end}")
            continue
        replacement = f"{start}\n{body}\n{end}"
        text = pattern.sub(lambda _, new=replacement: new, text)
    return text, problems


# -- check and sync -------------------------------------------------------------------
def differences(repo: Path = REPO, labs: list[Lab] | None = None) -> list[str]:
    """Each committed file that differs from what labs-sync would write, with the cause."""
    labs = labs or load()
    found = plan(repo, labs)
    out = list(found.problems)
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
    changed = []
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
    rendered, problems = render_readme(text, labs)
    if rendered != text:
        readme.write_text(rendered, encoding="utf-8")
        changed.append("README.md")
    return changed, found.problems + problems
