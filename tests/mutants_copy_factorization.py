"""Mutants of copy-factorization (non-factorized copy rates, physics §5.9):
plausible bugs its quick claims must catch (see tests/mutation.py). Seams: the
experiment's own `cross_factor`, `exchange_rate`, `ratio_exchange_rate` and
`gauge_term` (the four non-factorized terms of its `NonFactorized` rates),
`harmonic_rate` and `harmonic_phase` (the second harmonic of its `Harmonic` rates),
`reversal_map` and `reversed_hamiltonian` (its time-reversal test), `jqd.copy._meanfield.
hamiltonian_to_rates`, `jqd.copy._tau_leap._rates` and
`jqd.copy._tau_leap._multinomial_moves` (the count tau-leap's draw of one
step's moves)."""

from __future__ import annotations

import sys

import equinox as eqx
import jax.numpy as jnp
from mutation import Mutant

import jqd.copy._meanfield as meanfield
import jqd.copy._tau_leap as tau_leap


def _module():
    from jqdlab import registry

    registry.load("copy-factorization")
    return sys.modules["jqd_experiments.copy_factorization"]


def _eps_ignored(monkeypatch):
    """The cross factor 1 + ε u cos θ evaluated as 1: ε ignored."""
    monkeypatch.setattr(_module(), "cross_factor", lambda cross, u, theta: 1.0 + 0.0 * u)


def _cross_ratio_inverted(monkeypatch):
    """The cross term with u_ba = (n_b − n_a)/(n_a + n_b) instead of u_ab."""
    monkeypatch.setattr(
        _module(), "cross_factor", lambda cross, u, theta: 1.0 - cross * u * jnp.cos(theta)
    )


def _exchange_sin(monkeypatch):
    """The exchange term with sin θ_ab for cos θ_ab: no longer symmetric in a ↔ b."""
    monkeypatch.setattr(
        _module(),
        "exchange_rate",
        lambda s, R, nn, theta: s * R * nn * (1.0 + jnp.sin(theta)),
    )


def _exchange_ignored(monkeypatch):
    """The exchange strength s ignored (s = 0): invisible in the mean field."""
    monkeypatch.setattr(_module(), "exchange_rate", lambda s, R, nn, theta: 0.0 * nn)


def _ratio_exchange_u_unsquared(monkeypatch):
    """The in-class exchange with u_ab for u_ab²: u_ab cos θ_ab is odd in a ↔ b, so the
    term is no longer symmetric and enters the drift."""
    monkeypatch.setattr(
        _module(),
        "ratio_exchange_rate",
        lambda s, R, sqrt_nn, u, theta: s * R * sqrt_nn * (1.0 + u * jnp.cos(theta)),
    )


def _ratio_exchange_out_of_class(monkeypatch):
    """The in-class exchange with the out-of-class count factor n_a n_b/N for √(n_a n_b)
    (N = Σ_a n_a, the trace of √(n_a n_b)): still symmetric, so invisible in the mean
    field; the noise falls to about half the in-class LNA's."""

    def bad(s, R, sqrt_nn, u, theta):
        nn_over_N = sqrt_nn**2 / jnp.trace(sqrt_nn)
        return s * R * nn_over_N * (1.0 + u**2 * jnp.cos(theta))

    monkeypatch.setattr(_module(), "ratio_exchange_rate", bad)


def _ratio_exchange_ignored(monkeypatch):
    """The in-class exchange strength s' ignored (s' = 0): invisible in the mean field."""
    monkeypatch.setattr(
        _module(), "ratio_exchange_rate", lambda s, R, sqrt_nn, u, theta: 0.0 * sqrt_nn
    )


def _gauge_term_dropped(monkeypatch):
    """The phase law of the gauge family without 2κ sin ϑ (κ d ln ρ/dt dropped)."""
    monkeypatch.setattr(_module(), "gauge_term", lambda kappa, vartheta: 0.0 * vartheta)


