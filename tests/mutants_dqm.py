"""Mutants of the dqm experiments (nelson-equivariance, madelung-nodes,
dqm-fit-D, dqm-spreading): plausible physics bugs in jqd.dqm that their
quick claims must catch."""

from __future__ import annotations

import math

from mutation import Mutant, osmotic_scaled, scaled


def _no_osmotic(monkeypatch):
    """Bohm velocity + noise: u_N dropped from the Nelson drift."""
    osmotic_scaled(monkeypatch, 0.0)


def _quantum_potential_x2(monkeypatch):
    import jqd.dqm._madelung as mad

    monkeypatch.setattr(mad, "fisher_derivative", scaled(mad.fisher_derivative, 2.0))


def _fisher_x2(monkeypatch):
    import jqd.dqm._functional as fn

    monkeypatch.setattr(fn, "fisher_energy", scaled(fn.fisher_energy, 2.0))


def _noise_sqrt_d(monkeypatch):
    from jqd.schemes import StochasticHeun  # NelsonEnsemble's default scheme

    good = StochasticHeun.step

    def step(self, drift, t, y, dt, noise, **kwargs):
        return good(self, drift, t, y, dt, noise / math.sqrt(2.0), **kwargs)

    monkeypatch.setattr(StochasticHeun, "step", step)


MUTANTS = [
    Mutant(
        "nelson-equivariance",
        "osmotic-dropped",
        "Nelson drift without the osmotic velocity u_N (Bohm velocity + noise)",
        _no_osmotic,
        caught_by="nelson KS distance",
    ),
    Mutant(
        "madelung-nodes",
        "quantum-potential-x2",
        "Madelung quantum potential Q twice too large (ħ²/4m instead of ħ²/8m on δF/δρ)",
        _quantum_potential_x2,
        caught_by="density error before",
    ),
    Mutant(
        "dqm-fit-D",
        "fisher-x2",
        "canonical H_D with the Fisher-information term (m D²/2)∫(∇ln ρ)²ρ doubled",
        _fisher_x2,
        caught_by="fitted D",
    ),
    Mutant(
        "dqm-spreading",
        "nelson-noise-sqrt-D",
        "Nelson noise amplitude √D instead of √(2D) (stochastic Heun)",
        _noise_sqrt_d,
        caught_by="Nelson width",
    ),
]
