"""Room mode: one shared Kubernetes cluster for a whole room, a namespace per learner.

  room.py size                     what each lab needs at its peak, and the budget
  room.py up ROOM_FILE             namespaces, budgets, RBAC, policies, kubeconfigs
  room.py tokens ROOM_FILE         new kubeconfigs (a learner's token expired)
  room.py down ROOM_FILE           removes what `up` made for this room, and only that

Runs with the instructor's own kubeconfig (cluster-admin on the room's cluster),
through kubectl only: any conformant cluster will do. Everything it makes carries
the room's label, which is how `down` finds it.
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from checker.cluster.kube import quantity
from checker.command.course import REPO, load
from checker.upkeep.versions import installed_tool, pins

ROOM_LABEL = "ml-workshop/room"
LEARNER_LABEL = "ml-workshop/learner"
MANAGED = {
    "app.kubernetes.io/managed-by": "ml-workshop-room",
    "app.kubernetes.io/part-of": "ml-workshop",
}
ACCOUNT = "learner"
API_KEY_SECRET = "diabetes-api-key"
OUT = REPO / ".workshop" / "room"
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")
# host[:port][/path]: where learners push and the nodes pull (docker's reference syntax).
REGISTRY = re.compile(
    r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
ROOM_MAP = "ml-workshop-room"
CUSTOM_METRICS_APISERVICE = "v1beta1.custom.metrics.k8s.io"
APP = "diabetes-api"
# The pods a checker starts beside the service (wrkpod, inpod): requests, limits.
CHECKER_PODS = [
    ({"cpu": "100m", "memory": "32Mi"}, {"cpu": "500m", "memory": "128Mi"}),
    ({"cpu": "200m", "memory": "64Mi"}, {"cpu": "500m", "memory": "256Mi"}),
]


class RoomError(Exception):
    """A room file or a cluster that cannot be used: exit 2 with what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


# -- sizing, read from the labs' own solutions ---------------------------------------
@dataclass
class Peak:
    lab: str
    pods: int  # the most pods at once: replicas (or maxReplicas) + surge + checker pods
    requests_cpu: float
    requests_memory: float
    limits_memory: float


def documents(folder: Path) -> list[dict]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        found += [
            d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)
        ]
    return found


