"""What only a real Docker engine can prove: the build secret stays out of the image,
the checker cleans up after Ctrl-C, and lab 03 refuses to pass without a daemon."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from checker.command.course import REPO, find
from checker.upkeep.versions import pins
from project.conftest import copy_tree, run_checker

pytestmark = pytest.mark.full
CA_BUNDLE = os.environ.get("WORKSHOP_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="module")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.fail(f"the Docker tier cannot run: daemon unreachable ({exc})")
    return client


def own_layers(docker_client, tag, base_tag, tmp_path):
    """The files of the layers the build added on top of its base, from `docker save`."""
    image = docker_client.images.get(tag)
    skip = len(docker_client.images.get(base_tag).attrs["RootFS"]["Layers"])
    archive = tmp_path / "image.tar"
    with archive.open("wb") as handle:
        for chunk in image.save(named=True):
            handle.write(chunk)
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        for name in manifest["Layers"][skip:]:
            with tarfile.open(fileobj=io.BytesIO(outer.extractfile(name).read())) as layer:
                for entry in layer.getmembers():
                    data = layer.extractfile(entry).read() if entry.isfile() else b""
                    yield entry.name, data


def test_build_secret_never_lands_in_a_layer(docker_client, tmp_path):
    with open(CA_BUNDLE, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    context = copy_tree(find(3), REPO / "solutions" / "03-docker", tmp_path)
    tag = "workshop-test:secret-probe"
    secret = f"id=ca-bundle,src={CA_BUNDLE}"
    command = ["docker", "build", "-q", "--secret", secret, "-t", tag, "."]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    subprocess.run(command, cwd=context, check=True, capture_output=True, env=env)
    try:
        files = list(own_layers(docker_client, tag, pins()["BASE_IMAGE"], tmp_path))
        assert len(files) > 100, "the build's own layers look empty: is the test reading them?"
        leaks = [
            name
            for name, data in files
            if "run/secrets" in name or hashlib.sha256(data).hexdigest() == digest
        ]
        assert not leaks, f"the CA bundle is in the image: {leaks}"
        history = " ".join(h["CreatedBy"] for h in docker_client.images.get(tag).history())
        assert "BEGIN CERTIFICATE" not in history
    finally:
        docker_client.images.remove(tag, force=True)


def leftovers(docker_client):
    containers = docker_client.containers.list(all=True, filters={"label": "workshop.check"})
    images = [
        t for i in docker_client.images.list() for t in i.tags if t.startswith("workshop-lab03:")
    ]
    return containers, images


def as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cleans_up_containers_and_images(docker_client, tmp_path):
    tree = copy_tree(find(3), REPO / "solutions" / "03-docker", tmp_path)
    # Unbuffered: each line reaches the test as it is printed, not in 4 KB blocks.
    env = {**os.environ, "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    command = [sys.executable, "-m", "checker", "check", "3", "--lab-dir", str(tree)]
    # As from a terminal: an xdist worker ignores SIGINT, and its children inherit that.
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               preexec_fn=as_from_a_terminal)  # fmt: skip
    seen = []
    deadline = time.monotonic() + 300
    for text in process.stdout:
        seen.append(text)
        # Interrupted while its container starts: a step that lasts seconds however
        # warm the build cache is (after it, the run can end before the signal lands).
        if "waiting for the container to answer" in text or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    output = "".join(seen) + rest
    assert process.returncode == 130, output
    assert "Traceback" not in output
    containers, images = leftovers(docker_client)
    assert not containers and not images, (containers, images)


def test_live_tier_does_not_pass_without_a_daemon(tmp_path):
    tree = copy_tree(find(3), REPO / "solutions" / "03-docker", tmp_path)
    os.environ["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    try:
        run = run_checker(3, tree, tmp_path)
    finally:
        del os.environ["DOCKER_HOST"]
    assert run.code == 2, run.output
    assert run.status("image_builds") == "not-run"
    assert "Docker daemon unreachable" in run.output
