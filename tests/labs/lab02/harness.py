"""Lab 02's harness: what its checks and fixtures share."""

import concurrent.futures
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from checker import Fail, Stop
from checker.processes import forkserver, procs

ARTIFACT, CARD = "diabetes-rf.skops", "model-card.json"
BATCH_BOUND = 16  # the checker's MAX_BATCH_ROWS, to see that settings come from the environment
CHECKER_VERSION = "1.0.0+checker"  # written into the copied card: proves MODEL_CARD_PATH is read
TOLERANCE = 1e-9
SMART = {"\u2018": "‘", "\u2019": "’", "\u201c": "“", "\u201d": "”", "\u2013": "–"}


FOLDER_HINT = "point LAB_DIR at a lab 02 folder, or restore the starter: make reset 2"
MODEL_HINT = "lab 02 starts with lab 01's models/: make reset 2 restores them"


def python_sources(lab_dir) -> list:
    """The folder's .py files; a symbolic link that loops back stops the run."""
    found = []
    for root, dirs, files in os.walk(lab_dir):  # symbolic links are not followed
        here = Path(root)
        for name in dirs:
            link = here / name
            if not link.is_symlink():
                continue
            try:
                target = link.resolve(strict=True)
            except (OSError, RuntimeError):
                target = None
            if target is None or target == here.resolve() or target in here.resolve().parents:
                raise Stop(f"{link.relative_to(lab_dir)} is a symbolic link that loops back "
                           "to a folder containing it", hint="remove the link")  # fmt: skip
        dirs[:] = [d for d in dirs if d not in {".venv", "__pycache__", ".git"}]
        found += [here / f for f in files if f.endswith(".py")]
    return sorted(found)


# What every Python lab 02 starts imports first: imported once in the fork server;
# the learner's tests' own imports come last.
SERVICE_LIBRARIES = [*forkserver.SERVICE_IMPORTS, "--", "pytest", "httpx", "fastapi.testclient"]


def server_env(model_dir, **extra) -> dict[str, str]:
    env = {
        "MODEL_PATH": str(model_dir / ARTIFACT),
        "MODEL_CARD_PATH": str(model_dir / CARD),
        "MAX_BATCH_ROWS": str(BATCH_BOUND),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


# The answers each predict route gives besides FastAPI's 200 and 422 (README Step 6).
ANSWERS = ("413", "503", "500")


@dataclass
class Started:
    server: procs.Server  # the service under test
    cases: dict[str, dict[str, str]]  # readiness_semantics' environments
    lab_dir: Path
    forks: object  # a forkserver.ForkServer, or None
    will_run: Callable[[str], bool]  # the run's: does it reach this check?
    without_model: dict[str, procs.Server] = field(default_factory=dict)
    unit_tests: procs.Server | None = None  # the learner's own pytest, as a job
    reference: concurrent.futures.Future | None = None  # the forked checker.processes.reference

    helpers_started: bool = False

    def start_helpers(self) -> None:
        """Once the service under test is up: started together with it, on two cores,
        they made its own start (the slowest step of a run) two to three times longer.
        A run ended early (--until) starts only what its checks use."""
        if self.helpers_started:
            return
        self.helpers_started = True
        if self.will_run("readiness_semantics"):
            self.without_model = {
                name: procs.uvicorn(self.lab_dir, env, background=True, forks=self.forks).start()
                for name, env in self.cases.items()
            }
        if self.will_run("unit_tests"):
            pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            self.unit_tests = procs.Server(procs.nice(pytest_run), self.lab_dir, {}, port=0,
                                           forks=self.forks)  # fmt: skip
            self.unit_tests.start()


def warm_imports() -> None:
    with contextlib.suppress(Exception):  # the fixtures import them again and report
        import skops.io  # noqa: F401
        from sklearn.datasets import load_diabetes

        load_diabetes(as_frame=True)


def post(http, path, **kwargs) -> httpx.Response:
    try:
        return http.post(path, **kwargs)
    except httpx.HTTPError as exc:
        raise Fail(f"no answer from POST {path} ({type(exc).__name__})", "an HTTP answer") from None


def request_id(response) -> str | None:
    """The request_id of a JSON answer, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("request_id") if isinstance(body, dict) else None


def describe(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} {body[:160]}"


def is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def bad_batches(row) -> list[tuple[str, dict]]:
    return [
        ("an empty batch", {"rows": []}),
        ("a batch with an unknown field", {"rows": [row], "limit": 5}),
        ("a row with an extra field", {"rows": [row, {**row, "weight": 80.0}]}),
        ("a row with a numeric string", {"rows": [row, {**row, "bmi": "0.05"}]}),
        ("rows that are not a list", {"rows": row}),
    ]


def bad_payloads(row):
    missing = {k: v for k, v in row.items() if k != "bmi"}
    return [
        ("a missing field", {"json": missing}),
        ("a string for a number", {"json": {**row, "bmi": "heavy"}}),
        ("a numeric string", {"json": {**row, "bmi": "0.05"}}),
        ("NaN", {"content": json.dumps({**row, "bmi": float("nan")})}),
        ("Infinity", {"content": json.dumps({**row, "bmi": float("inf")})}),
        ("an extra field", {"json": {**row, "weight": 80.0}}),
        ("an empty body", {"content": b""}),
        ("malformed JSON", {"content": b'{"age": 0.1,'}),
        ("a list instead of an object", {"json": [row]}),
    ]


def optional_fields(http, row) -> list[str]:
    """The features the request schema does not require (a default makes them optional)."""
    try:
        schemas = http.get("/openapi.json").json()["components"]["schemas"]
    except (ValueError, KeyError, httpx.HTTPError):
        return []
    for schema in schemas.values():
        properties = set(schema.get("properties") or {})
        if set(row) <= properties:
            return sorted(set(row) - set(schema.get("required") or []))
    return []


def reason_logged(instance: procs.Server, within: float = 2.0) -> bool:
    """A log line about the model that says why it is not loaded. A service that loads
    in the background may write it just after it answers: it gets a moment."""
    deadline = time.monotonic() + within
    while True:
        for line in map(str.lower, instance.log_lines()):
            if "model" in line and any(
                w in line for w in ("not found", "sha-256", "sha256", "missing")
            ):
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def flask_style(response: httpx.Response) -> bool:
    """A Flask habit: `return {...}, 503` arrives as 200 with the body [{...}, 503]."""
    try:
        body = response.json()
    except ValueError:
        return False
    return (response.status_code == 200 and isinstance(body, list) and len(body) == 2
            and isinstance(body[1], int) and body[1] >= 400)  # fmt: skip
