"""Free-particle references: Gaussian packets and their spreading (physics §1)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._grid import Grid
from .._guards import arguments


def gaussian_packet(grid: Grid, a=1.0, p0=0.0, x0=0.0, hbar=1.0, dtype=complex):
    """ψ(x) = Π_i (πa²)^(−1/4) exp(−(x_i − x0_i)²/2a² + i p0_i x_i/ħ) (physics §1).

    `p0` and `x0` are scalars (same on every axis) or one value per axis;
    `a` and `hbar` must be positive.
    """
    arguments("jqd.reference.gaussian_packet", a=a, hbar=hbar)
    return _gaussian_packet(grid, a, p0, x0, hbar, dtype)


@functools.partial(jax.jit, static_argnames="dtype")  # one program, not one per op
def _gaussian_packet(grid, a, p0, x0, hbar, dtype):
    rdtype = jnp.finfo(jnp.dtype(dtype)).dtype
    p0 = jnp.broadcast_to(jnp.asarray(p0, rdtype), (grid.ndim,))  # traceable: sweeps vmap p0
    x0 = jnp.broadcast_to(jnp.asarray(x0, rdtype), (grid.ndim,))
    psi = jnp.ones(grid.shape, dtype)
    for x, p, c in zip(grid.mesh(rdtype), p0, x0, strict=True):
        psi = (
            psi
            * (np.pi * a**2) ** -0.25
            * jnp.exp(-((x - c) ** 2) / (2 * a**2) + 1j * p * x / hbar)
        )
    return psi.astype(dtype)


def free_gaussian_density(x, t, a=1.0, p0=0.0, hbar=1.0, mass=1.0, x0=0.0):
    """ρ(x, t) of a free Gaussian packet in 1-D (physics §1, Z16 with √ restored):

    ρ = exp(−(x − x0 − v0 t)²/(a²(1+τ²))) / (√π a √(1+τ²)),  τ = ħt/(m a²).

    For d dimensions multiply the 1-D densities of each axis. `a`, `hbar` and
    `mass` must be positive.
    """
    arguments("jqd.reference.free_gaussian_density", a=a, hbar=hbar, mass=mass)
    return _free_gaussian_density(x, t, a, p0, hbar, mass, x0)


@jax.jit  # one program, not one per op
def _free_gaussian_density(x, t, a, p0, hbar, mass, x0):
    tau = hbar * t / (mass * a**2)
    width2 = a**2 * (1 + tau**2)
    return jnp.exp(-((x - x0 - p0 / mass * t) ** 2) / width2) / jnp.sqrt(np.pi * width2)
