"""The learners' pins (scripts/versions.env) against the rules they must keep: kind's
node image by digest, kubectl on its version, Helm 3's patched line, one Prometheus,
and a nightly channel inside Kubernetes' skew policy."""

import re
import shutil
import subprocess

import pytest

from checker.command.course import REPO
from checker.upkeep.versions import pins

NODE_IMAGE = re.compile(r"^kindest/node:v(\d+)\.(\d+)\.(\d+)@sha256:[0-9a-f]{64}$")
DEFAULT_IMAGE = REPO / "scripts" / "maintainer" / "kind-default-image.sh"


def minor(version: str) -> tuple[int, int]:
    major, minor_, *_ = version.lstrip("v").split(".")
    return int(major), int(minor_)


def test_kind_node_image_is_pinned_by_digest_at_kubectls_version():
    values = pins()
    found = NODE_IMAGE.match(values["KIND_NODE_IMAGE"])
    assert found, f"{values['KIND_NODE_IMAGE']}: kind's release notes ask for tag@sha256:digest"
    assert "v" + ".".join(found.groups()) == values["KUBECTL_VERSION"]
    assert minor(values["K8S_VERSION"]) == minor(values["KUBECTL_VERSION"]), "the test cluster"


def test_helm_is_on_helm_3s_patched_line():
    # 3.22 is Helm 3's last minor and the only Helm 3 line still patched.
    major, minor_ = minor(pins()["HELM_VERSION"])
    assert (major, minor_) == (3, 22), pins()["HELM_VERSION"]


def test_one_prometheus_version_for_kind_promtool_and_the_test_cluster():
    values = pins()
    prometheus = values["PROMETHEUS_VERSION"]
    # The chart's Prometheus on kind runs this version, not the chart's own default.
    monitoring_up = (REPO / "scripts" / "learner" / "monitoring-up.sh").read_text()
    assert '"prometheus.prometheusSpec.image.tag=v${PROMETHEUS_VERSION}"' in monitoring_up
    tools = (REPO / "scripts" / "learner" / "install-tools.sh").read_text()
    assert "prometheus-${PROMETHEUS_VERSION}" in tools, "promtool"
    build = (REPO / "scripts" / "testcluster" / "build.sh").read_text()
    assert "version.Version=${PROMETHEUS_VERSION}" in build, "the test cluster's Prometheus"
    # Its Go module's version is the same release (v0.316.0 is 3.16.0).
    module = values["PROMETHEUS_MODULE_VERSION"].lstrip("v").split(".")
    assert f"{int(module[1]) // 100}.{int(module[1]) % 100}.{module[2]}" == prometheus
    # Nothing else names a Prometheus image of its own.
    values_file = (REPO / "k8s" / "monitoring-values.yaml").read_text()
    assert "prometheus/prometheus" not in values_file and "image:" not in values_file


def test_the_nightly_takes_kinds_default_image_with_its_kubectl():
    """The latest channel pins kind's default node image (by digest) and a kubectl of
    its version; blanking the image alone ran v1.37 beside kubectl v1.35."""
    script = (REPO / "scripts" / "maintainer" / "use-latest.sh").read_text()
    assert "kind-default-image.sh --pin scripts/versions.env" in script
    assert not re.search(r"\(KIND_NODE_IMAGE\|", script), "use-latest.sh blanks KIND_NODE_IMAGE"


@pytest.mark.full
def test_kind_default_image_pins_both_from_kinds_own_source(tmp_path):
    """Run for real: kind's module from the Go module proxy, its default image, and
    the pin written into a copy of versions.env."""
    versions = tmp_path / "versions.env"
    shutil.copy(REPO / "scripts" / "versions.env", versions)
    done = subprocess.run([str(DEFAULT_IMAGE), "--pin", str(versions)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    image = done.stdout.strip()
    found = NODE_IMAGE.match(image)
    assert found, image
    text = versions.read_text()
    assert f"\nKIND_NODE_IMAGE={image}\n" in text
    kubectl = re.search(r"^KUBECTL_VERSION=(\S+)$", text, flags=re.M).group(1)
    assert kubectl == "v" + ".".join(found.groups())
    # What it refuses: a versions file that is not there.
    missing = subprocess.run([str(DEFAULT_IMAGE), "--pin", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert missing.returncode == 2 and "needs a versions file" in missing.stderr
