"""Serving throughput side by side in one run: each variant on one pinned core,
wrk on the other, at fixed concurrencies. Run it with `make bench`.

Variants:
  ceiling    the same stack answering a constant: the upper bound
  naive      the source guide's design (scikit-learn per request, sync endpoint)
  reference  lab 02's solution
  fast       lab 09's solution (the forest compiled to ONNX)
  peer       MLServer 1.7 with its scikit-learn runtime and adaptive batching,
             over the Open Inference Protocol (only with BENCH_PEER=1: it
             installs MLServer into .tools/ on first use)

Every RPS is also given as a share of the ceiling measured in the same run.

Then each variant is measured open-loop with vegeta: requests sent at a fixed
rate whatever the server does, so a slow answer cannot hold the next ones back
and their latency is real (wrk's closed loop hides it). Two rates, both below
capacity: one rate for all (half the slowest variant's peak), and 70% of the
variant's own peak.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from checker.command.course import REPO
from checker.load.vegeta import OpenLoopResult, attack, vegeta_path
from checker.load.wrk import UVICORN, Result, ServingError, load, server
from checker.processes.artifact import PATIENT

SERVERS = REPO / "scripts" / "maintainer" / "bench" / "servers"
BODY = json.dumps(PATIENT)
PEER_VERSION = "1.7.1"
PEER_HOME = REPO / ".tools" / f"mlserver-{PEER_VERSION}"


def variants(peer_dir: Path | None) -> dict[str, dict]:
    found = {
        "ceiling": {"command": [*UVICORN, "--app-dir", str(SERVERS), "ceiling:app"],
                    "cwd": REPO, "ready": "/healthz"},
        "naive": {"command": [*UVICORN, "--app-dir", str(SERVERS), "naive:app"],
                  "cwd": REPO / "solutions" / "02-serve", "ready": "/health"},
        "reference": {"command": [*UVICORN, "app.main:app"],
                      "cwd": REPO / "solutions" / "02-serve", "ready": "/readyz"},
        "fast": {"command": [*UVICORN, "app.main:app"],
                 "cwd": REPO / "solutions" / "09-fast", "ready": "/readyz"},
    }  # fmt: skip
    if peer_dir is not None:
        found["peer"] = {
            "command": [str(PEER_HOME / "bin" / "mlserver"), "start", str(peer_dir)],
            "cwd": peer_dir, "ready": "/v2/health/ready", "path": "/v2/models/diabetes/infer",
            "body": json.dumps({"inputs": [{"name": "patients", "shape": [1, 10],
                                            "datatype": "FP64", "data": list(PATIENT.values())}]}),
            "settings": True,
        }  # fmt: skip
    return found


def prepare_peer(work: Path) -> Path:
    """MLServer in its own venv (its pins clash with the course's), serving the
    same forest, saved as the joblib file its scikit-learn runtime loads."""
    if not (PEER_HOME / "bin" / "mlserver").exists():
        print(f"… installing MLServer {PEER_VERSION} into {PEER_HOME} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(PEER_HOME)], check=True)
        subprocess.run([str(PEER_HOME / "bin" / "pip"), "install", "-q",
                        f"mlserver=={PEER_VERSION}", f"mlserver-sklearn=={PEER_VERSION}",
                        "scikit-learn==1.9.1", "skops==0.16.0"], check=True)  # fmt: skip
    peer = work / "peer"
    peer.mkdir()
    convert = (
        "import joblib, skops.io as s, sys; "
        "joblib.dump(s.load(sys.argv[1], trusted=['sklearn.tree._tree.Tree']), sys.argv[2])"
    )
    artifact = REPO / "solutions" / "02-serve" / "models" / "diabetes-rf.skops"
    subprocess.run([str(PEER_HOME / "bin" / "python"), "-c", convert, str(artifact),
                    str(peer / "model.joblib")], check=True)  # fmt: skip
    (peer / "model-settings.json").write_text(json.dumps({
        "name": "diabetes", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
        # Adaptive batching: up to 32 requests, waiting at most 5 ms for them.
        "max_batch_size": 32, "max_batch_time": 0.005,
    }))  # fmt: skip
    return peer


def peer_settings(peer: Path, port: int) -> None:
    # One process on the pinned core, like the others: no parallel workers.
    (peer / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": port + 1, "metrics_port": port + 2,
        "parallel_workers": 0, "debug": False,
    }))  # fmt: skip


@contextmanager
def running(spec: dict) -> Iterator[str]:
    """The variant's server, warmed up; yields the URL that predicts."""
    command, env = list(spec["command"]), {"LOG_LEVEL": "WARNING"}
    port = None
    if spec.get("settings"):
        port = 20000 + os.getpid() % 20000
        peer_settings(spec["cwd"], port)
    with server(command, spec["cwd"], spec["ready"], env=env, seconds=120, port=port) as url:
        target = url + spec.get("path", "/predict")
        load(target, spec.get("body", BODY), 4, 1)  # warm-up: imports, caches, branch predictors
        yield target


def measure(name: str, spec: dict, levels: list[int], seconds: float) -> list[Result]:
    results = []
    with running(spec) as target:
        for connections in levels:
            result = load(target, spec.get("body", BODY), connections, seconds)
            errors = f"  ({result.errors} errors)" if result.errors else ""
            print(f"  {name:10} {connections:3} connections: {result.row()}{errors}", flush=True)
            results.append(result)
    return results


def measure_open(name: str, spec: dict, rates: list[float], seconds: float) -> list[OpenLoopResult]:
    results = []
    with running(spec) as target:
        for rate in rates:
            result = attack(target, spec.get("body", BODY), rate, seconds)
            print(f"  {name:10} open loop {result.row()}", flush=True)
            results.append(result)
    return results


def open_rates(table: dict[str, list[Result]]) -> tuple[float, dict[str, list[float]]]:
    """One rate for all (half the slowest variant's peak) and 70% of each one's own;
    the ceiling gets the common rate only: at 70% of a constant answer's peak, one
    vegeta core, not the server, would be measured."""
    peaks = {name: max(r.rps for r in results) for name, results in table.items()}
    common = max(1.0, 0.5 * min(peaks.values()))
    return common, {name: [common] if name == "ceiling" else [common, max(1.0, 0.7 * peak)]
                    for name, peak in peaks.items()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--only", help="comma-separated variant names")
    parser.add_argument(
        "--open-seconds", type=float, default=10, help="seconds per open-loop point (vegeta)"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        peer = prepare_peer(Path(scratch)) if os.environ.get("BENCH_PEER") == "1" else None
        chosen = variants(peer)
        if args.only:
            chosen = {
                k: v for k, v in chosen.items() if k in args.only.split(",") or k == "ceiling"
            }
        print(f"Serving benchmark: one uvicorn worker on core 0, wrk (1 thread) on core 1, "
              f"{args.seconds:g} s per point")  # fmt: skip
        table: dict[str, list[Result]] = {}
        opened: dict[str, list[OpenLoopResult]] = {}
        try:
            vegeta_path()
            for name, spec in chosen.items():
                table[name] = measure(name, spec, levels, args.seconds)
            common, rates = open_rates(table)
            print(f"\nOpen loop (vegeta), {args.open_seconds:g} s per point: {common:.0f} req/s "
                  f"for all, then 70% of each variant's peak")  # fmt: skip
            for name, spec in chosen.items():
                opened[name] = measure_open(name, spec, rates[name], args.open_seconds)
        except ServingError as exc:
            print(f"✗ {exc}")
            return 2
    ceiling = {r.connections: r.rps for r in table["ceiling"]}
    print()
    print(f"{'variant':10} {'conns':>5} {'req/s':>9} {'of ceiling':>10} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7}")  # fmt: skip
    for name, results in table.items():
        for r in results:
            share = r.rps / ceiling[r.connections] if ceiling.get(r.connections) else 0
            print(f"{name:10} {r.connections:5} {r.rps:9.0f} {share:10.1%} {r.p50_ms:8.1f} "
                  f"{r.p99_ms:8.1f} {r.errors:7}")  # fmt: skip
    print()
    print(f"{'open loop':10} {'offered':>8} {'sent':>8} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'ok':>7}")  # fmt: skip
    for name, results in opened.items():
        for o in results:
            print(f"{name:10} {o.offered_rps:8.0f} {o.sent_rps:8.0f} {o.p50_ms:8.1f} "
                  f"{o.p90_ms:8.1f} {o.p99_ms:8.1f} {o.max_ms:8.1f} {o.success:7.1%}"
                  + ("" if o.generator_kept_up else "  not valid: vegeta fell behind"))  # fmt: skip
    out = REPO / ".workshop" / "bench" / f"serving-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "closed_loop_wrk": {k: [asdict(r) for r in v] for k, v in table.items()},
        "open_loop_vegeta": {k: [asdict(o) for o in v] for k, v in opened.items()},
    }, indent=2))  # fmt: skip
    print(f"\nresults in {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
