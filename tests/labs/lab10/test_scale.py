"""Lab 10: the fast service, autoscaled on requests per second through the
Prometheus Adapter. Offline: the Adapter's values, the HPA and the measured
capacity. Live: the metric read through the API server, a scale-out under
in-cluster load, and the fall of the metric once the load stops."""

import json
import re
import time
from datetime import timedelta

import pytest
import yaml

from checker import capacity, k8s_yaml, kube, promql, roomreport, ui, wrkpod
from checker.capacity import quantity
from checker.outcomes import Fail, Needs, Soft, Stop, expect
from checker.pins import pins
from checker.workload import (
    APP_SELECTOR,
    namespace_name,
    read_secret_value,
    require_available,
    service_of,
)

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


# -- offline: the files ---------------------------------------------------------------
def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    k8s_yaml.require_valid(documents)


@pytest.fixture(scope="session")
def values(lab_dir):
    """The Adapter's Helm values, as a k8s_yaml.Document (line numbers for messages)."""
    path = lab_dir / VALUES
    if not path.is_file():
        raise Stop(f"{VALUES} is missing", hint="create it from README → Step 2")
    docs, problems = k8s_yaml.read(path.parent)
    if problems:
        raise Stop(f"{VALUES} cannot be read: {problems[0]}",
                   hint="fix the YAML at the line shown (indent with spaces)")  # fmt: skip
    found = [d for d in docs if d.path.name == path.name]
    if not found or not isinstance(found[0].data, dict):
        raise Stop(f"{VALUES} is not a YAML mapping", hint="start from README → Step 2")
    return found[0]


def custom_rules(values) -> list[dict]:
    rules = values.data.get("rules") or {}
    return [r for r in (rules.get("custom") or []) if isinstance(r, dict)]


def test_adapter_values_valid(values):
    """The Adapter's values list one custom rule and leave the chart's defaults off"""
    rules = values.data.get("rules") or {}
    soft = Soft()
    where = values.where(["rules"])
    soft.check(isinstance(rules, dict) and custom_rules(values), f"{where}: no rules.custom",
               "one rule under rules.custom")  # fmt: skip
    soft.check(isinstance(rules, dict) and rules.get("default") is False,
               f"{where}: rules.default: {rules.get('default', 'not set (true)')}",
               "rules.default: false (the chart's defaults add hundreds of metrics)")  # fmt: skip
    soft.raise_if_any()


def expected_prometheus() -> tuple[str, int]:
    values = pins()
    release, namespace = values["MONITORING_RELEASE"], values["MONITORING_NAMESPACE"]
    return f"{release}-kube-prometheus-prometheus.{namespace}.svc", 9090


def test_adapter_prometheus_url(values):
    """The Adapter reads lab 07's Prometheus, by its Service name"""
    prometheus = values.data.get("prometheus") or {}
    url, port = str(prometheus.get("url", "(not set)")), prometheus.get("port", 9090)
    host, wanted_port = expected_prometheus()
    match = re.fullmatch(r"https?://([^/:]+)(?::(\d+))?/?", url)
    found_host = match.group(1) if match else ""
    found_port = int(match.group(2)) if match and match.group(2) else port
    same_host = found_host in (host, host + ".cluster.local")
    expect(
        same_host and found_port == wanted_port and url.startswith("http://"),
        f"{values.where(['prometheus', 'url'])}: {url}, port {found_port}",
        f"http://{host}, port {wanted_port}",
    )


def scrape_interval(documents) -> float:
    monitors = [d for d in documents[0] if d.kind == "ServiceMonitor"]
    endpoints = (
        ((monitors[0].data.get("spec") or {}).get("endpoints") or [{}]) if monitors else [{}]
    )
    interval = str(endpoints[0].get("interval", f"{SCRAPE_DEFAULT:g}s"))
    return seconds_of(interval) or SCRAPE_DEFAULT


def seconds_of(duration: str) -> float | None:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        return None
    return sum(float(n) * units[u] for n, u in parts)


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


