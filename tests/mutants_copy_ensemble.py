"""Mutants of the copy-dynamics ensemble experiments (copy-classical-limit,
copy-nodes, copy-finite-N): plausible physics bugs their quick claims must
catch (see tests/mutation.py)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from mutation import Mutant, scaled

import jqd


def _ring_rate_missing_2(monkeypatch):
    """R_{a,a±1} = ħ/(mā²) instead of ħ/(2mā²) in the ring copy law (S56)."""
    orig = jqd.copy.ring_params

    def bad(*args, **kwargs):
        p = orig(*args, **kwargs)
        return eqx.tree_at(lambda q: q.R, p, 2.0 * p.R)

    monkeypatch.setattr(jqd.copy, "ring_params", bad)


def _hopping_energy_missing_hbar(monkeypatch):
    """Hopping energy R instead of ħR (H_ab = ħR_ab e^{iδ}): the ring dispersion
    (ħ/mā²)(1 − cos kā) instead of (ħ²/mā²)(1 − cos kā). Invisible at ħ = 1."""

    def bad(k, spacing, hbar=1.0, mass=1.0):
        return hbar / (mass * spacing**2) * (1 - jnp.cos(k * spacing))

    monkeypatch.setattr(jqd.schrodinger._ring, "tight_binding_dispersion", bad)


def _dispersion_without_mass(monkeypatch):
    """Ring dispersion (ħ²/ā²)(1 − cos kā) without its 1/m (R = ħ/2ā² instead of
    ħ/2mā²). Invisible at m = 1."""
    orig = jqd.schrodinger._ring.tight_binding_dispersion

    def bad(k, spacing, hbar=1.0, mass=1.0):
        return orig(k, spacing, hbar, 1.0)

    monkeypatch.setattr(jqd.schrodinger._ring, "tight_binding_dispersion", bad)


def _copies_into_empty_class(monkeypatch):
    """√(n_a n_b) regularized as √(max(n_a, 1e-3) n_b) in the b → a transfer rate:
    members copy INTO an empty class at a small rate (the S63 bug)."""

    def bad(n, phi, R, delta, rule="consistent"):
        theta = phi[None, :] - phi[:, None] + delta.T
        if rule == "printed":
            theta = -theta
        s = jnp.maximum(jnp.sin(theta), 0.0)
        nn = jnp.sqrt(jnp.maximum(n[None, :], 1e-3) * jnp.maximum(n[:, None], 0.0))
        return 2.0 * R.T * nn * s

    monkeypatch.setattr(jqd.copy._gillespie, "transfer_rates", bad)


def _exact_rate_missing_2(monkeypatch):
    """Exact (event-driven) process with T_{b→a} = R √(n_a n_b) sin⁺ instead of
    2R √(n_a n_b) sin⁺: populations move at half the Schrödinger rate."""
    monkeypatch.setattr(
        jqd.copy._gillespie, "transfer_rates", scaled(jqd.copy._kinetics.transfer_rates, 0.5)
    )


def _tau_leap_hbar_dropped(monkeypatch):
    """Tau-leap rates R_ab = |H_ab|, ω_a = H_aa: ħ dropped from H_ab = ħR_ab e^{iδ},
    H_aa = ħω_a. Invisible at ħ = 1."""
    correct = jqd.copy._tau_leap._rates

    def bad(params, dtype):
        return correct(eqx.tree_at(lambda p: p.hbar, params, 1.0), dtype)

    monkeypatch.setattr(jqd.copy._tau_leap, "_rates", bad)


def _tau_leap_rate_missing_2(monkeypatch):
    """Tau-leap move probability p = dt·T/n_b with T missing its factor 2
    (R √(n_a n_b) sin⁺ instead of 2R √(n_a n_b) sin⁺)."""
    monkeypatch.setattr(
        jqd.copy._tau_leap, "transfer_rates", scaled(jqd.copy._kinetics.transfer_rates, 0.5)
    )


MUTANTS = [
    Mutant(
        experiment="copy-finite-N",
        name="tau-leap-hbar-dropped",
        bug="tau-leap process reads R_ab = |H_ab|, ω_a = H_aa (ħ dropped)",
        apply=_tau_leap_hbar_dropped,
        caught_by="exponent tau-leap, counts",
    ),
    Mutant(
        experiment="copy-classical-limit",
        name="ring-rate-missing-2",
        bug="ring copy rate R = ħ/(mā²) instead of ħ/(2mā²) (S56)",
        apply=_ring_rate_missing_2,
        caught_by="copy law = tight binding",
    ),
    Mutant(
        experiment="copy-classical-limit",
        name="hopping-energy-missing-hbar",
        bug="hopping energy R instead of ħR: dispersion (ħ/mā²)(1 − cos kā)",
        apply=_hopping_energy_missing_hbar,
        caught_by="centre → HJ ensemble",
    ),
    Mutant(
        experiment="copy-classical-limit",
        name="dispersion-without-mass",
        bug="ring dispersion (ħ²/ā²)(1 − cos kā) without 1/m (R = ħ/2ā²)",
        apply=_dispersion_without_mass,
        caught_by="order in ā",
    ),
    Mutant(
        experiment="copy-nodes",
        name="copies-into-empty-class",
        bug="b → a transfer rate ∝ √(max(n_a, 1e-3) n_b): copying into an empty class (S63)",
        apply=_copies_into_empty_class,
        caught_by="node never fills",
    ),
    Mutant(
        experiment="copy-nodes",
        name="exact-rate-missing-2",
        bug="exact process transfer rate R √(n_a n_b) sin⁺ instead of 2R √(n_a n_b) sin⁺",
        apply=_exact_rate_missing_2,
        caught_by="node never fills",
    ),
    Mutant(
        experiment="copy-finite-N",
        name="tau-leap-rate-missing-2",
        bug="tau-leap transfer probability dt·T/n_b with T missing its factor 2",
        apply=_tau_leap_rate_missing_2,
        caught_by="exponent tau-leap, counts",
    ),
]
