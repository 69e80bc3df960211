"""Lab 04: the service deployed on the cluster, checked live through the API."""

import os
import sys
from pathlib import Path

from checker.cluster import applied, manifests
from checker.cluster.deployment import LABELS, namespace, namespace_name, require_available
from checker.command import ui
from checker.command.course import REPO
from checker.outcomes import Fail, Needs, Soft, Unjudged, expect
from checker.processes import artifact, procs
from checker.room import learner

import harness


# -- before the cluster: the files -----------------------------------------------
def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    manifests.require_valid(documents)


def test_recommended_labels(documents):
    """Every object carries the app.kubernetes.io recommended labels"""
    soft = Soft()
    for doc in documents[0]:
        labels = (doc.data.get("metadata") or {}).get("labels") or {}
        wanted = ["app.kubernetes.io/part-of"] if doc.kind == "Namespace" else LABELS
        missing = [key for key in wanted if key not in labels]
        soft.check(
            not missing,
            f"{doc.kind}/{doc.name} lacks {', '.join(missing)}",
            "the recommended labels",
        )
    soft.raise_if_any()


def test_api_key_code(lab_dir):
    """The service refuses predictions without the right API key (your unit tests)"""
    done = procs.run_job(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_security.py"],
        lab_dir,
        timeout=harness.UNIT_TESTS_CPU_SECONDS,
    )
    if done.returncode is None:
        ran = f"tests/test_security.py ran {done.wall:.0f} s ({done.cpu:.0f} s of CPU) unfinished"
        if done.starved():
            raise Unjudged(ran, f"it waited {done.waited:.0f} s for a CPU, longer than it "
                           "ran: the machine was busy", "it passes")  # fmt: skip
        raise Fail(ran, "it passes", hint="a test that never ends: look for a loop, or a "
                   "call that waits on the network, in app/security.py or the test")  # fmt: skip
    if done.returncode != 0:
        lines = [line for line in done.output.splitlines() if line.strip()]
        failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))] or lines[-8:]
        raise Fail(
            "tests/test_security.py fails",
            "it passes",
            detail="\n".join("        " + line for line in failed[:8]),
        )


# -- the live cluster ---------------------------------------------------------------
def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_namespace_ready(cluster):
    """The lab namespace exists and enforces the restricted Pod Security Standard"""
    found = namespace(cluster)
    enforce = (found.metadata.labels or {}).get("pod-security.kubernetes.io/enforce")
    expect(
        enforce == "restricted",
        f"namespace {found.metadata.name} enforce={enforce}",
        "pod-security.kubernetes.io/enforce: restricted",
    )


def test_deployed_from_folder(cluster, documents, lab):
    """The cluster runs what your k8s/ folder says: every object as make deploy applied it"""
    applied.require_deployed(cluster, namespace_name(), documents[0], lab.number)


def test_deployment_available(cluster, deployment):
    """The Deployment is Available: 3 or more replicas, all ready, none restarting"""
    require_available(deployment, min_replicas=3)


def test_image_tag(deployment):
    """The pods run your latest image, with a version tag (never :latest)"""
    image = harness.container(deployment).image
    if learner.in_room():
        return harness.room_image(deployment, image)
    tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
    expect(tag and tag != "latest", image, "a unique tag, e.g. diabetes-api:3f9c2a1b7d4e")
    last = Path(os.environ.get("WORKSHOP_LAST_IMAGE") or REPO / ".workshop" / "image")
    if last.exists():
        built = last.read_text().strip()
        expect(image.endswith(built), image, f"{built}, the image make image built last")


def test_pull_policy(deployment):
    """imagePullPolicy fits an image loaded into the cluster"""
    policy = harness.container(deployment).image_pull_policy
    expect(policy in ("IfNotPresent", "Never"), f"imagePullPolicy: {policy}", "IfNotPresent")


