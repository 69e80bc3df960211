"""Lab 10, Step 1: how many predictions one pod serves, measured in the cluster.

`make capacity` sends wrk's load straight at one pod (its IP, not the Service),
from a pod of its own, until that pod saturates; writes the figures to the lab
folder's capacity.json, which the checker compares the HPA's target against; and
prints what they mean: pods needed for a given load, and the cost of a million
predictions at a stated price per core-hour.
"""

import datetime
import json
import math
import time
from pathlib import Path

from checker.cluster import kube
from checker.cluster.deployment import require_available, running_deployment
from checker.cluster.kube import quantity
from checker.cluster.secret import read_secret_value
from checker.cluster.service import service_of
from checker.command import ui
from checker.load import wrkpod
from checker.outcomes import Stop

FILE = "capacity.json"
CONNECTIONS = 16  # enough to keep one uvicorn worker busy without queueing for long
WARMUP_SECONDS = 5
SECONDS = 20
# A stated price, to compare like with like: about what one on-demand vCPU costs
# an hour at the large clouds in 2026 (memory included). Change it to yours.
PRICE_PER_CORE_HOUR = 0.04
SHARE = 0.6  # the target the README proposes: 60% of capacity, 40% headroom
LOADS = (100, 1_000, 10_000)  # requests per second, for the table
# A pod using this share of its CPU limit or more is saturated: it serves no faster.
SATURATED = 0.85


def cores(cpu: str | None) -> float | None:
    """A CPU quantity ('500m', '1', '1.5') in cores."""
    return quantity(cpu) if cpu else None


def target_pod(cluster):
    """The Deployment and one of its ready pods: (state, pod)."""
    state = running_deployment(cluster)
    require_available(state)
    return state, ready_pod(state)


def ready_pod(state):
    for pod in state.pods:
        statuses = pod.status.container_statuses or []
        if pod.status.pod_ip and statuses and all(s.ready for s in statuses):
            return pod
    raise Stop("no ready pod of the service to measure", hint="make deploy 10, then run this again")


def container_port(pod) -> int:
    ports = pod.spec.containers[0].ports or []
    named = [p.container_port for p in ports if p.name == "http"]
    return (named or [p.container_port for p in ports] or [8000])[0]


def one_pod(cluster, state, pod, key: str, seconds: float,
            warmup: float = WARMUP_SECONDS) -> tuple[wrkpod.Result, float | None]:  # fmt: skip
    """wrk straight at one pod, after a warm-up: its result, and the cores the pod's
    process used meanwhile (from its /metrics; None when it exports no CPU seconds)."""
    base = f"http://{pod.status.pod_ip}:{container_port(pod)}"
    if warmup:
        ui.say(f"  … warming up pod {pod.metadata.name} for {warmup:g} s")
        wrkpod.run(cluster, state.namespace, f"{base}/predict", key, CONNECTIONS, warmup, "1")
    ui.say(f"  … wrk: {CONNECTIONS} connections to {pod.metadata.name} for {seconds:g} s")
    return wrkpod.run(cluster, state.namespace, f"{base}/predict", key, CONNECTIONS, seconds,
                      "1", cpu_of=f"{base}/metrics")  # fmt: skip


def image_id(pod) -> str | None:
    """The digest of the image the pod's first container runs, as its runtime reports it."""
    statuses = pod.status.container_statuses or []
    return statuses[0].image_id if statuses and statuses[0].image_id else None


