"""Harmonic-oscillator references: exact Gaussian (coherent, squeezed) states
and the energy eigenstates."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import _guards
from .._grid import Grid
from .._guards import arguments


def harmonic_gaussian(grid: Grid, t, *, omega=1.0, mass=1.0, hbar=1.0, x0=0.0, p0=0.0, squeeze=1.0):
    """Exact Gaussian state of the 1-D oscillator V = m ω² x²/2 at time t.

    ψ(x, t) ∝ exp(−(mω/2ħ) β(t) (x − q)² + i p (x − q)/ħ), with (q, p) the
    classical trajectory from (x0, p0) and the Riccati solution
    β(t) = (β0 cos ωt + i sin ωt)/(cos ωt + i β0 sin ωt), β0 = `squeeze`
    (1: coherent state; ≠ 1: squeezed). Normalized analytically; the global
    phase is not tracked (compare with |⟨ψ_exact|ψ⟩|²).
    """
    if grid.ndim != 1:
        raise ValueError("harmonic_gaussian is 1-D: use a 1-D grid.")
    arguments("jqd.reference.harmonic_gaussian", omega=omega, mass=mass, hbar=hbar, squeeze=squeeze)
    c, s = np.cos(omega * t), np.sin(omega * t)
    q = x0 * c + p0 / (mass * omega) * s
    p = p0 * c - mass * omega * x0 * s
    beta = (squeeze * c + 1j * s) / (c + 1j * squeeze * s)
    k = mass * omega / hbar
    (x,) = grid.mesh()
    norm = (k * beta.real / np.pi) ** 0.25
    return norm * jnp.exp(-0.5 * k * beta * (x - q) ** 2 + 1j * p * (x - q) / hbar)


def oscillator_eigenstate(grid: Grid, n: int, omega=1.0, mass=1.0, hbar=1.0):
    """The n-th eigenstate of the 1-D oscillator V = m ω² x²/2 on the grid:

    φ_n(x) = H_n(√k x) e^(−k x²/2) / √(2ⁿ n! √(π/k)),   k = mω/ħ,

    with the physicists' Hermite polynomial H_n; real, normalized on the line,
    energy ħω(n + 1/2). Evaluated in NumPy float64, returned as a jax array.
    """
    from numpy.polynomial.hermite import hermval

    if grid.ndim != 1:
        raise ValueError("oscillator_eigenstate is 1-D: use a 1-D grid.")
    n = _guards.count(n, "n", minimum=0)
    arguments("jqd.reference.oscillator_eigenstate", omega=omega, mass=mass, hbar=hbar)
    k = mass * omega / hbar
    (x,) = grid.mesh()
    xi = math.sqrt(k) * np.asarray(x)
    c = np.zeros(n + 1)
    c[n] = 1.0
    norm = math.sqrt(2.0**n * math.factorial(n) * math.sqrt(math.pi / k))
    return jnp.asarray(hermval(xi, c) * np.exp(-(xi**2) / 2) / norm)
