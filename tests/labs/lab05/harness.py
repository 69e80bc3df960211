"""Lab 05's harness: what its checks and fixtures share."""

import contextlib
import datetime
import math
import re
import threading

from checker.cluster import kube
from checker.cluster.deployment import is_settled, observe
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


def drain_verdict(cluster, ns: str, budget, replicas: int, pods) -> tuple[str, str, str] | None:
    """None when the PodDisruptionBudget both allows a drain and protects the service;
    otherwise (found, expected, hint). A drain asks the Eviction API for each pod: once
    the budget has counted every pod healthy, one eviction is asked here as a dry run
    (nothing is deleted); before that, its spec is judged against the replicas."""
    name, spec = budget.metadata.name, budget.spec
    allowed = budget_allows(spec, replicas)
    if replicas - allowed < 1:
        return (f"PodDisruptionBudget {name} lets {allowed} of {replicas} pods go at once",
                "a budget that keeps at least one pod up",
                "the budget protects nothing: a drain may stop every pod at once; use "
                "maxUnavailable: 1")  # fmt: skip
    blocks = ("the budget allows no eviction, so no node running these pods can ever be "
              "drained (minAvailable equal to the replicas, or maxUnavailable: 0); use "
              "maxUnavailable: 1")  # fmt: skip
    ready = [p for p in pods if all(c.ready for c in p.status.container_statuses or [])]
    if ready and kube.wait(f"poddisruptionbudget/{name} to count the pods", 30,
                           lambda: _counted(cluster, ns, name)):  # fmt: skip
        refused = evict_refused(cluster, ns, ready[0].metadata.name)
        if refused is None:  # not allowed to ask: the spec's arithmetic decides
            return _spec_verdict(name, allowed, replicas, blocks)
        if refused:
            return (f"evicting pod {ready[0].metadata.name} (a dry run) was refused: {refused}",
                    "one eviction allowed, so a node drain can finish", blocks)  # fmt: skip
        return None
    return _spec_verdict(name, allowed, replicas, blocks)


def _spec_verdict(name: str, allowed: int, replicas: int, blocks: str):
    if allowed < 1:
        return (f"PodDisruptionBudget {name} allows {allowed} evictions of {replicas} pods",
                "one eviction allowed, so a node drain can finish", blocks)  # fmt: skip
    return None


def budget_allows(spec, replicas: int) -> int:
    """How many of replicas healthy pods the budget lets a drain evict at once;
    percentages round up, as the disruption controller rounds them."""

    def scaled(value) -> int:
        text = str(value)
        if text.endswith("%"):
            return math.ceil(int(text[:-1]) * replicas / 100)
        return int(text)

    if spec.min_available is not None:
        return max(0, replicas - scaled(spec.min_available))
    if spec.max_unavailable is not None:
        return max(0, min(replicas, scaled(spec.max_unavailable)))
    return replicas  # neither: the API server refuses it; nothing is kept


def _counted(cluster, ns: str, name: str) -> bool:
    budget = cluster.policy.read_namespaced_pod_disruption_budget(name, ns)
    status = budget.status
    return bool(status and (status.observed_generation or 0) >= budget.metadata.generation
                and status.expected_pods is not None
                and status.current_healthy == status.expected_pods)  # fmt: skip


