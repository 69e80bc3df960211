"""Lab 09's harness: what its checks and fixtures share."""

import json

from checker.command.course import REPO
from checker.outcomes import Fail, Needs, Stop
from checker.processes import forkserver

CONNECTIONS = 16
MEASURE_SECONDS = 8
SPEEDUP = 5.0
RELATIVE_TOLERANCE = 1e-4
PATIENTS = 100
# A service under a closed-loop wrk has its p99 within a few times its p50; the
# guide's own p99 past this many times its p50 says the machine stalled the run.
STALLED = 5


def stalled(base, yours) -> str:
    """Why a worse p99 says nothing about the service, or "": the guide's own tail far
    above its median, so the machine stalled both runs."""
    if yours.p99_ms <= base.p99_ms or base.p99_ms <= STALLED * base.p50_ms:
        return ""
    return (
        f"the guide's own p99 is {base.p99_ms / base.p50_ms:.0f}× its p50 "
        f"({base.p50_ms:.1f} ms): the machine stalled both services"
    )


# Both services log warnings only: the comparison is about serving, not logging.
QUIET = {"LOG_LEVEL": "WARNING"}
BASELINE = REPO / "scripts" / "maintainer" / "bench" / "servers"
CARD = "model-card.json"
ARTIFACT = "diabetes-rf.skops"
# What one check saw that a later one's hint needs (the checks run in file order).
OBSERVED: dict[str, float] = {}
# A protobuf field that ONNX does not define (number 1000, varint 1): appended to
# the graph it still loads and predicts the same, so only a hash check refuses it.
UNKNOWN_FIELD = b"\xc0\x3e\x01"
COMPILE = "python -m app.compile"
# What the service and the reference import first, once, in the fork server
# (checker.processes.forkserver): the two graph cases and the reference fork from it.
SERVICE_LIBRARIES = [*forkserver.SERVICE_IMPORTS, "onnxruntime"]


def compiled_entry(lab_dir):
    """The card's compiled section, or the Fail that names what is wrong with it."""
    card_path = lab_dir / "models" / CARD
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Stop(f"models/{CARD} cannot be read: {exc}",
                   hint="restore it: make reset 9 keeps a backup of your work",
                   ) from None  # fmt: skip
    entry = card.get("compiled") if isinstance(card, dict) else None
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(key), str) for key in ("artifact", "artifact_sha256")
    ):
        raise Fail(f"models/{CARD} has no compiled section with artifact and artifact_sha256",
                   "the graph's file name and SHA-256, written by the compile step",
                   hint=f"run {COMPILE} in your folder once convert() works")  # fmt: skip
    return entry


def running(service) -> str:
    if isinstance(service, Exception):
        raise Needs("the service running")
    return service
