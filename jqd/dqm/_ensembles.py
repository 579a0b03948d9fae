"""Nelson (dX = (v + u_N) dt + √(2D) dW) and Bohm (dX = v dt) ensembles, D = ħ/2m,
guided by a grid ψ that `jqd.SchrodingerGrid` evolves alongside; positions
wrap into [-L/2, L/2) (physics §3.1-§3.4, §3.7; docs/internals/dqm.md#guidance).
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

from .. import _errors, _guards, _random, _steppers
from .._evolve import check_budget, evolve
from .._grid import Grid
from .._guards import Check
from .._law import AbstractLaw, half_steps
from .._solution import Solution
from .._steppers import RK4, AbstractScheme, EulerMaruyama, Midpoint, StochasticHeun
from ..schrodinger import SchrodingerGrid
from ..stats import histogram
from . import _ensemble_checks as checks
from ._ensemble_checks import TIME_STEP
from ._particles import INTERPOLATIONS, ParticleMoments, interpolate, interpolate_1d, wrap


class EnsembleState(eqx.Module):
    """Particles `x` (n, ndim), real, guided by the grid wavefunction `psi` (∫|ψ|² = 1)."""

    psi: Array
    x: Array


def guidance_velocities(grid: Grid, psi, x, hbar, mass, order="cubic", rho_floor=1e-12):
    """(v, u_N) = (ħ/m)(Im, Re)(∇ψ/ψ) at positions `x`, each (n, ndim): ψ and ∇ψ
    interpolated there, the ratio with the node guard ψ*∇ψ/(|ψ|² + ε),
    ε = rho_floor·max|ψ|² (physics §3.4)."""
    if grid.ndim == 1:
        args = (grid, psi, x, hbar, mass, order, rho_floor)
        return _guidance_1d(*args, "v"), _guidance_1d(*args, "u")
    vals = interpolate(grid, jnp.stack([psi, *grid.gradient(psi)], axis=-1), x, order)
    psi_p, dpsi_p = vals[:, :1], vals[:, 1:]
    rho_p = jnp.real(psi_p) ** 2 + jnp.imag(psi_p) ** 2
    eps = rho_floor * jax.lax.stop_gradient(jnp.max(jnp.abs(psi) ** 2))
    ratio = jnp.conj(psi_p) * dpsi_p / (rho_p + eps)
    scale = hbar / mass
    return scale * jnp.imag(ratio), scale * jnp.real(ratio)


def _guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, part):
    """v ("v"), u_N ("u") or v + u_N ("drift") on a 1-D grid, in real
    arithmetic (why: docs/internals/dqm.md#guidance)."""
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


def guidance(part, grid: Grid, psi, x, hbar, mass, order="cubic", rho_floor=1e-12):
    """Nelson's drift v + u_N (`part` "drift") or Bohm's velocity v ("v") at
    positions `x`, shape `(n, ndim)`."""
    if grid.ndim == 1:
        return _guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, part)
    v, u = guidance_velocities(grid, psi, x, hbar, mass, order, rho_floor)
    return v if part == "v" else v + u


