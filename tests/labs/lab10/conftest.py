"""Lab 10's fixtures: what its checks are given."""

import time

import pytest

from checker.cluster import manifests
from checker.cluster.secret import read_secret_value
from checker.load import capacity, wrkpod
from checker.outcomes import Fail, Stop

from harness import (
    CONNECTIONS,
    METRIC_SECONDS,
    ROUND_SECONDS,
    SCALE_OUT_SECONDS,
    VALUES,
    capacity_of,
)


@pytest.fixture(scope="session")
def values(lab_dir):
    """The Adapter's Helm values, as a manifests.Document (line numbers for messages)."""
    path = lab_dir / VALUES
    if not path.is_file():
        raise Stop(f"{VALUES} is missing", hint="create it from README → Step 2")
    docs, problems = manifests.read(path.parent)
    if problems:
        raise Stop(f"{VALUES} cannot be read: {problems[0]}",
                   hint="fix the YAML at the line shown (indent with spaces)")  # fmt: skip
    found = [d for d in docs if d.path.name == path.name]
    if not found or not isinstance(found[0].data, dict):
        raise Stop(f"{VALUES} is not a YAML mapping", hint="start from README → Step 2")
    return found[0]


@pytest.fixture(scope="session")
def measured(lab_dir) -> dict:
    found = capacity_of(lab_dir)
    rps = found.get("requests_per_second")
    if not isinstance(rps, int | float):
        raise Fail(f"{capacity.FILE} holds no measurement", "requests_per_second (make capacity)",
                   hint="make deploy 10, then make capacity: it measures one pod and writes "
                        f"{capacity.FILE} (Step 1)")  # fmt: skip
    return found


@pytest.fixture(scope="session")
def load(cluster, deployment, service):
    """wrk through the Service, in rounds, for as long as the live checks need."""
    key = read_secret_value(cluster, deployment).value or ""
    url = f"http://{service.name}.{service.namespace}.svc.cluster.local:{service.number}/predict"
    total = METRIC_SECONDS + SCALE_OUT_SECONDS
    # Up to a whole core for wrk: at half a core, on a busy 2-core node, it sent
    # less than two pods' target and so could not show a scale-out.
    name = wrkpod.start(cluster, service.namespace, url, key, CONNECTIONS, ROUND_SECONDS,
                        rounds=total // ROUND_SECONDS + 1, cpu="1")  # fmt: skip
    state = {"pod": name, "namespace": service.namespace, "started": time.monotonic()}
    yield state
    wrkpod.stop(cluster, service.namespace, name)
