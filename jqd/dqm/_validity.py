"""Where the hydrodynamic (ρ, S) picture stops being valid (physics §2.4): node
depth (code 2), resolution (3) and edge (4), measured by `MadelungValidity`;
the (ρ, S) laws' `monitor` returns them. Calibration: docs/internals/dqm.md#validity.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._evolve import Solution
from .._grid import Grid
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ._functional import quantum_potential
from ._state import DQMParams, MadelungState, density_floor, frame_gradient
from ._stencils import divergence, edge_window

NODE, RESOLUTION, EDGE = 2, 3, 4
REASON_NAMES = {1: "nonfinite", NODE: "node", RESOLUTION: "resolution", EDGE: "edge"}
THRESHOLDS = ("node_threshold", "resolution_threshold", "hole_level", "edge_threshold")


class MadelungBreakdownError(BreakdownError):
    """A (ρ, S) run left the hydrodynamic picture's validity range; `breakdown`
    says where as a `Breakdown` (diagnostic values NaN)."""

    @property
    def breakdown(self) -> Breakdown:
        codes = np.asarray(self.solution.stats["breakdown_code"])  # a batch: the first member
        return _from_stats(self.solution.stats, np.unravel_index(np.argmax(codes > 0), codes.shape))


_PICTURE = "the hydrodynamic (ρ, S) picture broke down: "
_CONTINUE = "continue with grid Schrödinger (jqd.SchrodingerGrid) past this time."
BREAKDOWNS = {
    NODE: Reason(
        MadelungBreakdownError,
        _PICTURE + "a node formed inside the support (node depth < the law's node_threshold)",
        "The run up to this save is attached (error.solution); " + _CONTINUE,
    ),
    RESOLUTION: Reason(
        MadelungBreakdownError,
        _PICTURE + "the local quantum wavenumber exceeds what the grid resolves "
        "(k dx >= the law's resolution_threshold; a node is forming)",
        "Refine the grid if the density is smooth there, or " + _CONTINUE,
    ),
    EDGE: Reason(
        MadelungBreakdownError,
        "the density reached the box edge, where the phase frame wraps around "
        "(>= the law's edge_threshold of its peak)",
        "Use a larger box.",
    ),
}


def _argmin_position(grid: Grid, values):
    idx = jnp.unravel_index(jnp.argmin(values), grid.shape)
    return jnp.stack([ax[i] for ax, i in zip(grid.axes(values.dtype), idx, strict=True)])


class MadelungValidity(eqx.Module):
    """Observable: breakdown diagnostics of `law.density` on `law.grid` (physics
    §2.4), a dict: `node_depth` (smallest depth over points enclosed by density
    above `hole_level`·max ρ), `resolution` (largest dx·max(k_Q, k_v) there;
    0 without S), each with its `*_position`; `floored_mass` (∫ρ where ρ < ε);
    `edge_density`, `edge_position` (max ρ/max ρ near the box edge); `finite`
    and `valid` (all criteria pass). `law.validity()` of a (ρ, S) law uses
    its monitor's thresholds.
    """

    law: AbstractLaw
    node_threshold: float = eqx.field(static=True, default=1e-3)
    resolution_threshold: float = eqx.field(static=True, default=0.3)
    hole_level: float = eqx.field(static=True, default=1e-2)
    edge_threshold: float = eqx.field(static=True, default=1e-10)

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        rmax = jnp.max(rho)
        outer = jnp.where(edge_window(rho.shape, rho.dtype) == 1, 0, rho)
        edge = jnp.max(outer) / rmax
        edge_pos = _argmin_position(grid, -outer)
        ratio = jnp.ones_like(rho)
        for axis in range(grid.ndim):
            left = jax.lax.cummax(rho, axis=axis)
            right = jax.lax.cummax(rho, axis=axis, reverse=True)
            enc = jnp.minimum(left, right)
            r = jnp.where(enc > self.hole_level * rmax, rho / jnp.where(enc > 0, enc, 1), 1)
            ratio = jnp.minimum(ratio, r)
        depth = jnp.min(ratio)
        node_pos = _argmin_position(grid, ratio)
        finite = jnp.all(jnp.isfinite(rho))
        res = floored = jnp.zeros((), rho.dtype)
        res_pos = jnp.zeros((grid.ndim,), rho.dtype)
        if isinstance(y, MadelungState):
            kind = getattr(self.law, "derivative", "fd8")
            floor = getattr(self.law, "floor", None)
            hbar = params.phase_unit() if isinstance(params, DQMParams) else params.hbar
            eps = density_floor(rho, floor)
            Q = quantum_potential(grid, rho, hbar, params.mass, eps, floor, kind)
            kq = jnp.sqrt(2 * params.mass * jnp.abs(Q)) / hbar
            shear = divergence(grid, frame_gradient(grid, y.S, y.momentum, y.chirp, kind), kind)
            kv = jnp.sqrt(jnp.abs(shear) / hbar)
            k = jnp.where(rho > self.hole_level * rmax, jnp.maximum(kq, kv), 0)
            res = jnp.max(k) * max(grid.spacing)
            res_pos = _argmin_position(grid, -k)
            floored = grid.integrate(jnp.where(rho < eps, rho, 0))
            finite = finite & jnp.all(jnp.isfinite(y.S))
        valid = finite & (depth >= self.node_threshold) & (res < self.resolution_threshold)
        valid &= edge < self.edge_threshold
        return {
            "node_depth": depth,
            "node_position": node_pos,
            "resolution": res,
            "resolution_position": res_pos,
            "floored_mass": floored,
            "edge_density": edge,
            "edge_position": edge_pos,
            "finite": finite,
            "valid": valid,
        }

    def status(self, t, y, params):
        """`(ok, code, where)` for a monitor: node (2), else edge (4), else resolution (3)."""
        v = self(t, y, params)
        node = v["node_depth"] < self.node_threshold
        edge = v["edge_density"] >= self.edge_threshold
        code = jnp.where(node, NODE, jnp.where(edge, EDGE, RESOLUTION))
        where = jnp.where(
            node, v["node_position"], jnp.where(edge, v["edge_position"], v["resolution_position"])
        )
        return v["valid"], jnp.where(v["valid"], 0, code), where


@dataclass(frozen=True)
class Breakdown:
    """When and where a hydrodynamic run stopped being valid: the first failing
    save's `time` and `index`, the `position`, the `reason` ("node",
    "resolution", "edge" or "nonfinite") and the diagnostic values then (NaN
    when read from a monitored run's stats)."""

    time: float
    index: int
    position: tuple[float, ...]
    reason: str
    node_depth: float = float("nan")
    resolution: float = float("nan")
    edge_density: float = float("nan")


def find_breakdown(
    ts, validity: dict | None = None, node_threshold: float = 1e-3, edge_threshold: float = 1e-10
) -> Breakdown | None:
    """The first breakdown of one run, or None: `find_breakdown(solution)` of a
    flagged run, or `find_breakdown(ts, validity)` of a `MadelungValidity`
    series, with the thresholds it was built with."""
    if isinstance(ts, Solution):
        code = np.asarray(ts.stats["breakdown_code"])
        if code.ndim != 0:
            raise ValueError(
                "find_breakdown takes one run's solution; for a batch, read "
                "solution.stats['breakdown_*'] per member."
            )
        return None if int(code) == 0 else _from_stats(ts.stats, ())
    if validity is None:
        raise TypeError("find_breakdown takes a Solution, or ts and a MadelungValidity series.")
    valid = np.asarray(validity["valid"])
    if valid.ndim != 1:
        raise ValueError("find_breakdown takes one run's validity series; loop over a batch.")
    bad = np.flatnonzero(~valid)
    if bad.size == 0:
        return None
    i = int(bad[0])
    at = {k: np.asarray(v)[i] for k, v in validity.items()}
    depth, res, edge = (float(at[k]) for k in ("node_depth", "resolution", "edge_density"))
    if not at["finite"]:
        reason = "nonfinite"
    elif depth < node_threshold:
        reason = "node"
    else:
        reason = "edge" if edge >= edge_threshold else "resolution"
    where = at["node_position" if reason == "nonfinite" else reason + "_position"]
    position = tuple(float(v) for v in where)
    return Breakdown(float(np.asarray(ts)[i]), i, position, reason, depth, res, edge)


def _from_stats(stats, member) -> Breakdown:
    """The `Breakdown` in a monitored run's stats, of batch `member` (() for one run)."""
    at = {k: np.asarray(v)[member] for k, v in stats.items() if k.startswith("breakdown_")}
    where = tuple(float(v) for v in np.atleast_1d(at["breakdown_where"]))
    reason = REASON_NAMES.get(int(at["breakdown_code"]), "unknown")
    return Breakdown(float(at["breakdown_time"]), int(at["breakdown_index"]), where, reason)
