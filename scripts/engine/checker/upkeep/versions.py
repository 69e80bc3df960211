"""Reads scripts/versions.env, the one place where versions are pinned."""

import shlex
import shutil
from functools import cache

from checker.command.course import REPO

VERSIONS = REPO / "scripts" / "versions.env"


@cache
def pins() -> dict[str, str]:
    values = {}
    for line in VERSIONS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = " ".join(shlex.split(value))
    return values


def installed_tool(name: str) -> str | None:
    """The pinned tool that make tools put in .tools/bin, else the PATH's."""
    pinned = REPO / ".tools" / "bin" / name
    return str(pinned) if pinned.exists() else shutil.which(name)
