"""The learner's service as the cluster runs it (labs 04+): found by its
recommended labels in the lab namespace, waited for with progress, and
explained with events and pod logs when it is not healthy."""

import base64
import contextlib
import datetime
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from checker import artifact, kube, procs, ui
from checker.outcomes import Fail, Soft, Stop
from checker.procs import indent

APP = "diabetes-api"
APP_SELECTOR = f"app.kubernetes.io/name={APP}"
LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of"]
# Pod states that waiting longer will not fix.
STUCK = {
    "ErrImageNeverPull",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}
ROLLOUT_TIMEOUT = float(os.environ.get("WORKSHOP_ROLLOUT_TIMEOUT", "90"))


def namespace_name() -> str:
    return os.environ.get(kube.NAMESPACE_ENV) or "workshop"


def namespace(cluster):
    name = namespace_name()
    try:
        return cluster.core.read_namespace(name)
    except Exception:
        raise Stop(
            f"namespace {name} does not exist: nothing is deployed yet",
            "deploy first: make deploy (or set WORKSHOP_NAMESPACE)",
        ) from None


@dataclass
class DeploymentState:
    namespace: str
    deployment: object = None
    pods: list = field(default_factory=list)
    ready: int = 0
    restarts: int = 0
    stuck: str = ""
    error: str = ""
    diagnostics: str = ""


def _newest_template(cluster, deployment, ns: str, selector: str) -> str:
    """The pod-template-hash of the Deployment's current ReplicaSet ('' before it exists):
    an old ReplicaSet's crash-looping pods say nothing about the manifest just applied."""
    revision = (deployment.metadata.annotations or {}).get("deployment.kubernetes.io/revision")
    for replica_set in cluster.apps.list_namespaced_replica_set(ns, label_selector=selector).items:
        owners = replica_set.metadata.owner_references or []
        if (
            any(o.uid == deployment.metadata.uid for o in owners)
            and revision
            and (
                (replica_set.metadata.annotations or {}).get("deployment.kubernetes.io/revision")
                == revision
            )
        ):
            return (replica_set.metadata.labels or {}).get("pod-template-hash", "")
    return ""


def last_exit(status) -> str:
    ended = status.last_state.terminated if status.last_state else None
    said = f" (last exit: {ended.reason}, code {ended.exit_code})" if ended else ""
    return f"container {status.name} restarted {status.restart_count} times{said}"


def _observe(cluster, name: str, ns: str) -> DeploymentState:
    state = DeploymentState(ns)
    state.deployment = cluster.apps.read_namespaced_deployment(name, ns)
    selector = ",".join(f"{k}={v}" for k, v in state.deployment.spec.selector.match_labels.items())
    state.pods = [
        p
        for p in cluster.core.list_namespaced_pod(ns, label_selector=selector).items
        if p.metadata.deletion_timestamp is None
    ]
    newest = _newest_template(cluster, state.deployment, ns, selector)
    for pod in state.pods:
        statuses = pod.status.container_statuses or []
        state.restarts += sum(s.restart_count for s in statuses)
        if statuses and all(s.ready for s in statuses):
            state.ready += 1
        if newest and (pod.metadata.labels or {}).get("pod-template-hash") != newest:
            continue
        for status in statuses:
            reason = status.state.waiting.reason if status.state and status.state.waiting else ""
            if reason in STUCK:
                state.stuck = f"pod {pod.metadata.name}: {reason}"
            elif status.restart_count >= RESTARTS_STUCK and not state.stuck:
                # Between back-offs a crash-looping container shows as running: its
                # restarts say it all the same.
                state.stuck = f"pod {pod.metadata.name}: {last_exit(status)}"
        if not state.stuck and statuses and not all(s.ready for s in statuses):
            state.stuck = _failing_readiness(cluster, pod, ns)
    for condition in state.deployment.status.conditions or []:
        if condition.type == "ReplicaFailure" and condition.status == "True":
            state.stuck = f"ReplicaFailure: {condition.message}"
    return state


# A pod that has run this long and still fails readiness will not get better by
# waiting: say so now rather than at the end of the rollout timeout.
READINESS_PATIENCE = 20.0
READINESS_REPEATS = 3
RESTARTS_STUCK = 2  # a container of the new pods restarted this often will not settle


