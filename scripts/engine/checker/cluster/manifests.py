"""A lab's Kubernetes manifests, read and validated offline before any live check:
YAML errors and schema errors both name the file and line."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.command import ui
from checker.outcomes import Stop

# The Kubernetes minor of the learners' kind node and of the CI cluster.
SCHEMA_VERSION = "1.35.0"
SKIP = {"kustomization.yaml", "kustomization.yml"}
# Custom resources have no schema offline: the cluster's CRD checks them (lab 07).
CUSTOM_KINDS = {"monitoring.coreos.com/v1": {"ServiceMonitor", "PrometheusRule"}}


@dataclass
class Document:
    path: Path
    line: int
    data: dict
    node: yaml.Node

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "?"))

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name", "?"))

    def where(self, field_path: list) -> str:
        """file:line of a field, found by walking the YAML nodes along the path."""
        node = self.node
        for key in field_path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == key), node)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                node = node.value[key] if key < len(node.value) else node
        return f"{self.path.name}:{node.start_mark.line + 1}"


def read(folder: Path) -> tuple[list[Document], list[str]]:
    """Every object in folder's YAML files, and one message per problem found."""
    documents: list[Document] = []
    problems: list[str] = []
    files = sorted(p for p in folder.glob("*.y*ml") if p.name not in SKIP)
    if not files:
        return [], [f"no manifests in {folder}"]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            nodes = list(yaml.compose_all(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            problems.append(f"{path.name}{line}: not valid YAML ({getattr(exc, 'problem', exc)})")
            continue
        for node, data in zip(nodes, yaml.safe_load_all(text), strict=True):
            if data is None:
                continue
            if not isinstance(data, dict):
                problems.append(f"{path.name}:{node.start_mark.line + 1}: not a Kubernetes object")
                continue
            documents.append(Document(path, node.start_mark.line + 1, data, node))
    return documents, problems


YAML_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "a number",
    bool: "a boolean",
}


def explain(exc) -> str:
    if exc.validator == "type":
        found = YAML_TYPES.get(type(exc.instance), type(exc.instance).__name__)
        message = f"expected {exc.validator_value}, found {found}"
        if exc.validator_value == "array":
            message += ' (each list item starts with "- ")'
        return message
    return exc.message if len(exc.message) <= 160 else exc.message[:157] + "..."


def validate(documents: list[Document]) -> list[str]:
    """Schema problems, one per object, against the course's Kubernetes version."""
    import kubernetes_validate

    problems = []
    for doc in documents:
        if doc.kind in CUSTOM_KINDS.get(str(doc.data.get("apiVersion")), set()):
            continue
        try:
            kubernetes_validate.validate(doc.data, SCHEMA_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = list(exc.path)
            field = ".".join(str(p) for p in path) or "(top level)"
            problems.append(f"{doc.where(path)}: {doc.kind}/{doc.name} {field}: {explain(exc)}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError):
            problems.append(
                f"{doc.path.name}:{doc.line}: unknown kind {doc.data.get('apiVersion')}/{doc.kind}"
            )
    return problems


def require_valid(documents: tuple[list[Document], list[str]]) -> None:
    """Stops the run on any manifest problem: nothing later can be trusted without them."""
    docs, problems = documents
    if problems:
        raise Stop(
            f"{len(problems)} manifest problem(s); fix them before deploying", "\n".join(problems)
        )
    ui.progress(f"{len(docs)} objects: " + ", ".join(f"{d.kind}/{d.name}" for d in docs))
