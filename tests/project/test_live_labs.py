"""The cluster labs, proven on a live cluster: each solution deployed and checked
passes, each starter fails, and every seeded mistake is caught by its check.
Each case deploys into a namespace of its own, removed afterwards."""

import contextlib
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from checker.cluster import kube, promql
from checker.command.course import REPO, find
from checker.outcomes import Stop
from project import seeded
from project.conftest import (
    LIVE,
    copy_tree,
    measure_capacity,
    run_checker,
    the_clusters_adapter,
)
from project.test_mistakes import mistake_id

pytestmark = [pytest.mark.full, pytest.mark.cluster]
# Checks that need what the project's own cluster lacks, by lab: Grafana comes
# with the kube-prometheus-stack chart and images, which cannot be downloaded
# there. Where it is missing, each must say "not run" and why (exit 2); on kind
# with make monitoring-up, they must pass.
# Labs whose Step 1 measures the deployed service (make capacity) before the checker runs.
MEASURED = {10}
NEEDS_GRAFANA = {7: {"grafana_dashboard": "no Grafana in namespace monitoring"}}


@pytest.fixture(scope="module")
def cluster():
    try:
        return kube.connect()
    except Stop as exc:
        pytest.fail(f"the cluster tier cannot run: {exc.message} (make cluster-up, or "
                    "sudo scripts/testcluster/up.sh)")  # fmt: skip


def remove_namespace(cluster, name: str) -> None:
    for service in cluster.core.list_namespaced_service(name).items:
        cluster.core.delete_namespaced_service(service.metadata.name, name)
    cluster.core.delete_namespace(name, grace_period_seconds=0)


def own_node_port(tree: Path) -> None:
    """Cases run side by side, each in its own namespace: the Service lets the API
    server pick a free NodePort rather than kind's fixed 30080, which only one
    namespace can hold. What is deployed is still exactly what the folder says."""
    service = tree / "k8s" / "service.yaml"
    if service.exists():
        service.write_text(service.read_text().replace("      nodePort: 30080\n", ""))


def deploy_and_check(cluster, lab, tree: Path, tmp_path: Path, *extra: str, deploy: bool = True,
                     then: tuple[seeded.Mistake, ...] = (), measured: bool = False,
                     checking=contextlib.nullcontext):  # fmt: skip
    adapter = (tree / "monitoring" / "adapter-values.yaml").exists() and deploy
    with the_clusters_adapter() if adapter else contextlib.nullcontext():
        return deployed_and_checked(cluster, lab, tree, tmp_path, *extra, deploy=deploy, then=then,
                                    measured=measured, checking=checking)  # fmt: skip


def deployed_and_checked(cluster, lab, tree: Path, tmp_path: Path, *extra: str, deploy: bool,
                         then: tuple[seeded.Mistake, ...] = (), measured: bool = False,
                         checking=contextlib.nullcontext):  # fmt: skip
    """One namespace: the tree deployed (and, if `measured`, one pod measured by make
    capacity, as lab 10's Step 1 does) and checked (the check inside `checking()`);
    then each mistake of `then` applied over it, deployed and checked in turn (their
    runs in .later)."""
    namespace = f"lab{lab.code}-{secrets.token_hex(3)}"
    own_node_port(tree)
    env = {"WORKSHOP_NAMESPACE": namespace, "WORKSHOP_ROLLOUT_TIMEOUT": "60",
           "WORKSHOP_LAST_IMAGE": str(tmp_path / "last-image")}  # fmt: skip
    try:
        run = deployed_once(lab, tree, tmp_path, env, extra, deploy, checking, measured)
        for mistake in then:
            mistake.apply(tree)
            run.later[mistake.id] = deployed_once(lab, tree, tmp_path, env, mistake.until(), True)
        return run
    finally:
        if deploy:
            remove_namespace(cluster, namespace)


