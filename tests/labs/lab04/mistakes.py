"""Lab 04 (deploy): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import PRECONDITION, Mistake

DEPLOYMENT = "k8s/deployment.yaml"
SERVICE = "k8s/service.yaml"
CONFIGMAP = "k8s/configmap.yaml"
LISTS_WITHOUT_DASHES = (
    "      containers:\n        - name: api\n",
    "      containers:\n          name: api\n",
)

MISTAKES = [
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
    Mistake(4, "requests-over-limits", DEPLOYMENT, "              cpu: 100m\n",
            "              cpu: 1500m\n", "deployed_from_folder", exit_code=2,
            says="Deployment/diabetes-api", refused=True),
]  # fmt: skip

UNSEEDED = {
    "cluster_reachable": PRECONDITION + "; test_unreachable_cluster_says_make_cluster_up proves it",
    "namespace_ready": "make deploy creates the namespace from k8s/namespace.yaml, provided",
    "image_tag": "make deploy sets the tag; the starter deployed by hand shows it",
    "recommended_labels": "the starter's ✗ (test_starter_fails_on_the_cluster_with_hints)",
    "prediction_through_service": "every cause is caught earlier (service_endpoints, "
    "deployment_available); the starter shows it",
}
