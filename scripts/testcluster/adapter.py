"""Renders the Prometheus Adapter for the test cluster from a learner's Helm values.

On kind, lab 10 installs the prometheus-adapter chart with the learner's
monitoring/adapter-values.yaml. Charts cannot be downloaded here, so this writes
what the chart makes of the values the lab uses (prometheus.url/port/path,
metricsRelistInterval, rules.default/custom) as plain manifests, with the same
names (release "prometheus-adapter" in namespace monitoring) and the same
APIService. The adapter itself is the real v0.12.0, built from the Go module proxy.

    python adapter.py VALUES IMAGE [--apiservice] > manifests.yaml
"""

import hashlib
import json
import sys

import yaml

NAME = "prometheus-adapter"
NAMESPACE = "monitoring"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
# Keys of the chart's values that the test cluster honours; any other is reported.
HONOURED = {"prometheus", "metricsRelistInterval", "rules", "logLevel"}


def meta(name: str, namespaced: bool = True) -> dict:
    found = {"name": name, "labels": dict(LABELS)}
    if namespaced:
        found["namespace"] = NAMESPACE
    return found


def prometheus_url(values: dict) -> str:
    prometheus = values.get("prometheus") or {}
    url = str(prometheus.get("url", "http://prometheus.default.svc"))
    return f"{url}:{prometheus.get('port', 9090)}{prometheus.get('path', '')}"


def adapter_config(values: dict) -> str:
    rules = values.get("rules") or {}
    if rules.get("default", True):
        raise ValueError("rules.default: true is not rendered here: set it to false and "
                         "list your rules under rules.custom")  # fmt: skip
    return yaml.safe_dump({"rules": list(rules.get("custom") or [])}, sort_keys=False)


def rbac() -> list[dict]:
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
    account = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(NAME)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": meta(f"{NAME}-resource-reader", False),
         "rules": [{"apiGroups": [""], "resources": ["namespaces", "pods", "services",
                                                      "configmaps", "nodes"],
                    "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(f"{NAME}-resource-reader", False),
         "roleRef": {**role_ref, "name": f"{NAME}-resource-reader"}, "subjects": account},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(f"{NAME}:system:auth-delegator", False),
         "roleRef": {**role_ref, "name": "system:auth-delegator"}, "subjects": account},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {**meta(f"{NAME}-auth-reader"), "namespace": "kube-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "extension-apiserver-authentication-reader"},
         "subjects": account},
        # The HPA controller reads the metrics with its own account.
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": meta(f"{NAME}-server-resources", False),
         "rules": [{"apiGroups": ["custom.metrics.k8s.io"], "resources": ["*"],
                    "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(f"{NAME}-hpa-controller", False),
         "roleRef": {**role_ref, "name": f"{NAME}-server-resources"},
         "subjects": [{"kind": "ServiceAccount", "name": "horizontal-pod-autoscaler",
                       "namespace": "kube-system"}]},
    ]  # fmt: skip


def deployment(values: dict, image: str, config: str) -> dict:
    args = [
        "--secure-port=6443", "--cert-dir=/tmp/cert", "--config=/etc/adapter/config.yaml",
        f"--prometheus-url={prometheus_url(values)}",
        f"--metrics-relist-interval={values.get('metricsRelistInterval', '1m')}",
        f"--v={values.get('logLevel', 4)}",
    ]  # fmt: skip
    probe = {"httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
             "periodSeconds": 5}  # fmt: skip
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(NAME),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {
                # A new config is a new pod: the adapter reads its rules once.
                "metadata": {"labels": dict(LABELS), "annotations": {
                    "workshop/config-sha256": hashlib.sha256(config.encode()).hexdigest()}},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": NAME, "image": image, "imagePullPolicy": "Never", "args": args,
                        "ports": [{"name": "https", "containerPort": 6443}],
                        "readinessProbe": probe, "livenessProbe": probe,
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                      "limits": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/adapter"},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": NAME}},
                                {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }  # fmt: skip


def render(values: dict, image: str) -> list[dict]:
    config = adapter_config(values)
    return [
        *rbac(),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(NAME),
         "data": {"config.yaml": config}},
        deployment(values, image, config),
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(NAME),
         "spec": {"selector": dict(LABELS), "ports": [{"port": 443, "targetPort": "https"}]}},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
         "metadata": meta("v1beta1.custom.metrics.k8s.io", False),
         "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1",
                  "service": {"name": NAME, "namespace": NAMESPACE, "port": 443},
                  # The adapter serves a self-signed certificate, as the chart's does.
                  "insecureSkipTLSVerify": True,
                  "groupPriorityMinimum": 100, "versionPriority": 100}},
    ]  # fmt: skip


def main() -> int:
    """--apiservice: only the APIService, which adapter-up.sh registers once the
    Service routes (as up.sh does for metrics-server): a connection the API server
    opens before kube-proxy has programmed the ClusterIP goes elsewhere, and the
    API server keeps reusing it. Without it: everything else."""
    apiservice = "--apiservice" in sys.argv
    sys.argv = [a for a in sys.argv if a != "--apiservice"]
    if len(sys.argv) != 3:
        print("usage: adapter.py VALUES IMAGE [--apiservice]", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as stream:
            values = yaml.safe_load(stream) or {}
        if not isinstance(values, dict):
            raise ValueError("the values file must be a YAML mapping")
        documents = render(values, sys.argv[2])
    except (OSError, yaml.YAMLError, ValueError) as exc:
        print(f"✗ {sys.argv[1]}: {exc}", file=sys.stderr)
        return 2
    ignored = sorted(set(values) - HONOURED)
    if ignored:
        print(f"  note: the test cluster ignores these values: {', '.join(ignored)}",
              file=sys.stderr)  # fmt: skip
    documents = [d for d in documents if (d["kind"] == "APIService") == apiservice]
    print("\n---\n".join(json.dumps(d) for d in documents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
