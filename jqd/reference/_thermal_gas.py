"""Closed forms for classical gases and free packets (physics §7.3, §7.5).

packet_energy_spread: a free packet with Gaussian momentum distribution of
variance σ_p² per axis about p0 (σ_p² = ħ²/2d² for ψ ∝ exp(−x²/2d²)), E = p²/2m.
With p = p0 + δ, δ_i ~ N(0, σ_p²): Var(p²) = Var(2 p0·δ + |δ|²)
= 4 p0² σ_p² + 2 D σ_p⁴ (the cross term has zero mean, Var|δ|² = 2Dσ_p⁴), so

    ΔE² = (p0² σ_p² + (D/2) σ_p⁴)/m².

dilute_gas_potential_energy: to first order in the density n the pair
distribution is g(r) = e^{−U(r)/T} (second virial order), so the potential
energy per particle is

    ⟨PE⟩/N = (n/2) ∫ U(r) e^{−U(r)/T} d^D r
           = (n/2) S_D ∫_0^σ (κ/2) s² e^{−κ s²/2T} (σ − s)^{D−1} ds,

s = σ − r, S_2 = 2π, S_3 = 4π (k_B = 1). Evaluated by Gauss–Legendre
quadrature on [0, min(σ, 12 √(T/κ))] (the Gaussian factor is below e^{−72}
beyond), exact to round-off for the polynomial × Gaussian integrand. Stiff
limit κσ²/T → ∞: (n/2) S_D σ^{D−1} (T/4) √(2πT/κ).

harmonic_contact_time: while two soft spheres touch, their separation obeys
μ r̈ = κ(σ − r) (head-on): half a period of the relative oscillator,
τ_c = π√(μ/κ), independent of the speed.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import _guards
from .._guards import arguments

__all__ = ["packet_energy_spread", "dilute_gas_potential_energy", "harmonic_contact_time"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(160)
_SURFACE = {1: 2.0, 2: 2.0 * math.pi, 3: 4.0 * math.pi}


def packet_energy_spread(p0, width, mass=1.0, hbar=1.0, dim=3):
    """ΔE of a free Gaussian packet ψ ∝ exp(−|x|²/2d² + i p0·x/ħ) in `dim`
    dimensions: √(p0²σ_p² + (dim/2)σ_p⁴)/m with σ_p² = ħ²/2d² (physics §7.3).
    `p0` is the magnitude of the mean momentum, `width` is d (> 0)."""
    dim = _guards.count(dim, "dim")
    arguments(
        "jqd.reference.packet_energy_spread", real=("p0",), p0=p0, width=width, mass=mass, hbar=hbar
    )
    sp2 = hbar**2 / (2.0 * width**2)
    return jnp.sqrt(p0**2 * sp2 + 0.5 * dim * sp2**2) / mass


def dilute_gas_potential_energy(density, temperature, kappa, sigma, dim=2):
    """Second-virial ⟨PE⟩ per particle of the soft-sphere gas U = κ(σ−r)²/2
    (r < σ) at number density n and temperature T (k_B = 1); see the module
    docstring for the derivation."""
    if dim not in _SURFACE:
        raise ValueError(f"dim must be 1, 2 or 3; got {dim!r}.")
    arguments(
        "jqd.reference.dilute_gas_potential_energy",
        ("density",),
        density=density,
        temperature=temperature,
        kappa=kappa,
        sigma=sigma,
    )
    top = jnp.minimum(sigma, 12.0 * jnp.sqrt(temperature / kappa))
    s = 0.5 * top * (jnp.asarray(_NODES) + 1.0)
    w = 0.5 * top * jnp.asarray(_WEIGHTS)
    u = 0.5 * kappa * s**2
    integrand = u * jnp.exp(-u / temperature) * (sigma - s) ** (dim - 1)
    return 0.5 * density * _SURFACE[dim] * jnp.sum(w * integrand)


def harmonic_contact_time(mu, kappa):
    """Duration π√(μ/κ) of a contact of two harmonic soft spheres (reduced mass μ)."""
    arguments("jqd.reference.harmonic_contact_time", mu=mu, kappa=kappa)
    return math.pi * jnp.sqrt(mu / kappa)