def test_adapter_rule(values):
    """The rule selects the request counter per pod and publishes it as a per-pod rate"""
    rules = custom_rules(values)
    if not rules:
        raise Needs("a rule under rules.custom")
    rule, where = rules[0], values.where(["rules", "custom", 0])
    soft = Soft()
    query = str(rule.get("seriesQuery", ""))
    try:
        promql.parse(query)
    except ValueError as exc:
        soft.check(False, f"{where}: seriesQuery {query!r}: {exc}", "a PromQL series selector")
    else:
        soft.check(series_name(rule) is not None, f"{where}: seriesQuery {query!r}",
                   "one metric, e.g. 'http_requests_total{namespace!=\"\",pod!=\"\"}'")  # fmt: skip
    overrides = (rule.get("resources") or {}).get("overrides") or {}
    kinds = {str((v or {}).get("resource")) for v in overrides.values() if isinstance(v, dict)}
    soft.check({"namespace", "pod"} <= kinds, f"{where}: resources.overrides map {sorted(kinds)}",
               "namespace → namespace and pod → pod")  # fmt: skip
    metrics_query = str(rule.get("metricsQuery", ""))
    marks = [m for m in ("<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>")
             if m not in metrics_query]  # fmt: skip
    soft.check(not marks, f"{where}: metricsQuery lacks {', '.join(marks)}",
               "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)")  # fmt: skip
    if not marks:
        try:
            tree = promql.parse(rendered(rule))
        except ValueError as exc:
            soft.check(False, f"{where}: metricsQuery does not parse: {exc}", "valid PromQL")
        else:
            calls = {n.func.name for n in promql.nodes(tree) if type(n).__name__ == "Call"}
            soft.check(calls & {"rate", "irate"}, f"{where}: metricsQuery takes no rate()",
                       "rate(...): a counter only grows; its rate is per second")  # fmt: skip
    soft.check(
        published_name(rule), f"{where}: no name.as", 'name: {as: "http_requests_per_second"}'
    )
    soft.raise_if_any()


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


def test_rate_window(values, documents):
    """The rate() window holds at least two scrapes of the ServiceMonitor"""
    rules = custom_rules(values)
    windows = rate_windows(rules[0]) if rules else []
    if not windows:
        raise Needs("a metricsQuery with rate(...[window]) (see the rule check)")
    interval = scrape_interval(documents)
    shortest = min(windows)
    expect(
        shortest >= 2 * interval,
        f"{values.where(['rules', 'custom', 0, 'metricsQuery'])}: rate over {shortest:g} s, "
        f"scrapes every {interval:g} s",
        f"a window of at least {2 * interval:g} s (two scrapes; 4 × {interval:g} s = "
        f"{4 * interval:g} s rides out a missed one)",
    )


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


def test_hpa_pods_metric(documents, values):
    """The HPA (autoscaling/v2) scales on the Adapter's metric per pod, and on CPU second"""
    hpa = hpa_document(documents)
    spec = hpa.data.get("spec") or {}
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    rules = custom_rules(values)
    name = published_name(rules[0]) if rules else None
    soft = Soft()
    version = hpa.data.get("apiVersion")
    soft.check(version == "autoscaling/v2", f"{hpa.where(['apiVersion'])}: {version}",
               "autoscaling/v2")  # fmt: skip
    pods = pods_metrics(hpa)
    other = [m for m in metrics if m.get("type") in ("Object", "External")]
    if not pods:
        found = ", ".join(str(m.get("type")) for m in metrics) or "none"
        soft.check(False, f"{hpa.where(['spec', 'metrics'])}: metric types {found}",
                   "type: Pods (one value per pod, averaged), not Object (one value for one object)"
                   if other else "a metric of type: Pods")  # fmt: skip
    for index, metric in pods:
        body = metric.get("pods") or {}
        asked = (body.get("metric") or {}).get("name")
        target = body.get("target") or {}
        soft.check(name is None or asked == name,
                   f"{hpa.where(['spec', 'metrics', index])}: metric {asked}",
                   f"{name}, the name the Adapter's rule publishes (name.as)")  # fmt: skip
        soft.check(target.get("type") == "AverageValue" and "averageValue" in target,
                   f"{hpa.where(['spec', 'metrics', index])}: target {target}",
                   'target: {type: AverageValue, averageValue: "<requests/s a pod>"}')  # fmt: skip
    cpu = [m for m in metrics if (m.get("resource") or {}).get("name") == "cpu"]
    soft.check(cpu, "no cpu metric", "CPU kept as a second metric (type: Resource, cpu)")
    soft.raise_if_any()