def _meanfield_hbar_dropped(monkeypatch):
    """Mean-field rates R = |H_ab|, ω = H_aa (ħ dropped). Invisible at ħ = 1."""
    correct = meanfield.hamiltonian_to_rates
    monkeypatch.setattr(meanfield, "hamiltonian_to_rates", lambda H, hbar=1.0: correct(H, 1.0))


def _tau_leap_hbar_dropped(monkeypatch):
    """Tau-leap rates R = |H_ab|, ω = H_aa (ħ dropped). Invisible at ħ = 1."""
    correct = tau_leap._rates

    def bad(params, dtype):
        return correct(eqx.tree_at(lambda p: p.hbar, params, 1.0), dtype)

    monkeypatch.setattr(tau_leap, "_rates", bad)


def _tau_leap_noise_halved(monkeypatch):
    """The count tau-leap's moves with half their noise: mean + ½(draw − mean), the
    mean n_b p_ba (the drift, hence the mean field, unchanged)."""
    correct = tau_leap._multinomial_moves

    def bad(key, n, p_rows):
        mean = n[:, None] * p_rows
        return mean + 0.5 * (correct(key, n, p_rows) - mean)

    monkeypatch.setattr(tau_leap, "_multinomial_moves", bad)


def _reversal_gauge_term_dropped(monkeypatch):
    """The reversal map φ̃ = −φ for every family: the gauge family's 2κ ln ρ dropped."""
    monkeypatch.setattr(_module(), "reversal_map", lambda rho, phi, kappa: -phi)


def _reversal_delta_kept(monkeypatch):
    """The reversed run with H, not H*: δ not flipped (S38: δ is odd under reversal)."""
    monkeypatch.setattr(_module(), "reversed_hamiltonian", lambda H: H)


def _cross_sin(monkeypatch):
    """The cross factor 1 + ε u sin θ for 1 + ε u cos θ."""
    monkeypatch.setattr(
        _module(), "cross_factor", lambda cross, u, theta: 1.0 + cross * u * jnp.sin(theta)
    )


def _harmonic_first(monkeypatch):
    """The second-harmonic transfer rate with sin⁺θ for sin⁺(2θ) (the harmonic index
    dropped in the rate only)."""
    monkeypatch.setattr(
        _module(),
        "harmonic_rate",
        lambda eta, R, sqrt_nn, theta: 4.0 * eta * R * sqrt_nn * jnp.maximum(jnp.sin(theta), 0.0),
    )


def _harmonic_phase_sin(monkeypatch):
    """The phase law's second harmonic η R sin(2θ) for η R cos(2θ): odd in θ, violating
    S24 (𝓤(z) = 𝓤(z̄))."""
    monkeypatch.setattr(
        _module(), "harmonic_phase", lambda eta, R, theta: eta * R * jnp.sin(2.0 * theta)
    )


def _harmonic_rate_halved(monkeypatch):
    """The second-harmonic transfer amplitude 2ηR (R'² = 2R², the first harmonic's
    ratio copied) for 4ηR: the flow is no longer Hamiltonian."""
    monkeypatch.setattr(
        _module(),
        "harmonic_rate",
        lambda eta, R, sqrt_nn, theta: 2.0 * eta * R * sqrt_nn * jnp.maximum(jnp.sin(2 * theta), 0),
    )


def _mutant(name, bug, apply, caught_by):
    return Mutant(
        experiment="copy-factorization", name=name, bug=bug, apply=apply, caught_by=caught_by
    )


