"""Lab 06's harness: what its checks and fixtures share."""

from checker.outcomes import Fail

SCALE_UP_SECONDS = 150
METRICS_SECONDS = 90
MAX_REPLICAS_BOUND = 10


def hpa_document(documents):
    found = [d for d in documents[0] if d.kind == "HorizontalPodAutoscaler"]
    if not found:
        raise Fail("no HorizontalPodAutoscaler in k8s/", "k8s/hpa.yaml with one")
    return found[0]


def without_cpu_request(deployment) -> list[str]:
    """The containers that request no CPU, which the HPA divides its readings by."""
    containers = (
        deployment.deployment.spec.template.spec.containers if deployment.deployment else []
    )
    return [
        c.name
        for c in containers
        if "cpu" not in ((c.resources.requests if c.resources else None) or {})
    ]


def current_cpu(cluster, hpa):
    fresh = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
        hpa.metadata.name, hpa.metadata.namespace
    )
    for metric in fresh.status.current_metrics or []:
        if metric.resource and metric.resource.name == "cpu":
            value = metric.resource.current.average_utilization
            if value is not None:
                return fresh, value
    return None
