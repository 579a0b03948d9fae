"""Canonical diffusion quantum mechanics (physics §2, Z25-Z32): Hamilton's
equations of the functional H_D[ρ, S], derived by `jax.grad`.

On the grid, H_D is a sum over cells and the variational derivatives are
`jax.grad` of that sum divided by the cell volume: nothing is hand-derived in
the bulk. The Fisher term ∫(∇ ln ρ)² ρ is written −4∫√ρ ∇²√ρ (the same
functional, with the compact Laplacian and no derivative of ln ρ) and
evaluated on ρ + ε. In the tail (ρ ≲ 1e-9·max ρ) its derivative hands over
to the ln ρ form −|∇ℓ|² − 2∇²ℓ: the difference of the two, weighted by
1 − w, is added to δH/δρ (jqd/dqm/_functional.py); the continuity rate, the
phase frame and the ln ρ stepping are those of `Madelung` (jqd/dqm/_fluid.py).
"""

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

    with D a free constant (`DQMParams.D`; None means ħ/2m). D = ħ/2m gives
    the Madelung equations (Z30-Z32); any other D is quantum mechanics with ħ
    replaced by ħ' = 2mD. Variational
    derivatives by `jax.grad` of the discrete H_D (module docstring); S_total
    = p·x + S as in `MadelungState`; RK4 in (ln ρ, S) (order 4). H_D is
    conserved up to O(ε) and the time-step error (`energy`). Breakdown
    monitor as for `Madelung` (the shear wavenumber in units of ħ' = 2mD).

    Validated: at D = ħ/2m the vector field equals `Madelung`'s to round-off
    and the density follows grid Schrödinger; for D ≠ ħ/2m a Gaussian in a
    harmonic well breathes as the Ermakov equation σ̈ = D²/σ³ − ω²σ predicts
    (tests/test_dqm_canonical.py).

    Attributes: those of `jqd.dqm._fluid.AbstractFluidLaw` (grid, potential,
    floor, derivative and the four breakdown thresholds).
    """

    def functional(self, t, y: MadelungState, params: DQMParams, eps=None):
        """The discrete H_D (with ε = floor·max ρ unless given)."""
        return law_functional(self, t, y, params, eps=eps)

    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        """(∂ℓ/∂t, ∂S/∂t, ṗ, ċ) at ρ = e^ℓ: Hamilton's equations by `jax.grad`,
        with the small-density treatment of the module docstring."""
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
