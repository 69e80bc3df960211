"""wrk in a pod (lab 10): load that one fast pod cannot outrun, from inside the cluster.

Lab 05's standard-library generator opens a connection per request from Python
threads; it tops out far below what lab 09's compiled service answers. wrk is C
and keeps its connections alive. The image (scripts/learner/loadgen) is Debian's wrk on
the service's own base image, loaded into the cluster by make loadgen-image (in
room mode, pushed to the learner's own repository and run by digest).

Each round runs wrk anew, so its connections are opened afresh and spread over
the pods the Service has then: a kept-alive connection stays with the pod it
first reached, and a new pod would otherwise get no traffic at all.
"""

import contextlib
import json
import re
import secrets
import time

from checker.cluster import kube
from checker.cluster.kube import RESTRICTED
from checker.load.wrk import Result, ServingError, parse_wrk
from checker.outcomes import Stop
from checker.processes import artifact, procs
from checker.room import learner
from checker.upkeep.versions import pins

SELECTOR = "app.kubernetes.io/name=workshop-loadgen"
ROUND_END = "=== round end"
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("API_KEY")
wrk.body = os.getenv("BODY")
"""


def image() -> str:
    """The pinned name, loaded into kind; in room mode, the learner's own push of it
    to the room's registry, by digest (scripts/learner/loadgen-image.sh)."""
    if learner.in_room():
        pushed, reference = learner.last_push("WORKSHOP_LAST_LOADGEN_PUSH", "pushed-loadgen")
        if reference:
            return reference
        raise Stop("room mode: no push of the load generator image recorded",
                   hint="make deploy 10 pushes it to your repository (or make loadgen-image)",
                   detail=str(pushed))  # fmt: skip
    return pins().get("LOADGEN_IMAGE", "workshop.local/loadgen:wrk-4.1.0")


# Before and after a round: the served process's own CPU seconds, from its /metrics
# (prometheus_client's process collector), with the time read; "none" when it has none.
CPU_MARK = "=== cpu"
CPU_PROBE = (
    "python3 -c 'import sys, time, urllib.request\n"
    "try:\n"
    "    text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()\n"
    "    found = [l.split()[-1] for l in text.splitlines()"
    ' if l.startswith("process_cpu_seconds_total ")]\n'
    "except Exception:\n"
    "    found = []\n"
    'print("%s", time.time(), found[0] if found else "none")\' "%s"; '
)


def start(cluster, ns: str, url: str, key: str, connections: int, seconds: float,
          rounds: int = 1, cpu: str = "500m", cpu_of: str = "") -> str:  # fmt: skip
    """A pod that runs `rounds` rounds of wrk against url; its name. With cpu_of (a
    /metrics URL), each round is framed by that process's CPU seconds (cpu_used)."""
    name = f"workshop-loadgen-{secrets.token_hex(3)}"
    probe = CPU_PROBE % (CPU_MARK, cpu_of) if cpu_of else ""
    wrk = (f'{probe}wrk -t1 -c{connections} -d{seconds:g}s --timeout 5s --latency '
           f'-s /tmp/post.lua "{url}"; status=$?; {probe}echo "{ROUND_END} $status"')  # fmt: skip
    script = (f'printf "%s" "$LUA" > /tmp/post.lua; i=0; while [ "$i" -lt {rounds} ]; '
              f"do {wrk}; i=$((i+1)); done")  # fmt: skip
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "workshop-loadgen",
                                              "app.kubernetes.io/part-of": "ml-workshop"}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsUser": 65532, "runAsGroup": 65532},
            "containers": [{
                "name": "wrk", "image": image(), "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
                "env": [{"name": "LUA", "value": LUA}, {"name": "API_KEY", "value": key},
                        {"name": "BODY", "value": json.dumps(artifact.PATIENT)}],
                "securityContext": RESTRICTED,
                "resources": {"requests": {"cpu": "100m", "memory": "32Mi"},
                              "limits": {"cpu": cpu, "memory": "128Mi"}},
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }  # fmt: skip
    cluster.core.create_namespaced_pod(ns, pod)
    procs.on_cleanup(lambda: stop(cluster, ns, name))
    if not kube.wait("the load generator pod to start", 60, lambda: _running(cluster, ns, name)):
        detail = kube.diagnostics(cluster, ns, SELECTOR)
        stop(cluster, ns, name)
        if "ErrImageNeverPull" in detail or "ImagePull" in detail:
            raise Stop(f"the load generator image {image()} is not in the cluster",
                       hint="make loadgen-image builds it and loads it into the cluster "
                            "(in room mode, pushes it)",
                       detail=detail)  # fmt: skip
        raise Stop("the load generator pod did not start", hint="kubectl describe pod shows why",
                   detail=detail)  # fmt: skip
    return name


def _running(cluster, ns: str, name: str) -> bool:
    try:
        phase = cluster.core.read_namespaced_pod(name, ns).status.phase
    except Exception:
        return False
    return phase in ("Running", "Succeeded", "Failed")


def log(cluster, ns: str, name: str) -> str:
    try:
        raw = cluster.core.read_namespaced_pod_log(name, ns, _preload_content=False)
        return raw.data.decode("utf-8", errors="replace")
    except Exception:
        return ""


def rounds(text: str, connections: int) -> list[Result]:
    """Every finished round's result, oldest first; a round wrk could not finish raises."""
    parts = re.split(ROUND_END + r" (\d+)\n?", text)
    return [parse_wrk(body, int(code), body, connections)
            for body, code in zip(parts[0:-1:2], parts[1::2], strict=True)]  # fmt: skip


def cpu_used(text: str) -> float | None:
    """Cores the served process used during the last framed round (CPU seconds over
    wall seconds), or None when its /metrics gave no process_cpu_seconds_total."""
    marks = re.findall(re.escape(CPU_MARK) + r" (\S+) (\S+)", text)
    if len(marks) < 2 or "none" in (marks[-2][1], marks[-1][1]):
        return None
    (then, before), (now, after) = marks[-2], marks[-1]
    wall = float(now) - float(then)
    return (float(after) - float(before)) / wall if wall > 0 else None


def run(cluster, ns: str, url: str, key: str, connections: int, seconds: float,
        cpu: str = "500m", cpu_of: str = "") -> tuple[Result, float | None]:  # fmt: skip
    """One round of wrk, waited for: its result, and with cpu_of the cores the served
    process used meanwhile (None without it)."""
    name = start(cluster, ns, url, key, connections, seconds, 1, cpu, cpu_of)
    try:
        deadline = time.monotonic() + seconds + 60
        while time.monotonic() < deadline:
            text = log(cluster, ns, name)
            if ROUND_END in text:
                try:
                    return rounds(text, connections)[-1], cpu_used(text)
                except ServingError as exc:
                    raise Stop(f"wrk in the cluster: {exc}") from None
            time.sleep(1)
        raise Stop(f"wrk did not finish within {seconds + 60:.0f} s",
                   hint="kubectl get pods shows the load generator")  # fmt: skip
    finally:
        stop(cluster, ns, name)


def stop(cluster, ns: str, name: str) -> None:
    with contextlib.suppress(Exception):
        cluster.core.delete_namespaced_pod(name, ns, grace_period_seconds=0)
