"""Mutants of the dqm experiments (nelson-equivariance, madelung-nodes,
dqm-fit-D, dqm-spreading): plausible physics bugs in jqd.dqm that their
quick claims must catch."""

from __future__ import annotations

import math

from mutation import Mutant, osmotic_scaled, scaled


def _no_osmotic(monkeypatch):
    """Bohm velocity + noise: u_N dropped from the Nelson drift."""
    osmotic_scaled(monkeypatch, 0.0)


def osmotic_without_mass(monkeypatch):
    """u_N = (ħ/2)∇ln ρ instead of (ħ/2m)∇ln ρ: u_N times m on every path that
    forms it (`guidance_velocities`, the fused 1-D kernel `_guidance_1d`)."""
    osmotic_scaled(monkeypatch, lambda mass: mass)


def _phase_without_hbar(monkeypatch):
    """The Madelung phase from ψ as S = arg ψ instead of ħ arg ψ: ∇S = Im(ψ*∇ψ)/ρ
    without ħ (`jqd.dqm.state_from_psi`, where the experiments look it up)."""
    import jqd.dqm

    good = jqd.dqm.state_from_psi

    def state_from_psi(grid, psi, hbar=1.0, floor=None):
        return good(grid, psi, 1.0, floor)

    monkeypatch.setattr(jqd.dqm, "state_from_psi", state_from_psi)


def _quantum_potential_x2(monkeypatch):
    import jqd.dqm._madelung as mad

    monkeypatch.setattr(mad, "fisher_derivative", scaled(mad.fisher_derivative, 2.0))


def _fisher_x2(monkeypatch):
    """F doubled on every path by which CanonicalDQM reads the Fisher term: the
    functional H_D (`law_functional` looks `fisher_energy` up in _functional),
    the bulk derivative of the tail correction (`fisher_energy` imported into
    _canonical) and the tail form of δF/δρ (`fisher_tail_derivative` imported
    into _canonical), so the law is consistently H_D with 2F."""
    import jqd.dqm._canonical as can
    import jqd.dqm._functional as fn

    monkeypatch.setattr(fn, "fisher_energy", scaled(fn.fisher_energy, 2.0))
    monkeypatch.setattr(can, "fisher_energy", scaled(can.fisher_energy, 2.0))
    monkeypatch.setattr(can, "fisher_tail_derivative", scaled(can.fisher_tail_derivative, 2.0))


def _detector_per_wavelength(monkeypatch):
    """The breakdown detector's quantum wavenumber per wavelength, 2π k_Q, instead
    of k_Q (Q scaled by (2π)² where MadelungValidity reads it): it fires at t = 0."""
    import jqd.dqm._validity as val

    monkeypatch.setattr(val, "quantum_potential", scaled(val.quantum_potential, (2 * math.pi) ** 2))


def _noise_sqrt_d(monkeypatch):
    from jqd.schemes import StochasticHeun  # NelsonEnsemble's default scheme

    good = StochasticHeun.step

    def step(self, drift, t, y, dt, noise, **kwargs):
        return good(self, drift, t, y, dt, noise / math.sqrt(2.0), **kwargs)

    monkeypatch.setattr(StochasticHeun, "step", step)


def _noise_halved(monkeypatch):
    """Nelson noise √(2D)/2 instead of √(2D) in both SDE schemes (stochastic Heun,
    Euler-Maruyama): the noise NelsonEnsemble.step_increment hands the scheme, halved."""
    from jqd.schemes import EulerMaruyama, StochasticHeun

    for scheme in (StochasticHeun, EulerMaruyama):
        good = scheme.step

        def step(self, drift, t, y, dt, noise, _good=good, **kwargs):
            return _good(self, drift, t, y, dt, noise / 2, **kwargs)

        monkeypatch.setattr(scheme, "step", step)


def _diffusion_without_mass(monkeypatch):
    """D = ħ/2 instead of ħ/2m when DQMParams.D is None (the canonical law's D)."""
    from jqd.dqm import DQMParams

    def diffusion(self):
        return self.hbar / 2 if self.D is None else self.D

    monkeypatch.setattr(DQMParams, "diffusion", diffusion)


MUTANTS = [
    Mutant(
        "nelson-equivariance",
        "osmotic-dropped",
        "Nelson drift without the osmotic velocity u_N (Bohm velocity + noise)",
        _no_osmotic,
        caught_by="nelson KS distance",
    ),
    Mutant(
        "nelson-equivariance",
        "osmotic-without-mass",
        "Nelson osmotic velocity (ħ/2)∇ln ρ instead of (ħ/2m)∇ln ρ (mass dropped)",
        osmotic_without_mass,
        caught_by="nelson KS distance at ħ = ",
    ),
    Mutant(
        "nelson-equivariance",
        "nelson-noise-halved",
        "Nelson noise amplitude √(2D)/2 instead of √(2D) (both SDE schemes)",
        _noise_halved,
        caught_by="nelson KS distance to |ψ(t)|²",
    ),
    Mutant(
        "madelung-nodes",
        "quantum-potential-x2",
        "Madelung quantum potential Q twice too large (ħ²/4m instead of ħ²/8m on δF/δρ)",
        _quantum_potential_x2,
        caught_by="density error before",
    ),
    Mutant(
        "madelung-nodes",
        "detector-k-per-wavelength",
        "breakdown detector's resolution from 2π k_Q (per wavelength) instead of k_Q",
        _detector_per_wavelength,
        caught_by="breakdown not reported before the exact fringes",
    ),
    Mutant(
        "madelung-nodes",
        "phase-without-hbar",
        "Madelung phase S = arg ψ instead of ħ arg ψ (state_from_psi drops ħ)",
        _phase_without_hbar,
        caught_by="density error before the reported breakdown at ħ = ",
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
    Mutant(
        "dqm-spreading",
        "diffusion-without-mass",
        "canonical DQM's quantum value D = ħ/2 instead of ħ/2m (DQMParams.diffusion)",
        _diffusion_without_mass,
        caught_by="canonical DQM at ħ = ",
    ),
]
