"""Lab 03: the Dockerfile, read by a real parser, then built and run on a real Docker engine."""

import json
import os
import re
import secrets
import shutil
import subprocess
import time

import httpx

from checker import Fail, Soft, Stop, expect
from checker.command import ui
from checker.processes import artifact, procs

import harness


# -- static checks ----------------------------------------------------------------------
def test_no_smart_characters(dockerfile_path):
    """The Dockerfile has no smart quotes or typographic dashes"""
    problems = []
    for number, text in enumerate(dockerfile_path.read_text(encoding="utf-8").splitlines(), 1):
        for char, name in harness.BAD_CHARS.items():
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
    all_stages = harness.stages(parsed)
    soft = Soft()
    soft.check(
        len(all_stages) >= 2, f"{len(all_stages)} stage", "a builder stage and a final stage"
    )
    tools = re.compile(r"\b(build-essential|gcc|g\+\+|make|clang|python3-dev|libc6-dev)\b")
    for instruction in harness.final_stage(parsed):
        if instruction["instruction"] == "RUN" and tools.search(instruction["value"]):
            soft.check(
                False,
                f"build tools installed in the final stage ({harness.line(instruction)})",
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
        versioned = tag and tag != "latest" and re.search(r"\d", tag)
        if not soft.check(versioned, f"FROM {image}",
                          "a versioned tag such as python:3.11.14-slim-bookworm"):  # fmt: skip
            continue
        # 3.11-slim names a version, but not one release: it moves with each patch.
        soft.check("@sha256:" in image or harness.FULL_VERSION.search(tag),
                   f"FROM {image}: a floating tag, a new image with every patch release",
                   "the full version (python:3.11.14-slim-bookworm), or a digest",
                   hint="pin the patch release too, python:3.11.14-slim-bookworm: "
                   "python:3.11-slim is re-pushed with every 3.11.x")  # fmt: skip
    soft.raise_if_any()


def test_requirements_hashed(parsed, lab_dir):
    """Every dependency is pinned with its hashes, and pip installs with --require-hashes"""
    soft = Soft()
    path = lab_dir / "requirements.txt"
    if soft.check(path.is_file(), "no requirements.txt", "requirements.txt from make labs-sync"):
        loose = harness.unhashed(path.read_text(encoding="utf-8", errors="replace"))
        soft.check(not loose, f"requirements.txt: {'; '.join(loose[:4])}",
                   "every line name==version --hash=sha256:…",
                   hint="never edit requirements.txt by hand: add the package to uv.lock (uv add),"
                   " then make labs-sync exports it with its hashes")  # fmt: skip
    installs = [
        i for i in parsed.structure if harness.is_install(i) and "requirements" in i["value"]
    ]
    for each in installs:
        soft.check("--require-hashes" in each["value"],
                   f"line {each['startline'] + 1}: pip reads requirements.txt without"
                   " --require-hashes",
                   "pip wheel --require-hashes -r requirements.txt (or pip install)")  # fmt: skip
    soft.check(installs, "no pip step reads requirements.txt", "pip wheel -r requirements.txt")
    # A download in the Dockerfile is a dependency too: verified, or not at all.
    for each in parsed.structure:
        if each["instruction"] == "ADD" and harness.REMOTE.search(each["value"]):
            soft.check("--checksum=sha256:" in each["value"],
                       f"{harness.line(each)}: a remote ADD, never verified",
                       "every download checked: ADD --checksum=sha256:… (or a hashed install)",
                       hint="a remote ADD takes whatever the URL serves at build time: add "
                       "--checksum=sha256:<digest>, or install it from "
                       "requirements.txt")  # fmt: skip
    soft.raise_if_any()


def test_layer_order(parsed):
    """Dependencies are installed before the application code is copied"""
    soft = Soft()
    for stage in harness.stages(parsed):
        installs = [n for n, i in enumerate(stage) if harness.is_install(i)]
        code = [n for n, i in enumerate(stage) if harness.is_code_copy(i)]
        if installs and code and min(code) < max(installs):
            soft.check(
                False,
                f"{harness.line(stage[min(code)])} comes before "
                f"{harness.line(stage[max(installs)])}",
                "COPY requirements.txt, install, and only then COPY the code",
            )
    soft.raise_if_any()


def test_non_root_user(parsed):
    """The final stage runs as a non-root user with a numeric UID"""
    users = [i for i in harness.final_stage(parsed) if i["instruction"] == "USER"]
    expect(users, "no USER instruction (the container runs as root)", "USER 10001:10001")
    user = users[-1]["value"].split(":")[0].strip()
    expect(
        user.isdigit() and user != "0",
        f"USER {users[-1]['value']}",
        "a numeric UID other than 0, so Kubernetes can verify runAsNonRoot",
    )
    # The code and the model stay root's: the app user reads them and cannot
    # rewrite them, even if the service is taken over.
    given = [i for i in harness.final_stage(parsed) if i["instruction"] in ("COPY", "ADD")
             and re.search(rf"--chown=(?:{re.escape(user)}|app)\b", i["value"])]  # fmt: skip
    expect(
        not given,
        f"line {given[0]['startline'] + 1}: {harness.line(given[0])}" if given else "",
        "COPY without --chown: root owns the code and model, the app user only reads them",
        hint="drop --chown from COPY app/ and models/: the user that runs the code must not own it",
    )


def test_exec_form_cmd(parsed):
    """CMD or ENTRYPOINT is in exec form, so uvicorn is PID 1 and gets SIGTERM"""
    cmd = harness.cmd_of(harness.final_stage(parsed))
    expect(cmd is not None, "no CMD or ENTRYPOINT", 'CMD ["uvicorn", ...]')
    expect(
        harness.exec_args(cmd) is not None,
        f"shell form: {harness.line(cmd)}",
        'exec form: CMD ["uvicorn", ...]',
    )


def test_graceful_shutdown(parsed):
    """uvicorn's graceful-shutdown timeout is set"""
    cmd = harness.cmd_of(harness.final_stage(parsed))
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
                if harness.SECRET_NAME.search(name):
                    leaks.append(
                        f"{instruction['instruction']} {name} ({harness.line(instruction)})"
                    )
    expect(not leaks, "; ".join(leaks), "secrets passed at run time (env, Secret), not baked in")


def test_oci_labels(parsed):
    """The image carries the OCI labels source, revision and version"""
    missing = [key for key in harness.OCI if not parsed.labels.get(key)]
    expect(not missing, f"missing {missing}", "LABEL " + ", ".join(harness.OCI))


def test_port_matches(parsed):
    """EXPOSE names the port that uvicorn binds"""
    stage = harness.final_stage(parsed)
    exposed = [
        p.split("/")[0] for i in stage if i["instruction"] == "EXPOSE" for p in i["value"].split()
    ]
    cmd = harness.cmd_of(stage)
    args = harness.exec_args(cmd) if cmd else None
    port = args[args.index("--port") + 1] if args and "--port" in args[:-1] else "8000"
    expect(
        port in exposed,
        f"EXPOSE {' '.join(exposed) or '(none)'}, uvicorn --port {port}",
        "EXPOSE and --port naming the same port",
    )


def test_model_included(parsed, lab_dir):
    """The model artifact is copied into the image"""
    copies = [i for i in parsed.structure if i["instruction"] in ("COPY", "ADD")]
    covered = any(harness.MODEL_SOURCE.search(harness.sources_of(i)) for i in copies)
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


def test_image_builds(image):
    """The image builds"""
    if "error" in image:
        raise Fail("docker build failed", "a successful build", detail=procs.indent(image["error"]))
    size_mb = image["image"].attrs["Size"] / 1e6
    ui.progress(f"built in {image['seconds']:.1f} s, {size_mb:.0f} MB")


def test_image_config(image):
    """The image runs as a non-root user and carries its labels"""
    config = harness.built(image)["image"].attrs["Config"]
    soft = Soft()
    user = (config.get("User") or "").split(":")[0]
    soft.check(user not in ("", "0", "root"), f"User = {user or '(empty: root)'}", "a non-root UID")
    labels = config.get("Labels") or {}
    missing = [k for k in harness.OCI if not labels.get(k)]
    soft.check(not missing, f"labels missing {missing}", "the OCI labels")
    soft.raise_if_any()


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
    response = httpx.post(url + "/predict", json=harness.ROW, timeout=10)
    if soft.check(
        response.status_code == 200, f"/predict → HTTP {response.status_code}", "HTTP 200"
    ):
        model = artifact.load(lab_dir / "models" / "diabetes-rf.skops")
        [expected] = artifact.predict(model, [harness.ROW])
        got = response.json().get("prediction")
        soft.check(
            isinstance(got, float) and abs(got - expected) <= 1e-9,
            f"prediction {got}",
            f"{expected}, as the model predicts",
        )
    soft.raise_if_any()


def test_process_uid(container):
    """The service's process does not run as UID 0"""
    running = harness.serving(container)["container"]
    top = running.top(ps_args="-o pid,uid,comm")  # Docker needs the pid column
    column = top["Titles"].index("UID")
    uids = [row[column] for row in top.get("Processes") or []]
    expect(uids and "0" not in uids, f"process UIDs {uids}", "no process with UID 0")


def test_no_compiler(container):
    """No compiler or build tool is in the final image"""
    running = harness.serving(container)["container"]
    probe = (
        "import json, shutil; "
        f"print(json.dumps([t for t in {harness.COMPILERS!r} if shutil.which(t)]))"
    )
    result = running.exec_run(["python", "-c", probe])
    found = (
        json.loads(result.output.decode() or "[]") if result.exit_code == 0 else ["(probe failed)"]
    )
    expect(not found, f"found {found}", "none of " + ", ".join(harness.COMPILERS))


def test_stop_time(container):
    """docker stop returns quickly: PID 1 handles SIGTERM"""
    running = harness.serving(container)["container"]
    started = time.monotonic()
    # Docker's SIGKILL comes just past the budget: waiting out its default 10 s would
    # tell nothing more, and the exit code says which stop it was.
    running.stop(timeout=harness.KILL_AFTER_S)
    elapsed = time.monotonic() - started
    running.reload()
    code = running.attrs["State"]["ExitCode"]
    ui.progress(f"docker stop took {elapsed:.1f} s, exit code {code}")
    wanted = f"under {harness.STOP_BUDGET_S:.0f} s: PID 1 handles SIGTERM and exits"
    if elapsed >= harness.STOP_BUDGET_S and code == 137:  # 128 + SIGKILL
        raise Fail(f"{elapsed:.1f} s, exit code 137: SIGTERM was ignored and Docker killed it "
                   f"after {harness.KILL_AFTER_S} s", wanted)  # fmt: skip
    expect(
        elapsed < harness.STOP_BUDGET_S,
        f"{elapsed:.1f} s, exit code {code}: the process got SIGTERM and exited by itself, slowly",
        wanted,
        hint="uvicorn drains open requests for --timeout-graceful-shutdown seconds: keep it at "
        "5 or less, and look for work at shutdown that blocks",
    )


def test_rebuild_cache(docker_client, image, context):
    """A code-only change rebuilds in seconds, reusing the dependency layers"""
    first = harness.built(image)
    with (context / "app" / "main.py").open("a", encoding="utf-8") as handle:
        # Unique each run: a change the cache has seen before would not test it.
        handle.write(f"\n# a code-only change made by the checker: {secrets.token_hex(8)}\n")
    tag = first["tag"] + "-rebuild"
    procs.on_cleanup(harness.remove_image(docker_client, tag))
    started = harness.daemon_now(docker_client)
    ok, seconds, output = harness.docker_build(context, tag)
    expect(ok, "the rebuild failed", "a successful rebuild", detail="\n".join(output[-6:]))
    second = docker_client.images.get(tag)
    rebuilt, total = harness.bytes_made_since(second, started), second.attrs["Size"]
    ui.progress(
        f"code-only rebuild: {seconds:.1f} s, rebuilt {rebuilt / 1e6:.1f} MB of "
        f"{total / 1e6:.0f} MB (first build {first['seconds']:.1f} s)"
    )
    expect(
        rebuilt <= harness.REBUILT_BUDGET * total,
        f"a code change rebuilt {rebuilt / 1e6:.0f} MB of {total / 1e6:.0f} MB",
        "only the code layers (the dependencies come from the cache)",
    )
