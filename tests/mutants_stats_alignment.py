"""Mutants of quantum-statistics (counting weights), copy-phase-alignment
(Smolin's S45 Hamiltonian) and the copy mean-field experiments
(copy-schrodinger, copy-fit-qr)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from mutation import Mutant

import jqd.copy._alignment as alignment_module
import jqd.copy._gillespie as gillespie_module
import jqd.copy._meanfield as meanfield_module
import jqd.dqm._statistics as statistics_module


def _be_with_mb_factor(monkeypatch):
    # BE counted like distinguishable particles: the multinomial N!/Π n_i! kept
    # in the (pattern-independent) BE weight N!(M−1)!/(M+N−1)!.
    correct = statistics_module.log_weight_be

    def mutated(n, dtype=float):
        nf = jnp.asarray(n).astype(dtype)
        mb = gammaln(jnp.sum(nf, -1) + 1) - jnp.sum(gammaln(nf + 1), -1)
        return correct(n, dtype) + mb

    monkeypatch.setattr(statistics_module, "log_weight_be", mutated)


def _alignment_friction(monkeypatch):
    # A friction term −γ π_I in π̇_I (γ = 0.5 per unit time): S45 is conservative.
    correct = alignment_module.PhaseAlignment.vector_field

    def mutated(self, t, y, params):
        v = correct(self, t, y, params)
        return alignment_module.AlignmentState(phi=v.phi, pi=v.pi - 0.5 * y.pi)

    monkeypatch.setattr(alignment_module.PhaseAlignment, "vector_field", mutated)


def _alignment_half_angle(monkeypatch):
    # The class sum C_a = Σ e^{2iφ} of the coupling written with e^{iφ} (the 2
    # dropped): (f²/4) Σ_a (n_a² − |Σ e^{iφ}|²) = (f²/2) Σ_I Σ_{J∈a_I} sin²((φ_I − φ_J)/2),
    # whose only minimum is alignment (no antialigned minimum at π).
    def mutated(self, phi, params):
        P = self.n_states
        a = self.beables
        n = jax.ops.segment_sum(jnp.ones_like(phi), a, num_segments=P)
        c1 = jax.ops.segment_sum(jnp.cos(phi), a, num_segments=P)
        s1 = jax.ops.segment_sum(jnp.sin(phi), a, num_segments=P)
        return 0.25 * params.f**2 * jnp.sum(n**2 - c1**2 - s1**2)

    monkeypatch.setattr(alignment_module.PhaseAlignment, "_potential", mutated)


def _phase_ratio_inverted(monkeypatch):
    # φ̇_a = ω_a + Σ_b (ρ_b/ρ_a)^r R_ab cos(...): the density ratio of S26 upside down.
    correct = meanfield_module._dense_terms

    def mutated(y, params, convention):
        drho, _ = correct(y, params, convention)
        _, dphi = correct(y, eqx.tree_at(lambda p: p.r, params, -params.r), convention)
        return drho, dphi

    monkeypatch.setattr(meanfield_module, "_dense_terms", mutated)


def _copy_rate_without_two(monkeypatch):
    # 𝓡_ab = R_ab sin⁺(...) instead of 2 R_ab sin⁺(...): the population flux halved.
    correct = meanfield_module._dense_terms

    def mutated(y, params, convention):
        drho, dphi = correct(y, params, convention)
        return 0.5 * drho, dphi

    monkeypatch.setattr(meanfield_module, "_dense_terms", mutated)


def _printed_rule_ignored(monkeypatch):
    # The exact copy process reads its rule flag wrongly: "printed" runs the
    # consistent rule (the S39 erratum applied twice).
    correct = gillespie_module.transfer_rates

    def mutated(n, phi, R, delta, rule="consistent"):
        return correct(n, phi, R, delta, "consistent")

    monkeypatch.setattr(gillespie_module, "transfer_rates", mutated)


def _process_hbar_dropped(monkeypatch):
    # The exact copy process takes R_ab = |H_ab|, ω_a = H_aa (ħ dropped from
    # H_ab = ħR_ab e^{iδ}, H_aa = ħω_a): invisible at ħ = 1.
    correct = gillespie_module._rates

    def mutated(params, dtype):
        return correct(eqx.tree_at(lambda p: p.hbar, params, 1.0), dtype)

    monkeypatch.setattr(gillespie_module, "_rates", mutated)


def _meanfield_hbar_dropped(monkeypatch):
    original = meanfield_module.hamiltonian_to_rates
    monkeypatch.setattr(meanfield_module, "hamiltonian_to_rates", lambda H, hbar: original(H, 1.0))


MUTANTS = [
    Mutant(
        "quantum-statistics",
        "be-with-mb-factor",
        "BE counting weight multiplied by the MB multinomial N!/Π n_i!",
        _be_with_mb_factor,
        "BE maximum-entropy occupations",
    ),
    Mutant(
        "copy-phase-alignment",
        "friction",
        "friction −0.5 π_I added to π̇_I (S45 has none)",
        _alignment_friction,
        "small misalignment is not damped",
    ),
    Mutant(
        "copy-phase-alignment",
        "half-angle-coupling",
        "coupling sin²(φ_I − φ_J) summed with e^{iφ} instead of e^{2iφ}",
        _alignment_half_angle,
        "uniform initial phases",
    ),
    Mutant(
        "copy-schrodinger",
        "copy-rate-without-two",
        "copy rate R sin⁺ instead of 2R sin⁺ (population flux halved)",
        _copy_rate_without_two,
        "ρ_a = |ψ_a|²",
    ),
    Mutant(
        "copy-schrodinger",
        "printed-rule-ignored",
        "exact copy process runs the consistent rule when asked for the printed S39 rule",
        _printed_rule_ignored,
        "printed S39 sign is opposite",
    ),
    Mutant(
        "copy-schrodinger",
        "process-hbar-dropped",
        "exact copy process reads R_ab = |H_ab|, ω_a = H_aa (ħ dropped)",
        _process_hbar_dropped,
        "printed S39 sign is opposite",
    ),
    Mutant(
        "copy-fit-qr",
        "meanfield-hbar-dropped",
        "mean-field rates from H with ħ = 1 whatever params.hbar (R = |H_ab|, not |H_ab|/ħ)",
        _meanfield_hbar_dropped,
        "loss at (1/2, −1/2) at ħ = 0.6",
    ),
    Mutant(
        "copy-fit-qr",
        "phase-ratio-inverted",
        "phase equation with (ρ_b/ρ_a)^r instead of (ρ_a/ρ_b)^r (S26)",
        _phase_ratio_inverted,
        "|r + 1/2|",
    ),
]
