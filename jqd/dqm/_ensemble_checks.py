"""Guards and breakdown monitor of the Nelson and Bohm ensembles (physics §3.3).

Near a simple node x0 of ψ the osmotic velocity is u_N ≈ 2D/(x − x0)
(D = ħ/2m): singular. The continuum process never reaches the node, but an
explicit step of size dt moves a particle at distance r by 2D dt/r, further
than its noise √(2D dt) once r < √(2D dt) ⇔ |u_N|² dt > 2D: that particle
is flung across the node or far out. Two checks follow.

Step size near nodes (Nelson; guard at t0 and the monitor at every save).
The fraction of the ensemble with |u_N|² dt > 2D is the mass within
√(2D dt) of the nodes, ∝ dt^(3/2) per node. It may not exceed `NODE_TOL`
= 1e-3, plus a sampling allowance (3 standard deviations of a Poisson count
of mean 1e-3·N, plus one particle) so that an ensemble drawn from a state
at the limit is not refused by chance. It is measured on the particles
themselves (u_N interpolated as in the step), so it is the actual risk of
this run and needs no node finding in 1-3 D. As a backstop that does not
depend on N (a few particles cannot show a 1e-3 fraction), the same mass
is measured on the grid, Σ|ψ_j|² dV over points where |u_N|² dt > 2D; the
grid resolves the region √(2D dt) only roughly (within a factor ~2 in the
calibration below), so it may reach `GRID_TOL` = 5e-3. The largest safe
dt is the largest that passes both. Calibration (n = 1 oscillator state,
ħ = m = ω = 1, Heun, N = 2·10⁴, t = 2): ⟨x²⟩ (exact 1.5) was 2.24, 1.81,
1.68, 1.55, 1.53, 1.51 at dt = 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, where
the fraction at risk is 3.8e-2, 1.7e-2, 7.1e-3, 2.0e-3, 7.3e-4, 2.6e-4:
the bound admits dt ≲ 0.013 (error ≲ 2 % at t = 2); the grid backstop alone
(128 points on [−8, 8)) refuses dt = 0.1 (mass 2.1e-2). Nodeless states
pass at any reasonable dt: a Gaussian of width σ has |u_N| = D|x − x̄|/σ²,
at risk only beyond |x − x̄| = σ²√(2/(D dt)), 4.5σ (a fraction 8e-6) for
σ² = 1/2, D = 1/2 and dt = 0.1.

Absurd drifts (both ensembles, in the step; code 4). The node guard
ε = rho_floor·max|ψ|² bounds the drift by (ħ/m)|∇ψ|/(2√ε). A step whose
effective drift (displacement minus noise, over dt) is not finite or
exceeds `ABSURD` = (ħ/m)·max|∇ψ|/(2√(1e-16·max|ψ|²)), a hundred times the
largest drift the default floor (1e-12) allows, is not taken: the particle
stays where it was, shifted by two box lengths (invisible to everything
periodic), and the monitor reports it at the next save with that position.
Only rho_floor < 1e-16 lets the drift get there: with rho_floor = 0 a
particle on a node of the n = 1 state gets u = NaN, one at 1e-9 from it
u = 1e9, and a node that round-off leaves at ~1e-17 gives ~1e15, which
would throw the particle 1e13 box lengths away and wrap it to a random
place. With the floor such a particle is not thrown: its drift is bounded,
and particles that explicit steps fling near nodes are counted by the
step-size check above (they are part of its discretisation error, a rate
∝ N dt, not single events to stop a run for).

Where (all codes): the particle's position, then the largest safe dt (NaN
where none applies), shape (ndim + 1,).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._grid import Grid
from .._guards import Check, described, round_down, shown
from .._monitor import BreakdownError, Reason
from ._particles import wrap

NODE_TOL = 1e-3
GRID_TOL = 5e-3
TIME_STEP, NODE_STEP, JUMP = 2, 3, 4
ABSURD_FLOOR = 1e-16  # the drift cap of a node guard ε = 1e-16·max|ψ|²


class EnsembleBreakdownError(BreakdownError):
    """A Nelson or Bohm ensemble left the range where its step is valid: dt too
    large for the nodes of ψ, or a particle given an absurd drift at a node
    (module docstring). `where` is the particle's position, then the largest
    safe dt (NaN if none applies)."""


def breakdowns(time_step: Reason | None) -> dict:
    """The ensembles' breakdown table, with the Schrödinger law's time-step
    entry (its where is the last component here)."""
    out = {
        NODE_STEP: Reason(
            EnsembleBreakdownError,
            "dt is too large for the nodes ψ has now: too many particles are so close to "
            "a node that the osmotic drift moves them further in one step than the noise "
            f"does (|u_N|² dt > 2D for more than {NODE_TOL:.1%} of the ensemble plus a "
            "sampling allowance; where: the particle closest to a node, then the largest "
            "safe dt)",
            "Reduce dt below the last value in parentheses.",
        ),
        JUMP: Reason(
            EnsembleBreakdownError,
            "a step gave a particle a non-finite drift, or one larger than any node guard "
            "rho_floor >= 1e-16 allows (a particle on or next to a node of ψ with "
            "rho_floor < 1e-16; where: its position before the step)",
            "Use the default rho_floor (1e-12), which bounds the drift at nodes, or resample "
            "the ensemble away from the nodes.",
        ),
    }
    if time_step is not None:
        out[TIME_STEP] = Reason(
            time_step.error,
            time_step.what,
            "Reduce dt below the last value in parentheses (the largest safe dt).",
        )
    return out


class NodeStep(NamedTuple):
    """The Nelson step-size check at one state (module docstring)."""

    ok: Array  # both criteria hold
    at_risk: Array  # particles with |u_N|² dt > 2D
    allowed: float  # how many may be
    grid_mass: Array  # ∫|ψ|² where |u_N|² dt > 2D, on the grid
    safe: Array  # the largest dt that passes both
    worst: Array  # index of the particle with the largest |u_N|


def kth_largest(values, m):
    """The (m+1)-th largest of the non-negative `values` (1-D), exactly: the
    same number as `jnp.sort(values)[n - 1 - m]`, found by a radix select on
    the bit patterns (monotone for non-negative floats), 16 bits per pass:
    a 65536-bin histogram of the next digit among the values that share the
    digits chosen so far, then the largest digit that keeps m + 1 values at
    or above. Four passes in float64 instead of a sort (XLA's CPU sort of
    10^6 float64 costs ≈ 0.5 s of CPU, the select ≈ 15 ms)."""
    width = jnp.finfo(values.dtype).bits
    utype = jnp.uint64 if width == 64 else jnp.uint32
    bits = jax.lax.bitcast_convert_type(values, utype)
    prefix = jnp.zeros((), utype)
    above = jnp.zeros((), jnp.int32)  # values whose chosen digits are larger
    for shift in range(width - 16, -1, -16):
        digit = ((bits >> shift) & 0xFFFF).astype(jnp.int32)
        same = (bits >> (shift + 16)) == (prefix >> (shift + 16)) if shift + 16 < width else True
        hist = jnp.zeros(65537, jnp.int32).at[jnp.where(same, digit, 65536)].add(1)[:65536]
        at_least = jnp.concatenate([jnp.cumsum(hist[::-1])[::-1], jnp.zeros(1, jnp.int32)])
        d = jnp.sum(above + at_least[:65536] >= m + 1) - 1  # the largest such digit
        above = above + at_least[d + 1]
        prefix = prefix | (d.astype(utype) << shift)
    return jax.lax.bitcast_convert_type(prefix, values.dtype)


def node_step(grid: Grid, psi, u, two_D, dt) -> NodeStep:
    """The step-size check near nodes for osmotic velocities `u` (n, ndim) at
    the particles and 2D = ħ/m: the particle count (at most `NODE_TOL` of
    the ensemble plus the sampling allowance) and, as a backstop independent
    of N, the mass of |ψ|² at risk on the grid (at most `GRID_TOL`)."""
    u2 = jnp.sum(u**2, axis=-1)
    n = u2.shape[0]
    lam = NODE_TOL * n  # allowed: a Poisson count of mean lam plus 3 sd, plus one
    allowed = lam + 3 * math.sqrt(lam) + 1
    k = jnp.sum(u2 * dt > two_D)
    m = int(math.floor(allowed))  # safe: the dt below which at most m are at risk
    if m >= n:
        safe = jnp.full((), jnp.inf, u2.dtype)
    else:
        kth = kth_largest(u2, m)
        safe = jnp.where(kth > 0, two_D / jnp.where(kth > 0, kth, 1.0), jnp.inf)
    # on the grid: |u|² dt > 2D ⇔ (ħ/m) dt Σ_i Re(ψ*∂_iψ)² > |ψ|⁴ (no division)
    a2 = sum(jnp.real(jnp.conj(psi) * g) ** 2 for g in grid.gradient(psi)).ravel()
    rho = (jnp.abs(psi) ** 2).ravel()
    mass = rho * grid.cell_volume
    at_risk = two_D * dt * a2 > rho**2
    grid_mass = jnp.sum(jnp.where(at_risk, mass, 0.0))
    # dt_j = |ψ|⁴ / ((ħ/m) Σ Re(ψ*∂ψ)²): in increasing order, the mass at risk grows
    dt_j = jnp.where(a2 > 0, rho**2 / (two_D * jnp.where(a2 > 0, a2, 1.0)), jnp.inf)
    order = jnp.argsort(dt_j)
    cum = jnp.cumsum(mass[order])
    safe_grid = dt_j[order][jnp.minimum(jnp.sum(cum <= GRID_TOL), grid.size - 1)]
    ok = (k <= allowed) & (grid_mass <= GRID_TOL)
    return NodeStep(ok, k, allowed, grid_mass, jnp.minimum(safe, safe_grid), jnp.argmax(u2))


@eqx.filter_jit
def _node_step_compiled(grid, psi, u, two_D, dt):
    """`node_step` as one compiled call (eager guards otherwise dispatch
    dozens of operations over all particles: ≈ 1 s of CPU at 10^6)."""
    return node_step(grid, psi, u() if callable(u) else u, two_D, dt)


def node_step_guards(grid: Grid, psi, u, x, two_D, dt, name="psi0") -> list[Check]:
    """The Nelson step-size guard at t0 (module docstring). `u` may be a
    function of nothing that returns the osmotic velocities (evaluated
    inside the one compiled call that checks concrete inputs)."""
    c = _node_step_compiled(grid, psi, u, two_D, dt)
    n = jnp.shape(x)[0]

    def detail():
        k = int(np.asarray(c.at_risk))
        pos = ", ".join(f"{float(v):.4g}" for v in np.asarray(x)[int(np.asarray(c.worst))])
        return (
            f"dt = {shown(dt)} is too large for the nodes of {name}: {k} of {n} particles "
            f"({k / n:.2%}; at most {NODE_TOL:.1%} plus a sampling allowance, "
            f"{c.allowed:.0f} here), and a mass {float(np.asarray(c.grid_mass)):.3g} of "
            f"|{name}|² on the grid (at most {GRID_TOL:g}), are so close to a node that the "
            "osmotic drift u = ħ∇ρ/2mρ moves them further in one step than the noise does "
            f"(|u|² dt > 2D, D = ħ/2m; the closest particle is at x = ({pos})): the explicit "
            "step flings them across the node or far out (physics §3.3). Use dt <= "
            f"{float(round_down(c.safe, 3)):.3g}."
        )

    return [
        described(
            c.ok,
            f"dt is too large for the nodes of {name}: more than {NODE_TOL:.1%} of the "
            "particles (plus a sampling allowance), or of |psi|² on the grid, are so close "
            "to a node that the osmotic drift moves them further in one step than the noise "
            "(physics §3.3). Reduce dt.",
            detail,
            c.at_risk,
        )
    ]


def drift_cap(grid: Grid, psi, hbar, mass):
    """`ABSURD` (module docstring): (ħ/m)·max|∇ψ|/(2√(1e-16·max|ψ|²))."""
    grad2 = sum(jnp.abs(g) ** 2 for g in grid.gradient(psi))
    rho_max = jnp.max(jnp.abs(psi) ** 2)
    return hbar / mass * jnp.sqrt(jnp.max(grad2) / (4 * ABSURD_FLOOR * rho_max))


def mark_jumps(grid: Grid, x, x1, displacement, dt, cap):
    """New positions: x1 wrapped, except for particles whose drift over the
    step (`displacement`/dt) is not finite or exceeds `cap`, which stay at x
    shifted by two box lengths; particles marked before stay marked."""
    L = jnp.asarray(grid.lengths, x.dtype)
    marked = jnp.any(jnp.abs(x) > L, axis=-1)
    speed = jnp.sqrt(jnp.sum(displacement**2, axis=-1)) / dt
    bad = ~(speed <= cap)  # NaN too
    new = jnp.where(bad[:, None], x + 2 * L, wrap(grid, jnp.where(bad[:, None], x, x1)))
    return jnp.where(marked[:, None], x, new).astype(x.dtype)


def particle_status(grid: Grid, x, node=None):
    """(ok, code, where) of the particle checks: absurd drifts marked by a step
    (4) and, given a `NodeStep`, the Nelson step size (3). where =
    (position, largest safe dt)."""
    L = jnp.asarray(grid.lengths, x.dtype)
    marked = jnp.any(jnp.abs(x) > L, axis=-1)
    nan = jnp.full((1,), jnp.nan, x.dtype)
    pos = lambda i: wrap(grid, x[i])
    ok = ~jnp.any(marked)
    code = jnp.full((), JUMP, jnp.int32)
    where = jnp.concatenate([pos(jnp.argmax(marked)), nan])
    if node is not None:
        code = jnp.where(ok, NODE_STEP, code)
        safe = jnp.asarray(node.safe, x.dtype)[None]
        where = jnp.where(ok, jnp.concatenate([pos(node.worst), safe]), where)
        ok = ok & node.ok
    return ok, jnp.where(ok, 0, code), where


def combine(first, second):
    """The first failing of two (ok, code, where) statuses."""
    ok1, code1, where1 = first
    ok2, code2, where2 = second
    ok1 = jnp.asarray(ok1, bool)
    return ok1 & ok2, jnp.where(ok1, code2, code1), jnp.where(ok1, where2, where1)
