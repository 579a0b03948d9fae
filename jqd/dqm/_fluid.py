"""What the (ρ, S) laws `Madelung` and `CanonicalDQM` share (physics §2.5): RK4 in
ℓ = ln ρ, the tail form of the continuity equation, the phase frame, input
checks, monitor and `evolve_madelung` (docs/internals/dqm.md#stepping etc.).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from math import comb
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._evolve import Solution, evolve
from .._grid import Grid
from .._guards import Check, round_down, scalar
from .._law import AbstractLaw
from .._steppers import RK4, RK4_LIMIT, rk4
from ._functional import _TINY, LogFields, bulk_levels, law_functional, log_density, vacuum_mask
from ._state import DQMParams, MadelungState, default_floor
from ._stencils import DERIVATIVES, divergence, gradient, nonperiodic, pad_quadratic, upwind5
from ._validity import BREAKDOWNS, THRESHOLDS, MadelungValidity

MAX_BULK_JUMP = 3.0
MAX_VACUUM_JUMP = 10.0


def log_continuity_rate(grid: Grid, rho, lf: LogFields, S, chirp, gS, mass, bulk_rate, kind):
    """∂ℓ/∂t for ℓ = ln ρ: w · (`bulk_rate`/ρ) + (1 − w) · (−∇·v − v·∇ℓ), with
    `bulk_rate` ∂ρ/∂t in conservative form; ∇·v takes the frame part Σc_i/m
    analytically (docs/internals/dqm.md#stepping)."""
    w, l, chi = lf.w, lf.l, lf.chi
    gs = gradient(grid, S, kind)
    flow = [chi * g for g in gs]  # the part of ∇S the tail follows
    div_v = sum(chirp[i, 0] for i in range(grid.ndim)) / mass
    div_v = div_v + divergence(grid, flow, kind) / mass
    adv = 0
    for i, (g, gi, fi) in enumerate(zip(gS, gs, flow, strict=True)):
        v = pad_quadratic((g - gi + fi) / mass, i - grid.ndim)  # frame part: linear, exact
        up = nonperiodic(grid, l, i, lambda u, i=i, v=v: upwind5(grid, u, i, v))
        adv = adv + chi * (g - gi + fi) / mass * lf.grad[i] + (1 - chi) * up
    tail = -div_v - adv
    return w * bulk_rate / jnp.where(w > 0, rho, 1) + (1 - w) * tail


def phase_rates(grid: Grid, rho, e_loc, floor, S, relax, chi=None):
    """(dS, dp, dc): ∂S_total/∂t = −E_loc (up to a constant) split into the frame
    rates (a ρ-weighted least-squares fit) and the residual, damped by χ
    (docs/internals/dqm.md#phase-frame)."""
    dtype = rho.dtype
    xs = grid.mesh(dtype)
    w = rho / jnp.sum(rho)
    means = [jnp.sum(w * x) for x in xs]
    K = 2  # the frame's degree (docs/internals/dqm.md#phase-frame)
    basis = [jnp.ones_like(rho)]
    for x, c in zip(xs, means, strict=True):
        basis += [(x - c) ** k for k in range(1, K + 1)]
    B = jnp.stack([b.reshape(-1) for b in basis])  # (nb, npts)
    wf = w.reshape(-1)
    G = (B * wf) @ B.T
    r = -e_loc.reshape(-1)
    coef = _solve_small(G, (B * wf) @ r)
    fit = (coef @ B).reshape(rho.shape)
    dp, dc = [], []
    for i, mu in enumerate(means):
        a = [coef[1 + i * K + k - 1] for k in range(1, K + 1)]  # a_k, k = 1..K
        # Σ_k a_k (x − μ)^k = Σ_j d_j x^j  (j >= 1; the constant is a global phase)
        d = [
            sum(a[k - 1] * comb(k, j) * (-mu) ** (k - j) for k in range(j, K + 1))
            for j in range(1, K + 1)
        ]
        dp.append(d[0])
        dc.append(jnp.stack([j * d[j - 1] for j in range(2, K + 1)]))
    chi = vacuum_mask(rho, floor) if chi is None else chi
    dS = chi * (-e_loc - fit) - (1 - chi) * relax * S
    return dS, jnp.stack(dp), jnp.stack(dc)


def relax_rate(grid: Grid, params):
    """γ = 0.1 ħ k_max²/2m: rate at which S relaxes to its frame in vacuum."""
    return 0.1 * params.hbar * max(grid.k_max) ** 2 / (2 * params.mass)


def _solve_small(G, r):
    """Solve the small SPD system G c = r by unrolled Gauss-Jordan (LAPACK is slow to compile)."""
    n = G.shape[0]
    A = jnp.concatenate([G, r[:, None]], axis=1)
    for i in range(n):
        A = A.at[i].set(A[i] / A[i, i])
        for j in range(n):
            if j != i:
                A = A.at[j].set(A[j] - A[j, i] * A[i])
    return A[:, n]


class AbstractFluidLaw(AbstractLaw):
    """A (ρ, S) law on a periodic `grid`; subclasses give `rates`. `potential`
    V(x, t, params.potential) (x the mesh tuple; None = free), `floor` ε/max ρ
    (None: 1e-15 in float64, 1e-6 in float32), `derivative` "fd8" or
    "spectral", and the monitor's four `MadelungValidity` thresholds.
    """

    grid: Grid
    potential: Callable | None = eqx.field(static=True, default=None)
    floor: float | None = eqx.field(static=True, default=None)
    derivative: str = eqx.field(static=True, default="fd8")
    node_threshold: float = eqx.field(static=True, default=1e-3)
    resolution_threshold: float = eqx.field(static=True, default=0.3)
    hole_level: float = eqx.field(static=True, default=1e-2)
    edge_threshold: float = eqx.field(static=True, default=1e-10)

    scheme = RK4()  # `rk4` below, its stages scanned
    breakdowns: ClassVar[dict] = BREAKDOWNS
    quantum_D_only: ClassVar[bool] = False  # True: D must be ħ/2m (Madelung)

    def __check_init__(self):
        if self.potential is not None and not callable(self.potential):
            raise TypeError("potential must be a function V(x, t, args) or None.")
        if self.floor is not None and not 0 < self.floor < 1e-2:
            raise ValueError(f"floor must be in (0, 1e-2); got {self.floor}.")
        if self.derivative not in DERIVATIVES:
            raise ValueError(f"derivative must be one of {DERIVATIVES}; got {self.derivative!r}.")
        for name in THRESHOLDS:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)}.")

    @abc.abstractmethod
    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        """(∂ℓ/∂t, ∂S/∂t, ṗ, ċ) at ρ = e^ℓ."""

    def vector_field(self, t, y: MadelungState, params: DQMParams) -> MadelungState:
        """∂y/∂t in the state's own variables (∂ρ/∂t = ρ ∂ℓ/∂t)."""
        dl, dS, dp, dc = self.rates(t, y.rho, log_density(y.rho), y.S, y.momentum, y.chirp, params)
        return MadelungState(y.rho * dl, dS, dp, dc)

    def step(self, t, y: MadelungState, params: DQMParams, dt, key=None) -> MadelungState:
        """One RK4 step in (ℓ = ln ρ, S, p, c)."""
        f = lambda s, u: self.rates(s, jnp.exp(u[0]), *u, params)
        u0 = (log_density(y.rho), y.S, y.momentum, y.chirp)
        l, S, p, c = rk4(f, t, u0, dt, scan_stages=True)
        return MadelungState(jnp.exp(l), S, p, c)

    def validity(self) -> MadelungValidity:
        """The `MadelungValidity` observable with this law's thresholds."""
        return MadelungValidity(self, *(getattr(self, name) for name in THRESHOLDS))

    def monitor(self, t, y, params, dt=None):
        """Node (code 2), resolution (3) and edge (4) criteria; where = position."""
        return self.validity().status(t, y, params)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """H_D[ρ, S] in this law's discretization (at D = ħ/2m: ⟨H⟩ of ψ, up to ε)."""
        return law_functional(self, t, y, params)

    def check(self, y, params, dt=None):
        """Type, shapes and dtypes of the state and the params type."""
        grid = self.grid
        if not isinstance(y, MadelungState):
            raise TypeError(
                f"y0 must be a jqd.dqm MadelungState(rho, S, momentum); got {type(y).__name__}. "
                "Build one with state_from_psi(grid, psi) or gaussian_state(grid, ...)."
            )
        n = grid.ndim
        shapes = {"rho": grid.shape, "S": grid.shape, "momentum": (n,), "chirp": (n, 1)}
        for what, shape in shapes.items():
            value = getattr(y, what)
            if tuple(jnp.shape(value)) != tuple(shape):
                raise ValueError(
                    f"y0.{what} has shape {jnp.shape(value)} but must have shape {tuple(shape)} "
                    "on this grid; for a batch of states use jax.vmap over the leading axis."
                )
            if jnp.iscomplexobj(value):
                raise ValueError(f"y0.{what} must be real; got dtype {jnp.asarray(value).dtype}.")
        if not isinstance(params, DQMParams):
            raise TypeError(f"params must be jqd.dqm DQMParams; got {type(params).__name__}.")

    def checks(self, y, params, dt=None):
        """ρ ≥ 0, normalized, resolved tails, no vacuum cliff, D > 0 (= ħ/2m for
        `Madelung`), the RK4 limit on dt (docs/internals/dqm.md#fluid-checks)."""
        rho = jnp.asarray(y.rho)
        rmin, rmax = jnp.min(rho), jnp.max(rho)
        norm = jnp.sum(rho) * self.grid.cell_volume
        out = [
            Check(
                rmin >= -1e-8 * rmax,
                "y0.rho has negative values (min {value}); a density must be >= 0 "
                "(clip round-off with jnp.maximum(rho, 0) and renormalize).",
                rmin,
            ),
            Check(
                jnp.abs(norm - 1) <= 1e-6,
                "y0.rho is not normalized (∫ρ − 1 = {value}, tolerance 1e-06); divide it "
                "by grid.integrate(rho).",
                norm - 1,
            ),
            *_tail_checks(self.grid, rho, self.floor),
        ]
        if params.D is not None:
            fix = "D is a diffusion coefficient (default ħ/2m)."
            out += scalar(params.D, "params.D", positive=True, finite=False, fix=fix)
            if self.quantum_D_only:
                D, d0 = params.D, params.hbar / (2 * params.mass)
                out.append(
                    Check(
                        jnp.abs(D - d0) <= 1e-12 * jnp.abs(d0),
                        "params.D = {D} but the Madelung law is the D = ħ/2m = {d0} case; "
                        "leave D=None, or use CanonicalDQM for other values of D.",
                        {"D": D, "d0": d0},
                    )
                )
        if dt is not None:
            out.append(_step_check(self.grid, params, dt))
        return out


