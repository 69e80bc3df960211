"""Lab 08's harness: what its checks and fixtures share."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from checker.outcomes import Fail, Stop

WORKFLOW = ".github/workflows/ci.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d")
# Tokens with a recognisable shape: GitHub (classic and fine-grained), AWS, Slack.
TOKEN_SHAPES = re.compile(
    r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|AKIA[0-9A-Z]{16}|xox[bp]-[\w-]{20,})"
)
SECRET_KEYS = {"password", "token", "api-key", "api_key", "secret", "access-key", "github-token"}
TOOL_SECONDS = 120
# GitHub retired the node20 runtime in September 2026: an action pinned to an
# older release no longer runs. The first release of each on node24 (read from
# each action's action.yml at its tag), and the node20 pins we can name by SHA,
# so a version comment that lies is caught too.
NODE24_SINCE = {
    "actions/checkout": (5, 0, 0),
    "actions/setup-python": (6, 0, 0),
    "actions/upload-artifact": (6, 0, 0),
    "actions/download-artifact": (7, 0, 0),
    "helm/kind-action": (1, 14, 0),
    "actions/cache": (5, 0, 0),
}
NODE20_SHAS = {
    "330a01c490aca151604b8cf639adc76d48f6c5d4": "actions/upload-artifact v5.0.0",
    "634f93cb2916e3fdff6788551b99b062d0335ce0": "actions/download-artifact v5.0.0",
    "018cc2cf5baa6db3ef3c5f8a56943fffe632ef53": "actions/download-artifact v6.0.0",
    "a1b0e391336a6ee6713a0583f8c6240d70863de3": "helm/kind-action v1.12.0",
    "92086f6be054225fa813e0a4b13787fc9088faab": "helm/kind-action v1.13.0",
    "0057852bfaa89a56745cba8c7296529d2fc39830": "actions/cache v4.3.0",
}
VERSION = re.compile(r"#\s*v(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def bin_tool(name: str) -> str:
    """A tool installed beside this Python (the course's .venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def run_tool(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TOOL_SECONDS, cwd=cwd, check=False
        )
    except FileNotFoundError:
        raise Stop(f"{command[0]} is not installed", "make setup installs it into .venv") from None


# -- the pipeline's structure --------------------------------------------------------
# A job without timeout-minutes runs until GitHub's own limit for hosted runners.
GITHUB_TIMEOUT_MINUTES = 360


def checkouts(workflow: dict) -> list[tuple[str, dict]]:
    """(job, step) for each actions/checkout step of the workflow."""
    jobs = [(name, job) for name, job in workflow["jobs"].items() if isinstance(job, dict)]
    return [(name, step) for name, job in jobs for step in steps(job)
            if str(step.get("uses", "")).startswith("actions/checkout@")]  # fmt: skip


def steps(job: dict) -> list[dict]:
    found = job.get("steps")
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def job_text(job: dict) -> str:
    return yaml.safe_dump(job, sort_keys=False)


def runs(job: dict) -> list[str]:
    return [str(s["run"]) for s in steps(job) if "run" in s]


def uses(job: dict) -> list[str]:
    return [str(s["uses"]) for s in steps(job) if "uses" in s]


def find_job(workflow: dict, role: str) -> tuple[str, dict] | None:
    """The job playing a role, found by what it does rather than by its name."""
    jobs = {k: v for k, v in workflow["jobs"].items() if isinstance(v, dict)}
    matchers = {
        "test": lambda j: any("pytest" in r for r in runs(j)),
        "build": lambda j: (
            any("build-push-action" in u for u in uses(j))
            or any(re.search(r"docker (buildx )?build", r) for r in runs(j))
        ),
        "e2e": lambda j: (
            any("kind-action" in u for u in uses(j)) or any("kind create" in r for r in runs(j))
        ),
        "deploy": lambda j: "environment" in j,
    }
    for name, job in jobs.items():
        if matchers[role](job):
            return name, job
    return None


