"""Stochastic-mechanics (Nelson) and Bohmian particle ensembles guided by a grid ψ
(physics §3). Particles X_i in 1-3 D, with D = ħ/2m:

    Nelson:  dX = (v + u_N) dt + √(2D) dW,
    Bohm:    dX = v dt,

    v   = ∇S/m      = (ħ/m) Im(∇ψ/ψ)   (current velocity),
    u_N = D ∇ ln ρ  = (ħ/m) Re(∇ψ/ψ)   (Nelson osmotic velocity, the negative
                                         of Zakir's Fick velocity Z23),

with ψ evolved alongside on the same periodic grid by `jqd.SchrodingerGrid`;
positions are wrapped into the box `[-L/2, L/2)` after every step.

Velocities at the particles: ψ and its spectral gradient are interpolated to
each particle (jqd/dqm/_particles.py) and the ratio is formed there,
∇ψ/ψ ≈ ψ*∇ψ/(|ψ|² + ε), ε = rho_floor·max|ψ|². Interpolating the two smooth
fields rather than the singular ratio keeps the node exactly where ψ
vanishes. Near a simple node x0, u_N ≈ 2D/(x − x0) repels particles; ε
bounds it by ~(ħ/m)|∇ψ|/√ε and changes u_N only where |ψ|² ≲ ε. Explicit
steps can still jump across a node from within ~√(2D dt) of it (the
continuum process never crosses; the rate is measured in
experiments/nelson_equivariance): the step-size check and the absurd-drift
breakdown are in jqd/dqm/_ensemble_checks.py.

Schemes (`jqd.schemes`), with ψ known at the stage times of one step:
    Nelson `EulerMaruyama()` ("euler"): Euler-Maruyama, weak order 1.
    Nelson `StochasticHeun()` ("heun"): stochastic Heun,
        X̃ = X + b(t, X)dt + √(2D)ΔW,
        X' = X + [b(t, X) + b(t+dt, X̃)] dt/2 + √(2D)ΔW, the same ΔW: for
        additive noise Kloeden-Platen's explicit weak order-2 scheme (15.1.1
        with constant diffusion). ψ at t and t + dt (one Schrödinger step).
    Bohm `Midpoint()` ("midpoint", RK2) and `RK4()` ("rk4"), with ψ at t,
        t + dt/2, t + dt from two Schrödinger half steps.
A law's `order` is that of its particle scheme, capped by that of the
Schrödinger law that moves ψ.

Cost per step: one Schrödinger step, one FFT + ndim inverse FFTs per drift
evaluation, and a gather of (1 + ndim) fields at 2^d (linear) or 4^d (cubic)
points per particle (in 1-D in real arithmetic, `_particles.interpolate_1d`).
The Nelson noise comes from `jqd.random_normal` (NumPy's PCG64 Ziggurat on
the CPU, 3x cheaper than threefry + erf⁻¹ there; `jax.random.normal` on a
GPU), so one key gives different, equally distributed, paths on the two.

Validated against exact Gaussian densities (free spreading, squeezed
oscillator states: KS distance, moments) and equivariance through nodal
oscillator superpositions (tests/test_dqm_nelson.py,
experiments/nelson_equivariance).

Ensembles larger than memory: the particles act neither on ψ nor on each
other, so `evolve_ensemble` runs N as chunks of `jqd.evolve` and keeps only
their averages and counts (`ParticleMoments`, `ParticleHistogram`,
`ParticleCDF` with `ks_bounds` for the KS distance): memory O(chunk), not
O(N) or O(N·saves) (tests/test_ensemble_stream.py,
benchmarks/bench_nelson_stream.py: 10⁷ particles).
"""

from __future__ import annotations

import sys
import time
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards, _random, _steppers
from .._evolve import evolve
from .._grid import Grid
from .._guards import Check, array_module
from .._law import AbstractLaw
from .._solution import Solution
from .._steppers import RK4, AbstractScheme, EulerMaruyama, Midpoint, StochasticHeun
from ..schrodinger import SchrodingerGrid
from ..stats import histogram
from . import _ensemble_checks as checks
from ._ensemble_checks import TIME_STEP
from ._particles import INTERPOLATIONS, ParticleMoments, interpolate, interpolate_1d, wrap