class AbstractEnsemble(AbstractLaw):
    """Particles guided by a grid ψ that `schrodinger` (a `jqd.SchrodingerGrid`,
    on `grid`) evolves in the same step; `scheme` one of the subclass's
    `schemes` (default the first) or its name, `interpolation` "linear" or
    "cubic" (Catmull-Rom), `rho_floor` the node guard ε / max|ψ|².
    """

    schrodinger: AbstractLaw
    grid: Grid
    scheme: AbstractScheme = eqx.field(static=True)
    interpolation: str = eqx.field(static=True)
    rho_floor: float = eqx.field(static=True)

    schemes: ClassVar[tuple] = ()  # the scheme classes this law steps with, default first
    breakdowns: ClassVar[dict] = checks.BREAKDOWNS

    def __init__(self, schrodinger, scheme=None, interpolation="cubic", rho_floor=1e-12):
        if not isinstance(schrodinger, SchrodingerGrid):
            raise TypeError(
                "schrodinger must be a jqd.SchrodingerGrid (the law that evolves ψ); "
                f"got {type(schrodinger).__name__}."
            )
        self.schrodinger = schrodinger
        self.grid = schrodinger.grid
        scheme = self.schemes[0]() if scheme is None else scheme
        self.scheme = _steppers.scheme_named(scheme, self.schemes)
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
        """The particle scheme's order (weak for Nelson), capped by ψ's law's."""
        psi_order = self.schrodinger.order
        return self.scheme.order if psi_order is None else min(self.scheme.order, psi_order)

    def velocities(self, psi, x, params, part=None):
        """(v, u_N) at positions x, or one `part` of `guidance`: "drift" or "v"."""
        args = (self.grid, psi, x, params.hbar, params.mass, self.interpolation, self.rho_floor)
        return guidance_velocities(*args) if part is None else guidance(part, *args)

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
        # dtypes only (NumPy): an eager jnp op would compile a program
        real = np.real(np.zeros((), jnp.result_type(y.psi))).dtype
        if jnp.result_type(y.x) != real:
            raise ValueError(
                f"y0.x has dtype {jnp.result_type(y.x)} but psi has real dtype {real}; "
                "use the same precision for both."
            )

    def checks(self, y, params, dt=None):
        """ψ's checks, positions in the box, and for Nelson the node step size."""
        psi_dt = None if dt is None else self.psi_dt(dt)
        worst = jnp.max(jnp.abs(y.x) / np.asarray(self.grid.lengths))
        in_box = Check(
            worst <= 0.5,
            f"y0.x must lie in the box [-L/2, L/2) (L = {self.grid.lengths}); the largest "
            "|x|/L is {value}. Wrap the positions: x = (x + L/2) % L - L/2.",
            worst,
        )
        out = self.schrodinger.checks(y.psi, params, psi_dt) + [in_box]
        if dt is None or not self.stochastic:
            return out
        return out + checks.node_step_guards(self, y, params, dt)

    def node_step(self, y, params, dt):
        """The Nelson step-size check at y; None for Bohm (no osmotic drift)."""
        if not self.stochastic:
            return None
        _, u = self.velocities(y.psi, wrap(self.grid, y.x), params)
        return checks.node_step(self.grid, y.psi, u, params.hbar / params.mass, dt)

    def monitor(self, t, y, params, dt=None):
        """Absurd drifts (code 4); with dt also ψ's time-step monitor (2) and,
        for Nelson, the step size near the nodes ψ has now (3)."""
        if dt is None:
            return checks.particle_status(self.grid, y.x)
        psi_dt = self.psi_dt(dt)
        ok, code, safe = self.schrodinger.monitor(t, y.psi, params, psi_dt)
        safe = jnp.atleast_1d(jnp.asarray(safe, y.x.dtype))[:1] * (dt / psi_dt)
        nan = jnp.full((self.grid.ndim,), jnp.nan, y.x.dtype)
        first, code, where = checks.particle_status(self.grid, y.x, self.node_step(y, params, dt))
        code = jnp.where(first, jnp.where(ok, 0, TIME_STEP), code)
        return first & ok, code, jnp.where(first, jnp.concatenate([nan, safe]), where)

    def density(self, y):
        """The ensemble's nearest-point histogram on the grid."""
        return histogram(self.grid, y.x)

    def sample_axes(self, y):
        """The particles are the samples; ψ is shared."""
        return EnsembleState(psi=None, x=0)


class NelsonEnsemble(AbstractEnsemble):
    """Nelson stochastic mechanics, dX = (v + u_N) dt + √(2D) dW, D = ħ/2m (physics
    §3), with `jqd.SchrodingerParams`; `scheme` `StochasticHeun()` ("heun",
    default; weak order 2 for this additive noise) or `EulerMaruyama()`
    ("euler"; weak order 1). Validated on exact Gaussian and nodal densities.
    """

    stochastic: ClassVar[bool] = True
    schemes: ClassVar[tuple] = (StochasticHeun, EulerMaruyama)
    coupling: ClassVar[str] = "brownian bridge"

    def step(self, t, y, params, dt, key):
        return self.step_increment(t, y, params, dt, self._increment(key, y, dt))

    def _increment(self, key, y, dt):
        return jnp.sqrt(dt) * _random.random_normal(key, y.x.shape, y.x.dtype)

    def coupled_step(self, fine, t, y, y_fine, params, dt, key):
        """The dt step's Brownian increment ΔW, split into the two half
        steps' increments by a Brownian bridge: ΔW/2 ± √dt/2·Z, Z ~ N(0, 1)
        from a key the dt step never uses (the halves are independent,
        variance dt/2 each, and sum to ΔW)."""
        dW = self._increment(key, y, dt)
        Z = _random.random_normal(jax.random.fold_in(key, 1), y.x.shape, y.x.dtype)
        first = 0.5 * dW + 0.5 * jnp.sqrt(dt) * Z
        step = lambda s, y, w: fine.step_increment(s, y, params, dt / 2, w)
        y_fine = half_steps(step, y_fine, t, dt, jnp.stack([first, dW - first]))
        return self.step_increment(t, y, params, dt, dW), y_fine

    def step_increment(self, t, y, params, dt, dW):
        """One step with a given Brownian increment `dW` (shape of `y.x`, variance
        dt per component): couples runs at dt and dt/2 on one Brownian path."""
        psi0, x = y.psi, y.x
        psi1 = self.schrodinger.step(t, psi0, params, dt, None)
        D = params.hbar / (2 * params.mass)
        noise = jnp.sqrt(2 * D) * dW
        b0 = self.velocities(psi0, x, params, "drift")  # at the start (computed once)

        def b(s, z):
            return b0 if z is x else self.velocities(psi1, z, params, "drift")

        x1 = self.scheme.step(b, t, x, dt, noise, wrap=lambda z: wrap(self.grid, z))
        x1 = checks.mark_jumps(self.grid, psi0, params, x, x1, x1 - x - noise, dt)
        return EnsembleState(psi1, x1)


