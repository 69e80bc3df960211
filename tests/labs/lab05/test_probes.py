"""Lab 05: probes, graceful shutdown and rollouts, proven under load on the cluster."""

import datetime
import time

import httpx

from checker.cluster import applied, kube, manifests
from checker.cluster.deployment import (
    APP_SELECTOR,
    namespace_name,
    pod_selector,
    require_available,
    settled,
)
from checker.command import ui
from checker.load.inpod import load_stats, start_load, stop_load
from checker.outcomes import Fail, Needs, Soft, Unjudged, expect

import harness


def test_manifests_valid(documents):
    """Every manifest in k8s/ is valid YAML and matches the Kubernetes 1.35 schema"""
    manifests.require_valid(documents)


def test_cluster_reachable(cluster):
    """The cluster of your kube context answers"""
    expect(cluster.version, "no version from the API server", "a Kubernetes version")


def test_deployed_from_folder(cluster, documents, lab):
    """The cluster runs what your k8s/ folder says: every object as make deploy applied it"""
    applied.require_deployed(cluster, namespace_name(), documents[0], lab.number)


def test_deployment_available(deployment):
    """The Deployment is Available: all replicas ready, none restarting"""
    require_available(deployment)


def test_probes_configured(deployment):
    """Startup, liveness and readiness probes are HTTP GETs on the named container port"""
    each = harness.api_container(deployment)
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
    each = harness.api_container(deployment)
    liveness, readiness = (
        harness.probe_path(each.liveness_probe),
        harness.probe_path(each.readiness_probe),
    )
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
    probe = harness.api_container(deployment).startup_probe
    if probe is None:
        raise Needs("a startupProbe")
    budget = (probe.initial_delay_seconds or 0) + (probe.period_seconds or 10) * (
        probe.failure_threshold or 3
    )
    expect(
        budget >= harness.STARTUP_BUDGET_SECONDS,
        f"initialDelay + period × failureThreshold = {budget} s",
        f"at least {harness.STARTUP_BUDGET_SECONDS} s, e.g. periodSeconds: 2, failureThreshold: 30",
    )


def test_graceful_shutdown(deployment, lab_dir):
    """A preStop pause, then a grace period longer than the pause plus uvicorn's drain"""
    each = harness.api_container(deployment)
    pause = harness.pre_stop_seconds(each)
    grace = deployment.deployment.spec.template.spec.termination_grace_period_seconds or 30
    drain = harness.uvicorn_grace(lab_dir)
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
    """Rollouts add before they remove (maxUnavailable 0, maxSurge 1); a PodDisruptionBudget
    that lets a node drain evict a pod and keeps at least one up"""
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
    for budget in matching:
        verdict = harness.drain_verdict(cluster, deployment.namespace, budget,
                                        deployment.deployment.spec.replicas or 0,
                                        deployment.pods)  # fmt: skip
        if verdict:
            soft.check(False, *verdict)
    soft.raise_if_any()


def test_probes_answer(cluster, deployment):
    """Each probe's endpoint answers 200 on a running pod"""
    each = harness.api_container(deployment)
    paths = {
        harness.probe_path(getattr(each, f"{k}_probe"))
        for k in ("startup", "liveness", "readiness")
    }
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


def test_self_healing(healing):
    """A deleted pod is replaced while availability holds"""
    stats, replaced = healing["stats"], healing["replaced"]
    ui.progress(
        f"replacement ready after {replaced:.1f} s; {harness.report(stats)}"
        if replaced
        else harness.report(stats)
    )
    slow = harness.slow_machine(stats)
    if replaced is None and not stats["failed"]:
        # No replacement yet, no request lost: was it slow, or wrong?
        slow = healing["slow_replacement"]
    if slow and (replaced is None or stats["failed"]):
        found = (f"no ready replacement within {harness.REPLACEMENT_SECONDS} s; "
                 if replaced is None else "") + harness.report(stats)  # fmt: skip
        raise Unjudged(found, slow, f"a replacement Ready within {harness.REPLACEMENT_SECONDS}"
                       " s, 0 failed requests")  # fmt: skip
    soft = Soft()
    soft.check(
        replaced is not None,
        f"no ready replacement within {harness.REPLACEMENT_SECONDS} s",
        f"a replacement Ready within {harness.REPLACEMENT_SECONDS} s",
    )
    soft.check(
        stats["failed"] == 0 and stats["sent"] > 0, harness.report(stats), "0 failed requests"
    )
    soft.raise_if_any()


