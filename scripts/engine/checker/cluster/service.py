"""The learner's Service (labs 04+): found by its recommended labels, its selector and
target port checked against the Deployment, waited for until its endpoints are ready."""

from dataclasses import dataclass

from checker.cluster import kube
from checker.cluster.deployment import APP_SELECTOR, DeploymentState
from checker.processes.procs import indent


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
