"""Room mode on a real cluster (the test cluster, or kind): room-up makes each
learner's namespace with its budget, policies and a kubeconfig of their own; a
learner can work in their namespace and nowhere else; restricted pods and pods
over the budget are refused; room-down removes that room and nothing else. A lab
deployed and checked with a learner's own kubeconfig: test_room_board.py."""

import json
import os
import secrets
import stat
import subprocess
import sys

import pytest
import yaml

from checker.command.course import REPO

pytestmark = [pytest.mark.full, pytest.mark.cluster]
ROOM_PY = [sys.executable, str(REPO / "scripts" / "room" / "room.py")]
LEARNERS = ["ana", "ben"]
PAUSE = "registry.k8s.io/pause:3.10.1"


def kubectl(*args: str, kubeconfig: str | None = None, stdin: str | None = None):
    command = ["kubectl", *(["--kubeconfig", kubeconfig] if kubeconfig else []), *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    name = f"r{secrets.token_hex(3)}"
    folder = tmp_path_factory.mktemp("room")
    path = folder / "room.toml"
    path.write_text(f'name = "{name}"\nlearners = {json.dumps(LEARNERS)}\ntoken_hours = 2\n')
    # A namespace of someone else's that room-down must leave alone.
    bystander = f"{name}-bystander"
    kubectl("create", "namespace", bystander)
    done = subprocess.run([*ROOM_PY, "up", str(path)], capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    yield {"name": name, "file": path, "bystander": bystander,
           "kubeconfig": {n: REPO / ".workshop" / "room" / name / f"{n}.kubeconfig"
                          for n in LEARNERS}}  # fmt: skip
    subprocess.run([*ROOM_PY, "down", str(path)], capture_output=True, timeout=600, check=False)
    kubectl("delete", "namespace", bystander, "--wait=false")


def ns(room, learner):
    return f"{room['name']}-{learner}"


def test_each_learner_gets_a_restricted_namespace_with_a_budget(room):
    for learner in LEARNERS:
        found = json.loads(kubectl("get", "namespace", ns(room, learner), "-o", "json").stdout)
        assert found["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        quota = json.loads(kubectl("-n", ns(room, learner), "get", "resourcequota", "budget",
                                   "-o", "json").stdout)  # fmt: skip
        assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(
            quota["spec"]["hard"]
        )
        for kind in ("limitrange/defaults", "networkpolicy/same-namespace-and-monitoring",
                     "secret/diabetes-api-key", "serviceaccount/learner"):  # fmt: skip
            assert kubectl("-n", ns(room, learner), "get", kind).returncode == 0, kind


def test_kubeconfigs_are_private_and_name_the_namespace(room):
    for learner, path in room["kubeconfig"].items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        config = yaml.safe_load(path.read_text())
        assert config["contexts"][0]["context"]["namespace"] == ns(room, learner)


@pytest.mark.parametrize(
    ("verb", "where", "allowed"),
    [
        ("create deployments", "own", "yes"),
        ("create horizontalpodautoscalers.autoscaling", "own", "yes"),
        ("create servicemonitors.monitoring.coreos.com", "own", "yes"),
        ("create pods --subresource=portforward", "own", "yes"),
        ("create pods --subresource=eviction", "own", "yes"),
        ("create pods --subresource=eviction", "other", "no"),
        ("get secrets", "other", "no"),
        ("create deployments", "other", "no"),
        ("delete pods", "other", "no"),
        ("create namespaces", "cluster", "no"),
        ("list nodes", "cluster", "no"),
        ("create clusterroles", "cluster", "no"),
        ("update resourcequotas", "own", "no"),
        ("patch namespaces", "own", "no"),
        ("create rolebindings", "own", "no"),
        ("create pods --subresource=portforward", "monitoring", "yes"),
        ("list services", "monitoring", "yes"),
        ("get secrets", "monitoring", "no"),
        ("create pods", "monitoring", "no"),
        # Lab 10 on the room's Adapter: its APIService and its rules, by name only (reading
        # the metric itself is proven by a learner passing lab 10: test_room_board.py).
        ("get apiservices.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io", "cluster", "yes"),
        ("list apiservices.apiregistration.k8s.io", "cluster", "no"),
        ("get configmaps/prometheus-adapter", "monitoring", "yes"),
        ("list configmaps", "monitoring", "no"),
    ],
)
def test_a_learner_works_in_their_namespace_and_nowhere_else(room, verb, where, allowed):
    kubeconfig = str(room["kubeconfig"]["ana"])
    scope = {"own": ["-n", ns(room, "ana")], "other": ["-n", ns(room, "ben")], "cluster": [],
             "monitoring": ["-n", "monitoring"]}  # fmt: skip
    answer = kubectl("auth", "can-i", *verb.split(), *scope[where], kubeconfig=kubeconfig)
    assert answer.stdout.strip() == allowed, f"{verb} in {where}: {answer.stdout}{answer.stderr}"


def pod(name: str, memory: str = "64Mi", restricted: bool = True) -> str:
    security = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": 65535,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if not restricted:
        security = {}  # root allowed, capabilities kept: fine for baseline, not restricted
    container = {
        "name": "c",
        "image": PAUSE,
        "securityContext": security,
        "resources": {"requests": {"memory": memory}, "limits": {"memory": memory}},
    }
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [container]}})  # fmt: skip


