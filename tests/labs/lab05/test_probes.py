"""Lab 05: probes, graceful shutdown and rollouts, proven under load on the cluster."""

import contextlib
import datetime
import re
import threading
import time

import httpx
import pytest

from checker import k8s_yaml, kube, ui
from checker.outcomes import Fail, Needs, Soft, expect
from checker.workload import (
    APP_SELECTOR,
    load_stats,
    read_secret_value,
    require_available,
    service_of,
    settled,
    start_load,
    stop_load,
)

# Requests the zero-downtime test sends at least, and how long a replacement pod may take.
MIN_REQUESTS = 2000
REPLACEMENT_SECONDS = 60
ROLLOUT_SECONDS = 150
STARTUP_BUDGET_SECONDS = 20


def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    k8s_yaml.require_valid(documents)


def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployment_available(deployment):
    """The Deployment is Available: all replicas ready, none restarting"""
    require_available(deployment)


def api_container(deployment):
    if deployment.deployment is None:
        raise Needs("a Deployment")
    return deployment.deployment.spec.template.spec.containers[0]


def probe_path(probe) -> str | None:
    return probe.http_get.path if probe and probe.http_get else None


def test_probes_configured(deployment):
    """Startup, liveness and readiness probes are HTTP GETs on the named container port"""
    each = api_container(deployment)
    ports = {p.name for p in each.ports or [] if p.name}
    soft = Soft()
    for kind in ("startup", "liveness", "readiness"):
        probe = getattr(each, f"{kind}_probe")
        if not soft.check(probe is not None, f"no {kind}Probe", f"a {kind}Probe"):
            continue
        if not soft.check(
            probe.http_get is not None,
            f"{kind}Probe is not an httpGet",
            "httpGet on the service's health endpoint",
        ):
            continue
        port = probe.http_get.port
        soft.check(
            port in ports,
            f"{kind}Probe port {port!r}",
            f"the container port's name ({', '.join(sorted(ports)) or 'name it: http'})",
        )
        soft.check(
            (probe.period_seconds or 10) >= 1 and (probe.timeout_seconds or 1) >= 1,
            f"{kind}Probe period {probe.period_seconds} timeout {probe.timeout_seconds}",
            "a period and timeout of at least 1 s",
        )
    soft.raise_if_any()


def test_probes_distinct(deployment):
    """Liveness asks "is the process alive", readiness "can it serve": different endpoints"""
    each = api_container(deployment)
    liveness, readiness = probe_path(each.liveness_probe), probe_path(each.readiness_probe)
    if not liveness or not readiness:
        raise Needs("HTTP liveness and readiness probes")
    soft = Soft()
    soft.check(
        liveness != readiness,
        f"both probes GET {liveness}",
        "liveness on /healthz, readiness on /readyz",
    )
    soft.check(
        liveness != "/readyz",
        "livenessProbe GET /readyz",
        "liveness on /healthz: a pod that is alive but not ready must not be restarted",
    )
    soft.raise_if_any()


def test_startup_budget(deployment):
    """The startupProbe gives the model time to load"""
    probe = api_container(deployment).startup_probe
    if probe is None:
        raise Needs("a startupProbe")
    budget = (probe.initial_delay_seconds or 0) + (probe.period_seconds or 10) * (
        probe.failure_threshold or 3
    )
    expect(
        budget >= STARTUP_BUDGET_SECONDS,
        f"initialDelay + period × failureThreshold = {budget} s",
        f"at least {STARTUP_BUDGET_SECONDS} s, e.g. periodSeconds: 2, failureThreshold: 30",
    )


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


def test_graceful_shutdown(deployment, lab_dir):
    """A preStop pause, then a grace period longer than the pause plus uvicorn's drain"""
    each = api_container(deployment)
    pause = pre_stop_seconds(each)
    grace = deployment.deployment.spec.template.spec.termination_grace_period_seconds or 30
    drain = uvicorn_grace(lab_dir)
    soft = Soft()
    soft.check(
        pause is not None and pause >= 2,
        f"preStop: {pause if pause is not None else 'none'}",
        "lifecycle.preStop.sleep.seconds: 5",
    )
    soft.check(
        grace > (pause or 0) + drain,
        f"terminationGracePeriodSeconds {grace} ≤ preStop {pause or 0} + uvicorn {drain:g}",
        "a grace period longer than both together, e.g. 20",
    )
    soft.raise_if_any()


