"""The evidence rules behind "could not judge" (labs 05 and 10), on the API's own
shapes: what points at the machine, and what still points at the folder."""

import importlib.util
import sys
from types import SimpleNamespace as NS

from checker.command.course import find


def harness(number: int):
    path = find(number).suite / "harness.py"
    spec = importlib.util.spec_from_file_location(f"harness_lab{number:02d}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


LAB05, LAB09, LAB10 = harness(5), harness(9), harness(10)


def test_time_outs_alone_point_at_the_machine_refusals_at_the_folder():
    slow = {"sent": 2212, "failed": 8, "errors": {"TimeoutError": 8}, "p99_ms": 2278.8}
    assert "none was refused" in LAB05.slow_machine(slow)
    refused = {"sent": 2212, "failed": 9, "errors": {"TimeoutError": 8,
                                                     "ConnectionRefusedError": 1}}  # fmt: skip
    assert LAB05.slow_machine(refused) == ""
    short = {"sent": 900, "failed": 0, "errors": {}}
    assert "sent only 900 of the 2000" in LAB05.slow_machine(short, 2000)
    assert LAB05.slow_machine({"sent": 2500, "failed": 0, "errors": {}}, 2000) == ""


def pod(name, ready, deleting=None, waiting=None, unschedulable=""):
    state = NS(waiting=NS(reason=waiting, message=f"{waiting} here") if waiting else None)
    scheduled = [NS(type="PodScheduled", status="False", message=unschedulable)]
    return NS(metadata=NS(name=name, deletion_timestamp=deleting),
              status=NS(conditions=scheduled if unschedulable else [],
                        container_statuses=[] if unschedulable else [
                            NS(ready=ready, state=state)]))  # fmt: skip


def cluster(pods, events):
    def list_events(ns, field_selector):
        name = field_selector.split("involvedObject.name=")[1].split(",")[0]
        return NS(items=[NS(message=m) for m in events.get(name, [])])

    return NS(core=NS(list_namespaced_pod=lambda ns, label_selector: NS(items=pods),
                      list_namespaced_event=list_events))  # fmt: skip


def test_a_slow_replacement_is_told_from_a_wrong_one():
    pods = [pod("old", True, deleting="now"), pod("new", False), pod("other", True)]
    before = {"old", "other"}
    timed_out = cluster(pods, {"new": ["Startup probe failed: context deadline exceeded"]})
    assert "context deadline exceeded" in LAB05.slow_replacement(timed_out, "ns", "s", before)
    starting = cluster(pods, {"new": ["Startup probe failed: dial tcp: connection refused"]})
    assert "still starting" in LAB05.slow_replacement(starting, "ns", "s", before)
    answering = cluster(pods, {"new": ["Readiness probe failed: HTTP probe failed with "
                                       "statuscode: 503"]})  # fmt: skip
    assert LAB05.slow_replacement(answering, "ns", "s", before) == ""
    assert LAB05.slow_replacement(cluster([pod("a", True)], {}), "ns", "s", set()) == ""


def test_a_stuck_rollout_is_slow_only_while_its_new_pods_are_starting():
    """The room's CI run: a rollout's new pod killed by its startup probe, which timed
    out under the hog, is the machine's; a pod that crashes, cannot be placed or
    cannot pull is the folder's, and the hint says which."""
    restarted = [pod("old", True), pod("new", False)]
    timed_out = cluster(restarted, {"new": [
        'Startup probe failed: Get "http://10.244.1.4:8000/healthz": context deadline exceeded',
        "Startup probe failed: dial tcp 10.244.1.4:8000: connect: connection refused",
    ]})  # fmt: skip
    assert "pod new:" in LAB05.slow_replacement(timed_out, "ns", "s", {"old"})
    for stuck, said in ((pod("new", False, waiting="CrashLoopBackOff"), "waits in CrashLoop"),
                        (pod("new", False, waiting="ErrImagePull"), "waits in ErrImagePull"),
                        (pod("new", False, unschedulable="0/3 nodes: Insufficient cpu"),
                         "cannot be scheduled: 0/3 nodes")):  # fmt: skip
        shapes = cluster([pod("old", True), stuck], {})
        assert LAB05.slow_replacement(shapes, "ns", "s", {"old"}) == ""
        assert said in LAB05.stuck_cause(shapes, "ns", "s", {"old"})
    # An old pod's time-outs are an earlier deploy's evidence, not this rollout's.
    crashing = [pod("old", True), pod("new", False, waiting="CrashLoopBackOff")]
    old_timeouts = cluster(crashing, {"old": ["Liveness probe failed: context deadline exceeded"]})
    assert LAB05.slow_replacement(old_timeouts, "ns", "s", {"old"}) == ""


def test_pods_at_their_cpu_limit_are_a_saturated_service():
    container = NS(name="api", resources=NS(limits={"cpu": "500m"}))
    deployment = NS(namespace="ns", deployment=NS(spec=NS(template=NS(spec=NS(
        containers=[container])))))  # fmt: skip

    def metrics(usage):
        used = [{"name": "api", "usage": {"cpu": usage}}]
        items = [{"metadata": {"name": "p1"}, "containers": used}]
        return NS(custom=NS(list_namespaced_custom_object=lambda *a, **k: {"items": items}))

    assert "p1 480m of 500m" in LAB10.saturated_pods(metrics("480m"), deployment)
    assert LAB10.saturated_pods(metrics("200m"), deployment) == ""
    failing = NS(custom=NS(list_namespaced_custom_object=lambda *a, **k: 1 / 0))
    assert LAB10.saturated_pods(failing, deployment) == ""


def test_a_tail_the_machine_stalled_is_told_from_a_slower_service():
    def run(p50, p99):
        return NS(p50_ms=p50, p99_ms=p99)

    assert "stalled both" in LAB09.stalled(run(150.0, 992.1), run(20.0, 1040.0))
    # A quiet reference: the service's own tail is worse (a batch window).
    assert LAB09.stalled(run(150.0, 220.0), run(20.0, 400.0)) == ""
    assert LAB09.stalled(run(150.0, 992.1), run(20.0, 500.0)) == ""  # no worse: it passes


def test_cpu_tripping_first_on_a_slower_machine_is_told_from_a_low_cpu_target():
    container = NS(name="api", resources=NS(limits={"cpu": "500m"}))
    deployment = NS(namespace="ns", deployment=NS(spec=NS(template=NS(spec=NS(
        containers=[container])))))  # fmt: skip
    measured = {"requests_per_second": 444.8, "pod_cpu_limit": "500m"}

    def using(cpu):
        items = [
            {"metadata": {"name": "p1"}, "containers": [{"name": "api", "usage": {"cpu": cpu}}]}
        ]
        return NS(custom=NS(list_namespaced_custom_object=lambda *a, **k: {"items": items}))

    # 450m for 179 requests/s is 2.5 ms a request, 2.2x the 1.1 ms measured: slower here.
    assert "slower than when" in LAB10.slower_than_measured(
        using("450m"), deployment, measured, 179.1
    )
    # 200m for 179/s costs what it cost when measured: the CPU target is what tripped.
    assert LAB10.slower_than_measured(using("200m"), deployment, measured, 179.1) == ""
    assert LAB10.slower_than_measured(using("450m"), deployment, {}, 179.1) == ""


def test_a_rollout_with_no_pod_ready_names_the_strategy():
    strategy = NS(type="RollingUpdate", rolling_update=NS(max_unavailable="100%", max_surge=0))
    said = LAB05.strategy_cause(0, strategy)
    assert "the strategy (maxUnavailable: 100%, maxSurge: 0) removed old pods" in said
    assert LAB05.strategy_cause(2, strategy) == ""
    assert LAB05.strategy_cause(None, strategy) == ""


def test_a_budget_must_allow_one_eviction_and_keep_one_pod():
    def allows(replicas, min_available=None, max_unavailable=None):
        spec = NS(min_available=min_available, max_unavailable=max_unavailable)
        return LAB05.budget_allows(spec, replicas)

    assert allows(3, max_unavailable=1) == 1
    assert allows(3, min_available="100%") == 0  # no drain can finish
    assert allows(3, max_unavailable="100%") == 3  # protects nothing
    assert allows(3, min_available="50%") == 1  # 2 of 3 kept: percentages round up
    assert allows(3, max_unavailable="34%") == 2
    assert allows(3, min_available=0) == 3


def test_evidence_shows_only_this_deploys_events():
    import datetime

    from checker.cluster import kube

    def at(minute):
        return datetime.datetime(2026, 12, 7, 8, minute, tzinfo=datetime.UTC)

    def event(kind, name, uid, minute, reason, type_="Warning"):
        return NS(involved_object=NS(kind=kind, name=name, uid=uid), type=type_,
                  reason=reason, last_timestamp=at(minute), event_time=None,
                  metadata=NS(creation_timestamp=None))  # fmt: skip

    hpa = NS(metadata=NS(uid="hpa-1", managed_fields=[
        NS(time=at(10), subresource=None), NS(time=at(12), subresource="status")]))  # fmt: skip
    fake = NS(autoscaling=NS(read_namespaced_horizontal_pod_autoscaler=lambda name, ns: hpa))
    pods = [NS(metadata=NS(uid="pod-new", owner_references=[NS(uid="rs-new")]))]
    events = [
        event("Pod", "old", "pod-old", 5, "Unhealthy"),
        event("Pod", "new", "pod-new", 11, "Started", "Normal"),
        event("ReplicaSet", "old", "rs-old", 4, "FailedCreate"),
        event("ReplicaSet", "new", "rs-new", 10, "SuccessfulCreate", "Normal"),
        event("HorizontalPodAutoscaler", "api", "hpa-1", 9, "FailedGetPodsMetric (old name)"),
        event("HorizontalPodAutoscaler", "api", "hpa-1", 11, "FailedGetPodsMetric"),
        event("HorizontalPodAutoscaler", "api", "hpa-0", 11, "of an HPA since deleted"),
    ]
    kept = [e.reason for e in kube.current_events(fake, "ns", pods, events)]
    assert kept == ["SuccessfulCreate", "Started", "FailedGetPodsMetric"]


def test_a_capacity_claim_is_refuted_only_by_a_pod_at_its_limit():
    """capacity.json's figure against a short live run (lab 10's capacity_measured)."""
    assert LAB10.claim_verdict(530, 533, 0.498, 0.5) == "holds"
    assert LAB10.claim_verdict(1500, 533, 0.498, 0.5) == "holds"  # within 3×: another machine
    assert LAB10.claim_verdict(5295, 539, 0.5, 0.5) == "refuted"  # invented: the pod was maxed
    assert LAB10.claim_verdict(5295, 150, 0.2, 0.5) == "unjudged"  # starved: below its limit
    assert LAB10.claim_verdict(5295, 150, None, 0.5) == "unjudged"  # no CPU evidence
    assert LAB10.claim_verdict(5295, 150, 0.5, None) == "unjudged"  # no limit to be at


def test_a_capacity_measurement_names_the_image_it_measured():
    running = NS(pods=[NS(status=NS(container_statuses=[NS(image_id="registry:5000/a@sha256:"
                                                               + "b1" * 32)]))],
                 deployment=NS(spec=NS(template=NS(spec=NS(containers=[
                     NS(resources=NS(limits={"cpu": "500m"}))])))))  # fmt: skip
    same = {"image_id": "sha256:" + "b1" * 32, "pod_cpu_limit": "500m"}
    assert LAB10.measured_for(same, running) is None  # the runtime's prefix does not matter
    assert "names no image digest" in LAB10.measured_for({"pod_cpu_limit": "500m"}, running)[0]
    other = {**same, "image_id": "sha256:" + "2c" * 32}
    assert "measured for image sha256:2c2c2c2c2c2c" in LAB10.measured_for(other, running)[0]
    assert "at a CPU limit of 1;" in LAB10.measured_for({**same, "pod_cpu_limit": "1"}, running)[0]


def test_the_cpu_a_served_process_used_is_read_from_its_own_counter():
    from checker.load import wrkpod

    log = "=== cpu 100.0 12.5\nRequests/sec: 530\n=== cpu 105.0 15.0\n=== round end 0\n"
    assert wrkpod.cpu_used(log) == 0.5
    assert wrkpod.cpu_used("=== cpu 100.0 none\n=== cpu 105.0 none\n") is None
    assert wrkpod.cpu_used("Requests/sec: 530\n") is None
