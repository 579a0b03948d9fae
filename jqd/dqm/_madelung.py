"""Madelung hydrodynamics (physics §2.1); shared parts: jqd/dqm/_fluid.py."""

from __future__ import annotations

from typing import ClassVar

from ..schrodinger._grid import potential_values
from ._fluid import AbstractFluidLaw, log_continuity_rate, phase_rates, relax_rate
from ._functional import fisher_derivative, log_fields
from ._state import DQMParams, density_floor, frame_gradient
from ._stencils import divergence


class Madelung(AbstractFluidLaw):
    """Madelung equations on a periodic `Grid` (1-3 D), physics §2 (Z7-Z11):

        ∂ρ/∂t = −∇·(ρ ∇S_total/m)
        ∂S/∂t = −[(∇S_total)²/2m + V + Q],   Q = −(ħ²/2m) ∇²√ρ/√ρ

    S_total = p·x + b∘x²/2 + S (the phase frame), 8th-order differences, RK4 in
    (ln ρ, S); D must be None or ħ/2m. Valid away from nodes: the monitor stops
    at a node, an unresolved quantum wavenumber or the box edge
    (`MadelungBreakdownError`, physics §2.4). Attributes: `AbstractFluidLaw`'s.
    """

    quantum_D_only: ClassVar[bool] = True

    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        grid, kind, m = self.grid, self.derivative, params.mass
        eps = density_floor(rho, self.floor)
        lf = log_fields(grid, rho, self.floor, l)
        gS = frame_gradient(grid, S, momentum, chirp, kind)
        bulk = -divergence(grid, [rho * g / m for g in gS], kind)
        dl = log_continuity_rate(grid, rho, lf, S, chirp, gS, m, bulk, kind)
        V = potential_values(grid, self.potential, t, params, rho.dtype)
        Q = params.hbar**2 / (8 * m) * fisher_derivative(grid, rho, eps, lf, kind)
        e_loc = sum(g**2 for g in gS) / (2 * m) + V + Q
        dS, dp, dc = phase_rates(grid, rho, e_loc, self.floor, S, relax_rate(grid, params), lf.chi)
        return dl, dS, dp, dc
