"""Fixtures shared by every lab's checker suite. The run itself provides lab, lab_dir
and will_run (checker.command.plugin.suite_fixtures)."""

import pytest

from checker.cluster import kube, manifests
from checker.cluster.deployment import DeploymentState, running_deployment
from checker.cluster.service import ServiceState, service_of
from checker.outcomes import Needs


# Labs 04+: the manifests in k8s/, read and validated offline.
@pytest.fixture(scope="session")
def documents(lab_dir) -> tuple[list[manifests.Document], list[str]]:
    docs, problems = manifests.read(lab_dir / "k8s")
    return docs, problems + manifests.validate(docs)


# Labs 04+: the cluster of the current kube context (a Stop when it does not answer).
@pytest.fixture(scope="session")
def cluster() -> kube.Cluster:
    return kube.connect()


@pytest.fixture(scope="session")
def deployment(cluster) -> DeploymentState:
    return running_deployment(cluster)


@pytest.fixture(scope="session")
def service_state(cluster, deployment) -> ServiceState:
    """The learner's Service as found, errors and all (lab 04 judges it)."""
    return service_of(cluster, deployment)


@pytest.fixture(scope="session")
def service(deployment, service_state) -> ServiceState:
    """The Service with ready endpoints that a later lab's checks send traffic through."""
    if deployment.error:
        raise Needs("an available Deployment")
    if service_state.error:
        raise Needs(f"a Service with ready endpoints ({service_state.error})")
    return service_state
