"""make deploy's record of what it applied (checker.cluster.applied), offline: each
object of the folder gets its own hash, and an edit changes it. The live comparison
is proven by each cluster lab's refused apply (test_live_labs.py)."""

import yaml

from checker.cluster import applied, manifests

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: diabetes-api
spec:
  replicas: 3
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: diabetes-api
  annotations:
    note: kept
spec:
  ports: [{port: 80}]
"""


def folder(tmp_path, replicas: int = 3):
    k8s = tmp_path / f"k8s-{replicas}"
    k8s.mkdir()
    (k8s / "deployment.yaml").write_text(DEPLOYMENT.replace("3", str(replicas)))
    (k8s / "service.yaml").write_text(SERVICE)
    return k8s


def test_each_rendered_object_gets_its_folder_version(tmp_path):
    k8s = folder(tmp_path)
    rendered = tmp_path / "rendered.yaml"
    # As kustomize renders it: the namespace set, the image tag changed, one more object.
    extra = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: generated-abc}\n"
    rendered.write_text(DEPLOYMENT.replace("  name: diabetes-api\n", "  name: diabetes-api\n"
                                           "  namespace: lab05\n") + "---\n" + SERVICE
                        + "---\n" + extra)  # fmt: skip
    assert applied.stamp(rendered, k8s) == 2
    objects = list(yaml.safe_load_all(rendered.read_text()))
    documents, _ = manifests.read(k8s)
    by_kind = {d.kind: d for d in documents}
    deployment, service, generated = objects
    assert deployment["metadata"]["annotations"][applied.ANNOTATION] == applied.fingerprint(
        by_kind["Deployment"].data
    )
    assert service["metadata"]["annotations"]["note"] == "kept"
    assert applied.ANNOTATION in service["metadata"]["annotations"]
    assert "annotations" not in generated["metadata"]


def test_an_edit_changes_only_its_own_objects_hash(tmp_path):
    before, _ = manifests.read(folder(tmp_path, 3))
    after, _ = manifests.read(folder(tmp_path, 4))
    prints = [{d.kind: applied.fingerprint(d.data) for d in docs} for docs in (before, after)]
    assert prints[0]["Deployment"] != prints[1]["Deployment"]
    assert prints[0]["Service"] == prints[1]["Service"]