def test_restricted_and_over_budget_pods_are_refused(room):
    kubeconfig, where = str(room["kubeconfig"]["ana"]), ns(room, "ana")
    refused = kubectl("-n", where, "apply", "-f", "-", stdin=pod("root", restricted=False),
                      kubeconfig=kubeconfig)  # fmt: skip
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr
    too_big = kubectl("-n", where, "apply", "-f", "-", stdin=pod("big", memory="2Gi"),
                      kubeconfig=kubeconfig)  # fmt: skip
    assert too_big.returncode != 0 and "maximum memory usage per Container" in too_big.stderr
    created, answers = [], []
    for n in range(4):  # 4 × 1Gi of requests against 2.5Gi
        done = kubectl("-n", where, "apply", "-f", "-", stdin=pod(f"fill-{n}", memory="1Gi"),
                       kubeconfig=kubeconfig)  # fmt: skip
        answers.append(done.stderr)
        if done.returncode == 0:
            created.append(f"fill-{n}")
    kubectl("-n", where, "delete", "pod", *created, "--wait=false", kubeconfig=kubeconfig)
    assert len(created) == 2 and "exceeded quota" in answers[2], answers


def test_join_refuses_an_expired_token(room, tmp_path):
    config = yaml.safe_load(room["kubeconfig"]["ana"].read_text())
    config["users"][0]["user"]["token"] = "expired." + secrets.token_urlsafe(40)
    stale = tmp_path / "stale.kubeconfig"
    stale.write_text(yaml.safe_dump(config))
    env = {**os.environ, "WORKSHOP_STATE": str(tmp_path / "state")}
    done = subprocess.run([str(REPO / "scripts" / "room" / "join.sh"), str(stale)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "refused your token" in done.stderr and "make room-tokens" in done.stderr


def test_room_down_removes_this_room_and_nothing_else(room):
    done = subprocess.run([*ROOM_PY, "down", str(room["file"])], capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for learner in LEARNERS:
        assert kubectl("get", "namespace", ns(room, learner)).returncode != 0
    assert kubectl("get", "namespace", room["bystander"]).returncode == 0
    selector = f"ml-workshop/room={room['name']}"
    left = kubectl("get", "clusterrole,clusterrolebinding", "-l", selector, "-o", "name")
    assert left.stdout.strip() == ""
    left = kubectl("-n", "monitoring", "get", "role,rolebinding", "-l", selector, "-o", "name")
    assert left.returncode == 0 and left.stdout.strip() == "", left.stderr
    assert not (REPO / ".workshop" / "room" / room["name"]).exists()
