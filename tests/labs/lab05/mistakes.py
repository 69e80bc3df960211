"""Lab 05 (probes and rollouts): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

DEPLOYMENT = "k8s/deployment.yaml"

MISTAKES = [
    Mistake(5, "list-without-dashes", "k8s/deployment.yaml",
            "      containers:\n        - name: api\n", "      containers:\n          name: api\n",
            "manifests_valid", exit_code=2),
    Mistake(5, "no-prestop", DEPLOYMENT,
            "          lifecycle:\n            # Keep serving for 5 s after the pod is marked for "
            "deletion, while\n            # every node stops routing new connections here; then "
            "SIGTERM.\n            preStop:\n              sleep:\n                seconds: 5\n",
            "", "zero_downtime", says='ConnectionRefusedError'),
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
            "stops_promptly", says='to stop'),
    Mistake(5, "all-at-once-rollout", DEPLOYMENT,
            "    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 1\n",
            "    rollingUpdate:\n      maxUnavailable: 100%\n      maxSurge: 0\n",
            "rollout_strategy", also_fails="zero_downtime",
            says="the strategy (maxUnavailable: 100%, maxSurge: 0) removed old pods"),
    Mistake(5, "grace-below-prestop", DEPLOYMENT, "terminationGracePeriodSeconds: 20",
            "terminationGracePeriodSeconds: 3", "deployed_from_folder", exit_code=2,
            says="Deployment/diabetes-api", refused=True),
    Mistake(5, "pdb-blocks-drain", "k8s/pdb.yaml", "  maxUnavailable: 1\n",
            "  minAvailable: 100%\n", "rollout_strategy",
            hint="the budget allows no eviction, so no node running these pods can ever be "
            "drained (minAvailable equal to the replicas, or maxUnavailable: 0); use "
            "maxUnavailable: 1"),
]  # fmt: skip

UNSEEDED = {
    "cluster_reachable": PRECONDITION + "; lab 04 proves it for every cluster lab",
    "probes_configured": "the starter's ✗ (test_starter_fails_on_the_cluster_with_hints)",
    "graceful_shutdown": "the starter's ✗; no-prestop proves the pause under load",
    "probes_answer": "readiness-wrong-path is refused earlier, by deployment_available",
    "self_healing": "needs a pod that never comes back: the rollout checks stop earlier",
}
