"""Lab 00's harness: what its checks and fixtures share."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from checker import Fail, Unavailable, expect
from checker.command.course import REPO
from checker.upkeep.versions import pins

GIB = 1024**3
# WORKSHOP_TOOLS_BIN lets the project's tests hide a maintainer's `make tools`.
TOOLS_BIN = Path(os.environ.get("WORKSHOP_TOOLS_BIN") or REPO / ".tools" / "bin")


def find_tool(name: str) -> str | None:
    local = TOOLS_BIN / name
    return str(local) if local.exists() else shutil.which(name)


def run(command: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def tool_version(name: str, command: list[str], pattern: str) -> str:
    path = find_tool(name)
    if path is None:
        raise Unavailable(f"{name} is not installed", "run make tools (it needs internet access)")
    try:
        done = run([path, *command])
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Fail(f"{path} could not run ({exc})", f"a working {name}") from None
    match = re.search(pattern, done.stdout + done.stderr)
    if match is None:
        raise Fail(
            f"{name} printed no version: {(done.stdout + done.stderr).strip()[:80]}",
            f"{name} reporting its version",
        )
    return match.group(1)


def expect_pinned(name: str, found: str, key: str) -> None:
    wanted = pins()[key]
    expect(found == wanted, f"{name} {found}", f"{name} {wanted} (make tools installs it)")
