"""The cluster labs, proven on a live cluster: each solution deployed and checked
passes, each starter fails, and every seeded mistake is caught by its check.
Each case deploys into a namespace of its own, removed afterwards."""

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from checker import kube
from checker.manifest import REPO, find
from checker.outcomes import Stop
from project.conftest import LIVE, copy_tree, run_checker
from project.test_mistakes import WHOLE, Mistake

pytestmark = [pytest.mark.full, pytest.mark.cluster]
DEPLOYMENT = "k8s/deployment.yaml"
SERVICE = "k8s/service.yaml"
CONFIGMAP = "k8s/configmap.yaml"
HPA = "k8s/hpa.yaml"
MONITOR = "k8s/servicemonitor.yaml"
DASHBOARD = "grafana/diabetes-api.json"
METRICS = "app/metrics.py"
# Checks that read only the files: their mistakes need no deployment.
OFFLINE_CHECKS = {
    "manifests_valid", "hpa_api_version", "hpa_bounds", "monitor_release_label", "monitor_port",
    "monitor_selects_service", "alert_rules", "dashboard_valid", "dashboard_panels",
    "latency_quantiles",
}  # fmt: skip
# Checks that need what the project's own cluster lacks, by lab: Grafana comes
# with the kube-prometheus-stack chart and images, which cannot be downloaded
# there. Where it is missing, each must say "not run" and why (exit 2); on kind
# with make monitoring-up, they must pass.
NEEDS_GRAFANA = {7: {"grafana_dashboard": "no Grafana in namespace monitoring"}}
# Seeded mistakes that are also deployed, to prove the live check fails as well.
ALSO_LIVE = {"monitor-no-release-label": "targets_up"}
HPA_V1 = """apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: diabetes-api
  labels:
    app.kubernetes.io/name: diabetes-api
    app.kubernetes.io/instance: diabetes-api
    app.kubernetes.io/part-of: ml-workshop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: diabetes-api}
  minReplicas: 2
  maxReplicas: 6
  targetCPUUtilizationPercentage: 70
"""


@pytest.fixture(scope="module")
def cluster():
    try:
        return kube.connect()
    except Stop as exc:
        pytest.fail(f"the cluster tier cannot run: {exc.message} (make cluster-up, or "
                    "sudo scripts/testcluster/up.sh)")  # fmt: skip


def remove_namespace(cluster, name: str) -> None:
    # The Service goes first and synchronously: it frees NodePort 30080 at once.
    for service in cluster.core.list_namespaced_service(name).items:
        cluster.core.delete_namespaced_service(service.metadata.name, name)
    cluster.core.delete_namespace(name, grace_period_seconds=0)