def peak_of(slug: str, k8s: Path) -> Peak:
    docs = documents(k8s)
    deployment = next(d for d in docs if d.get("kind") == "Deployment")
    hpa = next((d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"), None)
    spec = deployment["spec"]
    replicas = int(hpa["spec"]["maxReplicas"]) if hpa else int(spec.get("replicas", 1))
    surge = spec.get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", 1)
    surge = (
        int(surge) if not str(surge).endswith("%") else -(-replicas * int(str(surge)[:-1]) // 100)
    )
    pods = replicas + surge
    totals = {"requests_cpu": 0.0, "requests_memory": 0.0, "limits_memory": 0.0}
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        resources = container.get("resources", {})
        totals["requests_cpu"] += pods * quantity(resources.get("requests", {}).get("cpu", "0"))
        totals["requests_memory"] += pods * quantity(
            resources.get("requests", {}).get("memory", "0")
        )
        totals["limits_memory"] += pods * quantity(resources.get("limits", {}).get("memory", "0"))
    for requests, limits in CHECKER_PODS:
        totals["requests_cpu"] += quantity(requests["cpu"])
        totals["requests_memory"] += quantity(requests["memory"])
        totals["limits_memory"] += quantity(limits["memory"])
    return Peak(slug, pods + len(CHECKER_PODS), **totals)


def peaks() -> list[Peak]:
    live = [lab for lab in load() if lab.ready and "cluster" in lab.needs]
    return [peak_of(lab.slug, lab.solution_path / "k8s") for lab in live
            if (lab.solution_path / "k8s").is_dir()]  # fmt: skip


def gib(value: float) -> str:
    return f"{-(-value // (1 << 28)) / 4:g}Gi"  # rounded up to a quarter GiB


def default_budget() -> dict[str, str]:
    """Every lab fits, at its peak, with a quarter of headroom."""
    found = peaks()
    return {
        "requests.cpu": f"{-(-max(p.requests_cpu for p in found) * 1.25 * 4 // 1) / 4:g}",
        "requests.memory": gib(1.25 * max(p.requests_memory for p in found)),
        "limits.memory": gib(1.25 * max(p.limits_memory for p in found)),
        "pods": str(-(-max(p.pods for p in found) * 5 // 4)),
    }


# -- the room file -------------------------------------------------------------------
@dataclass
class Room:
    name: str
    learners: list[str]
    token_hours: int = 10
    monitoring_namespace: str = "monitoring"
    budget: dict[str, str] = field(default_factory=dict)
    registry: str = ""

    def namespace(self, learner: str) -> str:
        return f"{self.name}-{learner}"

    def repository(self, learner: str) -> str:
        """Each learner's own repository: deployments pin what they pushed there."""
        return f"{self.registry}/{self.namespace(learner)}/{APP}" if self.registry else ""


def read_room(path: Path) -> Room:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoomError(
            f"{path}: {exc.strerror}", "give the room file: make room-up ROOM=room.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise RoomError(
            f"{path}: not valid TOML: {exc}", "see the instructors' section of README.md"
        ) from None
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 20:
        raise RoomError(
            f"{path}: name = {name!r}", "name: lower-case letters, digits and -, at most 20"
        )
    learners = data.get("learners")
    count = data.get("count")
    if learners is None and isinstance(count, int) and 1 <= count <= 200:
        learners = [f"learner-{n:02d}" for n in range(1, count + 1)]
    if not isinstance(learners, list) or not learners:
        raise RoomError(
            f"{path}: neither learners = [...] nor count = N",
            'learners = ["ana", "ben"] or count = 8',
        )
    bad = [str(n) for n in learners if not isinstance(n, str) or not NAME.match(n)]
    if bad or len(set(learners)) != len(learners):
        raise RoomError(f"{path}: learner names {bad or 'repeated'}",
                        "each learner once: lower-case letters, digits and -")  # fmt: skip
    hours = data.get("token_hours", 10)
    if not isinstance(hours, int) or not 1 <= hours <= 48:
        raise RoomError(
            f"{path}: token_hours = {hours!r}", "token_hours: 1 to 48 (a day's session is 8-10)"
        )
    budget = {**default_budget(), **{k: str(v) for k, v in (data.get("budget") or {}).items()}}
    for key, value in budget.items():
        if quantity(value) is None:
            raise RoomError(
                f"{path}: budget {key} = {value!r}", "a Kubernetes quantity: 4, 500m, 6Gi"
            )
    registry = data.get("registry", "")
    if not isinstance(registry, str) or (registry and not REGISTRY.match(registry)):
        raise RoomError(
            f"{path}: registry = {registry!r}",
            'registry = "host:port" or "host/path", where learners push and nodes pull',
        )
    return Room(
        name,
        list(learners),
        hours,
        str(data.get("monitoring_namespace", "monitoring")),
        budget,
        registry,
    )


# -- what each learner gets ------------------------------------------------------------
def meta(room: Room, learner: str, name: str, namespace: str | None = None) -> dict:
    labels = {**MANAGED, ROOM_LABEL: room.name, LEARNER_LABEL: learner}
    found = {"name": name, "labels": labels}
    if namespace:
        found["namespace"] = namespace
    return found


ROLE_RULES = [
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "secrets", "endpoints",
                                      "persistentvolumeclaims"], "verbs": ["*"]},
    {"apiGroups": [""], "resources": ["pods/log", "events", "resourcequotas", "limitranges",
                                      "serviceaccounts"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/portforward", "pods/exec"], "verbs": ["create", "get"]},
    # A drain of their own pods through the Eviction API (lab 05's disruption budget).
    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "replicasets",
                                          "statefulsets"], "verbs": ["*"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["*"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["*"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["*"]},
    {"apiGroups": ["monitoring.coreos.com"], "resources": ["servicemonitors", "prometheusrules"],
     "verbs": ["*"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": ["custom.metrics.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
]  # fmt: skip


def learner_objects(room: Room, learner: str) -> list[dict]:
    ns = room.namespace(learner)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(room, learner, ns)}
    # The restricted Pod Security Standard, enforced, as the labs' own namespace does.
    namespace["metadata"]["labels"].update({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
    })  # fmt: skip
    return [
        namespace,
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta(room, learner, "budget", ns),
         "spec": {"hard": dict(room.budget)}},
        # Containers that name no resources get these, so the quota can count them;
        # none may ask for more than a lab's largest pod.
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta(room, learner, "defaults", ns),
         "spec": {"limits": [{"type": "Container",
                              "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                              "default": {"cpu": "500m", "memory": "256Mi"},
                              "max": {"cpu": "2", "memory": "1Gi"}}]}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": meta(room, learner, ACCOUNT, ns)},
        # What make join reads: where this learner's images go.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(room, learner, ROOM_MAP, ns),
         "data": {"room": room.name, "learner": learner, "repository": room.repository(learner)}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": meta(room, learner, ACCOUNT, ns), "rules": ROLE_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": meta(room, learner, ACCOUNT, ns),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ACCOUNT},
         "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ns}]},
        # Reading its own Namespace object (the checkers read its Pod Security labels),
        # and lab 10's APIService (is the room's Adapter serving?): both are
        # cluster-scoped, so these grants are, each limited to one name.
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": meta(room, learner, f"ml-workshop-room:{ns}"),
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [ns],
                    "verbs": ["get"]},
                   {"apiGroups": ["apiregistration.k8s.io"], "resources": ["apiservices"],
                    "resourceNames": [CUSTOM_METRICS_APISERVICE], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(room, learner, f"ml-workshop-room:{ns}"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": f"ml-workshop-room:{ns}"},
         "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ns}]},
        # Only this namespace's pods and the room's monitoring may reach the pods.
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": meta(room, learner, "same-namespace-and-monitoring", ns),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
             {"podSelector": {}},
             {"namespaceSelector": {"matchLabels": {
                 "kubernetes.io/metadata.name": room.monitoring_namespace}}},
         ]}]}},
    ]  # fmt: skip


def monitoring_objects(room: Room) -> list[dict]:
    """Lab 07 on the room's one Prometheus: the checkers port-forward to it (and to
    Grafana) in the monitoring namespace, so every learner may find those Services
    and port-forward there. Lab 10 on the room's one Adapter: its checker compares
    the Adapter's rules (its ConfigMap) with the learner's. Nothing else in that
    namespace, its Secrets included."""
    ns, name = room.monitoring_namespace, f"ml-workshop-room:{room.name}"
    labels = {**MANAGED, ROOM_LABEL: room.name}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": name, "namespace": ns, "labels": labels},
         "rules": [{"apiGroups": [""], "resources": ["services", "pods"],
                    "verbs": ["get", "list"]},
                   {"apiGroups": [""], "resources": ["pods/portforward"],
                    "verbs": ["create", "get"]},
                   {"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": [pins().get("ADAPTER_RELEASE", "prometheus-adapter")],
                    "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": ns, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT,
                       "namespace": room.namespace(learner)} for learner in room.learners]},
    ]  # fmt: skip


