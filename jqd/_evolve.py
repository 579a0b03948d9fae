"""The integrators shared by every law: fixed-step `evolve` and diffrax-backed
`evolve_adaptive`. Both return a `Solution`."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree

from ._checks import NonFiniteError, is_concrete
from ._law import AbstractLaw


class Solution(eqx.Module):
    """What an integrator returns.

    Attributes:
        ts: save times, shape `(n_save + 1,)` for `evolve` (the initial time
            first), or the requested `ts` for `evolve_adaptive`.
        observables: the pytree returned by `observe`, each leaf with a leading
            axis of length `len(ts)`; the states themselves if `observe` is None.
        y_final: the state at the last save time.
        stats: solver statistics: `n_steps`; `nonfinite_time` (the first save
            time at which the state held NaN/Inf, NaN if it never did); for
            the adaptive path also `num_accepted_steps`, `num_rejected_steps`.
    """

    ts: Array
    observables: PyTree
    y_final: PyTree
    stats: dict[str, Any]


class _Observer(eqx.Module):
    """`observe` as a module, so that equal observers hit jit's cache."""

    observe: Any

    def __call__(self, t, y, params):
        if self.observe is None:
            return y
        if callable(self.observe) and not isinstance(self.observe, dict | list | tuple):
            return self.observe(t, y, params)
        return jax.tree_util.tree_map(lambda f: f(t, y, params), self.observe, is_leaf=callable)


def _as_observer(observe) -> Callable:
    """Accept None (save the state), a callable, or a pytree of callables."""
    return _Observer(observe)


