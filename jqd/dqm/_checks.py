"""Input checks of the (ρ, S) laws: structure in `check` (shapes, dtypes,
law fields), values as `jqd.Check`s (`fluid_guards`), which `jqd.evolve`
raises eagerly or stages in-graph under `jit`/`vmap`/`grad`.

Value checks of the initial state and step:

* ρ ≥ 0 and ∫ρ = 1;
* resolved tails: where ρ is in the bulk (ρ > floor^(9/15)·max ρ, the
  conservative forms of jqd/dqm/_functional.py) it may change by at most e³
  per cell (`MAX_BULK_JUMP`; a unit Gaussian on dx = a/2 jumps by e^4.5 and
  the run goes NaN);
* no vacuum next to the density: a cell above the floor ε = floor·max ρ
  next to one more than e^10 (`MAX_VACUUM_JUMP`) lower. Such a cliff is a
  node or a hard edge (ψ = 0 on a region: a compactly supported state, a
  cut-off tail): Q = −(ħ²/2m)∇²√ρ/√ρ is singular there, the tail forms
  cannot represent it, and the run is silently wrong (a cos² bump with
  ψ = 0 outside |x| < 3 was accepted and off by 0.015 in L1 at t = 0.5,
  NaN by t = 1). Smooth tails pass: a Gaussian falls by e^(λ dx) per cell,
  λ dx < 1.5 at the floor level on dx = a/8, so the bound only binds for
  cliffs;
* D > 0 (and D = ħ/2m for `Madelung`);
* the RK4 step: D k_max² dt ≤ 2.5 (`check_dqm_step`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._grid import Grid
from .._guards import Check, array_module, described, round_down, scalar
from .._guards import shown as show
from ._functional import _TINY, bulk_levels
from ._state import FRAME_DEGREE, DQMParams, MadelungState, default_floor
from ._stencils import DERIVATIVES

MAX_BULK_JUMP = 3.0
MAX_VACUUM_JUMP = 10.0
RK4_LIMIT = 2.5  # D k_max² dt, below RK4's 2.83 on the imaginary axis


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
    """Type, shapes and dtypes of a (ρ, S) state (known even for tracers)."""
    if not isinstance(y, MadelungState):
        raise TypeError(
            f"{name} must be a jqd.dqm MadelungState(rho, S, momentum); got {type(y).__name__}. "
            "Build one with state_from_psi(grid, psi) or gaussian_state(grid, ...)."
        )
    for arr, what in ((y.rho, "rho"), (y.S, "S")):
        if tuple(jnp.shape(arr)) != tuple(grid.shape):
            raise ValueError(
                f"{name}.{what} has shape {jnp.shape(arr)} but the grid has shape {grid.shape}; "
                "for a batch of states use jax.vmap over the leading axis."
            )
        if jnp.iscomplexobj(arr):
            raise ValueError(f"{name}.{what} must be real; got dtype {jnp.asarray(arr).dtype}.")
    if jnp.shape(y.momentum) != (grid.ndim,):
        raise ValueError(
            f"{name}.momentum must have shape ({grid.ndim},); got {jnp.shape(y.momentum)}."
        )
    if jnp.shape(y.chirp) != (grid.ndim, FRAME_DEGREE - 1):
        raise ValueError(
            f"{name}.chirp must have shape ({grid.ndim}, {FRAME_DEGREE - 1}); "
            f"got {jnp.shape(y.chirp)}."
        )


def check_dqm_params(params, name="params") -> None:
    if not isinstance(params, DQMParams):
        raise TypeError(f"{name} must be jqd.dqm DQMParams; got {type(params).__name__}.")


def density_guards(grid: Grid, rho, floor=None, name="y0") -> list[Check]:
    """ρ ≥ 0, ∫ρ = 1, resolved tails and no vacuum cliff (module docstring)."""
    xp = array_module(rho)
    rho = xp.asarray(rho)
    rmax = xp.max(rho)
    rmin = xp.min(rho)
    norm = xp.sum(rho) * grid.cell_volume
    dev = xp.abs(norm - 1)
    out = [
        Check(
            rmin >= -1e-8 * rmax,
            f"{name}.rho has negative values (min {{value}}); a density must be >= 0 "
            "(clip round-off with jnp.maximum(rho, 0) and renormalize).",
            rmin,
        ),
        Check(
            dev <= 1e-6,
            f"{name}.rho is not normalized (∫ρ − 1 = {{value}}, tolerance 1e-06); divide it "
            "by grid.integrate(rho).",
            norm - 1,
        ),
    ]
    return out + tail_guards(grid, rho, floor, name)


def _jumps(grid: Grid, rho, floor):
    """Per axis: |Δ ln ρ| between neighbours where both are in the bulk, and
    where at least one is above the floor ε (vacuum cliffs)."""
    xp = array_module(rho)
    tiny = _TINY.get(np.dtype(rho.dtype), 1e-300)
    rmax = xp.max(rho)
    _, hi = bulk_levels(rho, floor)
    eps = (default_floor(rho) if floor is None else floor) * rmax
    l = xp.log(xp.maximum(rho, tiny * rmax))
    bulk = rho >= hi * rmax
    above = rho >= eps
    out = []
    for i in range(grid.ndim):
        jump = xp.abs(xp.diff(l, axis=i))
        n = rho.shape[i]
        a, b = (xp.take(m, np.arange(n - 1), axis=i) for m in (bulk, above))
        c, d = (xp.take(m, np.arange(1, n), axis=i) for m in (bulk, above))
        out.append((xp.where(a & c, jump, 0.0), xp.where(b | d, jump, 0.0)))
    return out


def tail_guards(grid: Grid, rho, floor=None, name="y0") -> list[Check]:
    """The grid resolves the density's tails, and it has no vacuum cliff
    (module docstring), naming the place and the fix."""
    xp = array_module(rho)
    jumps = _jumps(grid, rho, floor)
    bulk = xp.max(xp.stack([xp.max(b) for b, _ in jumps]))
    cliff = xp.max(xp.stack([xp.max(c) for _, c in jumps]))
    _, hi = bulk_levels(rho, floor)

    def where(k):  # the worst pair of kind k: (axis, position of its midpoint)
        worst = [float(np.max(np.asarray(j[k]))) for j in jumps]
        axis = int(np.argmax(worst))
        idx = np.unravel_index(int(np.argmax(np.asarray(jumps[axis][k]))), jumps[axis][k].shape)
        pos = [float(np.asarray(ax)[i]) for ax, i in zip(grid.axes(), idx, strict=True)]
        pos[axis] += grid.spacing[axis] / 2
        return worst[axis], axis, ", ".join(f"{p:.4g}" for p in pos)

    def coarse():
        worst, axis, pos = where(0)
        dx = grid.spacing[axis]
        return (
            f"{name}.rho changes by a factor e^{worst:.2f} between neighbouring cells along "
            f"axis {axis} at x = ({pos}) where ρ > {hi:.1e}·max ρ (at most e^{MAX_BULK_JUMP:g}): "
            f"the grid is too coarse for this density's tails. Refine the grid to dx <= "
            f"{dx * MAX_BULK_JUMP / worst:.3g} (now {dx:.3g}), or widen the state."
        )

    def vacuum():
        worst, axis, pos = where(1)
        return (
            f"{name}.rho falls by e^{worst:.3g} to vacuum between neighbouring cells along axis "
            f"{axis} at x = ({pos}) (at most e^{MAX_VACUUM_JUMP:g} where ρ is above the floor): "
            "a node or a hard edge (ψ = 0 on a region), where the quantum potential is "
            "singular and the (ρ, S) laws do not apply (physics §2.4). Start from a nodeless "
            "state with resolved tails (e.g. Gaussian), or use grid Schrödinger "
            "(jqd.SchrodingerGrid)."
        )

    return [
        described(
            cliff <= MAX_VACUUM_JUMP,
            f"{name}.rho falls to vacuum between neighbouring cells (a node or a hard edge, "
            "ψ = 0 on a region): the (ρ, S) laws do not apply there (physics §2.4). Start from "
            "a nodeless state with resolved tails, or use jqd.SchrodingerGrid.",
            vacuum,
            cliff,
        ),
        described(
            bulk <= MAX_BULK_JUMP,
            f"{name}.rho changes by more than e^{MAX_BULK_JUMP:g} between neighbouring cells "
            "where it is in the bulk: the grid is too coarse for this density's tails. "
            "Refine the grid, or widen the state.",
            coarse,
            bulk,
        ),
    ]


def params_guards(params, name="params", madelung=False) -> list[Check]:
    """D > 0 where given; D = ħ/2m for the Madelung law."""
    if params.D is None:
        return []
    out = scalar(
        params.D, f"{name}.D", positive=True, fix="D is a diffusion coefficient (default ħ/2m)."
    )
    if madelung:
        xp = array_module(params.D, params.hbar, params.mass)
        d0 = xp.asarray(params.hbar) / (2 * xp.asarray(params.mass))
        out.append(
            Check(
                xp.abs(xp.asarray(params.D) - d0) <= 1e-12 * xp.abs(d0),
                f"{name}.D = {show(params.D)} but the Madelung law is the D = ħ/2m = "
                f"{show(d0)} case; leave D=None, or use CanonicalDQM for other values of D.",
            )
        )
    return out


def step_guards(grid: Grid, params, dt) -> list[Check]:
    """RK4 on the Madelung dispersion ω = D k² (D = ħ/2m) is stable for
    ω dt < 2.83; refuse D k_max² dt > 2.5, giving the largest safe dt."""
    if dt is None:
        return []
    k2 = sum(
        float(np.max((2 * np.pi * np.fft.fftfreq(n, L / n)) ** 2))
        for n, L in zip(grid.shape, grid.lengths, strict=True)
    )
    xp = array_module(params.hbar, params.mass, params.D, dt)
    hbar, mass = xp.asarray(params.hbar), xp.asarray(params.mass)
    D = (
        hbar / (2 * mass)
        if params.D is None
        else xp.maximum(xp.asarray(params.D), hbar / (2 * mass))
    )
    limit = RK4_LIMIT / (D * k2)
    return [
        Check(
            xp.asarray(dt) <= limit,
            f"dt = {show(dt)} is above the RK4 stability limit {{value}} of this grid "
            f"(D k_max² dt < {RK4_LIMIT:g} with k_max² = {k2:.4g}); use dt <= {{value}} or "
            "coarsen the grid.",
            round_down(limit),
        )
    ]


def fluid_guards(law, y: MadelungState, params: DQMParams, dt) -> list[Check]:
    """All value checks of a (ρ, S) law's inputs (module docstring)."""
    return (
        density_guards(law.grid, y.rho, law.floor)
        + params_guards(params, madelung=law.quantum_D_only)
        + step_guards(law.grid, params, dt)
    )