class BohmEnsemble(AbstractEnsemble):
    """Bohmian trajectories dX = v dt (physics §3), ψ advanced in two half steps
    (ψ at t, t + dt/2, t + dt for the stages); `scheme` `RK4()` ("rk4",
    default) or `Midpoint()` ("midpoint", order 2).
    """

    schemes: ClassVar[tuple] = (RK4, Midpoint)

    def psi_dt(self, dt):
        return dt / 2

    def step(self, t, y, params, dt, key=None):
        psi0, x = y.psi, y.x
        h = dt / 2
        psih = self.schrodinger.step(t, psi0, params, h, None)
        psi1 = self.schrodinger.step(t + h, psih, params, h, None)
        v0 = self.velocities(psi0, x, params, "v")

        def v(s, z):
            if z is x:  # the first stage: x itself, at t
                return v0
            # later stages: ψ at the stage time s ∈ {t, t + h, t + dt}, z wrapped into the box
            i = jnp.clip(jnp.round((s - t) / h), 0, 2).astype(jnp.int32)
            psi = jax.lax.select_n(i, psi0, psih, psi1)
            return self.velocities(psi, wrap(self.grid, z), params, "v")

        x1 = self.scheme.step(v, t, x, dt)
        return EnsembleState(psi1, checks.mark_jumps(self.grid, psi0, params, x, x1, x1 - x, dt))


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
    errors=None,
    **options,
) -> Solution:
    """Ensemble statistics of a Nelson or Bohm ensemble in memory O(chunk), not O(N):
    `ceil(N/chunk)` independent `jqd.evolve` calls on the same ψ0 (physics §3.7;
    docs/internals/dqm.md#streaming). Chunk 0 uses `key`, chunk c
    `jax.random.fold_in(key, c)`: one chunk is `jqd.evolve` bit for bit.

    Args:
        law: a `NelsonEnsemble` or `BohmEnsemble`.
        psi0: the initial wavefunction on the law's grid.
        x0: positions (N, ndim), or `x0(c, n) -> (n, ndim)` with `n_particles`.
        params: the law's `jqd.SchrodingerParams`.
        chunk: particles per run (memory ∝ chunk; 10^6 in 1-D ≈ 0.1 GB).
        observe: required; particle averages (`ParticleMoments(central=False)`,
            `ParticleHistogram`; weighted n_c/N) or integer counts
            (`ParticleCDF`; summed exactly), or a dict/list of them.
        dt: the time step, as `jqd.evolve`.
        n_save: saves after t0, as `jqd.evolve`.
        steps_per_save: as `jqd.evolve`.
        t0: as `jqd.evolve`.
        key: PRNG key (required for Nelson).
        n_particles: N, when `x0` is a function (each chunk's output is
            checked: shape (n, ndim), ψ0's real precision).
        progress: print each finished chunk to stderr.
        errors: `jqd.Errors(...)`: each chunk's sub-ensembles and coupled
            dt/2 run (`jqd.evolve`), combined over the chunks into
            `Solution.errors` (standard errors in quadrature, weighted as
            the observables).
        **options: passed to `jqd.evolve`; `max_steps` (and `JQD_MAX_STEPS`)
            also bounds the whole run, the steps of all the chunks together.

    Returns:
        A `Solution` (`ts`, the combined NumPy `observables`, `y_final` None,
        `stats` with n_particles, chunk, n_chunks, n_steps and each chunk's
        `breakdown_*` stacked).
    """
    if not isinstance(law, AbstractEnsemble):
        raise TypeError(
            "law must be a jqd.dqm.NelsonEnsemble or BohmEnsemble (independent particles "
            f"guided by ψ); got {type(law).__name__}."
        )
    if observe is None:
        raise ValueError(
            "observe is required: evolve_ensemble keeps particle averages and counts, not "
            "states. Pass e.g. ParticleMoments((1, 2)) or ParticleCDF(lo, hi, bins)."
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

        def positions(c, n):
            return _chunk_positions(x0(c, n), c, n, -(-N // chunk), law.grid.ndim, psi0)

        last = -(-N // chunk) - 1
        positions(last, N - last * chunk)  # the odd-sized chunk, checked before any runs
    else:
        host = np.asarray(x0)
        N = host.shape[0]
        if n_particles is not None and n_particles != N:
            raise ValueError(f"n_particles={n_particles} but x0 holds {N} positions.")

        def positions(c, n):
            return host[c * chunk : c * chunk + n]

    n_chunks = -(-N // chunk)
    n_steps = _guards.count(n_save, "n_save") * _guards.count(steps_per_save, "steps_per_save")
    first = EnsembleState(psi0, np.zeros((min(chunk, N), law.grid.ndim)))  # shapes only
    check_budget(  # the whole run: every chunk's steps, a chunk's state each
        n_chunks * n_steps,
        first,
        options.get("max_steps", "auto"),
        f"n_chunks * n_save * steps_per_save ({n_chunks} chunks of {min(chunk, N)} particles)",
    )
    options = {"checkpoint": False, **options}
    if errors is not None and errors is not False:
        smallest = np.zeros((min(chunk, N - (n_chunks - 1) * chunk), law.grid.ndim))
        errors = _errors.check(law, EnsembleState(psi0, smallest), observe, errors)
        no_reference = eqx.tree_at(lambda e: e.reference, errors, None, is_leaf=lambda x: x is None)
        options["errors"] = no_reference  # compared once, after the chunks are combined
    total, stats, ts, estimates = None, [], None, []
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
        if sol.errors is not None:
            estimates.append((sol.errors, sol.observables, n / N))
        stats.append({k_: np.asarray(v) for k_, v in sol.stats.items()})
        ts = sol.ts
        if progress:
            done = f"{c * chunk + n:,} of {N:,} particles, {time.perf_counter() - start:.1f} s"
            print(f"evolve_ensemble: chunk {c + 1}/{n_chunks} ({done})", file=sys.stderr)
    merged = {k_: np.stack([s[k_] for s in stats]) for k_ in stats[0] if k_ != "n_steps"}
    merged.update(n_steps=stats[0]["n_steps"], n_particles=N, chunk=chunk, n_chunks=n_chunks)
    estimate = None
    if estimates:
        estimate = _combined_errors(estimates)
        if errors.reference is not None:
            estimate = _errors.compare(estimate, total, errors.reference, ts)
    return Solution(ts=ts, observables=total, y_final=None, stats=merged, errors=estimate)


def _chunk_positions(x, c, n, n_chunks, ndim, psi0):
    """`x0(c, n)`'s output, checked: n positions of ψ0's real precision."""
    call = f"x0({c}, {n}) (chunk {c} of {n_chunks}, counted from 0)"
    if np.shape(x) != (n, ndim):
        raise ValueError(
            f"{call} returned shape {np.shape(x)}; it must return exactly n positions, shape "
            f"(n, ndim) = ({n}, {ndim}): the run would count its rows instead of n particles. "
            "Return n rows for every chunk, e.g. jqd.dqm.sample_density("
            "jax.random.fold_in(key, c), grid, rho, n)."
        )
    real = np.real(np.zeros((), jnp.result_type(psi0))).dtype
    if jnp.result_type(x) != real:
        raise ValueError(
            f"{call} returned dtype {jnp.result_type(x)}; the positions must be real, of ψ0's "
            f"precision ({real}): return x.astype({real.name})."
        )
    return x


def _combined_errors(parts):
    """The chunks' `ErrorEstimate`s as one: averages weighted by n_c/N and
    counts summed (as `_share`), standard errors in quadrature."""
    first = parts[0][0]

    def weight(leaf, w):  # an average's weight, or 1 for a summed count
        return w if np.issubdtype(np.asarray(leaf).dtype, np.inexact) else 1.0

    def total(field, square):
        if getattr(first, field) is None:
            return None
        pieces = [
            jax.tree_util.tree_map(
                lambda e, o, w=w: (
                    (weight(o, w) ** (2 if square else 1))
                    * (np.abs(np.asarray(e)) ** 2 if square else np.asarray(e))
                ),
                getattr(est, field),
                obs,
            )
            for est, obs, w in parts
        ]
        summed = jax.tree_util.tree_map(lambda *xs: sum(xs), *pieces)
        return jax.tree_util.tree_map(np.sqrt, summed) if square else summed

    return eqx.tree_at(
        lambda e: (e.se, e.step, e.step_se),
        first,
        (total("se", True), total("step", False), total("step_se", True)),
        is_leaf=lambda x: x is None,
    )


def _share(leaf, weight):
    """A chunk's share: an average times its weight (float64), a count (int64)."""
    leaf = np.asarray(leaf)
    if np.issubdtype(leaf.dtype, np.inexact):
        return leaf.astype(np.result_type(leaf.dtype, np.float64)) * weight
    return leaf.astype(np.int64)