def measure(cluster) -> dict:
    state, pod = target_pod(cluster)
    secret = read_secret_value(cluster, state)
    if secret.value is None:
        raise Stop(f"no API key to send: {secret.error}", hint="make deploy 10 creates the Secret")
    resources = pod.spec.containers[0].resources
    result, used = one_pod(cluster, state, pod, secret.value, SECONDS)
    return {
        "requests_per_second": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "errors": result.errors,
        "requests": result.requests,
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "pod_cpu_request": (resources.requests or {}).get("cpu"),
        "pod_cpu_limit": (resources.limits or {}).get("cpu"),
        "pod_cpu_used": None if used is None else round(used, 3),
        "image": pod.spec.containers[0].image,
        "image_id": image_id(pod),
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def plural(count: float, noun: str) -> str:
    return f"{count:g} {noun}{'' if count == 1 else 's'}"


def table(found: dict, price: float = PRICE_PER_CORE_HOUR) -> list[str]:
    """What the measurement means, as the README's decision table asks."""
    rps = found["requests_per_second"]
    limit = cores(found.get("pod_cpu_limit")) or 1.0
    target = rps * SHARE
    p99 = found["p99_ms"]
    lines = [f"  one pod ({plural(limit, 'core')}): {rps:,.0f} predictions/s at saturation, "
             f"p99 {p99:.1f} ms; a target of {SHARE:.0%} is {target:,.0f}/s"]  # fmt: skip
    for load in LOADS:
        pods = max(2, math.ceil(load / target))
        lines.append(f"  {load:>6,} req/s needs {pods:>3} pods ({plural(pods * limit, 'core')})")
    per_million = limit * price / (target * 3600) * 1_000_000
    lines.append(f"  a million predictions at the target cost ${per_million:.4f} "
                 f"(${price}/core-hour; at saturation ${per_million * SHARE:.4f})")  # fmt: skip
    return lines


def stopped(exc: Stop) -> int:
    """A missing precondition: its message and hint, exit 2."""
    ui.say(f"{ui.FAIL} {exc.message}")
    if exc.hint:
        ui.say(f"    hint: {exc.hint}")
    return 2


def through_service(seconds: float) -> int:
    """make scale-load: wrk through the Service, in 10 s rounds, each round printed,
    to watch the HPA at work (README → Step 4)."""
    try:
        cluster = kube.connect()
        state = running_deployment(cluster)
        require_available(state)
        service = service_of(cluster, state)
        secret = read_secret_value(cluster, state)
        if service.error or secret.value is None:
            raise Stop(f"nothing to load: {service.error or secret.error}",
                       hint="make deploy 10 first")  # fmt: skip
        url = (f"http://{service.name}.{service.namespace}.svc.cluster.local:"
               f"{service.number}/predict")  # fmt: skip
        rounds = max(1, round(seconds / 10))
        name = wrkpod.start(cluster, service.namespace, url, secret.value, CONNECTIONS, 10,
                            rounds=rounds)  # fmt: skip
    except Stop as exc:
        return stopped(exc)
    shown = 0
    try:
        while shown < rounds:
            done = wrkpod.rounds(wrkpod.log(cluster, service.namespace, name), CONNECTIONS)
            for result in done[shown:]:
                ui.say(f"  round {shown + 1}/{rounds}: {result.row()}, {result.errors} errors")
                shown += 1
            time.sleep(1)
    finally:
        wrkpod.stop(cluster, service.namespace, name)
    return 0


def main(lab_dir: Path) -> int:
    try:
        cluster = kube.connect()
        found = measure(cluster)
    except Stop as exc:
        return stopped(exc)
    path = lab_dir / FILE
    path.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    for line in table(found):
        ui.say(line)
    if found["errors"]:
        ui.say(f"{ui.FAIL} {found['errors']} requests failed during the measurement: the "
               "figure is not a capacity (kubectl logs the pod, then measure again)")  # fmt: skip
        return 1
    limit, used = cores(found.get("pod_cpu_limit")), found.get("pod_cpu_used")
    if limit and used is not None and used < SATURATED * limit:
        ui.say(f"  ! the pod used {used * 1000:.0f}m of its {limit * 1000:.0f}m limit: the "
               "machine, not the pod, set this rate; measure again when it is quieter")  # fmt: skip
    ui.say(f"{ui.PASS} written to {path}: set the HPA's target from it (README → Step 3)")
    return 0
