"""Mutants of the exact Schrödinger references: kerr-revival (finite basis)
and spreading (grid split step)."""

from __future__ import annotations

import jax.numpy as jnp
from mutation import Mutant

import jqd
import jqd.schrodinger._basis as basis_module
import jqd.schrodinger._grid as grid_module


def _propagator_time_reversed(monkeypatch):
    # every propagation path of SchrodingerBasis (dense exponential, diagonal
    # phases, eigenbasis saves, Chebyshev, vector field) takes s = t/ħ from hbar_of
    correct = basis_module.hbar_of
    monkeypatch.setattr(basis_module, "hbar_of", lambda params: -correct(params))


def _propagator_without_hbar(monkeypatch):
    # e^{−iHt} instead of e^{−iHt/ħ} on every propagation path of SchrodingerBasis
    monkeypatch.setattr(basis_module, "hbar_of", lambda params: 1.0)


def _kerr_without_minus_n(monkeypatch):
    # (U/2) n² instead of (U/2) n(n − 1) = (U/2) a†²a²: a normal-ordering slip
    def mutated(cutoff, U=1.0):
        n = jnp.arange(cutoff, dtype=float)
        return jnp.diag(0.5 * U * n**2)

    monkeypatch.setattr(jqd.fock, "kerr_hamiltonian", mutated)


def _kinetic_without_half(monkeypatch):
    # e^{−i ħk² h/m} instead of e^{−i ħk² h/2m}
    def mutated(self, params, h, rdtype):
        k2 = self.grid.k_squared(rdtype)
        return jnp.exp(-1j * (params.hbar / params.mass) * h * k2)

    monkeypatch.setattr(grid_module.SchrodingerGrid, "_kinetic_phase", mutated)


def _reference_tau_without_hbar(monkeypatch):
    # the physics §1 reference with τ = t/(m a²) instead of ħt/(m a²): the same
    # density at ħ = 1, a wrong spreading time at ħ ≠ 1
    correct = jqd.reference.free_gaussian_density

    def mutated(x, t, a=1.0, p0=0.0, hbar=1.0, mass=1.0, x0=0.0):
        # ħ' = 1 in τ; the drift p0 t/m keeps p0 (ħ does not enter it)
        return correct(x, t, a=a, p0=p0, hbar=1.0, mass=mass, x0=x0)

    monkeypatch.setattr(jqd.reference, "free_gaussian_density", mutated)


MUTANTS = [
    Mutant(
        "kerr-revival",
        "propagator-time-reversed",
        "e^{+iHt} instead of e^{−iHt} in SchrodingerBasis",
        _propagator_time_reversed,
        "<a(t)> vs closed form",
    ),
    Mutant(
        "kerr-revival",
        "propagator-without-hbar",
        "e^{−iHt} instead of e^{−iHt/ħ} in SchrodingerBasis (ħ dropped)",
        _propagator_without_hbar,
        "<a(t)> at ħ = ",
    ),
    Mutant(
        "kerr-revival",
        "kerr-n-squared",
        "Kerr Hamiltonian (U/2)n² instead of (U/2)n(n − 1)",
        _kerr_without_minus_n,
        "full revival",
    ),
    Mutant(
        "spreading",
        "kinetic-without-half",
        "kinetic phase ħk²/m instead of ħk²/2m in the split step",
        _kinetic_without_half,
        "width",
    ),
    Mutant(
        "spreading",
        "reference-tau-without-hbar",
        "physics §1 reference with spreading time τ = t/(ma²) instead of ħt/(ma²)",
        _reference_tau_without_hbar,
        "1-D density at ħ = ",
    ),
]
