"""The learner's service as the cluster runs it (labs 04+): found by its
recommended labels in the lab namespace, waited for with progress, and
explained with events and pod logs when it is not healthy."""

import datetime
import os
from dataclasses import dataclass, field

from checker.cluster import kube
from checker.outcomes import Fail, Soft, Stop
from checker.processes.procs import indent

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


def pod_selector(deployment) -> str:
    """The Deployment's matchLabels as a label selector for listing its pods."""
    return ",".join(f"{k}={v}" for k, v in deployment.spec.selector.match_labels.items())


def observe(cluster, name: str, ns: str) -> DeploymentState:
    """The Deployment, its live pods and what waiting will not fix, read once."""
    state = DeploymentState(ns)
    state.deployment = cluster.apps.read_namespaced_deployment(name, ns)
    selector = pod_selector(state.deployment)
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


def is_settled(state: DeploymentState) -> bool:
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
        state = observe(cluster, name, ns)
        latest[:] = [state]
        return is_settled(state) or bool(state.stuck)

    kube.wait(f"deployment/{name} to finish rolling out", timeout, probe)
    state = latest[0]
    if state.stuck or not is_settled(state) or state.restarts:
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


def settled(cluster, name: str, ns: str) -> bool:
    return is_settled(observe(cluster, name, ns))
