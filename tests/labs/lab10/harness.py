"""Lab 10's harness: what its checks and fixtures share."""

import json
from datetime import timedelta

import promql_parser
import yaml

from checker.cluster import kube, promql
from checker.cluster.deployment import APP_SELECTOR, namespace_name
from checker.cluster.kube import quantity
from checker.command import ui
from checker.load import capacity, wrkpod
from checker.outcomes import Fail, expect
from checker.room import learner
from checker.upkeep.versions import pins

VALUES = "monitoring/adapter-values.yaml"
GROUP, VERSION = "custom.metrics.k8s.io", "v1beta1"
APISERVICE = f"{VERSION}.{GROUP}"
HEADROOM = 0.8  # the target may use at most 80% of what one pod served
SCRAPE_DEFAULT = 30.0  # seconds, when the ServiceMonitor sets no interval
METRIC_SECONDS = 120  # the metric appears: relist (30 s-1 m) + two scrapes
SCALE_OUT_SECONDS = 150
FALL_SECONDS = 120
ROUND_SECONDS = 10
CONNECTIONS = 16


def custom_rules(values) -> list[dict]:
    rules = values.data.get("rules") or {}
    return [r for r in (rules.get("custom") or []) if isinstance(r, dict)]


def expected_prometheus() -> tuple[str, int]:
    values = pins()
    release, namespace = values["MONITORING_RELEASE"], values["MONITORING_NAMESPACE"]
    return f"{release}-kube-prometheus-prometheus.{namespace}.svc", 9090


def scrape_interval(documents) -> float:
    monitors = [d for d in documents[0] if d.kind == "ServiceMonitor"]
    endpoints = (
        ((monitors[0].data.get("spec") or {}).get("endpoints") or [{}]) if monitors else [{}]
    )
    interval = str(endpoints[0].get("interval", f"{SCRAPE_DEFAULT:g}s"))
    return seconds_of(interval) or SCRAPE_DEFAULT


def seconds_of(duration: str) -> float | None:
    """A Prometheus duration ("30s", "1m30s") in seconds, by promql_parser; None for what
    the operator refuses, a bare number among it."""
    if not duration or duration[-1].isdigit():
        return None
    try:
        return promql_parser.parse_duration(duration).total_seconds()
    except ValueError:
        return None


def rendered(rule: dict) -> str:
    """The metricsQuery as the Adapter sends it, for one namespace and two pods."""
    series = series_name(rule) or "http_requests_total"
    return (str(rule.get("metricsQuery", "")).replace("<<.Series>>", series)
            .replace("<<.LabelMatchers>>", 'namespace="n",pod=~"a|b"')
            .replace("<<.GroupBy>>", "pod"))  # fmt: skip


def series_name(rule: dict) -> str | None:
    try:
        tree = promql.parse(str(rule.get("seriesQuery", "")))
    except ValueError:
        return None
    names = promql.metric_names(tree)
    return next(iter(names)) if len(names) == 1 else None


def published_name(rule: dict) -> str | None:
    name = rule.get("name") or {}
    return str(name["as"]) if isinstance(name, dict) and name.get("as") else None


def rate_windows(rule: dict) -> list[float]:
    try:
        tree = promql.parse(rendered(rule))
    except ValueError:
        return []
    found = []
    for node in promql.nodes(tree):
        if type(node).__name__ == "MatrixSelector":
            window = node.range
            found.append(window.total_seconds() if isinstance(window, timedelta) else float(window))
    return found


def hpa_document(documents):
    found = [d for d in documents[0] if d.kind == "HorizontalPodAutoscaler"]
    if not found:
        raise Fail("no HorizontalPodAutoscaler in k8s/", "k8s/hpa.yaml with one")
    return found[0]


def pods_metrics(hpa) -> list[tuple[int, dict]]:
    metrics = (hpa.data.get("spec") or {}).get("metrics") or []
    return [
        (i, m) for i, m in enumerate(metrics) if isinstance(m, dict) and m.get("type") == "Pods"
    ]


