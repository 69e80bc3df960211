"""Lab 03: the Dockerfile, read by a real parser, then built and run on a real Docker engine."""

import json
import os
import re
import secrets
import shutil
import subprocess
import time

import httpx
import pytest

from checker import Fail, Needs, NotRun, Soft, Stop, artifact, expect, procs, ui
from checker.artifact import FEATURES
from checker.procs import free_port

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


# -- static checks ----------------------------------------------------------------------
def test_no_smart_characters(dockerfile_path):
    """The Dockerfile has no smart quotes or typographic dashes"""
    problems = []
    for number, text in enumerate(dockerfile_path.read_text(encoding="utf-8").splitlines(), 1):
        for char, name in BAD_CHARS.items():
            if char in text:
                problems.append(f"{name} on line {number}: {text.strip()[:60]}")
    expect(not problems, "; ".join(problems), "plain ASCII: -- for options, ' and \" for quotes")


def test_hadolint(dockerfile_path):
    """hadolint finds no errors"""
    binary = shutil.which("hadolint") or shutil.which("hadolint", path=os.path.dirname(
        os.sys.executable))  # fmt: skip
    if binary is None:
        raise Stop("hadolint is not installed", detail="run make setup")
    done = subprocess.run([binary, "--format", "json", "--no-fail", str(dockerfile_path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError:
        raise Fail(
            f"hadolint could not read it: {done.stderr.strip()[:120]}", "a valid Dockerfile"
        ) from None
    for finding in findings:
        if finding["level"] != "error":
            ui.progress(
                f"hadolint {finding['level']} {finding['code']} on line "
                f"{finding['line']}: {finding['message']}"
            )
    errors = [
        f"{f['code']} line {f['line']}: {f['message']}" for f in findings if f["level"] == "error"
    ]
    expect(not errors, "; ".join(errors), "no hadolint errors")


def test_multi_stage(parsed):
    """A builder stage makes the wheels; the final stage has no build tools"""
    all_stages = stages(parsed)
    soft = Soft()
    soft.check(
        len(all_stages) >= 2, f"{len(all_stages)} stage", "a builder stage and a final stage"
    )
    tools = re.compile(r"\b(build-essential|gcc|g\+\+|make|clang|python3-dev|libc6-dev)\b")
    for instruction in final_stage(parsed):
        if instruction["instruction"] == "RUN" and tools.search(instruction["value"]):
            soft.check(
                False,
                f"build tools installed in the final stage ({line(instruction)})",
                "compilers only in the builder stage",
            )
    soft.raise_if_any()


def test_base_pinned(parsed):
    """Every base image is pinned by version tag"""
    soft = Soft()
    names = {i["value"].split()[-1].lower() for i in parsed.structure
             if i["instruction"] == "FROM" and " as " in i["value"].lower()}  # fmt: skip
    for image in parsed.parent_images:
        if image.lower() in names or image == "scratch":
            continue
        tag = image.split("@")[0].rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        soft.check(
            tag and tag != "latest" and re.search(r"\d", tag),
            f"FROM {image}",
            "a versioned tag such as python:3.11.14-slim-bookworm",
        )
    soft.raise_if_any()


def unhashed(requirements: str) -> list[str]:
    """The requirement lines (continuations joined) that pin no version or carry no hash."""
    joined = re.sub(r"\\\n", " ", requirements)
    lines = [ln.split("#", 1)[0].strip() for ln in joined.splitlines()]
    wanted = [ln for ln in lines if ln and not ln.startswith("-")]
    return [f"{ln.split()[0]} has no " + ("== pin" if "==" not in ln else "--hash")
            for ln in wanted if "==" not in ln or "--hash=" not in ln]  # fmt: skip


def test_requirements_hashed(parsed, lab_dir):
    """Every dependency is pinned with its hashes, and pip installs with --require-hashes"""
    soft = Soft()
    path = lab_dir / "requirements.txt"
    if soft.check(path.is_file(), "no requirements.txt", "requirements.txt from make labs-sync"):
        loose = unhashed(path.read_text(encoding="utf-8", errors="replace"))
        soft.check(not loose, f"requirements.txt: {'; '.join(loose[:4])}",
                   "every line name==version --hash=sha256:…",
                   hint="never edit requirements.txt by hand: add the package to uv.lock (uv add),"
                   " then make labs-sync exports it with its hashes")  # fmt: skip
    installs = [i for i in parsed.structure if is_install(i) and "requirements" in i["value"]]
    for each in installs:
        soft.check("--require-hashes" in each["value"],
                   f"line {each['startline'] + 1}: pip reads requirements.txt without"
                   " --require-hashes",
                   "pip wheel --require-hashes -r requirements.txt (or pip install)")  # fmt: skip
    soft.check(installs, "no pip step reads requirements.txt", "pip wheel -r requirements.txt")
    soft.raise_if_any()


def test_layer_order(parsed):
    """Dependencies are installed before the application code is copied"""
    soft = Soft()
    for stage in stages(parsed):
        installs = [n for n, i in enumerate(stage) if is_install(i)]
        code = [n for n, i in enumerate(stage) if is_code_copy(i)]
        if installs and code and min(code) < max(installs):
            soft.check(
                False,
                f"{line(stage[min(code)])} comes before {line(stage[max(installs)])}",
                "COPY requirements.txt, install, and only then COPY the code",
            )
    soft.raise_if_any()


def test_non_root_user(parsed):
    """The final stage runs as a non-root user with a numeric UID"""
    users = [i for i in final_stage(parsed) if i["instruction"] == "USER"]
    expect(users, "no USER instruction (the container runs as root)", "USER 10001:10001")
    user = users[-1]["value"].split(":")[0].strip()
    expect(
        user.isdigit() and user != "0",
        f"USER {users[-1]['value']}",
        "a numeric UID other than 0, so Kubernetes can verify runAsNonRoot",
    )
    # The code and the model stay root's: the app user reads them and cannot
    # rewrite them, even if the service is taken over.
    given = [i for i in final_stage(parsed) if i["instruction"] in ("COPY", "ADD")
             and re.search(rf"--chown=(?:{re.escape(user)}|app)\b", i["value"])]  # fmt: skip
    expect(
        not given,
        f"line {given[0]['startline'] + 1}: {line(given[0])}" if given else "",
        "COPY without --chown: root owns the code and model, the app user only reads them",
        hint="drop --chown from COPY app/ and models/: the user that runs the code must not own it",
    )


def test_exec_form_cmd(parsed):
    """CMD or ENTRYPOINT is in exec form, so uvicorn is PID 1 and gets SIGTERM"""
    cmd = cmd_of(final_stage(parsed))
    expect(cmd is not None, "no CMD or ENTRYPOINT", 'CMD ["uvicorn", ...]')
    expect(
        exec_args(cmd) is not None, f"shell form: {line(cmd)}", 'exec form: CMD ["uvicorn", ...]'
    )


def test_graceful_shutdown(parsed):
    """uvicorn's graceful-shutdown timeout is set"""
    cmd = cmd_of(final_stage(parsed))
    text = cmd["value"] if cmd else ""
    expect(
        "--timeout-graceful-shutdown" in text,
        text[:80] or "no CMD",
        "--timeout-graceful-shutdown in the uvicorn command",
    )


def test_no_secrets(parsed):
    """No secret is set with ENV or ARG"""
    leaks = []
    for instruction in parsed.structure:
        if instruction["instruction"] in ("ENV", "ARG"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\S", instruction["value"]):
                if SECRET_NAME.search(name):
                    leaks.append(f"{instruction['instruction']} {name} ({line(instruction)})")
    expect(not leaks, "; ".join(leaks), "secrets passed at run time (env, Secret), not baked in")


def test_oci_labels(parsed):
    """The image carries the OCI labels source, revision and version"""
    missing = [key for key in OCI if not parsed.labels.get(key)]
    expect(not missing, f"missing {missing}", "LABEL " + ", ".join(OCI))


def test_port_matches(parsed):
    """EXPOSE names the port that uvicorn binds"""
    stage = final_stage(parsed)
    exposed = [
        p.split("/")[0] for i in stage if i["instruction"] == "EXPOSE" for p in i["value"].split()
    ]
    cmd = cmd_of(stage)
    args = exec_args(cmd) if cmd else None
    port = args[args.index("--port") + 1] if args and "--port" in args[:-1] else "8000"
    expect(
        port in exposed,
        f"EXPOSE {' '.join(exposed) or '(none)'}, uvicorn --port {port}",
        "EXPOSE and --port naming the same port",
    )


def test_model_included(parsed, lab_dir):
    """The model artifact is copied into the image"""
    copies = [i for i in parsed.structure if i["instruction"] in ("COPY", "ADD")]
    covered = any(MODEL_SOURCE.search(sources_of(i)) for i in copies)
    ignore = lab_dir / ".dockerignore"
    ignored = ignore.is_file() and any(
        ln.strip().rstrip("/") in ("models", "*.skops", "models/*")
        for ln in ignore.read_text().splitlines()
    )
    expect(
        covered and not ignored,
        "models/ is excluded by .dockerignore" if ignored else "no COPY brings in models/",
        "COPY models/ ./models/",
    )


def test_dockerignore(lab_dir):
    """.dockerignore keeps .git, virtual environments, caches, notebooks and tests out"""
    path = lab_dir / ".dockerignore"
    expect(path.is_file(), "no .dockerignore", "a .dockerignore next to the Dockerfile")
    entries = {ln.strip().strip("/").removeprefix("**/") for ln in path.read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}  # fmt: skip
    wanted = {".git": {".git"}, "a virtual environment": {".venv", "venv"},
              "Python caches": {"__pycache__", "*.pyc"}, "notebooks": {"notebooks", "*.ipynb"},
              "tests": {"tests"}}  # fmt: skip
    missing = [name for name, options in wanted.items() if not entries & options]
    expect(not missing, f"not ignored: {', '.join(missing)}", "all of " + ", ".join(wanted))


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


@pytest.fixture(scope="session")
def image(docker_client, context):
    tag = f"workshop-lab03:check-{secrets.token_hex(4)}"
    procs.on_cleanup(remove_image(docker_client, tag))
    ok, seconds, output = docker_build(context, tag)
    if not ok:
        return {"error": "\n".join(output[-12:])}
    built = docker_client.images.get(tag)
    return {"tag": tag, "image": built, "seconds": seconds}


def built(image):
    if "error" in image:
        raise Needs("an image that builds (see the build check)")
    return image


def test_image_builds(image):
    """The image builds"""
    if "error" in image:
        raise Fail("docker build failed", "a successful build", detail=procs.indent(image["error"]))
    size_mb = image["image"].attrs["Size"] / 1e6
    ui.progress(f"built in {image['seconds']:.1f} s, {size_mb:.0f} MB")


def test_image_config(image):
    """The image runs as a non-root user and carries its labels"""
    config = built(image)["image"].attrs["Config"]
    soft = Soft()
    user = (config.get("User") or "").split(":")[0]
    soft.check(user not in ("", "0", "root"), f"User = {user or '(empty: root)'}", "a non-root UID")
    labels = config.get("Labels") or {}
    missing = [k for k in OCI if not labels.get(k)]
    soft.check(not missing, f"labels missing {missing}", "the OCI labels")
    soft.raise_if_any()


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


def serving(container):
    if "error" in container:
        raise Needs("a container that starts (see the container check)")
    return container


def test_container_serves(container, lab_dir):
    """The container serves /healthz, /readyz and /predict with a read-only root filesystem"""
    if "error" in container:
        raise Fail(
            "run with --read-only --tmpfs /tmp --cap-drop ALL, it did not answer /healthz",
            "a running service",
            detail=container["error"],
        )
    url = container["url"]
    soft = Soft()
    deadline = time.monotonic() + 20
    while httpx.get(url + "/readyz", timeout=5).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    ready = httpx.get(url + "/readyz", timeout=5).status_code
    soft.check(ready == 200, f"/readyz → {ready}", "/readyz 200: the model is in the image")
    response = httpx.post(url + "/predict", json=ROW, timeout=10)
    if soft.check(
        response.status_code == 200, f"/predict → HTTP {response.status_code}", "HTTP 200"
    ):
        model = artifact.load(lab_dir / "models" / "diabetes-rf.skops")
        [expected] = artifact.predict(model, [ROW])
        got = response.json().get("prediction")
        soft.check(
            isinstance(got, float) and abs(got - expected) <= 1e-9,
            f"prediction {got}",
            f"{expected}, as the model predicts",
        )
    soft.raise_if_any()


def test_process_uid(container):
    """The service's process does not run as UID 0"""
    running = serving(container)["container"]
    top = running.top(ps_args="-o pid,uid,comm")  # Docker needs the pid column
    column = top["Titles"].index("UID")
    uids = [row[column] for row in top.get("Processes") or []]
    expect(uids and "0" not in uids, f"process UIDs {uids}", "no process with UID 0")


def test_no_compiler(container):
    """No compiler or build tool is in the final image"""
    running = serving(container)["container"]
    probe = f"import json, shutil; print(json.dumps([t for t in {COMPILERS!r} if shutil.which(t)]))"
    result = running.exec_run(["python", "-c", probe])
    found = (
        json.loads(result.output.decode() or "[]") if result.exit_code == 0 else ["(probe failed)"]
    )
    expect(not found, f"found {found}", "none of " + ", ".join(COMPILERS))


def test_stop_time(container):
    """docker stop returns quickly: PID 1 handles SIGTERM"""
    running = serving(container)["container"]
    started = time.monotonic()
    # Docker's SIGKILL comes just past the budget: waiting out its default 10 s would
    # tell nothing more, and the exit code says which stop it was.
    running.stop(timeout=KILL_AFTER_S)
    elapsed = time.monotonic() - started
    running.reload()
    code = running.attrs["State"]["ExitCode"]
    ui.progress(f"docker stop took {elapsed:.1f} s, exit code {code}")
    wanted = f"under {STOP_BUDGET_S:.0f} s: PID 1 handles SIGTERM and exits"
    if elapsed >= STOP_BUDGET_S and code == 137:  # 128 + SIGKILL
        raise Fail(f"{elapsed:.1f} s, exit code 137: SIGTERM was ignored and Docker killed it "
                   f"after {KILL_AFTER_S} s", wanted)  # fmt: skip
    expect(
        elapsed < STOP_BUDGET_S,
        f"{elapsed:.1f} s, exit code {code}: the process got SIGTERM and exited by itself, slowly",
        wanted,
        hint="uvicorn drains open requests for --timeout-graceful-shutdown seconds: keep it at "
        "5 or less, and look for work at shutdown that blocks",
    )


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


def test_rebuild_cache(docker_client, image, context):
    """A code-only change rebuilds in seconds, reusing the dependency layers"""
    first = built(image)
    with (context / "app" / "main.py").open("a", encoding="utf-8") as handle:
        # Unique each run: a change the cache has seen before would not test it.
        handle.write(f"\n# a code-only change made by the checker: {secrets.token_hex(8)}\n")
    tag = first["tag"] + "-rebuild"
    procs.on_cleanup(remove_image(docker_client, tag))
    started = daemon_now(docker_client)
    ok, seconds, output = docker_build(context, tag)
    expect(ok, "the rebuild failed", "a successful rebuild", detail="\n".join(output[-6:]))
    second = docker_client.images.get(tag)
    rebuilt, total = bytes_made_since(second, started), second.attrs["Size"]
    ui.progress(
        f"code-only rebuild: {seconds:.1f} s, rebuilt {rebuilt / 1e6:.1f} MB of "
        f"{total / 1e6:.0f} MB (first build {first['seconds']:.1f} s)"
    )
    expect(
        rebuilt <= REBUILT_BUDGET * total,
        f"a code change rebuilt {rebuilt / 1e6:.0f} MB of {total / 1e6:.0f} MB",
        "only the code layers (the dependencies come from the cache)",
    )
