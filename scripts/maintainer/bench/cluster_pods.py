"""Per pod on the cluster, side by side in one run: lab 06's image (scikit-learn per
request) against lab 10's (the compiled forest), each deployed from its solution
into a namespace of its own, then loaded with the same in-cluster wrk (lab 10's
load generator) straight at one pod. Run it with `make bench-cluster` (part of
`make bench` when a cluster answers).

Prints requests per second per pod and per core, latency, the ratio of the two,
and the pods each needs for the same offered load at lab 10's 60% target.
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checker.cluster import kube
from checker.cluster.deployment import running_deployment
from checker.command.course import REPO
from checker.load import capacity
from checker.outcomes import Stop

LABS = {"lab 06": REPO / "solutions" / "06-autoscale", "lab 10": REPO / "solutions" / "10-scale"}
OFFERED = (100, 1_000, 10_000)  # requests per second
SECONDS = 20


def sh(*command: str, env: dict | None = None) -> None:
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    if done.returncode != 0:
        raise Stop(f"{' '.join(command[:2])} failed: {(done.stderr or done.stdout)[-400:]}")


def one_pod(cluster, namespace: str, folder: Path) -> dict:
    """Deploys folder into namespace, keeps one pod (no HPA: a bench, not a check),
    and measures it as make capacity does."""
    print(f"… deploying {folder.name} into {namespace}", flush=True)
    # A copy without kind's fixed NodePort, which only one namespace can hold.
    copy = Path(tempfile.mkdtemp(prefix="bench-")) / folder.name
    shutil.copytree(folder, copy)
    service = copy / "k8s" / "service.yaml"
    service.write_text(service.read_text().replace("      nodePort: 30080\n", ""))
    sh(
        str(REPO / "scripts" / "learner" / "deploy.sh"),
        str(copy),
        env={"WORKSHOP_NAMESPACE": namespace},
    )
    shutil.rmtree(copy.parent, ignore_errors=True)
    sh("kubectl", "-n", namespace, "delete", "hpa", "--all")
    sh("kubectl", "-n", namespace, "scale", "deployment/diabetes-api", "--replicas=1")
    os.environ[kube.NAMESPACE_ENV] = namespace
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = running_deployment(cluster)
        if len(state.pods) == 1 and state.ready == 1:
            break
        time.sleep(2)
    print(f"… wrk against one pod of {folder.name} for {SECONDS} s", flush=True)
    found = capacity.measure(cluster)
    return found


def main() -> int:
    try:
        cluster = kube.connect()
    except Stop as exc:
        print(f"✗ no cluster: {exc.message} (make cluster-up)")
        return 2
    results, namespaces = {}, []
    try:
        for label, folder in LABS.items():
            namespace = f"bench-{folder.name.split('-')[0]}"
            namespaces.append(namespace)
            results[label] = one_pod(cluster, namespace, folder)
    except Stop as exc:
        print(f"✗ {exc.message}")
        return 1
    finally:
        for namespace in namespaces:
            subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"],
                           capture_output=True, check=False)  # fmt: skip
    print(f"\nOne pod each, the same in-cluster wrk ({capacity.CONNECTIONS} kept-alive "
          f"connections, {SECONDS} s):")  # fmt: skip
    print(f"  {'image':<8} {'cpu limit':>9} {'req/s':>8} {'req/s/core':>11} {'p50 ms':>8} "
          f"{'p99 ms':>8}")  # fmt: skip
    for label, found in results.items():
        cores = capacity.cores(found["pod_cpu_limit"]) or 1.0
        print(f"  {label:<8} {found['pod_cpu_limit']:>9} {found['requests_per_second']:>8,.0f} "
              f"{found['requests_per_second'] / cores:>11,.0f} {found['p50_ms']:>8.1f} "
              f"{found['p99_ms']:>8.1f}")  # fmt: skip
    slow, fast = results["lab 06"], results["lab 10"]
    per_core = [r["requests_per_second"] / (capacity.cores(r["pod_cpu_limit"]) or 1.0)
                for r in (slow, fast)]  # fmt: skip
    print(f"  lab 10 / lab 06: {fast['requests_per_second'] / slow['requests_per_second']:.1f}× "
          f"per pod, {per_core[1] / per_core[0]:.1f}× per core")  # fmt: skip
    print(f"\nPods needed at {capacity.SHARE:.0%} of one pod's capacity (at least 2):")
    for offered in OFFERED:
        needs = [max(2, math.ceil(offered / (capacity.SHARE * r["requests_per_second"])))
                 for r in (slow, fast)]  # fmt: skip
        print(f"  {offered:>6,} req/s: lab 06 {needs[0]:>4} pods, lab 10 {needs[1]:>4} pods")
    return 0


if __name__ == "__main__":
    sys.exit(main())