def deploy_and_check(cluster, lab, tree: Path, tmp_path: Path, deploy: bool = True):
    namespace = f"lab{lab.code}-{secrets.token_hex(3)}"
    env = {"WORKSHOP_NAMESPACE": namespace, "WORKSHOP_ROLLOUT_TIMEOUT": "60"}
    try:
        started = time.monotonic()
        if deploy:
            done = subprocess.run(
                [str(REPO / "scripts" / "deploy.sh"), str(tree)],
                env={**os.environ, **env, "ROLLOUT_TIMEOUT": "45s"},
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            print(
                f"deploy {tree.name}: exit {done.returncode} in {time.monotonic() - started:.0f} s"
            )
        started = time.monotonic()
        run = run_checker(lab, tree, tmp_path, env=env)
        print(f"check-lab {lab.number}: exit {run.code} in {time.monotonic() - started:.0f} s")
        return run
    finally:
        if deploy:
            remove_namespace(cluster, namespace)


@pytest.fixture(scope="module")
def has_grafana(cluster) -> bool:
    return bool(
        cluster.core.list_namespaced_service(
            "monitoring", label_selector="app.kubernetes.io/name=grafana"
        ).items
    )


def not_run_here(lab, has_grafana: bool) -> dict[str, str]:
    return {} if has_grafana else NEEDS_GRAFANA.get(lab.number, {})


def expected_code(lab, code: int, has_grafana: bool) -> int:
    """A check that cannot run here turns a pass or a failure into exit 2."""
    return 2 if not_run_here(lab, has_grafana) else code


def assert_not_run_here(lab, run, has_grafana: bool) -> None:
    for check, reason in not_run_here(lab, has_grafana).items():
        assert run.status(check) == "not-run", run.output
        assert reason in run.output, run.output


@pytest.mark.parametrize("lab", LIVE, ids=lambda lab: lab.slug)
def test_solution_passes_on_the_cluster(cluster, has_grafana, lab, tmp_path):
    run = deploy_and_check(cluster, lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path)
    assert run.code == expected_code(lab, 0, has_grafana), run.output
    counts = run.results["counts"]
    assert counts["failed"] == 0, run.output
    assert counts["not-run"] == len(not_run_here(lab, has_grafana)), run.output
    assert_not_run_here(lab, run, has_grafana)
    assert "Traceback" not in run.output


@pytest.mark.parametrize("lab", LIVE, ids=lambda lab: lab.slug)
def test_starter_fails_on_the_cluster_with_hints(cluster, has_grafana, lab, tmp_path):
    run = deploy_and_check(cluster, lab, copy_tree(lab, lab.tree_path, tmp_path), tmp_path)
    assert run.code == expected_code(lab, 1, has_grafana), run.output
    failed = [c for c in run.results["checks"] if c["status"] == "failed"]
    assert failed
    for check in failed:
        assert check["hint"] and check["step"], check
    assert "Traceback" not in run.output


def test_unreachable_cluster_says_make_cluster_up(tmp_path):
    lab = find(4)
    env = {"KUBECONFIG": str(tmp_path / "missing-kubeconfig")}
    run = run_checker(lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path, env=env)
    assert run.code == 2, run.output
    assert run.status("cluster_reachable") == "failed"
    assert "make cluster-up" in run.output
    assert "Traceback" not in run.output


LISTS_WITHOUT_DASHES = (
    "      containers:\n        - name: api\n",
    "      containers:\n          name: api\n",
)
LIVE_MISTAKES = [
    # The source guide's YAML lists without dashes: caught offline, before deploying.
    Mistake(4, "list-without-dashes", DEPLOYMENT, *LISTS_WITHOUT_DASHES,
            "manifests_valid", exit_code=2),
    Mistake(4, "yaml-syntax", SERVICE, "  type: NodePort\n", "  type: NodePort\n  bad: [\n",
            "manifests_valid", exit_code=2),
    Mistake(4, "pull-always", DEPLOYMENT, "imagePullPolicy: IfNotPresent",
            "imagePullPolicy: Always", "pull_policy"),
    Mistake(4, "one-replica", DEPLOYMENT, "replicas: 3", "replicas: 1", "deployment_available"),
    Mistake(4, "no-resources", DEPLOYMENT, "          resources:\n", "          x-resources:\n",
            "resources_set",
            also=(("          x-resources:\n            requests:\n              cpu: 100m\n"
                   "              memory: 192Mi\n            limits:\n              cpu: \"1\"\n"
                   "              memory: 384Mi\n", ""),)),
    Mistake(4, "selector-matches-nothing", SERVICE,
            "  selector:\n    app.kubernetes.io/name: diabetes-api\n",
            "  selector:\n    app: diabetes-api\n", "service_endpoints",
            also=(("    app.kubernetes.io/instance: diabetes-api\n  ports", "  ports"),)),
    Mistake(4, "wrong-target-port", SERVICE, "targetPort: http", "targetPort: 8080",
            "service_endpoints"),
    Mistake(4, "key-in-plain-text", DEPLOYMENT,
            "              valueFrom:\n                secretKeyRef:\n"
            "                  name: diabetes-api-key\n                  key: api-key\n",
            "              value: this-key-is-in-git-0123456789\n", "key_from_secret"),
    Mistake(4, "batch-limit-not-in-configmap", CONFIGMAP, '  MAX_BATCH_ROWS: "64"\n', "",
            "config_from_configmap"),
    Mistake(4, "root-user", DEPLOYMENT, "runAsUser: 10001", "runAsUser: 0",
            "deployment_available"),
    Mistake(4, "key-compared-but-ignored", "app/security.py",
            "    if supplied is None or not secrets.compare_digest(supplied.encode(), expected):",
            "    if False:", "api_key_code"),
    # Lab 05: each seeded mistake deploys, then faces the load tests.
    Mistake(5, "no-prestop", DEPLOYMENT,
            "          lifecycle:\n            # Keep serving for 5 s after the pod is marked for "
            "deletion, while\n            # every node stops routing new connections here; then "
            "SIGTERM.\n            preStop:\n              sleep:\n                seconds: 5\n",
            "", "zero_downtime"),
    Mistake(5, "readiness-wrong-path", DEPLOYMENT, "              path: /readyz",
            "              path: /ready", "deployment_available"),
    Mistake(5, "liveness-on-readyz", DEPLOYMENT,
            "          livenessProbe:\n            httpGet:\n              path: /healthz",
            "          livenessProbe:\n            httpGet:\n              path: /readyz",
            "probes_distinct"),
    Mistake(5, "startup-budget-too-short", DEPLOYMENT,
            "            periodSeconds: 2\n            failureThreshold: 30",
            "            periodSeconds: 1\n            failureThreshold: 1", "startup_budget"),
    Mistake(5, "shell-form-cmd", "Dockerfile",
            'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", \\\n'
            '     "--timeout-graceful-shutdown", "5", "--no-access-log"]',
            "CMD uvicorn app.main:app --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 5",
            "stops_promptly"),
    Mistake(5, "unavailable-during-rollout", DEPLOYMENT,
            "    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 1\n",
            "    rollingUpdate:\n      maxUnavailable: 1\n      maxSurge: 0\n", "rollout_strategy"),
    # Lab 06.
    Mistake(6, "hpa-wrong-target", HPA, "    name: diabetes-api\n  minReplicas",
            "    name: diabetes\n  minReplicas", "hpa_targets_deployment"),
    Mistake(6, "no-cpu-request", DEPLOYMENT, "              cpu: 100m\n", "",
            "hpa_metrics_known", also=(('              cpu: "1"\n', ""),)),
    Mistake(6, "deprecated-v1-api", HPA, WHOLE, HPA_V1, "hpa_api_version"),
    Mistake(6, "min-above-max", HPA, "  minReplicas: 2", "  minReplicas: 8", "hpa_bounds"),
    # Lab 07.
    Mistake(7, "monitor-numeric-port", MONITOR, "    - port: http #", '    - port: "8000" #',
            "monitor_port"),
    Mistake(7, "monitor-no-release-label", MONITOR,
            "    release: monitoring # kube-prometheus-stack selects ServiceMonitors by its Helm"
            " release\n", "", "monitor_release_label"),
    Mistake(7, "monitor-list-without-dashes", MONITOR, "    - port: http", "      port: http",
            "monitor_port"),
    Mistake(7, "panel-metric-missing", DASHBOARD, "sum by (handler) (rate(http_requests_total",
            "sum by (handler) (rate(http_request_total", "panels_return_data"),
    Mistake(7, "counter-without-total", METRICS, "self.predicted_rows = Counter(",
            "self.predicted_rows = Gauge(", "metric_naming",
            also=(("import CollectorRegistry, Counter,",
                   "import CollectorRegistry, Counter, Gauge,"),)),
    Mistake(7, "latency-averaged", DASHBOARD,
            'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
            '{job=\\"diabetes-api\\", namespace=\\"$namespace\\"}[$__rate_interval])))',
            'avg(rate(http_request_duration_seconds_sum{job=\\"diabetes-api\\", namespace=\\"'
            '$namespace\\"}[$__rate_interval]))', "latency_quantiles"),
    Mistake(7, "metrics-not-exposed", METRICS,
            'instrumentator.instrument(app).expose(app, endpoint="/metrics", '
            "include_in_schema=False)",
            "instrumentator.instrument(app)", "metrics_exposed"),
]  # fmt: skip


# What the output must also say, where the check alone could fail for another reason.
EXPECTED_TEXT = {
    "no-cpu-request": "the pods request no CPU",
    "no-prestop": "ConnectionRefusedError",
    "shell-form-cmd": "to stop",
    "counter-without-total": "diabetes_predicted_rows is a gauge",
    "metrics-not-exposed": "GET /metrics answered 404",
    "panel-metric-missing": "no data: 'Request rate'",
}


@pytest.mark.parametrize("mistake", LIVE_MISTAKES, ids=lambda m: f"lab{m.lab:02d}-{m.id}")
def test_live_mistake_is_caught_by_its_check(cluster, has_grafana, mistake, tmp_path):
    lab = find(mistake.lab)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    mistake.apply(tree)
    offline = mistake.caught_by in OFFLINE_CHECKS and mistake.id not in ALSO_LIVE
    run = deploy_and_check(cluster, lab, tree, tmp_path, deploy=not offline)
    assert "Traceback" not in run.output, run.output
    assert run.code == expected_code(lab, mistake.exit_code, has_grafana), run.output
    if mistake.id in ALSO_LIVE:
        assert run.status(ALSO_LIVE[mistake.id]) == "failed", run.output
    assert run.status(mistake.caught_by) == "failed", (
        f"{mistake.id} should fail '{mistake.caught_by}'; failed: {run.failed()}\n{run.output}"
    )
    assert f"hint: {lab.checks[mistake.caught_by].hint}" in run.output
    assert EXPECTED_TEXT.get(mistake.id, "") in run.output, run.output