def _arrays_for_floats(params):
    """Python float/complex leaves of params become arrays: a new value then
    reuses the compiled program instead of recompiling (filter_jit treats
    Python scalars as static)."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x) if isinstance(x, float | complex) else x, params
    )


def _time_dtype(y0):
    """Times share the precision of the state (float32 states get float32 t)."""
    for leaf in jax.tree_util.tree_leaves(y0):
        dtype = jnp.asarray(leaf).dtype
        if jnp.issubdtype(dtype, jnp.inexact):
            return jnp.finfo(dtype).dtype
    return jnp.result_type(float)


def _all_finite(y) -> Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(y)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


@eqx.filter_jit
def _evolve_core(law, y0, params, t0, dt, n_save, steps_per_save, observe, key, checkpoint):
    tdtype = _time_dtype(y0)
    t0 = jnp.asarray(t0, tdtype)
    dt = jnp.asarray(dt, tdtype)
    stepper = law.prepare(params, dt)

    def inner(carry, xs):
        y = carry
        i, k = xs
        t = t0 + i.astype(tdtype) * dt  # computed, never accumulated
        return stepper.step(t, y, params, dt, k), None

    def outer(carry, xs):
        y, first_bad = carry
        j, k = xs
        idx = j * steps_per_save + jnp.arange(steps_per_save)
        ks = None if k is None else jax.random.split(k, steps_per_save)
        y, _ = jax.lax.scan(inner, y, (idx, ks))
        t = t0 + ((j + 1) * steps_per_save).astype(tdtype) * dt
        bad = ~_all_finite(y)
        first_bad = jnp.where((first_bad < 0) & bad, j + 1, first_bad)
        return (y, first_bad), observe(t, y, params)

    if checkpoint:
        # Rematerialise the inner steps on the backward pass: reverse-mode
        # memory grows with the number of saves, not the number of steps.
        outer = jax.checkpoint(outer, prevent_cse=False)

    keys = None if key is None else jax.random.split(key, n_save)
    first_bad0 = jnp.where(_all_finite(y0), -1, 0)
    (y_final, first_bad), obs = jax.lax.scan(outer, (y0, first_bad0), (jnp.arange(n_save), keys))
    obs0 = observe(t0, y0, params)
    obs = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), obs0, obs)
    ts = t0 + (jnp.arange(n_save + 1) * steps_per_save).astype(tdtype) * dt
    nonfinite_time = jnp.where(first_bad >= 0, ts[jnp.maximum(first_bad, 0)], jnp.nan)
    stats = {"n_steps": jnp.asarray(n_save * steps_per_save), "nonfinite_time": nonfinite_time}
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)


def _report_nonfinite(sol: Solution, on_nonfinite: str, where: str) -> Solution:
    if on_nonfinite == "ignore":
        return sol
    bad_time = sol.stats["nonfinite_time"]
    if is_concrete(bad_time):
        bad = np.asarray(bad_time)
        if np.any(np.isfinite(bad)):
            first = float(np.nanmin(bad))
            raise NonFiniteError(
                f"{where}: the state became NaN or Inf by t = {first:.6g} (first save "
                "at which it was seen). Reduce dt, refine the grid, or check the law's "
                "validity range; pass on_nonfinite='ignore' to get the partial result."
            )
        return sol
    # Under an outer jit/vmap the time is not available eagerly: raise at run time.
    y_final = eqx.error_if(
        sol.y_final,
        jnp.any(jnp.isfinite(bad_time)),
        f"{where}: the state became NaN or Inf; rerun with on_nonfinite='ignore' and "
        "read solution.stats['nonfinite_time'] for when. Reduce dt or refine the grid.",
    )
    return eqx.tree_at(lambda s: s.y_final, sol, y_final)


def evolve(
    law: AbstractLaw,
    y0: PyTree,
    params: PyTree,
    *,
    dt,
    n_save: int,
    steps_per_save: int = 1,
    t0=0.0,
    observe=None,
    key: PRNGKeyArray | None = None,
    checkpoint: bool = True,
    check: bool = True,
    on_nonfinite: str = "raise",
) -> Solution:
    """Fixed-step evolution with `law.step`: a nested `lax.scan`.

    The outer scan runs over `n_save` save points, the inner over
    `steps_per_save` steps; step `i` starts at `t = t0 + i * dt` (computed, not
    accumulated). Keys are split per save, then per step. The outer body is
    checkpointed, so reverse-mode memory grows with `n_save`, not the number of
    steps.

    Args:
        law: any `AbstractLaw`.
        y0: initial state.
        params: the law's constants (a pytree; differentiable and vmappable).
        dt: step size.
        n_save: number of save points after `t0`.
        steps_per_save: steps between consecutive saves.
        t0: initial time.
        observe: `f(t, y, params) -> pytree`, or a dict/list of such functions.
            Default: save the state itself.
        key: PRNG key; required for stochastic laws, ignored otherwise.
        checkpoint: checkpoint each save block (set False for forward-only speed).
        check: run the law's eager input checks on concrete inputs.
        on_nonfinite: "raise" (default) or "ignore" if NaN/Inf appears.

    Returns:
        A `Solution` with `ts` of shape `(n_save + 1,)` (t0 first).
    """
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(law).__name__}.")
    n_save, steps_per_save = int(n_save), int(steps_per_save)
    if n_save < 1 or steps_per_save < 1:
        raise ValueError(
            f"n_save and steps_per_save must be >= 1; got n_save={n_save}, "
            f"steps_per_save={steps_per_save}."
        )
    if on_nonfinite not in ("raise", "ignore"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'ignore'; got {on_nonfinite!r}.")
    if law.stochastic and key is None:
        raise ValueError(
            f"{type(law).__name__} is stochastic: pass key=jax.random.key(seed) to evolve."
        )
    if not law.stochastic:
        key = None
    if check and is_concrete(y0, params, dt):
        if is_concrete(dt) and not float(np.asarray(dt)) > 0:
            raise ValueError(f"dt must be positive; got {dt}.")
        law.check(y0, params, dt)
    # dt, t0 and float params travel as arrays so that a new value does not recompile.
    sol = _evolve_core(
        law,
        y0,
        _arrays_for_floats(params),
        jnp.asarray(t0),
        jnp.asarray(dt),
        n_save,
        steps_per_save,
        _as_observer(observe),
        key,
        checkpoint,
    )
    return _report_nonfinite(sol, on_nonfinite, f"jqd.evolve({type(law).__name__})")


def evolve_adaptive(
    law: AbstractLaw,
    y0: PyTree,
    params: PyTree,
    ts,
    *,
    observe=None,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    dt0=None,
    max_steps: int = 100_000,
    adjoint: diffrax.AbstractAdjoint | None = None,
    check: bool = True,
    on_nonfinite: str = "raise",
) -> Solution:
    """Adaptive ODE evolution through diffrax, using `law.vector_field`.

    Args:
        law: an ODE law (one that defines `vector_field`).
        y0, params: as for `evolve`.
        ts: save times (increasing); integration runs from `ts[0]` to `ts[-1]`.
        observe: as for `evolve`.
        solver: a diffrax solver (default `Tsit5()`; use `Dopri8()` for very
            tight tolerances).
        rtol, atol: tolerances of the PID step-size controller.
        dt0: initial step (default: chosen by diffrax).
        max_steps: step budget; exceeding it raises.
        adjoint: diffrax adjoint (default `RecursiveCheckpointAdjoint`).
    """
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(law).__name__}.")
    if law.stochastic:
        raise ValueError(
            f"{type(law).__name__} is stochastic; evolve_adaptive solves ODEs only. "
            "Use jqd.evolve with a key."
        )
    ts_np = np.asarray(ts) if is_concrete(ts) else None
    if ts_np is not None:
        if ts_np.ndim != 1 or ts_np.size < 2 or np.any(np.diff(ts_np) <= 0):
            raise ValueError("ts must be a 1-D increasing array of at least two save times.")
    if check and is_concrete(y0, params):
        law.check(y0, params, None)
    with warnings.catch_warnings():
        # The state is integrated as real pairs; complex *args* (e.g. a complex H)
        # only enter the vector field, which diffrax's blanket warning ignores.
        warnings.filterwarnings("ignore", message="Complex dtype support in Diffrax")
        sol = _adaptive_core(
            law,
            y0,
            _arrays_for_floats(params),
            ts,
            _as_observer(observe),
            solver,
            rtol,
            atol,
            dt0,
            max_steps,
            adjoint,
        )
    return _report_nonfinite(sol, on_nonfinite, f"jqd.evolve_adaptive({type(law).__name__})")


@eqx.filter_jit
def _adaptive_core(law, y0, params, ts, observe, solver, rtol, atol, dt0, max_steps, adjoint):
    tdtype = _time_dtype(y0)
    ts = jnp.asarray(ts, tdtype)
    # diffrax's complex support is experimental: integrate complex leaves as
    # (real, imag) pairs and convert back at the boundary.
    complex_mask = jax.tree_util.tree_map(jnp.iscomplexobj, y0)
    to_real = lambda y: jax.tree_util.tree_map(
        lambda x, c: jnp.stack([x.real, x.imag], -1) if c else x, y, complex_mask
    )
    to_complex = lambda y: jax.tree_util.tree_map(
        lambda x, c: jax.lax.complex(x[..., 0], x[..., 1]) if c else x, y, complex_mask
    )
    term = diffrax.ODETerm(lambda t, y, args: to_real(law.vector_field(t, to_complex(y), args)))
    saveat = diffrax.SaveAt(
        subs=[
            diffrax.SubSaveAt(ts=ts, fn=lambda t, y, args: observe(t, to_complex(y), args)),
            diffrax.SubSaveAt(t1=True),
        ]
    )
    out = diffrax.diffeqsolve(
        term,
        diffrax.Tsit5() if solver is None else solver,
        t0=ts[0],
        t1=ts[-1],
        dt0=dt0,
        y0=to_real(y0),
        args=params,
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    obs, y_last = out.ys
    y_final = to_complex(jax.tree_util.tree_map(lambda a: a[-1], y_last))
    finite = (
        jax.vmap(lambda i: _all_finite(jax.tree_util.tree_map(lambda a: a[i], obs)))(
            jnp.arange(ts.shape[0])
        )
        if jax.tree_util.tree_leaves(obs)
        else jnp.ones(ts.shape, bool)
    )
    first_bad = jnp.argmin(finite)
    nonfinite_time = jnp.where(jnp.all(finite), jnp.nan, ts[first_bad])
    stats = {
        "n_steps": out.stats["num_steps"],
        "num_accepted_steps": out.stats["num_accepted_steps"],
        "num_rejected_steps": out.stats["num_rejected_steps"],
        "nonfinite_time": nonfinite_time,
    }
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)
