"""|⟨α|ψ⟩|² of one mode on a tensor grid α = x_j + i y_i as two matrix products.

With a_n = c_n/√n! and ⟨α|ψ⟩ = e^{−|α|²/2} p(α*), p(w) = Σ_n a_n wⁿ, expand
p(x − iy) in powers of x and y:

    p(x − iy) = Σ_k x^k b_k(y),   b_k(y) = Σ_m C(k+m, k) a_{k+m} (−iy)^m,

so on the grid B = Y G (Y_im = y_i^m, G_mk = (−i)^m C(k+m, k) a_{k+m}) and
P = B Xᵀ (X_jk = x_j^k): a real-by-complex product of (Ny × n)(n × n) and one
of (Ny × n)(n × Nx), instead of n complex multiply-adds per point (Horner).

Rounding: the terms are bounded by Σ_n |a_n| (|x| + |y|)ⁿ, so the amplitude's
error is at most n ε e^{−|α|²/2} Σ_n |a_n| (|x|+|y|)ⁿ ≤ n ε max_r g(r) with
g(r) = e^{−r²/4} Σ_n |a_n| rⁿ (|α|² ≥ r²/2 for r = |x| + |y|); `bound`
evaluates it on the grid's range. Callers use this path only when the bound
is below `MAX_ROUNDING` (and finite), and Horner's scheme otherwise.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from scipy.special import comb

MAX_ROUNDING = 1e-12  # largest accepted bound on the amplitude's rounding error
MAX_LEVELS = 500  # C(2n, n) stays finite in float64 up to here


def _powers(v, n):
    """v_i^k for k < n, by cumulative products (no pow of negative bases)."""
    cols = jnp.concatenate(
        [jnp.ones_like(v)[:, None], jnp.broadcast_to(v[:, None], (v.shape[0], n - 1))], 1
    )
    return jnp.cumprod(cols, axis=1)


def bound(a, x, y):
    """n ε max_r g(r) over r in [0, max|x| + max|y|] (module docstring)."""
    n = a.shape[0]
    r = jnp.linspace(0.0, jnp.max(jnp.abs(x)) + jnp.max(jnp.abs(y)), 257)
    g = jnp.exp(-(r**2) / 4) * (_powers(r, n) @ jnp.abs(a))
    eps = jnp.finfo(r.dtype).eps
    return n * eps * jnp.max(g)


def density(a, x, y):
    """|p(x_j − i y_i)|² e^{−(x_j² + y_i²)}, shape (len(y), len(x)), in real
    arithmetic (the Gaussian factor separates into e^{−y_i²} e^{−x_j²})."""
    n = a.shape[0]
    k = np.arange(n)
    m = k[:, None]
    binom = comb(k[None, :] + m, k[None, :])  # C(k + m, k) to relative ε; finite for n <= 500
    index = jnp.asarray(np.minimum(k[None, :] + m, n - 1))
    shifted = jnp.where(jnp.asarray(k[None, :] + m < n), a[index], 0)
    G = ((-1j) ** m) * binom * shifted
    Y, X = _powers(y, n), _powers(x, n)
    Pr = (Y @ G.real) @ X.T
    Pi = (Y @ G.imag) @ X.T
    return (Pr**2 + Pi**2) * (jnp.exp(-(y**2))[:, None] * jnp.exp(-(x**2))[None, :])
