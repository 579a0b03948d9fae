"""Read-outs of classical chains and gases (physics §7.5).

Mode energies of an FPUT chain project (q, p) on the normal modes of the
harmonic chain: for fixed ends the sine modes
U_jk = √(2/(n+1)) sin(πjk/(n+1)), λ_k = 4 sin²(πk/2(n+1)), k = 1..n, applied
as a DST-I through the FFT of the odd extension (0, q, 0, −q reversed) of
length 2(n+1); for periodic ends the unitary FFT, λ_k = 4 sin²(πk/n),
k = 0..n−1 (the pair k, n−k holds one cos and one sin mode; |Q̂_k|² averages
them). E_k = (|P_k|²/m + (spring λ_k + pinning)|Q_k|²)/2 sums to the harmonic
part of H (Parseval). In equilibrium at temperature T each ⟨E_k⟩ = T
(Rayleigh–Jeans): classical equipartition, not the Planck law.

The spectral entropy S = −Σ e_k ln e_k, e_k = E_k/Σ E, gives the effective
fraction of occupied modes n_eff = e^S/n (1 for equal E_k; for one
instantaneous thermal sample, exponentially distributed E_k, e^S/n →
e^{−⟨x ln x⟩} = e^{γ−1} ≈ 0.655 for x ~ Exp(1), so thermalization is judged on
time-averaged E_k).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = [
    "fput_mode_energies",
    "spectral_entropy",
    "effective_mode_fraction",
    "velocity_kurtosis",
    "speed_histogram",
    "contact_fraction",
]


def _dst1(x):
    """Orthonormal DST-I along the last axis (it is its own inverse)."""
    n = x.shape[-1]
    zero = jnp.zeros(x.shape[:-1] + (1,), x.dtype)
    ext = jnp.concatenate([zero, x, zero, -x[..., ::-1]], axis=-1)
    F = jnp.fft.rfft(ext, axis=-1)[..., 1 : n + 1]
    return -jnp.imag(F) * jnp.sqrt(1.0 / (2.0 * (n + 1))).astype(x.dtype)


def mode_eigenvalues(n: int, boundary: str, dtype=float):
    """λ_k of the unit-spring chain in the order `fput_mode_energies` uses."""
    if boundary == "fixed":
        k = jnp.arange(1, n + 1, dtype=dtype)
        return 4.0 * jnp.sin(jnp.pi * k / (2 * (n + 1))) ** 2
    k = jnp.arange(n, dtype=dtype)
    return 4.0 * jnp.sin(jnp.pi * k / n) ** 2


def fput_mode_energies(law, params, y):
    """Harmonic normal-mode energies E_k, shape y.q.shape (see module docstring).

    Fixed ends: k = 1..n (lowest first). Periodic: FFT order k = 0..n−1.
    """
    m = jnp.asarray(params.mass).astype(y.q.dtype)
    lam = mode_eigenvalues(law.n, law.boundary, y.q.dtype)
    w2m = jnp.asarray(params.spring) * lam + jnp.asarray(params.pinning)
    if law.boundary == "fixed":
        Q2, P2 = _dst1(y.q) ** 2, _dst1(y.p) ** 2
    else:
        Q2 = jnp.abs(jnp.fft.fft(y.q, axis=-1, norm="ortho")) ** 2
        P2 = jnp.abs(jnp.fft.fft(y.p, axis=-1, norm="ortho")) ** 2
    return 0.5 * (P2 / m + w2m * Q2)


@functools.partial(jax.jit, static_argnames="axis")  # one program, not one per op
def spectral_entropy(energies, axis: int = -1):
    """S = −Σ e_k ln e_k with e_k = E_k/Σ E_k (0 ln 0 = 0)."""
    e = energies / jnp.sum(energies, axis=axis, keepdims=True)
    safe = jnp.where(e > 0, e, 1.0)
    return -jnp.sum(jnp.where(e > 0, e * jnp.log(safe), 0.0), axis=axis)


def effective_mode_fraction(energies, axis: int = -1):
    """n_eff = exp(S)/n: 1 at equipartition, 1/n with one mode occupied."""
    return jnp.exp(spectral_entropy(energies, axis)) / energies.shape[axis]


def velocity_kurtosis(p):
    """⟨δv⁴⟩/⟨δv²⟩² of the Cartesian velocity components, pooled over particles
    and components (p: (..., n_particles, dim); the mass cancels). 3 for a
    Maxwell–Boltzmann gas; 1.5 in 2-D for one speed with random directions."""
    v = p - jnp.mean(p, axis=-2, keepdims=True)
    m2 = jnp.mean(v**2, axis=(-2, -1))
    return jnp.mean(v**4, axis=(-2, -1)) / m2**2


@functools.partial(jax.jit, static_argnames="bins")  # one program, not one per op
def speed_histogram(p, mass, bins: int, v_max):
    """Normalized histogram of speeds |p|/m on [0, v_max]: (density (bins,), edges)."""
    speed = jnp.linalg.norm(p, axis=-1).ravel() / mass
    density, edges = jnp.histogram(speed, bins=bins, range=(0.0, v_max), density=True)
    return density, edges


def contact_fraction(law, params, y):
    """Fraction of particles of a `SoftSphereGas` state touching at least one
    other (some pair distance < sigma)."""
    n_contacts = law.contacts(y, params)
    return jnp.mean((n_contacts > 0).astype(y.q.dtype))
