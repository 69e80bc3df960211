"""Lab 00's fixtures: what its checks are given."""

import json
import subprocess

import pytest

from harness import find_tool, run


@pytest.fixture(scope="module")
def docker_info() -> dict | str:
    """The daemon's `docker info`, or why it could not be read."""
    docker = find_tool("docker")
    if docker is None:
        return "the docker command was not found"
    try:
        done = run([docker, "info", "--format", "{{json .}}"], timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer within 30 s"
    try:
        info = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        info = {}
    if not info.get("ServerVersion"):
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"the Docker daemon is unreachable ({reason})"
    return info