class EnsembleState(eqx.Module):
    """State of a particle ensemble guided by a grid wavefunction.

    Attributes:
        psi: complex wavefunction on the grid, shape `grid.shape`, ∫|ψ|² = 1.
        x: particle positions, shape `(n_particles, ndim)`, real, same
            precision as `psi`.
    """

    psi: Array
    x: Array


def guidance_velocities(grid: Grid, psi, x, hbar, mass, order="cubic", rho_floor=1e-12):
    """(v, u_N) at positions `x`: v = (ħ/m) Im(∇ψ/ψ), u_N = (ħ/m) Re(∇ψ/ψ).

    ψ and its spectral gradient are interpolated to `x`; the ratio is formed
    there with the node guard ψ*∇ψ/(|ψ|² + ε), ε = rho_floor · max|ψ|².
    Returns two arrays of shape `(n, ndim)`.
    """
    if grid.ndim == 1:
        args = (grid, psi, x, hbar, mass, order, rho_floor)
        return _guidance_1d(*args, "v"), _guidance_1d(*args, "u")
    grads = grid.gradient(psi)
    fields = jnp.stack([psi, *grads], axis=-1)
    vals = interpolate(grid, fields, x, order)
    psi_p = vals[:, :1]
    dpsi_p = vals[:, 1:]
    rho_p = jnp.real(psi_p) ** 2 + jnp.imag(psi_p) ** 2
    eps = rho_floor * jax.lax.stop_gradient(jnp.max(jnp.abs(psi) ** 2))
    ratio = jnp.conj(psi_p) * dpsi_p / (rho_p + eps)
    scale = hbar / mass
    return scale * jnp.imag(ratio), scale * jnp.real(ratio)


def _guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, part):
    """One of v ("v"), u_N ("u") or v + u_N ("drift") on a 1-D grid, in real
    arithmetic from one fused gather per coefficient table (`interpolate_1d`;
    a single output keeps XLA from materialising the gathered rows). Equal
    to `guidance_velocities`' general path up to round-off."""
    (g,) = grid.gradient(psi)
    f = jnp.stack([jnp.real(psi), jnp.imag(psi), jnp.real(g), jnp.imag(g)], axis=-1)
    vals = interpolate_1d(grid, f, x, order)
    pr, pi, gr, gi = vals[:, 0], vals[:, 1], vals[:, 2], vals[:, 3]
    eps = rho_floor * jax.lax.stop_gradient(jnp.max(jnp.abs(psi) ** 2))
    scale = (hbar / mass) / (pr * pr + pi * pi + eps)
    im = pr * gi - pi * gr  # Im(ψ* ∂ψ)
    re = pr * gr + pi * gi  # Re(ψ* ∂ψ)
    num = {"v": im, "u": re, "drift": im + re}[part]
    return (scale * num)[:, None]


def guidance_drift(grid: Grid, psi, x, hbar, mass, order="cubic", rho_floor=1e-12):
    """v + u_N at positions `x` (Nelson's drift), shape `(n, ndim)`."""
    if grid.ndim == 1:
        return _guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, "drift")
    v, u = guidance_velocities(grid, psi, x, hbar, mass, order, rho_floor)
    return v + u


def guidance_current(grid: Grid, psi, x, hbar, mass, order="cubic", rho_floor=1e-12):
    """v = (ħ/m) Im(∇ψ/ψ) at positions `x` (Bohm's velocity), shape `(n, ndim)`."""
    if grid.ndim == 1:
        return _guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, "v")
    return guidance_velocities(grid, psi, x, hbar, mass, order, rho_floor)[0]


def _stage(s, t, h, n: int):
    """Index of the stage time s in t, t + h, ..., t + (n − 1) h."""
    return jnp.clip(jnp.round((s - t) / h), 0, n - 1).astype(jnp.int32)


def _osmotic(law, y, params):
    return law.velocities(y.psi, y.x, params)[1]


