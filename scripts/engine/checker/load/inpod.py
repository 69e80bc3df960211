"""Steady load from inside the cluster (labs 05-06): a pod that sends POST /predict
through the Service (inpod_script.py), its running totals read from its log."""

import contextlib
import json
import secrets
from pathlib import Path

from checker.cluster import kube
from checker.cluster.deployment import DeploymentState
from checker.cluster.kube import RESTRICTED
from checker.cluster.service import ServiceState
from checker.outcomes import Stop
from checker.processes import artifact, procs

LOAD_SCRIPT = (Path(__file__).parent / "inpod_script.py").read_text(encoding="utf-8")


def start_load(
    cluster,
    deployment: DeploymentState,
    service: ServiceState,
    key: str | None,
    seconds: float,
    workers: int = 8,
) -> str:
    """A pod that sends POST /predict through the Service; its name."""
    name = f"workshop-load-{secrets.token_hex(3)}"
    image = deployment.deployment.spec.template.spec.containers[0].image
    host = f"{service.name}.{service.namespace}.svc.cluster.local"
    args = [
        host,
        str(service.number),
        "/predict",
        key or "-",
        str(seconds),
        str(workers),
        json.dumps(artifact.PATIENT),
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/name": "workshop-load",
                "app.kubernetes.io/part-of": "ml-workshop",
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsUser": 10001},
            "containers": [
                {
                    "name": "load",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python", "-c", LOAD_SCRIPT, *args],
                    "securityContext": RESTRICTED,
                    # Half a core is load enough for every check (lab 06 needs 70 m
                    # per pod), and leaves the node's other work its CPU.
                    "resources": {
                        "requests": {"cpu": "200m", "memory": "64Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                }
            ],
        },
    }
    ns = service.namespace
    cluster.core.create_namespaced_pod(ns, pod)

    def remove() -> None:
        with contextlib.suppress(Exception):
            cluster.core.delete_namespaced_pod(name, ns, grace_period_seconds=0)

    procs.on_cleanup(remove)
    if not kube.wait("the load pod to start sending", 60, lambda: load_stats(cluster, ns, name)):
        raise Stop(
            "the load pod did not start",
            kube.diagnostics(cluster, ns, "app.kubernetes.io/name=workshop-load"),
        )
    return name


def load_stats(cluster, ns: str, pod: str) -> dict | None:
    """The load pod's latest running totals."""
    try:
        # Raw bytes: the client would otherwise parse a JSON log line into a dict
        # and hand back its repr.
        raw = cluster.core.read_namespaced_pod_log(pod, ns, tail_lines=3, _preload_content=False)
        log = raw.data.decode("utf-8", errors="replace")
    except Exception:
        return None
    lines = [line for line in log.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def stop_load(cluster, ns: str, pod: str) -> None:
    with contextlib.suppress(Exception):
        cluster.core.delete_namespaced_pod(pod, ns, grace_period_seconds=0)