def test_stops_promptly(healing, deployment, lab_dir):
    """A stopping pod exits soon after its preStop pause, not at the grace period's SIGKILL"""
    each = harness.api_container(deployment)
    pause = harness.pre_stop_seconds(each) or 0.0
    expected = pause + max(harness.uvicorn_grace(lab_dir), 1.0)
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
    if gone is not None and gone > limit and code == 0 and harness.pre_stop_seconds(each):
        # A clean exit (0, not SIGKILL's 137) after a sleep preStop of known length: the
        # folder did its part, and the drain took longer than its own settings allow.
        raise Unjudged(f"{found}, exit code 0", "uvicorn got SIGTERM and exited cleanly, "
                       f"{gone - limit:.1f} s past what preStop ({pause:g} s) and its "
                       "--timeout-graceful-shutdown allow: the machine was slow",
                       wanted)  # fmt: skip
    if gone is not None and gone > limit and code is not None and code != 137:
        # It exited by itself (137 is SIGKILL's code): uvicorn got SIGTERM and drained slowly.
        raise Fail(f"{found}, exit code {code}: uvicorn got SIGTERM and exited by itself", wanted,
                   hint=f"the stop took longer than preStop ({pause:g} s) + uvicorn's "
                   "--timeout-graceful-shutdown "
                   f"({harness.uvicorn_grace(lab_dir):g} s): lower them, or "
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
    load = start_load(cluster, deployment, service, api_key, seconds=harness.ROLLOUT_SECONDS + 60)
    ns, name = deployment.namespace, deployment.deployment.metadata.name
    stamp = datetime.datetime.now(datetime.UTC).isoformat()
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
        }
    }
    selector = pod_selector(deployment.deployment)
    before = harness.pod_names(cluster, ns, selector)
    started = time.monotonic()
    ui.progress("kubectl rollout restart, under load")
    cluster.apps.patch_namespaced_deployment(name, ns, patch)
    # No sleep: the patch bumped the generation, so the rollout counts as settled
    # only once the controller has observed it and finished.
    done, fewest_ready = harness.finish_rollout(cluster, deployment)
    rollout = time.monotonic() - started
    enough = kube.wait(
        f"at least {harness.MIN_REQUESTS} requests",
        60,
        lambda: (load_stats(cluster, ns, load) or {}).get("sent", 0) >= harness.MIN_REQUESTS,
    )
    stats = load_stats(cluster, ns, load) or {"sent": 0, "failed": 0}
    stop_load(cluster, ns, load)
    ui.progress(f"rollout took {rollout:.0f} s, at least {fewest_ready} pods ready throughout; "
                f"{harness.report(stats)}")  # fmt: skip
    if not done:
        found, finished = (f"the rollout did not finish in {harness.ROLLOUT_SECONDS} s",
                           "a rollout that completes")  # fmt: skip
        if slow := harness.slow_replacement(cluster, ns, selector, before):
            raise Unjudged(f"{found}; {harness.report(stats)}", slow, finished)
        cause = harness.stuck_cause(cluster, ns, selector, before) or "no probe said why"
        raise Fail(found, finished, detail=kube.diagnostics(cluster, ns, APP_SELECTOR),
                   hint=f"the rollout's new pods never became ready ({cause}): read their "
                   "events and logs below")  # fmt: skip
    wanted = f"0 failed out of at least {harness.MIN_REQUESTS}"
    if slow := harness.slow_machine(stats, harness.MIN_REQUESTS):
        raise Unjudged(harness.report(stats), slow, wanted)
    strategy = harness.strategy_cause(fewest_ready, deployment.deployment.spec.strategy)
    found = harness.report(stats) + (", and no pod ready at one moment" if strategy else "")
    expect(stats["failed"] == 0 and enough, found, wanted,
           hint=harness.dns_only(stats) or strategy)  # fmt: skip
