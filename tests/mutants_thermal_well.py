"""Mutants of thermal-chaotic-well and thermal-paper-arithmetic, and the
m ≠ 1 mutants of thermal-block-collision (its others are in
mutants_thermal_harmonic.py): plausible physics bugs their quick claims must
catch (see tests/mutation.py)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from mutants_thermal_harmonic import _rotation_mass_dropped
from mutation import Mutant

import jqd
import jqd.schrodinger._grid as grid_module
import jqd.thermal._well as well_module


def _coupling_force_missing_2(monkeypatch):
    """Classical force of λx²y² written by hand as −λ(xy², x²y) instead of
    −2λ(xy², x²y): the classical ensemble feels half the coupling."""

    def mutated(potential, x, params):
        half = eqx.tree_at(lambda p: p.lam, params, params.lam / 2)
        return -jax.grad(lambda z: jnp.sum(potential(z, half)))(x)

    monkeypatch.setattr(well_module, "_force", mutated)


def _kinetic_without_half(monkeypatch):
    """Split-step kinetic phase e^{−iħk²h/m} instead of e^{−iħk²h/2m}."""

    def mutated(self, params, h, rdtype):
        k2 = self.grid.k_squared(rdtype)
        return jnp.exp(-1j * (params.hbar / params.mass) * h * k2)

    monkeypatch.setattr(grid_module.SchrodingerGrid, "_kinetic_phase", mutated)


def _kinetic_without_hbar(monkeypatch):
    """Split-step kinetic phase e^{−ik²h/2m}: ħ dropped (right at ħ = 1 only)."""

    def mutated(self, params, h, rdtype):
        k2 = self.grid.k_squared(rdtype)
        return jnp.exp(-0.5j * h * k2 / params.mass)

    monkeypatch.setattr(grid_module.SchrodingerGrid, "_kinetic_phase", mutated)


def _kinetic_without_mass(monkeypatch):
    """Split-step kinetic phase e^{−iħk²h/2}: m dropped (right at m = 1 only)."""

    def mutated(self, params, h, rdtype):
        k2 = self.grid.k_squared(rdtype)
        return jnp.exp(-0.5j * params.hbar * h * k2)

    monkeypatch.setattr(grid_module.SchrodingerGrid, "_kinetic_phase", mutated)


def _block_momentum_without_mass(monkeypatch):
    """`joined_blocks` with mean momenta ±v instead of ±mv (the velocity taken
    for the momentum; right at m = 1 only)."""
    orig = jqd.thermal.joined_blocks

    def mutated(law, params, n_left, velocity, dtype=None):
        return orig(law, params, n_left, velocity / params.mass, dtype)

    monkeypatch.setattr(jqd.thermal, "joined_blocks", mutated)


def _kg_norm_as_printed(monkeypatch):
    """The Klein-Gordon norm density coded as printed in T §3, Im(AȦ* − Ȧ*A)."""
    printed = jqd.reference.klein_gordon_norm_density

    def mutated(a, a_dot, form="corrected", mu0=1.0):
        return printed(a, a_dot, form="printed", mu0=mu0)

    monkeypatch.setattr(jqd.reference, "klein_gordon_norm_density", mutated)


def _drag_factor_wien(monkeypatch):
    """Einstein-Hopf factor from Wien's law, x/3, instead of Planck's x/(3(1 − e^{−x}))."""
    monkeypatch.setattr(
        jqd.reference, "einstein_hopf_drag_factor", lambda x, spectrum="planck": x / 3
    )


MUTANTS = [
    Mutant(
        "thermal-chaotic-well",
        "coupling-force-missing-2",
        "classical x²y² force −λ(xy², x²y) instead of −2λ(xy², x²y)",
        _coupling_force_missing_2,
        "L1 quantum vs classical",
    ),
    Mutant(
        "thermal-chaotic-well",
        "kinetic-without-half",
        "split-step kinetic phase ħk²/m instead of ħk²/2m",
        _kinetic_without_half,
        "λ = 0: widths",
    ),
    Mutant(
        "thermal-chaotic-well",
        "kinetic-without-hbar",
        "split-step kinetic phase k²h/2m instead of ħk²h/2m (ħ dropped)",
        _kinetic_without_hbar,
        "Ehrenfest slope vs 1/(2Λ)",
    ),
    Mutant(
        "thermal-chaotic-well",
        "kinetic-without-mass",
        "split-step kinetic phase ħk²h/2 instead of ħk²h/2m (m dropped)",
        _kinetic_without_mass,
        "λ = 0 widths at ħ =",
    ),
    Mutant(
        "thermal-block-collision",
        "rotation-mass-dropped",
        "exact mode rotation with m = 1: sin ωt/ω and −ω sin ωt (mass dropped)",
        _rotation_mass_dropped,
        "⟨u_j²⟩(t) at m =",
    ),
    Mutant(
        "thermal-block-collision",
        "block-momentum-without-mass",
        "joined blocks' mean momenta ±v instead of ±mv",
        _block_momentum_without_mass,
        "⟨u_j²⟩(t) at m =",
    ),
    Mutant(
        "thermal-paper-arithmetic",
        "kg-norm-as-printed",
        "KG norm density Im(AȦ* − Ȧ*A) as printed instead of Im(AȦ* − ȦA*)",
        _kg_norm_as_printed,
        "corrected KG norm",
    ),
    Mutant(
        "thermal-paper-arithmetic",
        "drag-factor-wien",
        "Einstein-Hopf factor x/3 (Wien) instead of x/(3(1 − e^{−x})) (Planck)",
        _drag_factor_wien,
        "Einstein-Hopf factor >= 0.3",
    ),
]
