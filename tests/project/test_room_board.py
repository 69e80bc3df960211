"""A room of 9 on a real cluster, each learner acting only through their own
kubeconfig: 8 learners join with make join's script, push their image to the room's
registry (distribution's, on the test cluster), deploy lab 05's solution by digest
and pass the unchanged checker, all at once on the room's nodes; the board shows 8 ✓
and one learner not started. Then one learner's seeded mistake shows ✗ with its
hint, and one learner ahead on lab 07 uses the room's one Prometheus. Ana did lab 04
first: its checker proves she runs her own push. Another learner can neither replace
what runs in her namespace nor connect to her pods (NetworkPolicy, enforced by
kube-network-policies). The board reads what each run published in their namespace,
and its page is rendered by a real headless browser (Debian's chromium).
WORKSHOP_UPDATE_SCREENSHOTS=1 also writes the README's picture."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from checker.command.course import REPO, find
from project import seeded
from project.conftest import copy_tree, measure_capacity, run_checker, the_clusters_adapter

pytestmark = [pytest.mark.full, pytest.mark.cluster, pytest.mark.room_board]
ROOM_PY = [sys.executable, str(REPO / "scripts" / "room" / "room.py")]
BOARD_PY = [sys.executable, str(REPO / "scripts" / "room" / "board.py")]
LEARNERS = ["ana", "ben", "chloe", "dev", "emre", "fatou", "gus", "hana", "ivy"]
DEPLOYING = LEARNERS[:8]  # ivy has not started
# The test cluster's room nodes take only pods that tolerate this (scripts/testcluster/lib.sh):
# as the cluster's admin, the test gives the room's namespaces that toleration.
ROOM_TOLERATION = json.dumps([{"key": "workshop.test/room", "operator": "Exists",
                               "effect": "NoSchedule"}])  # fmt: skip
SCREENSHOT = REPO / "scripts" / "room" / "room-board.png"
REGISTRY = "127.0.0.1:5000"  # the test cluster's (scripts/testcluster/up.sh)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is not installed: apt-get install chromium (.ci/run installs it)"
    return found


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    folder = tmp_path_factory.mktemp("board")
    name = f"b{secrets.token_hex(3)}"
    path = folder / "room.toml"
    path.write_text(f'name = "{name}"\nlearners = {json.dumps(LEARNERS)}\n'
                    f'registry = "{REGISTRY}"\n')  # fmt: skip
    done = subprocess.run([*ROOM_PY, "up", str(path)], capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for learner in LEARNERS:
        annotated = subprocess.run(["kubectl", "annotate", "--overwrite", "namespace",
                                    f"{name}-{learner}",
                                    f"scheduler.alpha.kubernetes.io/defaultTolerations="
                                    f"{ROOM_TOLERATION}"], capture_output=True, text=True,
                                   timeout=60, check=False)  # fmt: skip
        assert annotated.returncode == 0, annotated.stderr
    yield name, path, folder
    subprocess.run([*ROOM_PY, "down", str(path)], capture_output=True, timeout=600, check=False)


def as_learner(room_name: str, learner: str) -> dict:
    return {"KUBECONFIG": str(REPO / ".workshop" / "room" / room_name / f"{learner}.kubeconfig"),
            "WORKSHOP_NAMESPACE": f"{room_name}-{learner}", "WORKSHOP_ROOM": "1",
            "WORKSHOP_ROOM_PUBLISH": "1", "WORKSHOP_ROLLOUT_TIMEOUT": "60"}  # fmt: skip


@pytest.fixture(scope="module")
def board(room):
    """The room's runs; make test runs them under its hog phase's CPU hog."""
    return the_rooms_runs(room)


def the_rooms_runs(room):
    name, path, folder = room
    lab4, lab5 = find(4), find(5)
    ana_env = joined_env(name, folder / "ana-state")
    ana: dict = {}

    def ana_on_lab04():
        """ana did lab 04 first: its checker verifies she runs her own push, by digest."""
        tree = own_tree(lab4, "ana", folder)
        ana["deploy"] = deploy(tree, ana_env)
        ana["run"] = run_checker(lab4, tree, folder / "ana-04", env=ana_env)
        # Her checker, given a last push that is not what runs (someone else's, or older).
        pushed = (folder / "ana-state" / "pushed").read_text().strip()
        stale = folder / "ana-state" / "stale-push"
        stale.write_text(f"{pushed.rsplit('@', 1)[0]}@sha256:{'0' * 64}\n")
        ana["stale"] = run_checker(lab4, tree, folder / "ana-04-stale", "--until", "image_tag",
                                   env={**ana_env, "WORKSHOP_LAST_PUSH": str(stale)})  # fmt: skip

    # Eight learners deploy lab 05's solution and check it, 3 at once, as in a room.
    def on_lab05(learner: str):
        if learner == "ana":
            ana_on_lab04()
            env = ana_env
        else:
            env = joined_env(name, folder / f"{learner}-state", learner)
        tree = own_tree(lab5, learner, folder)
        done = deploy(tree, env)
        run = run_checker(lab5, tree, folder / learner, env=env) if done.returncode == 0 else None
        return learner, SimpleNamespace(deploy=done, run=run, env=env)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        lab05 = dict(pool.map(on_lab05, DEPLOYING))
    print(f"{len(DEPLOYING)} learners deployed and checked lab 05 (ana lab 04 first) in "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    first = show_board(path, folder / "first")

    # Then hana breaks her liveness probe, gus goes on to lab 07 and fatou to lab 10.
    def hana_mistake():
        mistake = next(m for m in seeded.of(lab5).mistakes if m.id == "liveness-on-readyz")
        tree = own_tree(lab5, "hana", folder, "hana-mistake")
        mistake.apply(tree)
        env = lab05["hana"].env
        done = deploy(tree, env)
        return done, run_checker(lab5, tree, folder / "hana-again", env=env)

    def gus_on_lab07():
        lab7 = find(7)
        tree = own_tree(lab7, "gus", folder)
        env = lab05["gus"].env
        done = deploy(tree, env)
        if done.returncode != 0:
            return done, None
        return done, run_checker(lab7, tree, folder / "gus-07", env=env)

    def fatou_on_lab10():
        """The room's one Adapter, installed by the instructor with the reference rule;
        fatou's own rule differs (a 2-minute window), so her checker says whose rule
        computes the metric her HPA reads."""
        lab10 = find(10)
        tree = own_tree(lab10, "fatou", folder)
        values = tree / "monitoring" / "adapter-values.yaml"
        values.write_text(values.read_text().replace("[1m]", "[2m]"))
        env = {
            **lab05["fatou"].env,
            "WORKSHOP_LAST_LOADGEN_PUSH": str(folder / "fatou-state" / "pushed-loadgen"),
        }
        admin = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_ROOM")}
        with the_clusters_adapter():
            installed = subprocess.run([str(REPO / "scripts" / "learner" / "adapter-up.sh"),
                                        str(lab10.solution_path)], env=admin,
                                       capture_output=True, text=True, timeout=600,
                                       check=False)  # fmt: skip
            if installed.returncode != 0:
                return installed, None
            done = deploy(tree, env)
            if done.returncode != 0:
                return done, None
            if measure_capacity(tree, env):
                done = deploy(tree, env)  # her HPA's new target
                if done.returncode != 0:
                    return done, None
            return done, run_checker(lab10, tree, folder / "fatou-10", env=env)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=3) as pool:
        fatou = pool.submit(fatou_on_lab10)  # the longest first
        gus, hana = pool.submit(gus_on_lab07), pool.submit(hana_mistake)
        (gus_deployed, gus_run), (_, hana_run) = gus.result(), hana.result()
        fatou_deployed, fatou_run = fatou.result()
    print(f"hana's mistake, gus on lab 07, fatou on lab 10 in {time.monotonic() - started:.0f} s")
    second = show_board(path, folder / "second")
    return SimpleNamespace(
        first=first,
        second=second,
        lab05=lab05,
        ana04=ana["run"],
        ana04_deploy=ana["deploy"],
        ana04_stale=ana["stale"],
        hana=hana_run,
        gus_deploy_log=gus_deployed.stderr,
        gus=gus_run,
        fatou_deploy_log=fatou_deployed.stdout + fatou_deployed.stderr,
        fatou=fatou_run,
        folder=folder,
    )


def deploy(tree, env) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "scripts" / "learner" / "deploy.sh"), str(tree)], env=env,
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip


def show_board(path, out) -> SimpleNamespace:
    started = time.monotonic()
    done = subprocess.run([*BOARD_PY, str(path), "5", "--out", str(out), "--jobs", "4"],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    print(f"the board of {len(LEARNERS)} in {time.monotonic() - started:.1f} s")
    data = json.loads((out / "board.json").read_text())
    return SimpleNamespace(text=done.stdout, data=data, page=out / "board.html",
                           rows={row["learner"]: row for row in data["rows"]})  # fmt: skip


def own_tree(lab, learner: str, folder, where: str = ""):
    """A learner's copy of a solution whose image is their own: the live tier imports
    the solution's image into this test cluster by name (ctr import), and containerd
    1.6's CRI does not see a name imported for an image it already pulled under
    another name (a digest, here)."""
    tree = copy_tree(lab, lab.solution_path, folder / (where or f"{learner}-tree"))
    (tree / "app" / "learner.txt").write_text(f"{learner}\n")
    return tree


def joined_env(room_name: str, state, learner: str = "ana") -> dict:
    """The environment the Makefile exports after make join (scripts/room/join.sh)."""
    kubeconfig = REPO / ".workshop" / "room" / room_name / f"{learner}.kubeconfig"
    joined = subprocess.run([str(REPO / "scripts" / "room" / "join.sh"), str(kubeconfig)],
                            env={**os.environ, "WORKSHOP_STATE": str(state)}, capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    lines = (state / "room.env").read_text().splitlines()
    exported = {key: value for key, _, value in (line.partition(" := ") for line in lines)}
    # The image deploy.sh built last is recorded beside the state, not in the
    # repository's .workshop, which other cases running at the same time write too.
    return {**os.environ, **exported, "WORKSHOP_ROOM_PUBLISH": "1",
            "WORKSHOP_ROLLOUT_TIMEOUT": "60",
            "WORKSHOP_LAST_IMAGE": str(state / "last-image"),
            "WORKSHOP_LAST_PUSH": str(state / "pushed")}  # fmt: skip


def judged_right(run) -> bool:
    """A correct folder's run: passed (0), or some timing checks could not judge on the
    busy room (2), with their evidence; never a ✗."""
    statuses = {c["status"] for c in run.results["checks"]}
    if run.code == 0:
        return True
    return run.code == 2 and bool(run.unjudged()) and statuses <= {"passed", "could-not-judge"}


def row_right(row: dict) -> bool:
    """On the board: done, or nothing failed and the rest could not judge."""
    marks = set(row["marks"].values())
    return row["passed"] or (bool(marks) and marks <= {"passed", "could-not-judge"})


def done_count(rows: dict) -> str:
    return f"{sum(row['passed'] for row in rows.values())} of {len(rows)} done"


def test_a_learner_joins_deploys_and_passes_the_unchanged_checker(board):
    log = board.ana04_deploy.stderr
    assert board.ana04_deploy.returncode == 0, log[-2000:]
    assert "Services get a ClusterIP" in log and "pushed" in log
    assert board.ana04.code == 0, board.ana04.output


def test_eight_learners_deploy_lab05_at_once_and_pass(board):
    """The room test: each learner's own push, deployed by digest in their own
    namespace, all running at the same time (the room's nodes), each passing lab 05's
    unchanged checker with their own kubeconfig."""
    for learner, done in board.lab05.items():
        assert done.deploy.returncode == 0, f"{learner}: {done.deploy.stderr[-2000:]}"
        assert judged_right(done.run), f"{learner}: {done.run.output}"
    rows = board.first.rows
    assert list(rows) == LEARNERS
    assert all(row_right(rows[learner]) and rows[learner]["pods"] == "3/3"
               for learner in DEPLOYING), board.first.text  # fmt: skip
    assert rows["ivy"]["marks"] == {} and rows["ivy"]["minutes_on_lab"] is None
    assert done_count(rows) in board.first.text and "not started" in board.first.text


def kubectl_as(room_name: str, learner: str, *args: str, stdin: str | None = None):
    kubeconfig = REPO / ".workshop" / "room" / room_name / f"{learner}.kubeconfig"
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig),
                           "-n", f"{room_name}-{learner}", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def running_images(room_name: str, learner: str) -> set[str]:
    pods = json.loads(
        kubectl_as(
            room_name,
            learner,
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=diabetes-api",
            "-o",
            "json",
        ).stdout
    )
    return {s["imageID"] for p in pods["items"] for s in p["status"].get("containerStatuses", [])}


def test_the_deployment_runs_her_own_push_by_digest(room, board):
    name, *_ = room
    folder = board.folder
    pushed = (folder / "ana-state" / "pushed").read_text().strip()
    assert pushed.startswith(f"{REGISTRY}/{name}-ana/diabetes-api@sha256:"), pushed
    deployment = json.loads(kubectl_as(name, "ana", "get", "deployment", "diabetes-api",
                                       "-o", "json").stdout)  # fmt: skip
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == pushed
    assert all(found.endswith(pushed.rsplit("@", 1)[1]) for found in running_images(name, "ana"))


def test_anothers_push_to_her_repository_changes_nothing_that_runs(room, board):
    """Anyone may push to any repository of the room's registry; what runs is pinned
    by digest, so a push under her tag changes nothing, and her checker, told of
    another push than what runs, says so."""
    name, *_ = room
    folder = board.folder
    pushed = (folder / "ana-state" / "pushed").read_text().strip()
    repository, digest = pushed.rsplit("@", 1)
    tag = (folder / "ana-state" / "last-image").read_text().strip().rsplit(":", 1)[1]
    other = subprocess.run(["docker", "image", "ls", "-q", "--filter", "reference=python"],
                           capture_output=True, text=True, check=False).stdout.split()  # fmt: skip
    assert other, "no local python image to push as ben (the base image, built by .ci/run)"
    subprocess.run(["docker", "tag", other[0], f"{repository}:{tag}"], check=True)
    done = subprocess.run(["docker", "push", f"{repository}:{tag}"], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-1000:]
    assert digest not in done.stdout  # the tag now names ben's image
    assert all(found.endswith(digest) for found in running_images(name, "ana"))
    # Her checker, given a last push that is not what runs (ben's, or an older one).
    run = board.ana04_stale
    assert run.code == 1, run.output
    assert "your last push" in run.output and "someone else's image" in run.output, run.output


PROBE = """import socket, sys
try:
    socket.create_connection((sys.argv[1], 8000), timeout=5).close()
    print("connected")
except OSError as exc:
    print(f"no connection: {exc}")
"""


def probe_pod(name: str, image: str, address: str) -> str:
    security = {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"restartPolicy": "Never", "containers": [{
                           "name": "probe", "image": image, "command": ["python", "-c", PROBE,
                                                                        address],
                           "securityContext": security}]}})  # fmt: skip


def test_a_learner_cannot_connect_to_anothers_pods(room, board):
    """NetworkPolicy same-namespace-and-monitoring, enforced: ben's pod gets no
    connection to ana's pod, while ana's own pod does."""
    name, *_ = room
    folder = board.folder
    image = (folder / "ana-state" / "pushed").read_text().strip()
    pods = json.loads(
        kubectl_as(
            name, "ana", "get", "pods", "-l", "app.kubernetes.io/name=diabetes-api", "-o", "json"
        ).stdout
    )
    address = pods["items"][0]["status"]["podIP"]
    for learner in ("ana", "ben"):
        made = kubectl_as(name, learner, "apply", "-f", "-",
                          stdin=probe_pod("probe", image, address))  # fmt: skip
        assert made.returncode == 0, made.stderr
    answers = {}
    deadline = time.monotonic() + 90
    while len(answers) < 2 and time.monotonic() < deadline:
        for learner in {"ana", "ben"} - set(answers):
            phase = kubectl_as(name, learner, "get", "pod", "probe", "-o",
                               "jsonpath={.status.phase}").stdout  # fmt: skip
            if phase in ("Succeeded", "Failed"):
                answers[learner] = kubectl_as(name, learner, "logs", "probe").stdout.strip()
        time.sleep(1)
    for learner in ("ana", "ben"):
        kubectl_as(name, learner, "delete", "pod", "probe", "--wait=false")
    assert answers.get("ana") == "connected", answers
    assert answers.get("ben", "").startswith("no connection"), answers


def test_a_seeded_mistake_shows_on_the_board_with_its_hint(board):
    assert board.hana.code == 1, board.hana.output
    rows = board.second.rows
    assert not rows["hana"]["passed"], board.second.text
    failed = [check for check, status in rows["hana"]["marks"].items() if status == "failed"]
    assert failed[:1] == ["probes_distinct"], board.second.text
    assert rows["hana"]["first_failure"] and "liveness" in rows["hana"]["hint"], rows["hana"]
    assert all(row_right(rows[learner]) for learner in DEPLOYING if learner != "hana")
    assert done_count(rows) in board.second.text


def test_the_page_renders_in_a_real_browser(board, tmp_path):
    page = board.second.page
    dom = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-1000:]
    assert dom.stdout.count('<td class="learner">') == len(LEARNERS)
    assert 'http-equiv="refresh"' in dom.stdout and done_count(board.second.rows) in dom.stdout
    shot = tmp_path / "board.png"
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--window-size=1600,820",
                           f"--screenshot={shot}", page.as_uri()], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-1000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("WORKSHOP_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, SCREENSHOT)


def test_a_bad_lab_number_and_room_file_stop_with_a_hint(room):
    _, path, _ = room
    done = subprocess.run([*BOARD_PY, str(path), "42"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and "there is no lab 42" in done.stderr
    done = subprocess.run([*BOARD_PY, str(path.parent / "nope.toml"), "4"], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and "hint:" in done.stderr and "Traceback" not in done.stderr


def test_a_learner_ahead_on_lab07_uses_the_rooms_one_prometheus(board):
    """Lab 07 in room mode: his ServiceMonitor in his namespace, the room's Prometheus
    scrapes it, his dashboard has his namespace in its uid; every check passes but
    Grafana's, which is the instructor's (the test cluster has none either)."""
    assert board.gus is not None, board.gus_deploy_log[-2000:]
    statuses = {c["id"]: c["status"] for c in board.gus.results["checks"]}
    assert statuses.pop("grafana_dashboard") == "not-run", board.gus.output
    assert set(statuses.values()) == {"passed"}, board.gus.output
    assert "targets up in Prometheus" in board.gus.output


def test_a_learner_on_lab10_scales_on_the_rooms_one_adapter(board):
    """Lab 10 in room mode: the load generator pushed to her own repository and run by
    digest, the metric from the room's Adapter (the instructor's rule, not hers, which
    the checker says), and the scale-out and scale-in of her own HPA."""
    assert board.fatou is not None, board.fatou_deploy_log[-2000:]
    assert "the room's Prometheus Adapter serves" in board.fatou_deploy_log
    assert judged_right(board.fatou), board.fatou.output
    assert "with the instructor's rule, not yours" in board.fatou.output, board.fatou.output
    pushed = (board.folder / "fatou-state" / "pushed-loadgen").read_text()
    assert "/loadgen@sha256:" in pushed, pushed
