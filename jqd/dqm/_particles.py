"""Particles on a periodic grid: interpolation of grid fields to positions,
the periodic wrap, sampling a grid density, the grid CDF (for KS tests
against |ψ|²) and particle observables (physics §3.4, §3.7)."""

from __future__ import annotations

import functools
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._grid import Grid
from .._law import AbstractLaw
from ..stats import histogram

INTERPOLATIONS = ("linear", "cubic")


def _stencil(s, order: str):
    """Offsets and weights (per axis) for position `s` in grid-index units."""
    i0 = jnp.floor(s)
    f = s - i0
    if order == "linear":
        return i0, (0, 1), (1.0 - f, f)
    # Catmull-Rom (Keys a = -1/2): interpolating, C¹, third order.
    f2 = f * f
    f3 = f2 * f
    w = (
        0.5 * (-f3 + 2.0 * f2 - f),
        0.5 * (3.0 * f3 - 5.0 * f2 + 2.0),
        0.5 * (-3.0 * f3 + 4.0 * f2 + f),
        0.5 * (f3 - f2),
    )
    return i0, (-1, 0, 1, 2), w


def interpolate(grid: Grid, fields, x, order: str = "cubic"):
    """Periodic interpolation of grid `fields` (`grid.shape + (C,)`, real or
    complex) at positions `x` (n, ndim), shape (n, C): "linear" (2^d points)
    or "cubic" (Catmull-Rom, 4^d points)."""
    if order not in INTERPOLATIONS:
        raise ValueError(f"order must be one of {INTERPOLATIONS}; got {order!r}.")
    d = grid.ndim
    rdtype = x.dtype
    C = fields.shape[-1]
    flat = fields.reshape(grid.size, C)
    strides = np.cumprod((1,) + grid.shape[::-1])[:-1][::-1]  # C order
    per_axis = []
    for a in range(d):
        L, n = grid.lengths[a], grid.shape[a]
        s = (x[:, a] + jnp.asarray(L / 2, rdtype)) * jnp.asarray(n / L, rdtype)
        i0, offsets, weights = _stencil(s, order)
        i0 = i0.astype(jnp.int32)
        idx = [jnp.mod(i0 + o, n) * int(strides[a]) for o in offsets]
        per_axis.append(list(zip(idx, weights, strict=True)))
    out = jnp.zeros((x.shape[0], C), jnp.result_type(flat.dtype, rdtype))
    for (idx, w), *rest in itertools.product(*per_axis):  # one point per axis
        for idx_a, w_a in rest:
            idx, w = idx + idx_a, w * w_a
        out = out + w[:, None] * flat[idx]
    return out


def interpolate_1d(grid: Grid, f, x, order: str = "cubic"):
    """`interpolate` on a 1-D grid for real `f` (n, C), by Horner's rule on the
    cell polynomials Σ_k c_k[j] t^k of the interpolant (why:
    docs/internals/dqm.md#guidance)."""
    n, L = grid.shape[0], grid.lengths[0]
    rdtype = x.dtype
    s = (x[:, 0] + jnp.asarray(L / 2, rdtype)) * jnp.asarray(n / L, rdtype)
    i0 = jnp.floor(s)
    t = (s - i0)[:, None]
    i = jnp.mod(i0.astype(jnp.int32), n)
    f1 = jnp.roll(f, -1, axis=0)
    if order == "linear":
        tables = [f, f1 - f]
    else:
        fm, f2 = jnp.roll(f, 1, axis=0), jnp.roll(f, -2, axis=0)
        tables = [
            f,
            0.5 * (f1 - fm),
            fm - 2.5 * f + 2.0 * f1 - 0.5 * f2,
            0.5 * (f2 - fm) + 1.5 * (f - f1),
        ]
    out = tables[-1][i]
    for c in tables[-2::-1]:
        out = c[i] + t * out
    return out


def wrap(grid: Grid, x):
    """Positions wrapped into the box [-L/2, L/2) per axis."""
    L = jnp.asarray(grid.lengths, x.dtype)
    return jnp.mod(x + L / 2, L) - L / 2


@jax.jit  # one program, not one per op (the grid is static)
def grid_cdf(grid: Grid, rho):
    """F(x_j) = ∫_{-L/2}^{x_j} ρ dx at the points of a 1-D periodic grid, by the
    exact Fourier antiderivative (Nyquist mode dropped); shape `grid.shape`."""
    if grid.ndim != 1:
        raise ValueError("grid_cdf is 1-D; marginalize the density first.")
    n = grid.shape[0]
    dx = grid.spacing[0]
    rho = jnp.asarray(rho)
    (k,) = grid.wavenumbers(rho.dtype)
    rk = jnp.fft.fft(rho)
    safe = jnp.where(k == 0, 1.0, k)
    anti = jnp.where((k == 0) | (jnp.abs(k) >= np.pi / dx * (1 - 1e-12)), 0.0, rk / (1j * safe))
    per = jnp.real(jnp.fft.ifft(anti))
    j = jnp.arange(n, dtype=rho.dtype)
    return jnp.real(rk[0]) / n * j * dx + per - per[0]