# -- the cluster, through kubectl ------------------------------------------------------
def run_kubectl(*args: str, stdin: str | None = None, timeout: float = 120):
    """kubectl (make tools' pinned one, else the PATH's) as a CompletedProcess; a
    cluster that does not answer in time is a failed run, not an exception."""
    tool = installed_tool("kubectl")
    if tool is None:
        raise RoomError("kubectl is not installed", "make tools")
    try:
        return subprocess.run([tool, *args], input=stdin, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 1, "", f"no answer within {timeout:g} s")


def kubectl(*args: str, stdin: str | None = None) -> str:
    done = run_kubectl(*args, stdin=stdin)
    if done.returncode != 0:
        raise RoomError(f"kubectl {' '.join(args[:3])}: {done.stderr.strip()[-300:]}",
                        "check the room's cluster with kubectl get nodes")  # fmt: skip
    return done.stdout


def apply(objects: list[dict]) -> None:
    kubectl(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )


def ensure_api_key(room: Room, learner: str) -> None:
    ns = room.namespace(learner)
    existing = kubectl("-n", ns, "get", "secret", "-l", f"{ROOM_LABEL}={room.name}", "-o", "name")
    if f"secret/{API_KEY_SECRET}" in existing.split():
        return
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": meta(room, learner, API_KEY_SECRET, ns),
              "stringData": {"api-key": secrets.token_urlsafe(24)}}  # fmt: skip
    apply([secret])


