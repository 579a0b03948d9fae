"""Mutants of fd-statistics (physics §6.4): the counting weights it tests
mixtures of multinomials against, changed through the seam
`jqd.dqm._statistics` (`weight_fd`/`weight_be` look up `log_weight_fd`/
`log_weight_be` there at call time), and through public `jqd.dqm.multinomial_matrix`
(the integrand of every mixture; mutant shared with quantum-statistics)."""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import gammaln
from mutants_claims_statistics import multinomial_without_coefficient
from mutation import Mutant

import jqd.dqm._statistics as statistics_module


def _fd_without_exclusion(monkeypatch):
    # The Pauli restriction n_i ≤ 1 dropped: N!(M−N)!/M! on every pattern.
    def mutated(n, dtype=float):
        n = jnp.asarray(n)
        M = n.shape[-1]
        Nf = jnp.sum(n, -1).astype(dtype)
        return (
            gammaln(Nf + 1) + gammaln(jnp.maximum(M - Nf, 0) + 1) - gammaln(jnp.asarray(M + 1.0))
        ).astype(dtype)

    monkeypatch.setattr(statistics_module, "log_weight_fd", mutated)


def _be_off_by_one(monkeypatch):
    # N!(M−1)!/(M+N)! instead of N!(M−1)!/(M+N−1)!: the BE count C(N+M−1, N) off by one.
    correct = statistics_module.log_weight_be

    def mutated(n, dtype=float):
        n = jnp.asarray(n)
        Nf = jnp.sum(n, -1).astype(dtype)
        return correct(n, dtype) - jnp.log(Nf + n.shape[-1])

    monkeypatch.setattr(statistics_module, "log_weight_be", mutated)


MUTANTS = [
    Mutant(
        "fd-statistics",
        "fd-without-exclusion",
        "FD weight N!(M−N)!/M! on every pattern (n_i ≤ 1 restriction dropped)",
        _fd_without_exclusion,
        "FD: LP minimum TV",
    ),
    Mutant(
        "fd-statistics",
        "be-off-by-one",
        "BE weight N!(M−1)!/(M+N)! instead of N!(M−1)!/(M+N−1)!",
        _be_off_by_one,
        "BE reached by mixing",
    ),
    Mutant(
        "fd-statistics",
        "multinomial-without-coefficient",
        "mixture integrand Π w_i^{n_i} without the multinomial coefficient N!/Πn_i!",
        multinomial_without_coefficient,
        "signed measure 2δ_{1/2} − ½δ_0 − ½δ_1 gives FD",
    ),
]