MUTANTS = [
    _mutant("eps-ignored", "cross factor 1 + ε u cos θ taken as 1", _eps_ignored, "Duhamel slope"),
    _mutant(
        "eps-ignored-process",
        "cross factor 1 + ε u cos θ taken as 1 (process at ε*)",
        _eps_ignored,
        "predicted ε*",
    ),
    _mutant(
        "cross-ratio-inverted",
        "cross term with u_ba = (n_b − n_a)/(n_a + n_b) instead of u_ab",
        _cross_ratio_inverted,
        "Duhamel slope",
    ),
    _mutant(
        "exchange-sin",
        "exchange term s R (n_a n_b/N)(1 + sin θ): not symmetric in a ↔ b",
        _exchange_sin,
        "exchange: mean field",
    ),
    _mutant(
        "exchange-ignored",
        "exchange strength s ignored (invisible in the mean field)",
        _exchange_ignored,
        "exchange: finite-N noise",
    ),
    _mutant(
        "ratio-exchange-u-unsquared",
        "in-class exchange s' R √(n_a n_b)(1 + u cos θ): u for u², not symmetric in a ↔ b",
        _ratio_exchange_u_unsquared,
        "in-class exchange: mean field",
    ),
    _mutant(
        "ratio-exchange-out-of-class",
        "in-class exchange with n_a n_b/N for √(n_a n_b) (symmetric; invisible in the mean field)",
        _ratio_exchange_out_of_class,
        "in-class exchange: finite-N noise",
    ),
    _mutant(
        "ratio-exchange-ignored",
        "in-class exchange strength s' ignored (invisible in the mean field)",
        _ratio_exchange_ignored,
        "in-class exchange raises the noise",
    ),
    _mutant(
        "gauge-term-dropped",
        "gauge phase law without 2κ sin ϑ",
        _gauge_term_dropped,
        "gauge: mean field",
    ),
    _mutant(
        "meanfield-hbar-dropped",
        "mean-field rates R = |H_ab|, ω = H_aa (ħ dropped; invisible at ħ = 1)",
        _meanfield_hbar_dropped,
        "ε = 0 rates object",
    ),
    _mutant(
        "tau-leap-noise-halved",
        "count tau-leap moves mean + ½(draw − mean): half the noise amplitude, the same drift",
        _tau_leap_noise_halved,
        "noise floor = linear-noise",
    ),
    _mutant(
        "reversal-gauge-term-dropped",
        "time-reversal map φ̃ = −φ without the gauge family's 2κ ln ρ",
        _reversal_gauge_term_dropped,
        "gauge: time reversal with",
    ),
    _mutant(
        "reversal-delta-kept",
        "reversed run with H instead of H* (δ not flipped)",
        _reversal_delta_kept,
        "exchange: time reversal",
    ),
    _mutant(
        "ratio-exchange-u-unsquared-reversal",
        "in-class exchange with u for u² (u cos θ: even under reversal, odd in a ↔ b)",
        _ratio_exchange_u_unsquared,
        "in-class exchange: time reversal",
    ),
    _mutant(
        "gauge-term-dropped-naive-reversal",
        "gauge phase law without 2κ sin ϑ (seen by the φ → −φ reversal)",
        _gauge_term_dropped,
        "φ → −φ alone",
    ),
    _mutant(
        "cross-sin",
        "cross factor 1 + ε u sin θ for 1 + ε u cos θ",
        _cross_sin,
        "time-reversal defect",
    ),
    _mutant(
        "harmonic-first",
        "second-harmonic transfer rate with sin⁺θ for sin⁺(2θ)",
        _harmonic_first,
        "second harmonic: first-order",
    ),
    _mutant(
        "harmonic-phase-sin",
        "second-harmonic phase term η R sin 2θ for η R cos 2θ (violates S24)",
        _harmonic_phase_sin,
        "second harmonic: time reversal",
    ),
    _mutant(
        "harmonic-rate-halved",
        "second-harmonic transfer amplitude 2ηR for 4ηR (not Hamiltonian)",
        _harmonic_rate_halved,
        "second harmonic: K conserved",
    ),
    _mutant(
        "tau-leap-hbar-dropped",
        "tau-leap rates R = |H_ab|, ω = H_aa (ħ dropped; invisible at ħ = 1)",
        _tau_leap_hbar_dropped,
        "noise floor",
    ),
]
