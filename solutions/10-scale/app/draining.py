"""Readiness turns false as soon as the process is told to stop (lab 05).

Kubernetes sends SIGTERM after the preStop pause. From then on /readyz answers
503, so nothing that still polls readiness (a load balancer, a mesh, a probe)
sends new work here. With SHUTDOWN_DELAY_SECONDS > 0 the process also keeps
serving that long before uvicorn stops listening: the same pause as preStop,
for platforms that have no preStop hook.
"""

import logging
import signal
import threading
from typing import Any

log = logging.getLogger("app")


def install(state: Any, delay_seconds: float = 0.0) -> None:
    """Chains a SIGTERM handler in front of uvicorn's own, which still shuts down."""
    state.draining = False
    # Signal handlers can only be set from the main thread; a test client runs
    # the app in another one, where draining simply never starts.
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        state.draining = True
        log.info("SIGTERM: readiness answers 503; stopping in %.1f s", delay_seconds)
        if not callable(previous):
            return
        if delay_seconds > 0:
            # uvicorn's handler only sets flags, so calling it from a timer is safe.
            threading.Timer(delay_seconds, previous, (signum, frame)).start()
        else:
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
