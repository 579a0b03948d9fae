"""Constants of `ClassicalWell` (physics §7.9), kept apart from the law so
that `jax.grad` and `jax.vmap` over them need no filtering."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["WellParams", "coupled_quartic"]


class WellParams(eqx.Module):
    """Constants of a particle in a smooth well (all differentiable).

    Attributes:
        mass: particle mass m > 0.
        lam: coupling λ >= 0 of the default potential `coupled_quartic`.
        curvature: (n,) spring constants k_i > 0 of its harmonic part
            (V ⊃ ½ Σ k_i x_i², so ω_i = √(k_i/m)); its length is the dimension.
    """

    mass: float | Array = 1.0
    lam: float | Array = 0.0
    curvature: Array = eqx.field(default_factory=lambda: jnp.asarray([1.0, 1.69]))


def coupled_quartic(x, params: WellParams):
    """V(x) = ½ Σ_i k_i x_i² + λ Σ_{i<j} x_i² x_j² for x of shape (..., n).

    In 2-D with k = (1, 1.69): V = ½(x² + 1.69 y²) + λ x² y², the chaotic
    well of physics §7.9 (integrable at λ = 0)."""
    x2 = x * x
    k = jnp.asarray(params.curvature, x.dtype)
    harmonic = 0.5 * jnp.sum(k * x2, axis=-1)
    s = jnp.sum(x2, axis=-1)
    pairs = 0.5 * (s * s - jnp.sum(x2 * x2, axis=-1))  # Σ_{i<j} x_i² x_j²
    return harmonic + jnp.asarray(params.lam, x.dtype) * pairs
