"""Mutants of the harmonic-lattice experiments (thermal-localization,
thermal-block-collision): plausible physics bugs their quick claims must
catch (see tests/mutation.py). Seams: `jqd.thermal._harmonic.rotation` (the
exact mode-rotation coefficients, a documented test hook) and the public
`jqd.thermal.ground_state`, `jqd.thermal.kinetic_energy`."""

from __future__ import annotations

import jax.numpy as jnp
from mutation import Mutant, scaled

import jqd
from jqd.thermal import _harmonic


def _free_mode_frozen(monkeypatch):
    """S_k written as [[cos ωt, sin ωt/(mω)], ...] with the 1/ω guarded to 0 at
    ω = 0: a free mode (the ring's centre of mass) never drifts (Q += P t/m lost)."""

    def bad(omega2, mass, dt):
        w = jnp.sqrt(jnp.maximum(omega2, 0.0))
        safe = jnp.where(w > 0, w, 1.0)
        b = jnp.where(w > 0, jnp.sin(w * dt) / (mass * safe), 0.0)
        return jnp.cos(w * dt), b, -mass * w * jnp.sin(w * dt), jnp.cos(w * dt)

    monkeypatch.setattr(_harmonic, "rotation", bad)


def _rotation_mass_dropped(monkeypatch):
    """S_k = [[cos ωt, sin ωt/ω], [−ω sin ωt, cos ωt]]: the mass dropped from the
    mode rotation (right at m = 1 only)."""

    orig = _harmonic.rotation

    def bad(omega2, mass, dt):
        return orig(omega2, 1.0, dt)

    monkeypatch.setattr(_harmonic, "rotation", bad)


def _zero_point_doubled(monkeypatch):
    """Ground state with ⟨Q_k²⟩ = ħ/(mω_k), ⟨P_k²⟩ = mħω_k (the oscillator
    length a_k² = ħ/mω_k taken as the variance, missing the ½)."""
    monkeypatch.setattr(jqd.thermal, "ground_state", scaled(jqd.thermal.ground_state, 2.0))


def _leapfrog_step(monkeypatch):
    """The exact mode rotation replaced by one Störmer-Verlet (kick-drift-kick)
    step per dt: symplectic and stable (ω dt < 2), but it conserves a shadow
    Hamiltonian, not H."""

    def bad(omega2, mass, dt):
        x2 = omega2 * dt**2
        a = 1 - x2 / 2
        return a, dt / mass + 0 * omega2, -mass * omega2 * dt * (1 - x2 / 4), a

    monkeypatch.setattr(_harmonic, "rotation", bad)


def _kinetic_without_half(monkeypatch):
    """Kinetic energy Σ p²/m (the ½ dropped)."""
    monkeypatch.setattr(jqd.thermal, "kinetic_energy", scaled(jqd.thermal.kinetic_energy, 2.0))


MUTANTS = [
    Mutant(
        experiment="thermal-localization",
        name="free-mode-frozen",
        bug="mode rotation with sin(ωt)/(mω) guarded to 0 at ω = 0: the free centre of "
        "mass never drifts",
        apply=_free_mode_frozen,
        caught_by="Var X_cm",
    ),
    Mutant(
        experiment="thermal-localization",
        name="zero-point-doubled",
        bug="ground state ⟨Q_k²⟩ = ħ/(mω_k) (oscillator length² instead of ħ/(2mω_k))",
        apply=_zero_point_doubled,
        caught_by="coherent sound leaves widths unchanged",
    ),
    Mutant(
        experiment="thermal-localization",
        name="rotation-mass-dropped",
        bug="exact mode rotation with m = 1: sin ωt/ω and −ω sin ωt (mass dropped)",
        apply=_rotation_mass_dropped,
        caught_by="Var X_cm at m =",
    ),
    Mutant(
        experiment="thermal-block-collision",
        name="leapfrog-step",
        bug="exact mode rotation replaced by a Störmer-Verlet step (conserves a shadow H)",
        apply=_leapfrog_step,
        caught_by="energy spread conserved",
    ),
    Mutant(
        experiment="thermal-block-collision",
        name="kinetic-without-half",
        bug="kinetic energy Σ p²/m instead of Σ p²/2m",
        apply=_kinetic_without_half,
        caught_by="h_KE = h_PE",
    ),
    Mutant(
        experiment="thermal-block-collision",
        name="leapfrog-step-local",
        bug="the same Störmer-Verlet step: the junction's time averages leave the GGE",
        apply=_leapfrog_step,
        caught_by="local GGE",
    ),
]
