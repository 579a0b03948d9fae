"""Numerical abscissa of the projected Husimi Fokker-Planck operator (physics §4.11)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.sparse.linalg import expm_multiply

import jqd
from jqd.husimi import (
    GalerkinParams,
    HusimiGalerkin,
    anti_wick_symbol,
    bose_hubbard,
    complex_phi4_mode,
    compressed_superoperator,
    harmonic,
    husimi_gram,
    kerr,
    numerical_abscissa,
    phi4_mode,
    sparse_superoperator,
    spectral_abscissa,
    truncation_check,
)


def test_controls_have_zero_abscissa():
    """Truncating H: P L(1) P = −i[H_P, ·], anti-Hermitian in tr(R†S)."""
    for law, n0s in (
        (HusimiGalerkin(kerr(1.0), cutoffs=12), [3, 11]),
        (HusimiGalerkin(bose_hubbard(2, 1.0, 1.0), max_total=6), [4, 6]),
        (HusimiGalerkin(harmonic(1.3), cutoffs=10), [9]),
    ):
        assert np.max(np.abs(numerical_abscissa(law, 1.0, n0s))) <= 1e-12
    # C ≠ 1 leaves the diffusion mismatch (C − 1)·diffusion: growth appears
    assert numerical_abscissa(HusimiGalerkin(kerr(1.0), cutoffs=8), 1.5, 7) > 1e-2


def test_compression_independent_of_cutoff():
    vals = [
        numerical_abscissa(HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=k), 1.0, 6)
        for k in (7, 10, 14)
    ]
    assert np.ptp(vals) <= 1e-12 * vals[0]
    assert vals[0] > 1.0


def test_sparse_matches_dense_superoperator_and_lanczos_matches_dense():
    small = HusimiGalerkin(phi4_mode(1.0, 0.2), cutoffs=5)
    S = sparse_superoperator(small, 1.3).toarray()
    np.testing.assert_allclose(S, np.asarray(small.superoperator(1.3)), atol=1e-12)
    law = HusimiGalerkin(phi4_mode(1.0, 0.2), cutoffs=10)
    # n0 = 9: 100 rows -> Lanczos path; compare with the dense eigenvalue
    Sc = compressed_superoperator(law, 1.0, 9).toarray()
    dense = np.linalg.eigvalsh((Sc + Sc.conj().T) / 2).max()
    assert abs(numerical_abscissa(law, 1.0, 9) - dense) <= 1e-9 * dense


def test_abscissa_is_the_largest_initial_growth_rate():
    """d‖R‖²/dt at t = 0 = 2 Re⟨R, L R⟩ ≤ 2ω‖R‖², attained by the top eigenvector."""
    law = HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=6)
    S = compressed_superoperator(law, 1.0, 5).toarray()
    w = numerical_abscissa(law, 1.0, 5)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.standard_normal(36) + 1j * rng.standard_normal(36)
        assert np.real(np.vdot(x, S @ x)) <= w * np.vdot(x, x).real * (1 + 1e-12)
    v = np.linalg.eigh((S + S.conj().T) / 2)[1][:, -1]
    assert abs(np.real(np.vdot(v, S @ v)) - w) <= 1e-10 * w


def test_husimi_gram_matches_quadrature_and_l2_controls():
    basis = np.arange(4)[:, None]
    G = husimi_gram(basis)
    x = np.linspace(-7, 7, 281)
    A = (x[:, None] + 1j * x[None, :]) / np.sqrt(2)  # α on a (Q, P) grid, d²α = dQ dP / 2
    dA = (x[1] - x[0]) ** 2 / 2
    n = np.arange(4)
    fact = np.array([1.0, 1.0, 2.0, 6.0])
    ket = np.exp(-(np.abs(A)[..., None] ** 2) / 2) * A[..., None] ** n / np.sqrt(fact)  # ⟨n|α⟩
    f = np.einsum("...m,...n->...mn", np.conj(ket), ket) / np.pi  # ⟨α|m⟩⟨n|α⟩/π
    f = f.reshape(A.shape + (16,))
    Gq = np.einsum("abi,abj->ij", np.conj(f), f) * dA
    np.testing.assert_allclose(G, Gq, atol=1e-12)
    # a free rotation keeps ∫Q², Kerr does not (a coherent state spreads): the L²
    # abscissa is 0 for the first only, while the HS abscissa is 0 for both
    free = HusimiGalerkin(harmonic(1.0), cutoffs=6)
    assert abs(numerical_abscissa(free, 1.0, 5, inner="husimi_l2")) <= 1e-9
    assert numerical_abscissa(HusimiGalerkin(kerr(1.0), cutoffs=6), 1.0, 5, inner="husimi_l2") > 1


@pytest.mark.slow
def test_expm_multiply_equals_galerkin_expm():
    """The experiment's exp(tL)R0 (scipy on the sparse operator) = the law's "expm" step."""
    law = HusimiGalerkin(phi4_mode(1.0, 0.2), cutoffs=8, scheme=jqd.schemes.Exact(), fock_tol=1e300)
    c = np.asarray(jqd.fock.coherent_state(0.5, 8, tol=1e-3))
    c = c / np.linalg.norm(c)
    R0 = np.outer(c, c.conj())
    sol = jqd.evolve(law, jnp.asarray(R0), GalerkinParams(1.0), dt=0.05, n_save=1, steps_per_save=1)
    R = expm_multiply(
        sparse_superoperator(law, 1.0), R0.reshape(-1) + 0j, start=0, stop=0.05, num=2
    )
    np.testing.assert_allclose(R[-1].reshape(8, 8), np.asarray(sol.y_final), atol=1e-12)


def test_phi4_spectral_abscissa_grows_with_cutoff_and_is_linear_in_lambda():
    s = [spectral_abscissa(HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=k)) for k in (8, 12)]
    assert 0 < s[0] < s[1]
    w1 = numerical_abscissa(HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=9), 1.0, 8)
    w2 = numerical_abscissa(HusimiGalerkin(phi4_mode(1.0, 0.2), cutoffs=9), 1.0, 8)
    assert abs(w2 / w1 - 2) <= 1e-10


def test_complex_phi4_mode():
    H = complex_phi4_mode(1.0, 0.1)
    assert H.is_hermitian()
    assert not truncation_check(anti_wick_symbol(H, 2)).exact
    basis = jqd.husimi.fock_basis((5, 5))
    M = H.matrix(basis)
    charge = np.diag(basis[:, 0] - basis[:, 1]).astype(float)
    assert np.max(np.abs(M @ charge - charge @ M)) <= 1e-12
    # the quartic term changes the number: it is not a Kerr-type coupling
    number = np.diag(basis.sum(1)).astype(float)
    assert np.max(np.abs(M @ number - number @ M)) > 1e-3
    law = HusimiGalerkin(H, max_total=6)
    assert numerical_abscissa(law, 1.0, 6) > numerical_abscissa(law, 1.0, 4) > 0


def test_bad_arguments():
    law = HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=6)
    with pytest.raises(ValueError, match="n0"):
        numerical_abscissa(law, 1.0, 6)
    with pytest.raises(ValueError, match="inner"):
        numerical_abscissa(law, 1.0, 4, inner="l1")


def test_growing_eigenvectors_live_in_the_top_fock_shells():
    """The growing modes of the projected φ⁴ operator are cutoff modes: at K = 12
    every eigenvector with Re λ > 0 has ≥ 95 % of its weight |R_mn|² on the top
    four shells max(m, n) ≥ 8 (measured min 0.987), the spectrum is ± symmetric."""
    K = 12
    S = compressed_superoperator(HusimiGalerkin(phi4_mode(1.0, 0.1), cutoffs=K), 1.0)
    w, V = np.linalg.eig(S.toarray().astype(complex))
    grow = w.real > 1e-9 * np.abs(w).max()
    shell = np.maximum.outer(np.arange(K), np.arange(K)).reshape(-1)
    top = np.sum(np.abs(V[shell >= K - 4]) ** 2, 0) / np.sum(np.abs(V) ** 2, 0)
    assert grow.sum() > 10 and top[grow].min() > 0.95
    np.testing.assert_allclose(np.sort(w.real), -np.sort(w.real)[::-1], atol=1e-6 * w.real.max())
