"""Lab 07's harness: what its checks and fixtures share."""

import re

import httpx

from checker.cluster import promql
from checker.cluster.deployment import APP
from checker.command.course import find
from checker.outcomes import Fail, Needs
from checker.processes.artifact import PATIENT

DASHBOARD = "grafana/diabetes-api.json"
RELEASE_LABEL = ("release", "monitoring")
# What the service must expose: family name -> type, as prometheus_client parses it.
EXPECTED_FAMILIES = {
    "http_requests": "counter",
    "http_request_duration_seconds": "histogram",
    "diabetes_inference_seconds": "histogram",
    "diabetes_prediction_value": "histogram",
    "diabetes_predicted_rows": "counter",
    "diabetes_model_info": "gauge",
}
# What the dashboard must show, by the series its queries read.
PANEL_SERIES = {
    "request rate": {"http_requests_total"},
    "latency quantiles": {"http_request_duration_seconds_bucket"},
    "prediction distribution": {"diabetes_prediction_value_bucket"},
    "replicas": {"up", "kube_horizontalpodautoscaler_status_current_replicas",
                 "kube_horizontalpodautoscaler_status_desired_replicas",
                 "kube_deployment_status_replicas_available"},
    "CPU per pod": {"process_cpu_seconds_total", "container_cpu_usage_seconds_total"},
    "memory per pod": {"process_resident_memory_bytes", "container_memory_working_set_bytes"},
}  # fmt: skip
LABEL_VALUES_BOUND = 30
LAB = find(7)  # other checks' hints, where this one observed their cause
TARGETS_SECONDS = 60
DATA_SECONDS = 60


def of_kind(documents, kind: str) -> list:
    return [d for d in documents[0] if d.kind == kind]


def monitor_document(documents):
    found = of_kind(documents, "ServiceMonitor")
    if not found:
        raise Fail("no ServiceMonitor in k8s/", "k8s/servicemonitor.yaml with one")
    return found[0]


def release_problem(doc) -> str | None:
    labels = (doc.data.get("metadata") or {}).get("labels") or {}
    key, value = RELEASE_LABEL
    if labels.get(key) == value:
        return None
    return f"{doc.where(['metadata', 'labels'])}: {doc.kind}/{doc.name} labels {labels or '{}'}"


def service_ports(documents) -> dict[str, dict]:
    services = [d for d in of_kind(documents, "Service") if d.name == APP]
    return {
        str(p.get("name")): p for s in services for p in (s.data.get("spec") or {}).get("ports", [])
    }


def numeric_port(value) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


# -- the alerts' behaviour: promtool's rule unit tests -------------------------------
ALERTS = {"down": "DiabetesApiDown", "errors": "DiabetesApiHighErrorRate",
          "latency": "DiabetesApiLatencySLO"}  # fmt: skip
SERIES = 'job="diabetes-api", namespace="shop"'


def http_requests(status: str, per_minute: float, handler: str = "/predict") -> dict:
    return {"series": f'http_requests_total{{{SERIES}, handler="{handler}", method="POST", '
                      f'status="{status}"}}', "values": f"0+{per_minute}x40"}  # fmt: skip


def latency(handler: str, per_minute: int, slower_than: float) -> list[dict]:
    """Every request of `handler` between `slower_than` and the next bucket edge."""
    edges = [0.1, 0.25, 0.5, 1.0, "+Inf"]
    return [{"series": f'http_request_duration_seconds_bucket{{{SERIES}, handler="{handler}", '
                       f'method="POST", le="{edge}"}}',
             "values": f"0+{per_minute if edge == '+Inf' or edge > slower_than else 0}x40"}
            for edge in edges]  # fmt: skip


# (scenario, input series, alert, fires?, minute, the hint when it goes wrong): the
# README's contract, at its edges.
SCENARIOS = [
    ("every pod down", [{"series": f'up{{{SERIES}, pod="a"}}', "values": "0x40"},
                        {"series": f'up{{{SERIES}, pod="b"}}', "values": "0x40"}],
     "down", True, 10, 'alert on absent(up{job="diabetes-api"} == 1) for 2m'),
    ("no pod left at all", [{"series": 'up{job="prometheus"}', "values": "1x40"}],
     "down", True, 10, 'up == 0 finds nothing once no target is left: use '
     'absent(up{job="diabetes-api"} == 1)'),
    ("every pod up", [{"series": f'up{{{SERIES}, pod="a"}}', "values": "1x40"}],
     "down", False, 30, 'absent(up{job="diabetes-api"} == 1) is silent while a pod is up'),
    ("5% errors at 10 requests/s", [http_requests("2xx", 570), http_requests("5xx", 30)],
     "errors", True, 20, 'the 5xx share of all requests above 0.01, for 5m'),
    ("50% errors at 2 requests a minute", [http_requests("2xx", 1), http_requests("5xx", 1)],
     "errors", False, 30, "add a traffic floor: ... > 0.01 and job:http_requests:rate5m > 1"),
    ("slow batches beside fast predictions",
     latency("/predict", 600, 0) + latency("/predict/batch", 60, 0.5), "latency", False, 30,
     'select handler="/predict" only: a batch takes longer by design'),
    ("slow predictions", latency("/predict", 600, 0.25), "latency", True, 30,
     "histogram_quantile(0.99, ...) of /predict above 0.25, for 10m"),
]  # fmt: skip


