"""Lab 10's Prometheus Adapter: what the test cluster renders from a learner's Helm
values (scripts/testcluster/adapter.py), and the pins the kind path installs. The
adapter itself runs on the test cluster in test_live_labs.py."""

import json
import subprocess
import sys

import yaml

from checker.command.course import REPO
from checker.upkeep.versions import pins

RENDER = REPO / "scripts" / "testcluster" / "adapter.py"
SOLUTION_VALUES = REPO / "solutions" / "10-scale" / "monitoring" / "adapter-values.yaml"
# The prometheus-adapter chart's appVersion, by chart version (its Chart.yaml):
# the test cluster builds this adapter version for the chart that kind installs.
CHART_APP_VERSION = {"4.11.0": "v0.12.0"}


def render(values_path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RENDER), str(values_path), "adapter:test", *extra],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_solutions_values_render_the_adapter_the_chart_would():
    done, apiservice = render(SOLUTION_VALUES), render(SOLUTION_VALUES, "--apiservice")
    assert done.returncode == 0 and apiservice.returncode == 0, done.stderr
    docs = [json.loads(part) for part in done.stdout.split("\n---\n")]
    assert "APIService" not in {d["kind"] for d in docs}, "registered last, by itself"
    docs.append(json.loads(apiservice.stdout))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("APIService", "v1beta1.custom.metrics.k8s.io") in kinds
    values = yaml.safe_load(SOLUTION_VALUES.read_text())
    [config] = [d for d in docs if d["kind"] == "ConfigMap"]
    assert yaml.safe_load(config["data"]["config.yaml"])["rules"] == values["rules"]["custom"]
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    url = f"--prometheus-url={values['prometheus']['url']}:{values['prometheus']['port']}"
    assert url in args
    assert f"--metrics-relist-interval={values['metricsRelistInterval']}" in args


def test_chart_defaults_and_bad_values_are_refused_with_the_file_named(tmp_path):
    cases = {
        "defaults.yaml": ("rules: {default: true}\n", "rules.default: true is not rendered"),
        "broken.yaml": ("rules: [\n", "broken.yaml"),
        "list.yaml": ("- a\n", "must be a YAML mapping"),
    }
    for name, (text, says) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        done = render(path)
        assert done.returncode == 2, (name, done.stdout)
        assert says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_chart_pinned_for_kind_ships_the_adapter_the_test_cluster_builds():
    values = pins()
    chart = values["PROMETHEUS_ADAPTER_CHART_VERSION"]
    assert CHART_APP_VERSION.get(chart) == values["PROMETHEUS_ADAPTER_VERSION"], (
        f"chart {chart}: look up its appVersion and add it to CHART_APP_VERSION"
    )
    script = (REPO / "scripts" / "learner" / "adapter-up.sh").read_text()
    assert '--version "${PROMETHEUS_ADAPTER_CHART_VERSION}"' in script
    assert (
        "PROMETHEUS_ADAPTER_CHART_VERSION"
        in (REPO / "scripts" / "maintainer" / "use-latest.sh").read_text()
    )
