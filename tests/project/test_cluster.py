"""Smoke test of the live cluster the lab 04+ checkers face (kind, or the test
cluster that .ci/run builds from source): a locally built image runs, a Service
routes inside the cluster, port-forward works, metrics.k8s.io serves numbers, and
the restricted Pod Security Standard is enforced."""

import json
import secrets
import subprocess
import time

import httpx
import pytest

from checker.cluster import kube
from checker.command.course import REPO
from checker.outcomes import Stop

pytestmark = [pytest.mark.full, pytest.mark.cluster]
APP = "smoke"
SELECTOR = f"app.kubernetes.io/name={APP}"


@pytest.fixture(scope="module")
def cluster():
    try:
        return kube.connect()
    except Stop as exc:
        pytest.fail(
            f"the cluster tier cannot run: {exc.message}. Start one: make cluster-up "
            "(kind) or sudo scripts/testcluster/up.sh (built from source)"
        )


@pytest.fixture(scope="module")
def image():
    """The lab 03 solution image, built with a unique tag and loaded into the cluster."""
    built = subprocess.run(
        [str(REPO / "scripts" / "learner" / "image.sh"), str(REPO / "solutions" / "03-docker")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    tag = built.stdout.strip()
    loaded = subprocess.run(
        [str(REPO / "scripts" / "learner" / "load-image.sh"), tag],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    return tag


@pytest.fixture(scope="module")
def namespace(cluster):
    from kubernetes import client

    name = f"workshop-smoke-{secrets.token_hex(3)}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "app.kubernetes.io/part-of": "workshop-tests",
    }
    cluster.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
    )
    yield name
    cluster.core.delete_namespace(name, grace_period_seconds=0)


def restricted_container(image: str, name: str, command: list[str] | None = None) -> dict:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "Never",
        "command": command,
        "ports": [{"name": "http", "containerPort": 8000}],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "192Mi"},
            "limits": {"memory": "384Mi"},
        },
    }


def pod(name: str, labels: dict, container: dict, restart: str = "Always") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "containers": [container],
            "restartPolicy": restart,
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


@pytest.fixture(scope="module")
def app_pod(cluster, namespace, image):
    from kubernetes import client

    labels = {"app.kubernetes.io/name": APP}
    cluster.core.create_namespaced_pod(
        namespace, pod(APP, labels, restricted_container(image, "api"))
    )
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name=APP, labels=labels),
        spec=client.V1ServiceSpec(
            selector=labels, ports=[client.V1ServicePort(name="http", port=80, target_port="http")]
        ),
    )
    cluster.core.create_namespaced_service(namespace, service)

    def ready():
        status = cluster.core.read_namespaced_pod(APP, namespace).status
        return any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])

    started = time.monotonic()
    if not kube.wait("the smoke pod to become Ready", 180, ready):
        pytest.fail(
            "the pod never became Ready:\n" + kube.diagnostics(cluster, namespace, SELECTOR)
        )
    print(f"pod Ready in {time.monotonic() - started:.1f} s")
    return APP


def test_restricted_namespace_rejects_a_root_pod(cluster, namespace, image):
    from kubernetes.client.exceptions import ApiException

    root = {
        "name": "root",
        "image": image,
        "imagePullPolicy": "Never",
        "securityContext": {"runAsUser": 0},
    }
    with pytest.raises(ApiException) as refused:
        cluster.core.create_namespaced_pod(
            namespace, pod("root", {"app.kubernetes.io/name": "root"}, root)
        )
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body


def test_compliant_pod_from_a_local_image_becomes_ready(app_pod):
    assert app_pod == APP


def test_service_routes_inside_the_cluster(cluster, namespace, image, app_pod):
    """A second pod reaches the app through the Service's DNS name and ClusterIP."""
    fetch = (
        "import json, sys, urllib.request\n"
        "for url in sys.argv[1:]:\n"
        "    for attempt in range(30):\n"
        "        try:\n"
        "            body = urllib.request.urlopen(url, timeout=3).read().decode()\n"
        "            break\n"
        "        except OSError as exc:\n"
        "            import time; time.sleep(1); body = f'error {exc}'\n"
        "    print(json.dumps({'url': url, 'body': body}))\n"
    )
    cluster_ip = cluster.core.read_namespaced_service(APP, namespace).spec.cluster_ip
    urls = [f"http://{APP}.{namespace}.svc.cluster.local/readyz", f"http://{cluster_ip}/healthz"]
    client_pod = pod(
        "client",
        {"app.kubernetes.io/name": "smoke-client"},
        restricted_container(image, "client", ["python", "-c", fetch, *urls]),
        "Never",
    )
    cluster.core.create_namespaced_pod(namespace, client_pod)

    def finished():
        phase = cluster.core.read_namespaced_pod("client", namespace).status.phase
        return phase if phase in ("Succeeded", "Failed") else None

    phase = kube.wait("the client pod to finish", 120, finished)
    logs = cluster.core.read_namespaced_pod_log("client", namespace)
    assert phase == "Succeeded", f"client pod {phase}:\n{logs}"
    answers = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert len(answers) == len(urls), logs
    for answer in answers:
        assert '"status"' in answer["body"], answer


def test_port_forward_reaches_the_service(cluster, namespace, app_pod):
    with kube.port_forward(cluster, namespace, f"svc/{APP}", "http") as port:
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_metrics_api_returns_numbers(cluster, namespace, app_pod):
    def usage():
        try:
            found = cluster.custom.list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", namespace, "pods"
            )
        except Exception:
            return None
        for item in found.get("items", []):
            if item["metadata"]["name"] == APP and item["containers"]:
                return item["containers"][0]["usage"]
        return None

    found = kube.wait("metrics.k8s.io to report the smoke pod", 150, usage, interval=5)
    assert found, "metrics.k8s.io never reported the pod (is metrics-server running?)"
    assert found["cpu"] and found["memory"].endswith(("Ki", "Mi")), found
    top = subprocess.run(
        [
            kube.kubectl(),
            "--context",
            cluster.context,
            "-n",
            namespace,
            "top",
            "pod",
            APP,
            "--no-headers",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert top.returncode == 0, top.stderr
    assert APP in top.stdout and "Mi" in top.stdout, top.stdout
