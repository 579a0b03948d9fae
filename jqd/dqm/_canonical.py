"""Canonical diffusion quantum mechanics (SPEC §2, Z25-Z32): Hamilton's
equations of the functional H_D[ρ, S], derived by `jax.grad`."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._grid import Grid
from .._law import AbstractLaw
from ._madelung import (
    DQMParams,
    MadelungState,
    _floor,
    check_dqm_params,
    check_dqm_step,
    check_law_fields,
    check_madelung_state,
    density_mask,
    law_functional,
    phase_rates,
    relax_rate,
    rk4,
)

__all__ = ["CanonicalDQM"]


class CanonicalDQM(AbstractLaw):
    """Canonical (ρ, S) dynamics of the diffusion functional (SPEC §2):

        H_D[ρ, S] = ∫ [ (∇S)²/2m + (m D²/2)(∇ ln ρ)² + V ] ρ dx,
        ∂S/∂t = −δH_D/δρ,   ∂ρ/∂t = +δH_D/δS,

    with D a free constant (`DQMParams.D`; None means ħ/2m). D = ħ/2m gives
    the Madelung equations (quantum mechanics); other D do not.

    Discretization: H_D is a sum over the grid with spectral gradients; the
    Fisher term (∇ ln ρ)² ρ is written 4|∇√ρ|² (the same functional, with no
    spectral derivative of ln ρ, which is unbounded where ρ underflows) and
    evaluated on ρ + ε (ε = `floor`·max ρ). The variational derivatives are
    `jax.grad` of the discrete sum divided by the cell volume: nothing is
    hand-derived. The phase equation carries the same small-density
    treatment as `Madelung` (damping by ρ/(ρ+ε), measured from its ρ-weighted
    mean, a global phase): see jqd/dqm/_madelung.py. S_total = p·x + S as in
    `MadelungState`. H_D is conserved up to O(ε) and the time-step error
    (`energy`). RK4 stepping.

    Validated: at D = ħ/2m the vector field equals `Madelung`'s to round-off
    and the density follows grid Schrödinger; for D ≠ ħ/2m a Gaussian in a
    harmonic well breathes as the Ermakov equation σ̈ = D²/σ³ − ω²σ predicts
    (tests/test_dqm_canonical.py).

    Attributes:
        grid: the periodic box.
        potential: `V(x, t, args)` with `args = params.potential`; None = free.
        floor: relative density floor (None: 1e-10 float64, 1e-5 float32).
    """

    grid: Grid
    potential: Callable | None = eqx.field(static=True, default=None)
    floor: float | None = eqx.field(static=True, default=None)
    derivative: str = eqx.field(static=True, default="fd8")

    def __check_init__(self):
        check_law_fields(self)

    def functional(self, t, y: MadelungState, params: DQMParams, eps=None):
        """The discrete H_D (with ε = floor·max ρ unless given)."""
        return law_functional(self, t, y, params, eps=eps)

    def vector_field(self, t, y: MadelungState, params: DQMParams) -> MadelungState:
        eps = _floor(y.rho, self.floor)
        H = lambda rho, S: law_functional(self, t, y, params, rho, S, eps)
        dH_drho, dH_dS = jax.grad(H, argnums=(0, 1))(y.rho, y.S)
        dV = jnp.asarray(self.grid.cell_volume, y.rho.dtype)
        drho = density_mask(y.rho, eps) * dH_dS / dV
        dS, dp, db = phase_rates(
            self.grid, y.rho, dH_drho / dV, self.floor, y.S, relax_rate(self.grid, params)
        )
        return MadelungState(drho, dS, dp, db)

    def step(self, t, y, params, dt, key=None):
        return rk4(lambda s, u: self.vector_field(s, u, params), t, y, dt)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """H_D[ρ, S] (the conserved quantity)."""
        return self.functional(t, y, params)

    def check(self, y, params, dt=None):
        check_madelung_state(self.grid, y)
        check_dqm_params(params)
        check_dqm_step(self.grid, y, params, dt)
