"""Room mode without a cluster: the room file is read strictly, every lab fits the
default budget, and what room-up applies is labelled for room-down."""

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml

from checker.cluster.kube import quantity
from checker.command.course import REPO

SCRIPT = REPO / "scripts" / "room" / "room.py"
spec = importlib.util.spec_from_file_location("room", SCRIPT)
room = importlib.util.module_from_spec(spec)
spec.loader.exec_module(room)


def write(tmp_path, text):
    path = tmp_path / "room.toml"
    path.write_text(text)
    return path


def test_a_count_names_the_learners(tmp_path):
    found = room.read_room(write(tmp_path, 'name = "lyon"\ncount = 3\n'))
    assert found.learners == ["learner-01", "learner-02", "learner-03"]
    assert found.namespace("learner-02") == "lyon-learner-02"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('name = "Lyon"\ncount = 2\n', "name = 'Lyon'"),
        ('name = "lyon"\n', "neither learners"),
        ('name = "lyon"\nlearners = ["ana", "ana"]\n', "repeated"),
        ('name = "lyon"\nlearners = ["Ana B"]\n', "learner names"),
        ('name = "lyon"\ncount = 2\ntoken_hours = 100\n', "token_hours = 100"),
        ('name = "lyon"\ncount = 2\n[budget]\n"requests.cpu" = "lots"\n', "budget requests.cpu"),
        ('name = "lyon"\ncount = 2\n[budget\n', "not valid TOML"),
        ('name = "lyon"\ncount = 2\nregistry = "https://reg.example.com"\n', "registry = "),
        ('name = "lyon"\ncount = 2\nregistry = "Reg.Example.com:5000"\n', "registry = "),
    ],
)
def test_a_bad_room_file_is_named_with_its_cause(tmp_path, text, says):
    path = write(tmp_path, text)
    done = subprocess.run([sys.executable, str(SCRIPT), "up", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert str(path) in done.stderr and says in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_lab_fits_the_default_budget_at_its_peak():
    budget = {key: quantity(value) for key, value in room.default_budget().items()}
    peaks = room.peaks()
    assert {p.lab for p in peaks} >= {"04-deploy", "05-probes", "06-autoscale", "10-scale"}
    for peak in peaks:
        assert peak.pods <= budget["pods"], peak
        assert peak.requests_cpu <= budget["requests.cpu"], peak
        assert peak.requests_memory <= budget["requests.memory"], peak
        assert peak.limits_memory <= budget["limits.memory"], peak


def test_everything_room_up_applies_carries_the_room_label(tmp_path):
    found = room.read_room(write(tmp_path, 'name = "lyon"\nlearners = ["ana"]\n'))
    objects = room.learner_objects(found, "ana")
    for item in objects:
        assert item["metadata"]["labels"][room.ROOM_LABEL] == "lyon", item["kind"]
    cluster_scoped = {o["kind"] for o in objects if "namespace" not in o["metadata"]}
    assert cluster_scoped == {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    [grant] = [o for o in objects if o["kind"] == "ClusterRole"]
    # Each cluster-wide grant names the one object: her Namespace, lab 10's APIService.
    assert grant["rules"] == [{"apiGroups": [""], "resources": ["namespaces"],
                               "resourceNames": ["lyon-ana"], "verbs": ["get"]},
                              {"apiGroups": ["apiregistration.k8s.io"],
                               "resources": ["apiservices"],
                               "resourceNames": ["v1beta1.custom.metrics.k8s.io"],
                               "verbs": ["get"]}]  # fmt: skip


def test_each_learner_pushes_to_a_repository_of_their_own(tmp_path):
    text = 'name = "lyon"\nlearners = ["ana", "ben"]\nregistry = "reg.example.com:5000/ml"\n'
    found = room.read_room(write(tmp_path, text))
    assert found.repository("ana") == "reg.example.com:5000/ml/lyon-ana/diabetes-api"
    [config] = [o for o in room.learner_objects(found, "ben") if o["kind"] == "ConfigMap"]
    assert config["metadata"]["name"] == room.ROOM_MAP
    assert config["data"]["repository"] == "reg.example.com:5000/ml/lyon-ben/diabetes-api"
    without = room.read_room(write(tmp_path, 'name = "lyon"\ncount = 1\n'))
    assert without.repository("learner-01") == ""


def test_learners_may_port_forward_to_the_rooms_monitoring_and_read_nothing_else(tmp_path):
    found = room.read_room(write(tmp_path, 'name = "lyon"\nlearners = ["ana", "ben"]\n'))
    role, binding = room.monitoring_objects(found)
    assert {o["metadata"]["namespace"] for o in (role, binding)} == {"monitoring"}
    assert all(o["metadata"]["labels"][room.ROOM_LABEL] == "lyon" for o in (role, binding))
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert granted == {"services", "pods", "pods/portforward", "configmaps"}
    # Of the ConfigMaps, only the room's Adapter's (its rules, for lab 10's checker).
    [configmaps] = [rule for rule in role["rules"] if rule["resources"] == ["configmaps"]]
    assert configmaps["resourceNames"] == ["prometheus-adapter"] and configmaps["verbs"] == ["get"]
    assert [s["namespace"] for s in binding["subjects"]] == ["lyon-ana", "lyon-ben"]


FIT = importlib.util.spec_from_file_location("fit", REPO / "scripts" / "room" / "fit.py")
fit = importlib.util.module_from_spec(FIT)
FIT.loader.exec_module(fit)


def test_deploy_in_a_room_gives_each_learner_a_dashboard_of_their_own():
    lab = REPO / "solutions" / "07-observe"
    docs = [d for path in sorted((lab / "k8s").glob("*.yaml")) if path.name != "kustomization.yaml"
            for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]  # fmt: skip
    board = (lab / "grafana" / "diabetes-api.json").read_text()
    docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "diabetes-api-dashboard",
                              "labels": {"grafana_dashboard": "1"}},
                 "data": {"diabetes-api.json": board, "notes.txt": "kept"}})  # fmt: skip
    ports = [{"port": 80, "nodePort": 30080}]
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
                 "spec": {"type": "NodePort", "ports": ports}})  # fmt: skip
    fitted = fit.fit(docs, "lyon-ana")
    assert "Namespace" not in {d["kind"] for d in fitted}
    [np] = [d for d in fitted if d["metadata"]["name"] == "np"]
    assert np["spec"] == {"type": "ClusterIP", "ports": [{"port": 80}]}
    [config] = [d for d in fitted if d["kind"] == "ConfigMap" and "notes.txt" in d["data"]]
    mine = json.loads(config["data"]["diabetes-api.json"])
    original = json.loads(board)
    assert mine["uid"] == f"{original['uid']}-lyon-ana" and len(mine["uid"]) <= 40
    assert mine["title"].endswith("· lyon-ana") and config["data"]["notes.txt"] == "kept"
    [variable] = [v for v in mine["templating"]["list"] if v["name"] == "namespace"]
    assert variable["current"]["value"] == "lyon-ana"
    assert mine["panels"] == original["panels"]
