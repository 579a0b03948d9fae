"""jqd.husimi's uniqueness helpers (physics §4.3-§4.4): holomorphic derivative
tensors against autodiff, F59 length scales, the SU(2) mode Hamiltonian, and the
constrained operator space of F §III."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jqd.husimi as hu


def test_holomorphic_tensor_matches_autodiff():
    # ∂/∂α = (∂_Q − i∂_P)/√2 by jax on z, for a non-truncating two-mode symbol
    H = hu.complex_phi4_mode(1.0, 0.3) + 0.2 * hu.a(0) * hu.a(0) * hu.a(1)
    H = H + H.dag()
    sym = hu.anti_wick_symbol(H)
    alpha = np.array([0.3 + 0.2j, -0.4 + 0.1j])
    z = np.r_[alpha.real, alpha.imag] * np.sqrt(2)
    re = lambda x: sym(x)
    d3 = np.asarray(jax.jacfwd(jax.jacfwd(jax.grad(re)))(jnp.asarray(z)))
    W = np.zeros((2, 4), complex)  # ∂_α_j = Σ_a W[j, a] ∂_z_a
    for j in range(2):
        W[j, j], W[j, 2 + j] = 1 / np.sqrt(2), -1j / np.sqrt(2)
    ref = np.einsum("ia,jb,kc,abc->ijk", W, W, W, d3)
    got = hu.holomorphic_tensor(sym, 3, alpha)
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert np.max(np.abs(got)) > 0.1


def test_mode_length_scales_remove_free_diffusion():
    omega = np.array([0.5, 1.3])
    ell = np.asarray(hu.mode_length_scales(omega))
    H = lambda z: 0.5 * jnp.sum((z[2:] / ell) ** 2 + omega**2 * (ell * z[:2]) ** 2)
    D = np.asarray(hu.diffusion_matrix(H)(np.zeros(4)))
    assert np.max(np.abs(D)) < 1e-14
    D1 = np.asarray(hu.diffusion_matrix(lambda z: H(z * 1.1))(np.zeros(4)))
    assert np.max(np.abs(D1)) < 1e-14  # a uniform rescaling of z keeps H'' ∝ I
    ell2 = ell * np.array([1.0, 1.2])
    H2 = lambda z: 0.5 * jnp.sum((z[2:] / ell2) ** 2 + omega**2 * (ell2 * z[:2]) ** 2)
    assert np.max(np.abs(np.asarray(hu.diffusion_matrix(H2)(np.zeros(4))))) > 0.1


def test_su2_gauge_modes_violate_truncation_and_abelian_does_not():
    H = hu.su2_gauge_modes(0.5, 1.0, 2 * np.pi, 1)
    assert H.is_hermitian()
    assert not hu.truncation_check(H).exact
    assert hu.truncation_check(hu.su2_gauge_modes(0.0, 1.0, 2 * np.pi, 1)).exact


def test_null_space_is_commutator_under_unitary_covariance():
    cons = hu.diffusion_constraints(2)
    chain = hu.null_space_chain([cons["C5"], cons["C4"], cons["U(N)"]])
    assert [s["dim"] for s in chain] == [45, 24, 1]
    Tc = cons["commutator"].ravel()
    Tc /= np.linalg.norm(Tc)
    B = chain[-1]["basis"]
    assert np.linalg.norm(Tc - B @ (B.T @ Tc)) < 1e-12