def hpa_target(documents) -> tuple[float | None, str]:
    hpa = hpa_document(documents)
    for index, metric in pods_metrics(hpa):
        target = ((metric.get("pods") or {}).get("target")) or {}
        if "averageValue" in target:
            return quantity(target["averageValue"]), hpa.where(
                ["spec", "metrics", index, "pods", "target", "averageValue"]
            )
    return None, hpa.where(["spec", "metrics"])


def apiservice_state(cluster) -> tuple[bool, str]:
    try:
        found = cluster.custom.get_cluster_custom_object(
            "apiregistration.k8s.io", "v1", "apiservices", APISERVICE
        )
    except Exception:
        return False, f"no APIService {APISERVICE}: the Adapter is not installed"
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Available":
            return condition.get("status") == "True", (
                f"APIService {APISERVICE}: {condition.get('reason')} {condition.get('message', '')}"
            )
    return False, f"APIService {APISERVICE} reports no condition yet"


def live_rules(cluster) -> list | None:
    """The rules the running Adapter was given (its ConfigMap), or None."""
    values = pins()
    try:
        config = cluster.core.read_namespaced_config_map(
            values["ADAPTER_RELEASE"], values["MONITORING_NAMESPACE"]
        )
        return (yaml.safe_load((config.data or {}).get("config.yaml", "")) or {}).get("rules")
    except Exception:
        return None


def room_rules(running: list | None, values) -> None:
    """Room mode: one Adapter serves the room, with the instructor's rules. Yours are
    judged offline above; live, your HPA must read a metric the room's Adapter
    publishes, and the line says whose rule computes it."""
    expect(running is not None, "the room's Adapter's ConfigMap is not readable",
           "the room's rules", hint="ask your instructor: make room-up grants reading it",
           see=learner.SEE)  # fmt: skip
    published = [published_name(r) for r in running if isinstance(r, dict)]
    mine = published_name(custom_rules(values)[0]) if custom_rules(values) else None
    expect(mine in published,
           f"the room's Adapter publishes {', '.join(filter(None, published)) or 'nothing'}; "
           f"your rule names {mine}",
           "the name your rule and HPA read, published by the room's Adapter",
           hint="the room's Adapter is the instructor's: use its name in name.as and the HPA",
           see=learner.SEE)  # fmt: skip
    ui.progress(f"the room's Adapter publishes {mine} with the instructor's rule, not yours "
                "(yours is judged offline above)")  # fmt: skip


def offered_rps(cluster, load) -> float | None:
    done = wrkpod.rounds(wrkpod.log(cluster, load["namespace"], load["pod"]), CONNECTIONS)
    return done[-1].rps if done else None


# CPU per request this many times what capacity.json measured: the machine is slower now.
SLOWER = 1.5


def pod_cpu(cluster, deployment) -> list[tuple[str, float, float | None]]:
    """(pod, cores used, its CPU limit in cores) for each container of the service's
    pods, from metrics.k8s.io; [] when it does not answer."""
    containers = deployment.deployment.spec.template.spec.containers
    limits = {c.name: quantity(((c.resources and c.resources.limits) or {}).get("cpu"))
              for c in containers}  # fmt: skip
    try:
        items = kube.pod_metrics(cluster, deployment.namespace, APP_SELECTOR)
    except Exception:
        return []
    found = []
    for item in items:
        for container in item.get("containers", []):
            used = quantity(container["usage"].get("cpu"))
            if used is not None and container["name"] in limits:
                found.append((item["metadata"]["name"], used, limits[container["name"]]))
    return found