def _step_check(grid: Grid, params, dt) -> Check:
    """D k_max² dt ≤ `RK4_LIMIT` (D at least ħ/2m), naming the largest safe dt."""
    k2 = sum(
        float(np.max((2 * np.pi * np.fft.fftfreq(n, L / n)) ** 2))
        for n, L in zip(grid.shape, grid.lengths, strict=True)
    )
    hbar, mass = params.hbar, params.mass
    D = hbar / (2 * mass)
    if params.D is not None:
        D = jnp.maximum(params.D, D)
    limit = RK4_LIMIT / (D * k2)
    return Check(
        dt <= limit,
        "dt = {dt} is above the RK4 stability limit {limit} of this grid "
        f"(D k_max² dt < {RK4_LIMIT:g} with k_max² = {k2:.4g}); use dt <= {{limit}} or "
        "coarsen the grid.",
        {"dt": dt, "limit": round_down(limit)},
    )


def _tail_checks(grid: Grid, rho, floor) -> list[Check]:
    """No vacuum cliff and resolved tails: per axis, |Δ ln ρ| between neighbours
    where one is above the floor ε, and where both are in the bulk; each
    message names the worst pair (axis and midpoint)."""
    rmax = jnp.max(rho)
    _, hi = bulk_levels(rho, floor)
    l = jnp.log(jnp.maximum(rho, _TINY.get(np.dtype(rho.dtype), 1e-300) * rmax))
    bulk, above = rho >= hi * rmax, rho >= default_floor(rho, floor) * rmax
    jumps = ([], [])  # per axis: jumps between two bulk cells, next to a cell above ε
    for i in range(grid.ndim):
        lo = tuple(slice(None, -1) if a == i else slice(None) for a in range(grid.ndim))
        up = tuple(slice(1, None) if a == i else slice(None) for a in range(grid.ndim))
        jump = jnp.abs(jnp.diff(l, axis=i))
        jumps[0].append(jnp.where(bulk[lo] & bulk[up], jump, 0.0))
        jumps[1].append(jnp.where(above[lo] | above[up], jump, 0.0))

    def worst(js):  # the worst pair: {jump, axis, x (its midpoint)}
        tops = jnp.stack([jnp.max(j) for j in js])
        axis = jnp.argmax(tops)
        mids = []
        for i, j in enumerate(js):
            idx = jnp.unravel_index(jnp.argmax(j), j.shape)
            x = jnp.stack([jnp.asarray(ax)[k] for ax, k in zip(grid.axes(), idx, strict=True)])
            mids.append(x.at[i].add(grid.spacing[i] / 2))
        return {"jump": tops[axis], "axis": axis, "x": jnp.stack(mids)[axis]}

    cliff, coarse = worst(jumps[1]), worst(jumps[0])
    spacing = jnp.asarray(grid.spacing)[coarse["axis"]]
    coarse |= {"dx": spacing, "to": spacing * MAX_BULK_JUMP / coarse["jump"]}
    return [
        Check(
            cliff["jump"] <= MAX_VACUUM_JUMP,
            "y0.rho falls by e^{jump:.3g} to vacuum between neighbouring cells along axis "
            f"{{axis}} at x = ({{x}}) (at most e^{MAX_VACUUM_JUMP:g} above the floor): a node "
            "or a hard edge (ψ = 0 on a region), where the quantum potential is singular and "
            "the (ρ, S) laws do not apply (physics §2.4). Start from a nodeless state with "
            "resolved tails (e.g. Gaussian), or use grid Schrödinger (jqd.SchrodingerGrid).",
            cliff,
        ),
        Check(
            coarse["jump"] <= MAX_BULK_JUMP,
            "y0.rho changes by a factor e^{jump:.2f} (at most "
            f"e^{MAX_BULK_JUMP:g}) between neighbouring cells along axis {{axis}} at x = "
            f"({{x}}) where ρ > {hi:.1e}·max ρ: the grid is too coarse for this density's "
            "tails. Refine the grid to dx <= {to:.3g} (now {dx:.3g}), or widen the state.",
            coarse,
        ),
    ]


def evolve_madelung(law, y0, params, *, on_breakdown: str = "raise", **kwargs) -> Solution:
    """`jqd.evolve` for a `Madelung` or `CanonicalDQM` law; `node_threshold`,
    `resolution_threshold`, `hole_level` and `edge_threshold` in `kwargs`
    override the law's, the rest go to `jqd.evolve`; `on_breakdown` "raise"
    (`MadelungBreakdownError`) or "flag" (see `find_breakdown`)."""
    if not isinstance(law, AbstractFluidLaw):
        raise TypeError(
            f"law must be a jqd.dqm Madelung or CanonicalDQM; got {type(law).__name__}. "
            "For other laws observe MadelungValidity(law) with jqd.evolve."
        )
    thresholds = {k: kwargs.pop(k) for k in THRESHOLDS if k in kwargs}
    thresholds = {k: v for k, v in thresholds.items() if v is not None}
    law = dataclasses.replace(law, **thresholds) if thresholds else law
    return evolve(law, y0, params, on_breakdown=on_breakdown, **kwargs)