def cluster_entry() -> dict:
    """The instructor's current cluster: its server and CA, for the learners' kubeconfigs."""
    config = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    return config["clusters"][0]["cluster"]


def write_kubeconfig(room: Room, learner: str, cluster: dict) -> Path:
    ns = room.namespace(learner)
    token = kubectl("-n", ns, "create", "token", ACCOUNT, f"--duration={room.token_hours}h").strip()
    name = f"{room.name}-{learner}"
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": room.name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name,
                      "context": {"cluster": room.name, "user": name, "namespace": ns}}],
    }  # fmt: skip
    path = OUT / room.name / f"{learner}.kubeconfig"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path


# -- the commands ------------------------------------------------------------------------
def cmd_size(_args) -> int:
    print(
        f"{'lab':14} {'pods':>5} {'cpu requested':>14} {'memory requested':>17}"
        f" {'memory limit':>13}"
    )
    for p in peaks():
        print(f"{p.lab:14} {p.pods:5} {p.requests_cpu:14.2f} {p.requests_memory / 2**20:14.0f} Mi"
              f" {p.limits_memory / 2**20:10.0f} Mi")  # fmt: skip
    budget = default_budget()
    print(
        "\nper learner, the largest peak plus a quarter: "
        + ", ".join(f"{k}={v}" for k, v in budget.items())
    )
    return 0


def cmd_up(args) -> int:
    room = read_room(args.room)
    cluster = cluster_entry()
    for number, learner in enumerate(room.learners, 1):
        print(f"… [{number}/{len(room.learners)}] {room.namespace(learner)}", flush=True)
        apply(learner_objects(room, learner))
        ensure_api_key(room, learner)
        write_kubeconfig(room, learner, cluster)
    if run_kubectl("get", "namespace", room.monitoring_namespace).returncode == 0:
        apply(monitoring_objects(room))
    else:
        print(f"! no namespace {room.monitoring_namespace}: lab 07 needs the room's"
              " kube-prometheus-stack there (README, room mode), then room-up again")  # fmt: skip
    print(f"✓ room {room.name}: {len(room.learners)} namespaces; kubeconfigs in "
          f"{(OUT / room.name).relative_to(REPO)}/ (valid {room.token_hours} h):"
          " hand each learner theirs")  # fmt: skip
    return 0


def cmd_tokens(args) -> int:
    room = read_room(args.room)
    cluster = cluster_entry()
    chosen = args.learner or room.learners
    for learner in chosen:
        if learner not in room.learners:
            raise RoomError(
                f"{learner} is not in {args.room}", f"one of: {', '.join(room.learners)}"
            )
        print(f"✓ {write_kubeconfig(room, learner, cluster).relative_to(REPO)}")
    return 0


def cmd_down(args) -> int:
    room = read_room(args.room)
    print(f"… deleting what carries the label {ROOM_LABEL}={room.name}", flush=True)
    selector = f"{ROOM_LABEL}={room.name}"
    kubectl("delete", "clusterrolebinding,clusterrole", "-l", selector, "--ignore-not-found")
    kubectl("-n", room.monitoring_namespace, "delete", "rolebinding,role", "-l", selector,
            "--ignore-not-found")  # fmt: skip
    kubectl("delete", "namespace", "-l", selector, "--wait=true", "--timeout=300s")
    for path in sorted((OUT / room.name).glob("*.kubeconfig")):
        path.unlink()
    if (OUT / room.name).is_dir() and not any((OUT / room.name).iterdir()):
        (OUT / room.name).rmdir()
    print(f"✓ room {room.name} removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("size")
    for name in ("up", "down", "tokens"):
        command = sub.add_parser(name)
        command.add_argument("room", type=Path)
        if name == "tokens":
            command.add_argument("learner", nargs="*")
    args = parser.parse_args(argv)
    try:
        return {"size": cmd_size, "up": cmd_up, "down": cmd_down, "tokens": cmd_tokens}[
            args.command
        ](args)
    except RoomError as exc:
        print(f"✗ {exc}\n  hint: {exc.hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
