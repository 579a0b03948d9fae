"""Exact Husimi Fokker-Planck evolution for quadratic single-mode symbols (physics
§4.13): affine drift and constant D along the characteristics; the marginal of a
Galerkin input along a direction is a finite Hermite series with an exact upper
tail. `drift_and_diffusion` is looked up at call time (a mutant seam).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import expm
from jax.scipy.special import ndtr
from scipy.special import gammaln

from .._guards import to_device
from ._ops import Ops
from ._symbols import Polynomial, anti_wick_symbol, drift_and_diffusion


def _quadratic_symbol(poly) -> Polynomial:
    if isinstance(poly, Ops):
        poly = anti_wick_symbol(poly)
    elif not isinstance(poly, Polynomial):
        raise TypeError(
            "hamiltonian must be a jqd.husimi.Ops (e.g. built from a(), ad()) or a "
            f"Polynomial symbol; got {type(poly).__name__}."
        )
    if poly.n_modes != 1:
        raise ValueError(
            f"hamiltonian acts on {poly.n_modes} modes; the linear solver is single-mode "
            "(pass an operator on mode 0)."
        )
    if poly.degree > 2:
        raise ValueError(
            f"hamiltonian's anti-Wick symbol has degree {poly.degree} > 2: drift and diffusion "
            "are not affine/constant; use jqd.husimi.HusimiGalerkin instead."
        )
    return poly


def linear_fp_coefficients(hamiltonian, C=1.0):
    """(A, v0, D) of the Husimi Fokker-Planck equation for a quadratic symbol:
    v(z) = A z + v0 and the constant D, by autodiff at z = 0 (physics §4.2).

    Args:
        hamiltonian: `Ops` on one mode (or its `Polynomial` symbol), degree ≤ 2.
        C: diffusion strength (quantum mechanics: C = 1).
    """
    return _coefficients(_quadratic_symbol(hamiltonian), to_device(C, float))


@eqx.filter_jit  # drift and diffusion by autodiff: one program, not one per op
def _coefficients(poly, C):
    z0 = jnp.zeros(2, C.dtype)
    ham = lambda z, args: poly(z)
    v0, D = drift_and_diffusion(ham, z0, None, C)
    return jax.jacfwd(lambda z: drift_and_diffusion(ham, z, None, C)[0])(z0), v0, D


def linear_fp_propagators(A, v0, D, t):
    """(M, m, Σ) at time t: M = e^{At}, m = ∫_0^t e^{Aτ}v0 dτ,
    Σ = ∫_0^t e^{Aτ} D e^{Aᵀτ} dτ, from one Van Loan block exponential of
    [[A, D, v0], [0, −Aᵀ, 0], [0, 0, 0]] t (upper blocks e^{At}, Σe^{−Aᵀt}, m)."""
    A, v0, D = jnp.asarray(A), jnp.asarray(v0), jnp.asarray(D)
    n = A.shape[0]
    t = jnp.asarray(t, A.dtype)
    blk = jnp.zeros((2 * n + 1, 2 * n + 1), A.dtype)
    blk = blk.at[:n, :n].set(A).at[:n, n : 2 * n].set(D).at[n : 2 * n, n : 2 * n].set(-A.T)
    F = expm(blk.at[:n, 2 * n].set(v0) * t)
    M, m = F[:n, :n], F[:n, 2 * n]
    Sigma = F[:n, n : 2 * n] @ M.T
    return M, m, 0.5 * (Sigma + Sigma.T)


def _weierstrass(R):
    """Coefficients T[j, l] of α*^j α^l in p̃ = e^{∂_α∂_α*} p,
    p = Σ R_mn α*^m α^n/√(m!n!): T[j, l] = Σ_k R_{j+k,l+k} √((j+k)!(l+k)!)/(j! l! k!),
    one shifted d × d block per k (weights in logs)."""
    d = R.shape[0]
    Rp = jnp.zeros((2 * d, 2 * d), R.dtype).at[:d, :d].set(R)
    j = jnp.arange(d, dtype=float)
    lg = jax.scipy.special.gammaln

    def body(k, T):
        kf = k.astype(float)
        u = jnp.where(j + kf < d, 0.5 * lg(j + kf + 1.0) - lg(j + 1.0), -jnp.inf)
        w = jnp.exp(u[:, None] + u[None, :] - lg(kf + 1.0))
        return T + w * jax.lax.dynamic_slice(Rp, (k, k), (d, d))

    return jax.lax.fori_loop(0, d, body, jnp.zeros((d, d), R.dtype))


def _line_coefficients(T, bhat):
    """Real coefficients c_N (times √N!) of s ↦ p̃(s bhat), α = s(b_Q + i b_P)/√2."""
    d = T.shape[0]
    eps = jax.lax.complex(bhat[0], bhat[1])
    j, l = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    terms = T * jnp.conj(eps) ** j * eps**l  # degree N = j + l
    N = np.arange(2 * d - 1)
    c = jnp.real(jnp.zeros(2 * d - 1, terms.dtype).at[(j + l).ravel()].add(terms.ravel()))
    return c * np.exp(0.5 * gammaln(N + 1.0) - 0.5 * N * np.log(2.0))


def _hermite_sums(x, a):
    """Σ_N a_N h_N(x) and Σ_{N≥1} a_N √(1/N) h_{N−1}(x) with h_N = He_N/√N!
    (normalized recurrence; no overflow for degree ~100)."""

    def body(n, carry):
        h_prev, h, dens, tail = carry
        nf = n.astype(x.dtype)
        h_prev, h = h, (x * h - jnp.sqrt(nf - 1.0) * h_prev) / jnp.sqrt(nf)
        return h_prev, h, dens + a[n] * h, tail + a[n] * h_prev / jnp.sqrt(nf)

    zero = jnp.zeros_like(x)
    init = (zero, jnp.ones_like(x), a[0] * jnp.ones_like(x), zero)
    return jax.lax.fori_loop(1, a.shape[0], body, init)[2:]


def linear_fp_marginal(R, hamiltonian, t, y, direction=(1.0, 0.0), C=1.0):
    """Marginal along `direction` of the exact Husimi Fokker-Planck solution.

    Args:
        R: initial Galerkin coefficient matrix (d, d), Hermitian, trace 1 (the
            density matrix of a quantum state; a ket is accepted too).
        hamiltonian: one-mode `Ops` with quadratic anti-Wick symbol.
        t: time (scalar; differentiable).
        y: points along the direction, y = e·z (any shape).
        direction: 2-vector e in the (Q, P) plane (normalized here).
        C: diffusion strength (quantum mechanics: C = 1).

    Returns:
        (density, upper_tail): the marginal density m(y) and ∫_y^∞ m, shape y.shape.
    """
    R = jnp.asarray(R)
    if R.ndim == 1:
        R = jnp.outer(R, jnp.conj(R))
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise ValueError(f"R must be a ket (d,) or a matrix (d, d); got shape {R.shape}.")
    R = R.astype(jnp.result_type(R.dtype, jnp.complex64))
    e = jnp.asarray(direction, float)
    if e.shape != (2,):
        raise ValueError(f"direction must be a 2-vector (Q, P); got shape {e.shape}.")
    A, v0, D = linear_fp_coefficients(hamiltonian, C)
    e = e / jnp.linalg.norm(e)
    return _series(R, *_line_constants(A, v0, D, t, e), jnp.asarray(y, float))


@jax.jit  # the matrix exponential compiles once, whatever the basis size
def _line_constants(A, v0, D, t, e):
    """b/|b|, λ = |b|/√γ, γ and the mean e·m along e (b = Mᵀe)."""
    M, m, Sigma = linear_fp_propagators(A, v0, D, t)
    b = M.T @ e
    nb = jnp.linalg.norm(b)
    gamma = nb**2 + e @ Sigma @ e
    gamma = eqx.error_if(
        gamma,
        gamma <= 0,
        "linear_fp_marginal: the marginal variance γ = |Mᵀe|² + eᵀΣe is <= 0 (backward "
        "diffusion outruns the input's width): no solution at this t and C; use a smaller t.",
    )
    return b / nb, nb / jnp.sqrt(gamma), gamma, e @ m


@jax.jit  # one program per series length, not one per op
def _series(R, bhat, lam, gamma, mean, y):
    c = _line_coefficients(_weierstrass(R), bhat)
    a = c * lam ** np.arange(c.shape[0])
    x = (y - mean) / jnp.sqrt(gamma)
    s_dens, s_tail = _hermite_sums(x, a)
    phi = jnp.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    return phi * s_dens / jnp.sqrt(gamma), a[0] * ndtr(-x) + phi * s_tail
