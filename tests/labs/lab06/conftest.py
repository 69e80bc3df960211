"""Lab 06's fixtures: what its checks are given."""

import pytest

from checker.cluster.deployment import APP_SELECTOR, namespace_name


@pytest.fixture(scope="session")
def hpa(cluster):
    found = cluster.autoscaling.list_namespaced_horizontal_pod_autoscaler(
        namespace_name(), label_selector=APP_SELECTOR
    ).items
    return found[0] if found else None
