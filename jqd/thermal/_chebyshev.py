"""Chebyshev coefficients of exp(−ixX̃) (physics §7.6): Bessel functions J_k(x)
by Miller's backward recurrence, in jax (traceable, differentiable in x) and in
NumPy (eager guards, no compile)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._guards import is_traced

CHEB_TOL = 1e-15  # truncation of the Chebyshev tail per step (the step is good to 1e-14)


def _bessel_j(x, n: int):
    """J_0(x) ... J_{n-1}(x) for real x ≥ 0 by Miller's backward recurrence
    J_{k−1} = (2k/x) J_k − J_{k+1}, normalized by J_0 + 2 Σ J_{2k} = 1; values
    are rescaled by 1/big on the way (the recurrence grows like (2k/x)^k)."""
    dtype = jnp.asarray(x).dtype
    M = n + 30 + int(4 * math.sqrt(n))  # start far above n (and above x: see guards)
    big = float(jnp.finfo(dtype).max) ** 0.25
    x = jnp.maximum(x, 2.0 * M / big)  # J_k(x) for smaller x equals J_k(0) to round-off

    def body(i, carry):
        f_next, f_cur, vals, counts, c = carry
        k = M - i  # f_cur = f_k; compute f_{k-1}
        f_prev = (2.0 * k / x) * f_cur - f_next
        over = jnp.abs(f_prev) > big
        f_prev = jnp.where(over, f_prev / big, f_prev)
        f_cur = jnp.where(over, f_cur / big, f_cur)
        c = c + over.astype(c.dtype)
        vals = vals.at[k - 1].set(f_prev)
        counts = counts.at[k - 1].set(c)
        return f_cur, f_prev, vals, counts, c

    vals = jnp.zeros(M + 1, dtype).at[M].set(1.0)
    counts = jnp.zeros(M + 1, jnp.int32)
    init = (jnp.zeros((), dtype), jnp.ones((), dtype), vals, counts, jnp.zeros((), jnp.int32))
    *_, vals, counts, c = jax.lax.fori_loop(0, M, body, init)
    shift = (c - counts).astype(dtype)  # how many later rescales each value missed
    vals = vals * jnp.where(shift > 0, (1.0 / big) ** shift, 1.0)
    norm = vals[0] + 2.0 * jnp.sum(vals[2::2])
    return vals[:n] / norm


def _bessel_j_numpy(x: float, n: int) -> np.ndarray:
    """`_bessel_j` on a concrete x in NumPy (the eager guards: no compile)."""
    M = n + 30 + int(4 * math.sqrt(n))
    big = float(np.finfo(np.float64).max) ** 0.25
    x = max(float(x), 2.0 * M / big)
    vals = np.zeros(M + 1)
    vals[M] = 1.0
    f_next, f_cur = 0.0, 1.0
    for k in range(M, 0, -1):
        f_prev = (2.0 * k / x) * f_cur - f_next
        if abs(f_prev) > big:
            vals[k - 1 :] /= big  # rescale everything so far (underflow is harmless)
            f_prev, f_cur = f_prev / big, f_cur / big
        vals[k - 1] = f_prev
        f_next, f_cur = f_cur, f_prev
    return vals[:n] / (vals[0] + 2.0 * np.sum(vals[2::2]))


def chebyshev_terms(x, max_terms: int, xp=None):
    """(n_needed, tail, J): the number of terms whose dropped tail 2Σ|J_k(x)| is
    ≤ CHEB_TOL (at least 2), the tail beyond max_terms and J_0..J_{max_terms+7};
    NumPy for a concrete x, jax (in-graph) for a traced one or with `xp=jnp`."""
    xp = xp or (jnp if is_traced(x) else np)
    J = (_bessel_j_numpy if xp is np else _bessel_j)(x, max_terms + 8)
    tail = 2.0 * xp.cumsum(xp.abs(J)[::-1])[::-1]  # 2 Σ_{j≥k} |J_j|
    return xp.maximum(xp.sum(tail[:max_terms] > CHEB_TOL), 2), tail[max_terms], J


def ritz_values(matvec, D: int, dtype, xp, steps: int = 30):
    """Sorted Ritz values of `steps` Lanczos iterations (full reorthogonalization,
    fixed random start): each lies inside the spectrum (physics §7.6)."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=D) + 1j * rng.normal(size=D)
    V = [xp.asarray(v / np.linalg.norm(v), dtype)]
    alphas, betas = [], []
    n = min(steps, D)
    for j in range(n):
        w = matvec(V[j])
        alphas.append(xp.real(xp.vdot(V[j], w)))
        for _ in range(2):  # twice is enough (Kahan)
            for u in V:
                w = w - xp.vdot(u, w) * u
        b = xp.linalg.norm(w)
        if j + 1 < n:
            betas.append(b)
            V.append(w / xp.maximum(b, 1e-300))
    T = xp.diag(xp.stack(alphas))
    if betas:
        off = xp.diag(xp.stack(betas), 1)
        T = T + off + off.T
    return xp.linalg.eigvalsh(T)