def hpa_target(documents) -> tuple[float | None, str]:
    hpa = hpa_document(documents)
    for index, metric in pods_metrics(hpa):
        target = ((metric.get("pods") or {}).get("target")) or {}
        if "averageValue" in target:
            return quantity(target["averageValue"]), hpa.where(
                ["spec", "metrics", index, "pods", "target", "averageValue"]
            )
    return None, hpa.where(["spec", "metrics"])


@pytest.fixture(scope="session")
def measured(lab_dir) -> dict:
    path = lab_dir / capacity.FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    rps = found.get("requests_per_second") if isinstance(found, dict) else None
    if not isinstance(rps, int | float):
        raise Fail(f"{capacity.FILE} holds no measurement", "requests_per_second (make capacity)",
                   hint="make deploy 10, then make capacity: it measures one pod and writes "
                        f"{capacity.FILE} (Step 1)")  # fmt: skip
    return found


def test_target_within_capacity(documents, measured):
    """The HPA's target leaves headroom below what one pod served (capacity.json)"""
    target, where = hpa_target(documents)
    if target is None:
        raise Needs("a Pods metric with averageValue (see the HPA check)")
    rps = float(measured["requests_per_second"])
    if target > rps:
        raise Fail(f"{where}: {target:g} requests/s per pod, above the {rps:,.0f}/s one pod "
                   "served at saturation", f"at most {HEADROOM * rps:,.0f} ({HEADROOM:.0%})",
                   hint="a pod saturates before it reaches that target, so the HPA never adds "
                        "one: take 60% of capacity.json's requests_per_second")  # fmt: skip
    expect(target <= HEADROOM * rps,
           f"{where}: {target:g} requests/s per pod, {target / rps:.0%} of the {rps:,.0f}/s "
           "measured", f"at most {HEADROOM:.0%}: headroom for a new pod to start")  # fmt: skip


# -- live: the cluster ---------------------------------------------------------------
def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployment_available(deployment):
    """The Deployment is Available: all replicas ready, none restarting"""
    require_available(deployment)


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


def test_adapter_serves(cluster, values):
    """custom.metrics.k8s.io is served by the Adapter, with your folder's rules"""
    available, state = apiservice_state(cluster)
    expect(available, state, f"{APISERVICE} Available",
           hint="make adapter-up N=10 installs it; kubectl -n monitoring logs "
                "deploy/prometheus-adapter says why it is not ready")  # fmt: skip
    running = live_rules(cluster)
    if roomreport.in_room() and running != custom_rules(values):
        room_rules(running, values)
        return
    expect(running == custom_rules(values),
           "the Adapter runs other rules than your folder's "
           f"{VALUES}" if running is not None else "the Adapter's ConfigMap is not readable",
           f"the rules in {VALUES}",
           hint="apply your values: make adapter-up N=10 (make deploy 10 runs it too)")  # fmt: skip


def room_rules(running: list | None, values) -> None:
    """Room mode: one Adapter serves the room, with the instructor's rules. Yours are
    judged offline above; live, your HPA must read a metric the room's Adapter
    publishes, and the line says whose rule computes it."""
    expect(running is not None, "the room's Adapter's ConfigMap is not readable",
           "the room's rules", hint="ask your instructor: make room-up grants reading it",
           see=roomreport.SEE)  # fmt: skip
    published = [published_name(r) for r in running if isinstance(r, dict)]
    mine = published_name(custom_rules(values)[0]) if custom_rules(values) else None
    expect(mine in published,
           f"the room's Adapter publishes {', '.join(filter(None, published)) or 'nothing'}; "
           f"your rule names {mine}",
           "the name your rule and HPA read, published by the room's Adapter",
           hint="the room's Adapter is the instructor's: use its name in name.as and the HPA",
           see=roomreport.SEE)  # fmt: skip
    ui.progress(f"the room's Adapter publishes {mine} with the instructor's rule, not yours "
                "(yours is judged offline above)")  # fmt: skip


