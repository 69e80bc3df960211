"""Lab 06: the HorizontalPodAutoscaler, checked live and made to scale under load."""

import time

from checker.cluster import applied, kube, manifests
from checker.cluster.deployment import APP_SELECTOR, namespace_name
from checker.cluster.secret import read_secret_value
from checker.cluster.service import service_of
from checker.command import ui
from checker.load.inpod import load_stats, start_load, stop_load
from checker.outcomes import Fail, Needs, Soft, expect

import harness


def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    manifests.require_valid(documents)


def test_hpa_api_version(documents):
    """The HPA uses autoscaling/v2, the API with behavior and several metrics"""
    doc = harness.hpa_document(documents)
    version = doc.data.get("apiVersion")
    expect(
        version == "autoscaling/v2",
        f"{doc.where(['apiVersion'])}: apiVersion: {version}",
        "apiVersion: autoscaling/v2",
    )


def test_hpa_bounds(documents):
    """minReplicas 2 or more, maxReplicas a bound above it, a CPU target, a scale-down window"""
    doc = harness.hpa_document(documents)
    spec = doc.data.get("spec") or {}
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
    soft = Soft()
    soft.check(low >= 2, f"minReplicas: {low}", "minReplicas: 2, so one pod can fail")
    soft.check(
        low < high <= harness.MAX_REPLICAS_BOUND,
        f"minReplicas {low}, maxReplicas {high}",
        f"minReplicas < maxReplicas ≤ {harness.MAX_REPLICAS_BOUND}",
    )
    cpu = [m for m in spec.get("metrics") or [] if (m.get("resource") or {}).get("name") == "cpu"]
    soft.check(cpu, "no cpu metric", "a Resource metric on cpu with averageUtilization")
    window = ((spec.get("behavior") or {}).get("scaleDown") or {}).get("stabilizationWindowSeconds")
    soft.check(
        window is not None and window >= 60,
        f"scaleDown window: {window}",
        "behavior.scaleDown.stabilizationWindowSeconds: 120",
    )
    soft.raise_if_any()


def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployed_from_folder(cluster, documents, lab):
    """The cluster runs what your k8s/ folder says: every object as make deploy applied it"""
    applied.require_deployed(cluster, namespace_name(), documents[0], lab.number)


def test_metrics_api(cluster):
    """metrics.k8s.io is served (metrics-server)"""
    try:
        kube.pod_metrics(cluster, "kube-system")
    except Exception as exc:
        reason = str(exc).splitlines()[0][:120]
        raise Fail(
            f"metrics.k8s.io does not answer ({reason})",
            "metrics-server running: kubectl top pods works",
        ) from None


def test_hpa_targets_deployment(hpa, deployment):
    """The HPA scales the service's Deployment"""
    expect(
        hpa is not None,
        f"no HorizontalPodAutoscaler labelled {APP_SELECTOR}",
        "the HPA from k8s/hpa.yaml, applied",
    )
    if deployment.error:
        raise Fail(deployment.error, "the Deployment from lab 05", detail=deployment.diagnostics)
    ref, name = hpa.spec.scale_target_ref, deployment.deployment.metadata.name
    expect(
        ref.kind == "Deployment" and ref.name == name,
        f"scaleTargetRef {ref.kind}/{ref.name}",
        f"Deployment/{name}",
    )


def test_cpu_requests(deployment):
    """Every container requests CPU: utilization is measured against it"""
    if deployment.error:
        raise Needs("a Deployment")
    missing = harness.without_cpu_request(deployment)
    expect(
        not missing,
        f"no cpu request in container {', '.join(missing)}",
        "resources.requests.cpu, e.g. 100m",
    )


def test_hpa_metrics_known(cluster, hpa, deployment):
    """The HPA reads a current CPU utilization, not <unknown>"""
    if hpa is None:
        raise Needs("an HPA")
    if harness.without_cpu_request(deployment):
        # No reading can ever come: said at once rather than after METRICS_SECONDS.
        raise Fail(
            "current CPU: <unknown>",
            "a percentage",
            detail="        the pods request no CPU, so there is nothing to divide by",
        )
    found = kube.wait(
        "the HPA's first CPU reading",
        harness.METRICS_SECONDS,
        lambda: harness.current_cpu(cluster, hpa),
        interval=3,
    )
    if found:
        ui.progress(f"current CPU utilization {found[1]}% of requests")
        return
    causes = []
    try:
        kube.pod_metrics(cluster, hpa.metadata.namespace)
    except Exception:
        causes.append("metrics.k8s.io does not answer: metrics-server is missing (make cluster-up)")
    fresh = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
        hpa.metadata.name, hpa.metadata.namespace
    )
    messages = [f"{c.type}={c.status}: {c.message}" for c in fresh.status.conditions or []]
    raise Fail(
        "current CPU: <unknown>",
        "a percentage",
        detail="\n".join("        " + line for line in (causes or messages)),
    )


def test_scales_up(cluster, hpa, deployment):
    """Under load through the Service, the HPA asks for more than minReplicas"""
    if hpa is None or deployment.error or harness.current_cpu(cluster, hpa) is None:
        raise Needs("an HPA with CPU readings")
    service = service_of(cluster, deployment)
    if service.error:
        raise Needs(f"a Service with ready endpoints ({service.error})")
    ns, low = hpa.metadata.namespace, hpa.spec.min_replicas or 1
    if hpa.spec.max_replicas <= low:
        # No load can raise the count: say why now rather than after minutes of load.
        raise Fail(
            f"maxReplicas {hpa.spec.max_replicas}, minReplicas {low}: the HPA can never add a pod",
            f"more than {low} within {harness.SCALE_UP_SECONDS} s",
            hint="raise maxReplicas above minReplicas in k8s/hpa.yaml (e.g. 2 and 6)",
            see="Step 3 — Write the HPA",
        )
    key = read_secret_value(cluster, deployment).value
    load = start_load(
        cluster, deployment, service, key, seconds=harness.SCALE_UP_SECONDS + 30, workers=16
    )
    started = time.monotonic()

    def scaled():
        fresh = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(hpa.metadata.name, ns)
        reading = harness.current_cpu(cluster, hpa)
        ui.status(
            f"CPU {reading[1] if reading else '?'}%, desired replicas "
            f"{fresh.status.desired_replicas} (min {low})"
        )
        return fresh.status.desired_replicas > low and fresh.status.desired_replicas

    desired = kube.wait(
        f"desired replicas above {low}", harness.SCALE_UP_SECONDS, scaled, interval=3
    )
    ui.status_done()
    seconds = time.monotonic() - started
    stats = load_stats(cluster, ns, load) or {}
    stop_load(cluster, ns, load)
    rate = stats.get("sent", 0) / max(seconds, 1)
    if desired:
        ui.progress(
            f"scaled up to {desired} replicas {seconds:.0f} s after the load started "
            f"({rate:.0f} requests/s, p99 {stats.get('p99_ms', '?')} ms)"
        )
    expect(
        desired,
        f"still {low} desired replicas after {harness.SCALE_UP_SECONDS} s of load",
        f"more than {low} within {harness.SCALE_UP_SECONDS} s",
        detail=kube.diagnostics(cluster, ns, APP_SELECTOR),
    )