def test_rollout_strategy(cluster, deployment):
    """Rollouts add before they remove (maxUnavailable 0, maxSurge 1); a PodDisruptionBudget"""
    if deployment.deployment is None:
        raise Needs("a Deployment")
    strategy = deployment.deployment.spec.strategy
    rolling = strategy.rolling_update if strategy else None
    soft = Soft()
    soft.check(
        rolling is not None and str(rolling.max_unavailable) in ("0", "0%"),
        f"maxUnavailable: {rolling.max_unavailable if rolling else '25% (default)'}",
        "maxUnavailable: 0",
    )
    soft.check(
        rolling is not None and str(rolling.max_surge) not in ("0", "0%"),
        f"maxSurge: {rolling.max_surge if rolling else '25% (default)'}",
        "maxSurge: 1",
    )
    labels = deployment.deployment.spec.template.metadata.labels or {}
    budgets = cluster.policy.list_namespaced_pod_disruption_budget(deployment.namespace).items
    matching = [
        b
        for b in budgets
        if b.spec.selector
        and b.spec.selector.match_labels
        and all(labels.get(k) == v for k, v in b.spec.selector.match_labels.items())
    ]
    soft.check(
        matching,
        f"{len(budgets)} PodDisruptionBudget(s), none selecting the pods",
        "a PodDisruptionBudget with maxUnavailable: 1 selecting the pods",
    )
    soft.raise_if_any()


@pytest.fixture(scope="session")
def service(cluster, deployment):
    if deployment.error:
        raise Needs("a running Deployment")
    found = service_of(cluster, deployment)
    if found.error:
        raise Needs(f"a Service with ready endpoints ({found.error})")
    return found


@pytest.fixture(scope="session")
def api_key(cluster, deployment):
    return read_secret_value(cluster, deployment).value


def test_probes_answer(cluster, deployment):
    """Each probe's endpoint answers 200 on a running pod"""
    each = api_container(deployment)
    paths = {probe_path(getattr(each, f"{k}_probe")) for k in ("startup", "liveness", "readiness")}
    paths.discard(None)
    ready = [p for p in deployment.pods if all(s.ready for s in p.status.container_statuses or [])]
    if not paths or not ready:
        raise Needs("HTTP probes and a ready pod")
    pod = ready[0].metadata.name
    soft = Soft()
    with kube.port_forward(cluster, deployment.namespace, f"pod/{pod}", "http") as port:
        for path in sorted(paths):
            status = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
            soft.check(status == 200, f"GET {path} → {status}", f"200 from {path}")
    soft.raise_if_any()


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


def report(stats: dict) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(stats.get("errors", {}).items()))
    return (
        f"{stats['sent']} requests, {stats['failed']} failed"
        + (f" ({errors})" if errors else "")
        + f", p50 {stats.get('p50_ms', '?')} ms, p99 {stats.get('p99_ms', '?')} ms"
    )


@pytest.fixture(scope="session")
def healing(cluster, deployment, service, api_key):
    """Deletes one pod under load: how long until it is gone, and until a replacement is ready."""
    if deployment.error or not settled(
        cluster, deployment.deployment.metadata.name, deployment.namespace
    ):
        raise Needs("an available Deployment")
    ns, name = deployment.namespace, deployment.deployment.metadata.name
    selector = ",".join(
        f"{k}={v}" for k, v in deployment.deployment.spec.selector.match_labels.items()
    )
    load = start_load(cluster, deployment, service, api_key, seconds=REPLACEMENT_SECONDS + 60)
    # Pods the rollout just replaced may still be terminating: deleting one of them
    # again would time its earlier deletion, so the victim is a live pod.
    live = [
        p
        for p in cluster.core.list_namespaced_pod(ns, label_selector=selector).items
        if p.metadata.deletion_timestamp is None
    ]
    victim = min(live, key=lambda p: p.metadata.creation_timestamp).metadata.name
    ended = watch_to_the_end(cluster, ns, victim, REPLACEMENT_SECONDS)
    started = time.monotonic()
    cluster.core.delete_namespaced_pod(victim, ns)
    ui.progress(f"deleted pod {victim} under load")
    result = {"victim": victim, "gone": None, "replaced": None, "ended": ended}

    def progress():
        pods = cluster.core.list_namespaced_pod(ns, label_selector=selector).items
        names = {p.metadata.name for p in pods}
        elapsed = time.monotonic() - started
        if result["gone"] is None and victim not in names:
            result["gone"] = elapsed
        if result["replaced"] is None and settled(cluster, name, ns) and victim not in names:
            result["replaced"] = elapsed
        return result["gone"] is not None and result["replaced"] is not None

    kube.wait("the pod to stop and a replacement to be ready", REPLACEMENT_SECONDS, progress)
    ended["done"].wait(5)
    time.sleep(2)  # load goes on a little after the replacement: late failures count too
    result["stats"] = load_stats(cluster, ns, load) or {"sent": 0, "failed": 0}
    stop_load(cluster, ns, load)
    return result


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