class AbstractEnsemble(AbstractLaw):
    """Particles guided by a grid ψ that `schrodinger` evolves in the same step.

    Attributes:
        schrodinger: the `jqd.SchrodingerGrid` law that evolves ψ.
        grid: its grid.
        scheme: the particle scheme, a `jqd.schemes` object of one of the
            subclass's `schemes` (default: the first), or its name.
        interpolation: "linear" or "cubic" (Catmull-Rom).
        rho_floor: node guard ε / max|ψ|².
    """

    schrodinger: AbstractLaw
    grid: Grid
    scheme: AbstractScheme = eqx.field(static=True)
    interpolation: str = eqx.field(static=True)
    rho_floor: float = eqx.field(static=True)

    schemes: ClassVar[tuple] = ()  # the scheme classes this law steps with, default first
    breakdowns: ClassVar[dict] = checks.breakdowns(SchrodingerGrid.breakdowns.get(TIME_STEP))

    def __init__(self, schrodinger, scheme=None, interpolation="cubic", rho_floor=1e-12):
        if not isinstance(schrodinger, SchrodingerGrid):
            raise TypeError(
                "schrodinger must be a jqd.SchrodingerGrid (the law that evolves ψ); "
                f"got {type(schrodinger).__name__}."
            )
        self.schrodinger = schrodinger
        self.grid = schrodinger.grid
        default = self.schemes[0]()
        self.scheme = default if scheme is None else _steppers.scheme_named(scheme, self.schemes)
        self.interpolation = interpolation
        self.rho_floor = float(rho_floor)

    def __check_init__(self):
        _steppers.check_scheme(self.scheme, self.schemes)
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {INTERPOLATIONS}; got {self.interpolation!r}."
            )
        if not self.rho_floor >= 0:
            raise ValueError(f"rho_floor must be >= 0; got {self.rho_floor}.")

    @property
    def order(self) -> int:
        """The particle scheme's order (weak for Nelson), capped by the
        Schrödinger law's."""
        psi_order = self.schrodinger.order
        particles = self.scheme.order
        return particles if psi_order is None else min(particles, psi_order)

    def velocities(self, psi, x, params):
        """(v, u_N) at positions x (`guidance_velocities` with this law's options)."""
        return guidance_velocities(
            self.grid, psi, x, params.hbar, params.mass, self.interpolation, self.rho_floor
        )

    def psi_dt(self, dt):
        """The step of the Schrödinger law that moves ψ (dt, or dt/2 for Bohm)."""
        return dt

    def prepare(self, params, dt):
        psi_law = self.schrodinger.prepare(params, self.psi_dt(dt))
        return eqx.tree_at(lambda s: s.schrodinger, self, psi_law)

    def check(self, y, params, dt=None):
        if not isinstance(y, EnsembleState):
            raise ValueError(
                "y0 must be a jqd.dqm.EnsembleState(psi, x); build it with "
                "EnsembleState(psi0, jqd.dqm.sample_density(key, grid, |psi0|^2, n))."
            )
        self.schrodinger.check(y.psi, params, None if dt is None else self.psi_dt(dt))
        shape = jnp.shape(y.x)
        d = self.grid.ndim
        if len(shape) != 2 or shape[1] != d:
            raise ValueError(
                f"y0.x must have shape (n_particles, {d}) for a {d}-D grid; got {shape}."
            )
        if shape[0] < 1:
            raise ValueError(
                "y0.x holds no particles: ensemble averages over zero particles are NaN. "
                "Sample at least one, e.g. jqd.dqm.sample_density(key, grid, |psi0|^2, n)."
            )
        real = jnp.real(jnp.zeros((), jnp.asarray(y.psi).dtype)).dtype
        if jnp.asarray(y.x).dtype != real:
            raise ValueError(
                f"y0.x has dtype {jnp.asarray(y.x).dtype} but psi has real dtype {real}; "
                "use the same precision for both."
            )

    def checks(self, y, params, dt=None):
        """ψ's checks (`SchrodingerGrid.checks`), positions in the box, and for
        Nelson the step size near the nodes of ψ0 (jqd/dqm/_ensemble_checks.py)."""
        psi_dt = None if dt is None else self.psi_dt(dt)
        xp = array_module(y.x)
        worst = xp.max(xp.abs(xp.asarray(y.x)) / np.asarray(self.grid.lengths))
        in_box = Check(
            worst <= 0.5,
            f"y0.x must lie in the box [-L/2, L/2) (L = {self.grid.lengths}); the largest "
            "|x|/L is {value}. Wrap the positions: x = (x + L/2) % L - L/2.",
            worst,
        )
        out = self.schrodinger.checks(y.psi, params, psi_dt) + [in_box]
        if dt is None or not self.stochastic:
            return out
        u = eqx.Partial(_osmotic, self, y, params)
        two_D = params.hbar / params.mass
        return out + checks.node_step_guards(self.grid, y.psi, u, y.x, two_D, dt)

    def node_step(self, y, params, dt):
        """The Nelson step-size check (`_ensemble_checks.NodeStep`) at the
        state y; None for Bohm (no osmotic drift)."""
        if not self.stochastic:
            return None
        _, u = self.velocities(y.psi, wrap(self.grid, y.x), params)
        return checks.node_step(self.grid, y.psi, u, params.hbar / params.mass, dt)

    def monitor(self, t, y, params, dt=None):
        """Particles given an absurd drift by a step (code 4); where =
        (position, NaN). With the step dt also ψ's time-step monitor (code 2,
        where = (NaN, largest safe dt)) and, for Nelson, the step size near
        the nodes ψ has now (3)."""
        if dt is None:
            return checks.particle_status(self.grid, y.x)
        psi_dt = self.psi_dt(dt)
        ok, code, safe = self.schrodinger.monitor(t, y.psi, params, psi_dt)
        safe = jnp.atleast_1d(jnp.asarray(safe, y.x.dtype))[:1] * (dt / psi_dt)
        nan = jnp.full((self.grid.ndim,), jnp.nan, y.x.dtype)
        psi_status = (ok, jnp.where(ok, 0, TIME_STEP), jnp.concatenate([nan, safe]))
        node = self.node_step(y, params, dt)
        return checks.combine(checks.particle_status(self.grid, y.x, node), psi_status)

    def density(self, y):
        """The ensemble's density estimate on the grid (nearest-point histogram)."""
        return histogram(self.grid, y.x)

    def wave_density(self, y):
        """|ψ|² of the guiding wave."""
        return jnp.abs(y.psi) ** 2


