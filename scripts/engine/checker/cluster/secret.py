"""The API key the learner's pods get (labs 04+), read from the Secret their env points at."""

import base64
from dataclasses import dataclass

from checker.cluster.deployment import DeploymentState


@dataclass
class Secret:
    value: str | None = None
    error: str = ""


def read_secret_value(cluster, deployment: DeploymentState) -> Secret:
    """The API key the pods get, read from the Secret their env points at."""
    if deployment.deployment is None:
        return Secret(error="no Deployment")
    containers = deployment.deployment.spec.template.spec.containers
    for env in containers[0].env or []:
        if env.name != "API_KEY":
            continue
        if env.value is not None:
            return Secret(env.value, "API_KEY is written in the manifest as plain text")
        ref = env.value_from.secret_key_ref if env.value_from else None
        if ref is None:
            return Secret(error="API_KEY does not come from a Secret")
        try:
            secret = cluster.core.read_namespaced_secret(ref.name, deployment.namespace)
        except Exception:
            return Secret(error=f"Secret {ref.name} does not exist in {deployment.namespace}")
        raw = (secret.data or {}).get(ref.key)
        if raw is None:
            return Secret(error=f"Secret {ref.name} has no key {ref.key}")
        return Secret(base64.b64decode(raw).decode())
    return Secret(error="the container has no API_KEY environment variable")
