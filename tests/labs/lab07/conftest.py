"""Lab 07's fixtures: what its checks are given."""

import json
import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from checker.cluster import kube, promql
from checker.cluster.secret import read_secret_value
from checker.command import ui
from checker.outcomes import Fail

from harness import DASHBOARD, of_kind, send_traffic


@pytest.fixture(scope="session")
def rules(documents) -> list[tuple[str, dict]]:
    """(file:line, rule) for every rule of every PrometheusRule."""
    found = []
    for doc in of_kind(documents, "PrometheusRule"):
        groups = (doc.data.get("spec") or {}).get("groups")
        if not isinstance(groups, list):
            raise Fail(f"{doc.where(['spec', 'groups'])}: groups: {groups!r}", "a list of groups")
        for g, group in enumerate(groups):
            entries = (group or {}).get("rules")
            if not isinstance(entries, list):
                where = doc.where(["spec", "groups", g, "rules"])
                raise Fail(f"{where}: rules: {entries!r}", 'a list, each rule starting with "- "')
            for r, rule in enumerate(entries):
                found.append((doc.where(["spec", "groups", g, "rules", r]), rule or {}))
    return found


@pytest.fixture(scope="session")
def dashboard(lab_dir) -> dict:
    path = lab_dir / DASHBOARD
    if not path.is_file():
        raise Fail(f"{DASHBOARD} is missing", "the dashboard file in grafana/")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Fail(f"{DASHBOARD}:{exc.lineno}: not valid JSON ({exc.msg})", "valid JSON") from None


@pytest.fixture(scope="session")
def client(cluster, service, deployment):
    """An HTTP client to the Service through a port-forward, with the API key."""
    key = read_secret_value(cluster, deployment).value
    headers = {"X-API-Key": key} if key else {}
    target = f"svc/{service.name}"
    with (
        kube.port_forward(cluster, service.namespace, target, service.port) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=headers) as http,
    ):
        yield http


@pytest.fixture(scope="session")
def exposition(client) -> dict:
    send_traffic(client, 10)
    response = client.get("/metrics")
    if response.status_code != 200:
        return {"error": f"GET /metrics answered {response.status_code}"}
    try:
        families = list(text_string_to_metric_families(response.text))
    except ValueError as exc:
        return {"error": f"/metrics is not the Prometheus text format ({exc})"}
    return {"families": {f.name: f for f in families}}


# -- live: Prometheus --------------------------------------------------------------
@pytest.fixture(scope="session")
def prometheus(cluster):
    try:
        with promql.reach(cluster) as found:
            found.targets()
            ui.progress(f"Prometheus at {found.where}")
            yield found
    except promql.QueryError as exc:
        yield exc


@pytest.fixture(scope="session")
def traffic(client):
    """Steady light traffic while the live queries wait for two scrapes of it."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            try:
                send_traffic(client, 5)
            except httpx.HTTPError:
                time.sleep(0.5)
            stop.wait(0.5)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    yield
    stop.set()
    worker.join(15)
