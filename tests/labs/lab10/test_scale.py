"""Lab 10: the fast service, autoscaled on requests per second through the
Prometheus Adapter. Offline: the Adapter's values, the HPA and the measured
capacity. Live: the metric read through the API server, a scale-out under
in-cluster load, and the fall of the metric once the load stops."""

import re
import time

from checker.cluster import applied, kube, manifests, promql
from checker.cluster.deployment import APP_SELECTOR, namespace_name, require_available
from checker.cluster.kube import quantity
from checker.cluster.secret import read_secret_value
from checker.command import ui
from checker.load import capacity, wrkpod
from checker.outcomes import Fail, Needs, Soft, Unjudged, expect
from checker.room import learner

import harness


# -- offline: the files ---------------------------------------------------------------
def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    manifests.require_valid(documents)


def test_adapter_values_valid(values):
    """The Adapter's values list one custom rule and leave the chart's defaults off"""
    rules = values.data.get("rules") or {}
    soft = Soft()
    where = values.where(["rules"])
    soft.check(isinstance(rules, dict) and harness.custom_rules(values),
               f"{where}: no rules.custom",
               "one rule under rules.custom")  # fmt: skip
    soft.check(isinstance(rules, dict) and rules.get("default") is False,
               f"{where}: rules.default: {rules.get('default', 'not set (true)')}",
               "rules.default: false (the chart's defaults add hundreds of metrics)")  # fmt: skip
    soft.raise_if_any()


def test_adapter_prometheus_url(values):
    """The Adapter reads lab 07's Prometheus, by its Service name"""
    prometheus = values.data.get("prometheus") or {}
    url, port = str(prometheus.get("url", "(not set)")), prometheus.get("port", 9090)
    host, wanted_port = harness.expected_prometheus()
    match = re.fullmatch(r"https?://([^/:]+)(?::(\d+))?/?", url)
    found_host = match.group(1) if match else ""
    found_port = int(match.group(2)) if match and match.group(2) else port
    same_host = found_host in (host, host + ".cluster.local")
    expect(
        same_host and found_port == wanted_port and url.startswith("http://"),
        f"{values.where(['prometheus', 'url'])}: {url}, port {found_port}",
        f"http://{host}, port {wanted_port}",
    )