def _failing_readiness(cluster, pod, ns: str) -> str:
    started = pod.status.start_time
    if started is None:
        return ""
    age = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    if age < READINESS_PATIENCE:
        return ""
    events = cluster.core.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={pod.metadata.name},reason=Unhealthy"
    ).items
    failing = [e for e in events if (e.message or "").startswith("Readiness probe failed")]
    failing.sort(key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp)
    # The service answered, and said no, again and again. A probe that timed out on a
    # busy node (or found nothing listening yet) is not conclusive.
    if not failing or "statuscode:" not in (failing[-1].message or ""):
        return ""
    if (failing[-1].count or 1) < READINESS_REPEATS:
        return ""
    return f"pod {pod.metadata.name}: {failing[-1].message.strip()[:160]}"


def _settled(state: DeploymentState) -> bool:
    d = state.deployment
    wanted = d.spec.replicas or 0
    status = d.status
    return (
        (status.observed_generation or 0) >= d.metadata.generation
        and (status.updated_replicas or 0) == wanted
        and (status.available_replicas or 0) == wanted
        and len(state.pods) == wanted
    )


def running_deployment(cluster, timeout: float = ROLLOUT_TIMEOUT) -> DeploymentState:
    """The Deployment labelled APP_SELECTOR once its rollout has settled (or is stuck)."""
    ns = namespace_name()
    found = cluster.apps.list_namespaced_deployment(ns, label_selector=APP_SELECTOR).items
    if not found:
        return DeploymentState(
            ns,
            error=f"no Deployment labelled {APP_SELECTOR} in {ns}",
            diagnostics=kube.diagnostics(cluster, ns, APP_SELECTOR),
        )
    name = found[0].metadata.name
    latest: list[DeploymentState] = []

    def probe():
        state = _observe(cluster, name, ns)
        latest[:] = [state]
        return _settled(state) or bool(state.stuck)

    kube.wait(f"deployment/{name} to finish rolling out", timeout, probe)
    state = latest[0]
    if state.stuck or not _settled(state) or state.restarts:
        state.diagnostics = (f"{state.stuck}\n" if state.stuck else "") + kube.diagnostics(
            cluster, ns, APP_SELECTOR
        )
    return state


def require_available(state: DeploymentState, min_replicas: int = 0) -> None:
    """Fails unless the rollout settled with every replica ready and none restarting;
    the events and last log lines of the pods involved come with the failure."""
    if state.error:
        raise Fail(state.error, "a Deployment labelled " + APP_SELECTOR, detail=state.diagnostics)
    soft = Soft()
    wanted = state.deployment.spec.replicas or 0
    if min_replicas:
        at_least = f"replicas: {min_replicas} or more"
        soft.check(wanted >= min_replicas, f"replicas: {wanted}", at_least)
    soft.check(state.ready >= wanted and state.ready > 0, f"{state.ready} of {wanted} pods ready",
               "every replica ready")  # fmt: skip
    soft.check(not state.restarts, f"restarts: {state.restarts}", "no container restarts")
    if soft.problems and state.diagnostics:
        found, expected = soft.problems[-1]
        soft.problems[-1] = (found + "\n" + indent(state.diagnostics), expected)
    soft.raise_if_any()


@dataclass
class ServiceState:
    namespace: str
    name: str = ""
    port: int | str = 0
    number: int = 0
    ready_endpoints: int = 0
    error: str = ""
    detail: str = ""


