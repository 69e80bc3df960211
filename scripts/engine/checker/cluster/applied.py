"""What make deploy applied, and whether the cluster still runs it: make deploy stamps
each object it applies with a hash of that object as the folder's k8s/ files write it;
a live check compares those stamps with the folder it judges. When the API server
refuses one object (kubectl apply still updates the others), its stamp stays the old
one, and the checker says so instead of judging the previous version as the folder."""

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.cluster import manifests
from checker.command import ui
from checker.outcomes import Stop

ANNOTATION = "ml-workshop/folder-sha256"
# The namespace is make deploy's (WORKSHOP_NAMESPACE, or the room's), not the folder's.
NOT_COMPARED = {"Namespace"}


def fingerprint(data: dict) -> str:
    """The object as the folder writes it, hashed the same way by make deploy and the checker."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def identity(data: dict) -> tuple[str, str]:
    return str(data.get("kind", "")), str((data.get("metadata") or {}).get("name", ""))


def stamp(rendered: Path, folder: Path) -> int:
    """Adds each folder object's fingerprint to its rendered copy (make deploy, before
    kubectl apply); returns how many were stamped."""
    documents, _ = manifests.read(folder)
    prints = {identity(d.data): fingerprint(d.data) for d in documents}
    objects = [d for d in yaml.safe_load_all(rendered.read_text(encoding="utf-8")) if d]
    stamped = 0
    for obj in objects:
        found = prints.get(identity(obj))
        if found is None or not isinstance(obj.get("metadata"), dict):
            continue
        annotations = obj["metadata"].get("annotations") or {}
        obj["metadata"]["annotations"] = {**annotations, ANNOTATION: found}
        stamped += 1
    rendered.write_text(yaml.safe_dump_all(objects, sort_keys=False), encoding="utf-8")
    return stamped


@dataclass
class Difference:
    what: str  # Kind/name
    file: str  # where the folder writes it
    found: str  # what the cluster holds instead
    unrecorded: bool = False  # applied by hand (kubectl apply -k): nothing to compare
    missing: bool = False


def differences(cluster, namespace: str, documents: list[manifests.Document]) -> list[Difference]:
    """Each object of the folder that the cluster lacks, or holds in another version."""
    from kubernetes.dynamic import DynamicClient

    # Discovery cached in a file of this run's own: the client's default, one file per
    # API server in the temporary folder, is read and written by every run at once.
    with tempfile.TemporaryDirectory(prefix="workshop-discovery-") as scratch:
        client = DynamicClient(cluster.api, cache_file=os.path.join(scratch, "discovery.json"))
        return [found for doc in documents if (found := _compare(client, namespace, doc))]


def _compare(client, namespace: str, doc: manifests.Document) -> Difference | None:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    if doc.kind in NOT_COMPARED:
        return None
    what = f"{doc.kind}/{doc.name}"
    where = f"{doc.path.name}:{doc.line}"
    try:
        api = client.resources.get(api_version=doc.data.get("apiVersion"), kind=doc.kind)
        live = api.get(name=doc.name, namespace=namespace if api.namespaced else None)
    except (NotFoundError, ResourceNotFoundError):
        return Difference(what, where, f"missing from namespace {namespace}", missing=True)
    except ApiException as exc:
        return Difference(what, where, f"unreadable ({exc.status} {exc.reason})")
    recorded = (live.metadata.get("annotations") or {}).get(ANNOTATION)
    if recorded is None:
        return Difference(what, where, "applied without make deploy", unrecorded=True)
    if recorded != fingerprint(doc.data):
        return Difference(what, where, "the cluster runs an earlier version of it")
    return None


def require_deployed(cluster, namespace: str, documents: list[manifests.Document], lab: int):
    """Stops the run (exit 2) when the cluster lacks an object of the folder, or runs an
    earlier version of one. An object applied by hand carries no record: said, and judged."""
    found = differences(cluster, namespace, documents)
    by_hand = [d.what for d in found if d.unrecorded]
    if by_hand:
        ui.progress(f"not compared with your folder, applied without make deploy: "
                    f"{', '.join(by_hand)}")  # fmt: skip
    wrong = [d for d in found if not d.unrecorded]
    if not wrong:
        return
    compared = [d for d in documents if d.kind not in NOT_COMPARED]
    if len(wrong) == len(compared) and all(d.missing for d in wrong):
        raise Stop(f"nothing of your folder runs in namespace {namespace}",
                   hint=f"run make deploy {lab}: it applies k8s/ there")  # fmt: skip
    lines = [f"{d.what} ({d.file}): {d.found}" for d in wrong]
    raise Stop(
        f"the cluster does not run what your folder says: {', '.join(d.what for d in wrong)}",
        "\n".join(lines),
        hint=f"run make deploy {lab}, and read what kubectl refused",
    )
