"""Feeds the test cluster's Prometheus from ServiceMonitors and PrometheusRules.

Learners run the Prometheus Operator (kube-prometheus-stack), which cannot be
installed here. This loop does the part of its job the labs rely on, the same
way: it selects the objects by the Helm release label, turns each ServiceMonitor
endpoint into an endpointslice scrape job with the operator's job names and
target labels, writes each rule group that promtool accepts, and reloads
Prometheus when anything changed. Standard library and kubectl only.

    python3 prometheus_sync.py KUBECONFIG CONFIG_DIR PROMETHEUS_URL
"""

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

RELEASE_SELECTOR = "release=monitoring"  # kube-prometheus-stack's default selector
INTERVAL_SECONDS = 2


def sanitize(label: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


def kubectl(kubeconfig: str, *args: str) -> dict:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, *args, "-o", "json"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return json.loads(done.stdout)


def keep(source: str, regex: str) -> dict:
    return {"source_labels": [source], "regex": regex, "action": "keep"}


def copy(source: str, target: str) -> dict:
    return {"source_labels": [source], "target_label": target, "action": "replace"}


def scrape_jobs(monitor: dict, kubeconfig: str) -> list[dict]:
    meta, spec = monitor["metadata"], monitor.get("spec", {})
    selector = spec.get("namespaceSelector", {})
    namespaces = (
        {} if selector.get("any") else {"names": selector.get("matchNames") or [meta["namespace"]]}
    )
    relabel = [
        keep(f"__meta_kubernetes_service_label_{sanitize(k)}", re.escape(v))
        for k, v in spec.get("selector", {}).get("matchLabels", {}).items()
    ]
    relabel.append(keep("__meta_kubernetes_pod_phase", "Pending|Running|Unknown"))
    jobs = []
    for index, endpoint in enumerate(spec.get("endpoints", [])):
        rules = list(relabel)
        if "port" in endpoint:
            rules.append(
                keep("__meta_kubernetes_endpointslice_port_name", re.escape(str(endpoint["port"])))
            )
        if "targetPort" in endpoint:
            target = str(endpoint["targetPort"])
            source = "number" if target.isdigit() else "name"
            rules.append(keep(f"__meta_kubernetes_pod_container_port_{source}", re.escape(target)))
        rules += [
            copy("__meta_kubernetes_namespace", "namespace"),
            copy("__meta_kubernetes_service_name", "service"),
            copy("__meta_kubernetes_pod_name", "pod"),
            copy("__meta_kubernetes_pod_container_name", "container"),
            copy("__meta_kubernetes_service_name", "job"),
        ]
        if spec.get("jobLabel"):
            rules.append(
                copy(f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}", "job")
            )
        rules.append(
            {
                "target_label": "endpoint",
                "replacement": str(endpoint.get("port", "")),
                "action": "replace",
            }
        )
        jobs.append({
            "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/{index}",
            "scrape_interval": endpoint.get("interval", "30s"),
            "metrics_path": endpoint.get("path", "/metrics"),
            "scheme": endpoint.get("scheme", "http"),
            "kubernetes_sd_configs": [
                {"role": "endpointslice", "kubeconfig_file": kubeconfig, "namespaces": namespaces}
            ],
            "relabel_configs": rules,
        })  # fmt: skip
    return jobs


def rule_files(rules: list[dict], directory: Path) -> dict[str, str]:
    """Rule files by name; a group promtool refuses is left out, as the webhook would."""
    files = {}
    for rule in rules:
        meta = rule["metadata"]
        name = f"{meta['namespace']}-{meta['name']}.json"
        text = json.dumps({"groups": rule.get("spec", {}).get("groups", [])}, indent=1)
        candidate = directory / f".check-{name}"
        candidate.write_text(text)
        checked = subprocess.run(["promtool", "check", "rules", str(candidate)],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        candidate.unlink()
        if checked.returncode == 0:
            files[name] = text
        else:
            print(f"refused PrometheusRule {meta['namespace']}/{meta['name']}: "
                  f"{checked.stdout.strip()} {checked.stderr.strip()}", flush=True)  # fmt: skip
    return files


def sync(kubeconfig: str, directory: Path, url: str, last: str) -> str:
    monitors = kubectl(
        kubeconfig, "get", "servicemonitors.monitoring.coreos.com", "-A", "-l", RELEASE_SELECTOR
    )
    rules = kubectl(
        kubeconfig, "get", "prometheusrules.monitoring.coreos.com", "-A", "-l", RELEASE_SELECTOR
    )
    jobs = [job for m in monitors["items"] for job in scrape_jobs(m, kubeconfig)]
    files = rule_files(rules["items"], directory / "rules")
    config = json.dumps({
        # Rules evaluated every 5 s (the chart's default is 30 s): only sooner, never
        # looser; each ServiceMonitor keeps its own scrape interval.
        "global": {"scrape_interval": "15s", "evaluation_interval": "5s"},
        "rule_files": [str(directory / "rules" / "*.json")],
        "scrape_configs": jobs,
    }, indent=1)  # fmt: skip
    state = config + json.dumps(files, sort_keys=True)
    if state == last:
        return last
    for old in (directory / "rules").glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (directory / "rules" / name).write_text(text)
    (directory / "prometheus.json").write_text(config)
    urllib.request.urlopen(urllib.request.Request(f"{url}/-/reload", method="POST"), timeout=10)
    print(f"reloaded: {len(jobs)} scrape jobs, {len(files)} rule files", flush=True)
    return state


def main() -> int:
    kubeconfig, directory, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    (directory / "rules").mkdir(parents=True, exist_ok=True)
    last = ""
    while True:
        try:
            last = sync(kubeconfig, directory, url, last)
        except Exception as exc:  # keep going: the next round may succeed
            print(f"sync failed: {type(exc).__name__}: {exc}", flush=True)
        time.sleep(INTERVAL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
