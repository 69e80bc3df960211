"""Lab 07 (observe): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

MONITOR = "k8s/servicemonitor.yaml"
DASHBOARD = "grafana/diabetes-api.json"
METRICS = "app/metrics.py"
RULES = "k8s/prometheusrule.yaml"

MISTAKES = [
    Mistake(7, "list-without-dashes", "k8s/deployment.yaml",
            "      containers:\n        - name: api\n", "      containers:\n          name: api\n",
            "manifests_valid", exit_code=2),
    Mistake(7, "monitor-numeric-port", MONITOR, "    - port: http #", '    - port: "8000" #',
            "monitor_port"),
    Mistake(7, "monitor-no-release-label", MONITOR,
            "    release: monitoring # kube-prometheus-stack selects ServiceMonitors by its Helm"
            " release\n", "", "monitor_release_label", also_fails='targets_up'),
    Mistake(7, "down-alert-on-up-zero", RULES, 'expr: absent(up{job="diabetes-api"} == 1)',
            'expr: up{job="diabetes-api"} == 0', "alerts_behave",
            says="DiabetesApiDown stays silent with no pod left at all",
            hint='up == 0 finds nothing once no target is left: use absent(up{job="diabetes-api"}'
            ' == 1)'),
    Mistake(7, "duration-in-words", RULES, "          for: 2m\n", "          for: two minutes\n",
            "alerts_behave", says="promtool cannot load the rules: not a valid duration string",
            hint="fix the rule it names in k8s/prometheusrule.yaml (durations like 5m, valid "
            "PromQL), then check again"),
    Mistake(7, "error-alert-without-traffic-floor", RULES,
            "\n            and job:http_requests:rate5m > 1", "", "alerts_behave",
            says="DiabetesApiHighErrorRate fires with 50% errors at 2 requests a minute",
            hint="add a traffic floor: ... > 0.01 and job:http_requests:rate5m > 1"),
    Mistake(7, "latency-slo-pools-batches", RULES, 'handler="/predict"}[5m]',
            'handler=~"/predict.*"}[5m]', "alerts_behave",
            says="DiabetesApiLatencySLO fires with slow batches beside fast predictions",
            hint='select handler="/predict" only: a batch takes longer by design'),
    Mistake(7, "monitor-list-without-dashes", MONITOR, "    - port: http", "      port: http",
            "monitor_port"),
    Mistake(7, "panel-metric-missing", DASHBOARD, "sum by (handler) (rate(http_requests_total",
            "sum by (handler) (rate(http_request_total", "panels_return_data",
            says="no data: 'Request rate' (Prometheus has no series named http_request_total)"),
    Mistake(7, "counter-without-total", METRICS, "self.predicted_rows = Counter(",
            "self.predicted_rows = Gauge(", "metric_naming",
            also=(("import CollectorRegistry, Counter,",
                   "import CollectorRegistry, Counter, Gauge,"),),
            says="diabetes_predicted_rows is a gauge"),
    Mistake(7, "latency-averaged", DASHBOARD,
            'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
            '{job=\\"diabetes-api\\", namespace=\\"$namespace\\"}[$__rate_interval])))',
            'avg(rate(http_request_duration_seconds_sum{job=\\"diabetes-api\\", namespace=\\"'
            '$namespace\\"}[$__rate_interval]))', "latency_quantiles"),
    Mistake(7, "metrics-not-exposed", METRICS,
            'instrumentator.instrument(app).expose(app, endpoint="/metrics", '
            "include_in_schema=False)",
            "instrumentator.instrument(app)", "metrics_exposed", says='GET /metrics answered 404'),
    Mistake(7, "pdb-both-budgets", "k8s/pdb.yaml", "  maxUnavailable: 1\n",
            "  maxUnavailable: 1\n  minAvailable: 2\n", "deployed_from_folder", exit_code=2,
            says="PodDisruptionBudget/diabetes-api", refused=True),
]  # fmt: skip

UNSEEDED = {
    "cluster_reachable": PRECONDITION + "; lab 04 proves it for every cluster lab",
    "deployment_available": "lab 04 and lab 05 seed its causes; the manifests are theirs",
    "monitor_selects_service": "the starter's ✗ (test_starter_fails_on_the_cluster_with_hints)",
    "alert_rules": "the starter's ✗: its PrometheusRule has no alerts",
    "dashboard_valid": "the starter's ✗: its dashboard is an empty skeleton",
    "dashboard_panels": "the starter's ✗: its dashboard has no panels",
    "targets_up": "monitor-no-release-label is deployed and fails it too (also_fails)",
    "rules_loaded": "the starter's ✗ on the cluster",
    "grafana_dashboard": "Grafana cannot be installed on the test cluster: 'not run', proven",
}