def test_adapter_rule(values):
    """The rule selects the request counter per pod and publishes it as a per-pod rate"""
    rules = harness.custom_rules(values)
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
        soft.check(harness.series_name(rule) is not None, f"{where}: seriesQuery {query!r}",
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
            tree = promql.parse(harness.rendered(rule))
        except ValueError as exc:
            soft.check(False, f"{where}: metricsQuery does not parse: {exc}", "valid PromQL")
        else:
            calls = {n.func.name for n in promql.nodes(tree) if type(n).__name__ == "Call"}
            soft.check(calls & {"rate", "irate"}, f"{where}: metricsQuery takes no rate()",
                       "rate(...): a counter only grows; its rate is per second")  # fmt: skip
    soft.check(
        harness.published_name(rule),
        f"{where}: no name.as",
        'name: {as: "http_requests_per_second"}',
    )
    soft.raise_if_any()


def test_rate_window(values, documents):
    """The rate() window holds at least two scrapes of the ServiceMonitor"""
    rules = harness.custom_rules(values)
    windows = harness.rate_windows(rules[0]) if rules else []
    if not windows:
        raise Needs("a metricsQuery with rate(...[window]) (see the rule check)")
    interval = harness.scrape_interval(documents)
    shortest = min(windows)
    expect(
        shortest >= 2 * interval,
        f"{values.where(['rules', 'custom', 0, 'metricsQuery'])}: rate over {shortest:g} s, "
        f"scrapes every {interval:g} s",
        f"a window of at least {2 * interval:g} s (two scrapes; 4 × {interval:g} s = "
        f"{4 * interval:g} s rides out a missed one)",
    )


def test_hpa_pods_metric(documents, values):
    """The HPA (autoscaling/v2) scales on the Adapter's metric per pod, and on CPU second"""
    hpa = harness.hpa_document(documents)
    spec = hpa.data.get("spec") or {}
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    rules = harness.custom_rules(values)
    name = harness.published_name(rules[0]) if rules else None
    soft = Soft()
    version = hpa.data.get("apiVersion")
    soft.check(version == "autoscaling/v2", f"{hpa.where(['apiVersion'])}: {version}",
               "autoscaling/v2")  # fmt: skip
    pods = harness.pods_metrics(hpa)
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
    # Room to scale: with maxReplicas at minReplicas no metric can add a pod.
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    soft.check(isinstance(low, int) and isinstance(high, int) and low < high,
               f"{hpa.where(['spec'])}: minReplicas {low}, maxReplicas {high}",
               "maxReplicas above minReplicas: room for the HPA to add pods",
               hint="raise maxReplicas above minReplicas (this lab's: 2 and 6): "
               "with the two equal the HPA can never add a pod")  # fmt: skip
    soft.raise_if_any()


def test_target_within_capacity(documents, measured):
    """The HPA's target leaves headroom below what one pod served (capacity.json)"""
    target, where = harness.hpa_target(documents)
    if target is None:
        raise Needs("a Pods metric with averageValue (see the HPA check)")
    rps = float(measured["requests_per_second"])
    if target > rps:
        raise Fail(f"{where}: {target:g} requests/s per pod, above the {rps:,.0f}/s one pod "
                   "served at saturation",
                   f"at most {harness.HEADROOM * rps:,.0f} ({harness.HEADROOM:.0%})",
                   hint="a pod saturates before it reaches that target, so the HPA never adds "
                        "one: take 60% of capacity.json's requests_per_second")  # fmt: skip
    expect(target <= harness.HEADROOM * rps,
           f"{where}: {target:g} requests/s per pod, {target / rps:.0%} of the {rps:,.0f}/s "
           "measured",
           f"at most {harness.HEADROOM:.0%}: headroom for a new pod to start")  # fmt: skip


# -- live: the cluster ---------------------------------------------------------------
def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployed_from_folder(cluster, documents, lab):
    """The cluster runs what your k8s/ folder says: every object as make deploy applied it"""
    applied.require_deployed(cluster, namespace_name(), documents[0], lab.number)


def test_deployment_available(deployment):
    """The Deployment is Available: all replicas ready, none restarting"""
    require_available(deployment)


def test_capacity_measured(cluster, deployment, measured):
    """capacity.json was measured for the image and pod size you run, and a pod serves it"""
    if deployment.error:
        raise Needs("an available Deployment")
    if stale := harness.measured_for(measured, deployment):
        found, expected, hint = stale
        raise Fail(found, expected, hint=hint, see="Step 1 — Measure one pod")
    key = read_secret_value(cluster, deployment).value or ""
    pod = capacity.ready_pod(deployment)
    result, used = capacity.one_pod(cluster, deployment, pod, key, harness.LIVE_SECONDS,
                                    harness.LIVE_WARMUP_SECONDS)  # fmt: skip
    claimed, limit = float(measured["requests_per_second"]), quantity(measured["pod_cpu_limit"])
    using = f", using {used * 1000:.0f}m of CPU" if used is not None else ""
    found = (f"{capacity.FILE} says {claimed:,.0f} requests/s; one pod served "
             f"{result.rps:,.0f}/s{using} in {harness.LIVE_SECONDS} s just now")  # fmt: skip
    verdict = harness.claim_verdict(claimed, result.rps, used, limit)
    if verdict == "holds":
        ui.progress(found)
        return
    expected = f"at most {harness.CLAIM_TOLERANCE:g}× what a pod serves at its CPU limit"
    if verdict == "refuted":
        raise Fail(f"{found}, its whole limit", expected,
                   hint="that figure is more than this pod serves: make capacity measures it, "
                   "then set the HPA's target from it (Step 3)",
                   see="Step 1 — Measure one pod")  # fmt: skip
    if used is None or not limit:
        why = (
            "the pod has no CPU limit"
            if not limit
            else "the pod exports no process_cpu_seconds_total"
        ) + ", so whether it served at its most is unknown"
    else:
        why = (f"the pod was below its {limit * 1000:g}m CPU limit, so this machine, not the "
               "pod, set the live rate")  # fmt: skip
    raise Unjudged(found, why, expected)


def test_adapter_serves(cluster, values):
    """custom.metrics.k8s.io is served by the Adapter, with your folder's rules"""
    available, state = harness.apiservice_state(cluster)
    expect(available, state, f"{harness.APISERVICE} Available",
           hint="make adapter-up N=10 installs it; kubectl -n monitoring logs "
                "deploy/prometheus-adapter says why it is not ready")  # fmt: skip
    running = harness.live_rules(cluster)
    if learner.in_room() and running != harness.custom_rules(values):
        harness.room_rules(running, values)
        return
    expect(running == harness.custom_rules(values),
           "the Adapter runs other rules than your folder's "
           f"{harness.VALUES}"
           if running is not None else "the Adapter's ConfigMap is not readable",
           f"the rules in {harness.VALUES}",
           hint="apply your values: make adapter-up N=10 (make deploy 10 runs it too)")  # fmt: skip


def test_metric_per_pod(cluster, deployment, values, load):
    """Under load, custom.metrics.k8s.io returns a non-zero rate for each of your pods"""
    rules = harness.custom_rules(values)
    name = harness.published_name(rules[0]) if rules else None
    if name is None or deployment.error:
        raise Needs("a rule with name.as, and an available Deployment")
    ns = namespace_name()
    ready = {p.metadata.name for p in deployment.pods}
    asked = {"at": 0.0}

    def served():
        found = harness.metric_values(cluster, ns, name)
        if isinstance(found, str) or not ready <= set(found):
            ui.status(f"{name}: {found if isinstance(found, str) else 'not for every pod yet'}")
            if time.monotonic() - asked["at"] > 10:  # what no wait can mend stops it now
                asked["at"] = time.monotonic()
                finding, hint, final = harness.broken_link(cluster, values, ns)
                if final:
                    raise Fail(finding, f"{name} for each pod", hint=hint)
            return None
        ui.status(f"{name}: " + ", ".join(f"{v:.0f}/s" for v in found.values()))
        return found if all(found[p] > 0 for p in ready) else None

    try:
        found = kube.wait(f"{name} for each pod", harness.METRIC_SECONDS, served, interval=3)
    finally:
        ui.status_done()
    if found:
        ui.progress(f"{name}: " + ", ".join(f"{p[-5:]} {v:.1f}/s" for p, v in found.items())
                    + f" ({harness.rate_sent(cluster, load)})")  # fmt: skip
        return
    finding, hint, _ = harness.broken_link(cluster, values, ns)
    raise Fail(finding, f"{name} > 0 for each pod within {harness.METRIC_SECONDS} s", hint=hint)


def test_scales_out(cluster, documents, deployment, lab_dir, load):
    """Under load above one pod's target, the HPA adds pods on that metric"""
    hpa = harness.hpa_object(cluster)
    if hpa is None:
        raise Needs("the HPA from k8s/hpa.yaml, applied")
    target, _ = harness.hpa_target(documents)
    running = harness.live_target(hpa)
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
        reading = harness.hpa_metric_reading(fresh)
        ui.status(f"{reading} per pod (target {target:g}), desired replicas "
                  f"{fresh.status.desired_replicas} (min {low})")  # fmt: skip
        # Above the target on this metric, so it alone asks for more pods (CPU may too).
        value = harness.hpa_metric_value(fresh)
        above = value is not None and target is not None and value > target
        return fresh if fresh.status.desired_replicas > low and above else None

    fresh = kube.wait(
        f"desired replicas above {low}", harness.SCALE_OUT_SECONDS, scaled, interval=3
    )
    ui.status_done()
    seconds = time.monotonic() - load["started"]
    if fresh:
        ui.progress(f"scaled out to {fresh.status.desired_replicas} replicas {seconds:.0f} s "
                    f"after the load started, at {harness.hpa_metric_reading(fresh)} per pod "
                    f"({harness.rate_sent(cluster, load)})")  # fmt: skip
        return
    latest = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
        name, hpa.metadata.namespace
    )
    reading = harness.hpa_metric_reading(latest)
    desired = latest.status.desired_replicas
    offered = harness.offered_rps(cluster, load)
    if target is not None and offered is not None and offered <= low * target:
        short = (f"the load reached only {offered:,.0f} requests/s through the Service, "
                 f"not more than {low} pods × {target:g} = {low * target:,.0f}/s")  # fmt: skip
        if busy := harness.saturated_pods(cluster, deployment):
            # The pods serve no faster: the target is above what a pod can serve.
            raise Fail(f"{short}, with the pods at their CPU limit ({busy})",
                       f"a target a pod reaches below its CPU limit ({low * target:,.0f}/s "
                       f"for {low} pods)",
                       hint="your target is more than a pod serves: measure it again (make "
                       "capacity) and set averageValue to 60% of capacity.json's "
                       "requests_per_second", see="Step 3 — Scale on it")  # fmt: skip
        # Not the folder's doing: the load never asked for more than the pods serve.
        raise Unjudged(short, "the pods were below their CPU limit, so the in-cluster load "
                       "generator, not your service, was short of CPU",
                       f"more than {low * target:,.0f}/s to show a scale-out on the metric",
                       hint="close other work on this machine (or give Docker more CPUs), "
                       "then run the check again")  # fmt: skip
    if desired > low and reading != "<unknown>":
        # It scaled, but on CPU: the rate per pod fell before it reached its target.
        rate = harness.hpa_metric_value(latest)
        measured = harness.capacity_of(lab_dir)
        if slower := harness.slower_than_measured(cluster, deployment, measured, rate):
            raise Unjudged(f"the HPA went to {desired} pods on CPU while {reading} per pod "
                           f"stayed under the {target:g} target", slower,
                           f"more than {low} pods asked for by {harness.hpa_metric_name(latest)}",
                           hint="run make capacity again on this machine, or check again "
                           "when it is quieter")  # fmt: skip
        raise Fail(f"the HPA went to {desired} pods on CPU while {reading} per pod stayed "
                   f"under the {target:g} target ({harness.rate_sent(cluster, load)})",
                   f"more than {low} pods asked for by {harness.hpa_metric_name(latest)}",
                   hint="CPU is the backstop: set its averageUtilization above what a pod "
                        "uses at your request target (README → Step 3)")  # fmt: skip
    if reading == "<unknown>":
        raise Fail(f"the HPA shows <unknown> for its Pods metric: {harness.hpa_conditions(latest)}",
                   "a reading from custom.metrics.k8s.io",
                   hint="kubectl describe hpa names the metric it cannot get: it must be the "
                        "rule's name.as")  # fmt: skip
    raise Fail(f"still {desired} desired replicas after {harness.SCALE_OUT_SECONDS} s of load, at "
               f"{reading} per pod ({harness.rate_sent(cluster, load)})",
               f"more than {low} within {harness.SCALE_OUT_SECONDS} s",
               detail=kube.diagnostics(cluster, namespace_name(), APP_SELECTOR))  # fmt: skip


