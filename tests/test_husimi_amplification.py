"""Exact Husimi Fokker-Planck solver for quadratic symbols (jqd.husimi.linear_fp_*,
physics §4.13): coefficients from the symbol, the t = 0 marginal against the Husimi
function, the marginal PDE by autodiff, the Galerkin law (C = 1 and C = 0.5) and
dense Fock-space squeezing along a tilted direction."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jqd
from jqd.husimi import a, ad, linear_fp_coefficients, linear_fp_marginal, linear_fp_propagators

KAPPA = 0.8
AMP = 0.5j * KAPPA * (ad() * ad() - a() * a())  # amplifies Q at rate κ


def _random_state(d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    R = X @ X.conj().T
    return R / np.trace(R)


def _padded(R, K):
    out = np.zeros((K, K), complex)
    out[: R.shape[0], : R.shape[1]] = R
    return out


def _marginal_from_husimi(R, y, e, s_max=9.0, n=361):
    """∫ ρ(y e + s e⊥) ds of the Husimi density of a Fock-space state R (trapezoid)."""
    e = np.asarray(e, float) / np.linalg.norm(e)
    perp = np.array([-e[1], e[0]])
    s = np.linspace(-s_max, s_max, n)
    z = y[:, None, None] * e + s[None, :, None] * perp
    rho = np.asarray(jqd.husimi.husimi_density(jnp.asarray(R), jnp.asarray(z)))
    return np.trapezoid(rho, s, axis=1)


def test_coefficients_from_the_symbol():
    A, v0, D = linear_fp_coefficients(AMP, C=0.7)
    np.testing.assert_allclose(A, np.diag([KAPPA, -KAPPA]), atol=1e-14)
    np.testing.assert_allclose(v0, 0.0, atol=1e-14)
    # backward diffusion along the amplified Q, forward along P (D = (C/2)[H'', J])
    np.testing.assert_allclose(D, np.diag([-0.7 * KAPPA, 0.7 * KAPPA]), atol=1e-14)
    # a drive plus detuning: affine drift; constant v0 from the linear terms
    A2, v2, D2 = linear_fp_coefficients(0.3 * ad() * a() + 0.2 * (a() + ad()))
    J = np.array([[0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(A2, 0.3 * J, atol=1e-14)
    np.testing.assert_allclose(v2, [0.0, -0.2 * np.sqrt(2)], atol=1e-14)
    np.testing.assert_allclose(D2, 0.0, atol=1e-14)  # number-conserving: no diffusion


@pytest.mark.slow
def test_propagators_against_quadrature():
    A, v0, D = linear_fp_coefficients(jqd.husimi.parametric(0.6, omega=0.25) + 0.3 * a())
    t = 0.9
    M, m, S = linear_fp_propagators(A, v0, D, t)
    tau = np.linspace(0.0, t, 2001)
    E = np.stack([scipy.linalg.expm(np.asarray(A) * s) for s in tau])
    np.testing.assert_allclose(M, E[-1], atol=1e-13)
    np.testing.assert_allclose(m, np.trapezoid(E @ np.asarray(v0), tau, axis=0), atol=1e-6)
    S_ref = np.trapezoid(E @ np.asarray(D) @ E.transpose(0, 2, 1), tau, axis=0)
    np.testing.assert_allclose(S, S_ref, atol=1e-6)


@pytest.mark.parametrize("e", [(1.0, 0.0), (0.6, -0.8)])
def test_t0_marginal_is_the_husimi_marginal(e):
    R = _random_state(5, seed=1)
    yy = np.linspace(-9.0, 9.0, 3601)
    y = yy[900:2701:45]  # on the fine grid, in [-4.5, 4.5]
    dens, tail = linear_fp_marginal(R, AMP, 0.0, y, e)
    np.testing.assert_allclose(dens, _marginal_from_husimi(R, y, e), atol=1e-13)
    d_all, _ = linear_fp_marginal(R, AMP, 0.0, yy, e)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (d_all[1:] + d_all[:-1]) * (yy[1] - yy[0]))])
    np.testing.assert_allclose(tail, cum[-1] - cum[900:2701:45], atol=1e-6)  # trapezoid, h²


@pytest.mark.slow
def test_marginal_solves_its_fokker_planck_equation():
    """Along the eigen-direction Q of A the marginal obeys its own 1-D equation
    ∂m/∂t = −κ ∂_y(y m) + ½ D_QQ ∂²_y m (checked by autodiff, C = 0.6)."""
    C = 0.6
    R = jnp.asarray(_random_state(6, seed=2))
    A, _, D = linear_fp_coefficients(AMP, C)
    m = lambda y, t: linear_fp_marginal(R, AMP, t, y, (1.0, 0.0), C)[0]  # noqa: E731
    for y, t in [(0.3, 0.4), (-1.7, 0.9), (2.5, 0.2)]:
        dt = jax.grad(m, 1)(y, t)
        dy = lambda yy: jax.grad(m, 0)(yy, t)  # noqa: E731
        rhs = -A[0, 0] * (m(y, t) + y * dy(y)) + 0.5 * D[0, 0] * jax.grad(dy)(y)
        assert abs(float(dt - rhs)) < 1e-12 * max(1.0, abs(float(dt)))
        assert abs(float(dt)) > 1e-3  # the check has power


def _galerkin_error(C, K, G=1.5, seed=3):
    law = jqd.husimi.HusimiGalerkin(AMP, cutoffs=K, scheme=jqd.schemes.Exact())
    R0 = _padded(_random_state(3, seed=seed), K)
    t = np.log(G) / KAPPA
    p = jqd.husimi.GalerkinParams(C)
    sol = jqd.evolve(law, jnp.asarray(R0), p, dt=t / 2, n_save=2, monitor=False)
    y = np.linspace(-5.0, 5.0, 31)
    dens, _ = linear_fp_marginal(R0, AMP, t, y, (1.0, 0.0), C)
    return np.max(np.abs(dens - _marginal_from_husimi(np.asarray(sol.observables[-1]), y, (1, 0))))


@pytest.mark.slow
def test_against_the_galerkin_law():
    """The Galerkin law (exp of its Fokker-Planck operator L(C), through jqd.evolve)
    at gain G = e^{κt} = 1.5. C = 1: the Fock basis holds the solution (36 levels,
    1e-10). C = 0.5: the solution leaves every finite basis; the Galerkin error falls
    geometrically with the cutoff towards the exact marginal (measured 1.4e-4, 2.8e-6,
    5.3e-8 at 24, 36, 48 levels)."""
    assert _galerkin_error(1.0, 36) < 1e-10
    e24, e36 = _galerkin_error(0.5, 24), _galerkin_error(0.5, 36)
    assert e36 < 1e-5 and e36 < e24 / 20


def test_against_dense_fock_squeezing_tilted():
    """Exact squeezing S = exp((r/2)(a†² − a²)), r = κt, on 100 Fock levels (dense
    expm) at G = 2; marginal along a tilted direction by quadrature of the Husimi
    density of the squeezed state."""
    K = 100
    R0 = _padded(_random_state(4, seed=4), K)
    t = np.log(2.0) / KAPPA
    n = np.arange(K - 2)
    a2 = np.diag(np.sqrt((n + 1.0) * (n + 2.0)), 2)
    S = scipy.linalg.expm(0.5 * KAPPA * t * (a2.T - a2))
    RT = S @ R0 @ S.conj().T
    e = (np.cos(0.3), np.sin(0.3))
    y = np.linspace(-6.0, 6.0, 25)
    dens, _ = linear_fp_marginal(R0, AMP, t, y, e)
    ref = _marginal_from_husimi(RT, y, e, s_max=10.0, n=401)
    np.testing.assert_allclose(dens, ref, atol=1e-10)
    d_wrong, _ = linear_fp_marginal(R0, AMP, t, y, e, C=0.9)
    assert np.max(np.abs(d_wrong - ref)) > 1e-3  # C = 0.9 is visibly wrong


def test_rejects_bad_input():
    R, y = _random_state(5, seed=1), np.zeros(41)  # shapes of the t = 0 test: no new compile
    with pytest.raises(ValueError, match="degree 4 > 2"):
        linear_fp_marginal(R, jqd.husimi.kerr(1.0), 0.1, y)
    with pytest.raises(ValueError, match="single-mode"):
        linear_fp_coefficients(ad(0) * a(1) + ad(1) * a(0))
    with pytest.raises(TypeError, match="Ops"):
        linear_fp_coefficients(lambda z: z @ z)
    with pytest.raises(ValueError, match="direction"):
        linear_fp_marginal(R, AMP, 0.1, y, direction=(1.0, 0.0, 0.0))
    # C = 3: backward diffusion κC/2 along Q outruns the amplification at G = 10
    with pytest.raises(Exception, match="smaller t"):
        jax.block_until_ready(linear_fp_marginal(R, AMP, np.log(10.0) / KAPPA, y, C=3.0))
