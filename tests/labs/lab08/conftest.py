"""Lab 08's fixtures: what its checks are given."""

from pathlib import Path

import pytest
import yaml

from checker.outcomes import Stop

from harness import WORKFLOW


@pytest.fixture(scope="session")
def workflow_path(lab_dir) -> Path:
    return lab_dir / WORKFLOW


@pytest.fixture(scope="session")
def workflow(workflow_path) -> dict:
    if not workflow_path.is_file():
        raise Stop(f"{WORKFLOW} is missing", "create it: README → Step 1")
    try:
        data = yaml.safe_load(workflow_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise Stop(f"{WORKFLOW}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise Stop(f"{WORKFLOW}: no jobs: mapping at the top level")
    return data
