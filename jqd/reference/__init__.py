"""Exact references: analytic solutions and exact propagators.

Imported by tests, experiments and benchmarks alike. Everything here is
independent of the laws it validates (closed forms, or eigendecomposition).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._grid import Grid

__all__ = [
    "gaussian_packet",
    "free_gaussian_density",
    "harmonic_gaussian",
    "kerr_mean_a",
    "kerr_state",
    "kerr_husimi",
    "propagate",
    "grid_hamiltonian",
]


def gaussian_packet(grid: Grid, a=1.0, p0=0.0, x0=0.0, hbar=1.0, dtype=complex):
    """ψ(x) = Π_i (πa²)^(−1/4) exp(−(x_i − x0_i)²/2a² + i p0_i x_i/ħ) (SPEC §1).

    `p0` and `x0` are scalars (same on every axis) or one value per axis.
    """
    p0 = np.broadcast_to(np.asarray(p0, float), (grid.ndim,))
    x0 = np.broadcast_to(np.asarray(x0, float), (grid.ndim,))
    rdtype = jnp.finfo(jnp.dtype(dtype)).dtype
    psi = jnp.ones(grid.shape, dtype)
    for x, p, c in zip(grid.mesh(rdtype), p0, x0, strict=True):
        psi = (
            psi
            * (np.pi * a**2) ** -0.25
            * jnp.exp(-((x - c) ** 2) / (2 * a**2) + 1j * p * x / hbar)
        )
    return psi.astype(dtype)


def free_gaussian_density(x, t, a=1.0, p0=0.0, hbar=1.0, mass=1.0, x0=0.0):
    """ρ(x, t) of a free Gaussian packet in 1-D (SPEC §1, Z16 with √ restored):

    ρ = exp(−(x − x0 − v0 t)²/(a²(1+τ²))) / (√π a √(1+τ²)),  τ = ħt/(m a²).

    For d dimensions multiply the 1-D densities of each axis.
    """
    tau = hbar * t / (mass * a**2)
    width2 = a**2 * (1 + tau**2)
    return jnp.exp(-((x - x0 - p0 / mass * t) ** 2) / width2) / jnp.sqrt(np.pi * width2)


def harmonic_gaussian(grid: Grid, t, *, omega=1.0, mass=1.0, hbar=1.0, x0=0.0, p0=0.0, squeeze=1.0):
    """Exact Gaussian state of the 1-D oscillator V = m ω² x²/2 at time t.

    ψ(x, t) ∝ exp(−(mω/2ħ) β(t) (x − q)² + i p (x − q)/ħ), with (q, p) the
    classical trajectory from (x0, p0) and the Riccati solution
    β(t) = (β0 cos ωt + i sin ωt)/(cos ωt + i β0 sin ωt), β0 = `squeeze`
    (1: coherent state; ≠ 1: squeezed). Normalized analytically; the global
    phase is not tracked (compare with |⟨ψ_exact|ψ⟩|²).
    """
    if grid.ndim != 1:
        raise ValueError("harmonic_gaussian is 1-D.")
    c, s = np.cos(omega * t), np.sin(omega * t)
    q = x0 * c + p0 / (mass * omega) * s
    p = p0 * c - mass * omega * x0 * s
    beta = (squeeze * c + 1j * s) / (c + 1j * squeeze * s)
    k = mass * omega / hbar
    (x,) = grid.mesh()
    norm = (k * beta.real / np.pi) ** 0.25
    return norm * jnp.exp(-0.5 * k * beta * (x - q) ** 2 + 1j * p * (x - q) / hbar)


def kerr_mean_a(t, alpha0, U=1.0, hbar=1.0):
    """⟨a(t)⟩ = α0 exp[|α0|²(e^{−iUt/ħ} − 1)] for H = (U/2) a†²a², start |α0⟩ (SPEC §4)."""
    return alpha0 * jnp.exp(jnp.abs(alpha0) ** 2 * (jnp.exp(-1j * U * t / hbar) - 1))


def kerr_state(t, alpha0, cutoff: int, U=1.0, hbar=1.0):
    """Fock coefficients of the Kerr-evolved coherent state: c_n(0) e^{−iU n(n−1) t/2ħ}."""
    from ..fock import coherent_state

    n = jnp.arange(cutoff)
    c0 = coherent_state(alpha0, cutoff)
    return c0 * jnp.exp(-0.5j * U * n * (n - 1) * t / hbar)


def kerr_husimi(alpha, t, alpha0, U=1.0, n_max: int | None = None, hbar=1.0):
    """Exact Q_H(α, t) = π⁻¹ e^{−|α|²−|α0|²} |Σ_n (α*α0)ⁿ/n! e^{−iUt n(n−1)/2ħ}|² (SPEC §4)."""
    alpha = jnp.asarray(alpha)
    if n_max is None:
        # the terms |z|^n/n! (z = α*α0) peak at n ≈ |z| and fall off factorially beyond
        zmax = abs(alpha0) * float(jnp.max(jnp.abs(alpha)))
        n_max = int(zmax + 12 * np.sqrt(zmax) + 40)
    n = jnp.arange(n_max)
    logfact = jax.scipy.special.gammaln(n + 1.0)
    z = jnp.conj(alpha)[..., None] * alpha0
    zero = z == 0
    # (z^n / n!) computed in log form for stability (z = 0 handled apart: 0^0 = 1)
    log_z = jnp.log(jnp.where(zero, 1.0, z) + 0j)
    terms = jnp.exp(n * log_z - logfact - 0.5j * U * t * n * (n - 1) / hbar)
    terms = jnp.where(n == 0, 1.0 + 0j, jnp.where(zero, 0.0j, terms))
    s = jnp.sum(terms, axis=-1)
    return jnp.exp(-(jnp.abs(alpha) ** 2) - abs(alpha0) ** 2) * jnp.abs(s) ** 2 / np.pi


def propagate(H, psi0, ts, hbar=1.0):
    """Exact ψ(t) = V e^{−iEt/ħ} V† ψ0 for time-independent Hermitian H, all
    `ts` at once (shape `(len(ts), dim)`): one eigendecomposition, no stepping."""
    E, V = jnp.linalg.eigh(H)
    V = V.astype(jnp.result_type(V.dtype, jnp.complex64))
    c = jnp.conj(V).T @ psi0.astype(V.dtype)
    phases = jnp.exp(-1j * jnp.outer(jnp.asarray(ts), E) / hbar)
    return (phases * c) @ V.T


def grid_hamiltonian(grid: Grid, V, hbar=1.0, mass=1.0):
    """Dense H = F⁻¹ (ħ²k²/2m) F + diag(V) on a grid (for exact diagonalization
    of the same discretization the split-step law uses). Size grid.size²."""
    n = grid.size
    k2 = np.asarray(grid.k_squared(np.float64)).reshape(-1)
    eye = np.eye(n).reshape((n,) + grid.shape)
    axes = tuple(range(1, grid.ndim + 1))
    Fe = np.fft.fftn(eye, axes=axes).reshape(n, n)
    T = np.fft.ifftn((Fe * (hbar**2 * k2 / (2 * mass))).reshape((n,) + grid.shape), axes=axes)
    T = T.reshape(n, n).T
    return T + np.diag(np.asarray(V).reshape(-1))
