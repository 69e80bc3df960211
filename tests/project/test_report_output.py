"""Golden files pin what a learner reads and what instructors collect: the terminal
lines and the results JSON of one passing and one failing run. After an intended
change, regenerate them with GOLDEN_UPDATE=1 make test-quick, and read the diff."""

import json
import os
from pathlib import Path

import pytest

from checker.command import writers
from checker.command.course import find
from checker.command.report import Report, Result

GOLDEN = Path(__file__).parent / "golden"
PASSING = [
    Result("healthz", "GET /healthz answers 200 at once", "passed", duration_s=0.01),
    Result("readyz", "GET /readyz answers 503 until the model is ready", "passed"),
]
FAILING = [
    Result("healthz", "GET /healthz answers 200 at once", "passed"),
    Result("predict_float", "POST /predict returns a plain float", "failed",
           message="the answer's prediction is a list", found='HTTP 200 {"prediction": [151.2]}',
           expected="a float", hint="return float(prediction[0])",
           step="Step 3 — Predict one patient"),
    Result("predict_matches_model", "/predict agrees with the saved model", "not-run",
           message="needs a float prediction"),
    Result("unit_tests", "Your own tests pass", "not-run", message="skipped: stopped",
           blocks_exit=True),
]  # fmt: skip


def compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GOLDEN_UPDATE"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: GOLDEN_UPDATE=1 to accept"


@pytest.mark.parametrize("name,results,code", [("passing", PASSING, 0), ("failing", FAILING, 2)])
def test_terminal_and_json_output(name, results, code, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    report = Report(find(2), Path("/learner/labs/02-serve/work"))
    for result in results:
        report.results[result.id] = result
        writers.print_result(result, verbose=False)
    assert report.exit_code() == code
    compare(f"{name}.txt", capsys.readouterr().out)
    writers.write_json(report, tmp_path / "r.json", code)
    data = json.loads((tmp_path / "r.json").read_text())
    data["finished_at"], data["duration_s"] = "<when>", "<how long>"
    compare(f"{name}.json", json.dumps(data, indent=2) + "\n")
