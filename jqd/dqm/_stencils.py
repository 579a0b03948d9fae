"""Stencils of the (ρ, S) laws on a periodic `Grid`: 8th-order ("fd8") or
Fourier ("spectral") derivatives, quadratic ghost cells, 5th-order upwind
advection and the edge window (docs/internals/dqm.md#stencils).
"""

from __future__ import annotations

import jax.numpy as jnp

from .._grid import Grid

DERIVATIVES = ("fd8", "spectral")
_FD8 = (4 / 5, -1 / 5, 4 / 105, -1 / 280)
_FD8_D2 = (-205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560)
GHOST = 4  # the FD8 stencils' half-width: ghost cells per side, edge window cells


def _bshape(grid: Grid, i: int):
    shape = [1] * grid.ndim
    shape[i] = -1
    return shape


def deriv(grid: Grid, f, i: int, kind: str = "fd8"):
    """∂f/∂x_i of a real periodic field: "fd8" (9-point stencil) or "spectral"."""
    axis = i - grid.ndim
    if kind == "spectral":
        k = jnp.reshape(grid.wavenumbers(f.dtype)[i], _bshape(grid, i))
        fk = jnp.fft.fft(f, axis=axis)
        return jnp.real(jnp.fft.ifft(1j * k * fk, axis=axis))
    out = 0
    for j, c in enumerate(_FD8, start=1):
        out = out + c * (jnp.roll(f, -j, axis=axis) - jnp.roll(f, j, axis=axis))
    return out / jnp.asarray(grid.spacing[i], f.dtype)


def gradient(grid: Grid, f, kind: str = "fd8"):
    return tuple(deriv(grid, f, i, kind) for i in range(grid.ndim))


def divergence(grid: Grid, fields, kind: str = "fd8"):
    return sum(deriv(grid, f, i, kind) for i, f in enumerate(fields))


def second_deriv(grid: Grid, f, i: int, kind: str = "fd8"):
    """∂²f/∂x_i² on the compact 9-point 8th-order stencil ("fd8"), or Fourier."""
    axis = i - grid.ndim
    if kind == "spectral":
        k = jnp.reshape(grid.wavenumbers(f.dtype)[i], _bshape(grid, i))
        return jnp.real(jnp.fft.ifft(-(k**2) * jnp.fft.fft(f, axis=axis), axis=axis))
    out = _FD8_D2[0] * f
    for j, c in enumerate(_FD8_D2[1:], start=1):
        out = out + c * (jnp.roll(f, -j, axis=axis) + jnp.roll(f, j, axis=axis))
    return out / jnp.asarray(grid.spacing[i], f.dtype) ** 2


def laplacian(grid: Grid, f, kind: str = "fd8"):
    return sum(second_deriv(grid, f, i, kind) for i in range(grid.ndim))


def pad_quadratic(f, axis: int):
    """f with GHOST cells per side along `axis`, extrapolated quadratically."""
    f = jnp.moveaxis(f, axis, 0)
    lo, hi, los, his = [f[0], f[1], f[2]], [f[-1], f[-2], f[-3]], [], []
    for _ in range(GHOST):
        lo = [3 * lo[0] - 3 * lo[1] + lo[2], lo[0], lo[1]]
        hi = [3 * hi[0] - 3 * hi[1] + hi[2], hi[0], hi[1]]
        los.append(lo[0])
        his.append(hi[0])
    out = jnp.concatenate([jnp.stack(los[::-1]), f, jnp.stack(his)], 0)
    return jnp.moveaxis(out, 0, axis)


def nonperiodic(grid: Grid, f, i: int, stencil):
    """Apply a periodic stencil `stencil(padded)` along axis i to f padded with
    quadratic ghost cells, then crop (the stencil never wraps into real data)."""
    axis = i - grid.ndim
    g = jnp.moveaxis(stencil(pad_quadratic(f, axis)), axis, 0)[GHOST:-GHOST]
    return jnp.moveaxis(g, 0, axis)


def upwind5(grid: Grid, f, i: int, v):
    """v ∂f/∂x_i by the 5th-order upwind-biased stencil: exact for quintics."""
    axis = i - grid.ndim
    r = lambda k: jnp.roll(f, -k, axis=axis)  # f_{j+k}
    plus = -2 * r(-3) + 15 * r(-2) - 60 * r(-1) + 20 * f + 30 * r(1) - 3 * r(2)
    minus = 2 * r(3) - 15 * r(2) + 60 * r(1) - 20 * f - 30 * r(-1) + 3 * r(-2)
    return v * jnp.where(v > 0, plus, minus) / (60 * jnp.asarray(grid.spacing[i], f.dtype))


def smooth_step(z):
    """C∞ step: 0 for z <= 0, 1 for z >= 1 (exp(-1/z) construction)."""
    z = jnp.clip(z, 0, 1)
    f = lambda u: jnp.where(u > 0, jnp.exp(-1 / jnp.where(u > 0, u, 1)), 0)
    return f(z) / (f(z) + f(1 - z))


def edge_window(shape, dtype):
    """0 within GHOST cells of the box edge, 1 beyond 2·GHOST, C∞ between."""
    out = jnp.ones(shape, dtype)
    for axis, n in enumerate(shape):
        i = jnp.arange(n)
        d = jnp.minimum(i, n - 1 - i).astype(dtype)
        e = smooth_step((d - GHOST) / GHOST)
        sh = [1] * len(shape)
        sh[axis] = n
        out = out * e.reshape(sh)
    return out
