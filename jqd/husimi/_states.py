"""Husimi functions of Fock-space states (physics §4.1): Q_H(α) = ⟨α|ρ̂|α⟩/π^N,
ρ(z) = Q_H/2^N on z = (Q, P). A state is a ket or density matrix on Fock
occupations: per-mode cutoffs (Kronecker order, mode 0 slowest, as `jqd.fock`)
or an explicit `basis` (dim, N).
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import comb

from .._guards import to_device
from ..interop import as_array


def fock_basis(cutoffs=None, *, max_total: int | None = None, n_modes: int | None = None):
    """Occupation patterns as an int array (dim, N).

    Either `cutoffs` (int or tuple; levels 0..c−1 per mode, Kronecker order,
    mode 0 slowest) or `max_total` with `n_modes` (all patterns with
    Σ n_j ≤ max_total, ordered by total number, then lexicographically).
    """
    if (cutoffs is None) == (max_total is None):
        raise ValueError("give exactly one of cutoffs= or max_total= (with n_modes=).")
    if cutoffs is not None:
        cut = (int(cutoffs),) if np.ndim(cutoffs) == 0 else tuple(int(c) for c in cutoffs)
        if any(c < 1 for c in cut):
            raise ValueError(f"cutoffs must be >= 1 per mode; got {cut}.")
        return np.array(list(itertools.product(*[range(c) for c in cut])), dtype=int)
    if n_modes is None or n_modes < 1 or max_total < 0:
        raise ValueError("max_total needs n_modes >= 1 and max_total >= 0.")
    out = []
    for total in range(max_total + 1):
        out += sorted(
            (o for o in itertools.product(range(total + 1), repeat=n_modes) if sum(o) == total),
            reverse=True,
        )
    return np.array(out, dtype=int)


def coherent_amplitudes(alphas, basis, *, gaussian: bool = True) -> jnp.ndarray:
    """⟨n|α⟩ = Π_j e^{−|α_j|²/2} α_j^{n_j}/√n_j! for every basis pattern n.

    `alphas` has shape (..., N); returns (..., dim). `gaussian=False` leaves out
    the factor e^{−|α|²/2} (for logs taken far in the tails, where it underflows).
    """
    basis = np.asarray(basis, dtype=int)
    alphas = jnp.asarray(alphas)
    if not jnp.iscomplexobj(alphas):
        alphas = alphas.astype(jnp.result_type(alphas.dtype, jnp.complex64))
    N = basis.shape[1]
    if alphas.shape[-1] != N:
        raise ValueError(f"alphas must have last axis n_modes = {N}; got shape {alphas.shape}.")
    nmax = int(basis.max()) + 1 if basis.size else 1
    out = None
    for j in range(N):
        al = alphas[..., j]
        # recursion c_{n+1} = c_n α/√(n+1), c_0 = e^{−|α|²/2}: stable, no factorials
        c0 = jnp.exp(-0.5 * jnp.abs(al) ** 2) if gaussian else jnp.ones_like(jnp.abs(al))
        c0 = c0.astype(al.dtype)
        ratios = al[..., None] / jnp.sqrt(jnp.arange(1, nmax, dtype=jnp.abs(al).dtype))
        cs = jnp.concatenate([c0[..., None], c0[..., None] * jnp.cumprod(ratios, -1)], -1)
        f = cs[..., basis[:, j]]
        out = f if out is None else out * f
    return out


def husimi(state, alphas, *, basis=None, cutoffs=None) -> jnp.ndarray:
    """Husimi function Q_H(α) = ⟨α|ρ̂|α⟩/π^N at the points `alphas` (compiled
    once per shape and basis).

    Args:
        state: ket (dim,) or density matrix (dim, dim) (or a Galerkin
            coefficient matrix, which has the same form).
        alphas: complex points, shape (..., N); for one mode a shape (...)
            array is accepted too.
        basis: occupations (dim, N); or `cutoffs` (int/tuple, Kronecker order).
            Default: one mode with cutoff = dim.

    Returns:
        Real array of shape alphas.shape[:-1] (or alphas.shape for one mode
        given without the mode axis).
    """
    state = as_array(state, "state")  # QuTiP/dynamiqs objects too
    shape = np.shape(state)
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[0] != shape[1]):
        raise ValueError(f"state must be a ket (dim,) or a matrix (dim, dim); got shape {shape}.")
    if basis is not None and cutoffs is not None:
        raise ValueError("give basis= or cutoffs=, not both.")
    b = fock_basis(shape[0] if cutoffs is None else cutoffs) if basis is None else basis
    b = np.asarray(b, dtype=int)
    if b.ndim != 2 or b.shape[0] != shape[0]:
        raise ValueError(
            f"basis has shape {b.shape} but the state has dimension {shape[0]}; pass "
            "cutoffs= (per-mode) or basis= (occupations, shape (dim, n_modes))."
        )
    N = b.shape[1]
    squeeze = N == 1 and (np.ndim(alphas) == 0 or np.shape(alphas)[-1:] != (1,))
    if not squeeze and np.shape(alphas)[-1:] != (N,):
        raise ValueError(f"alphas must have last axis n_modes = {N}; got shape {np.shape(alphas)}.")
    return _husimi(state, alphas, _static(b), squeeze)


def _static(basis) -> tuple:
    """Occupations (dim, N) as a hashable static argument."""
    return tuple(map(tuple, np.asarray(basis, int).tolist()))


@functools.partial(jax.jit, static_argnums=(2, 3))  # one program per basis and shape
def _husimi(state, alphas, basis: tuple, squeeze: bool):
    state = jnp.asarray(state)
    alphas = jnp.asarray(alphas)
    if squeeze:
        alphas = alphas[..., None]
    b = np.array(basis, dtype=int)
    N = b.shape[1]
    if state.ndim == 1 and N == 1 and np.array_equal(b[:, 0], np.arange(len(b))):
        z = alphas[..., 0]
        if z.ndim == 2 and state.shape[0] <= _MAX_LEVELS and z.size >= 8 * state.shape[0]:
            return _husimi_ladder_grid(state, z) / np.pi
        return _husimi_single_mode_ket(state, z) / np.pi
    v = coherent_amplitudes(alphas, b)  # ⟨n|α⟩
    if state.ndim == 1:
        amp = jnp.einsum("...n,n->...", jnp.conj(v), state.astype(v.dtype))  # ⟨α|ψ⟩
        q = jnp.abs(amp) ** 2
    else:
        q = jnp.real(jnp.einsum("...m,mn,...n->...", jnp.conj(v), state.astype(v.dtype), v))
    return q / np.pi**N


def _husimi_ladder_grid(psi, z):
    """`_husimi_single_mode_ket` on a 2-D array of points: as two matrix products
    when they form a tensor grid and the rounding bound holds; else Horner."""
    n = psi.shape[0]
    a = psi * jnp.exp(-0.5 * jax.scipy.special.gammaln(jnp.arange(n) + 1.0))
    x, y = z.real[0, :], z.imag[:, 0]  # α_ij = x_j + i y_i
    xt, yt = z.real[:, 0], z.imag[0, :]  # α_ij = x_i + i y_j
    fits = lambda x, y: _grid_bound(a, x, y) <= _MAX_ROUNDING  # NaN: False

    def not_by_rows():
        by_cols = jnp.all(z.real == xt[:, None]) & jnp.all(z.imag == yt[None, :])
        return jax.lax.cond(
            by_cols & fits(xt, yt),
            lambda: _grid_density(a, xt, yt).T,
            lambda: _husimi_single_mode_ket(psi, z),
        )

    by_rows = jnp.all(z.real == x[None, :]) & jnp.all(z.imag == y[:, None])
    return jax.lax.cond(by_rows & fits(x, y), lambda: _grid_density(a, x, y), not_by_rows)


# |⟨α|ψ⟩|² of one mode on a tensor grid α = x_j + i y_i as two matrix products, and
# the rounding bound that admits it: docs/internals/husimi.md#tensor-grid
_MAX_ROUNDING = 1e-12  # largest accepted bound on the amplitude's rounding error
_MAX_LEVELS = 500  # C(2n, n) stays finite in float64 up to here


def _powers(v, n):
    """v_i^k for k < n, by cumulative products (no pow of negative bases)."""
    cols = jnp.concatenate(
        [jnp.ones_like(v)[:, None], jnp.broadcast_to(v[:, None], (v.shape[0], n - 1))], 1
    )
    return jnp.cumprod(cols, axis=1)


def _grid_bound(a, x, y):
    """n ε max_r g(r), r in [0, max|x| + max|y|]: the rounding bound (comment above)."""
    n = a.shape[0]
    r = jnp.linspace(0.0, jnp.max(jnp.abs(x)) + jnp.max(jnp.abs(y)), 257)
    g = jnp.exp(-(r**2) / 4) * (_powers(r, n) @ jnp.abs(a))
    eps = jnp.finfo(r.dtype).eps
    return n * eps * jnp.max(g)


def _grid_density(a, x, y):
    """|p(x_j − i y_i)|² e^{−(x_j² + y_i²)}, shape (len(y), len(x)), in real arithmetic."""
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


def _husimi_single_mode_ket(psi, alpha):
    """|⟨α|ψ⟩|² for one mode, the polynomial in α* by Horner's scheme (absolute
    error ~ dim × eps; valid while e^{|α|²/2} fits the float type).

    The polynomial is evaluated in α*/s with coefficients ψ_k s^k/√k!, s =
    min(√dim, 24): ψ_k/√k! alone falls below the smallest normal float from
    k ≈ 297 on (float64), where XLA's CPU flushes it to zero and drops those
    levels (relative error 1e-5 at n̄ = 200, |α| = 16); the scaled coefficients
    stay between |ψ_k| and |ψ_k| e^{s²/2}."""
    n = psi.shape[-1]
    s = min(np.sqrt(n), 24.0)
    z = jnp.conj(alpha) / s
    k = jnp.arange(n, dtype=jnp.real(psi).dtype)
    coef = psi * jnp.exp(k * np.log(s) - 0.5 * jax.scipy.special.gammaln(k + 1.0))
    poly = jax.lax.fori_loop(
        0,
        n,
        lambda i, acc: acc * z + coef[n - 1 - i],
        jnp.zeros(z.shape, jnp.result_type(z.dtype, coef.dtype)),
        unroll=n if n <= 128 else 16,
    )
    return jnp.abs(jnp.exp(-0.5 * jnp.abs(alpha) ** 2) * poly) ** 2


def alphas_from_z(z) -> jnp.ndarray:
    """α = (Q + iP)/√2 from z = (Q_1..Q_N, P_1..P_N) (shape (..., 2N))."""
    z = jnp.asarray(z)
    N = z.shape[-1] // 2
    return jax.lax.complex(z[..., :N], z[..., N:]) / np.sqrt(2.0)


def z_from_alphas(alphas) -> jnp.ndarray:
    """z = √2 (Re α, Im α)."""
    alphas = jnp.asarray(alphas)
    return np.sqrt(2.0) * jnp.concatenate([alphas.real, alphas.imag], -1)


def husimi_density(state, z, *, basis=None, cutoffs=None) -> jnp.ndarray:
    """ρ(z) = Q_H(α)/2^N as a density on z = (Q, P) (physics §4), shape z.shape[:-1]."""
    al = alphas_from_z(z)
    return husimi(state, al, basis=basis, cutoffs=cutoffs) / 2.0 ** al.shape[-1]


def reduced_density_matrix(state, basis, keep) -> tuple[jnp.ndarray, np.ndarray]:
    """Partial trace onto the modes `keep` (tuple of mode indices).

    Returns (rho_reduced, reduced_basis). The Husimi function of the result is
    the marginal of the full Husimi function over the other modes.
    """
    *index, red_basis = trace_index(basis, keep)
    out = _sum_blocks(state, *map(jax.device_put, index), len(red_basis))
    return out, red_basis


def trace_index(basis, keep) -> tuple:
    """(rows, cols, src_r, src_c, reduced basis) of the partial trace onto the modes
    `keep`: rho_red[rows, cols] = Σ rho[src_r, src_c]."""
    basis = np.asarray(basis, dtype=int)
    keep = tuple(int(k) for k in np.atleast_1d(keep))
    other = tuple(j for j in range(basis.shape[1]) if j not in keep)
    kept = [tuple(o) for o in basis[:, keep]]
    rest = [tuple(o) for o in basis[:, other]]
    red_basis = sorted(set(kept))
    ridx = {o: i for i, o in enumerate(red_basis)}
    # rho_red[k, k'] = Σ_r rho[(k, r), (k', r)]
    by_rest: dict = {}
    for i, r in enumerate(rest):
        by_rest.setdefault(r, []).append(i)
    rows, cols, src_r, src_c = [], [], [], []
    for idxs in by_rest.values():
        for i in idxs:
            for k in idxs:
                rows.append(ridx[kept[i]])
                cols.append(ridx[kept[k]])
                src_r.append(i)
                src_c.append(k)
    index = tuple(np.array(i, dtype=int) for i in (rows, cols, src_r, src_c))
    return *index, np.array(red_basis, dtype=int).reshape(len(red_basis), len(keep))


@functools.partial(jax.jit, static_argnums=5)  # one program per shape, not one per op
def _sum_blocks(state, rows, cols, src_r, src_c, dim):
    rho = jnp.outer(state, jnp.conj(state)) if state.ndim == 1 else state
    return jnp.zeros((dim, dim), rho.dtype).at[rows, cols].add(rho[src_r, src_c])


def coherent_product(betas, basis) -> jnp.ndarray:
    """Π_j |β_j⟩ restricted to `basis` and renormalized (ket of shape (dim,))."""
    return _coherent_product(to_device(betas, complex), _static(basis))


@functools.partial(jax.jit, static_argnums=1)  # one program per basis
def _coherent_product(betas, basis: tuple):
    v = coherent_amplitudes(jnp.atleast_1d(betas), np.array(basis, dtype=int))
    return v / jnp.linalg.norm(v)
