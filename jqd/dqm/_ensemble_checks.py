"""Input check and breakdown monitor of the Nelson and Bohm ensembles (physics
§3.3): the step size near the nodes of ψ (code 3) and absurd drifts (code 4);
`where` is the particle's position, then the largest safe dt (NaN where none
applies). Calibration: docs/internals/dqm.md#node-step and #absurd-drift.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._grid import Grid
from .._guards import Check, round_down
from .._monitor import BreakdownError, Reason
from ..schrodinger._grid import TIME_STEP_REASON
from ._particles import wrap

NODE_TOL = 1e-3
GRID_TOL = 5e-3
TIME_STEP, NODE_STEP, JUMP = 2, 3, 4
ABSURD_FLOOR = 1e-16  # the drift cap of a node guard ε = 1e-16·max|ψ|²


class EnsembleBreakdownError(BreakdownError):
    """A Nelson or Bohm ensemble left the range where its step is valid: dt too
    large for the nodes of ψ, or a particle given an absurd drift at a node."""


_FIX = "Reduce dt below the last value in parentheses (the largest safe dt)."
BREAKDOWNS = {  # with grid Schrödinger's time-step entry
    NODE_STEP: Reason(
        EnsembleBreakdownError,
        f"dt is too large for the nodes ψ has now: more than {NODE_TOL:.1%} of the ensemble "
        "(plus a sampling allowance) has |u_N|² dt > 2D, moved further by the osmotic drift "
        "than by the noise in one step (where: the particle closest to a node, then the "
        "largest safe dt)",
        _FIX,
    ),
    JUMP: Reason(
        EnsembleBreakdownError,
        "a step gave a particle a non-finite drift, or one larger than any node guard "
        "rho_floor >= 1e-16 allows (where: its position before the step)",
        "Use the default rho_floor (1e-12), which bounds the drift at nodes, or resample "
        "the ensemble away from the nodes.",
    ),
    TIME_STEP: TIME_STEP_REASON._replace(fix=_FIX),
}


class NodeStep(NamedTuple):
    """The Nelson step-size check at one state."""

    ok: Array  # both criteria hold
    at_risk: Array  # particles with |u_N|² dt > 2D
    allowed: float  # how many may be
    grid_mass: Array  # ∫|ψ|² where |u_N|² dt > 2D, on the grid
    safe: Array  # the largest dt that passes both (inf where the check passes)
    worst: Array  # index of the particle with the largest |u_N|


def kth_largest(values, m):
    """`jnp.sort(values)[n - 1 - m]` of non-negative `values` (1-D) by a radix
    select on the bit patterns, 16 bits per pass (why: docs/internals/dqm.md#node-step)."""
    width = jnp.finfo(values.dtype).bits
    utype = jnp.uint64 if width == 64 else jnp.uint32
    bits = jax.lax.bitcast_convert_type(values, utype)

    def one_pass(p, carry):  # a loop, not unrolled: one pass to compile (~0.5 s less)
        prefix, high, above = carry  # high: the bits chosen so far; above: values larger
        shift = (width - 16 - 16 * p).astype(utype)
        digit = ((bits >> shift) & 0xFFFF).astype(jnp.int32)
        same = (bits & high) == prefix
        hist = jnp.zeros(65537, jnp.int32).at[jnp.where(same, digit, 65536)].add(1)[:65536]
        at_least = jnp.concatenate([jnp.cumsum(hist[::-1])[::-1], jnp.zeros(1, jnp.int32)])
        d = jnp.sum(above + at_least[:65536] >= m + 1) - 1  # the largest such digit
        above = (above + at_least[d + 1]).astype(jnp.int32)
        prefix = prefix | (d.astype(utype) << shift)
        return prefix, high | (jnp.asarray(0xFFFF, utype) << shift), above

    zero = jnp.zeros((), utype)
    init = (zero, zero, jnp.zeros((), jnp.int32))
    prefix, _, _ = jax.lax.fori_loop(0, width // 16, one_pass, init)
    return jax.lax.bitcast_convert_type(prefix, values.dtype)


def node_step(grid: Grid, psi, u, two_D, dt) -> NodeStep:
    """The step-size check for osmotic velocities `u` (n, ndim) at the particles
    and 2D = ħ/m: particles at risk, and the mass at risk on the grid."""
    u2 = jnp.sum(u**2, axis=-1)
    n = u2.shape[0]
    lam = NODE_TOL * n  # allowed: a Poisson count of mean lam plus 3 sd, plus one
    allowed = lam + 3 * math.sqrt(lam) + 1
    k = jnp.sum(u2 * dt > two_D)
    m = int(math.floor(allowed))  # safe: the dt below which at most m are at risk
    # on the grid: |u|² dt > 2D ⇔ (ħ/m) dt Σ_i Re(ψ*∂_iψ)² > |ψ|⁴ (no division)
    a2 = sum(jnp.real(jnp.conj(psi) * g) ** 2 for g in grid.gradient(psi)).ravel()
    rho = (jnp.abs(psi) ** 2).ravel()
    mass = rho * grid.cell_volume
    at_risk = two_D * dt * a2 > rho**2
    grid_mass = jnp.sum(jnp.where(at_risk, mass, 0.0))
    ok = (k <= allowed) & (grid_mass <= GRID_TOL)

    def safe():  # the fix a failure names; on a GPU the select costs more than a step
        if m >= n:
            particles = jnp.full((), jnp.inf, u2.dtype)
        else:
            kth = kth_largest(u2, m)
            particles = jnp.where(kth > 0, two_D / jnp.where(kth > 0, kth, 1.0), jnp.inf)
        # dt_j = |ψ|⁴ / ((ħ/m) Σ Re(ψ*∂ψ)²): in increasing order, the mass at risk grows
        dt_j = jnp.where(a2 > 0, rho**2 / (two_D * jnp.where(a2 > 0, a2, 1.0)), jnp.inf)
        order = jnp.argsort(dt_j)
        cum = jnp.cumsum(mass[order])
        on_grid = dt_j[order][jnp.minimum(jnp.sum(cum <= GRID_TOL), grid.size - 1)]
        return jnp.minimum(particles, on_grid)

    passed = lambda: jnp.full((), jnp.inf, u2.dtype)
    return NodeStep(ok, k, allowed, grid_mass, jax.lax.cond(ok, passed, safe), jnp.argmax(u2))


# at t0 as one compiled call (eagerly ≈ 1 s of CPU at 10^6 particles)
_node_step_at = eqx.filter_jit(lambda law, y, params, dt: law.node_step(y, params, dt))


def node_step_guards(law, y, params, dt) -> list[Check]:
    """The Nelson step-size check at t0."""
    c = _node_step_at(law, y, params, dt)
    n = jnp.shape(y.x)[0]
    message = (
        f"dt = {{dt}} is too large for the nodes of psi0: {{k}} of {n} particles ({{share:.2%}}; "
        f"at most {NODE_TOL:.1%} plus a sampling allowance, {{allowed:.0f}} here), and a mass "
        f"{{mass:.3g}} of |psi0|² on the grid (at most {GRID_TOL:g}), are so close to a node "
        "that the osmotic drift u = ħ∇ρ/2mρ moves them further in one step than the noise "
        "does (|u|² dt > 2D, D = ħ/2m; the closest particle is at x = ({x})), physics §3.3. "
        "Use dt <= {safe:.3g}."
    )
    values = {"dt": dt, "k": c.at_risk, "share": c.at_risk / n, "allowed": c.allowed}
    values |= {"mass": c.grid_mass, "x": y.x[c.worst], "safe": round_down(c.safe, 3)}
    return [Check(c.ok, message, values)]


def _marked(grid: Grid, x):
    """Particles a step marked (shifted out of the box by `mark_jumps`)."""
    return jnp.any(jnp.abs(x) > jnp.asarray(grid.lengths, x.dtype), axis=-1)


def mark_jumps(grid: Grid, psi, params, x, x1, displacement, dt):
    """New positions: x1 wrapped, except for particles whose drift over the
    step (`displacement`/dt) is not finite or exceeds the cap of a node guard
    ε = 1e-16·max|ψ|², (ħ/m)·max|∇ψ|/(2√ε) for ψ at the step's start: those
    stay at x shifted by two box lengths; particles marked before stay marked."""
    grad2 = sum(jnp.abs(g) ** 2 for g in grid.gradient(psi))
    rho_max = jnp.max(jnp.abs(psi) ** 2)
    cap = params.hbar / params.mass * jnp.sqrt(jnp.max(grad2) / (4 * ABSURD_FLOOR * rho_max))
    speed = jnp.sqrt(jnp.sum(displacement**2, axis=-1)) / dt
    bad = ~(speed <= cap)  # NaN too
    shifted = x + 2 * jnp.asarray(grid.lengths, x.dtype)
    new = jnp.where(bad[:, None], shifted, wrap(grid, jnp.where(bad[:, None], x, x1)))
    return jnp.where(_marked(grid, x)[:, None], x, new).astype(x.dtype)


def particle_status(grid: Grid, x, node=None):
    """(ok, code, where) of absurd drifts marked by a step (4) and, given a
    `NodeStep`, the Nelson step size (3)."""
    marked = _marked(grid, x)
    nan = jnp.full((1,), jnp.nan, x.dtype)
    ok = ~jnp.any(marked)
    code = jnp.full((), JUMP, jnp.int32)
    where = jnp.concatenate([wrap(grid, x[jnp.argmax(marked)]), nan])
    if node is not None:
        code = jnp.where(ok, NODE_STEP, code)
        safe = jnp.asarray(node.safe, x.dtype)[None]
        where = jnp.where(ok, jnp.concatenate([wrap(grid, x[node.worst]), safe]), where)
        ok = ok & node.ok
    return ok, jnp.where(ok, 0, code), where
