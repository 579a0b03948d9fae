"""Mutants of quantum-statistics (physics §6, issue 26): the Z47 weight the
Z51-Z53 quadrature is compared with, the multinomial integrand of that
quadrature, and the Z45 weight checked against the microstate count.
Seams: `jqd.dqm._statistics` (counting weights, looked up at call time by
`weight_be`/`weight_mb`) and public `jqd.dqm.multinomial_matrix` (with
`jqd.dqm._mixtures.multinomial_matrix`, where `closest_mixture` reads it)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from mutation import Mutant
from scipy.special import gammaln

import jqd.dqm
import jqd.dqm._mixtures as mixtures_module
import jqd.dqm._statistics as statistics_module


def _be_weight_m_for_m_minus_1(monkeypatch):
    # N!M!/(M+N)! instead of N!(M−1)!/(M+N−1)!: the BE count C(N+M, N) (M ↔ M + 1).
    correct = statistics_module.log_weight_be

    def mutated(n, dtype=float):
        n = jnp.asarray(n)
        M = n.shape[-1]
        Nf = jnp.sum(n, -1).astype(dtype)
        return correct(n, dtype) + jnp.log(jnp.asarray(M, dtype)) - jnp.log(Nf + M)

    monkeypatch.setattr(statistics_module, "log_weight_be", mutated)


def multinomial_without_coefficient(monkeypatch):
    """The multinomial coefficient N!/Πn_i! dropped: Π w_i^{n_i} (the probability
    of one ordered sequence) in place of Mult(n | N, w)."""
    correct = mixtures_module.multinomial_matrix

    def mutated(patterns, w):
        n = np.asarray(patterns, np.float64)
        logc = gammaln(n.sum(-1) + 1) - gammaln(n + 1).sum(-1)
        return correct(patterns, w) / np.exp(logc)[:, None]

    monkeypatch.setattr(mixtures_module, "multinomial_matrix", mutated)
    monkeypatch.setattr(jqd.dqm, "multinomial_matrix", mutated)


def _mb_without_multinomial(monkeypatch):
    # Z45 without N!/Πn_i!: M^(−N), the probability of one microstate, as the pattern weight.
    def mutated(n, dtype=float):
        n = jnp.asarray(n)
        M = n.shape[-1]
        return -jnp.sum(n, -1).astype(dtype) * jnp.log(jnp.asarray(M, dtype))

    monkeypatch.setattr(statistics_module, "log_weight_mb", mutated)


MUTANTS = [
    Mutant(
        "quantum-statistics",
        "be-weight-m-for-m-minus-1",
        "BE weight N!M!/(M+N)! instead of N!(M−1)!/(M+N−1)! (Z47 with M → M + 1)",
        _be_weight_m_for_m_minus_1,
        "averaged weight (N, M) = (4, 3)",
    ),
    Mutant(
        "quantum-statistics",
        "multinomial-without-coefficient",
        "integrand Π w_i^{n_i} without the multinomial coefficient N!/Πn_i! (Z52)",
        multinomial_without_coefficient,
        "averaged weight (N, M) = (6, 5)",
    ),
    Mutant(
        "quantum-statistics",
        "mb-without-multinomial",
        "MB weight M^(−N) (one microstate) instead of M^(−N) N!/Πn_i! (Z45)",
        _mb_without_multinomial,
        "MB weight = microstate count",
    ),
]
