"""Lab 07: metrics, a ServiceMonitor, alert rules and a dashboard, checked live
against the Prometheus that scrapes the cluster."""

import base64
import json
import re
import subprocess

import httpx
import yaml

from checker.cluster import applied, kube, manifests, promql
from checker.cluster.deployment import APP, namespace_name, require_available
from checker.command import ui
from checker.command.course import REPO
from checker.outcomes import Fail, Needs, NotRun, Soft, expect
from checker.room import learner
from checker.upkeep.versions import installed_tool, pins

import harness


# -- offline: the files ------------------------------------------------------------
def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    manifests.require_valid(documents)


def test_monitor_release_label(documents):
    """The ServiceMonitor and the PrometheusRule carry the label Prometheus selects them by"""
    docs = harness.of_kind(documents, "ServiceMonitor") + harness.of_kind(
        documents, "PrometheusRule"
    )
    if not docs:
        raise Fail("no ServiceMonitor or PrometheusRule in k8s/", "both, labelled release")
    problems = [p for p in map(harness.release_problem, docs) if p]
    expect(not problems, "; ".join(problems), "metadata.labels.release: monitoring on each")


def test_monitor_port(documents):
    """Each ServiceMonitor endpoint names a port of the Service, by its name"""
    doc = harness.monitor_document(documents)
    endpoints = (doc.data.get("spec") or {}).get("endpoints")
    expect(
        isinstance(endpoints, list) and endpoints,
        f"{doc.where(['spec', 'endpoints'])}: endpoints: {endpoints!r}",
        'a list of endpoints, each item starting with "- "',
    )
    ports = harness.service_ports(documents)
    soft = Soft()
    for index, endpoint in enumerate(endpoints):
        port = endpoint.get("port") if isinstance(endpoint, dict) else None
        where = doc.where(["spec", "endpoints", index])
        soft.check(
            port in ports,
            f"{where}: port: {port!r}"
            + (
                " (a number: the operator matches it against port names)"
                if harness.numeric_port(port)
                else ""
            ),
            f"the name of a Service port: {', '.join(ports) or 'the Service has no named port'}",
        )
        soft.check(
            "targetPort" not in (endpoint or {}),
            f"{where}: targetPort is set (deprecated)",
            "port: <the Service port's name> only",
        )
    soft.raise_if_any()


