"""make deploy's wait for the rollout (python -m checker rollout): the checker's own
judgement of a settled or stuck Deployment."""

from checker.cluster import kube
from checker.cluster.deployment import is_settled, running_deployment
from checker.command import ui
from checker.outcomes import Stop
from checker.processes.procs import indent


def rollout(timeout: float) -> int:
    """make deploy's wait for the rollout: the checker's own judgement of a settled or
    stuck Deployment, so a pod that waiting will not fix ends the wait at once."""
    try:
        cluster = kube.connect()
    except Stop as exc:
        ui.say(f"{ui.FAIL} {exc.message}")
        return 2
    state = running_deployment(cluster, timeout)
    if state.error:
        ui.say(f"{ui.FAIL} {state.error}")
        return 1
    wanted = state.deployment.spec.replicas or 0
    if is_settled(state):
        ui.say(f"{ui.PASS} rollout finished: {state.ready} of {wanted} pods ready")
        return 0
    if state.stuck:
        ui.say(f"{ui.FAIL} rollout stuck, waiting will not fix it: {state.stuck}")
    else:
        ready = f"{state.ready} of {wanted} pods ready"
        ui.say(f"{ui.FAIL} rollout not finished after {timeout:.0f} s: {ready}")
    if state.diagnostics:
        ui.say(indent(state.diagnostics))
    return 1
