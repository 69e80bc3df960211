"""The live cluster, through the kubernetes client: the connection, waits with
progress, what pods say when something fails, and port-forwards.

Any cluster will do: the learners' kind cluster or the project's own test
cluster. The context and namespace come from the kube config unless
WORKSHOP_KUBE_CONTEXT or WORKSHOP_NAMESPACE say otherwise.
"""

import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx

from checker.command import ui
from checker.outcomes import Fail, Stop
from checker.processes import procs
from checker.upkeep.versions import installed_tool

T = TypeVar("T")
CONTEXT_ENV = "WORKSHOP_KUBE_CONTEXT"
NAMESPACE_ENV = "WORKSHOP_NAMESPACE"
CONNECT_TIMEOUT = 5


@dataclass
class Cluster:
    api: object  # kubernetes.client.ApiClient
    context: str
    version: str = ""  # the API server's gitVersion

    @property
    def core(self):
        from kubernetes import client

        return client.CoreV1Api(self.api)

    @property
    def apps(self):
        from kubernetes import client

        return client.AppsV1Api(self.api)

    @property
    def discovery(self):
        from kubernetes import client

        return client.DiscoveryV1Api(self.api)

    @property
    def autoscaling(self):
        from kubernetes import client

        return client.AutoscalingV2Api(self.api)

    @property
    def policy(self):
        from kubernetes import client

        return client.PolicyV1Api(self.api)

    @property
    def custom(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api)


def connect() -> Cluster:
    """The cluster of the chosen context, or Stop with what is wrong."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    wanted = os.environ.get(CONTEXT_ENV) or None
    try:
        _, current = config.list_kube_config_contexts()
        context = wanted or current["name"]
        api = config.new_client_from_config(context=context)
    except (ConfigException, FileNotFoundError, TypeError, KeyError) as exc:
        raise Stop(f"no usable kube config ({exc})") from None
    api.configuration.retries = 0
    try:
        version = client.VersionApi(api).get_code(_request_timeout=CONNECT_TIMEOUT)
    except Exception as exc:  # urllib3 raises several kinds for an unreachable server
        reason = str(exc).splitlines()[0][:160]
        raise Stop(f"the cluster of context {context} does not answer ({reason})") from None
    ui.progress(f"context {context}, Kubernetes {version.git_version}")
    return Cluster(api, context, version.git_version)


def kubectl() -> str:
    """The pinned kubectl from make tools if there is one, else the PATH's."""
    found = installed_tool("kubectl")
    if found is None:
        raise Stop("kubectl is not installed (make tools)")
    return found


def wait(
    what: str, timeout: float, probe: Callable[[], T | None], interval: float = 1.0
) -> T | None:
    """Calls probe until it returns something truthy, showing progress; None on timeout."""
    deadline = time.monotonic() + timeout
    with ui.waiting(what, timeout):
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)


def diagnostics(cluster: Cluster, namespace: str, selector: str, log_lines: int = 5) -> str:
    """The recent events and each container's last log lines for the selected pods."""
    out: list[str] = []
    try:
        pods = cluster.core.list_namespaced_pod(namespace, label_selector=selector).items
        events = cluster.core.list_namespaced_event(namespace).items
    except Exception as exc:
        return f"(could not read the pods: {str(exc).splitlines()[0][:120]})"
    recent = current_events(cluster, namespace, pods, events)
    if recent:
        out.append("events:")
        for event in recent[-8:]:
            kind = event.involved_object.kind
            out.append(
                f"  {event.type} {kind}/{event.involved_object.name}: "
                f"{event.reason}: {(event.message or '').strip()[:160]}"
            )
    for pod in pods[:3]:
        for status in pod.status.container_statuses or []:
            state = status.state
            waiting = state.waiting.reason if state and state.waiting else ""
            out.append(
                f"pod {pod.metadata.name} container {status.name}: "
                f"ready={status.ready} restarts={status.restart_count} {waiting}".rstrip()
            )
            try:
                logs = cluster.core.read_namespaced_pod_log(
                    pod.metadata.name,
                    namespace,
                    container=status.name,
                    tail_lines=log_lines,
                    _request_timeout=CONNECT_TIMEOUT,
                )
            except Exception:
                continue
            out.extend(f"  | {line}" for line in logs.splitlines()[-log_lines:])
    return "\n".join(out) if out else "(no pods match " + selector + ")"


def event_time(event):
    return event.last_timestamp or event.event_time or event.metadata.creation_timestamp


def current_events(cluster: Cluster, namespace: str, pods: list, events: list) -> list:
    """The events of what runs now, oldest first: the selected pods', the ReplicaSets'
    that own them (or the newest, which may own none yet), and the warnings of the
    other objects since their last change. An earlier deploy's events (an old metric
    name, another ReplicaSet's FailedScheduling) are not this folder's evidence."""
    pod_uids = {pod.metadata.uid for pod in pods}
    sets = {o.uid for pod in pods for o in pod.metadata.owner_references or []}
    changed: dict[str, object] = {}

    def belongs(event) -> bool:
        involved = event.involved_object
        if involved.kind == "Pod":
            return involved.uid in pod_uids
        if involved.kind == "ReplicaSet":
            if not sets:
                sets.update(_newest_replica_sets(cluster, namespace, events))
            return involved.uid in sets
        if event.type != "Warning":
            return False
        if involved.uid not in changed:
            changed[involved.uid] = _last_change(cluster, namespace, involved)
        since = changed[involved.uid]
        return since is not False and (since is None or event_time(event) >= since)

    found = [e for e in events if belongs(e)]
    return sorted(found, key=event_time)