def evict_refused(cluster, ns: str, pod: str) -> str | None:
    """Why the Eviction API refuses one pod's eviction, asked as a dry run, or "";
    None when this kubeconfig may not ask (a room's learner before pods/eviction)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    eviction = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=pod, namespace=ns),
        delete_options=client.V1DeleteOptions(dry_run=["All"]),
    )
    try:
        cluster.core.create_namespaced_pod_eviction(pod, ns, eviction)
    except ApiException as exc:
        if exc.status == 429:
            return f"429 {_message(exc)}"
        if exc.status == 403:
            return None
        raise
    return ""


def _message(exc) -> str:
    import json

    try:
        return json.loads(exc.body).get("message", exc.reason)
    except (TypeError, ValueError):
        return str(exc.reason)


def finish_rollout(cluster, deployment) -> tuple[bool, int | None]:
    """Waits for the rollout: whether it finished, and the fewest pods that were ready
    at any poll during it (None if never read)."""
    name, ns = deployment.deployment.metadata.name, deployment.namespace
    fewest: list[int] = []

    def finished() -> bool:
        state = observe(cluster, name, ns)
        fewest[:] = [min([*fewest, state.ready])]
        return is_settled(state)

    done = bool(kube.wait(f"deployment/{name} rollout", ROLLOUT_SECONDS, finished, interval=1))
    return done, (fewest[0] if fewest else None)


def strategy_cause(fewest_ready: int | None, strategy) -> str:
    """The hint when no pod was ready at some moment of the rollout: the strategy let
    every old pod go before a new one was ready, whatever the probes and preStop did."""
    if fewest_ready != 0:
        return ""
    rolling = strategy.rolling_update if strategy else None
    said = (f"maxUnavailable: {rolling.max_unavailable}, maxSurge: {rolling.max_surge}"
            if rolling else f"type: {strategy.type if strategy else 'RollingUpdate'}")  # fmt: skip
    return (f"no pod was ready at one moment of the rollout: the strategy ({said}) removed old "
            "pods before new ones were ready; use maxUnavailable: 0 and maxSurge: 1")  # fmt: skip


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


# What a container waits in while the kubelet is still making it: slow, not refused.
STARTING = {"ContainerCreating", "PodInitializing"}


def _held(pod) -> str:
    """What the API says keeps a pod from running that waiting will not fix, or "": the
    scheduler's refusal, or a reason its container waits in (CrashLoopBackOff,
    ErrImagePull) other than being made."""
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            return f"cannot be scheduled: {condition.message}"
    for status in pod.status.container_statuses or []:
        waiting = status.state.waiting if status.state else None
        if waiting is not None and waiting.reason not in STARTING:
            return f"waits in {waiting.reason}: {(waiting.message or '')[:140]}"
    return ""


def _still_starting(pod) -> bool:
    """Not ready yet, and nothing but time keeps it so."""
    statuses = pod.status.container_statuses or []
    return not (statuses and all(s.ready for s in statuses)) and not _held(pod)


def pod_names(cluster, ns: str, selector: str) -> set[str]:
    pods = cluster.core.list_namespaced_pod(ns, label_selector=selector).items
    return {pod.metadata.name for pod in pods}


def _new_pods(cluster, ns: str, selector: str, before: set[str]):
    for pod in cluster.core.list_namespaced_pod(ns, label_selector=selector).items:
        if pod.metadata.name not in before and pod.metadata.deletion_timestamp is None:
            yield pod


def _unhealthy(cluster, ns: str, pod) -> list[str]:
    events = cluster.core.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={pod.metadata.name},reason=Unhealthy"
    ).items
    return [(event.message or "").strip() for event in events]


def stuck_cause(cluster, ns: str, selector: str, before: set[str]) -> str:
    """What holds a new pod back, as the API says it, or "": the scheduler's refusal,
    the reason its container waits in, or its last failed probe."""
    for pod in _new_pods(cluster, ns, selector, before):
        if held := _held(pod):
            return f"pod {pod.metadata.name} {held}"
        if messages := _unhealthy(cluster, ns, pod):
            return f"pod {pod.metadata.name}: {messages[-1][:140]}"
    return ""


def slow_replacement(cluster, ns: str, selector: str, before: set[str]) -> str:
    """Why new pods (none of those named in before: this action's, not an earlier
    one's) that are not ready yet were slow, not wrong, or "": a probe that timed out (the
    kubelet's word that the node was slow), or a pod of a template available a minute
    ago that no probe found answering with a status code (a wrong path or a 503 would).
    Wrong ports and paths fail earlier checks."""
    waiting = []
    for pod in _new_pods(cluster, ns, selector, before):
        messages = _unhealthy(cluster, ns, pod)
        for message in messages:
            if "context deadline exceeded" in message or "Client.Timeout" in message:
                return f"pod {pod.metadata.name}: {message[:140]}"
        if _still_starting(pod) and not any("statuscode:" in m for m in messages):
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
