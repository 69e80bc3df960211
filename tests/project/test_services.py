"""The reference services stay live and report not-ready, never crash (a crash loop
on Kubernetes), whatever the model card and artifact hold: real uvicorn, over HTTP."""

import json
import shutil

import httpx
import pytest

from checker.command.course import find
from checker.processes import procs
from project.conftest import copy_tree

pytestmark = pytest.mark.full
SERVICES = [2, 8, 9]  # lab 02's service, the cluster labs' (07-08), the fast one (09)
ARTIFACT, CARD = "diabetes-rf.skops", "model-card.json"


def card_is_a_number(models):
    (models / CARD).write_text("42\n")


def hash_is_a_number(models):
    card = json.loads((models / CARD).read_text())
    card["artifact_sha256"] = 1234
    (models / CARD).write_text(json.dumps(card))


def forest_of_the_wrong_width(models):
    """A valid forest on 3 features, its hash in a card that names 10."""
    import hashlib

    import skops.io as sio
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    data = load_diabetes()
    forest = RandomForestRegressor(n_estimators=5, random_state=0)
    forest.fit(data.data[:, :3], data.target)
    sio.dump(forest, models / ARTIFACT)
    card = json.loads((models / CARD).read_text())
    card["artifact_sha256"] = hashlib.sha256((models / ARTIFACT).read_bytes()).hexdigest()
    (models / CARD).write_text(json.dumps(card))


CASES = [card_is_a_number, hash_is_a_number, forest_of_the_wrong_width]


def test_services_stay_live_and_not_ready(tmp_path):
    servers = {}
    try:
        for number in SERVICES:
            lab = find(number)
            for case in CASES:
                tree = copy_tree(lab, lab.solution_path, tmp_path / f"{number}-{case.__name__}")
                case(tree / "models")
                shutil.rmtree(tree / "tests")
                env = {"MODEL_PATH": str(tree / "models" / ARTIFACT),
                       "MODEL_CARD_PATH": str(tree / "models" / CARD)}  # fmt: skip
                servers[(number, case.__name__)] = procs.uvicorn(tree, env).start()
        problems = []
        for (number, case), server in servers.items():
            server.wait_until_up("/healthz", timeout=120)
            live = httpx.get(server.url + "/healthz", timeout=5).status_code
            ready = httpx.get(server.url + "/readyz", timeout=5).status_code
            said = [line for line in server.log_lines() if "model not loaded" in line]
            if (live, ready) != (200, 503) or not said or not server.alive():
                problems.append(f"lab {number}, {case}: /healthz {live}, /readyz {ready}, "
                                f"log: {server.tail(4)}")  # fmt: skip
        assert not problems, "\n".join(problems)
    finally:
        for server in servers.values():
            server.stop()


# Every status each route answers besides FastAPI's own 200 and 422.
DOCUMENTED = {
    2: {"/readyz": {"503"}, "/model": {"503", "500"}, "/predict": {"413", "503", "500"},
        "/predict/batch": {"413", "503", "500"}},
    8: {"/readyz": {"503"}, "/model": {"503", "500"},
        "/predict": {"401", "413", "503", "500"}, "/predict/batch": {"401", "413", "503", "500"}},
    9: {"/readyz": {"503"}, "/model": {"503", "500"}, "/predict": {"413", "503", "500"},
        "/predict/batch": {"413", "503", "500"}},
}  # fmt: skip


def test_openapi_lists_every_status_the_service_answers(tmp_path):
    servers = {}
    try:
        for number in SERVICES:
            lab = find(number)
            tree = copy_tree(lab, lab.solution_path, tmp_path / str(number))
            servers[number] = procs.uvicorn(tree, {}).start()
        missing = []
        for number, server in servers.items():
            server.wait_until_up("/healthz", timeout=120)
            paths = httpx.get(server.url + "/openapi.json", timeout=10).json()["paths"]
            for path, wanted in DOCUMENTED[number].items():
                found = {code for method in paths[path].values() for code in method["responses"]}
                if not wanted <= found:
                    missing.append(f"lab {number} {path}: {sorted(wanted - found)} undocumented")
        assert not missing, "\n".join(missing)
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize("lab", SERVICES)
def test_library_warnings_are_json_lines(lab):
    """A library warning (scikit-learn's, under load) is a JSON log line like the rest,
    never a plain line in between that breaks a log pipeline."""
    import subprocess
    import sys

    code = (
        "import logging, warnings\n"
        "from app.logging_setup import configure_logging\n"
        "configure_logging('info')\n"
        "warnings.warn('X does not have valid feature names', UserWarning)\n"
        "logging.getLogger('app').info('after')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=find(lab).solution_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [line["logger"] for line in lines] == ["py.warnings", "app"], lines
    assert "valid feature names" in lines[0]["message"]


def test_fast_service_stays_live_when_its_compile_step_fails(tmp_path):
    """Lab 09 compiles the forest at start-up: a graph that disagrees with scikit-learn
    (here: any difference is too much) means not ready, never a crash loop."""
    lab = find(9)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    predictor = tree / "app" / "predictor.py"
    text = predictor.read_text()
    assert "RELATIVE_TOLERANCE = 1e-4" in text
    predictor.write_text(text.replace("RELATIVE_TOLERANCE = 1e-4", "RELATIVE_TOLERANCE = -1.0"))
    server = procs.uvicorn(tree, {}).start()
    try:
        server.wait_until_up("/healthz", timeout=120)
        live = httpx.get(server.url + "/healthz", timeout=5).status_code
        ready = httpx.get(server.url + "/readyz", timeout=5).status_code
        said = [line for line in server.log_lines() if "differs from scikit-learn" in line]
        assert (live, ready) == (200, 503), server.tail(6)
        assert said and server.alive(), server.tail(6)
    finally:
        server.stop()
