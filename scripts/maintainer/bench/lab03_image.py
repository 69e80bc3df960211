"""Lab 03 measured side by side in one run: the hardened image (solution) against
the naive one (the starter), on the same machine and base image.

Reports image size, cold build time (no cache), rebuild time after a code-only
change, and `docker stop` time. Run it with `make bench`.
"""

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parents[3]
VARIANTS = {"hardened (solution)": REPO / "solutions" / "03-docker",
            "naive (starter)": REPO / "labs" / "03-docker" / "work"}  # fmt: skip


def build(context: Path, tag: str, no_cache: bool) -> float:
    command = ["docker", "build", "-q", "-t", tag, "."]
    if no_cache:
        command.insert(2, "--no-cache")
    if os.environ.get("WORKSHOP_BUILD_CA"):
        command[2:2] = ["--secret", f"id=ca-bundle,src={os.environ['WORKSHOP_BUILD_CA']}"]
    started = time.monotonic()
    subprocess.run(command, cwd=context, check=True, capture_output=True,
                   env={**os.environ, "DOCKER_BUILDKIT": "1"})  # fmt: skip
    return time.monotonic() - started


def stop_time(client, tag: str) -> float:
    container = client.containers.run(tag, detach=True, read_only=True, tmpfs={"/tmp": ""})
    try:
        time.sleep(6)  # let uvicorn finish starting
        started = time.monotonic()
        container.stop(timeout=10)
        return time.monotonic() - started
    finally:
        container.remove(force=True)


def main() -> int:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        print(f"✗ Docker daemon unreachable: {exc}")
        return 2
    rows, tags = [], []
    try:
        for name, source in VARIANTS.items():
            print(f"… {name}", flush=True)
            with tempfile.TemporaryDirectory() as work:
                context = Path(work) / "ctx"
                shutil.copytree(source, context)
                tag = f"workshop-bench:{secrets.token_hex(4)}"
                tags.append(tag)
                cold = build(context, tag, no_cache=True)
                size = client.images.get(tag).attrs["Size"] / 1e6
                with (context / "app" / "main.py").open("a") as handle:
                    handle.write(f"\n# code-only change {secrets.token_hex(8)}\n")
                rebuild = build(context, tag, no_cache=False)
                stop = stop_time(client, tag)
            rows.append((name, size, cold, rebuild, stop))
    finally:
        for tag in tags:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag, force=True)
    print(f"\n{'image':<22}{'size MB':>9}{'cold build s':>14}{'code rebuild s':>16}{'stop s':>8}")
    for name, size, cold, rebuild, stop in rows:
        print(f"{name:<22}{size:>9.0f}{cold:>14.1f}{rebuild:>16.1f}{stop:>8.1f}")
    base = rows[0]
    for name, size, _cold, rebuild, stop in rows[1:]:
        print(
            f"\nratios, {name} / {base[0]}: size {size / base[1]:.2f}×, "
            f"code rebuild {rebuild / base[3]:.1f}×, stop {stop / base[4]:.1f}×"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
