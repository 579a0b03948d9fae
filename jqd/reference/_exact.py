"""Exact Schrödinger references (physics §1.4, §1.5): free Gaussian packets,
oscillator states, propagation by one eigendecomposition, the dense grid H."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from .._eigen import eigen_states
from .._grid import Grid
from .._guards import arguments
from .._sparse import todense
from ..interop import as_array


def gaussian_packet(grid: Grid, a=1.0, p0=0.0, x0=0.0, hbar=1.0, dtype=complex):
    """ψ(x) = Π_i (πa²)^(−1/4) exp(−(x_i − x0_i)²/2a² + i p0_i x_i/ħ) (physics §1.4).

    `p0` and `x0`: scalars or one value per axis; `a`, `hbar` > 0."""
    arguments("jqd.reference.gaussian_packet", a=a, hbar=hbar)
    return _gaussian_packet(grid, a, p0, x0, hbar, dtype)


@functools.partial(jax.jit, static_argnames="dtype")  # one program, not one per op
def _gaussian_packet(grid, a, p0, x0, hbar, dtype):
    dtype = jnp.result_type(
        dtype
    )  # `complex`: complex128 with float64, else complex64 (no warning)
    rdtype = jnp.finfo(dtype).dtype
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
    """ρ(x, t) of a free 1-D Gaussian packet (physics §1.4, Z16 with √ restored),
    shifted by x0; in d dimensions multiply the axes. `a`, `hbar`, `mass` > 0."""
    arguments("jqd.reference.free_gaussian_density", a=a, hbar=hbar, mass=mass)
    return _free_gaussian_density(x, t, a, p0, hbar, mass, x0)


@jax.jit  # one program, not one per op
def _free_gaussian_density(x, t, a, p0, hbar, mass, x0):
    tau = hbar * t / (mass * a**2)
    width2 = a**2 * (1 + tau**2)
    return jnp.exp(-((x - x0 - p0 / mass * t) ** 2) / width2) / jnp.sqrt(np.pi * width2)


def harmonic_gaussian(grid: Grid, t, *, omega=1.0, mass=1.0, hbar=1.0, x0=0.0, p0=0.0, squeeze=1.0):
    """Exact Gaussian state of the 1-D oscillator V = m ω² x²/2 at time t,
    from (x0, p0) with β0 = `squeeze` (1: coherent; physics §1.5). Normalized;
    the global phase is not tracked (compare with |⟨ψ_exact|ψ⟩|²)."""
    if grid.ndim != 1:
        raise ValueError("harmonic_gaussian is 1-D: use a 1-D grid.")
    arguments("jqd.reference.harmonic_gaussian", omega=omega, mass=mass, hbar=hbar, squeeze=squeeze)
    c, s = np.cos(omega * t), np.sin(omega * t)
    q = x0 * c + p0 / (mass * omega) * s
    p = p0 * c - mass * omega * x0 * s
    beta = (squeeze * c + 1j * s) / (c + 1j * squeeze * s)
    k = mass * omega / hbar
    (x,) = grid.axes()  # 1-D: the axis itself, no program
    norm = (k * beta.real / np.pi) ** 0.25
    return norm * jnp.exp(-0.5 * k * beta * (x - q) ** 2 + 1j * p * (x - q) / hbar)


def oscillator_eigenstate(grid: Grid, n: int, omega=1.0, mass=1.0, hbar=1.0):
    """The n-th eigenstate φ_n of the 1-D oscillator V = m ω² x²/2 on the grid
    (physics §1.5): real, normalized on the line, evaluated in NumPy float64
    by the normalized Hermite-function recurrence ψ_{k+1} = √(2/(k+1)) ξ ψ_k −
    √(k/(k+1)) ψ_{k−1}, whose terms stay below 1 (no overflow at any n; H_n
    and n! overflow float64 above n ≈ 150). The grid must resolve it: its
    turning points are at ξ = ±√(2n + 1), ξ = x √(mω/ħ)."""
    if grid.ndim != 1:
        raise ValueError("oscillator_eigenstate is 1-D: use a 1-D grid.")
    n = _guards.count(n, "n", minimum=0)
    arguments("jqd.reference.oscillator_eigenstate", omega=omega, mass=mass, hbar=hbar)
    k = mass * omega / hbar
    (x,) = grid.axes()  # 1-D: the axis itself, no program
    xi = math.sqrt(k) * np.asarray(x, np.float64)
    previous = np.zeros_like(xi)
    current = (k / math.pi) ** 0.25 * np.exp(-(xi**2) / 2)  # ψ_0
    for j in range(n):
        previous, current = (
            current,
            math.sqrt(2.0 / (j + 1)) * xi * current - math.sqrt(j / (j + 1)) * previous,
        )
    return _guards.to_device(current)


def _hermitian(H, name: str, caller: str, x):
    """`x`, with H refused unless Hermitian to max(1e-10, 1000 ε) of max|H|
    (eagerly, or in-graph on `x` when traced)."""
    eps = float(jnp.finfo(jnp.result_type(H, jnp.float32)).eps)
    rtol = max(1e-10, 1000 * eps)
    return _guards.enforce(_guards.hermitian(H, name, rtol=rtol), x, caller=caller)


def propagate(H, psi0, ts, hbar=1.0):
    """Exact ψ(t) = V e^{−iEt/ħ} V† ψ0 for time-independent Hermitian H at all
    `ts` (shape `(len(ts), dim)`) from one eigendecomposition. A non-Hermitian
    H (max|H − H†| above max(1e-10, 1000 ε) × max|H|) is refused, in-graph
    where traced.

    Compiled once per shape; differentiable in H, ψ0, ts and ħ, also for
    repeated eigenvalues (`jqd._eigen.eigen_states`). `H` and `psi0` may be
    QuTiP or dynamiqs objects (`jqd.interop`) or a sparse H (densified).
    """
    H, psi0 = todense(as_array(H, "H")), as_array(psi0, "psi0")
    arguments("jqd.reference.propagate", hbar=hbar)
    if jnp.ndim(H) != 2 or H.shape[0] != H.shape[1] or jnp.shape(psi0)[-1:] != H.shape[-1:]:
        raise ValueError(
            f"jqd.reference.propagate: H must be square (dim, dim) and psi0 (dim,); got H "
            f"{jnp.shape(H)}, psi0 {jnp.shape(psi0)}. Build both on the same basis."
        )
    # eigh reads one triangle: a non-Hermitian H would be evolved by a Hermitian part
    psi0 = _hermitian(H, "H", "jqd.reference.propagate", psi0)
    return _propagate(H, psi0, ts, hbar)


@jax.jit  # eigenbasis and phases: one program, not one per op
def _propagate(H, psi0, ts, hbar):
    ts = jnp.asarray(ts)
    s = ts / jnp.asarray(hbar, ts.dtype)
    cdtype = jnp.result_type(H.dtype, psi0.dtype, jnp.complex64)
    return eigen_states(H, psi0.astype(cdtype), s).astype(cdtype)


def grid_hamiltonian(grid: Grid, V, hbar=1.0, mass=1.0):
    """Dense H = F⁻¹ (ħ²k²/2m) F + diag(V) on a grid (for exact diagonalization
    of the same discretization the split-step law uses). Size grid.size²."""
    arguments("jqd.reference.grid_hamiltonian", hbar=hbar, mass=mass)
    n = grid.size
    if np.size(V) != n:
        raise ValueError(
            f"jqd.reference.grid_hamiltonian: V must hold one value per grid point, shape "
            f"{grid.shape}; got shape {np.shape(V)}. Evaluate V on grid.mesh()."
        )
    k2 = np.asarray(grid.k_squared(np.float64)).reshape(-1)
    eye = np.eye(n).reshape((n,) + grid.shape)
    axes = tuple(range(1, grid.ndim + 1))
    Fe = np.fft.fftn(eye, axes=axes).reshape(n, n)
    T = np.fft.ifftn((Fe * (hbar**2 * k2 / (2 * mass))).reshape((n,) + grid.shape), axes=axes)
    T = T.reshape(n, n).T
    return T + np.diag(np.asarray(V).reshape(-1))
