"""Observables of (ρ, S) states: the Fick velocity (Z23) and the uncertainty
product (Z21)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._law import AbstractLaw
from ._state import density_floor


class FickVelocity(eqx.Module):
    """Fick velocity u = −D ∇ρ/ρ (Z23), shape (ndim, *grid.shape); ρ + ε in
    the denominator (ε = floor·max ρ), D from params (ħ/2m if None)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        eps = density_floor(rho, getattr(self.law, "floor", None))
        D = params.diffusion()
        return jnp.stack([-D * g / (rho + eps) for g in grid.gradient(rho)])


class UncertaintyProduct(eqx.Module):
    """⟨(m u_i)²⟩ ⟨(x_i − ⟨x_i⟩)²⟩ per axis, shape (ndim,) (Z21, physics §2):
    ≥ ħ²/4 at D = ħ/2m, with equality for a Gaussian.

    ⟨(m u)²⟩ = m²D² ∫(∂_i ρ)²/ρ is computed as m²D² 4∫(∂_i√ρ)² (spectral, no
    division by ρ, so it is exact for states with nodes too).
    """

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        norm = grid.integrate(rho)
        R = jnp.sqrt(jnp.maximum(rho, 0))
        mD = params.mass * params.diffusion()
        out = []
        for x, g in zip(grid.mesh(rho.dtype), grid.gradient(R), strict=True):
            mean = grid.integrate(x * rho) / norm
            var = grid.integrate((x - mean) ** 2 * rho) / norm
            out.append(mD**2 * 4 * grid.integrate(g**2) / norm * var)
        return jnp.stack(out)
