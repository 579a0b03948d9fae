"""husimi-fermions' building blocks (physics §4.14): fermionic Gaussian operators
Λ(n) on the Hubbard dimer, their operator correspondences, and the identity
behind the traceless diffusion."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jqd.run import registry


@pytest.fixture(scope="module")
def fx():
    registry.load("husimi-fermions")
    return sys.modules["jqd_experiments.husimi_fermions"]


def _random_n(seed):
    rng = np.random.default_rng(seed)
    return 0.45 * (rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))


def test_gaussian_operator_normalized_and_one_body(fx):
    n = _random_n(1)
    lam = np.asarray(fx.gaussian_operator(jnp.asarray(n)))
    c = fx.annihilators()
    assert abs(np.trace(lam) - 1) < 1e-13
    got = np.array([[np.trace(lam @ c[i].T @ c[j]) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(got, n, atol=1e-13)
    # NumPy and jax paths agree
    np.testing.assert_allclose(fx._lambda_values(n[None])[0], lam, atol=1e-14)


def test_gaussian_operator_multiplicative_on_product_states(fx):
    # diag n: Λ = ⊗_k [(1 − ν_k)|0⟩⟨0| + ν_k|1⟩⟨1|]
    nu = np.array([0.1, 0.7, 0.4, 0.9])
    lam = np.asarray(fx.gaussian_operator(jnp.asarray(np.diag(nu).astype(complex))))
    single = [np.diag([1 - v, v]) for v in nu]
    expected = single[0]
    for s in single[1:]:
        expected = np.kron(expected, s)
    np.testing.assert_allclose(lam, expected, atol=1e-15)


def test_correspondences_and_generator(fx):
    n = _random_n(2)
    lam, d1, d2 = (np.asarray(x)[0] for x in fx._lambda_derivatives(jnp.asarray(n[None])))
    c = fx.annihilators()
    for i, j in [(0, 0), (0, 2), (3, 1)]:
        x = c[i].T @ c[j]
        for side, exact in (("L", x @ lam), ("R", lam @ x)):
            c0, a = fx.correspondence(n, i, j, side)
            np.testing.assert_allclose(
                c0 * lam + np.einsum("lk,ablk->ab", a, d1), exact, atol=1e-13
            )
    h, H = fx.hubbard(c, 1.0, 2.5)
    coeffs = [
        np.asarray(x)[0]
        for x in fx._generator_batch(jnp.asarray(n[None]), jnp.asarray(h), 2.5, 0.8)
    ]
    got = fx.apply_operator(coeffs, lam, d1, d2)
    np.testing.assert_allclose(got, 1j / 0.8 * (H @ lam - lam @ H), atol=1e-12)


def test_diffusion_hs_trace_vanishes_for_complex_n(fx):
    # Tr_HS D = Σ_lk D_lk,kl = (iU/ħ) Σ_sites (Tr(a^L b^L) − Tr(a^R b^R)) = 0 since n(1 − n) = (1 − n)n
    n = _random_n(3)
    h, _ = fx.hubbard(fx.annihilators(), 1.0, 3.0)
    _, _, d = (
        np.asarray(x)[0]
        for x in fx._generator_batch(jnp.asarray(n[None]), jnp.asarray(h), 3.0, 1.0)
    )
    assert abs(np.einsum("lkkl->", d)) < 1e-13 * np.abs(d).max()
    assert np.abs(d).max() > 0.1


def test_fit_points_guard(fx):
    with pytest.raises(ValueError, match="n_fit_points"):
        fx.validate(fx.Config(n_fit_points=50))
