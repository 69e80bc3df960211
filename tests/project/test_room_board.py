"""The room board for a room of 8 on a real cluster: learners run lab 04's real
checker on their own folders (the solution, the starter, a seeded mistake, nothing
yet); one joins with make join's script, pushes her image to the room's registry
(distribution's, on the test cluster), deploys it by digest and passes the
unchanged checker with her own kubeconfig; another learner can neither replace
what runs in her namespace nor connect to her pods (NetworkPolicy, enforced by
kube-network-policies); the board reads what each run published in their
namespace, and its page is rendered by a real headless browser (Debian's
chromium). WORKSHOP_UPDATE_SCREENSHOTS=1 also writes the README's picture."""

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

from checker.course import REPO, find
from project import seeded
from project.conftest import copy_tree, run_checker

pytestmark = [pytest.mark.full, pytest.mark.cluster]
ROOM_PY = [sys.executable, str(REPO / "scripts" / "room" / "room.py")]
BOARD_PY = [sys.executable, str(REPO / "scripts" / "room" / "board.py")]
LEARNERS = ["ana", "ben", "chloe", "dev", "emre", "fatou", "gus", "hana"]
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
    yield name, path, folder
    subprocess.run([*ROOM_PY, "down", str(path)], capture_output=True, timeout=600, check=False)


def as_learner(room_name: str, learner: str) -> dict:
    return {"KUBECONFIG": str(REPO / ".workshop" / "room" / room_name / f"{learner}.kubeconfig"),
            "WORKSHOP_NAMESPACE": f"{room_name}-{learner}", "WORKSHOP_ROOM": "1",
            "WORKSHOP_ROOM_PUBLISH": "1", "WORKSHOP_ROLLOUT_TIMEOUT": "60"}  # fmt: skip


@pytest.fixture(scope="module")
def board(room):
    name, path, folder = room
    lab = find(4)
    # A learner with YAML that does not parse: the board shows where chloe is stuck.
    mistake = next(m for m in seeded.of(lab).mistakes if m.id == "yaml-syntax")
    trees = {"solution": copy_tree(lab, lab.solution_path, folder / "solution"),
             "starter": copy_tree(lab, lab.tree_path, folder / "starter")}  # fmt: skip
    trees["mistake"] = copy_tree(lab, lab.solution_path, folder / "mistake")
    mistake.apply(trees["mistake"])
    trees["ana"] = own_tree(lab, "ana", folder)
    # ana joins as make join does, deploys the solution and passes; the others are
    # where a room is mid-lab.
    started = time.monotonic()
    joined = joined_env(name, folder / "ana-state")
    deployed = subprocess.run([str(REPO / "scripts" / "deploy.sh"), str(trees["ana"])],
                              env=joined, capture_output=True, text=True, timeout=900,
                              check=False)  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    print(f"ana deployed in {time.monotonic() - started:.0f} s")
    plan = {
        "ana": "ana",
        "ben": "solution",
        "chloe": "mistake",
        "dev": "starter",
        "emre": "starter",
        "fatou": "solution",
    }  # gus is ahead, on lab 07; hana has not started
    # As in a room, the learners run their checkers at the same time.
    started = time.monotonic()

    def check(learner: str):
        env = joined if learner == "ana" else as_learner(name, learner)
        return learner, run_checker(lab, trees[plan[learner]], folder / learner, env=env)

    def ahead_on_lab07():
        """gus deploys lab 07 and checks it against the room's one Prometheus."""
        lab7 = find(7)
        tree = own_tree(lab7, "gus", folder)
        env = joined_env(name, folder / "gus-state", "gus")
        done = subprocess.run([str(REPO / "scripts" / "deploy.sh"), str(tree)], env=env,
                              capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
        if done.returncode != 0:
            return done, None
        return done, run_checker(lab7, tree, folder / "gus", env=env)

    with ThreadPoolExecutor(max_workers=3) as pool:
        gus = pool.submit(ahead_on_lab07)  # the longest first
        runs = dict(pool.map(check, plan))
        gus_deployed, gus_run = gus.result()
    print(f"{len(plan) + 1} checker runs in {time.monotonic() - started:.0f} s")
    out = folder / "out"
    started = time.monotonic()
    done = subprocess.run([*BOARD_PY, str(path), "4", "--out", str(out), "--jobs", "4"],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    print(f"the board of {len(LEARNERS)} in {time.monotonic() - started:.1f} s")
    return SimpleNamespace(
        text=done.stdout,
        data=json.loads((out / "board.json").read_text()),
        page=out / "board.html",
        deploy_log=deployed.stderr,
        ana=runs["ana"],
        gus_deploy_log=gus_deployed.stderr,
        gus=gus_run,
        folder=folder,
    )


def own_tree(lab, learner: str, folder):
    """A learner's copy of a solution whose image is their own: the live tier imports
    the solution's image into this test cluster by name (ctr import), and containerd
    1.6's CRI does not see a name imported for an image it already pulled under
    another name (a digest, here)."""
    tree = copy_tree(lab, lab.solution_path, folder / f"{learner}-tree")
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


def test_a_learner_joins_deploys_and_passes_the_unchanged_checker(board):
    assert "Services get a ClusterIP" in board.deploy_log and "pushed" in board.deploy_log
    assert board.ana.code == 0, board.ana.output


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
    stale = folder / "ana-state" / "stale-push"
    stale.write_text(f"{repository}@sha256:{'0' * 64}\n")
    env = {**joined_env(name, folder / "ana-again"), "WORKSHOP_LAST_PUSH": str(stale)}
    lab = find(4)
    tree = folder / "ana-tree" / lab.solution_path.name
    run = run_checker(lab, tree, folder / "ana-stale", "--until", "image_tag", env=env)
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


def test_the_board_shows_each_learners_own_run(board):
    text, data = board.text, board.data
    rows = {row["learner"]: row for row in data["rows"]}
    assert list(rows) == LEARNERS
    assert rows["ana"]["passed"] and rows["ana"]["pods"] == "3/3"
    assert not rows["ben"]["passed"] and rows["ben"]["first_failure"], "ben never deployed"
    assert rows["dev"]["first_failure"] and rows["dev"]["hint"]
    assert rows["gus"]["marks"] == {} and rows["gus"]["minutes_on_lab"] is None
    assert "1 of 8 done" in text and "not started" in text


def test_the_page_renders_in_a_real_browser(board, tmp_path):
    page = board.page
    dom = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-1000:]
    assert dom.stdout.count('<td class="learner">') == len(LEARNERS)
    assert 'http-equiv="refresh"' in dom.stdout and "1 of 8 done" in dom.stdout
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