def deployed_once(lab, tree: Path, tmp_path: Path, env: dict, extra, deploy: bool,
                  checking=contextlib.nullcontext, measured: bool = False):  # fmt: skip
    started = time.monotonic()
    if deploy:
        done = deployed(tree, env)
        print(f"deploy {tree.name}: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    if measured and measure_capacity(tree, {**os.environ, **env}):
        redeployed = deployed(tree, env)  # the HPA's new target
        assert redeployed.returncode == 0, redeployed.stdout + redeployed.stderr
    started = time.monotonic()
    with checking():
        run = run_checker(lab, tree, tmp_path, *extra, env=env)
    run.deployed = done.stdout + done.stderr if deploy else ""
    print(f"check-lab {lab.number}: exit {run.code} in {time.monotonic() - started:.0f} s")
    return run


def deployed(tree: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REPO / "scripts" / "learner" / "deploy.sh"), str(tree)],
        env={**os.environ, **env, "ROLLOUT_TIMEOUT": "45s"},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def has_grafana(cluster) -> bool:
    return promql.monitoring_service(cluster, promql.GRAFANA_SELECTOR) is not None


def not_run_here(lab, has_grafana: bool) -> dict[str, str]:
    return {} if has_grafana else NEEDS_GRAFANA.get(lab.number, {})


def expected_code(lab, code: int, has_grafana: bool) -> int:
    """A check that cannot run here turns a pass or a failure into exit 2."""
    return 2 if not_run_here(lab, has_grafana) else code


def assert_not_run_here(lab, run, has_grafana: bool) -> None:
    for check, reason in not_run_here(lab, has_grafana).items():
        assert run.status(check) == "not-run", run.output
        assert reason in run.output, run.output


def over_the_solution(lab) -> tuple[seeded.Mistake, ...]:
    return tuple(m for m in seeded.of(lab).mistakes if m.over_the_solution)


@pytest.mark.parametrize("lab", LIVE, ids=lambda lab: lab.slug)
def test_solution_passes_on_the_cluster(cluster, has_grafana, lab, tmp_path):
    """The solution passes; then an edit the API server refuses, applied over it, stops
    the checker on the object still running the solution's version (and lab 10's
    capacity.json, edited once measured, is caught)."""
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    run = deploy_and_check(cluster, lab, tree, tmp_path, then=over_the_solution(lab),
                           measured=lab.number in MEASURED)  # fmt: skip
    # A busy machine may leave a timing check unjudged (exit 2, with its evidence).
    unjudged = run.unjudged()
    assert run.code == (2 if unjudged else expected_code(lab, 0, has_grafana)), run.output
    counts = run.results["counts"]
    assert counts["failed"] == 0, run.output
    assert counts["not-run"] == len(not_run_here(lab, has_grafana)), run.output
    assert_not_run_here(lab, run, has_grafana)
    assert "Traceback" not in run.output
    assert any(m.refused for m in over_the_solution(lab)), f"lab {lab.code}: no refused apply"
    for mistake in over_the_solution(lab):
        assert_caught(lab, mistake, run.later[mistake.id])
        if mistake.refused:
            assert "kubectl apply failed: the API server refused" in run.later[mistake.id].deployed


@pytest.mark.parametrize("lab", LIVE, ids=lambda lab: lab.slug)
def test_starter_fails_on_the_cluster_with_hints(cluster, has_grafana, lab, tmp_path):
    run = deploy_and_check(cluster, lab, copy_tree(lab, lab.tree_path, tmp_path), tmp_path)
    assert run.code == expected_code(lab, 1, has_grafana), run.output
    failed = [c for c in run.results["checks"] if c["status"] == "failed"]
    assert failed
    for check in failed:
        assert check["hint"] and check["step"], check
    assert "Traceback" not in run.output


def test_unreachable_cluster_says_make_cluster_up(tmp_path):
    lab = find(4)
    env = {"KUBECONFIG": str(tmp_path / "missing-kubeconfig")}
    run = run_checker(lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path, env=env)
    assert run.code == 2, run.output
    assert run.status("cluster_reachable") == "failed"
    assert "make cluster-up" in run.output
    assert "Traceback" not in run.output


