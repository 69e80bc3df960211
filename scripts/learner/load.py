"""make load: bounded HTTP load on the service, with progress and a summary.

Aimed at the Service, not at one pod: by default http://localhost:8080, which
kind maps to the Service's NodePort 30080, so the Service spreads the load over
every pod. (kubectl port-forward svc/... picks a single pod: the HPA would see
one hot pod among cold ones.) Each request opens a new connection: a Service
balances connections, not requests, so kept-alive connections opened before a
scale-up would never reach the new pods. Patients are the diabetes data set's
rows, so the prediction histogram shows a real spread. The API key is read
from the cluster's Secret.

    python scripts/learner/load.py [--url URL] [--seconds 60] [--concurrency 16]
"""

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time

import httpx

from checker.processes.artifact import PATIENT

MAX_SECONDS = 600


def api_key(namespace: str) -> str | None:
    if os.environ.get("API_KEY"):
        return os.environ["API_KEY"]
    try:
        from kubernetes import client, config

        config.load_kube_config(context=os.environ.get("WORKSHOP_KUBE_CONTEXT") or None)
        secret = client.CoreV1Api().read_namespaced_secret(
            "diabetes-api-key", namespace, _request_timeout=5
        )
        return base64.b64decode(secret.data["api-key"]).decode()
    except Exception as exc:  # no cluster, no Secret: send no key, and say so
        print(f"  (no API key: {str(exc).splitlines()[0][:100]}; set API_KEY to pass one)")
        return None


def dataset_patients() -> list[dict[str, float]]:
    """The 442 patients scikit-learn ships (no download), else the one example."""
    try:
        from sklearn.datasets import load_diabetes

        frame = load_diabetes(as_frame=True).data
    except ImportError:
        return [PATIENT]
    return [{k: float(v) for k, v in row.items()} for row in frame.to_dict("records")]


async def run(url: str, seconds: float, concurrency: int, key: str | None) -> int:
    headers = {"X-API-Key": key} if key else {}
    latencies: list[float] = []
    failures: dict[str, int] = {}
    patients = dataset_patients()
    # The window starts once the service answered: loading the patients (scikit-learn's
    # import) and the first connection take seconds on a busy laptop.
    end = 0.0

    async def worker(client: httpx.AsyncClient, offset: int) -> None:
        sent = offset
        while time.monotonic() < end:
            started = time.monotonic()
            sent += 1
            try:
                patient = patients[sent % len(patients)]
                response = await client.post("/predict", json=patient, headers=headers)
                reason = "" if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            latencies.append(time.monotonic() - started)
            if reason:
                failures[reason] = failures.get(reason, 0) + 1

    async def progress() -> None:
        started = time.monotonic()
        while time.monotonic() < end:
            await asyncio.sleep(1)
            elapsed = time.monotonic() - started
            print(f"\r  … {elapsed:4.0f} s of {seconds:.0f}: {len(latencies)} requests, "
                  f"{sum(failures.values())} failed, {len(latencies) / elapsed:.0f}/s",
                  end="", flush=True)  # fmt: skip
        print()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        try:
            await client.get("/healthz")
        except httpx.HTTPError as exc:
            print(f"✗ {url} does not answer ({type(exc).__name__})")
            print("  hint: make deploy, and on kind use http://localhost:8080 (the NodePort)")
            return 2
        end = time.monotonic() + seconds
        await asyncio.gather(progress(), *(worker(client, n * 37) for n in range(concurrency)))
    if not latencies:
        print(f"✗ no request finished in {seconds:.0f} s")
        print("  hint: kubectl get pods shows whether the service's pods are ready")
        return 1
    ordered = sorted(latencies)

    def pct(p: float) -> str:
        return f"{1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p))]:.0f} ms"

    print(f"✓ {len(ordered)} requests in {seconds:.0f} s: {len(ordered) / seconds:.0f}/s, "
          f"p50 {pct(0.50)}, p95 {pct(0.95)}, p99 {pct(0.99)}, "
          f"mean {1000 * statistics.fmean(ordered):.0f} ms")  # fmt: skip
    if failures:
        print("  failed: " + ", ".join(f"{k} × {v}" for k, v in sorted(failures.items())))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("URL", "http://localhost:8080"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS:
        print(f"✗ --seconds must be between 1 and {MAX_SECONDS}")
        return 2
    namespace = os.environ.get("WORKSHOP_NAMESPACE") or "workshop"
    print(f"… {args.concurrency} connections on {args.url}/predict for {args.seconds:.0f} s")
    try:
        return asyncio.run(run(args.url.rstrip("/"), args.seconds, args.concurrency,
                               api_key(namespace)))  # fmt: skip
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
