"""The integrators shared by every law: fixed-step `evolve` and diffrax-backed
`evolve_adaptive`. Both return a `Solution`, and both evaluate the law's
breakdown monitor (`jqd._monitor`) at every save."""

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

from . import _guards, _monitor
from ._checks import is_concrete
from ._law import AbstractLaw
from .interop import as_array


class Solution(eqx.Module):
    """What an integrator returns.

    Attributes:
        ts: save times, shape `(n_save + 1,)` for `evolve` (the initial time
            first), or the requested `ts` for `evolve_adaptive`.
        observables: the pytree returned by `observe`, each leaf with a leading
            axis of length `len(ts)`; the states themselves if `observe` is None.
        y_final: the state at the last save time.
        stats: solver statistics: `n_steps`; the first failure of the law's
            monitor: `breakdown_code` (0 if none; 1 is NaN/Inf, other codes
            are keys of `law.breakdowns`), `breakdown_time` (NaN if none),
            `breakdown_where` (law-specific coordinates), `breakdown_index`
            (save index, -1 if none) and `nonfinite_time` (the breakdown time
            if the state held NaN/Inf, else NaN); for the adaptive path also
            `num_accepted_steps`, `num_rejected_steps`. Laws may add entries.
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


def _custom(observer, observed):
    """What a user's `observe` returned (None when the state itself is saved)."""
    return None if observer.observe is None else observed


def _as_observer(observe) -> Callable:
    """Accept None (save the state), a callable, or a pytree of callables."""
    return observe if isinstance(observe, _Observer) else _Observer(observe)


