"""No claim of a Husimi experiment runs through `HusimiGalerkin`'s split stepper.

At C = 1 with a truncating H the split step is e^{−iH_P dt} by construction: it
passes whatever the Fokker-Planck drift and diffusion terms are (issue 26: the
Kerr stage of husimi-amplification ran on it, and its 16 quick claims passed with
the Liouville term zeroed or the diffusion doubled). Claims must integrate the
operator L(C) itself (`scheme=jqd.schemes.Exact()`, or `vector_field` through
`jqd.evolve_adaptive`). Here the split stepper's `step` is patched to raise: the
guard itself and husimi-amplification's Kerr stage are checked at small size
(fast); every experiment whose code builds a `HusimiGalerkin` runs its quick
config with the patch (slow: one quick run each) and must pass every claim.
"""

from __future__ import annotations

import dataclasses
import sys

import jax
import numpy as np
import pytest

import jqd
import jqd.husimi._galerkin as galerkin
from jqd import husimi as hs
from jqdlab import Recorder, registry


class SplitStepperUsed(AssertionError):
    """HusimiGalerkin's split stepper was stepped."""


@pytest.fixture
def no_split(monkeypatch):
    def refuse(self, t, y, params, dt, key=None):
        raise SplitStepperUsed("HusimiGalerkin's split stepper was used (scheme Strang)")

    monkeypatch.setattr(galerkin._SplitStep, "step", refuse)
    jax.clear_caches()  # no trace of the real split step may be reused
    yield
    jax.clear_caches()


def _galerkin_experiments() -> list[str]:
    """Experiments whose code builds a HusimiGalerkin law."""
    found = registry.discover()
    return [n for n, path in found.items() if "HusimiGalerkin" in path.read_text()]


def test_the_patch_sees_the_split_stepper(no_split):
    K = 6
    R0 = jqd.fock.coherent_state(0.5, K, tol=1e-3)
    run = dict(dt=0.1, n_save=2)
    split = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    with pytest.raises(SplitStepperUsed):
        jqd.evolve(split, split.initial_state(R0), hs.GalerkinParams(1.0), **run)
    expm = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K, scheme=jqd.schemes.Exact())
    jqd.evolve(expm, expm.initial_state(R0), hs.GalerkinParams(1.0), **run)


def test_amplification_kerr_stage_integrates_L(no_split):
    """husimi-amplification's Kerr stage (small cutoff) runs exp(dt L(1)), and
    gives the exact Kerr phases."""
    exp = registry.load("husimi-amplification")
    mod = sys.modules[exp.run.__module__]
    c = dataclasses.replace(exp.config.quick(), cutoff=10)
    psi = np.asarray(jqd.fock.coherent_state(0.8, c.cutoff, tol=1e-3))
    R = np.asarray(mod._kerr_galerkin(psi, c))
    want = mod._kerr_fock(psi, c.kerr_Ut)
    assert np.max(np.abs(R - np.outer(want, want.conj()))) < 1e-12


def test_galerkin_experiments_are_listed():
    names = _galerkin_experiments()
    assert {"husimi-kerr", "husimi-bose-hubbard", "husimi-amplification"} <= set(names)


@pytest.mark.slow
@pytest.mark.parametrize("name", _galerkin_experiments())
def test_no_claim_runs_the_split_stepper(name, no_split, tmp_path):
    exp = registry.load(name)
    rec = Recorder(tmp_path, seed=0)
    exp.run(exp.config.quick(), rec)
    failed = [c for c in rec.claims if not c.passed]
    assert rec.claims and not failed, failed
