"""copy-factorization's rate families (physics §5.9): which lie in Smolin's class
(per member of the source class b, T_{b→a}/n_b, and each term of the phase law,
a function of n_a/n_b and θ_ab alone, as ρ_b (ρ_a/ρ_b)^q 𝓡_ab in §5.1), which
add a symmetric rate, and that the in-class exchange is not factorized."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jqdlab import registry

P = 4


def _ex():
    registry.load("copy-factorization")
    return sys.modules["jqd_experiments.copy_factorization"]


def _links(seed=0):
    """Symmetric R ≥ 0 (zero diagonal), antisymmetric δ, random phases."""
    rng = np.random.default_rng(seed)
    R = rng.uniform(0.5, 1.5, (P, P))
    R = R + R.T
    np.fill_diagonal(R, 0.0)
    delta = np.triu(rng.uniform(-np.pi, np.pi, (P, P)), 1)
    return jnp.asarray(R), jnp.asarray(delta - delta.T), jnp.asarray(rng.uniform(-3, 3, P))


FAMILIES = {  # name -> (NonFactorized fields, in Smolin's class)
    "factorized": ({}, True),
    "cross": ({"cross": 0.3}, True),
    "gauge": ({"gauge": 0.7}, True),
    "in-class exchange": ({"ratio_exchange": 1.0}, True),
    "exchange": ({"exchange": 4.0}, False),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_which_families_are_in_smolins_class(family):
    """Two count vectors with the same n_0/n_1 but other scales and other classes:
    an in-class family gives the same per-member rates T_{1→0}/n_1, T_{0→1}/n_0 and
    the same phase term of the 0-1 link; the s R (n_a n_b/N)(1 + cos θ) exchange
    does not (per member s R ρ_a (1 + cos θ))."""
    ex = _ex()
    fields, in_class = FAMILIES[family]
    rates = ex.NonFactorized(**fields)
    R, delta, phi = _links()
    link = jnp.zeros((P, P)).at[0, 1].set(R[0, 1]).at[1, 0].set(R[0, 1])  # only 0 ↔ 1
    per_member, phase = [], []
    for n in ([20.0, 10.0, 70.0, 5.0], [60.0, 30.0, 3.0, 400.0]):
        n = jnp.asarray(n)
        T = rates.transfer_rates(n, phi, R, delta)
        per_member.append(np.array([T[1, 0] / n[1], T[0, 1] / n[0]]))
        phase.append(np.asarray(rates.phase_velocity(n, phi, link, delta, jnp.zeros(P)))[:2])
    same = np.allclose(per_member[0], per_member[1], rtol=1e-12, atol=0.0)
    assert same == in_class, per_member
    np.testing.assert_allclose(phase[0], phase[1], rtol=1e-12)  # G: every family here


@pytest.mark.parametrize("family", ["in-class exchange", "exchange"])
def test_exchange_adds_a_symmetric_nonnegative_rate(family):
    """S = T(family) − T(factorized) is S_ab = S_ba ≥ 0 (the drift does not see it),
    including a nearly empty class (u_ab → ±1) and an empty one."""
    ex = _ex()
    rates = ex.NonFactorized(**FAMILIES[family][0])
    R, delta, phi = _links(1)
    for n in ([40.0, 25.0, 1.0, 0.0], [3.0, 300.0, 30.0, 7.0]):
        n = jnp.asarray(n)
        S = rates.transfer_rates(n, phi, R, delta) - ex.NonFactorized().transfer_rates(
            n, phi, R, delta
        )
        np.testing.assert_allclose(S, S.T, rtol=1e-13, atol=1e-13)
        assert np.all(np.asarray(S) >= 0.0)


def test_in_class_exchange_is_not_factorized():
    """Per member of b the in-class exchange is F(r, θ) = s' R √r (1 + u² cos θ),
    u = (r − 1)/(r + 1): F(1, 0) F(3, π) ≠ F(1, π) F(3, 0), so F is no product
    𝓕(r) 𝓡(θ) (a product's 2×2 minors vanish). Two classes, θ ∈ {0, π} (sin⁺ = 0:
    only the exchange), from the law's own transfer rates."""
    ex = _ex()
    rates = ex.NonFactorized(ratio_exchange=1.0)
    R = jnp.asarray([[0.0, 1.0], [1.0, 0.0]])

    def F(r, theta):
        n = jnp.asarray([r, 1.0])
        T = rates.transfer_rates(n, jnp.asarray([theta, 0.0]), R, jnp.zeros((2, 2)))
        return float(T[1, 0] / n[1])  # θ_01 = φ_0 − φ_1 = theta

    np.testing.assert_allclose([F(3.0, 0.0), F(3.0, np.pi)], [1.25 * 3**0.5, 0.75 * 3**0.5])
    minor = F(1.0, 0.0) * F(3.0, np.pi) - F(1.0, np.pi) * F(3.0, 0.0)
    np.testing.assert_allclose(minor, -0.5 * 3**0.5, rtol=1e-12)
