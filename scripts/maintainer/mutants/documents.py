"""Mutants of a solution's manifests and configuration (k8s/, monitoring/, the lab 08
workflow, capacity.json): a small mutator of our own over the parsed documents, since no
library mutates Kubernetes YAML. Per object: each field dropped, each list item deleted,
each number ÷10, ×10 and 0, each true/false flipped, each string a near miss (its last
character changed). Files are written back by PyYAML (the project's YAML library), so a
sweep first rewrites the unchanged files the same way: a mutant then differs from its
baseline by its one change only."""

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import yaml
from mutant import Mutant

PATTERNS = ("k8s/*.yaml", "monitoring/*.yaml", ".github/workflows/*.yml", "capacity.json")


class Loader(yaml.SafeLoader):
    """YAML 1.2's booleans only: a workflow's `on:` stays the key "on", not True."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def files(tree: Path) -> list[Path]:
    return sorted({path for pattern in PATTERNS for path in tree.glob(pattern)})


def read(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [json.loads(text)]
    return [doc for doc in yaml.load_all(text, Loader=Loader) if doc is not None]


def write(path: Path, docs: list) -> str:
    if path.suffix == ".json":
        return json.dumps(docs[0], indent=2) + "\n"
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=1000)


def normalize(tree: Path) -> None:
    """Rewrites every mutated file as the mutator writes it, before the baseline run."""
    for path in files(tree):
        path.write_text(write(path, read(path)), encoding="utf-8")


def near_miss(text: str) -> str:
    """One character changed: a typo, another label value, another port name."""
    if not text:
        return "x"
    last = text[-1]
    if last.isdigit():
        return text[:-1] + str((int(last) + 1) % 10)
    if last.isalpha():
        return text[:-1] + ("a" if last.lower() == "z" else chr(ord(last) + 1))
    return text + "x"


def changes(value) -> list[tuple[str, object]]:
    """A scalar's mutants: (operator, new value)."""
    if isinstance(value, bool):
        return [("flip", not value)]
    if isinstance(value, int | float):
        scaled = [("÷10", type(value)(value / 10)), ("×10", value * 10), ("0", type(value)(0))]
        # A small int ÷10 is 0: one mutant, not two.
        return [(name, new) for i, (name, new) in enumerate(scaled)
                if new != value and new not in [n for _, n in scaled[:i]]]  # fmt: skip
    if isinstance(value, str):
        return [("near miss", near_miss(value))]
    return []


def walk(node, path=()) -> Iterator[tuple[tuple, object]]:
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()  # fmt: skip
    for key, child in items:
        yield from walk(child, (*path, key))


def dotted(path: tuple) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(the document)"


def label(doc) -> str:
    """A document's name in a mutant's description: kind/name for a Kubernetes object."""
    if isinstance(doc, dict) and "kind" in doc:
        return f"{doc['kind']}/{(doc.get('metadata') or {}).get('name', '?')} "
    return ""


def _set(doc, path: tuple, value, drop: bool):
    changed = copy.deepcopy(doc)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed


def mutants(tree: Path) -> Iterator[Mutant]:
    for path in files(tree):
        docs = read(path)
        file = path.relative_to(tree).as_posix()
        for index, doc in enumerate(docs):
            for where, node in walk(doc):
                if not where:
                    continue
                name = f"{label(doc)}{dotted(where)}"
                was = f"{name}: {json.dumps(node)}"
                dropped = "delete item" if isinstance(where[-1], int) else "drop field"
                edits = [(dropped, None, True), *((op, new, False) for op, new in changes(node))]
                for operator, new, drop in edits:
                    after = [*docs[:index], _set(doc, where, new, drop), *docs[index + 1 :]]
                    now = "" if drop else f"{name}: {json.dumps(new)}"
                    yield Mutant(file, "document", operator, index + 1, was, now,
                                 write(path, after))  # fmt: skip
