"""The diffusion functional H_D[ρ, S] (physics §2.2), its Fisher term
F = ∫ρ(∇ ln ρ)², the quantum potential Q = (m D²/2) δF/δρ at D = ħ/2m, with
conservative forms in the bulk and ln ρ forms in the tail blended by a C∞
weight w (docs/internals/dqm.md#small-densities).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._grid import Grid
from ..schrodinger._grid import potential_values
from ._state import default_floor, density_floor, frame_gradient
from ._stencils import deriv, edge_window, laplacian, nonperiodic, second_deriv, smooth_step

_TINY = {np.dtype("float64"): 1e-300, np.dtype("float32"): 1e-30}


def log_density(rho):
    """ℓ = ln ρ, with ρ clipped below at 1e-300·max ρ (1e-30 in float32)."""
    tiny = jnp.asarray(_TINY.get(np.dtype(rho.dtype), 1e-300), rho.dtype)
    return jnp.log(jnp.maximum(rho, tiny * jnp.max(rho)))


def bulk_levels(rho, floor):
    """(lo, hi): w = 0 below lo·max ρ, 1 above hi·max ρ."""
    f = default_floor(rho, floor)
    return f ** (13 / 15), f ** (9 / 15)


class LogFields(eqx.Module):
    """ℓ = ln ρ, its derivatives, the bulk weight w and the phase mask χ (`log_fields`)."""

    l: Array
    grad: tuple
    lap: Array
    w: Array
    chi: Array


def log_fields(grid: Grid, rho, floor, l=None) -> LogFields:
    """`LogFields` of ρ (ℓ = `log_density(ρ)` unless given)."""
    l = log_density(rho) if l is None else l
    n = grid.ndim
    gl = tuple(nonperiodic(grid, l, i, lambda u, i=i: deriv(grid, u, i)) for i in range(n))
    lap = sum(nonperiodic(grid, l, i, lambda u, i=i: second_deriv(grid, u, i)) for i in range(n))
    lo, hi = bulk_levels(rho, floor)
    tiny = jnp.asarray(_TINY.get(np.dtype(rho.dtype), 1e-300), rho.dtype)
    rel = jnp.maximum(rho / jnp.max(rho), tiny)
    w = smooth_step((jnp.log(rel) - float(np.log(lo))) / float(np.log(hi) - np.log(lo)))
    return LogFields(l, gl, lap, w, vacuum_mask(rho, floor))


def vacuum_mask(rho, floor):
    """χ(ρ): 0 where ρ < floor·max ρ, 1 where ρ > √floor·max ρ, C∞ in ln ρ
    between; times `edge_window`."""
    rel = rho / jnp.max(rho)
    tiny = jnp.asarray(default_floor(rho, floor), rho.dtype)
    z = jnp.log(jnp.maximum(rel, tiny) / tiny) / (-0.5 * jnp.log(tiny))
    return smooth_step(z) * edge_window(rho.shape, rho.dtype)


def fisher_derivative(grid: Grid, rho, eps, lf: LogFields, kind="fd8"):
    """δF/δρ = w · (−4 ∇²√(ρ+ε) / √(ρ+ε)) + (1 − w) · (−|∇ℓ|² − 2∇²ℓ): the
    bulk form is the exact discrete derivative of `fisher_energy`, the tail
    form is exact for Gaussian tails."""
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    bulk = -4 * laplacian(grid, R, kind) / R
    return lf.w * bulk + (1 - lf.w) * fisher_tail_derivative(lf)


def fisher_tail_derivative(lf: LogFields):
    """−|∇ℓ|² − 2∇²ℓ: the tail form of δF/δρ (`fisher_derivative`)."""
    return -sum(g**2 for g in lf.grad) - 2 * lf.lap


def quantum_potential(grid: Grid, rho, hbar, mass, eps, floor=None, kind="fd8"):
    """Q = −(ħ²/2m) ∇²√ρ/√ρ, with the small-density treatment of `fisher_derivative`."""
    lf = log_fields(grid, rho, floor)
    return hbar**2 / (8 * mass) * fisher_derivative(grid, rho, eps, lf, kind)


def fisher_energy(grid: Grid, rho, eps, kind="fd8"):
    """F = −4 Σ √ρ_ε ∇²√ρ_ε dV, ρ_ε = ρ + ε, with the compact Laplacian."""
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    return -4 * grid.integrate(R * laplacian(grid, R, kind))


def law_functional(law, t, y, params, rho=None, S=None, eps=None):
    """The discretized H_D[ρ, S] (physics §2.2) in `law`'s discretization, with
    the Fisher term on ρ + ε, at `y` with `rho`/`S` optionally replaced (the
    canonical law differentiates with respect to them)."""
    rho = y.rho if rho is None else rho
    S = y.S if S is None else S
    eps = density_floor(y.rho, law.floor) if eps is None else eps
    grid, kind, m = law.grid, law.derivative, params.mass
    D = params.diffusion()
    gS = frame_gradient(grid, S, y.momentum, y.chirp, kind)
    kin = grid.integrate(sum(g**2 for g in gS) * rho) / (2 * m)
    V = potential_values(grid, law.potential, t, params, rho.dtype)
    return kin + (m * D**2 / 2) * fisher_energy(grid, rho, eps, kind) + grid.integrate(V * rho)