def test_monitor_selects_service(documents):
    """The ServiceMonitor's selector matches the Service's labels"""
    doc = harness.monitor_document(documents)
    wanted = ((doc.data.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    services = [d for d in harness.of_kind(documents, "Service") if d.name == APP]
    labels = ((services[0].data.get("metadata") or {}).get("labels") or {}) if services else {}
    expect(
        wanted and all(labels.get(k) == v for k, v in wanted.items()),
        f"{doc.where(['spec', 'selector'])}: matchLabels {wanted or '{}'}",
        f"labels the Service {APP} carries, e.g. app.kubernetes.io/name: {APP}",
    )


def test_alert_rules(rules):
    """Alert rules parse, and alert on the error rate and on latency (histogram_quantile)"""
    if not rules:
        raise Fail("no PrometheusRule with rules in k8s/", "k8s/prometheusrule.yaml")
    soft = Soft()
    error_alert = latency_alert = False
    for where, rule in rules:
        try:
            tree = promql.parse(str(rule.get("expr", "")))
        except ValueError as exc:
            soft.check(False, f"{where}: expr does not parse: {exc}", "valid PromQL")
            continue
        if "alert" not in rule:
            continue
        names, text = promql.metric_names(tree), str(rule["expr"])
        error_alert |= "http_requests_total" in names and "5xx" in text
        latency_alert |= bool(promql.quantiles_of(tree, "http_request_duration_seconds_bucket"))
        averaged = promql.averaged_histograms(tree)
        soft.check(not averaged, f"{where}: averages {', '.join(sorted(averaged))}",
                   "histogram_quantile over the _bucket series")  # fmt: skip
    soft.check(error_alert, "no alert on the share of 5xx responses",
               'an alert on rate(http_requests_total{status="5xx"}) / all requests')  # fmt: skip
    soft.check(
        latency_alert,
        "no alert on a latency quantile",
        "an alert on histogram_quantile(0.99, ...http_request_duration_seconds_bucket...)",
    )
    soft.raise_if_any()


def test_alerts_behave(documents, rules, tmp_path_factory):
    """Each alert fires when users are hurt and stays silent when they are not (promtool)"""
    names = {str(rule.get("alert")) for _, rule in rules if "alert" in rule}
    missing = [name for name in harness.ALERTS.values() if name not in names]
    if missing:
        raise Fail(f"no alert named {', '.join(missing)}", ", ".join(harness.ALERTS.values()))
    tool = installed_tool("promtool")
    if tool is None:
        raise NotRun("promtool is not installed: make tools installs it (it needs the internet)")
    work = tmp_path_factory.mktemp("promtool")
    groups = [g for doc in harness.of_kind(documents, "PrometheusRule")
              for g in (doc.data.get("spec") or {}).get("groups") or []]  # fmt: skip
    (work / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    files = []
    for n, scenario in enumerate(harness.SCENARIOS, start=1):
        files.append(f"scenario-{n}.yaml")
        (work / files[-1]).write_text(yaml.safe_dump(harness.promtool_test(scenario, "rules.yaml")))
    # One stream: promtool writes each file's name to stdout and its failures to stderr.
    done = subprocess.run([tool, "test", "rules", *files], cwd=work, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)  # fmt: skip
    if done.returncode == 0:
        return
    said = done.stdout
    # The rules themselves: promtool names rules.yaml when it cannot load them, and
    # then every scenario fails for that one reason.
    unloadable = [ln.strip() for ln in said.splitlines() if ln.strip().startswith("rules.yaml:")]
    if unloadable:
        raise Fail(f"promtool cannot load the rules: {unloadable[0].removeprefix('rules.yaml: ')}",
                   "rules that promtool loads",
                   hint="fix the rule it names in k8s/prometheusrule.yaml (durations like 5m, "
                   "valid PromQL), then check again")  # fmt: skip
    failed = harness.failed_files(said)
    wrong = [s for f, s in zip(files, harness.SCENARIOS, strict=True) if f in failed]
    if not wrong:  # promtool failed in a way no scenario explains
        raise Fail(
            f"promtool test rules: {said.strip().splitlines()[-1].strip()}",
            "rules that promtool loads",
            detail="\n".join("        " + ln for ln in said.strip().splitlines()[-8:]),
        )
    raise Fail(
        "; ".join(f"{harness.ALERTS[a]} {'stays silent' if fires else 'fires'} with {name}"
                  for name, _, a, fires, _, _ in wrong),
        "each alert fires in its scenarios and only there",
        hint=wrong[0][5],
    )  # fmt: skip


def test_dashboard_valid(dashboard):
    """The dashboard JSON matches the schema, and every panel query parses"""
    import jsonschema

    schema = json.loads((REPO / "grafana" / "dashboard.schema.json").read_text())
    soft = Soft()
    for error in sorted(jsonschema.Draft202012Validator(schema).iter_errors(dashboard), key=str):
        field = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        soft.check(
            False, f"{harness.DASHBOARD} {field}: {error.message[:140]}", "the schema's shape"
        )
    for panel in harness.panels(dashboard):
        for target in panel.get("targets", []):
            try:
                promql.parse(promql.substitute(str(target.get("expr", "")), "workshop"))
            except ValueError as exc:
                soft.check(False, f"panel '{panel.get('title')}': {exc}", "valid PromQL")
    soft.raise_if_any()


def test_dashboard_panels(dashboard):
    """Panels for rate, latency, status classes, predictions, replicas, CPU and memory"""
    trees = harness.panel_trees(dashboard)
    read = set().union(*(promql.metric_names(t) for _, t in trees)) if trees else set()
    missing = [what for what, series in harness.PANEL_SERIES.items() if not series & read]
    by_status = any(
        "http_requests_total" in promql.metric_names(t) and "status" in str(t) for _, t in trees
    )
    soft = Soft()
    soft.check(not missing, f"no panel for: {', '.join(missing)}", "one panel for each")
    soft.check(by_status, "no panel splits requests by status", "sum by (status) (rate(...))")
    soft.raise_if_any()


def test_latency_quantiles(dashboard):
    """Latency is read with histogram_quantile (p50, p95, p99), never averaged"""
    trees = harness.panel_trees(dashboard)
    found = set().union(
        *(promql.quantiles_of(t, "http_request_duration_seconds_bucket") for _, t in trees)
    ) if trees else set()  # fmt: skip
    averaged = [f"panel '{title}' averages {', '.join(sorted(promql.averaged_histograms(t)))}"
                for title, t in trees if promql.averaged_histograms(t)]  # fmt: skip
    soft = Soft()
    soft.check(
        {0.5, 0.95, 0.99} <= found,
        f"quantiles {sorted(found) or 'none'}",
        "histogram_quantile at 0.5, 0.95 and 0.99 over http_request_duration_seconds_bucket",
    )
    soft.check(not averaged, "; ".join(averaged), "no avg over histogram series")
    soft.raise_if_any()


# -- live: the service's /metrics ----------------------------------------------------
def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployed_from_folder(cluster, documents, lab):
    """The cluster runs what your k8s/ folder says: every object as make deploy applied it"""
    applied.require_deployed(cluster, namespace_name(), documents[0], lab.number)


def test_deployment_available(deployment):
    """The Deployment is Available: all replicas ready, none restarting"""
    require_available(deployment)


def test_metrics_exposed(exposition):
    """GET /metrics serves the HTTP, inference, prediction and model-info series"""
    if "error" in exposition:
        raise Fail(exposition["error"], "200 with the Prometheus text format from GET /metrics")
    families = exposition["families"]
    missing = [name for name in harness.EXPECTED_FAMILIES if name not in families]
    expect(not missing, f"missing: {', '.join(missing)}", ", ".join(harness.EXPECTED_FAMILIES))
    info = [s for s in families["diabetes_model_info"].samples if s.name == "diabetes_model_info"]
    expect(
        info and {"name", "version"} <= set(info[0].labels),
        f"diabetes_model_info labels {info[0].labels if info else 'none'}",
        "labels name and version",
    )
    ui.progress(f"{len(families)} metric families on /metrics")


def test_metric_naming(exposition):
    """Counters end in _total, durations are in seconds, label values stay bounded"""
    if "error" in exposition:
        raise Needs("/metrics")
    soft = Soft()
    for name, family in exposition["families"].items():
        wanted = harness.EXPECTED_FAMILIES.get(name)
        if wanted and family.type != wanted:
            hint = (
                f"a Counter, exposed as {name}_total"
                if wanted == "counter"
                else f"a {wanted.capitalize()}"
            )
            soft.check(False, f"{name} is a {family.type}", hint)
        if family.type in ("gauge", "untyped") and re.search(r"_(total|count)$", name):
            soft.check(False, f"{name} is a {family.type}", "a name ending in _total is a counter")
        if re.search(r"_(ms|milliseconds|millis)(_|$)", name):
            soft.check(False, f"{name} is in milliseconds", "durations in _seconds")
        for label in {k for s in family.samples for k in s.labels} - {"le", "quantile"}:
            values = {s.labels[label] for s in family.samples if label in s.labels}
            soft.check(
                len(values) <= harness.LABEL_VALUES_BOUND
                and label not in ("request_id", "id", "path"),
                f"{name}{{{label}}} has {len(values)} values",
                f"bounded label values (≤ {harness.LABEL_VALUES_BOUND}): "
                "route templates, status classes",
            )
    soft.raise_if_any()


def test_targets_up(cluster, prometheus, deployment):
    """Prometheus scrapes every ready pod of the service, and each target is up"""
    if isinstance(prometheus, Exception):
        raise Fail(str(prometheus), "a Prometheus that scrapes the cluster (make monitoring-up)")
    if deployment.error:
        raise Needs("an available Deployment")
    namespace, pods = deployment.namespace, max(deployment.ready, 1)
    if cause := harness.unscrapable(harness.applied_monitors(cluster, namespace), namespace):
        raise cause

    def all_up():
        found = harness.app_targets(prometheus, namespace)
        up = [t for t in found if t["health"] == "up"]
        return found if len(up) >= pods else None

    if kube.wait(f"{pods} targets up in Prometheus", harness.TARGETS_SECONDS, all_up, interval=3):
        return
    found = harness.app_targets(prometheus, namespace)
    if not found:
        raise Fail(
            f"Prometheus has no target with job={APP} in namespace {namespace}",
            f"{pods} targets, one per ready pod",
            detail="Prometheus ignores a ServiceMonitor without the release label,"
            " and finds no endpoint when its port names no Service port",
        )
    down = [f"{t['labels'].get('pod')}: {t['health']} {t.get('lastError', '')}" for t in found]
    raise Fail(f"{len(found)} targets: " + "; ".join(down), f"{pods} targets, all up")


def test_rules_loaded(prometheus, rules):
    """Prometheus has loaded the alert rules, and evaluates them without errors"""
    prom = harness.ready_prometheus(prometheus)
    wanted = {r["alert"] for _, r in rules if "alert" in r}
    if not wanted:
        raise Needs("alert rules in k8s/prometheusrule.yaml")

    def loaded():
        rules_now = {r["name"]: r for r in prom.rules() if r["type"] == "alerting"}
        return rules_now if wanted <= set(rules_now) else None

    found = kube.wait("Prometheus to load the alert rules", 60, loaded, interval=3)
    if found is None:
        have = sorted(r["name"] for r in prom.rules() if r["type"] == "alerting")
        raise Fail(f"loaded alerts: {', '.join(have) or 'none'}", ", ".join(sorted(wanted)))
    broken = [f"{name}: {found[name].get('lastError')}" for name in wanted
              if found[name].get("health") == "err"]  # fmt: skip
    expect(not broken, "; ".join(broken), "every rule evaluates")


def test_panels_return_data(prometheus, dashboard, deployment, traffic):
    """After the checker's own traffic, every dashboard panel returns data"""
    prom = harness.ready_prometheus(prometheus)
    if deployment.error:
        raise Needs("an available Deployment")
    if not harness.app_targets(prom, deployment.namespace):
        # Nothing of the service's is scraped, so its panels cannot fill: no wait helps.
        targets = harness.LAB.checks["targets_up"]
        raise Fail(f"Prometheus scrapes no pod of {APP} in namespace {deployment.namespace}",
                   "the service's targets up (the check above), then data in every panel",
                   hint=targets.hint, see=targets.see)  # fmt: skip
    queries = [
        (str(p.get("title")), promql.substitute(str(t.get("expr", "")), deployment.namespace))
        for p in harness.panels(dashboard)
        for t in p["targets"]
    ]
    results: dict[str, list] = {}
    unknown: dict[str, set[str]] = {}  # empty panel -> names no series in Prometheus has

    def every_panel_has_data():
        for title, expr in queries:
            try:
                results.setdefault(title, [])
                if prom.query(expr):
                    results[title].append(expr)
            except promql.QueryError as exc:
                results[title] = [f"error: {exc}"]
        if all(v and not v[0].startswith("error") for v in results.values()):
            return True
        # Once the checker's traffic has been scraped and every other panel has data, a
        # name that Prometheus still has no series of is misspelt, and waiting will not
        # fill it. Other panels' series alone prove nothing: some exist before any
        # request (counters the service starts at zero, the pods' CPU).
        empty = {title for title, found in results.items() if not found}
        unknown.clear()
        if (
            empty
            and len(empty) < len(results)
            and harness.traffic_scraped(prom, deployment.namespace)
        ):
            known = prom.names()
            for title, expr in queries:
                if title in empty and (missing := harness.read_names(expr) - known):
                    unknown.setdefault(title, set()).update(missing)
        return set(unknown) == empty or None

    kube.wait("every panel to return data", harness.DATA_SECONDS, every_panel_has_data, interval=5)
    empty = [title for title, found in results.items() if not found]
    errors = [f"'{title}': {found[0]}" for title, found in results.items()
              if found and found[0].startswith("error")]  # fmt: skip
    soft = Soft()
    soft.check(not errors, "; ".join(errors), "queries Prometheus accepts")
    said = [f"'{t}'" + (f" (Prometheus has no series named {', '.join(sorted(unknown[t]))})"
                        if t in unknown else "") for t in empty]  # fmt: skip
    soft.check(not empty, "no data: " + ", ".join(said),
               "every panel shows data: check each query's metric names in /metrics")  # fmt: skip
    soft.raise_if_any()
    ui.progress(f"{len(results)} panels, {len(queries)} queries, all with data")


# -- live: Grafana (kube-prometheus-stack on kind only) ------------------------------
def test_grafana_dashboard(cluster, dashboard):
    """Grafana lists the dashboard, and its Prometheus data source answers"""
    namespace = pins()["MONITORING_NAMESPACE"]
    name = promql.monitoring_service(cluster, promql.GRAFANA_SELECTOR)
    if name is None:
        raise NotRun(
            f"no Grafana in namespace {namespace}: make monitoring-up installs it"
            " (it needs the internet; the project's CI cluster has no Grafana)"
        )
    if learner.in_room():
        raise NotRun(
            f"room mode: Grafana is the room's, and its admin login your instructor's; open"
            f" '{dashboard.get('title')} · {namespace_name()}' there"
        )
    secret = cluster.core.read_namespaced_secret(name, namespace).data or {}
    user, password = (
        base64.b64decode(secret.get(k, "")).decode() for k in ("admin-user", "admin-password")
    )
    with (
        kube.port_forward(cluster, namespace, f"svc/{name}", 80) as port,
        httpx.Client(
            base_url=f"http://127.0.0.1:{port}", auth=(user, password), timeout=15
        ) as grafana,
    ):
        uid = dashboard.get("uid")

        def listed():
            found = grafana.get("/api/search", params={"type": "dash-db"}).json()
            return [d for d in found if d.get("uid") == uid] or None

        found = kube.wait("Grafana's sidecar to load the dashboard", 60, listed, interval=3)
        expect(found, f"no dashboard with uid {uid} in Grafana",
               "the ConfigMap labelled grafana_dashboard: \"1\", applied")  # fmt: skip
        sources = [s for s in grafana.get("/api/datasources").json() if s["type"] == "prometheus"]
        expect(sources, "no Prometheus data source", "the chart's default data source")
        health = grafana.get(f"/api/datasources/uid/{sources[0]['uid']}/health").json()
        expect(health.get("status") == "OK", f"data source health: {health}", "status OK")
