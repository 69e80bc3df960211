"""Room mode: a learner's own run of a lab's checker (their folder, their namespace)
is also kept in a ConfigMap of their namespace, where the instructor's room board
reads it. Best effort: a failure to publish is one line, never a failed check."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from checker.command import ui
from checker.command.course import REPO, Lab

CONFIGMAP = "ml-workshop-progress"
# Where a room-mode check's hint points.
SEE = "Room mode (README.md, For instructors)"
LABELS = {"app.kubernetes.io/name": CONFIGMAP, "app.kubernetes.io/part-of": "ml-workshop"}


def in_room() -> bool:
    return os.environ.get("WORKSHOP_ROOM") == "1" and bool(os.environ.get("WORKSHOP_NAMESPACE"))


def last_push(variable: str, name: str) -> tuple[Path, str]:
    """Where scripts/learner/push-image.sh recorded this learner's last push of an image
    (variable, else .workshop/name), and that reference: "" when there is none."""
    path = Path(os.environ.get(variable) or REPO / ".workshop" / name)
    return path, path.read_text().strip() if path.exists() else ""


def asked() -> bool:
    """A run of another folder (make check-lab N LAB_DIR=…) publishes only when asked:
    an instructor grading a copy must not overwrite what the learner's board shows."""
    return os.environ.get("WORKSHOP_ROOM_PUBLISH") == "1"


def publish(lab: Lab, results: Path) -> None:
    """labNN.json: the latest results; labNN.first: when this lab was first checked."""
    if not in_room():
        return
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    namespace = os.environ["WORKSHOP_NAMESPACE"]
    try:
        api = client.CoreV1Api(config.new_client_from_config())
        try:
            data = api.read_namespaced_config_map(CONFIGMAP, namespace, _request_timeout=5).data
        except ApiException as exc:
            if exc.status != 404:
                raise
            body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=CONFIGMAP, labels=LABELS))
            api.create_namespaced_config_map(namespace, body, _request_timeout=5)
            data = {}
        patch = {f"lab{lab.code}.json": results.read_text(encoding="utf-8")}
        if f"lab{lab.code}.first" not in (data or {}):
            patch[f"lab{lab.code}.first"] = datetime.now(UTC).isoformat(timespec="seconds")
        api.patch_namespaced_config_map(CONFIGMAP, namespace, {"data": patch}, _request_timeout=5)
    except Exception as exc:  # the run itself is done and judged: only the board misses it
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        ui.say(f"  (the room board will not show this run: {reason})")


def read_entry(data: dict[str, str], code: str) -> tuple[dict | None, str | None]:
    """The latest results of lab `code` and when it was first checked, from the map."""
    raw = (data or {}).get(f"lab{code}.json")
    try:
        results = json.loads(raw) if raw else None
    except ValueError:
        results = None
    return results, (data or {}).get(f"lab{code}.first")
