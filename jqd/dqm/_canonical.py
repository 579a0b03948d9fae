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
    fisher_energy,
    fisher_tail_derivative,
    frame_gradient,
    law_functional,
    log_continuity_rate,
    log_fields,
    log_rk4_step,
    log_vector_field,
    phase_rates,
    relax_rate,
)

__all__ = ["CanonicalDQM"]


class CanonicalDQM(AbstractLaw):
    """Canonical (ρ, S) dynamics of the diffusion functional (SPEC §2):

        H_D[ρ, S] = ∫ [ (∇S)²/2m + (m D²/2)(∇ ln ρ)² + V ] ρ dx,
        ∂S/∂t = −δH_D/δρ,   ∂ρ/∂t = +δH_D/δS,

    with D a free constant (`DQMParams.D`; None means ħ/2m). D = ħ/2m gives
    the Madelung equations (quantum mechanics); other D do not.

    Discretization: H_D is a sum over the grid with 8th-order differences;
    the Fisher term ∫(∇ ln ρ)² ρ is written −4∫√ρ ∇²√ρ (the same functional,
    with the compact Laplacian and no derivative of ln ρ) and evaluated on
    ρ + ε (ε = `floor`·max ρ). The variational derivatives are `jax.grad` of
    the discrete sum divided by the cell volume: nothing is hand-derived in
    the bulk. In the tail (ρ ≲ 1e-9·max ρ) the Fisher part of δH/δρ and the
    continuity rate hand over to their ln ρ forms, the phase is damped below
    the floor and steps are taken in ln ρ: the small-density treatment of
    jqd/dqm/_madelung.py, shared with `Madelung`. S_total = p·x + S as in
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

    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        """(∂ℓ/∂t, ∂S/∂t, ṗ, ċ) at ρ = e^ℓ: Hamilton's equations by `jax.grad`,
        with the small-density treatment of the module docstring."""
        grid, kind, m = self.grid, self.derivative, params.mass
        y = MadelungState(rho, S, momentum, chirp)
        eps = _floor(rho, self.floor)
        dV = jnp.asarray(grid.cell_volume, rho.dtype)
        H = lambda rho_, S_: law_functional(self, t, y, params, rho_, S_, eps)
        dH_drho, dH_dS = jax.grad(H, argnums=(0, 1))(rho, S)
        # In the tail (w < 1) the Fisher part of δH/δρ is replaced by its ln ρ
        # form (`fisher_derivative`): same expression, accurate where √ρ is not.
        dF = jax.grad(lambda r: fisher_energy(grid, r, eps, kind))(rho) / dV
        lf = log_fields(grid, rho, self.floor, l)
        D = params.diffusion()
        e_loc = dH_drho / dV + (m * D**2 / 2) * (1 - lf.w) * (fisher_tail_derivative(lf) - dF)
        gS = frame_gradient(grid, S, momentum, chirp, kind)
        dl = log_continuity_rate(grid, rho, lf, S, chirp, gS, m, dH_dS / dV, self.floor, kind)
        dS, dp, dc = phase_rates(grid, rho, e_loc, self.floor, S, relax_rate(grid, params), lf.chi)
        return dl, dS, dp, dc

    def vector_field(self, t, y: MadelungState, params: DQMParams) -> MadelungState:
        return log_vector_field(lambda s, *u: self.rates(s, *u, params), t, y)

    def step(self, t, y, params, dt, key=None):
        return log_rk4_step(lambda s, *u: self.rates(s, *u, params), t, y, dt)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """H_D[ρ, S] (the conserved quantity)."""
        return self.functional(t, y, params)

    def check(self, y, params, dt=None):
        check_madelung_state(self.grid, y, floor=self.floor)
        check_dqm_params(params)
        check_dqm_step(self.grid, y, params, dt)
