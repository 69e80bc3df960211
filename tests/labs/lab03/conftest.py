"""Lab 03's fixtures: what its checks are given."""

import secrets
import shutil
import time

import httpx
import pytest

from checker import NotRun, Stop
from checker.command import ui
from checker.processes import procs
from checker.processes.procs import free_port

from harness import LABEL, built, docker_build, remove_image


# -- the Dockerfile, parsed ---------------------------------------------------------
@pytest.fixture(scope="session")
def dockerfile_path(lab_dir):
    path = lab_dir / "Dockerfile"
    if not path.is_file():
        raise Stop(
            f"{path} does not exist", detail="create it; the README's Step 1 shows the start"
        )
    return path


@pytest.fixture(scope="session")
def parsed(dockerfile_path):
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(dockerfile_path))
    try:
        structure = parser.structure
    except Exception as exc:  # dockerfile-parse raises a few kinds on broken input
        raise Stop(f"the Dockerfile could not be parsed: {exc}") from None
    if not any(i["instruction"] == "FROM" for i in structure):
        raise Stop("the Dockerfile has no FROM instruction")
    return parser


# -- live checks ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def client():
    try:
        import docker

        docker_client = docker.from_env(timeout=120)
        docker_client.ping()
        return docker_client
    except Exception as exc:  # the SDK raises several kinds when no daemon answers
        return str(exc).splitlines()[0][:120]


@pytest.fixture(scope="session")
def docker_client(client):
    if isinstance(client, str):
        raise NotRun(f"Docker daemon unreachable ({client}); start Docker and re-run")
    return client


@pytest.fixture(scope="session")
def context(lab_dir, tmp_path_factory, docker_client):
    """The build context: a private copy, so the checker can change code without touching yours."""
    target = tmp_path_factory.mktemp("context") / "ctx"
    shutil.copytree(lab_dir, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return target


@pytest.fixture(scope="session")
def image(docker_client, context):
    tag = f"workshop-lab03:check-{secrets.token_hex(4)}"
    procs.on_cleanup(remove_image(docker_client, tag))
    ok, seconds, output = docker_build(context, tag)
    if not ok:
        return {"error": "\n".join(output[-12:])}
    built = docker_client.images.get(tag)
    return {"tag": tag, "image": built, "seconds": seconds}


@pytest.fixture(scope="session")
def container(docker_client, image):
    built(image)
    exposed = next(iter(image["image"].attrs["Config"].get("ExposedPorts") or {"8000/tcp": {}}))
    port = free_port()
    name = f"workshop-lab03-{secrets.token_hex(4)}"
    running = docker_client.containers.run(
        image["tag"], detach=True, name=name, read_only=True, tmpfs={"/tmp": "rw,size=64m"},
        cap_drop=["ALL"], security_opt=["no-new-privileges"], labels={LABEL: "lab03"},
        ports={exposed: ("127.0.0.1", port)},
    )  # fmt: skip

    def remove():
        running.remove(force=True)

    procs.on_cleanup(remove)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with ui.waiting("waiting for the container to answer /healthz", 60):
        while time.monotonic() < deadline:
            running.reload()
            if running.status in ("exited", "dead"):
                break
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return {"container": running, "url": url}
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
    logs = running.logs(tail=10).decode(errors="replace")
    return {"error": f"status {running.status}; last log lines:\n{procs.indent(logs)}"}
