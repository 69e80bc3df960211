"""Lab 04's fixtures: what its checks are given."""

import httpx
import pytest

from checker.cluster import kube
from checker.cluster.secret import read_secret_value
from checker.outcomes import Needs


@pytest.fixture(scope="session")
def api(cluster, service_state):
    """An HTTP client to the Service through kubectl port-forward, once it answers: lab
    04's pods have no readiness probe yet, so ready is not yet listening."""
    service = service_state
    if service.error:
        raise Needs("a Service with ready endpoints")
    target = f"svc/{service.name}"
    with (
        kube.answering_port_forward(cluster, service.namespace, target, service.port) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def api_key(cluster, deployment):
    return read_secret_value(cluster, deployment)
