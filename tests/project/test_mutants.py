"""make mutants (scripts/maintainer/mutants): what a mutant is called, that every
equivalent.toml entry still names a change of the current solution, and that bad input
stops with a hint. The sweep itself runs the checker per mutant, so it is make
mutants' own, not CI's."""

import subprocess
import sys

import pytest

from checker.command.course import REPO, load

HERE = REPO / "scripts" / "maintainer" / "mutants"
sys.path.insert(0, str(HERE))

import documents  # noqa: E402
import equivalent  # noqa: E402
import lab_mutants  # noqa: E402
import python_mutants  # noqa: E402
from mutant import made, numbered  # noqa: E402


def mutants(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HERE), *args], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_a_mutant_is_named_by_what_it_changes_not_where():
    before = "a = 1\nif a < 2:\n    b = 3\n"
    moved = "# a comment\n" + before
    one = made("app/x.py", "python", "op", before, before.replace("a < 2", "a > 2"))
    two = made("app/x.py", "python", "op", moved, moved.replace("a < 2", "a > 2"))
    assert (one.line, two.line) == (2, 3)
    assert one.key == two.key == ("app/x.py", "if a < 2:", "if a > 2:", 0)
    assert made("app/x.py", "python", "op", before, before) is None
    twice = numbered([one, one])
    assert [m.nth for m in twice] == [0, 1]


def test_python_mutants_compile_and_change_one_thing(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "m.py").write_text("def f(x):\n    return {**x, 'n': 2} if x else None\n")
    found = list(python_mutants.mutants(tmp_path))
    assert found and all(m.file == "app/m.py" for m in found)
    assert any(m.now == "return {**x, 'n': 3} if x else None" for m in found), found
    for mutant in found:  # a dict's ** taken for a power is not Python: never offered
        compile(mutant.text, mutant.file, "exec")


@pytest.mark.parametrize("lab", [lab for lab in load() if (lab.suite / equivalent.FILE).exists()],
                         ids=lambda lab: lab.slug)  # fmt: skip
def test_every_equivalent_mutant_still_applies(lab):
    """An entry that matches no mutant of the current solution explains nothing."""
    listed = equivalent.load(lab.suite)
    keys = {m.key for m in lab_mutants.mutants_of(lab)}
    stale = equivalent.stale(listed, keys)
    assert not stale, f"{lab.suite / equivalent.FILE}: no longer a mutant: {stale}"
    assert all(entry.why.strip() for entry in listed)


def test_document_mutants_change_one_field_and_keep_the_rest(tmp_path):
    """A workflow's `on:` stays a key (YAML 1.2's booleans), and every mutant of a file
    differs from the file as the mutator writes it by its one change only."""
    (tmp_path / "k8s").mkdir()
    manifest = tmp_path / "k8s" / "deployment.yaml"
    manifest.write_text("kind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 3\n"
                        "  paused: false\n---\non:\n  push: {}\n")  # fmt: skip
    baseline = documents.write(manifest, documents.read(manifest))
    assert "'on':" in baseline and "true:" not in baseline
    found = list(documents.mutants(tmp_path))
    said = {(m.operator, m.was, m.now) for m in found}
    assert ("×10", "Deployment/api spec.replicas: 3", "Deployment/api spec.replicas: 30") in said
    assert ("flip", "Deployment/api spec.paused: false", "Deployment/api spec.paused: true") in said
    assert ("drop field", 'Deployment/api metadata.name: "api"', "") in said
    assert (
        "near miss",
        'Deployment/api metadata.name: "api"',
        'Deployment/api metadata.name: "apj"',
    ) in said
    for mutant in found:
        changed = [line for line in mutant.text.splitlines() if line not in baseline.splitlines()]
        assert len(changed) <= 1, (mutant.describe(), changed)


def test_bad_input_stops_with_a_hint():
    for args, says in ((["42"], "there is no lab 42"), (["0"], "has no solution to mutate"),
                       (["2", "--sample", "x"], "MUTANTS='x' is not a whole number")):  # fmt: skip
        done = mutants(*args)
        assert done.returncode == 2, done.stderr
        assert says in done.stderr and "hint:" in done.stderr and "Traceback" not in done.stderr


def test_a_sample_is_the_same_for_the_same_seed():
    # Lab 04: its documents only, listed in a second where lab 02's Python takes four.
    first = mutants("4", "--sample", "5", "--seed", "3", "--list")
    again = mutants("4", "--sample", "5", "--seed", "3", "--list")
    other = mutants("4", "--sample", "5", "--seed", "4", "--list")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    assert first.stdout.count("\n  k8s/") == 5
