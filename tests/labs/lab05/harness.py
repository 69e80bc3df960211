"""Lab 05's harness: what its checks and fixtures share."""

import contextlib
import datetime
import re
import threading

from checker.cluster import kube
from checker.cluster.deployment import settled
from checker.outcomes import Needs

# Requests the zero-downtime test sends at least, and how long a replacement pod may take.
MIN_REQUESTS = 2000
REPLACEMENT_SECONDS = 60
ROLLOUT_SECONDS = 150
STARTUP_BUDGET_SECONDS = 20


def api_container(deployment):
    if deployment.deployment is None:
        raise Needs("a Deployment")
    return deployment.deployment.spec.template.spec.containers[0]


def probe_path(probe) -> str | None:
    return probe.http_get.path if probe and probe.http_get else None


def uvicorn_grace(lab_dir) -> float:
    """uvicorn's --timeout-graceful-shutdown in the image's CMD (0 when absent)."""
    dockerfile = (lab_dir / "Dockerfile").read_text(encoding="utf-8", errors="replace")
    found = re.search(r"timeout-graceful-shutdown\D+(\d+)", dockerfile)
    return float(found.group(1)) if found else 0.0


def pre_stop_seconds(each) -> float | None:
    hook = each.lifecycle.pre_stop if each.lifecycle else None
    if hook is None:
        return None
    if hook.sleep is not None:
        return float(hook.sleep.seconds)
    if hook._exec is not None:
        found = re.search(r"sleep\D+(\d+)", " ".join(hook._exec.command or []))
        return float(found.group(1)) if found else 0.0
    return 0.0


def finish_rollout(cluster, deployment) -> bool:
    name = deployment.deployment.metadata.name
    return bool(
        kube.wait(
            f"deployment/{name} rollout",
            ROLLOUT_SECONDS,
            lambda: settled(cluster, name, deployment.namespace),
            interval=1,
        )
    )


def dns_only(stats: dict) -> str:
    """The hint when every failure was the load pod's own name lookup (the cluster's
    DNS did not answer): no pod of the learner's dropped those requests."""
    errors = stats.get("errors") or {}
    if stats.get("failed") and set(errors) == {"gaierror"}:
        return (
            "the load pod could not resolve the Service's name: the cluster's DNS did "
            "not answer, not your pods; kubectl -n kube-system get pods, then run again"
        )
    return ""


# What a client time-out is called in the load pod's totals: the request got no answer
# within its 5 s, where a dropped route answers at once (refused, reset, 502/503).
TIMEOUTS = {"TimeoutError", "timeout"}


def only_timeouts(stats: dict) -> bool:
    """Every failed request timed out, and none was refused, reset or answered 5xx:
    the evidence of a slow machine, not of a pod that left the Service too soon."""
    errors = stats.get("errors") or {}
    return bool(stats.get("failed")) and bool(errors) and set(errors) <= TIMEOUTS


def slow_machine(stats: dict, wanted: int = 0) -> str:
    """Why a load's failures say nothing about the folder, or "": time-outs only, or a
    load pod that sent fewer requests than the check needs, none of them failed."""
    if only_timeouts(stats):
        return (f"every one of the {stats['failed']} failed requests timed out (p99 "
                f"{stats.get('p99_ms', '?')} ms) and none was refused or reset: the pods were "
                "slow to answer, not routed away")  # fmt: skip
    if wanted and not stats.get("failed") and stats.get("sent", 0) < wanted:
        return (f"the load pod sent only {stats.get('sent', 0)} of the {wanted} requests it "
                "needs, with none failed: it was short of CPU")  # fmt: skip
    return ""


def slow_replacement(cluster, ns: str, selector: str, victim: str) -> str:
    """Why a replacement that is not ready yet was slow, not wrong, or "": a probe that
    timed out (the kubelet's word that the node was slow), or a replacement of the same
    template, available a minute ago, that no probe found answering with a status code
    (a wrong path or a 503 would). Wrong ports and paths fail earlier checks."""
    waiting = []
    for pod in cluster.core.list_namespaced_pod(ns, label_selector=selector).items:
        if pod.metadata.name == victim or pod.metadata.deletion_timestamp is not None:
            continue
        events = cluster.core.list_namespaced_event(
            ns, field_selector=f"involvedObject.name={pod.metadata.name},reason=Unhealthy"
        ).items
        messages = [(event.message or "").strip() for event in events]
        for message in messages:
            if "context deadline exceeded" in message or "Client.Timeout" in message:
                return f"pod {pod.metadata.name}: {message[:140]}"
        statuses = pod.status.container_statuses or []
        ready = bool(statuses) and all(s.ready for s in statuses)
        if not ready and not any("statuscode:" in m for m in messages):
            waiting.append(pod.metadata.name)
    if waiting:
        return (f"pod {', '.join(waiting)} of the same template was still starting, and no "
                "probe found it answering with an error: the node was slow")  # fmt: skip
    return ""


def report(stats: dict) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(stats.get("errors", {}).items()))
    return (
        f"{stats['sent']} requests, {stats['failed']} failed"
        + (f" ({errors})" if errors else "")
        + f", p50 {stats.get('p50_ms', '?')} ms, p99 {stats.get('p99_ms', '?')} ms"
    )


def watch_to_the_end(cluster, ns: str, name: str, seconds: float) -> dict:
    """Watches one pod, in a thread, until it is deleted: the API container's last
    state as the kubelet reported it (exit code, finish time) and when its deletion
    began, so a stop is judged by the container's own exit, not by when polling
    noticed the pod had gone."""
    from kubernetes import watch

    found: dict = {"done": threading.Event(), "exit_code": None, "seconds": None}

    def follow() -> None:
        stream, asked = watch.Watch(), None
        try:
            for event in stream.stream(cluster.core.list_namespaced_pod, ns,
                                       field_selector=f"metadata.name={name}",
                                       timeout_seconds=int(seconds) + 30):  # fmt: skip
                pod = event["object"]
                grace = pod.metadata.deletion_grace_period_seconds
                if asked is None and pod.metadata.deletion_timestamp and grace is not None:
                    # The first deletion seen: its timestamp is when it was asked plus the
                    # grace period (the kubelet's final delete later resets both).
                    asked = pod.metadata.deletion_timestamp - datetime.timedelta(seconds=grace)
                for status in pod.status.container_statuses or []:
                    ended = status.state.terminated if status.state else None
                    if ended is not None and ended.finished_at and asked is not None:
                        found["exit_code"] = ended.exit_code
                        found["seconds"] = (ended.finished_at - asked).total_seconds()
                if event["type"] == "DELETED":
                    break
        except Exception:  # a lost watch leaves the polled figure, never a crash
            pass
        finally:
            with contextlib.suppress(Exception):
                stream.stop()
            found["done"].set()

    threading.Thread(target=follow, daemon=True).start()
    return found
