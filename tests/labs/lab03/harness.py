"""Lab 03's harness: what its checks and fixtures share."""

import json
import os
import re
import subprocess
import time

from checker import Needs
from checker.command import ui
from checker.processes.artifact import FEATURES

ROW = dict(zip(FEATURES, [0.0381, 0.0507, 0.0617, 0.0219, -0.0442, -0.0348, -0.0434,
                          -0.0026, 0.0199, -0.0176], strict=True))  # fmt: skip
OCI = ["org.opencontainers.image.source", "org.opencontainers.image.revision",
       "org.opencontainers.image.version"]  # fmt: skip
SECRET_NAME = re.compile(r"(secret|password|passwd|token|api_?key|access_?key|credential)", re.I)
BAD_CHARS = {"\u2013": "en dash –", "\u2014": "em dash —", "\u2018": "‘", "\u2019": "’",
             "\u201c": "“", "\u201d": "”", "\u00a0": "non-breaking space"}  # fmt: skip
COMPILERS = ["gcc", "cc", "g++", "c++", "clang", "make"]
BUILD_TIMEOUT = 900
STOP_BUDGET_S = 5.0  # well under Docker's 10 s before SIGKILL
KILL_AFTER_S = 6  # docker stop --time: SIGKILL just past the budget
REBUILT_BUDGET = 0.10  # a code-only change may rebuild at most 10 % of the image's bytes
LABEL = "workshop.check"
# A release, not a line of releases: 3.11.14, not 3.11.
FULL_VERSION = re.compile(r"\d+\.\d+\.\d+")
REMOTE = re.compile(r"(^|\s)(https?|git)://|(^|\s)git@")
PIP = re.compile(r"pip3?\s+(install|wheel)|python3?\s+-m\s+pip")
CODE_SOURCE = re.compile(r"(^|\s)(\.|\./|app/?|\./app/?)(\s|$)")
MODEL_SOURCE = re.compile(r"(^|\s)(\.|\./|models/?|\./models/?)(\s|$)")


def is_install(instruction: dict) -> bool:
    return instruction["instruction"] == "RUN" and bool(PIP.search(instruction["value"]))


def is_code_copy(instruction: dict) -> bool:
    sources = sources_of(instruction)
    return instruction["instruction"] in ("COPY", "ADD") and bool(CODE_SOURCE.search(sources))


def sources_of(instruction: dict) -> str:
    """A COPY's sources: its words without options and without the destination."""
    words = [w for w in instruction["value"].split() if not w.startswith("--")]
    return " ".join(words[:-1])


def stages(parser) -> list[list[dict]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    result: list[list[dict]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result and instruction["instruction"] != "COMMENT":
            result[-1].append(instruction)
    return result


def final_stage(parser) -> list[dict]:
    return stages(parser)[-1]


def cmd_of(stage: list[dict]) -> dict | None:
    found = [i for i in stage if i["instruction"] in ("CMD", "ENTRYPOINT")]
    return found[-1] if found else None


def exec_args(instruction: dict) -> list[str] | None:
    try:
        value = json.loads(instruction["value"])
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def line(i: dict) -> str:
    return f"line {i['startline'] + 1}: {i['instruction']} {i['value'][:60]}"


def unhashed(requirements: str) -> list[str]:
    """The requirement lines (continuations joined) that pin no version or carry no hash."""
    joined = re.sub(r"\\\n", " ", requirements)
    lines = [ln.split("#", 1)[0].strip() for ln in joined.splitlines()]
    wanted = [ln for ln in lines if ln and not ln.startswith("-")]
    return [f"{ln.split()[0]} has no " + ("== pin" if "==" not in ln else "--hash")
            for ln in wanted if "==" not in ln or "--hash=" not in ln]  # fmt: skip


def docker_build(context_dir, tag: str) -> tuple[bool, float, list[str]]:
    command = ["docker", "build", "--progress=plain", "--label", f"{LABEL}=lab03", "-t", tag, "."]
    ca = os.environ.get("WORKSHOP_BUILD_CA")
    if ca:
        command[2:2] = ["--secret", f"id=ca-bundle,src={ca}"]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    started = time.monotonic()
    output: list[str] = []
    with ui.waiting(f"docker build -t {tag}", BUILD_TIMEOUT):
        process = subprocess.Popen(command, cwd=context_dir, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)  # fmt: skip
        assert process.stdout is not None
        for text in process.stdout:
            output.append(text.rstrip())
            if re.match(r"#\d+ \[[^\]]+\] ", text):  # a new build step: show it
                ui.progress(text.strip()[:100])
        process.wait(BUILD_TIMEOUT)
    return process.returncode == 0, time.monotonic() - started, output


def remove_image(docker_client, tag):
    def remove():
        docker_client.images.remove(tag, force=True)

    return remove


def built(image):
    if "error" in image:
        raise Needs("an image that builds (see the build check)")
    return image


def serving(container):
    if "error" in container:
        raise Needs("a container that starts (see the container check)")
    return container


def daemon_now(docker_client) -> float:
    """The Docker daemon's clock (a VM's clock on Docker Desktop), in Unix seconds."""
    from datetime import UTC, datetime

    stamp = docker_client.info()["SystemTime"][:19]
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def bytes_made_since(docker_image, since: float) -> int:
    """Bytes of the image's layers that were built, not taken from the cache, after `since`.

    A cache hit keeps the creation time of the build that first made the layer.
    """
    return sum(h["Size"] for h in docker_image.history() if h["Created"] >= since - 1)