def _arrays_for_floats(params):
    """Python float/complex leaves of params become arrays: a new value then
    reuses the compiled program instead of recompiling (filter_jit treats
    Python scalars as static)."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x) if isinstance(x, float | complex) else x, params
    )


# Times share the precision of the state (float32 states get float32 t).
_time_dtype = _monitor.state_real_dtype


def _prepend(first, rest):
    return jnp.concatenate([jnp.asarray(first)[None], rest])


@eqx.filter_jit
def _evolve_core(
    law, y0, params, t0, dt, n_save, steps_per_save, observe, monitor, key, checkpoint
):
    tdtype = _time_dtype(y0)
    t0 = jnp.asarray(t0, tdtype)
    dt = jnp.asarray(dt, tdtype)
    stepper = law.prepare(params, dt)
    if monitor == "law":  # the law's own, which may bound the step size too
        monitor = lambda t, y, p: law.step_monitor(t, y, p, dt)

    def inner(carry, xs):
        y = carry
        i, k = xs
        t = t0 + i.astype(tdtype) * dt  # computed, never accumulated
        return stepper.step(t, y, params, dt, k), None

    def outer(carry, xs):
        y, broken = carry
        j, k = xs
        idx = j * steps_per_save + jnp.arange(steps_per_save)
        ks = None if k is None else jax.random.split(k, steps_per_save)

        def advance(y):
            return jax.lax.scan(inner, y, (idx, ks))[0]

        # Stop in-graph after the first failed save: later saves repeat that
        # state (under vmap only the failed member stops).
        y = jax.lax.cond(broken, lambda y: y, advance, y)
        t = t0 + ((j + 1) * steps_per_save).astype(tdtype) * dt
        obs = observe(t, y, params)
        status = _monitor.with_observables(
            _monitor.evaluate(monitor, t, y, params), _custom(observe, obs)
        )
        return (y, broken | ~status.ok), (obs, status)

    if checkpoint:
        # Rematerialise the inner steps on the backward pass: reverse-mode
        # memory grows with the number of saves, not the number of steps.
        outer = jax.checkpoint(outer, prevent_cse=False)

    keys = None if key is None else jax.random.split(key, n_save)
    obs0 = observe(t0, y0, params)
    status0 = _monitor.with_observables(
        _monitor.evaluate(monitor, t0, y0, params), _custom(observe, obs0)
    )
    carry0 = (y0, ~status0.ok)
    (y_final, _), (obs, statuses) = jax.lax.scan(outer, carry0, (jnp.arange(n_save), keys))
    obs = jax.tree_util.tree_map(_prepend, obs0, obs)
    statuses = _monitor.Status(*jax.tree_util.tree_map(_prepend, tuple(status0), tuple(statuses)))
    ts = t0 + (jnp.arange(n_save + 1) * steps_per_save).astype(tdtype) * dt
    stats = {"n_steps": jnp.asarray(n_save * steps_per_save)}
    stats.update(_monitor.first_failure(statuses, ts))
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)


def _monitor_of(law, monitor, fixed_step: bool = False):
    """The monitor to evaluate: the law's (True; for fixed steps its
    `step_monitor`, which also sees dt), none (False: the finiteness check
    only), or a callable `(t, y, params) -> (ok, code, where)`."""
    if monitor is True:
        return "law" if fixed_step else law.monitor
    if monitor is False or monitor is None:
        return None
    if callable(monitor):
        return monitor
    raise TypeError(f"monitor must be True, False or a callable; got {monitor!r}.")


def _check_inputs(law, y0, params, dt, caller, scalars=()):
    """Validate every argument on its own: structure always, values at once
    where concrete and in-graph where traced (see `jqd._guards`). Returns
    `y0` with the in-graph checks attached."""
    _guards.check_precision(y0, params, law, names=("params", "law"))
    law.check(y0, params, dt)
    guards = _guards.params_guards(params) + _guards.finite(y0, "y0")
    for name, value in zip(scalars[::2], scalars[1::2]):
        guards += _guards.scalar(value, name, positive=name == "dt")
    guards += law.guards(y0, params, dt)
    return _guards.enforce(guards, y0, caller)


def _breakdown_mode(on_breakdown: str, on_nonfinite: str | None) -> str:
    if on_nonfinite is not None:  # the earlier name of the same switch
        if on_nonfinite not in ("raise", "ignore"):
            raise ValueError(f"on_nonfinite must be 'raise' or 'ignore'; got {on_nonfinite!r}.")
        return "flag" if on_nonfinite == "ignore" else "raise"
    _monitor.check_on_breakdown(on_breakdown)
    return on_breakdown


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
    monitor=True,
    on_breakdown: str = "raise",
    on_nonfinite: str | None = None,
    max_steps: int | None = 10**8,
) -> Solution:
    """Fixed-step evolution with `law.step`: a nested `lax.scan`.

    The outer scan runs over `n_save` save points, the inner over
    `steps_per_save` steps; step `i` starts at `t = t0 + i * dt` (computed, not
    accumulated). Keys are split per save, then per step. The outer body is
    checkpointed, so reverse-mode memory grows with `n_save`, not the number of
    steps. At every save the law's monitor is evaluated; the run stops
    in-graph at the first failure.

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
        check: validate the inputs (`law.check`, `law.guards` and the shared
            guards: at once where concrete, in-graph where traced; see
            README "Input checking").
        monitor: True (default) evaluates the law's monitor at every save;
            False checks finiteness only; or a callable
            `(t, y, params) -> (ok, code, where)` used instead.
        on_breakdown: "raise" (default: a `jqd.BreakdownError` subclass naming
            the time, the place and the fix; under an outer `jit`/`vmap`/`grad`
            a runtime error) or "flag" (return the partial result and read
            `solution.stats["breakdown_*"]`).
        on_nonfinite: earlier name of the same switch ("raise" or "ignore").
        max_steps: refuse runs of more steps than this (default 1e8, minutes
            to hours: a guard against a mistyped `steps_per_save`); None
            for no bound.

    Returns:
        A `Solution` with `ts` of shape `(n_save + 1,)` (t0 first).
    """
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(law).__name__}.")
    y0 = as_array(y0, "y0")  # a QuTiP Qobj or dynamiqs QArray goes in directly
    n_save = _guards.count(n_save, "n_save")
    steps_per_save = _guards.count(steps_per_save, "steps_per_save")
    if max_steps is not None and n_save * steps_per_save > max_steps:
        raise ValueError(
            f"n_save * steps_per_save = {n_save * steps_per_save:.3g} steps exceeds "
            f"max_steps = {max_steps:.3g} (a guard against runs that would not finish): use a "
            "larger dt, or pass max_steps=None (or a larger bound) for a run this long."
        )
    _guards.scalar(dt, "dt")  # a TypeError for anything but a real number
    if jnp.ndim(dt) != 0:
        raise ValueError(
            f"dt must be a scalar; got shape {jnp.shape(dt)}. For several step sizes use "
            "jax.vmap over dt."
        )
    on_breakdown = _breakdown_mode(on_breakdown, on_nonfinite)
    if law.stochastic and key is None:
        raise ValueError(
            f"{type(law).__name__} is stochastic: pass key=jax.random.key(seed) to evolve."
        )
    if not law.stochastic:
        key = None
    caller = f"jqd.evolve({type(law).__name__})"
    if check:
        y0 = _check_inputs(law, y0, params, dt, caller, scalars=("dt", dt, "t0", t0))
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
        _monitor_of(law, monitor, fixed_step=True),
        key,
        checkpoint,
    )
    return _monitor.report(sol, law, on_breakdown, caller)


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
    monitor=True,
    on_breakdown: str = "raise",
    on_nonfinite: str | None = None,
) -> Solution:
    """Adaptive ODE evolution through diffrax, using `law.vector_field`.

    Args:
        law: an ODE law (one that defines `vector_field`).
        y0: initial state, as for `evolve`.
        params: the law's constants, as for `evolve`.
        ts: save times (increasing); integration runs from `ts[0]` to `ts[-1]`.
        observe: as for `evolve`.
        solver: a diffrax solver (default `Tsit5()`; use `Dopri8()` for very
            tight tolerances).
        rtol: relative tolerance of the PID step-size controller.
        atol: absolute tolerance of the PID step-size controller.
        dt0: initial step (default: chosen by diffrax).
        max_steps: step budget; exceeding it raises.
        adjoint: diffrax adjoint (default `RecursiveCheckpointAdjoint`).
        check: validate the inputs, as for `evolve`.
        monitor: as for `evolve`. The monitor is evaluated at every save time
            and its first failure recorded and raised; the integration itself
            is not cut short.
        on_breakdown: "raise" or "flag", as for `evolve`.
        on_nonfinite: earlier name of `on_breakdown`, as for `evolve`.
    """
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(law).__name__}.")
    y0 = as_array(y0, "y0")  # a QuTiP Qobj or dynamiqs QArray goes in directly
    if law.stochastic:
        raise ValueError(
            f"{type(law).__name__} is stochastic; evolve_adaptive solves ODEs only. "
            "Use jqd.evolve with a key."
        )
    on_breakdown = _breakdown_mode(on_breakdown, on_nonfinite)
    ts_np = np.asarray(ts) if is_concrete(ts) else None
    if ts_np is not None:
        if ts_np.ndim != 1 or ts_np.size < 2 or np.any(np.diff(ts_np) <= 0):
            raise ValueError("ts must be a 1-D increasing array of at least two save times.")
    caller = f"jqd.evolve_adaptive({type(law).__name__})"
    _guards.enforce(
        _guards.scalar(rtol, "rtol", positive=True, fix="e.g. rtol=1e-10.")
        + _guards.scalar(atol, "atol", nonnegative=True, fix="e.g. atol=1e-12."),
        caller=caller,
    )
    max_steps = _guards.count(max_steps, "max_steps")
    if check:
        y0 = _check_inputs(law, y0, params, None, caller, scalars=("ts", ts))
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
            _monitor_of(law, monitor),
            solver,
            rtol,
            atol,
            dt0,
            max_steps,
            adjoint,
        )
    return _monitor.report(sol, law, on_breakdown, caller)


@eqx.filter_jit
def _adaptive_core(
    law, y0, params, ts, observe, monitor, solver, rtol, atol, dt0, max_steps, adjoint
):
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
    save_observed = lambda t, y, args: observe(t, to_complex(y), args)

    # saved as floats: diffrax fills unused save slots with NaN, which an
    # integer or boolean buffer cannot hold
    def save_status(t, y, args):
        y = to_complex(y)
        status = _monitor.evaluate(monitor, t, y, args)
        if observe.observe is not None:
            status = _monitor.with_observables(status, observe(t, y, args))
        return tuple(jnp.asarray(x, tdtype) for x in status)

    saveat = diffrax.SaveAt(
        subs=[
            diffrax.SubSaveAt(ts=ts, fn=save_observed),
            diffrax.SubSaveAt(ts=ts, fn=save_status),
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
    obs, statuses, y_last = out.ys
    y_final = to_complex(jax.tree_util.tree_map(lambda a: a[-1], y_last))
    stats = {
        "n_steps": out.stats["num_steps"],
        "num_accepted_steps": out.stats["num_accepted_steps"],
        "num_rejected_steps": out.stats["num_rejected_steps"],
    }
    ok, code, where = statuses
    status = _monitor.Status(ok > 0.5, code.astype(jnp.int32), where)
    stats.update(_monitor.first_failure(status, ts))
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)
