"""Eager input checks of the (ρ, S) laws: law fields, state, params, step."""

from __future__ import annotations

import numpy as np

from .._checks import check_finite, check_normalized, check_positive, is_concrete
from .._grid import Grid
from ._functional import bulk_levels
from ._state import FRAME_DEGREE, DQMParams, MadelungState
from ._stencils import DERIVATIVES

MAX_BULK_JUMP = 3.0


def check_law_fields(law) -> None:
    if law.potential is not None and not callable(law.potential):
        raise TypeError("potential must be a function V(x, t, args) or None.")
    if law.floor is not None and not 0 < law.floor < 1e-2:
        raise ValueError(f"floor must be in (0, 1e-2); got {law.floor}.")
    if law.derivative not in DERIVATIVES:
        raise ValueError(f"derivative must be one of {DERIVATIVES}; got {law.derivative!r}.")
    for name in ("node_threshold", "resolution_threshold", "hole_level", "edge_threshold"):
        if not getattr(law, name) > 0:
            raise ValueError(f"{name} must be positive; got {getattr(law, name)}.")


def check_madelung_state(grid: Grid, y, name="y0", floor=None) -> None:
    if not isinstance(y, MadelungState):
        raise TypeError(
            f"{name} must be a jqd.dqm MadelungState(rho, S, momentum); got {type(y).__name__}. "
            "Build one with state_from_psi(grid, psi) or gaussian_state(grid, ...)."
        )
    if not is_concrete(y):
        return
    rho, S = np.asarray(y.rho), np.asarray(y.S)
    for arr, what in ((rho, "rho"), (S, "S")):
        if arr.shape != grid.shape:
            raise ValueError(
                f"{name}.{what} has shape {arr.shape} but the grid has shape {grid.shape}; "
                "for a batch of states use jax.vmap over the leading axis."
            )
        if np.iscomplexobj(arr):
            raise ValueError(f"{name}.{what} must be real; got dtype {arr.dtype}.")
    if np.shape(y.momentum) != (grid.ndim,):
        raise ValueError(
            f"{name}.momentum must have shape ({grid.ndim},); got {np.shape(y.momentum)}."
        )
    if np.shape(y.chirp) != (grid.ndim, FRAME_DEGREE - 1):
        raise ValueError(
            f"{name}.chirp must have shape ({grid.ndim}, {FRAME_DEGREE - 1}); "
            f"got {np.shape(y.chirp)}."
        )
    check_finite((rho, S, np.asarray(y.momentum)), name)
    if rho.min() < -1e-8 * rho.max():
        raise ValueError(
            f"{name}.rho has negative values (min {rho.min():.3g}); a density must be >= 0."
        )
    check_normalized(rho.sum() * grid.cell_volume, f"{name}.rho")
    check_tail_resolution(grid, rho, floor, name)


def check_tail_resolution(grid: Grid, rho, floor=None, name="y0") -> None:
    """Reject a grid on which the bulk density (ρ > floor^(3/5)·max ρ, where the
    conservative forms are used, `log_fields`) changes by more than e³ per
    cell: there their relative error is O(1) and the run goes NaN (as on a
    unit Gaussian with dx = a/2, where the jump is e^4.5)."""
    rho = np.asarray(rho, float)
    _, hi = bulk_levels(rho, floor)
    l = np.log(np.maximum(rho, 1e-300 * rho.max()))
    bulk = rho >= hi * rho.max()
    worst, axis = 0.0, 0
    for i in range(grid.ndim):
        jump = np.abs(np.diff(l, axis=i))
        both = np.logical_and(np.delete(bulk, -1, axis=i), np.delete(bulk, 0, axis=i))
        if both.any() and jump[both].max() > worst:
            worst, axis = float(jump[both].max()), i
    if worst > MAX_BULK_JUMP:
        dx = grid.spacing[axis]
        raise ValueError(
            f"{name}.rho changes by a factor e^{worst:.2f} between neighbouring cells "
            f"along axis {axis} where ρ > {hi:.1e}·max ρ (at most e^{MAX_BULK_JUMP:g}): the "
            f"grid is too coarse for this density's tails. Refine the grid to dx <= "
            f"{dx * MAX_BULK_JUMP / worst:.3g} (now {dx:.3g}), or widen the state."
        )


def check_dqm_params(params, name="params", madelung=False) -> None:
    if not isinstance(params, DQMParams):
        raise TypeError(f"{name} must be jqd.dqm DQMParams; got {type(params).__name__}.")
    if not is_concrete(params):
        return
    check_positive(params.hbar, f"{name}.hbar")
    check_positive(params.mass, f"{name}.mass")
    if params.D is not None:
        check_positive(params.D, f"{name}.D", "D is a diffusion coefficient (default ħ/2m).")
        if madelung:
            d0 = np.asarray(params.hbar) / (2 * np.asarray(params.mass))
            if not np.allclose(np.asarray(params.D), d0, rtol=1e-12):
                raise ValueError(
                    f"{name}.D = {params.D} but the Madelung law is the D = ħ/2m = {d0} case; "
                    "leave D=None, or use CanonicalDQM for other values of D."
                )


def check_dqm_step(grid: Grid, y, params, dt) -> None:
    """RK4 on the Madelung dispersion ω = D k² (D = ħ/2m) is stable for ω dt < 2.8."""
    if dt is None or not is_concrete(y, params, dt):
        return
    k2 = float(np.asarray(grid.k_squared(np.float64)).max())
    D = float(np.asarray(params.diffusion()))
    D = max(D, float(np.asarray(params.hbar) / (2 * np.asarray(params.mass))))
    limit = 2.5 / (D * k2)
    if float(dt) > limit:
        raise ValueError(
            f"dt = {float(dt):.4g} is above the RK4 stability limit {limit:.3g} of this grid "
            f"(D k_max² dt < 2.5 with k_max² = {k2:.4g}); reduce dt or coarsen the grid."
        )
