"""The integrators shared by every law: fixed-step `evolve` (here) and
diffrax-backed `evolve_adaptive` (`jqd._evolve_adaptive`). Both return a
`Solution`, and both evaluate the law's breakdown monitor (`jqd._monitor`) at
every save.

A law may also define `exact_saves(y0, params, offsets)`, returning the
state at every `t0 + offsets[k]` at once (e.g. a time-independent
Schrödinger H from one eigendecomposition), or None where it must be
stepped; `evolve` then evaluates observables and the monitor at every save
as for the stepped path, and later saves repeat the save where the monitor
first failed. `specialize(params, dt, n_steps)` lets a law choose, for
concrete inputs of a plain call, how it runs (a sparse storage of H).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree

from . import _fastcall, _guards, _monitor
from ._law import AbstractLaw
from .interop import as_array

# exact_saves stores every save's state: used while they take at most this
# many elements (2^24 complex128 = 256 MB) unless the states are the output
EXACT_SAVES_MAX_ELEMENTS = 2**24


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


_OBSERVERS: dict = {}


def _as_observer(observe) -> Callable:
    """Accept None (save the state), a callable, or a pytree of callables
    (one `_Observer` per hashable `observe`, reused)."""
    if isinstance(observe, _Observer):
        return observe
    try:
        hit = _OBSERVERS.get(observe)
    except TypeError:  # a dict or list of callables
        return _Observer(observe)
    if hit is None:
        hit = _OBSERVERS[observe] = _Observer(observe)
        if len(_OBSERVERS) > 256:
            _OBSERVERS.pop(next(iter(_OBSERVERS)))
    return hit


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


def _core(
    law,
    y0,
    params,
    t0,
    dt,
    n_save,
    steps_per_save,
    observe,
    monitor,
    key,
    checkpoint,
    n_active=None,
):
    """The fixed-step run (or the law's exact saves) for `n_save` saves; with
    `n_active` (traced) only the first `n_active` saves count: later ones
    repeat the state at save `n_active` and are never a breakdown."""
    tdtype = _time_dtype(y0)
    t0 = jnp.asarray(t0, tdtype)
    dt = jnp.asarray(dt, tdtype)
    offsets = (jnp.arange(n_save + 1) * steps_per_save).astype(tdtype) * dt
    ts = t0 + offsets
    if monitor == "law":  # the law's own, which may bound the step size too
        monitor = lambda t, y, p: law.step_monitor(t, y, p, dt)
    n_steps = jnp.asarray((n_save if n_active is None else n_active) * steps_per_save)
    exact = _exact_saves(law, y0, params, offsets, observe, key)
    if exact is not None:
        return _from_saves(exact, ts, params, observe, monitor, n_save, n_active, n_steps)
    stepper = law.prepare(params, dt)

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
        padded = False if n_active is None else j >= n_active

        def advance(y):
            return jax.lax.scan(inner, y, (idx, ks))[0]

        # Stop in-graph after the first failed save: later saves repeat that
        # state (under vmap only the failed member stops).
        y = jax.lax.cond(broken | padded, lambda y: y, advance, y)
        t = t0 + ((j + 1) * steps_per_save).astype(tdtype) * dt
        obs = observe(t, y, params)
        status = _monitor.with_observables(
            _monitor.evaluate(monitor, t, y, params), _custom(observe, obs)
        )
        status = status._replace(ok=status.ok | padded)
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
    stats = {"n_steps": n_steps}
    stats.update(_monitor.first_failure(statuses, ts))
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)


_evolve_core = eqx.filter_jit(_core)


def _exact_saves(law, y0, params, offsets, observe, key):
    """The law's states at every save, where it has them and they fit."""
    exact = getattr(law, "exact_saves", None)
    if exact is None or key is not None:
        return None
    size = sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(y0))
    if observe.observe is not None and offsets.shape[0] * size > EXACT_SAVES_MAX_ELEMENTS:
        return None
    return exact(y0, params, offsets)


def _from_saves(states, ts, params, observe, monitor, n_save, n_active, n_steps):
    """A Solution from every save's state: the monitor and observables at
    each save (vmapped); as on the stepped path, later saves repeat the
    state where the monitor first failed."""
    k = jnp.arange(n_save + 1)
    last = n_save if n_active is None else n_active

    def first_stop(ok):
        failed = ~(ok | (k > last))
        return jnp.where(jnp.any(failed), jnp.argmax(failed), last)

    def repeat_after(stop):
        shape = lambda a: (k > stop).reshape((-1,) + (1,) * (a.ndim - 1))
        return lambda a: jnp.where(shape(a), a[stop], a)

    checked = jax.vmap(lambda t, y: _monitor.evaluate(monitor, t, y, params))(ts, states)
    states = jax.tree_util.tree_map(repeat_after(first_stop(checked.ok)), states)
    obs = jax.vmap(lambda t, y: observe(t, y, params))(ts, states)
    st = jax.vmap(_monitor.with_observables)(checked, _custom(observe, obs))
    stop = first_stop(st.ok)  # earlier only where an observable alone was not finite
    obs = jax.tree_util.tree_map(repeat_after(stop), obs)
    y_final = jax.tree_util.tree_map(lambda a: a[stop], states)
    stats = {"n_steps": n_steps}
    status = _monitor.Status(st.ok | (k > last), st.code, st.where)
    stats.update(_monitor.first_failure(status, ts))
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
    if not _finite_float(dt):
        _guards.scalar(dt, "dt")  # a TypeError for anything but a real number
        if np.ndim(dt) != 0:
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
    observer = _as_observer(observe)
    mon = _monitor_of(law, monitor, fixed_step=True)
    if not _guards.is_traced(y0, params, dt, t0, key):
        from ._evolve_plain import plain_call  # (imports this module)

        out = plain_call(
            law, y0, params, t0, dt, n_save, steps_per_save, observer, mon, key, check, caller
        )
        if out is not None:
            sol, code = out
            return sol if code == 0 else _monitor.report(sol, law, on_breakdown, caller)
    if check:
        y0 = _check_inputs(law, y0, params, dt, caller, scalars=("dt", dt, "t0", t0))
    # dt, t0 and float params travel as arrays so that a new value does not recompile.
    args = (law, y0, params, jnp.asarray(t0), jnp.asarray(dt), n_save, steps_per_save)
    args += (observer, mon, key, checkpoint)
    dyn, static = _fastcall.split(args)
    if static is not None:  # one jitted call (one primitive under an eager grad/vmap)
        sol = _fastcall.cached(_traced_program, static, dyn)
    else:
        sol = _evolve_core(*args[:2], _arrays_for_floats(params), *args[3:])
    return _monitor.report(sol, law, on_breakdown, caller)


def _traced_program(args, extra):
    return _core(*args)


def _finite_float(x) -> bool:
    return isinstance(x, float | int) and not isinstance(x, bool) and math.isfinite(x)


from ._evolve_adaptive import evolve_adaptive as evolve_adaptive  # noqa: E402  (uses the above)
