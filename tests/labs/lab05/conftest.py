"""Lab 05's fixtures: what its checks are given."""

import time

import pytest

from checker.cluster import kube
from checker.cluster.deployment import pod_selector, settled
from checker.cluster.secret import read_secret_value
from checker.command import ui
from checker.load.inpod import load_stats, start_load, stop_load
from checker.outcomes import Needs

from harness import REPLACEMENT_SECONDS, slow_replacement, watch_to_the_end


@pytest.fixture(scope="session")
def api_key(cluster, deployment):
    return read_secret_value(cluster, deployment).value


@pytest.fixture(scope="session")
def healing(cluster, deployment, service, api_key):
    """Deletes one pod under load: how long until it is gone, and until a replacement is ready."""
    if deployment.error or not settled(
        cluster, deployment.deployment.metadata.name, deployment.namespace
    ):
        raise Needs("an available Deployment")
    ns, name = deployment.namespace, deployment.deployment.metadata.name
    selector = pod_selector(deployment.deployment)
    load = start_load(cluster, deployment, service, api_key, seconds=REPLACEMENT_SECONDS + 60)
    # Pods the rollout just replaced may still be terminating: deleting one of them
    # again would time its earlier deletion, so the victim is a live pod.
    pods = cluster.core.list_namespaced_pod(ns, label_selector=selector).items
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    before = {p.metadata.name for p in pods}  # a replacement is none of these
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
    result["slow_replacement"] = (
        slow_replacement(cluster, ns, selector, before) if result["replaced"] is None else ""
    )
    time.sleep(2)  # load goes on a little after the replacement: late failures count too
    result["stats"] = load_stats(cluster, ns, load) or {"sent": 0, "failed": 0}
    stop_load(cluster, ns, load)
    return result
