"""Fixtures shared by every lab's checker suite."""

import os
from pathlib import Path

import pytest

from checker.manifest import Lab, find


@pytest.fixture(scope="session")
def lab() -> Lab:
    return find(os.environ["WORKSHOP_LAB"])


@pytest.fixture(scope="session")
def lab_dir() -> Path:
    return Path(os.environ["WORKSHOP_LAB_DIR"])