def grid_cdf_function(grid: Grid, rho):
    """F(x) for a 1-D grid density: the Fourier antiderivative at grid points
    joined by quintic Hermite pieces matching F, F' = ρ and F'' = ρ' (spectral)
    at the grid points (error O(dx⁶ ρ⁽⁵⁾))."""
    F = grid_cdf(grid, rho)
    L = grid.lengths[0]
    dx = grid.spacing[0]
    total = jnp.real(jnp.fft.fft(rho)[0]) * dx  # ∫ρ over the box
    Fn = jnp.concatenate([F, total[None]])
    rn = jnp.concatenate([rho, rho[:1]])
    (drho,) = grid.gradient(rho)
    dn = jnp.concatenate([drho, drho[:1]])

    def cdf(x):
        s = (x + L / 2) / dx
        j = jnp.clip(jnp.floor(s).astype(jnp.int32), 0, grid.shape[0] - 1)
        t = s - j
        t2, t3 = t * t, t * t * t
        t4, t5 = t3 * t, t3 * t2
        h0 = 1 - 10 * t3 + 15 * t4 - 6 * t5
        h1 = t - 6 * t3 + 8 * t4 - 3 * t5
        h2 = 0.5 * (t2 - 3 * t3 + 3 * t4 - t5)
        h3 = 0.5 * (t3 - 2 * t4 + t5)
        h4 = -4 * t3 + 7 * t4 - 3 * t5
        h5 = 10 * t3 - 15 * t4 + 6 * t5
        return (
            h0 * Fn[j]
            + h1 * dx * rn[j]
            + h2 * dx**2 * dn[j]
            + h3 * dx**2 * dn[j + 1]
            + h4 * dx * rn[j + 1]
            + h5 * Fn[j + 1]
        )

    return jax.jit(cdf)  # called per sample batch: one program, not one per op


@functools.partial(jax.jit, static_argnames=("n", "dtype"))  # one program, not one per op
def sample_density(key, grid: Grid, rho, n: int, dtype=None):
    """Draw `n` positions, shape `(n, ndim)`, from a grid density ρ (any
    normalization): a cell with probability ∝ ρ_j, then uniformly in it.
    Exact for the piecewise-constant density (docs/internals/dqm.md#sampling).
    """
    rho = jnp.asarray(rho)
    dtype = jnp.real(rho).dtype if dtype is None else dtype
    k1, k2 = jax.random.split(key)
    logits = jnp.log(jnp.maximum(jnp.real(rho).reshape(-1), 0.0))
    flat = jax.random.categorical(k1, logits, shape=(n,))
    idx = jnp.unravel_index(flat, grid.shape)
    u = jax.random.uniform(k2, (n, grid.ndim), dtype, -0.5, 0.5)
    cols = []
    for a, (ax, d) in enumerate(zip(grid.axes(dtype), grid.spacing, strict=True)):
        cols.append(ax[idx[a]] + u[:, a] * d)
    return wrap(grid, jnp.stack(cols, axis=-1))


class ParticleHistogram(eqx.Module):
    """Observable: ensemble density on the law's grid (nearest-point bins, ∫ = 1)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        return histogram(self.law.grid, y.x)


class ParticleMoments(eqx.Module):
    """Observable: ensemble averages ⟨x_i^p⟩, shape (ndim, len(powers)).

    With `central=True`, powers p >= 2 are about the ensemble mean. Standard
    errors follow from higher moments, e.g. SE(⟨x⟩) = √(⟨x²⟩ − ⟨x⟩²)/√N.
    """

    powers: tuple[int, ...] = eqx.field(static=True, default=(1, 2))
    central: bool = eqx.field(static=True, default=False)

    def __call__(self, t, y, params):
        x = y.x
        mean = jnp.mean(x, axis=0)
        cols = []
        for p in self.powers:
            base = x - mean if (self.central and p >= 2) else x
            cols.append(jnp.mean(base**p, axis=0))
        return jnp.stack(cols, axis=-1)


class ParticleCDF(eqx.Module):
    """Observable: count[k] = #{i : x_i < e_k} along `axis` (default 0), int
    (bins + 1,), at the edges e_k = lo + k (hi − lo)/bins; `evolve_ensemble`
    sums chunks exactly, `ks_bounds` gives the KS distance (physics §3.7)."""

    lo: float = eqx.field(static=True)
    hi: float = eqx.field(static=True)
    bins: int = eqx.field(static=True)
    axis: int = eqx.field(static=True, default=0)

    def __check_init__(self):
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.hi > self.lo):
            raise ValueError(f"ParticleCDF needs finite lo < hi; got lo={self.lo}, hi={self.hi}.")
        if not (isinstance(self.bins, int) and self.bins >= 1):
            raise ValueError(f"bins must be an int >= 1; got {self.bins!r}.")

    def edges(self):
        """The bins + 1 edges e_k (NumPy, float64)."""
        return np.linspace(self.lo, self.hi, self.bins + 1)

    def __call__(self, t, y, params):
        x = y.x[:, self.axis]
        scale = jnp.asarray(self.bins / (self.hi - self.lo), x.dtype)
        s = (x - jnp.asarray(self.lo, x.dtype)) * scale
        # bin j (x in [e_j, e_j+1)) at index j + 1; below lo at 0, at or above hi at bins + 1
        idx = (jnp.clip(jnp.floor(s), -1, self.bins) + 1).astype(jnp.int32)
        counts = jnp.zeros(self.bins + 2, jnp.int32).at[idx].add(1)
        return jnp.cumsum(counts)[: self.bins + 1]


def ks_bounds(counts, n: int, F_edges):
    """Bounds (lower, upper) = (D_edges, D_edges + m) on the KS distance
    D = sup_x |F_N(x) − F(x)| of `n` samples from a continuous CDF F, from the
    `counts` below edges (`ParticleCDF`, shape (..., K)) and `F_edges` alone:
    D_edges = max_k |count_k/N − F(e_k)|, m the largest mass of F in one bin,
    the outer cells included (physics §3.7). NumPy, host side."""
    F = np.broadcast_to(np.asarray(F_edges, float), np.shape(counts))
    lower = np.max(np.abs(np.asarray(counts) / n - F), axis=-1)
    masses = np.concatenate([F[..., :1], np.diff(F, axis=-1), 1 - F[..., -1:]], axis=-1)
    return lower, lower + np.max(masses, axis=-1)