@pytest.fixture(scope="session")
def service(cluster, deployment):
    if deployment.error:
        raise Needs("an available Deployment")
    state = service_of(cluster, deployment)
    if state.error:
        raise Needs(f"the Service ({state.error})")
    return state


@pytest.fixture(scope="session")
def load(cluster, deployment, service):
    """wrk through the Service, in rounds, for as long as the live checks need."""
    key = read_secret_value(cluster, deployment).value or ""
    url = f"http://{service.name}.{service.namespace}.svc.cluster.local:{service.number}/predict"
    total = METRIC_SECONDS + SCALE_OUT_SECONDS
    # Up to a whole core for wrk: at half a core, on a busy 2-core node, it sent
    # less than two pods' target and so could not show a scale-out.
    name = wrkpod.start(cluster, service.namespace, url, key, CONNECTIONS, ROUND_SECONDS,
                        rounds=total // ROUND_SECONDS + 1, cpu="1")  # fmt: skip
    state = {"pod": name, "namespace": service.namespace, "started": time.monotonic()}
    yield state
    wrkpod.stop(cluster, service.namespace, name)


def offered_rps(cluster, load) -> float | None:
    done = wrkpod.rounds(wrkpod.log(cluster, load["namespace"], load["pod"]), CONNECTIONS)
    return done[-1].rps if done else None


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


def test_metric_per_pod(cluster, deployment, values, load):
    """Under load, custom.metrics.k8s.io returns a non-zero rate for each of your pods"""
    rules = custom_rules(values)
    name = published_name(rules[0]) if rules else None
    if name is None or deployment.error:
        raise Needs("a rule with name.as, and an available Deployment")
    ns = namespace_name()
    ready = {p.metadata.name for p in deployment.pods}
    asked = {"at": 0.0}

    def served():
        found = metric_values(cluster, ns, name)
        if isinstance(found, str) or not ready <= set(found):
            ui.status(f"{name}: {found if isinstance(found, str) else 'not for every pod yet'}")
            if time.monotonic() - asked["at"] > 10:  # what no wait can mend stops it now
                asked["at"] = time.monotonic()
                finding, hint, final = broken_link(cluster, values, ns)
                if final:
                    raise Fail(finding, f"{name} for each pod", hint=hint)
            return None
        ui.status(f"{name}: " + ", ".join(f"{v:.0f}/s" for v in found.values()))
        return found if all(found[p] > 0 for p in ready) else None

    try:
        found = kube.wait(f"{name} for each pod", METRIC_SECONDS, served, interval=3)
    finally:
        ui.status_done()
    if found:
        ui.progress(f"{name}: " + ", ".join(f"{p[-5:]} {v:.1f}/s" for p, v in found.items())
                    + f" ({rate_sent(cluster, load)})")  # fmt: skip
        return
    finding, hint, _ = broken_link(cluster, values, ns)
    raise Fail(finding, f"{name} > 0 for each pod within {METRIC_SECONDS} s", hint=hint)


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


def test_scales_out(cluster, documents, load):
    """Under load above one pod's target, the HPA adds pods on that metric"""
    hpa = hpa_object(cluster)
    if hpa is None:
        raise Needs("the HPA from k8s/hpa.yaml, applied")
    target, _ = hpa_target(documents)
    running = live_target(hpa)
    if running != target:
        # Judge the folder, not an older apply.
        raise Fail(f"the cluster's HPA has {'no Pods metric' if running is None else running}"
                   f" where your k8s/hpa.yaml has {target}", "the HPA in your folder, applied",
                   hint="make deploy 10 applies k8s/ (kubectl apply -k k8s)")  # fmt: skip
    low = hpa.spec.min_replicas or 1
    name = hpa.metadata.name

    def scaled():
        fresh = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
            name, hpa.metadata.namespace
        )
        reading = hpa_metric_reading(fresh)
        ui.status(f"{reading} per pod (target {target:g}), desired replicas "
                  f"{fresh.status.desired_replicas} (min {low})")  # fmt: skip
        # Above the target on this metric, so it alone asks for more pods (CPU may too).
        value = hpa_metric_value(fresh)
        above = value is not None and target is not None and value > target
        return fresh if fresh.status.desired_replicas > low and above else None

    fresh = kube.wait(f"desired replicas above {low}", SCALE_OUT_SECONDS, scaled, interval=3)
    ui.status_done()
    seconds = time.monotonic() - load["started"]
    if fresh:
        ui.progress(f"scaled out to {fresh.status.desired_replicas} replicas {seconds:.0f} s "
                    f"after the load started, at {hpa_metric_reading(fresh)} per pod "
                    f"({rate_sent(cluster, load)})")  # fmt: skip
        return
    latest = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
        name, hpa.metadata.namespace
    )
    reading = hpa_metric_reading(latest)
    desired = latest.status.desired_replicas
    offered = offered_rps(cluster, load)
    if target is not None and offered is not None and offered <= low * target:
        # Not the folder's doing: the load never asked for more than the pods serve.
        raise Fail(f"the load reached only {offered:,.0f} requests/s through the Service, "
                   f"not more than {low} pods × {target:g} = {low * target:,.0f}/s",
                   f"more than {low * target:,.0f}/s to show a scale-out on the metric",
                   hint="the in-cluster load generator was short of CPU: close other work "
                        "on this machine (or give Docker more CPUs), then run the check again",
                   see="Troubleshooting")  # fmt: skip
    if desired > low and reading != "<unknown>":
        # It scaled, but on CPU: the rate per pod fell before it reached its target.
        raise Fail(f"the HPA went to {desired} pods on CPU while {reading} per pod stayed "
                   f"under the {target:g} target ({rate_sent(cluster, load)})",
                   f"more than {low} pods asked for by {hpa_metric_name(latest)}",
                   hint="CPU is the backstop: set its averageUtilization above what a pod "
                        "uses at your request target (README → Step 3)")  # fmt: skip
    if reading == "<unknown>":
        raise Fail(f"the HPA shows <unknown> for its Pods metric: {hpa_conditions(latest)}",
                   "a reading from custom.metrics.k8s.io",
                   hint="kubectl describe hpa names the metric it cannot get: it must be the "
                        "rule's name.as")  # fmt: skip
    raise Fail(f"still {desired} desired replicas after {SCALE_OUT_SECONDS} s of load, at "
               f"{reading} per pod ({rate_sent(cluster, load)})",
               f"more than {low} within {SCALE_OUT_SECONDS} s",
               detail=kube.diagnostics(cluster, namespace_name(), APP_SELECTOR))  # fmt: skip


