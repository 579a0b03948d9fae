"""husimi-fermions' building blocks (physics §4.14): fermionic Gaussian operators
Λ(n) on the Hubbard dimer, their operator correspondences, and the identity
behind the traceless diffusion."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jqdlab import registry


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


def _random_sector_operator(fx, seed):
    # any Hermitian operator on the N = 2 sector (a general two-body Hamiltonian there)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6))
    out = np.zeros((16, 16), complex)
    out[np.ix_(fx._SECTOR_IDX, fx._SECTOR_IDX)] = x + x.conj().T
    return out


def test_haar_fourth_moment_wick_equals_schur(fx):
    moment = fx.haar_fourth_moment()
    np.testing.assert_allclose(moment, fx.plucker_fourth_moment(), atol=1e-15)
    # marginal: E[L_ab Tr L] = E[L_ab] = δ_ab/6 (Schur on ∧²C⁴)
    np.testing.assert_allclose(np.einsum("abcc->ab", moment), np.eye(6) / 6, atol=1e-15)


def test_p_symbol_reconstructs_h_and_its_berezin_transform_is_the_q_symbol(fx):
    # The P-symbol is right, so F's equation's answer is not an artefact of the symbol.
    c = fx.annihilators()
    factors = fx.berezin_factors(c)
    np.testing.assert_allclose([b for b, _ in factors], [1.0, 0.2, 0.1], atol=1e-14)
    assert [d for _, d in factors] == [1, 15, 20]
    moment = fx.haar_fourth_moment()
    points = fx._random_hermitian_points(np.random.default_rng(4), 3, "pure")
    for H in (fx.hubbard(c, 1.0, 2.0)[1], _random_sector_operator(fx, 5)):
        assert max(fx._p_symbol_errors(H, fx.p_symbol(H, c), moment, points)) < 1e-13
        # the Q-symbol in its place does not reconstruct H
        assert fx._p_symbol_errors(H, H, moment, points)[0] > 0.1


def test_f_equation_with_p_symbol_closes_on_grassmannian_for_any_h(fx):
    # −∇·(QX) + ∇∇:(DQ), X = sJ∇h_P, D = κ[∇²h_P, J]: exact rates for a generic H
    # on the N = 2 sector, with the same s = 1/(5ħ), κ = 1/(80ħ) as for the Hubbard dimer.
    c = fx.annihilators()
    H = _random_sector_operator(fx, 6)
    hbar = 0.8
    frames = np.linalg.qr(np.random.default_rng(7).normal(size=(1, 4, 4)) + 1j * np.eye(4))[0]
    jets = [np.asarray(x)[0] for x in fx._grassmann_jets(jnp.asarray(frames))]
    kappa, s, residual, defect, normal = fx.grassmann_fp_closure(
        frames[0], jets, H, fx.p_symbol(H, c), hbar
    )
    assert max(residual, defect, normal) < 1e-12
    np.testing.assert_allclose([kappa, s], [1 / (80 * hbar), 1 / (5 * hbar)], rtol=1e-12)
    # with the Q-symbol F's single-symbol form fails
    assert fx.grassmann_fp_closure(frames[0], jets, H, H, hbar)[2] > 0.05
    # the one-body part's Hessian commutes with J (so [∇²h_P, J] = 10[∇²h_Q, J])
    one_body = fx.p_symbol(fx.hubbard(c, 1.0, 0.0)[1], c)
    hess = fx._symbol_jets(one_body, jets)[1]
    assert np.abs(hess @ fx._J_CHART - fx._J_CHART @ hess).max() < 1e-13 * np.abs(hess).max()