class NelsonEnsemble(AbstractEnsemble):
    """Nelson stochastic mechanics: dX = (v + u_N) dt + √(2D) dW, D = ħ/2m (physics §3).

    ψ is advanced by `schrodinger` (a `jqd.SchrodingerGrid`) in the same step;
    v and u_N come from ψ at the particle positions (module docstring for
    interpolation and the node guard). Params: `jqd.SchrodingerParams`
    (hbar, mass, potential); D is ħ/2m, not a free constant.

    Attributes: as `AbstractEnsemble`; `scheme` `jqd.schemes.StochasticHeun()`
    (default, "heun"; weak order 2 for this additive noise) or
    `EulerMaruyama()` ("euler"; weak order 1).

    Validated against exact Gaussian densities (KS distance, moments) and
    nodal harmonic-oscillator superpositions.
    """

    stochastic: ClassVar[bool] = True
    schemes: ClassVar[tuple] = (StochasticHeun, EulerMaruyama)

    def drift(self, psi, x, params):
        """v + u_N at positions x, shape (n, ndim)."""
        return guidance_drift(
            self.grid, psi, x, params.hbar, params.mass, self.interpolation, self.rho_floor
        )

    def step(self, t, y, params, dt, key):
        dW = jnp.sqrt(dt) * _random.random_normal(key, y.x.shape, y.x.dtype)
        return self.step_increment(t, y, params, dt, dW)

    def step_increment(self, t, y, params, dt, dW):
        """One step with a given Brownian increment `dW` (shape of `y.x`,
        variance dt per component). `step` draws dW from its key; passing
        increments explicitly couples runs at dt and dt/2 on one Brownian
        path (used to measure weak order with low variance). A particle whose
        step is not valid is marked, not moved (jqd/dqm/_ensemble_checks.py)."""
        psi0, x = y.psi, y.x
        psi1 = self.schrodinger.step(t, psi0, params, dt, None)
        D = params.hbar / (2 * params.mass)
        noise = jnp.sqrt(2 * D) * dW
        b0 = self.drift(psi0, x, params)  # the drift at the start (computed once)

        def b(s, z):
            return b0 if z is x else self.drift(psi1, z, params)

        x1 = self.scheme.step(b, t, x, dt, noise, wrap=lambda z: wrap(self.grid, z))
        cap = checks.drift_cap(self.grid, psi0, params.hbar, params.mass)
        x1 = checks.mark_jumps(self.grid, x, x1, x1 - x - noise, dt, cap)
        return EnsembleState(psi1, x1)