def test_scale_in(cluster, documents, values, load):
    """Once the load stops, the metric falls below target; scale-in follows its window"""
    hpa = harness.hpa_object(cluster)
    rules = harness.custom_rules(values)
    name = harness.published_name(rules[0]) if rules else None
    if hpa is None or name is None:
        raise Needs("the HPA and the Adapter's rule")
    wrkpod.stop(cluster, load["namespace"], load["pod"])
    target, _ = harness.hpa_target(documents)
    stopped = time.monotonic()
    ns, low = namespace_name(), hpa.spec.min_replicas or 1

    def fallen():
        found = harness.metric_values(cluster, ns, name)
        replicas = cluster.autoscaling.read_namespaced_horizontal_pod_autoscaler(
            hpa.metadata.name, ns
        ).status.desired_replicas
        if isinstance(found, str) or not found:
            return None
        average = sum(found.values()) / len(found)
        ui.status(f"{name} {average:.1f}/s per pod (target {target:g}), {replicas} replicas")
        return (average, replicas) if average < (target or 0) or replicas <= low else None

    reading = kube.wait(f"{name} below {target:g}", harness.FALL_SECONDS, fallen, interval=3)
    ui.status_done()
    expect(reading,
           f"{name} still above {target:g} {harness.FALL_SECONDS} s after the load stopped",
           f"below {target:g} within {harness.FALL_SECONDS} s",
           hint="the rate() window decides how fast the metric falls: 1m is enough")  # fmt: skip
    average, replicas = reading
    behavior = hpa.spec.behavior.scale_down if hpa.spec.behavior else None
    window = behavior.stabilization_window_seconds if behavior else None
    window = 300 if window is None else window  # Kubernetes' default
    ui.progress(f"{name} fell to {average:.1f}/s per pod {time.monotonic() - stopped:.0f} s "
                f"after the load stopped; {replicas} replicas now, down to {low} once the "
                f"scale-down window ({window} s) has passed")  # fmt: skip
