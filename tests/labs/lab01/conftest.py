"""Lab 01's fixtures: what its checks are given."""

import json
import os
import subprocess
import threading
import time

import pytest

from checker import Fail, Stop
from checker.command import ui
from checker.processes import artifact
from checker.processes.artifact import TRUSTED

from harness import (
    ARTIFACT,
    CARD,
    CELL_TIMEOUT,
    NOTEBOOK,
    RANDOM_STATE,
    TEST_SIZE,
    Run,
    warm_imports,
    written_by,
)


@pytest.fixture(scope="session")
def notebook(lab_dir):
    import nbformat

    path = lab_dir / NOTEBOOK
    if not path.is_file():
        raise Stop(f"{path} does not exist")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a broken file
        raise Stop(f"{NOTEBOOK} is not a valid notebook: {exc}") from None


@pytest.fixture(scope="session")
def run(lab_dir, notebook) -> Run:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    result = Run(started=time.time())
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(lab_dir)}},
    )
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    result.cells = len(code_cells)
    # The checker's own imports load on the other core while the kernel works.
    threading.Thread(target=warm_imports, daemon=True).start()
    # Figures are drawn but not rendered to PNG: nothing reads them, and rendering
    # is a third of the notebook's time.
    env = {**os.environ, "MPLBACKEND": "agg"}
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env):
            for n, index in enumerate(code_cells, start=1):
                ui.status(f"running code cell {n}/{len(code_cells)}")
                try:
                    client.execute_cell(notebook.cells[index], index)
                except CellExecutionError as exc:
                    result.failed_cell = n
                    result.error = f"{exc.ename}: {exc.evalue}"
                    break
                except CellTimeoutError:
                    result.failed_cell = n
                    result.error = f"the cell ran longer than {CELL_TIMEOUT} s"
                    break
        ui.status_done()
    except DeadKernelError as exc:
        result.error = f"the Python kernel died: {exc}"
    except Exception as exc:  # no kernel at all: a broken environment, not the learner's code
        raise Stop(
            f"could not start a Jupyter kernel: {exc}", detail="run make setup, then try again"
        ) from None
    return result


@pytest.fixture(scope="session")
def card(lab_dir, run) -> dict:
    path = written_by(run, lab_dir, CARD)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise Fail(f"{CARD} is not valid JSON ({exc})", "a JSON object") from None


@pytest.fixture(scope="session")
def model(lab_dir, run):
    import skops.io as sio

    path = written_by(run, lab_dir, ARTIFACT)
    try:
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(TRUSTED))
    except Exception:
        raise Fail(
            f"{ARTIFACT} is not a skops file (saved with pickle or joblib?)",
            "a file written by skops.io.dump",
        ) from None
    if untrusted:
        raise Fail(
            f"the artifact needs extra trusted types {untrusted}",
            f"a bare RandomForestRegressor needing only {TRUSTED}",
        )
    return artifact.load(path)


@pytest.fixture(scope="session")
def holdout():
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    data = load_diabetes(as_frame=True)
    return data.data, train_test_split(
        data.data, data.target, test_size=TEST_SIZE, random_state=RANDOM_STATE
    )
