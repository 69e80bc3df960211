"""Fixtures shared by every lab's checker suite."""

import os
from pathlib import Path

import pytest

from checker import k8s_yaml, kube
from checker.course import Lab, find
from checker.workload import DeploymentState, running_deployment


@pytest.fixture(scope="session")
def lab() -> Lab:
    return find(os.environ["WORKSHOP_LAB"])


@pytest.fixture(scope="session")
def lab_dir() -> Path:
    return Path(os.environ["WORKSHOP_LAB_DIR"])


# Labs 04+: the manifests in k8s/, read and validated offline.
@pytest.fixture(scope="session")
def documents(lab_dir) -> tuple[list[k8s_yaml.Document], list[str]]:
    docs, problems = k8s_yaml.read(lab_dir / "k8s")
    return docs, problems + k8s_yaml.validate(docs)


# Labs 04+: the cluster of the current kube context (a Stop when it does not answer).
@pytest.fixture(scope="session")
def cluster() -> kube.Cluster:
    return kube.connect()


@pytest.fixture(scope="session")
def deployment(cluster) -> DeploymentState:
    return running_deployment(cluster)
