"""Lab 06 (the HPA): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, WHOLE, Mistake

DEPLOYMENT = "k8s/deployment.yaml"
HPA = "k8s/hpa.yaml"
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

MISTAKES = [
    Mistake(6, "list-without-dashes", "k8s/deployment.yaml",
            "      containers:\n        - name: api\n", "      containers:\n          name: api\n",
            "manifests_valid", exit_code=2),
    Mistake(6, "hpa-wrong-target", HPA, "    name: diabetes-api\n  minReplicas",
            "    name: diabetes\n  minReplicas", "hpa_targets_deployment"),
    Mistake(6, "no-cpu-request", DEPLOYMENT, "              cpu: 100m\n", "",
            "hpa_metrics_known", also=(('              cpu: "1"\n', ""),),
            says="the pods request no CPU"),
    Mistake(6, "deprecated-v1-api", HPA, WHOLE, HPA_V1, "hpa_api_version"),
    Mistake(6, "min-above-max", HPA, "  minReplicas: 2", "  minReplicas: 8", "hpa_bounds"),
    Mistake(6, "scale-down-window-over-an-hour", HPA, "stabilizationWindowSeconds: 120",
            "stabilizationWindowSeconds: 7200", "deployed_from_folder", exit_code=2,
            says="HorizontalPodAutoscaler/diabetes-api", refused=True),
]  # fmt: skip

UNSEEDED = {
    "cluster_reachable": PRECONDITION + "; lab 04 proves it for every cluster lab",
    "metrics_api": "reads metrics-server, which the cluster has or lacks: not a folder's mistake",
    "cpu_requests": "no-cpu-request is caught with its cause by hpa_metrics_known",
    "scales_up": "the starter's ✗: no HPA, so nothing scales (test_starter_fails_on_the_cluster)",
}