def test_scale_in(cluster, documents, values, load):
    """Once the load stops, the metric falls below target; scale-in follows its window"""
    hpa = hpa_object(cluster)
    rules = custom_rules(values)
    name = published_name(rules[0]) if rules else None
    if hpa is None or name is None:
        raise Needs("the HPA and the Adapter's rule")
    wrkpod.stop(cluster, load["namespace"], load["pod"])
    target, _ = hpa_target(documents)
    stopped = time.monotonic()
    ns, low = namespace_name(), hpa.spec.min_replicas or 1

    def fallen():
        found = metric_values(cluster, ns, name)
        replicas = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
            hpa.metadata.name, ns
        ).status.desired_replicas
        if isinstance(found, str) or not found:
            return None
        average = sum(found.values()) / len(found)
        ui.status(f"{name} {average:.1f}/s per pod (target {target:g}), {replicas} replicas")
        return (average, replicas) if average < (target or 0) or replicas <= low else None

    reading = kube.wait(f"{name} below {target:g}", FALL_SECONDS, fallen, interval=3)
    ui.status_done()
    expect(reading, f"{name} still above {target:g} {FALL_SECONDS} s after the load stopped",
           f"below {target:g} within {FALL_SECONDS} s",
           hint="the rate() window decides how fast the metric falls: 1m is enough")  # fmt: skip
    average, replicas = reading
    behavior = hpa.spec.behavior.scale_down if hpa.spec.behavior else None
    window = behavior.stabilization_window_seconds if behavior else None
    window = 300 if window is None else window  # Kubernetes' default
    ui.progress(f"{name} fell to {average:.1f}/s per pod {time.monotonic() - stopped:.0f} s "
                f"after the load stopped; {replicas} replicas now, down to {low} once the "
                f"scale-down window ({window} s) has passed")  # fmt: skip
