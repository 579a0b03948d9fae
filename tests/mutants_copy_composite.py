"""Mutants of copy-composite (copy dynamics on A ⊗ B, physics §5.10): plausible bugs
its quick claims must catch (see tests/mutation.py). Seams: the experiment's own
`product_hamiltonian` (imported name), `signal_hamiltonians`, `hessian_term`,
`bell_flux` and `_start` (the starting counts)."""

from __future__ import annotations

import sys

import jax.numpy as jnp
from mutation import Mutant

import jqd.copy

EXPERIMENT = "copy-composite"


def _module():
    from jqdlab import registry

    registry.load(EXPERIMENT)
    return sys.modules["jqd_experiments.copy_composite"]


def _kron_swapped(monkeypatch):
    """H = 1 ⊗ H_A + H_B ⊗ 1: the factors' order swapped, A's H acts on B's beable."""
    real = jqd.copy.product_hamiltonian
    monkeypatch.setattr(_module(), "product_hamiltonian", lambda A, B: real(B, A))


def _same_hamiltonian(monkeypatch):
    """Both runs of the signal test built with A's H_A (the H_A' = 0 run lost)."""
    m = _module()
    real = m.signal_hamiltonians
    monkeypatch.setattr(m, "signal_hamiltonians", lambda hbar: real(hbar)[[0, 0]])


def _hessian_half_dropped(monkeypatch):
    """The expansion's mean drift f'':C without its ½."""
    monkeypatch.setattr(_module(), "hessian_term", lambda Hf, C: jnp.einsum("kij,ij->k", Hf, C))


def _flux_without_2(monkeypatch):
    """The Bell flux max(0, Im ψ_a* H_ab ψ_b)/ħ (the 2 of S32 dropped)."""
    m = _module()
    real = m.bell_flux
    monkeypatch.setattr(m, "bell_flux", lambda H, psi, hbar: 0.5 * real(H, psi, hbar))


def _one_member_floor(monkeypatch):
    """Starting counts max(round(N|ψ|²), 1): a guard against 1/√n that puts one
    member into every empty class, so the node start is no longer a node."""
    m = _module()
    real = m._start

    def bad(psi, N):
        n, phi = real(psi, N)
        return jnp.maximum(n, 1.0), phi

    monkeypatch.setattr(m, "_start", bad)


MUTANTS = [
    Mutant(
        experiment=EXPERIMENT,
        name="kron-swapped",
        bug="product H built as 1 ⊗ H_A + H_B ⊗ 1 (A's H acts on B)",
        apply=_kron_swapped,
        caught_by="exact QM: B's marginal does not depend on H_A",
    ),
    Mutant(
        experiment=EXPERIMENT,
        name="signal-same-hamiltonian",
        bug="both signal runs use H_A (the H_A' = 0 run lost)",
        apply=_same_hamiltonian,
        caught_by="finite N: B's marginal responds to H_A (N = 30, t = 2)",
    ),
    Mutant(
        experiment=EXPERIMENT,
        name="sse-hessian-half-dropped",
        bug="system-size expansion's mean drift f'':C without ½",
        apply=_hessian_half_dropped,
        caught_by="CHSH from the copy process's joint counts = S_QM + c_S/N",
    ),
    Mutant(
        experiment=EXPERIMENT,
        name="bell-flux-missing-2",
        bug="closed-form copy rate max(0, Im ψ_a* H_ab ψ_b)/ħ (2 dropped)",
        apply=_flux_without_2,
        caught_by="copies per member = the one-way Bell flux of exact ψ(t) (N = 300)",
    ),
    Mutant(
        experiment=EXPERIMENT,
        name="one-member-floor",
        bug="starting counts max(round(N|ψ|²), 1): one member in every empty class",
        apply=_one_member_floor,
        caught_by="node basis: the copy process stays at S = 2 while QM reaches S_QM",
    ),
]