class BohmEnsemble(AbstractEnsemble):
    """Bohmian trajectories dX = v dt, v = (ħ/m) Im(∇ψ/ψ) (physics §3, no noise).

    ψ is advanced by two half steps of `schrodinger` per step, giving ψ at
    t, t + dt/2 and t + dt for the Runge-Kutta stages.

    Attributes: as `AbstractEnsemble`; `scheme` `jqd.schemes.RK4()` (default,
    "rk4"; order 4) or `Midpoint()` ("midpoint", RK2; order 2).
    """

    schemes: ClassVar[tuple] = (RK4, Midpoint)

    def psi_dt(self, dt):
        return dt / 2

    def velocity(self, psi, x, params):
        """v at positions x, shape (n, ndim)."""
        return guidance_current(
            self.grid, psi, x, params.hbar, params.mass, self.interpolation, self.rho_floor
        )

    def step(self, t, y, params, dt, key=None):
        psi0, x = y.psi, y.x
        h = dt / 2
        psih = self.schrodinger.step(t, psi0, params, h, None)
        psi1 = self.schrodinger.step(t + h, psih, params, h, None)
        v0 = self.velocity(psi0, x, params)

        def v(s, z):
            if z is x:  # the first stage: x itself, at t
                return v0
            # later stage positions are wrapped into the box
            i = _stage(s, t, h, 3)
            return self.velocity(jax.lax.select_n(i, psi0, psih, psi1), wrap(self.grid, z), params)

        x1 = self.scheme.step(v, t, x, dt)
        cap = checks.drift_cap(self.grid, psi0, params.hbar, params.mass)
        return EnsembleState(psi1, checks.mark_jumps(self.grid, x, x1, x1 - x, dt, cap))


