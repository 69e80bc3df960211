"""Every check of every lab has a seeded mistake, or a written reason for having none."""

import pytest

from project import seeded
from project.conftest import READY


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_every_check_has_a_mistake_or_a_reason(lab):
    found = seeded.of(lab)
    seeded_checks = {m.caught_by for m in found.mistakes}
    unknown = sorted((seeded_checks | set(found.unseeded)) - set(lab.checks))
    assert not unknown, f"lab{lab.code}/mistakes.py names checks the lab lacks: {unknown}"
    both = sorted(seeded_checks & set(found.unseeded))
    assert not both, f"these checks have a mistake, so need no reason in UNSEEDED: {both}"
    bare = sorted(c for c in lab.checks if c not in seeded_checks and not found.unseeded.get(c))
    assert not bare, (
        f"lab {lab.code}: no seeded mistake and no reason for {bare}: add a Mistake to "
        f"tests/labs/lab{lab.code}/mistakes.py, or say why in its UNSEEDED"
    )


@pytest.mark.parametrize("lab", READY, ids=lambda lab: lab.slug)
def test_mistakes_belong_to_their_lab_and_are_unique(lab):
    mistakes = seeded.of(lab).mistakes
    assert all(m.lab == lab.number for m in mistakes)
    ids = [m.id for m in mistakes]
    assert len(ids) == len(set(ids)), ids