def saturated_pods(cluster, deployment) -> str:
    """The service's pods that run at their CPU limit, as evidence that the service,
    not the load generator, set the rate; "" when none does or no limit is set."""
    return ", ".join(f"{pod} {used * 1000:.0f}m of {limit * 1000:.0f}m"
                     for pod, used, limit in pod_cpu(cluster, deployment)
                     if limit and used >= capacity.SATURATED * limit)  # fmt: skip


def capacity_of(lab_dir) -> dict:
    """capacity.json as measured, or {} when it is missing or not a JSON object (the
    measured fixture says so; the evidence rules take {} as no evidence)."""
    try:
        found = json.loads((lab_dir / capacity.FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


# capacity.json may claim up to this many times what one pod serves in a short live
# run at its CPU limit (README → Step 1 says why): more is a figure this pod never served.
CLAIM_TOLERANCE = 3.0
LIVE_SECONDS, LIVE_WARMUP_SECONDS = 5, 2


def digest(image_id: str | None) -> str:
    """An image ID's sha256, whether the runtime prefixes it with a repository or not."""
    return (image_id or "").rpartition("sha256:")[2][:64]


def measured_for(measured: dict, deployment) -> tuple[str, str, str] | None:
    """Why capacity.json was not measured for what runs: (found, expected, hint), or
    None when its image digest and CPU limit are the running pods'."""
    running = sorted({digest(capacity.image_id(p)) for p in deployment.pods} - {""})
    shown = ", ".join(f"sha256:{d[:12]}" for d in running) or "no image reported yet"
    claimed = digest(measured.get("image_id"))
    if not claimed:
        return (f"{capacity.FILE} names no image digest (image_id)",
                f"the digest make capacity records for your pods' image ({shown})",
                "make capacity measures the image you run and records its digest: a figure "
                "typed in, or measured before it recorded one, is not a measurement")  # fmt: skip
    if claimed not in running:
        return (f"{capacity.FILE} was measured for image sha256:{claimed[:12]}; your pods run "
                f"{shown}", "a measurement of the image you run",
                "the image changed since it was measured: make capacity measures it again, "
                "then set the HPA's target from it (Step 3)")  # fmt: skip
    containers = deployment.deployment.spec.template.spec.containers
    limits = (containers[0].resources and containers[0].resources.limits) or {}
    limit = quantity(limits.get("cpu"))
    then = quantity(measured.get("pod_cpu_limit"))
    if limit != then:
        return (f"{capacity.FILE} was measured at a CPU limit of {measured.get('pod_cpu_limit')}; "
                f"your pods have {limit and f'{limit * 1000:g}m'}",
                "a measurement at your pods' CPU limit",
                "what a pod serves follows its CPU limit: make capacity measures it again "
                "at the new size, then set the HPA's target from it (Step 3)")  # fmt: skip
    return None


def claim_verdict(claimed: float, served: float, used: float | None, limit: float | None) -> str:
    """capacity.json's figure against a short live run at one pod: "holds" within the
    tolerance; "refuted" above it while the pod used its whole CPU limit (it serves no
    faster, so the figure was never this pod's); else "unjudged": the machine set the rate."""
    if claimed <= CLAIM_TOLERANCE * served:
        return "holds"
    if used is not None and limit and used >= capacity.SATURATED * limit:
        return "refuted"
    return "unjudged"


def slower_than_measured(cluster, deployment, measured: dict, rate: float | None) -> str:
    """Why CPU tripped before the request target on this machine, or "": each request
    costs more CPU here than capacity.json measured (its CPU limit over the requests a
    pod served at saturation), so the machine is slower now, not the CPU target low."""
    limit, served = quantity(measured.get("pod_cpu_limit")), measured.get("requests_per_second")
    used = [cores for _, cores, _ in pod_cpu(cluster, deployment)]
    if not limit or not isinstance(served, int | float) or not served or not rate or not used:
        return ""
    then, now = limit / served, (sum(used) / len(used)) / rate
    if now <= SLOWER * then:
        return ""
    return (
        f"a request costs {now * 1000:.1f} ms of CPU here, {now / then:.1f}× the "
        f"{then * 1000:.1f} ms capacity.json measured: this machine is slower than when "
        "it was measured, so CPU reached its target first"
    )


def rate_sent(cluster, load) -> str:
    rps = offered_rps(cluster, load)
    return f"{rps:,.0f} requests/s through the Service" if rps is not None else "no round done yet"


def metric_values(cluster, ns: str, name: str) -> dict[str, float] | str:
    """The metric for every pod of the service, by pod name; or why there is none."""
    try:
        found = cluster.custom.api_client.call_api(
            f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/pods/*/{name}", "GET",
            query_params=[("labelSelector", APP_SELECTOR)],
            header_params={"Accept": "application/json"}, response_type="object",
            _return_http_data_only=True, auth_settings=["BearerToken"])  # fmt: skip
    except Exception as exc:
        return str(getattr(exc, "reason", exc)).splitlines()[0][:160]
    return {i["describedObject"]["name"]: quantity(i["value"]) or 0.0 for i in found["items"]}


def broken_link(cluster, values, ns: str) -> tuple[str, str, bool]:
    """Which link between the pods and the HPA is broken: (finding, hint, final). Final:
    no wait can mend it (the series exist, but the rule's query matches none of them)."""
    available, state = apiservice_state(cluster)
    if not available:
        return state, "kubectl -n monitoring logs deploy/prometheus-adapter says why", False
    rules = custom_rules(values)
    series_query = str(rules[0].get("seriesQuery", "")) if rules else ""
    try:
        with promql.reach(cluster) as prom:
            counted = prom.query(f'count(http_requests_total{{namespace="{ns}"}})')
            matched = prom.query(f"count({series_query})") if series_query else []
    except Exception as exc:  # any failure to ask is itself the finding
        return f"Prometheus cannot be asked: {exc}", "make monitoring-up (lab 07)", False
    if not counted:
        return (
            f"Prometheus has no http_requests_total series from namespace {ns}",
            "lab 07's ServiceMonitor must be applied (make deploy 10 applies k8s/)",
            False,
        )
    if not matched:
        return (
            f"the rule's seriesQuery {series_query} matches no series in Prometheus",
            "run the seriesQuery in Prometheus → Graph: the metric name or a label is wrong",
            True,
        )
    name = published_name(rules[0]) if rules else "metric"
    return (
        f"{APISERVICE} serves no {name} for namespace {ns}'s pods",
        f"check name.as and resources.overrides in {VALUES}",
        False,
    )


def hpa_object(cluster):
    found = cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler(
        namespace_name(), label_selector=APP_SELECTOR
    ).items
    return found[0] if found else None


def live_target(hpa) -> float | None:
    """The per-pod target of the HPA the cluster runs, if it has a Pods metric."""
    for metric in hpa.spec.metrics or []:
        if metric.type == "Pods" and metric.pods and metric.pods.target:
            return quantity(metric.pods.target.average_value)
    return None


def hpa_metric_reading(hpa) -> str:
    value = hpa_metric_value(hpa)
    return "<unknown>" if value is None else f"{value:.1f}/s"


def hpa_metric_name(hpa) -> str:
    for metric in hpa.spec.metrics or []:
        if metric.type == "Pods" and metric.pods:
            return metric.pods.metric.name
    return "the Pods metric"


def hpa_metric_value(hpa) -> float | None:
    """The HPA's own reading of its Pods metric (its average per pod), if it has one."""
    for metric in (hpa.status.current_metrics or []) if hpa and hpa.status else []:
        if metric.type == "Pods" and metric.pods and metric.pods.current:
            return quantity(metric.pods.current.average_value)
    return None


def hpa_conditions(hpa) -> str:
    return "; ".join(f"{c.type}={c.status} {c.reason}: {c.message}"
                     for c in (hpa.status.conditions or []) if c.status != "True")  # fmt: skip