def promtool_test(scenario: tuple, rules_file: str) -> dict:
    """One scenario as a promtool test file: is the alert firing at that minute?"""
    name, series, alert, fires, minute, _ = scenario
    expr = f'max(ALERTS{{alertname="{ALERTS[alert]}", alertstate="firing"}})'
    check = {"expr": expr, "eval_time": f"{minute}m",
             "exp_samples": [{"labels": "{}", "value": 1}] if fires else []}  # fmt: skip
    return {"rule_files": [rules_file], "evaluation_interval": "1m",
            "tests": [{"name": name, "interval": "1m", "input_series": series,
                       "promql_expr_test": [check]}]}  # fmt: skip


def failed_files(output: str) -> set[str]:
    """The test files promtool reports FAILED (each block opens with its file's name)."""
    blocks = re.split(r"^Processing test file: ", output, flags=re.M)[1:]
    return {b.split(None, 1)[0] for b in blocks if "FAILED" in b}


def panels(board: dict) -> list[dict]:
    found = []
    for panel in board.get("panels") or []:
        found.append(panel)
        found.extend(panel.get("panels") or [])  # panels inside collapsed rows
    return [p for p in found if p.get("targets")]


def panel_trees(board: dict) -> list[tuple[str, object]]:
    trees = []
    for panel in panels(board):
        for target in panel["targets"]:
            try:
                expr = promql.substitute(str(target.get("expr", "")), "workshop")
                trees.append((str(panel.get("title")), promql.parse(expr)))
            except ValueError:
                continue  # reported by test_dashboard_valid
    return trees


def send_traffic(http: httpx.Client, rounds: int) -> None:
    """Predictions, a batch and an invalid request: every panel gets something to show."""
    for i in range(rounds):
        http.post("/predict", json={**PATIENT, "bmi": PATIENT["bmi"] + i * 0.001})
        if i % 5 == 0:
            http.post("/predict/batch", json={"rows": [PATIENT, PATIENT]})
            http.post("/predict", json={**PATIENT, "bmi": "heavy"})  # a 422, on purpose


def ready_prometheus(prometheus):
    if isinstance(prometheus, Exception):
        raise Needs(f"Prometheus ({prometheus})")
    return prometheus


def app_targets(prom, namespace: str) -> list[dict]:
    return [
        t
        for t in prom.targets()
        if t["labels"].get("namespace") == namespace and t["labels"].get("job") == APP
    ]


def applied_monitors(cluster, namespace: str) -> list[dict]:
    try:
        return cluster.custom.list_namespaced_custom_object(
            "monitoring.coreos.com", "v1", namespace, "servicemonitors"
        )["items"]
    except Exception:  # no CRD: Prometheus' own targets tell the rest
        return []


def unscrapable(monitors: list[dict], namespace: str) -> Fail | None:
    """What no wait can fix in the ServiceMonitors as applied: said at once, with its cause."""
    if not monitors:
        return Fail(f"no ServiceMonitor in namespace {namespace}",
                    "the ServiceMonitor from k8s/servicemonitor.yaml, applied",
                    hint="make deploy N=7 applies k8s/servicemonitor.yaml too")  # fmt: skip
    key, value = RELEASE_LABEL
    if not any((m["metadata"].get("labels") or {}).get(key) == value for m in monitors):
        return Fail(f"ServiceMonitor labels without {key}: {value}: Prometheus ignores them",
                    f"the label {key}: {value}",
                    hint=LAB.checks["monitor_release_label"].hint)  # fmt: skip
    if not any((m.get("spec") or {}).get("endpoints") for m in monitors):
        return Fail("ServiceMonitor endpoints: [] (nothing to scrape)", "endpoints: - port: http",
                    hint=LAB.checks["monitor_port"].hint)  # fmt: skip
    return None


def read_names(expr: str) -> set[str]:
    """The metric names a query reads (none for one that does not parse: dashboard_valid
    names that)."""
    try:
        return promql.metric_names(promql.parse(expr))
    except ValueError:
        return set()


def traffic_scraped(prom, namespace: str) -> bool:
    """Prometheus has a sample of the checker's own requests: the service's request
    counter (its name checked on /metrics above) for POST /predict in the namespace."""
    try:
        return bool(prom.query(f'http_requests_total{{namespace="{namespace}", '
                               'handler="/predict"}'))  # fmt: skip
    except promql.QueryError:
        return False