def service_of(cluster, deployment: DeploymentState) -> ServiceState:
    ns = deployment.namespace
    state = ServiceState(ns)
    services = cluster.core.list_namespaced_service(ns, label_selector=APP_SELECTOR).items
    if not services:
        state.error = f"no Service labelled {APP_SELECTOR} in {ns}"
        return state
    service = services[0]
    state.name = service.metadata.name
    selector = service.spec.selector or {}
    if deployment.deployment is None:
        state.error = "no Deployment to select"
        return state
    template = deployment.deployment.spec.template
    labels = template.metadata.labels or {}
    wrong = {k: v for k, v in selector.items() if labels.get(k) != v}
    if not selector or wrong:
        state.error = f"Service {state.name} selector {selector or '{}'} matches no pod"
        state.detail = indent(f"the pod template's labels are {labels}")
        return state
    ports = service.spec.ports or []
    if not ports:
        state.error = f"Service {state.name} has no ports"
        return state
    port = ports[0]
    state.port = port.name or port.port
    state.number = port.port
    container_ports = [p for c in template.spec.containers for p in c.ports or []]
    target = port.target_port if port.target_port is not None else port.port
    named = {p.name: p.container_port for p in container_ports if p.name}
    numbers = {p.container_port for p in container_ports}
    if isinstance(target, str) and not target.isdigit() and target not in named:
        state.error = f"Service {state.name} targetPort {target!r} names no container port"
        state.detail = indent(f"the container's ports are {named or sorted(numbers)}")
        return state
    if (isinstance(target, int) or str(target).isdigit()) and int(target) not in numbers:
        state.error = f"Service {state.name} targetPort {target} is not a container port"
        state.detail = indent(f"the container listens on {sorted(numbers)}")
        return state

    def ready_endpoints():
        slices = cluster.discovery.list_namespaced_endpoint_slice(
            ns, label_selector=f"kubernetes.io/service-name={state.name}"
        ).items
        count = sum(
            1
            for s in slices
            for e in s.endpoints or []
            if e.conditions is None or e.conditions.ready is not False
        )
        state.ready_endpoints = count
        return count >= max(deployment.ready, 1)

    found = kube.wait(f"service/{state.name} endpoints", 30, ready_endpoints)
    if not found and not state.ready_endpoints:
        state.error = f"Service {state.name} has no ready endpoints"
        state.detail = kube.diagnostics(cluster, ns, APP_SELECTOR)
    return state


@dataclass
class Secret:
    value: str | None = None
    error: str = ""


def read_secret_value(cluster, deployment: DeploymentState) -> Secret:
    """The API key the pods get, read from the Secret their env points at."""
    if deployment.deployment is None:
        return Secret(error="no Deployment")
    containers = deployment.deployment.spec.template.spec.containers
    for env in containers[0].env or []:
        if env.name != "API_KEY":
            continue
        if env.value is not None:
            return Secret(env.value, "API_KEY is written in the manifest as plain text")
        ref = env.value_from.secret_key_ref if env.value_from else None
        if ref is None:
            return Secret(error="API_KEY does not come from a Secret")
        try:
            secret = cluster.core.read_namespaced_secret(ref.name, deployment.namespace)
        except Exception:
            return Secret(error=f"Secret {ref.name} does not exist in {deployment.namespace}")
        raw = (secret.data or {}).get(ref.key)
        if raw is None:
            return Secret(error=f"Secret {ref.name} has no key {ref.key}")
        return Secret(base64.b64decode(raw).decode())
    return Secret(error="the container has no API_KEY environment variable")


# -- steady load from inside the cluster (labs 05-06) ------------------------------
LOAD_SCRIPT = (Path(__file__).parent / "inpod_load.py").read_text(encoding="utf-8")
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


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


def settled(cluster, name: str, ns: str) -> bool:
    return _settled(_observe(cluster, name, ns))


def rollout(timeout: float) -> int:
    """make deploy's wait for the rollout: the checker's own judgement of a settled or
    stuck Deployment, so a pod that waiting will not fix ends the wait at once."""
    try:
        cluster = kube.connect()
    except Stop as exc:
        ui.say(f"{ui.FAIL} {exc.message}")
        return 2
    state = running_deployment(cluster, timeout)
    if state.error:
        ui.say(f"{ui.FAIL} {state.error}")
        return 1
    wanted = state.deployment.spec.replicas or 0
    if _settled(state):
        ui.say(f"{ui.PASS} rollout finished: {state.ready} of {wanted} pods ready")
        return 0
    if state.stuck:
        ui.say(f"{ui.FAIL} rollout stuck, waiting will not fix it: {state.stuck}")
    else:
        ready = f"{state.ready} of {wanted} pods ready"
        ui.say(f"{ui.FAIL} rollout not finished after {timeout:.0f} s: {ready}")
    if state.diagnostics:
        ui.say(indent(state.diagnostics))
    return 1
