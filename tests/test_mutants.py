"""Every experiment's quick claims catch at least one plausible physics bug.

For each `Mutant` (tests/mutants_*.py) the experiment's quick config is run
in-process with the bug injected and the claim it names must fail; the
unmutated quick run must pass every claim, and its figures every rule of
`jqdlab.figure_check` (the new-eye review of every quick figure). Marker `mutants` (not in the
default run: 14 minutes on 2 cores); run with `pytest -m mutants`.
"""

from __future__ import annotations

import dataclasses

import jax
import pytest
from mutation import all_mutants

from jqdlab import Recorder, registry

pytestmark = pytest.mark.mutants

MUTANTS = all_mutants()
EXPERIMENTS = sorted(registry.discover())


def _run_quick(name, tmp_path, overrides=None, recorder=False):
    exp = registry.load(name)
    config = exp.config.quick()
    if overrides:
        config = dataclasses.replace(config, **overrides)
    rec = Recorder(tmp_path, seed=0)
    jax.clear_caches()  # no trace compiled from other code may be reused
    try:
        exp.run(config, rec)
    finally:
        jax.clear_caches()
    return rec if recorder else rec.claims


def test_every_experiment_has_a_mutant():
    covered = {m.experiment for m in MUTANTS}
    missing = sorted(set(EXPERIMENTS) - covered)
    assert not missing, f"experiments without a mutant in tests/mutants_*.py: {missing}"
    unknown = sorted(covered - set(EXPERIMENTS))
    assert not unknown, f"mutants name unknown experiments: {unknown}"


def test_mutant_ids_unique():
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_unmutated_quick_run_passes(name, tmp_path):
    rec = _run_quick(name, tmp_path, recorder=True)
    failed = [c for c in rec.claims if not c.passed]
    assert not failed, failed
    assert rec.figures and rec.figure_problems == {}, rec.figure_problems


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_mutant_is_caught(mutant, tmp_path, monkeypatch):
    mutant.apply(monkeypatch)
    claims = _run_quick(mutant.experiment, tmp_path, mutant.overrides)
    named = [c for c in claims if mutant.caught_by in c.name]
    assert named, f"no claim of {mutant.experiment} is named like {mutant.caught_by!r}"
    assert any(not c.passed for c in named), (
        f"mutant {mutant.id} ({mutant.bug}) was not caught: {named}"
    )