def test_resources_set(deployment):
    """Every container has cpu and memory requests and limits"""
    soft = Soft()
    for each in deployment.deployment.spec.template.spec.containers if not deployment.error else []:
        resources = each.resources
        for kind in ("requests", "limits"):
            values = getattr(resources, kind) or {}
            missing = [r for r in ("cpu", "memory") if r not in values]
            soft.check(
                not missing,
                f"container {each.name}: no {kind} for {', '.join(missing)}",
                f"{kind} for cpu and memory",
            )
    if deployment.error:
        raise Needs("a running Deployment")
    soft.raise_if_any()


def test_service_endpoints(service_state):
    """The Service selects the ready pods and targets their container port"""
    if service_state.error:
        raise Fail(
            service_state.error,
            "a Service whose endpoints are the ready pods",
            detail=service_state.detail,
        )
    ui.progress(f"service {service_state.name}: {service_state.ready_endpoints} ready endpoint(s)")


def test_prediction_through_service(api, api_key, lab_dir):
    """A prediction sent through the Service matches the model"""
    headers = {"X-API-Key": api_key.value} if api_key.value else {}
    response = api.post("/predict", json=artifact.PATIENT, headers=headers)
    found = f"POST /predict → {response.status_code} {response.text[:120]}"
    expect(response.status_code == 200, found, "200 with a prediction")
    model = artifact.load(lab_dir / "models" / "diabetes-rf.skops")
    [expected] = artifact.predict(model, [artifact.PATIENT])
    got = response.json().get("prediction")
    expect(
        isinstance(got, float) and abs(got - expected) < 1e-6,
        f"prediction {got}",
        f"{expected:.4f}, what the model predicts for the same patient",
    )


def test_config_from_configmap(cluster, deployment, api, api_key):
    """The settings come from a ConfigMap, and the running pods use them"""
    each = harness.container(deployment)
    sources = [e.config_map_ref.name for e in each.env_from or [] if e.config_map_ref]
    sources += [
        e.value_from.config_map_key_ref.name
        for e in each.env or []
        if e.value_from and e.value_from.config_map_key_ref
    ]
    expect(sources, "no ConfigMap in the container's envFrom or env", "envFrom: configMapRef")
    data: dict[str, str] = {}
    for name in sources:
        try:
            data |= cluster.core.read_namespaced_config_map(name, deployment.namespace).data or {}
        except Exception:
            raise Fail(f"ConfigMap {name} does not exist", f"ConfigMap {name} applied") from None
    missing = [key for key in ("LOG_LEVEL", "MAX_BATCH_ROWS") if key not in data]
    expect(not missing, f"ConfigMap lacks {', '.join(missing)}", "LOG_LEVEL and MAX_BATCH_ROWS")
    limit = int(data["MAX_BATCH_ROWS"])
    headers = {"X-API-Key": api_key.value} if api_key.value else {}
    # At the bound and one past it: only the ConfigMap's value draws the line there.
    codes = [
        api.post("/predict/batch", json={"rows": [artifact.PATIENT] * rows}, headers=headers)
        .status_code
        for rows in (limit, limit + 1)
    ]  # fmt: skip
    expect(
        codes == [200, 422],
        f"batches of {limit} and {limit + 1} rows → {codes[0]} and {codes[1]}",
        f"200 and 422: the pods enforce MAX_BATCH_ROWS={limit} from the ConfigMap",
    )


def test_key_from_secret(deployment, api, api_key):
    """The API key comes from a Secret; without it, predictions get 401"""
    if api_key.error:
        raise Fail(api_key.error, "API_KEY from valueFrom.secretKeyRef")
    soft = Soft()
    missing = api.post("/predict", json=artifact.PATIENT)
    soft.check(
        missing.status_code == 401, f"POST /predict without a key → {missing.status_code}", "401"
    )
    wrong = api.post(
        "/predict", json=artifact.PATIENT, headers={"X-API-Key": "not-the-key-0123456789"}
    )
    soft.check(wrong.status_code == 401, f"with a wrong key → {wrong.status_code}", "401")
    health = api.get("/healthz")
    soft.check(
        health.status_code == 200,
        f"GET /healthz without a key → {health.status_code}",
        "200: probes carry no secret",
    )
    soft.raise_if_any()