def _newest_replica_sets(cluster: Cluster, namespace: str, events: list) -> set:
    """With no pod running, the ReplicaSet created last is the one the rollout waits on."""
    named = [e.involved_object.name for e in events if e.involved_object.kind == "ReplicaSet"]
    try:
        found = [cluster.apps.read_namespaced_replica_set(name, namespace) for name in set(named)]
    except Exception:
        return set()
    if not found:
        return set()
    return {max(found, key=lambda rs: rs.metadata.creation_timestamp).metadata.uid}


# The objects whose warnings count since their last change, read by kind.
READERS = {
    "Deployment": lambda c, name, ns: c.apps.read_namespaced_deployment(name, ns),
    "HorizontalPodAutoscaler": lambda c, name, ns: (
        c.autoscaling.read_namespaced_horizontal_pod_autoscaler(name, ns)
    ),
    "Service": lambda c, name, ns: c.core.read_namespaced_service(name, ns),
    "PodDisruptionBudget": lambda c, name, ns: c.policy.read_namespaced_pod_disruption_budget(
        name, ns
    ),
}


def _last_change(cluster: Cluster, namespace: str, involved):
    """When the object was last changed by its owner (the newest managed-fields entry
    that is not a status update), None when unknown, False when it is gone or was
    recreated since the event."""
    reader = READERS.get(involved.kind)
    if reader is None:
        return None
    try:
        live = reader(cluster, involved.name, namespace)
    except Exception:
        return False
    if involved.uid and live.metadata.uid != involved.uid:
        return False
    times = [f.time for f in live.metadata.managed_fields or []
             if f.time and not getattr(f, "subresource", None)]  # fmt: skip
    return max(times) if times else None


class Forwarded(int):
    """The local port of a port-forward, with what kubectl said since it started (why a
    connection through it failed: "connection refused inside namespace …")."""

    said: deque


@contextmanager
def port_forward(
    cluster: Cluster, namespace: str, target: str, port: int | str
) -> Iterator[Forwarded]:
    """`kubectl port-forward` to target (pod/x or svc/x) on a free local port."""
    command = [
        kubectl(),
        "--context",
        cluster.context,
        "-n",
        namespace,
        "port-forward",
        "--address",
        "127.0.0.1",
        target,
        f":{port}",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    procs.on_cleanup(stop)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"127\.0\.0\.1:(\d+)", first)
        if not found:
            rest = first + (process.stdout.read() if process.poll() is not None else "")
            raise Stop(f"kubectl port-forward {target} failed: {rest.strip()[:200]}")
        local = Forwarded(int(found.group(1)))
        local.said = deque(maxlen=20)
        stream = process.stdout

        # Read on, so that kubectl never blocks on a full pipe, and keep what it says.
        def drain() -> None:
            for line in stream:
                if not line.startswith(("Forwarding from", "Handling connection")):
                    local.said.append(line.strip())

        threading.Thread(target=drain, daemon=True).start()
        yield local
    finally:
        stop()


# What kubectl says when the pod behind a port-forward refuses a connection.
REFUSED = re.compile(r"dial tcp4? [^ ]+:(\d+): connect: ([a-z ]+)")


@contextmanager
def answering_port_forward(
    cluster: Cluster, namespace: str, target: str, port: int | str, path: str = "/healthz",
    timeout: float = 60.0,
) -> Iterator[Forwarded]:  # fmt: skip
    """A port-forward through which the service answers HTTP on path (any status).
    A pod without a readiness probe (lab 04's) is ready before it listens, and kubectl
    port-forward ends at the first connection the pod refuses: so reopen it until the
    service answers, or say what kubectl saw."""
    deadline = time.monotonic() + timeout
    said = ""
    with ExitStack() as stack:
        with ui.waiting(f"the service to answer through port-forward {target}", timeout):
            while True:
                local = stack.enter_context(port_forward(cluster, namespace, target, port))
                try:
                    httpx.get(f"http://127.0.0.1:{local}{path}", timeout=10)
                    break
                except httpx.TransportError as exc:
                    time.sleep(0.5)  # kubectl says why as the connection fails
                    said = " ".join(local.said) or str(exc)
                    stack.close()
                if time.monotonic() >= deadline:
                    refused = REFUSED.search(said)
                    found = (f"the pod behind {target} refused port {refused[1]}: {refused[2]}"
                             if refused else said[:300])  # fmt: skip
                    raise Fail(f"no HTTP answer through kubectl port-forward in {timeout:.0f} s "
                               f"({found})", f"an answer on {path} from the pods behind {target}",
                               hint="the pods run but nothing listens on the port the Service "
                                    "targets: kubectl logs deploy/diabetes-api says whether "
                                    "uvicorn started, and on which port")  # fmt: skip
                time.sleep(2)
        yield local


# The restricted Pod Security profile's container securityContext, for the pods the
# checker itself starts (load generators).
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod_metrics(cluster, namespace: str, selector: str = "") -> list[dict]:
    """metrics.k8s.io's pods in a namespace (each container's CPU and memory in use);
    raises as the API client does when metrics-server does not answer."""
    chosen = {"label_selector": selector} if selector else {}
    return cluster.custom.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", namespace, "pods", **chosen
    )["items"]


def quantity(value) -> float | None:
    """A Kubernetes quantity ("40", "500m", "1k", "256Mi") as a number, or None when it
    is not one: the client library's own parser."""
    from kubernetes.utils import parse_quantity

    if value is None:
        return None
    try:
        return float(parse_quantity(value))
    except (ValueError, TypeError):
        return None
