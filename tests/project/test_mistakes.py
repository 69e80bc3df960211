"""The seeded-mistake catalogue of the labs judged without a cluster: each mistake,
applied to a copy of its lab's solution, is caught by the check meant for it, with
that check's hint. The cluster labs' mistakes are proven in test_live_labs.py."""

import pytest

from checker.command.course import find
from project import seeded
from project.conftest import OFFLINE, copy_tree, run_checker

pytestmark = pytest.mark.full


def mistake_id(mistake: seeded.Mistake) -> str:
    return f"lab{mistake.lab:02d}-{mistake.id}"


@pytest.mark.parametrize("mistake", seeded.catalogue(OFFLINE), ids=mistake_id)
def test_mistake_is_caught_by_its_check(mistake, tmp_path):
    lab = find(mistake.lab)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    mistake.apply(tree)
    run = run_checker(lab, tree, tmp_path, *mistake.until())
    assert "Traceback" not in run.output, run.output
    assert run.code == mistake.exit_code, run.output
    assert run.status(mistake.caught_by) == "failed", (
        f"{mistake.id} should fail '{mistake.caught_by}'; failed: {run.failed()}\n{run.output}"
    )
    assert f"hint: {mistake.hint or lab.checks[mistake.caught_by].hint}" in run.output
    assert mistake.says in run.output, run.output