def needs_of(workflow: dict, name: str) -> set[str]:
    """Every job that must finish before `name` (needs, followed transitively)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        job = workflow["jobs"].get(todo.pop()) or {}
        wanted = job.get("needs") or []
        for need in [wanted] if isinstance(wanted, str) else wanted:
            if need not in seen:
                seen.add(need)
                todo.append(need)
    return seen


def required_job(workflow: dict, role: str, what: str) -> tuple[str, dict]:
    found = find_job(workflow, role)
    if found is None:
        raise Fail(f"no job that {what}", f"the {role} job: README → Step 1")
    return found


SHA = re.compile(r"github\.sha|GITHUB_SHA|type=sha")


def grants_write(permissions) -> bool:
    if isinstance(permissions, str):
        return permissions == "write-all"
    return isinstance(permissions, dict) and "write" in permissions.values()


def pushing_jobs(workflow: dict) -> dict[str, dict]:
    return {name: job for name, job in workflow["jobs"].items()
            if isinstance(job, dict) and any(pushes(step) for step in steps(job))}  # fmt: skip


LAYER_CACHE = re.compile(r"--cache-from|cache-from:")
COMPRESSED = re.compile(r"\b(zstd|gzip|pigz|xz)\b|\.tar\.(zst|gz|xz)\b")


def triggers(workflow: dict) -> set[str]:
    # PyYAML reads the key `on` as True (YAML 1.1): both spellings are looked up.
    found = workflow.get("on", workflow.get(True))
    if isinstance(found, str):
        return {found}
    return set(found or [])


# Contexts a pull request's author writes: in a run: script they are code, not text.
UNTRUSTED = re.compile(
    r"\$\{\{\s*github\.(head_ref|event\.("
    r"(issue|pull_request)\.(title|body)|pull_request\.head\.(ref|label|repo\.default_branch)"
    r"|(comment|review|review_comment)\.body|pages\.\S*page_name"
    r"|(head_commit|commits\S*?)\.(message|author\.(email|name))))"
)
PUSHES = re.compile(r"\b(docker|podman)\s+push\b")


def pushes(step: dict) -> bool:
    action_push = (step.get("with") or {}).get("push")
    return bool(PUSHES.search(str(step.get("run", "")))) or action_push not in (
        None,
        False,
        "false",
    )


def guarded_from_pull_requests(*conditions: object) -> bool:
    """An if: that a pull request's run cannot pass (its github.ref is refs/pull/…)."""
    texts = [str(c) for c in conditions if c]
    return any(("pull_request" in t and "!=" in t) or "== 'push'" in t
               or ("refs/heads/" in t and "==" in t) for t in texts)  # fmt: skip


def pinned_actions(workflow_path) -> list[tuple[int, str, str]]:
    """(line number, owner/action@ref, the line) of every remote action."""
    found = []
    for number, line in enumerate(workflow_path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", line)
        if match and not match.group(1).startswith(("./", "docker://")):
            found.append((number, match.group(1).strip("'\""), line))
    return found


def workshop_ref(workflow: dict, job: dict) -> str | None:
    """The ref of the step that checks out another repository (the workshop)."""
    env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
    for step in steps(job):
        given = step.get("with") or {}
        if str(step.get("uses", "")).startswith("actions/checkout@") and given.get("repository"):
            ref = str(given.get("ref", ""))
            found = re.fullmatch(r"\$\{\{\s*env\.(\w+)\s*\}\}", ref)
            return str(env.get(found.group(1), "")) if found else ref
    return None


# -- the workflow's own commands, run here -------------------------------------------
def local_commands(job: dict) -> list[str]:
    """The lint and test commands of a job that can run here with the course's tools."""
    found = []
    for script in runs(job):
        for line in script.splitlines():
            words = shlex.split(line.strip(), comments=True) if line.strip() else []
            if words[:1] in (["ruff"], ["pytest"]) or words[:3] == ["python", "-m", "pytest"]:
                found.append(line.strip())
    return found