def test_nothing_deployed_says_make_deploy(cluster, tmp_path):
    lab = find(5)
    env = {"WORKSHOP_NAMESPACE": f"empty-{secrets.token_hex(3)}"}
    run = run_checker(lab, copy_tree(lab, lab.solution_path, tmp_path), tmp_path,
                      "--until", "deployed_from_folder", env=env)  # fmt: skip
    assert run.code == 2, run.output
    assert run.status("deployed_from_folder") == "failed", run.output
    assert f"nothing of your folder runs in namespace {env['WORKSHOP_NAMESPACE']}" in run.output
    assert "hint: run make deploy 5: it applies k8s/ there" in run.output, run.output


@pytest.mark.parametrize("mistake", [m for m in seeded.catalogue(LIVE) if not m.over_the_solution],
                         ids=mistake_id)  # fmt: skip
def test_live_mistake_is_caught_by_its_check(cluster, has_grafana, mistake, tmp_path):
    lab = find(mistake.lab)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    mistake.apply(tree)
    # A mistake an offline check catches is judged without deploying it.
    offline = lab.checks[mistake.caught_by].offline and not mistake.also_fails
    run = deploy_and_check(cluster, lab, tree, tmp_path, *mistake.until(), deploy=not offline)
    assert "Traceback" not in run.output, run.output
    if "the rollout did not finish" in run.deployed:
        # A pod that waiting will not fix ends make deploy's wait at once, with its cause.
        assert "rollout stuck, waiting will not fix it: " in run.deployed, run.deployed
    assert_caught(lab, mistake, run)


def assert_caught(lab, mistake: seeded.Mistake, run) -> None:
    # The run ends at the mistake's own checks (--until): the checks this cluster
    # cannot run come later, so the exit code is the mistake's own.
    assert "Traceback" not in run.output, run.output
    assert run.code == mistake.exit_code, run.output
    if mistake.also_fails:
        assert run.status(mistake.also_fails) == "failed", run.output
    assert run.status(mistake.caught_by) == "failed", (
        f"{mistake.id} should fail '{mistake.caught_by}'; failed: {run.failed()}\n{run.output}"
    )
    assert f"hint: {mistake.hint or lab.checks[mistake.caught_by].hint}" in run.output
    assert mistake.says in run.output, run.output


def test_lab05_to_lab06_loses_no_pod(cluster, tmp_path):
    """Lab 06's Deployment stops setting replicas: make deploy hands the count to the
    HPA, so the 3 pods of lab 05 keep running (a plain apply would drop to 1)."""
    namespace = f"switch-{secrets.token_hex(3)}"
    env = {**os.environ, "WORKSHOP_NAMESPACE": namespace, "ROLLOUT_TIMEOUT": "90s",
           "WORKSHOP_LAST_IMAGE": str(tmp_path / "last-image")}  # fmt: skip
    selector = "app.kubernetes.io/name=diabetes-api"

    def deploy(number: int) -> str:
        lab = find(number)
        tree = copy_tree(lab, lab.solution_path, tmp_path / lab.slug)
        own_node_port(tree)
        done = subprocess.run([str(REPO / "scripts" / "learner" / "deploy.sh"), str(tree)], env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stderr

    def running() -> set[str]:
        pods = cluster.core.list_namespaced_pod(namespace, label_selector=selector).items
        return {p.metadata.name for p in pods if p.metadata.deletion_timestamp is None}

    try:
        deploy(5)
        before = running()
        assert len(before) == 3, before
        said = deploy(6)
        assert "handing the count (3 pods) to the HPA" in said, said
        for _ in range(10):  # the apply is done: a dropped pod would already be terminating
            replicas = cluster.apps.read_namespaced_deployment("diabetes-api", namespace)
            assert replicas.spec.replicas == 3, (
                f"replicas {replicas.spec.replicas} after the switch"
            )
            assert running() == before, f"pods {sorted(running())}, were {sorted(before)}"
            time.sleep(1)
    finally:
        remove_namespace(cluster, namespace)
