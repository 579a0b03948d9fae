"""Canonical diffusion quantum mechanics (physics §2.2), by `jax.grad`."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._fluid import AbstractFluidLaw, log_continuity_rate, phase_rates, relax_rate
from ._functional import fisher_energy, fisher_tail_derivative, law_functional, log_fields
from ._state import DQMParams, MadelungState, density_floor, frame_gradient


class CanonicalDQM(AbstractFluidLaw):
    """Canonical (ρ, S) dynamics of the diffusion functional (physics §2):

        H_D[ρ, S] = ∫ [ (∇S)²/2m + (m D²/2)(∇ ln ρ)² + V ] ρ dx,
        ∂S/∂t = −δH_D/δρ,   ∂ρ/∂t = +δH_D/δS,

    D free (`DQMParams.D`; None: ħ/2m, the Madelung equations; else quantum
    mechanics with ħ' = 2mD). Derivatives by `jax.grad` of the discrete H_D,
    RK4 in (ln ρ, S), monitor as `Madelung`'s. Attributes: `AbstractFluidLaw`'s.
    """

    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        """(∂ℓ/∂t, ∂S/∂t, ṗ, ċ) at ρ = e^ℓ: Hamilton's equations by `jax.grad`."""
        grid, kind, m = self.grid, self.derivative, params.mass
        y = MadelungState(rho, S, momentum, chirp)
        eps = density_floor(rho, self.floor)
        dV = jnp.asarray(grid.cell_volume, rho.dtype)
        H = lambda rho_, S_: law_functional(self, t, y, params, rho_, S_, eps)
        dH_drho, dH_dS = jax.grad(H, argnums=(0, 1))(rho, S)
        dF = jax.grad(lambda r: fisher_energy(grid, r, eps, kind))(rho) / dV
        lf = log_fields(grid, rho, self.floor, l)
        D = params.diffusion()
        e_loc = dH_drho / dV + (m * D**2 / 2) * (1 - lf.w) * (fisher_tail_derivative(lf) - dF)
        gS = frame_gradient(grid, S, momentum, chirp, kind)
        dl = log_continuity_rate(grid, rho, lf, S, chirp, gS, m, dH_dS / dV, kind)
        dS, dp, dc = phase_rates(grid, rho, e_loc, self.floor, S, relax_rate(grid, params), lf.chi)
        return dl, dS, dp, dc
