"""Lab 08: the service's GitHub Actions workflow, linted, validated against the
workflow schema, read for the pipeline's rules, and its lint and test commands
run here."""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

from checker.command import ui
from checker.outcomes import Fail, Soft, expect
from checker.upkeep.versions import pins

import harness


def test_workflow_valid(workflow):
    """The workflow file exists and is valid YAML with jobs"""
    ui.progress(f"jobs: {', '.join(workflow['jobs'])}")


def test_workflow_schema(workflow, workflow_path):
    """The workflow matches GitHub's workflow schema"""
    done = harness.run_tool([harness.bin_tool("check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", "--output-format", "text",
                             str(workflow_path)])  # fmt: skip
    if done.returncode == 0:
        return
    lines = [
        line.strip()
        for line in done.stdout.splitlines()
        if line.strip().startswith(str(workflow_path))
    ]
    problems = [line.replace(str(workflow_path), harness.WORKFLOW) for line in lines][:6]
    raise Fail(
        "; ".join(problems) or done.stdout.strip()[-300:],
        'a valid workflow: each step is a list item starting with "- "',
    )


def test_actionlint(workflow, workflow_path):
    """actionlint finds nothing"""
    done = harness.run_tool(
        [harness.bin_tool("actionlint"), "-no-color", "-oneline", str(workflow_path)]
    )
    problems = [
        line.replace(str(workflow_path), harness.WORKFLOW) for line in done.stdout.splitlines()
    ]
    expect(done.returncode == 0, "; ".join(problems[:5]) or done.stderr.strip()[:300],
           "no actionlint findings")  # fmt: skip


def test_jobs_ordered(workflow):
    """Jobs run in order through needs: test, then build, then e2e, then deploy"""
    order = [
        ("test", "runs pytest"),
        ("build", "builds the image"),
        ("e2e", "creates a kind cluster"),
        ("deploy", "deploys to an environment"),
    ]
    names = [harness.required_job(workflow, role, what)[0] for role, what in order]
    soft = Soft()
    for earlier, later in itertools.pairwise(names):
        soft.check(
            earlier in harness.needs_of(workflow, later),
            f"job {later} does not wait for {earlier}",
            f"{later}: needs: {earlier} (directly or through another job)",
        )
    soft.raise_if_any()


def test_jobs_bounded(workflow):
    """Every job has a timeout-minutes of its own, below GitHub's six hours"""
    soft = Soft()
    for name, job in workflow["jobs"].items():
        if not isinstance(job, dict) or "uses" in job:  # a called workflow sets its own
            continue
        limit = job.get("timeout-minutes")
        set_ = isinstance(limit, int | float) and not isinstance(limit, bool)
        soft.check(
            set_ and 0 < limit < harness.GITHUB_TIMEOUT_MINUTES,
            f"job {name}: timeout-minutes: {limit}"
            if limit is not None
            else f"job {name}: no timeout-minutes",
            f"timeout-minutes between 1 and {harness.GITHUB_TIMEOUT_MINUTES - 1}",
        )
    soft.raise_if_any()


def test_image_tag_sha(workflow):
    """The image is tagged with the commit SHA, not only latest"""
    _, job = harness.required_job(workflow, "build", "builds the image")
    text = harness.job_text(job)
    # Every ghcr.io reference that names a tag, and any tags: input of an action.
    tagged = [ref for ref in re.findall(r"ghcr\.io/[^\s\"']+", text) if ":" in ref.split("/")[-1]]
    tagged += [
        str(s["with"]["tags"]) for s in harness.steps(job) if "tags" in (s.get("with") or {})
    ]
    expect(
        tagged and all(harness.SHA.search(ref) for ref in tagged),
        f"tags: {', '.join(tagged)}" if tagged else "no image tag found in the build job",
        "ghcr.io/<owner>/<repo>:${{ github.sha }}: every image traces back to one commit",
    )


def test_no_credentials(workflow, workflow_path):
    """No credential is written in the file: tokens come from secrets or the run's token"""
    soft = Soft()
    for number, line in enumerate(workflow_path.read_text(encoding="utf-8").splitlines(), 1):
        if harness.TOKEN_SHAPES.search(line):
            soft.check(
                False,
                f"{harness.WORKFLOW}:{number}: a token in the file",
                "${{ secrets.GITHUB_TOKEN }}",
            )
    for name, job in workflow["jobs"].items():
        for step in harness.steps(job if isinstance(job, dict) else {}):
            for key, value in (step.get("with") or {}).items():
                literal = isinstance(value, str) and value and "${{" not in value
                soft.check(
                    not (key.lower() in harness.SECRET_KEYS and literal),
                    f"job {name}: with.{key} is written out",
                    f"{key}: ${{{{ secrets.GITHUB_TOKEN }}}} (or another secret)",
                )
    soft.raise_if_any()


def test_permissions_declared(workflow):
    """Least privilege: read-only permissions at the top, writes only in the job that pushes"""
    top = workflow.get("permissions")
    soft = Soft()
    soft.check(top is not None, "no top-level permissions:",
               "permissions: {contents: read} at the top")  # fmt: skip
    soft.check(
        not harness.grants_write(top), f"top-level permissions: {top}", "only read at the top"
    )
    pushers = harness.pushing_jobs(workflow)
    for name, job in pushers.items():
        granted = job.get("permissions") or {}
        soft.check(
            isinstance(granted, dict) and granted.get("packages") == "write",
            f"job {name} pushes with permissions: {granted or 'none'}",
            "packages: write on the job that pushes to ghcr.io",
        )
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions") if isinstance(job, dict) else None
        if name not in pushers and isinstance(granted, dict) and granted.get("packages") == "write":
            soft.check(False, f"job {name} holds packages: write but pushes nothing",
                       "packages: write only on the job that pushes",
                       hint="drop packages: write from the jobs that do not push: a job "
                       "that runs your tests should not hold a token that can replace images",
                       )  # fmt: skip
    for name, step in harness.checkouts(workflow):
        kept = (step.get("with") or {}).get("persist-credentials", True)
        soft.check(kept is False or str(kept).lower() == "false",
                   f"job {name}: {step['uses'].split('@')[0]} keeps its token in .git/config",
                   "persist-credentials: false on every checkout",
                   hint="add with: persist-credentials: false to each actions/checkout: "
                   "otherwise every later step, yours or an action's, "
                   "can read its token")  # fmt: skip
    soft.raise_if_any()


def test_push_after_e2e(workflow):
    """The image is pushed only after e2e passed, and deploy waits for that push"""
    e2e, _ = harness.required_job(workflow, "e2e", "creates a kind cluster")
    pushers = harness.pushing_jobs(workflow)
    expect(pushers, "no job pushes the image", "a push job: needs: [build, e2e]",
           hint="add a push job with needs: [build, e2e] that loads the tested image "
           "and pushes it (README → Step 3)")  # fmt: skip
    soft = Soft()
    for name in pushers:
        soft.check(
            e2e in harness.needs_of(workflow, name),
            f"job {name} pushes without waiting for {e2e}: an image that fails end to end "
            "still reaches the registry",
            f"{name}: needs: [build, {e2e}]",
        )
    deploy = harness.find_job(workflow, "deploy")
    if deploy:
        missing = [name for name in pushers if name not in harness.needs_of(workflow, deploy[0])]
        soft.check(not missing, f"job {deploy[0]} does not wait for {', '.join(missing)}",
                   f"{deploy[0]}: needs: [{e2e}, {', '.join(pushers)}]",
                   hint="deploy needs the push job: the image must be in the registry, and "
                   "its digest comes from the push job's output")  # fmt: skip
    soft.raise_if_any()


def test_build_cached(workflow):
    """The build reuses a layer cache, and the image travels between jobs compressed"""
    name, job = harness.required_job(workflow, "build", "builds the image")
    text = harness.job_text(job)
    soft = Soft()
    soft.check(
        harness.LAYER_CACHE.search(text),
        f"job {name} builds every layer from scratch on each run",
        "docker buildx build --cache-from/--cache-to with an actions/cache directory",
        hint="restore a layer cache with actions/cache and pass --cache-from and --cache-to "
        "type=local to docker buildx build (README → Step 3)",
    )
    saves = re.search(r"docker (image )?save|type=docker,dest=|type=oci,dest=", text)
    soft.check(
        not saves or harness.COMPRESSED.search(text),
        f"job {name} uploads the image as a plain tar (about 600 MB)",
        "the archive compressed: zstd -T0 -3, about a quarter of the size",
        hint="compress the image archive with zstd before upload-artifact, and decompress it "
        "with zstd -dc | docker load where it is used",
    )
    soft.raise_if_any()


def test_deploy_secrets(workflow):
    """The deploy job creates the API-key Secret and the cluster's pull credentials"""
    name, job = harness.required_job(workflow, "deploy", "deploys to an environment")
    text = "\n".join(harness.runs(job))
    env_text = str(job.get("env") or "") + "".join(
        str(s.get("env") or "") for s in harness.steps(job)
    )
    soft = Soft()
    soft.check(
        re.search(r"create secret generic\s+diabetes-api-key", text),
        f"job {name} creates no diabetes-api-key Secret: the first pod would not start",
        "kubectl create secret generic diabetes-api-key ... | kubectl apply -f -",
        hint="create the API-key Secret from an environment secret, with --dry-run=client "
        "-o yaml | kubectl apply -f - so that every deploy may run it (README → Step 5)",
    )
    soft.check(
        re.search(r"create secret docker-registry", text) and re.search(r"imagePullSecrets", text),
        f"job {name} gives the cluster no credentials to pull from ghcr.io",
        "a docker-registry Secret from a read-only token, named in imagePullSecrets",
        hint="create a docker-registry Secret from a packages:read token (an environment "
        "secret) and patch it into the ServiceAccount's imagePullSecrets: the run's own "
        "token expires with the run",
    )
    soft.check(
        "secrets." in env_text,
        f"job {name} takes no value from secrets:",
        "the API key and the pull token from environment secrets",
    )
    soft.raise_if_any()


def test_pull_requests_safe(workflow, workflow_path):
    """Code from a pull request runs without secrets or write access, and pushes nothing"""
    soft = Soft()
    on = harness.triggers(workflow)
    soft.check(
        "pull_request_target" not in on,
        "on: pull_request_target (the pull request's code would run with this repository's"
        " secrets and write token)",
        "on: pull_request",
        hint="trigger on pull_request, never pull_request_target: GitHub's hardening guide",
    )
    lines = workflow_path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if found := harness.UNTRUSTED.search(line):
            soft.check(
                False,
                f"{harness.WORKFLOW}:{number}: {found.group(0)} }}}} in the file",
                'untrusted input through env:, then "$VAR" in the script',
                hint='pass the pull request\'s text through env: and quote "$VAR": a title '
                "written inside run: is run as code",
            )
    if "pull_request" in on or "pull_request_target" in on:
        for name, job in workflow["jobs"].items():
            job = job if isinstance(job, dict) else {}
            for step in harness.steps(job):
                if harness.pushes(step):
                    soft.check(
                        harness.guarded_from_pull_requests(job.get("if"), step.get("if")),
                        f"job {name}: step '{step.get('name', step.get('uses', 'push'))}' pushes"
                        " on pull requests too",
                        "if: github.event_name != 'pull_request' on the push",
                        hint="guard the push with if: github.event_name != 'pull_request': an"
                        " image built from a pull request must never reach the registry",
                    )
    soft.raise_if_any()


def test_actions_pinned(workflow, workflow_path):
    """Every action is pinned by a full commit SHA, with its version in a comment"""
    soft = Soft()
    for number, line in enumerate(workflow_path.read_text(encoding="utf-8").splitlines(), 1):
        found = re.match(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", line)
        if not found or found.group(1).startswith(("./", "docker://")):
            continue
        action = found.group(1).strip("'\"")
        soft.check(
            harness.PINNED.match(action) and harness.VERSION_COMMENT.search(line),
            f"{harness.WORKFLOW}:{number}: {action}",
            "owner/action@<40-character commit SHA> # vX.Y.Z",
        )
    soft.raise_if_any()


def test_actions_runtime(workflow, workflow_path):
    """No action is pinned to a release on the retired node20 runtime"""
    soft = Soft()
    for number, action, line in harness.pinned_actions(workflow_path):
        name, _, ref = action.partition("@")
        since = harness.NODE24_SINCE.get(name)
        wanted = f"{name} v{'.'.join(map(str, since or ()))} or later (node24)"
        if ref in harness.NODE20_SHAS:
            soft.check(
                False,
                f"{harness.WORKFLOW}:{number}: {harness.NODE20_SHAS[ref]}, a node20 release",
                wanted,
            )
            continue
        version = harness.VERSION.search(line)
        if since and version:
            found = tuple(int(part or 0) for part in version.groups())
            shown = ".".join(map(str, found))
            soft.check(found >= since,
                       f"{harness.WORKFLOW}:{number}: {name} v{shown} runs on node20",
                       wanted)  # fmt: skip
    soft.raise_if_any()


def test_kind_versions(workflow):
    """kind-action creates the cluster with the workshop's kind, kubectl and node image"""
    name, job = harness.required_job(workflow, "e2e", "creates a kind cluster")
    action = [
        s for s in harness.steps(job) if str(s.get("uses", "")).startswith("helm/kind-action@")
    ]
    if not action:
        ui.progress(f"job {name} creates its cluster without helm/kind-action")
        return
    given = action[0].get("with") or {}
    wanted = {"version": "KIND_VERSION", "kubectl_version": "KUBECTL_VERSION",
              "node_image": "KIND_NODE_IMAGE"}  # fmt: skip
    values = pins()
    soft = Soft()
    for key, pin in wanted.items():
        value = str(given.get(key, ""))
        if not value:
            soft.check(False, f"job {name}: kind-action without {key}: (its own default ages)",
                       f"{key}: the workshop's {pin} ({values[pin]})")  # fmt: skip
        elif "${{" not in value:
            soft.check(value == values[pin], f"job {name}: {key}: {value}",
                       f"{key}: {values[pin]} (the workshop's {pin})")  # fmt: skip
    soft.raise_if_any()


def test_e2e_runs_checker(workflow):
    """The e2e job deploys to kind, runs the workshop's checker, and keeps logs on failure"""
    name, job = harness.required_job(workflow, "e2e", "creates a kind cluster")
    commands = "\n".join(harness.runs(job))
    soft = Soft()
    soft.check(
        re.search(r"check-lab\s+(N=)?[4-9]", commands),
        f"job {name} runs no make check-lab",
        "make check-lab 5 as the acceptance test",
    )
    soft.check("kind load" in commands, f"job {name} does not load the image into kind",
               "kind load docker-image")  # fmt: skip
    on_failure = [s for s in harness.steps(job) if "failure()" in str(s.get("if", ""))]
    soft.check(
        any("kind export logs" in str(s.get("run", "")) for s in on_failure)
        and any("upload-artifact" in str(s.get("uses", "")) for s in on_failure),
        "no logs kept when it fails",
        "if: failure() steps: kind export logs, then actions/upload-artifact",
    )
    ref = harness.workshop_ref(workflow, job)
    soft.check(
        ref is None or re.fullmatch(r"[0-9a-f]{40}|v\d+(\.\d+)*", ref),
        f"job {name} checks out the workshop at '{ref}', a moving branch",
        "a fixed commit SHA (or a release tag)",
        hint="set WORKSHOP_REF to the workshop's commit SHA: a branch changes the test under you",
    )
    soft.raise_if_any()


def test_deploy_guarded(workflow):
    """Deploy waits for a protected environment, is off by default, and runs one at a time"""
    name, job = harness.required_job(workflow, "deploy", "deploys to an environment")
    condition = str(job.get("if", ""))
    soft = Soft()
    soft.check(
        "vars." in condition or condition.strip() in ("false", "${{ false }}"),
        f"job {name} if: {condition or 'none'}",
        "if: ... && vars.DEPLOY_ENABLED == 'true' (off until you switch it on)",
    )
    own = job.get("concurrency")
    soft.check(own, f"job {name} has no concurrency group: two deploys can overlap",
               "concurrency: {group: deploy-production, cancel-in-progress: false}")  # fmt: skip
    if isinstance(own, dict):
        soft.check(str(own.get("cancel-in-progress", False)).lower() == "false",
                   f"job {name}: cancel-in-progress: {own.get('cancel-in-progress')} stops a "
                   "deploy half-way", "cancel-in-progress: false")  # fmt: skip
    top = workflow.get("concurrency")
    group = str(top.get("group", "") if isinstance(top, dict) else top or "")
    soft.check(
        not top or "run_id" in group,
        f"top-level concurrency group {group!r}: on main a deploy waiting for approval holds "
        "it, and newer runs are held or cancelled",
        "concurrency on the deploy job; at the top only per pull request (else github.run_id)",
    )
    soft.raise_if_any()


def test_lint_and_tests_pass_here(workflow, lab_dir):
    """The workflow's lint and test commands pass on this folder"""
    _, job = harness.required_job(workflow, "test", "runs pytest")
    commands = harness.local_commands(job)
    expect(commands, "no ruff or pytest command in the test job", "ruff check ... and pytest")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    soft = Soft()
    for command in commands:
        ui.progress(f"running: {command}")
        done = subprocess.run(command, shell=True, cwd=lab_dir, env=env, capture_output=True,
                              text=True, timeout=300, check=False)  # fmt: skip
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        soft.check(done.returncode == 0, f"{command}: exit {done.returncode}: {' / '.join(tail)}",
                   "exit 0")  # fmt: skip
    soft.raise_if_any()
