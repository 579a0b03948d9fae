"""Phase-space symbols, Husimi functions of states, structural checks (physics §4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import husimi as hs
from jqd.husimi import a, ad


def _rand_points(n, n_modes, seed=0, scale=1.5):
    return np.random.default_rng(seed).normal(size=(n, 2 * n_modes)) * scale


# ---------------------------------------------------------------- ordering


def test_ordering_rules():
    # a† a = a a† − 1 (anti-normal);  a a† = a† a + 1 (normal)
    assert hs.anti_normal_order(ad(0) * a(0)).terms == {((0, False), (0, True)): 1, (): -1}
    assert hs.normal_order(a(0) * ad(0)).terms == {((0, True), (0, False)): 1, (): 1}
    # different modes commute: no constant
    assert hs.anti_normal_order(ad(1) * a(0)).terms == {((0, False), (1, True)): 1}
    # a†²a² = a²a†² − 4 a a† + 2  (physics §4)
    got = hs.anti_normal_order(ad(0) ** 2 * a(0) ** 2).terms
    want = {((0, False),) * 2 + ((0, True),) * 2: 1, ((0, False), (0, True)): -4, (): 2}
    assert got == want


def test_ordering_preserves_operator():
    basis = hs.fock_basis(14)
    for H in [hs.kerr(0.7), hs.phi4_mode(1.0, 0.3), hs.parametric(0.4, 1.1)]:
        for order in (hs.anti_normal_order, hs.normal_order):
            # compare on low states only (words leave the truncated space at the top)
            M1, M2 = H.matrix(basis)[:8, :8], order(H).matrix(basis)[:8, :8]
            np.testing.assert_allclose(M1, M2, atol=1e-12)


def test_kerr_symbols():
    U = 0.8
    H = hs.kerr(U)
    z = _rand_points(20, 1)
    al = (z[:, 0] + 1j * z[:, 1]) / np.sqrt(2)
    r2 = np.abs(al) ** 2
    # the ordering routine reproduces the closed form (U/2)(|α|⁴ − 4|α|² + 2) (physics §4)
    np.testing.assert_allclose(
        hs.anti_wick_symbol(H)(z), jqd.reference.kerr_symbol(z, U), rtol=1e-13
    )
    np.testing.assert_allclose(hs.wick_symbol(H)(z), 0.5 * U * r2**2, rtol=1e-13)
    # two modes: the sum of two Kerr symbols
    z2 = _rand_points(5, 2)
    np.testing.assert_allclose(
        hs.anti_wick_symbol(hs.kerr(U, 0) + hs.kerr(U, 1))(z2),
        jqd.reference.kerr_symbol(z2, U),
        rtol=1e-13,
    )


# F69 as printed (F, Sec. V A, eq. 69; OCR of /work/shared/papers/001_...txt):
#   H_aw = −J Σ_<ij> α_i* α_j + (U/2) Σ_i (α_i² α_i*² − 3 α_i* α_i) + const,
# and the text below it: "the quadratic term −3 a_i† a_i = −3|α_i|²". The derived
# coefficient (a†²a² = a²a†² − 4 a a† + 2, physics §4) is −4, with constant +2.
F69_PRINTED_ABS2 = -3  # coefficient of |α_i|² inside (U/2) Σ_i (...), as printed
DERIVED_ABS2 = -4  # the same coefficient from the ordering rule a†²a² = a²a†² − 4aa† + 2


def test_bose_hubbard_symbol_and_F69():
    J, U, M = 0.7, 1.3, 3
    H = hs.bose_hubbard(M, J, U)
    sym = hs.anti_wick_symbol(H)
    z = _rand_points(10, M, seed=1)
    al = (z[:, :M] + 1j * z[:, M:]) / np.sqrt(2)
    r2 = np.abs(al) ** 2
    hop = sum(2 * np.real(np.conj(al[:, i]) * al[:, i + 1]) for i in range(M - 1))
    spec = -J * hop + 0.5 * U * np.sum(r2**2 + DERIVED_ABS2 * r2 + 2, axis=1)
    np.testing.assert_allclose(sym(z), spec, rtol=1e-12)
    # the ordering routine's |α_i|² coefficient is (U/2)·(−4) on every site; the
    # printed F69 has (U/2)·(−3): they differ by exactly −U/2 per site
    coeffs = sym.as_dict()
    for i in range(M):
        e = tuple(int(k == i) for k in range(M))
        assert coeffs[(e, e)] == pytest.approx(0.5 * U * DERIVED_ABS2, rel=1e-15)
        assert coeffs[(e, e)] / (0.5 * U) - F69_PRINTED_ABS2 == pytest.approx(-1.0, abs=1e-14)


def test_F69_printed_coefficient_misses_fock_energies_by_U_over_2_per_boson():
    """⟨n|H|n⟩ from ∫ H_aw ρ_n dz: with the derived −4 the symbol gives the exact
    (U/2) n(n − 1); with the printed −3 (any constant) the excitation energies
    E(n) − E(0) come out too high by exactly (U/2)·n (∫|α|²ρ_n = n + 1), so no
    choice of the unprinted constant repairs F69."""
    J, U = 0.7, 1.3
    cut = (6, 1)
    basis = hs.fock_basis(cut)
    derived = hs.anti_wick_symbol(hs.bose_hubbard(2, J, U))

    def printed(z):  # F69 as printed, const = 0; z = (Q0, Q1, P0, P1)
        al = (z[:, :2] + 1j * z[:, 2:]) / np.sqrt(2)
        r2 = np.abs(al) ** 2
        hop = 2 * np.real(np.conj(al[:, 0]) * al[:, 1])
        return -J * hop + 0.5 * U * np.sum(r2**2 + F69_PRINTED_ABS2 * r2, axis=1)

    def energies(symbol):
        out = []
        for n in range(6):  # Fock state |n, 0⟩: the hopping term averages to 0
            psi = jqd.fock.fock_state(6, n)
            out.append(
                _gauss_hermite_integral(
                    lambda z, psi=psi: (
                        np.asarray(symbol(z)) * np.asarray(hs.husimi_density(psi, z, basis=basis))
                    ),
                    4,
                )
            )
        return np.array(out)

    n = np.arange(6)
    exact = 0.5 * U * n * (n - 1)
    e_derived, e_printed = energies(derived), energies(printed)
    np.testing.assert_allclose(e_derived, exact, atol=1e-11)
    excess = (e_printed - e_printed[0]) - (exact - exact[0])
    np.testing.assert_allclose(excess, 0.5 * U * (F69_PRINTED_ABS2 - DERIVED_ABS2) * n, atol=1e-11)
    np.testing.assert_allclose(excess, 0.5 * U * n, atol=1e-11)


def _gauss_hermite_integral(f, n_dim, n_nodes=14):
    """∫ f(z) dz over R^n_dim for f = Gaussian e^{−|z|²/2} × polynomial (exact)."""
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    grids = np.meshgrid(*([x] * n_dim), indexing="ij")
    pts = np.sqrt(2) * np.stack([g.ravel() for g in grids], 1)
    wts = np.ones(len(pts))
    for g in np.meshgrid(*([w * np.sqrt(2) * np.exp(x**2)] * n_dim), indexing="ij"):
        wts = wts * g.ravel()
    return np.sum(wts * np.asarray(f(pts)))


@pytest.mark.parametrize(
    "H,cutoffs",
    [
        (hs.kerr(1.3), (6,)),
        (hs.phi4_mode(1.0, 0.4), (6,)),
        (hs.parametric(0.6, 0.9), (6,)),
        (hs.bose_hubbard(2, 0.8, 1.1), (4, 4)),
        (hs.anharmonic_oscillator(0.5, 0.2) + 0.3 * (ad(0) * a(1) + ad(1) * a(0)), (3, 4)),
    ],
)
def test_expectation_from_symbol(H, cutoffs):
    """⟨H⟩ = ∫ H(z) ρ(z) dz for random mixed states (Fock-space trace)."""
    basis = hs.fock_basis(cutoffs)
    dim = len(basis)
    k1, k2 = jax.random.split(jax.random.key(len(cutoffs) + dim))
    X = jax.random.normal(k1, (dim, dim)) + 1j * jax.random.normal(k2, (dim, dim))
    rho = X @ jnp.conj(X).T
    rho = rho / jnp.trace(rho)
    # Fock-space expectation: H on a padded space, then restricted
    big = hs.fock_basis(tuple(c + 4 for c in cutoffs))
    idx = [int(np.ravel_multi_index(o, tuple(c + 4 for c in cutoffs))) for o in basis]
    Hm = H.matrix(big)[np.ix_(idx, idx)]
    exact = float(np.real(np.trace(Hm @ np.asarray(rho))))
    sym = hs.anti_wick_symbol(H, len(cutoffs))
    val = _gauss_hermite_integral(
        lambda z: sym(z) * hs.husimi_density(rho, z, basis=basis), 2 * len(cutoffs)
    )
    assert abs(val - exact) <= 1e-12 * max(1.0, abs(exact))


def test_hermiticity_detected():
    assert hs.kerr().is_hermitian()
    assert not (ad(0) * a(0) * a(0)).is_hermitian()
    with pytest.raises(ValueError, match="Hermitian"):
        hs.HusimiGalerkin(ad(0) * a(0) * a(0), cutoffs=5)


def test_truncation_check():
    assert hs.truncation_check(hs.kerr()).exact
    assert hs.truncation_check(hs.bose_hubbard(3)).exact
    assert hs.truncation_check(hs.parametric(0.3)).exact
    assert hs.truncation_check(hs.anharmonic_oscillator()).exact
    rep = hs.truncation_check(hs.phi4_mode(1.0, 0.1))
    assert not rep.exact and "not exact" in rep.message and len(rep.offending) == 4
    assert not hs.truncation_check(a(0) ** 3 + ad(0) ** 3).exact


# ---------------------------------------------------------------- D structure


@pytest.mark.parametrize(
    "H",
    [hs.kerr(1.0), hs.bose_hubbard(2, 1.0, 0.7), hs.phi4_mode(1.0, 0.5), hs.parametric(0.7, 0.2)],
)
def test_diffusion_structure(H):
    sym = hs.anti_wick_symbol(H)
    rep = hs.diffusion_structure(sym, _rand_points(30, sym.n_modes, seed=3), C=0.9)
    assert rep["max_abs"] > 0.1  # these all diffuse
    for k in ("symmetric", "traceless", "anticommutes_J", "pm_pairs"):
        assert rep[k] < 1e-13, (k, rep)


@pytest.mark.slow
def test_C7_free_field_and_hopping_do_not_diffuse():
    free = hs.anti_wick_symbol(hs.harmonic([1.0, 1.0, 1.0], 3))
    assert hs.diffusion_structure(free, _rand_points(10, 3))["max_abs"] == 0.0
    hop = hs.anti_wick_symbol(hs.bose_hubbard(3, 1.0, 0.0))
    assert hs.diffusion_structure(hop, _rand_points(10, 3))["max_abs"] == 0.0
    # the drift of a free field is the rotation dz/dt = J∇H
    z = jnp.array([0.3, -1.2])
    np.testing.assert_allclose(hs.drift(hs.anti_wick_symbol(hs.harmonic(2.0)))(z), [-2.4, -0.6])


def test_diffusion_matrix_is_autodiff_of_symbol():
    # Kerr: D = (C/2)[H'', J] with H'' from the closed form symbol
    U, C = 1.0, 0.7
    sym = hs.anti_wick_symbol(hs.kerr(U))
    z = jnp.array([0.8, -0.4])
    Hh = jax.hessian(jqd.reference.kerr_symbol)(z, U)
    Jm = hs.symplectic_J(1)
    np.testing.assert_allclose(
        hs.diffusion_matrix(sym, C)(z), 0.5 * C * (Hh @ Jm - Jm @ Hh), atol=1e-14
    )


# ---------------------------------------------------------------- Husimi of states


def test_husimi_coherent_and_fock():
    beta = 0.9 - 0.4j
    psi = jqd.fock.coherent_state(beta, 40)
    al = np.array([0.1 + 0.2j, -1.0 + 0.5j, 2.0 - 1.0j])
    np.testing.assert_allclose(
        hs.husimi(psi, al), np.exp(-(np.abs(al - beta) ** 2)) / np.pi, rtol=1e-12
    )
    rho = jnp.outer(psi, jnp.conj(psi))
    np.testing.assert_allclose(hs.husimi(rho, al), hs.husimi(psi, al), rtol=1e-12)
    n = 3
    f = jqd.fock.fock_state(6, n)
    q = np.exp(-(np.abs(al) ** 2)) * np.abs(al) ** (2 * n) / (np.pi * 6)
    np.testing.assert_allclose(hs.husimi(f, al), q, rtol=1e-12)


def test_husimi_multimode_normalization_and_marginal():
    cut = (5, 4)
    basis = hs.fock_basis(cut)
    psi = jax.random.normal(jax.random.key(2), (20,)) + 1j * jax.random.normal(
        jax.random.key(3), (20,)
    )
    psi = psi / jnp.linalg.norm(psi)
    assert (
        abs(_gauss_hermite_integral(lambda z: hs.husimi_density(psi, z, cutoffs=cut), 4) - 1)
        < 1e-12
    )
    # marginal over mode 1 = Husimi function of the reduced density matrix
    red, rb = hs.reduced_density_matrix(psi, basis, (0,))
    z0 = jnp.array([0.4, -0.7])
    x, w = np.polynomial.hermite.hermgauss(14)
    X, Y = np.meshgrid(np.sqrt(2) * x, np.sqrt(2) * x, indexing="ij")
    W = np.outer(w, w) * 2 * np.exp(np.add.outer(x**2, x**2))
    pts = np.stack([np.full(X.size, z0[0]), X.ravel(), np.full(X.size, z0[1]), Y.ravel()], 1)
    marg = np.sum(W.ravel() * np.asarray(hs.husimi_density(psi, pts, cutoffs=cut)))
    assert abs(marg - float(hs.husimi_density(red, z0, basis=rb))) < 1e-13


def test_husimi_bose_hubbard_basis_and_dtype():
    bh = jqd.fock.BoseHubbard(2, 3)
    psi = jnp.ones(bh.dim, complex) / 2.0
    al = jnp.array([[0.3 + 0.1j, -0.2 + 0.5j]])
    # same state on the Kronecker basis
    full = np.zeros(16, complex)
    for occ, c in zip(bh.basis, psi):
        full[np.ravel_multi_index(tuple(occ), (4, 4))] = c
    np.testing.assert_allclose(
        hs.husimi(psi, al, basis=bh.basis), hs.husimi(full, al, cutoffs=(4, 4)), rtol=1e-13
    )
    q32 = hs.husimi(psi.astype(jnp.complex64), al.astype(jnp.complex64), basis=bh.basis)
    assert q32.dtype == jnp.float32
    with pytest.raises(ValueError, match="basis"):
        hs.husimi(psi, al, basis=bh.basis[:3])


def test_husimi_jit_vmap():
    psi = jqd.fock.coherent_state(1.0 + 0.5j, 24)
    al = jnp.linspace(-2, 2, 7) + 0.3j
    eager = hs.husimi(psi, al)
    np.testing.assert_allclose(jax.jit(hs.husimi)(psi, al), eager, rtol=1e-13)
    np.testing.assert_allclose(jax.vmap(lambda x: hs.husimi(psi, x))(al), eager, rtol=1e-13)


# ---------------------------------------------------------------- instantaneous checks


@pytest.mark.slow  # 22 s; the FP operator is checked against exact Kerr evolution in test_husimi_galerkin
def test_instantaneous_check_kerr():
    """∂ρ/∂t of the exact Kerr Husimi function (α0 = 2, t = 0.3) equals the FP RHS."""
    K = 36
    b = hs.fock_basis(K)
    rho = hs.exact_husimi_density(hs.kerr(1.0).matrix(b), jqd.fock.coherent_state(2.0, K), b)
    x = np.linspace(-6, 6, 41)
    X, Y = np.meshgrid(x, x, indexing="ij")
    rep = hs.instantaneous_residual(
        hs.anti_wick_symbol(hs.kerr(1.0)), rho, 0.3, np.stack([X.ravel(), Y.ravel()], 1)
    )
    assert rep["relative_residual"] < 1e-6
    assert rep["liouville_only"] > 0.5  # physics §4: the Liouville term alone misses by 55 %
    np.testing.assert_allclose(rep["coefficients"], (1.0, 1.0), atol=1e-9)


@pytest.mark.slow
def test_instantaneous_check_dimer_and_time_reversal():
    b = hs.fock_basis(max_total=10, n_modes=2)
    H = hs.bose_hubbard(2, 1.0, 0.8)
    rho = hs.exact_husimi_density(H.matrix(b), hs.coherent_product([1.1, 0.6j], b), b)
    g = np.linspace(-3.5, 3.5, 7)
    G = np.meshgrid(g, g, g, g, indexing="ij")
    z = np.stack([q.ravel() for q in G], 1)
    sym = hs.anti_wick_symbol(H)
    rep = hs.instantaneous_residual(sym, rho, 0.3, z)
    assert rep["relative_residual"] < 1e-6
    assert rep["liouville_only"] > 0.1
    # time reversal of the equation (H(Q, −P) = H(Q, P) for the dimer)
    assert hs.time_reversal_residual(sym, lambda x: rho(x, 0.3), z[::5]) < 1e-12
