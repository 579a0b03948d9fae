"""The breakdown monitor of the Husimi grid solver: its codes, errors and messages.

The state carries `removed` (the cumulative L¹ norm the regularization took
off), `top` (FockShells: the fraction of ‖ρ‖² in the top two shells; otherwise
0) and `mass0`. The run has left the solver's accuracy envelope when one of
them passes the law's `tol`; `jqd.evolve` evaluates `HusimiGrid.monitor` at
every save, stops the run there and raises the error below naming the time,
the indicator values and the fix. These are error indicators, not bounds on
the L¹ error.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._monitor import BreakdownError, Reason

__all__ = ["EnvelopeError", "ShellOverflowError", "BREAKDOWNS", "envelope_status"]

REMOVED, MASS_DRIFT, TOP_SHELLS = 2, 3, 4  # monitor codes (1: NaN/Inf, shared)


class EnvelopeError(BreakdownError, FloatingPointError):
    """The grid solution left its accuracy envelope (see `HusimiGrid.monitor`)."""


class ShellOverflowError(EnvelopeError):
    """FockShells: the state put more than `tol` of ‖ρ‖² in the top two shells."""


_WHERE = (
    "`where` = (removed, top-shell weight, |mass drift|). Set the bound with HusimiGrid(tol=...). "
)

BREAKDOWNS = {
    REMOVED: Reason(
        EnvelopeError,
        "the cumulative L1 norm removed by the regularization (the envelope/positivity "
        "projections, or the part outside the Fock-shell space; the error indicator "
        "`removed`) exceeded tol",
        _WHERE + "Refine the grid (points), enlarge the box (length), shorten the run, or "
        "use jqd.husimi.HusimiGalerkin for long times.",
    ),
    MASS_DRIFT: Reason(
        EnvelopeError,
        "the mass ∫ρ dz drifted from its initial value by more than tol (mass reached "
        "the coefficient window or the box edge)",
        _WHERE + "Enlarge the box (length, with points) or the window, or shorten the run.",
    ),
    TOP_SHELLS: Reason(
        ShellOverflowError,
        "the weight (fraction of ||rho||^2) in the top two Fock shells (the Fock-cutoff "
        "check) exceeded tol: the state is leaving the n_max space",
        _WHERE + "Increase n_max (with length and points: grid.max_quanta()), or shorten the run.",
    ),
}


def envelope_status(grid, tol: float, y):
    """`(ok, code, where)` for a `HusimiGridState` `y`: fails (in this order)
    when `removed > tol`, `top > tol` or |∫ρ dz − mass0| > tol; `where` =
    (removed, top, |mass drift|)."""
    tol = jnp.asarray(tol, y.removed.dtype)
    drift = jnp.abs(grid.integrate(y.rho) - y.mass0)
    code = jnp.where(
        y.removed > tol,
        REMOVED,
        jnp.where(y.top > tol, TOP_SHELLS, jnp.where(drift > tol, MASS_DRIFT, 0)),
    )
    return code == 0, code, jnp.stack([y.removed, y.top, drift])