def evolve_ensemble(
    law: AbstractEnsemble,
    psi0,
    x0,
    params,
    *,
    chunk: int,
    observe,
    dt,
    n_save: int,
    steps_per_save: int = 1,
    t0=0.0,
    key=None,
    n_particles: int | None = None,
    progress: bool = False,
    **options,
) -> Solution:
    """Ensemble statistics of a Nelson or Bohm ensemble in memory O(chunk), not O(N).

    The particles do not act on ψ or on each other, so an ensemble of N is
    `ceil(N/chunk)` independent runs of `jqd.evolve` on `chunk` particles
    each, with the same ψ0 (which each run evolves again: one grid step per
    step, cheap beside the particles). Only their observables are kept and
    combined on the host as they come:

    - floating-point leaves are averages over the particles (moments
      `ParticleMoments(central=False)`, `ParticleHistogram`, ⟨f(x)⟩): the
      chunks' values are averaged with weights n_c/N, which is the average
      over all N up to round-off (≲ n_chunks ulp);
    - integer leaves are counts (`ParticleCDF`): summed, exactly.

    An observable that is not a sum or an average over particles (a sorted
    KS distance, a central moment about the chunk's own mean) does not
    combine this way: use `ParticleCDF` with `ks_bounds`, and raw moments.
    Leaves that do not depend on the particles (|ψ|²) come back averaged
    over identical values (equal up to round-off).

    Every chunk is one call of the same compiled program (the last one, if
    smaller, compiles a second): the device holds one chunk's particles and
    their temporaries, and the host N·ndim positions only when `x0` is an
    array. Chunk 0 uses `key` and chunk c ≥ 1 `jax.random.fold_in(key, c)`,
    so with one chunk (chunk ≥ N) the result is `jqd.evolve`'s bit for bit.

    Args:
        law: a `NelsonEnsemble` or `BohmEnsemble`.
        psi0: the initial wavefunction on the law's grid.
        x0: the initial positions, shape `(N, ndim)` (NumPy or JAX), or a
            function `x0(c, n) -> (n, ndim)` positions of chunk c (drawn on
            demand, e.g. `lambda c, n: sample_density(jax.random.fold_in(k,
            c), grid, rho0, n)`), with `n_particles`.
        params: the law's `jqd.SchrodingerParams`.
        chunk: particles per run (memory ∝ chunk; ~10^6 in 1-D is ≈ 0.1 GB).
        observe: `f(t, y, params) -> pytree` of averages and counts (above),
            or a dict/list of such; required (saving the states would keep
            N·saves numbers).
        dt: the time step, as `jqd.evolve`.
        n_save: number of saves after t0, as `jqd.evolve`.
        steps_per_save: steps between saves, as `jqd.evolve`.
        t0: the initial time, as `jqd.evolve`.
        key: PRNG key (required for Nelson).
        n_particles: N, when `x0` is a function.
        progress: print each finished chunk and the elapsed time to stderr.
        **options: passed to `jqd.evolve` (`monitor`, `on_breakdown`,
            `check`, `max_steps`, `checkpoint`); a breakdown raises from the
            chunk where it happens.

    Returns:
        A `Solution`: `ts`, the combined `observables` (NumPy), `y_final`
        None (no particles are kept), and `stats` with `n_particles`,
        `chunk`, `n_chunks`, `n_steps`, and each chunk's `breakdown_*`
        entries stacked along a leading chunk axis.
    """
    if not isinstance(law, AbstractEnsemble):
        raise TypeError(
            "law must be a jqd.dqm.NelsonEnsemble or BohmEnsemble (independent particles "
            f"guided by ψ); got {type(law).__name__}."
        )
    if observe is None:
        raise ValueError(
            "observe is required: evolve_ensemble keeps averages and counts over the "
            "particles, not the states (N·saves positions). Pass e.g. "
            "ParticleMoments((1, 2)) or ParticleCDF(lo, hi, bins)."
        )
    if isinstance(observe, ParticleMoments) and observe.central:
        raise ValueError(
            "ParticleMoments(central=True) is about each chunk's own mean, which does not "
            "average over chunks; use central=False and form central moments from the raw ones."
        )
    chunk = _guards.count(chunk, "chunk")
    if _guards.is_traced(psi0, params, key) or (not callable(x0) and _guards.is_traced(x0)):
        raise ValueError(
            "evolve_ensemble loops over chunks on the host: call it outside jax.jit/vmap/"
            "grad (inside a transform use jqd.evolve)."
        )
    if callable(x0):
        if n_particles is None:
            raise ValueError("x0 is a function of (chunk index, size): pass n_particles=N.")
        N = _guards.count(n_particles, "n_particles")

        positions = x0
    else:
        if jnp.ndim(x0) != 2:
            raise ValueError(f"x0 must have shape (n_particles, ndim); got {jnp.shape(x0)}.")
        host = np.asarray(x0)
        N = host.shape[0]
        if n_particles is not None and n_particles != N:
            raise ValueError(f"n_particles={n_particles} but x0 holds {N} positions.")

        def positions(c, n):
            return host[c * chunk : c * chunk + n]

    if law.stochastic and key is None:
        raise ValueError(f"{type(law).__name__} is stochastic: pass key=jax.random.key(seed).")
    n_chunks = -(-N // chunk)
    options = {"checkpoint": False, **options}
    total, stats, ts = None, [], None
    start = time.perf_counter()
    for c in range(n_chunks):
        n = min(chunk, N - c * chunk)
        k = None if key is None else (key if c == 0 else jax.random.fold_in(key, c))
        y0 = EnsembleState(psi0, jnp.asarray(positions(c, n)))
        sol = evolve(
            law, y0, params, dt=dt, n_save=n_save, steps_per_save=steps_per_save, t0=t0,
            observe=observe, key=k, **options,
        )  # fmt: skip
        part = jax.tree_util.tree_map(lambda leaf, w=n / N: _share(leaf, w), sol.observables)
        total = part if total is None else jax.tree_util.tree_map(np.add, total, part)
        stats.append({k_: np.asarray(v) for k_, v in sol.stats.items()})
        ts = sol.ts
        if progress:
            elapsed = time.perf_counter() - start
            print(
                f"evolve_ensemble: chunk {c + 1}/{n_chunks} ({(c * chunk + n):,} of {N:,} "
                f"particles), {elapsed:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    merged = {k_: np.stack([s[k_] for s in stats]) for k_ in stats[0] if k_ != "n_steps"}
    merged.update(n_steps=stats[0]["n_steps"], n_particles=N, chunk=chunk, n_chunks=n_chunks)
    return Solution(ts=ts, observables=total, y_final=None, stats=merged)


def _share(leaf, weight):
    """A chunk's part of the whole ensemble's value: an average (inexact leaf)
    times the chunk's share of the particles, in float64; a count as int64."""
    leaf = np.asarray(leaf)
    if np.issubdtype(leaf.dtype, np.inexact):
        return leaf.astype(np.result_type(leaf.dtype, np.float64)) * weight
    return leaf.astype(np.int64)