def test_self_healing(healing):
    """A deleted pod is replaced while availability holds"""
    stats, replaced = healing["stats"], healing["replaced"]
    ui.progress(
        f"replacement ready after {replaced:.1f} s; {report(stats)}" if replaced else report(stats)
    )
    soft = Soft()
    soft.check(
        replaced is not None,
        f"no ready replacement within {REPLACEMENT_SECONDS} s",
        f"a replacement Ready within {REPLACEMENT_SECONDS} s",
    )
    soft.check(stats["failed"] == 0 and stats["sent"] > 0, report(stats), "0 failed requests")
    soft.raise_if_any()


def test_stops_promptly(healing, deployment, lab_dir):
    """A stopping pod exits soon after its preStop pause, not at the grace period's SIGKILL"""
    each = api_container(deployment)
    pause = pre_stop_seconds(each) or 0.0
    expected = pause + max(uvicorn_grace(lab_dir), 1.0)
    grace = deployment.deployment.spec.template.spec.termination_grace_period_seconds or 30
    # Halfway between a stop at SIGTERM and the grace period's SIGKILL (at least 3 s
    # over): it tells the two apart without failing a correct pod on a busy node.
    limit = expected + max(3.0, (grace - expected) / 2)
    gone, ended = healing["gone"], healing["ended"]
    code = ended["exit_code"]
    if ended["seconds"] is not None:
        gone = ended["seconds"]  # the container's own exit, as its kubelet reported it
    if gone is not None:
        ui.progress(f"pod {healing['victim']} stopped {gone:.1f} s after its deletion"
                    + (f", exit code {code}" if code is not None else ""))  # fmt: skip
    found = f"pod {healing['victim']} took {gone:.1f} s to stop" if gone else "it never stopped"
    wanted = (f"at most {limit:g} s (preStop + uvicorn's drain, well before the {grace} s "
              "SIGKILL): uvicorn must receive SIGTERM")  # fmt: skip
    if gone is not None and gone > limit and code is not None and code != 137:
        # It exited by itself (137 is SIGKILL's code): uvicorn got SIGTERM and drained slowly.
        raise Fail(f"{found}, exit code {code}: uvicorn got SIGTERM and exited by itself", wanted,
                   hint=f"the stop took longer than preStop ({pause:g} s) + uvicorn's "
                   f"--timeout-graceful-shutdown ({uvicorn_grace(lab_dir):g} s): lower them, or "
                   "look for requests that run longer; on a busy machine, check again")  # fmt: skip
    expect(gone is not None and gone <= limit, found, wanted)


# After the stop checks: a pod that waits for the grace period's SIGKILL makes every
# pod of a rollout slow, so that cause is named first, from one deleted pod.
def test_zero_downtime(cluster, deployment, service, api_key):
    """A rollout under steady load drops no request"""
    if deployment.error or not settled(
        cluster, deployment.deployment.metadata.name, deployment.namespace
    ):
        raise Needs("an available Deployment")
    load = start_load(cluster, deployment, service, api_key, seconds=ROLLOUT_SECONDS + 60)
    ns, name = deployment.namespace, deployment.deployment.metadata.name
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
        }
    }
    started = time.monotonic()
    ui.progress("kubectl rollout restart, under load")
    cluster.apps.patch_namespaced_deployment(name, ns, patch)
    # No sleep: the patch bumped the generation, so the rollout counts as settled
    # only once the controller has observed it and finished.
    done = finish_rollout(cluster, deployment)
    rollout = time.monotonic() - started
    enough = kube.wait(
        f"at least {MIN_REQUESTS} requests",
        60,
        lambda: (load_stats(cluster, ns, load) or {}).get("sent", 0) >= MIN_REQUESTS,
    )
    stats = load_stats(cluster, ns, load) or {"sent": 0, "failed": 0}
    stop_load(cluster, ns, load)
    ui.progress(f"rollout took {rollout:.0f} s; {report(stats)}")
    expect(
        done,
        f"the rollout did not finish in {ROLLOUT_SECONDS} s",
        "a rollout that completes",
        detail=kube.diagnostics(cluster, ns, APP_SELECTOR),
    )
    expect(stats["failed"] == 0 and enough, report(stats),
           f"0 failed out of at least {MIN_REQUESTS}", hint=dns_only(stats))  # fmt: skip
