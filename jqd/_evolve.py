"""`evolve`, the fixed-step integrator every law shares: one compiled program
holding the value checks, the nested scan and the breakdown monitor.
Why: docs/internals/core.md#plain-call, #validation."""

from __future__ import annotations

import functools
import math
import os
import threading
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray, PyTree

from . import _errors, _guards, _monitor
from ._law import AbstractLaw
from ._solution import Solution
from .interop import as_array

EXACT_SAVES_MAX = 2**24  # why: docs/internals/core.md#plain-call


class _Observer(eqx.Module):
    """`observe` (None, a callable or a pytree of callables) as a module, so
    that equal observers hit jit's cache."""

    observe: Any

    def __call__(self, t, y, params):
        if self.observe is None:
            return y
        if callable(self.observe) and not isinstance(self.observe, dict | list | tuple):
            return self.observe(t, y, params)
        return jax.tree_util.tree_map(lambda f: f(t, y, params), self.observe, is_leaf=callable)


class _Meter:
    """A tqdm bar over a run's `total` saves, advanced from inside the compiled
    run by `jax.debug.callback` (on the host) as saves are done, at most
    `UPDATES` times a run. The save index it reads is never batched, so under
    `vmap` there is one bar, not one per batch element; a run that starts again
    (the same compiled program called anew) opens a new bar. Why:
    docs/internals/core.md#progress."""

    UPDATES = 100  # host callbacks per run, ~0.1-0.3 ms each

    def __init__(self, total: int, desc: str):
        self.total, self.desc, self.bar = total, desc, None
        self.every = -(-total // self.UPDATES)
        self.lock = threading.Lock()

    def _open(self):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc=self.desc, unit="save", dynamic_ncols=True)

    def start(self):
        with self.lock:
            if self.bar is None:
                self._open()

    def done(self, j):
        n = int(np.max(j)) + 1  # saves done (`np.max`: an array, should j be batched)
        with self.lock:
            if self.bar is not None and n < self.bar.n:  # a new run; the last one stopped
                self.bar.close()
                self.bar = None
            if self.bar is None:
                self._open()
            if n > self.bar.n:
                self.bar.update(n - self.bar.n)
            if n >= self.total:
                self.bar.close()
                self.bar = None

    def after(self, j, value):
        """Report save `j` (0-based) done once `value` is computed."""
        j, _ = jax.lax.optimization_barrier((j, value))
        if self.every == 1:
            jax.debug.callback(self.done, j)
            return
        due = ((j + 1) % self.every == 0) | (j + 1 == self.total)
        jax.lax.cond(due, lambda j: jax.debug.callback(self.done, j), lambda j: None, j)


def _progress(progress) -> bool:
    """`progress=` checked: a bool (static: it decides what is traced)."""
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True or False; got {progress!r}.")
    return bool(progress)


def _custom(observer, observed):
    """What a user's `observe` returned (None when the state is saved)."""
    return None if observer.observe is None else observed


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
    skip,
    errors=None,
    meter=None,
):
    """The fixed-step run (or the law's exact saves); `skip` (a failed value
    check) takes no step; `errors` (a `jqd.Errors`) adds the sub-ensembles or
    replicates and the coupled run at dt/2 (`jqd._errors`); `meter` (a
    `_Meter`, or None: nothing traced) reports each save done."""
    tdtype = _monitor.state_real_dtype(y0)
    t0 = jnp.asarray(t0, tdtype)
    dt = jnp.asarray(dt, tdtype)
    offsets = (jnp.arange(n_save + 1) * steps_per_save).astype(tdtype) * dt
    ts = t0 + offsets
    if isinstance(monitor, str):  # "law": its own, which may bound the step size too
        monitor = lambda t, y, p: law.monitor(t, y, p, dt)
    n_steps = jnp.asarray(n_save * steps_per_save)
    run = (law, y0, params, t0, dt, tdtype, n_save, steps_per_save, observe, monitor)
    estimate = None
    if errors is not None:
        kind = _errors.step_kind(law, errors)
        fine = kind not in _errors.NO_FINE_RUN
        axes = law.sample_axes(y0)
        if axes is None:  # one path per run: independent replicates, keys split from `key`
            keys = jax.random.split(key, errors.groups)
            runs = jax.vmap(lambda k: _stepped(*run, k, checkpoint, skip, fine, None, meter))(keys)
            obs_all, y_final, statuses, extra = runs
            obs, se, step, step_se = _errors.from_replicates(obs_all, extra)
            stops = jax.vmap(lambda s: _monitor.first_failure(s, ts))(statuses)
            stats = _earliest(stops)
            sampling = "replicates"
        else:
            groups = (axes, errors.groups)
            out = _stepped(*run, key, checkpoint, skip, fine, groups, meter)
            obs, y_final, statuses, (se, step, step_se) = out
            stats = _monitor.first_failure(statuses, ts)
            sampling = "sub-ensembles"
        estimate = _errors.ErrorEstimate(
            se, step, step_se, groups=errors.groups, sampling=sampling, step_kind=kind
        )
        if errors.reference is not None:
            estimate = _errors.compare(estimate, obs, errors.reference, ts)
    else:
        exact = None  # the law's states at every save, where it has them and they fit
        size = lambda: sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(y0))
        if key is None and (observe.observe is None or len(offsets) * size() <= EXACT_SAVES_MAX):
            exact = law.exact_saves(y0, params, offsets)
        if exact is not None:
            obs, y_final, statuses = _from_saves(exact, ts, params, observe, monitor, n_save)
            if meter is not None:  # no blocks: all saves at once
                jax.debug.callback(meter.start)
                meter.after(jnp.asarray(n_save - 1), statuses.ok)
        else:
            obs, y_final, statuses, _ = _stepped(*run, key, checkpoint, skip, meter=meter)
        stats = _monitor.first_failure(statuses, ts)
    stats = {"n_steps": n_steps, **stats}
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats, errors=estimate)


def _stepped(
    law,
    y0,
    params,
    t0,
    dt,
    tdtype,
    n_save,
    steps_per_save,
    observe,
    monitor,
    key,
    checkpoint,
    skip,
    fine=False,
    groups=None,
    meter=None,
):
    """`(observables, y_final, statuses, extra)` of the stepped run: a scan over
    saves of a scan over steps. With `fine`, the run is `jqd.Coupled(law)`'s:
    a coupled run at dt/2 rides along; `extra` is then its observables, or
    with `groups = (law.sample_axes, n)` the per-save `(se, step, step_se)`.
    With a `meter`, each save block reports itself done."""
    if fine:
        law, y0 = _errors.Coupled(law), (y0, y0)
    stepper = law.prepare(params, dt)

    def observed(t, y):
        y, y_fine = y if fine else (y, None)
        obs = observe(t, y, params)
        status = _monitor.evaluate(monitor, t, y, params)
        status = _monitor.with_observables(status, _custom(observe, obs))
        obs_fine = None if y_fine is None else observe(t, y_fine, params)
        if groups is None:
            return obs, status, obs_fine
        values = lambda y: _errors.group_values(observe, t, y, params, *groups)
        coarse = values(y)
        return (
            obs,
            status,
            _errors.per_save(obs, obs_fine, coarse, values(y_fine) if fine else None),
        )

    def inner(carry, xs):
        i, k = xs
        t = t0 + i.astype(tdtype) * dt  # computed, never accumulated
        return stepper.step(t, carry, params, dt, k), None

    def outer(carry, xs):
        y, broken = carry
        j, k = xs
        idx = j * steps_per_save + jnp.arange(steps_per_save)
        ks = None if k is None else jax.random.split(k, steps_per_save)

        # save j = -1 is t0's: no step (j is never batched, so under vmap this
        # cond still skips); after the first failed save, later saves repeat
        # that state
        advance = lambda y: jax.lax.scan(inner, y, (idx, ks))[0]
        stay = lambda y: y
        y = jax.lax.cond(j < 0, stay, lambda y: jax.lax.cond(broken, stay, advance, y), y)
        t = t0 + ((j + 1) * steps_per_save).astype(tdtype) * dt
        obs, status, extra = observed(t, y)
        return (y, broken | ~status.ok), (obs, status, extra)

    if checkpoint:  # reverse-mode memory grows with the saves, not the steps
        outer = jax.checkpoint(outer, prevent_cse=False)
    body = outer
    if meter is not None:  # outside the checkpoint: a gradient's recompute reports nothing

        def body(carry, xs):
            carry, out = outer(carry, xs)
            meter.after(xs[0], carry[1])  # block xs[0] done: after its monitor
            return carry, out

        jax.debug.callback(meter.start)

    # t0's save is the scan's first (j = -1, its key unused): observe, monitor
    # and the error groups are traced and compiled once, not twice
    keys = None if key is None else jax.random.split(key, n_save)
    keys = None if keys is None else jnp.concatenate([keys[:1], keys])
    carry0 = (y0, jnp.asarray(skip))  # a broken run takes no step (`outer`)
    xs = (jnp.arange(-1, n_save), keys)
    (y_final, _), (obs, statuses, extra) = jax.lax.scan(body, carry0, xs)
    return obs, y_final[0] if fine else y_final, statuses, extra


def _earliest(stops: dict) -> dict:
    """The replicate whose monitor failed first (else replicate 0): its stats."""
    index = stops["breakdown_index"]
    first = jnp.argmin(jnp.where(index >= 0, index, jnp.iinfo(index.dtype).max))
    return {k: v[first] for k, v in stops.items()}


def _from_saves(states, ts, params, observe, monitor, n_save):
    """`(observables, y_final, statuses)` from every save's state; as when
    stepped, later saves repeat the state where the monitor first failed."""
    k = jnp.arange(n_save + 1)

    def first_stop(ok):
        failed = ~ok
        return jnp.where(jnp.any(failed), jnp.argmax(failed), n_save)

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
    return obs, y_final, st


def _monitor_of(monitor):
    """The monitor to evaluate: the law's ("law" for True, read from the traced
    law inside the program: a bound method would key the program on the law's
    values), none (False: finiteness only), or a callable."""
    if monitor is True:
        return "law"
    if monitor is False or monitor is None:
        return None
    if callable(monitor):
        return monitor
    raise TypeError(f"monitor must be True, False or a callable; got {monitor!r}.")


def _start(law, y0, on_breakdown):
    """What both integrators check first; `y0` as an array (`as_array`)."""
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(law).__name__}.")
    if on_breakdown not in ("raise", "flag"):
        raise ValueError(f"on_breakdown must be 'raise' or 'flag'; got {on_breakdown!r}.")
    return as_array(y0, "y0")


def _check_structure(law, y0, params, dt):
    """The eager checks: precision (no silent demotion) and `law.check`."""
    _guards.check_precision(y0, params, law, names=("params", "law"))
    type(law).check(law, y0, params, dt)  # unbound: eqx binds methods per access


def _value_checks(law, y0, params, dt, scalars=()):
    """Every value check of a run: finite params and state, ħ and masses > 0,
    the traced `scalars` `(name, value, ...)` finite (dt > 0), and `law.checks`."""
    guards = _guards.params_guards(params) + _guards.finite(y0, "y0")
    for name, value in zip(scalars[::2], scalars[1::2]):
        guards += _guards.scalar(value, name, positive=name == "dt")
    return [g for g in guards + law.checks(y0, params, dt) if g is not None]


def evolve(
    law: AbstractLaw,
    y0: PyTree,
    params: PyTree,
    *,
    dt,
    n_save: int | None = None,
    steps_per_save: int = 1,
    t0=0.0,
    observe=None,
    key: PRNGKeyArray | None = None,
    checkpoint: bool = True,
    check: bool = True,
    monitor=True,
    on_breakdown: str = "raise",
    max_steps: int | str | None = "auto",
    errors=None,
    ts=None,
    progress: bool = False,
) -> Solution:
    """Fixed-step evolution with `law.step`: a scan over `n_save` saves of
    `steps_per_save` steps each; step `i` starts at `t = t0 + i * dt`. Keys
    are split per save, then per step. The run stops at the first save where
    the law's monitor fails. Save times can be given as QuTiP's `tlist` or
    dynamiqs' `tsave` instead (`ts=`).

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
        checkpoint: checkpoint each save block, so that reverse-mode memory
            grows with `n_save`, not the steps (False: forward-only speed).
        check: validate the inputs (`law.check`, `law.checks` and the shared
            checks: at once where concrete, in-graph where traced).
        monitor: True (default) evaluates the law's monitor at every save;
            False checks finiteness only; or a callable
            `(t, y, params) -> (ok, code, where)` used instead.
        on_breakdown: "raise" (default: a `jqd.BreakdownError` subclass naming
            the time, the place and the fix; under an outer `jit`/`vmap`/`grad`
            a runtime error) or "flag" (return the partial result and read
            `solution.stats["breakdown_*"]`).
        max_steps: refuse runs of more steps than this (default "auto": at
            most 1e8 steps and 1e13 steps × state elements); None for no
            bound. The environment variable `JQD_MAX_STEPS` (an int, or
            "none") sets the "auto" bound. The saved output (n_save + 1
            states or observables) is bounded too, by half the device's
            memory or `JQD_MAX_SAVE_BYTES` (bytes, or "none").
        errors: `jqd.Errors(groups=16, step=True, reference=None)` (or True
            for those defaults): `Solution.errors` then holds each
            observable's sampling standard error (sub-ensembles of the
            state's samples, or replicates) and its step error (a coupled
            run at dt/2: 2-3.5x the plain run's cost); docs/errors.md. The save budget counts what it adds.
            With replicates `observables` are their mean and `y_final` is
            stacked over them.
        ts: the save times instead of `n_save`, `steps_per_save` and `t0`
            (QuTiP's `tlist`, dynamiqs' `tsave`): equally spaced, `ts[0]` the
            initial time, the spacing a whole multiple of `dt`; the solution's
            `ts` are then these (to round-off). Arbitrary save times:
            `jqd.evolve_adaptive(law, y0, params, ts)`.
        progress: True shows a tqdm bar (on stderr) of the saves done, also
            under `jax.jit`, `jax.vmap` (one bar for the batch) and `jax.grad`
            (the forward run). It advances as save blocks finish, at most 100
            times a run (~0.1-0.3 ms each): for a finer bar use more saves (a
            smaller `steps_per_save`). False (the default) adds nothing to
            the compiled run.

    Returns:
        A `Solution` with `ts` of shape `(n_save + 1,)` (t0 first).
    """
    y0 = _start(law, y0, on_breakdown)
    progress = _progress(progress)
    if ts is not None:
        n_save, steps_per_save, t0 = _from_save_times(ts, dt, n_save, steps_per_save, t0)
    if n_save is None:
        raise TypeError(
            "jqd.evolve needs n_save (the number of saves after t0) or ts (the save times)."
        )
    n_save = _guards.count(n_save, "n_save")
    steps_per_save = _guards.count(steps_per_save, "steps_per_save")
    check_budget(n_save * steps_per_save, y0, max_steps, "n_save * steps_per_save")
    _guards.arguments("jqd.evolve", real=("t0",), dt=dt, t0=t0)
    for name, value in (("dt", dt), ("t0", t0)):
        if np.ndim(value) != 0:
            raise ValueError(
                f"{name} must be a scalar; got shape {np.shape(value)}. For several values use "
                f"jax.vmap over {name}."
            )
    if law.stochastic and key is None:
        raise ValueError(
            f"{type(law).__name__} is stochastic: pass key=jax.random.key(seed) to evolve."
        )
    if not law.stochastic:
        key = None
    errors = _errors.check(law, y0, observe, errors)
    copies = _errors.saved_copies(law, y0, errors)
    check_memory(n_save + 1, y0, params, observe, t0, "n_save + 1", copies)
    caller = f"jqd.evolve({type(law).__name__})"
    in_graph = _guards.is_traced(law, y0, params, dt, t0, key)  # a law's fields may be traced
    if check:  # structure, eagerly; values inside the compiled run
        _check_structure(law, y0, params, dt)
    run_law, run_params = law, params
    if not in_graph:  # concrete inputs: the law may pick a cheaper form of them
        run_law, run_params = type(law).specialize(law, params, dt, n_save * steps_per_save)
    options = dict(
        n_save=n_save,
        steps_per_save=steps_per_save,
        observe=_Observer(observe),
        monitor=_monitor_of(monitor),
        key=key,
        checkpoint=checkpoint and in_graph,
        check=check,
        caller=caller,
        in_graph=in_graph,
        on_breakdown=on_breakdown,
        errors=errors,
        progress=progress,
    )
    try:
        real = _monitor.state_real_dtype(y0)
        args = _guards.as_arrays((run_law, y0, run_params, t0, dt), real)
        sol, summary = _program(*args, **options)
        if not in_graph:  # one transfer; on a GPU an in-graph error surfaces only here
            summary = np.asarray(summary)  # [breakdown code, failed checks...]
    except Exception as err:  # an in-graph check or the law's own error
        if check and not in_graph:  # bad input is named first, with its value
            check_values(law, y0, params, dt, caller)
        text, marker = str(err), "_EquinoxRuntimeError: "
        if "Non-hashable static" in text:  # eqx.filter_jit keys programs on non-arrays
            raise TypeError(
                f"{caller}: an argument holds a value that is neither an array nor hashable; "
                "make it an eqx.Module field marked static, or an array."
            ) from None
        if marker not in text:
            raise
        message = text[text.find(marker) + len(marker) :].split("\n\n\n")[0].strip()
        raise RuntimeError(message) from None
    if in_graph:
        return sol  # checks and breakdowns are staged in-graph
    if summary[1:].any():  # a value check failed: named, with its values, by `_checked`
        check_values(law, y0, params, dt, caller)
    return sol if summary[0] == 0 else _monitor.report(sol, law, on_breakdown, caller)


def _from_save_times(ts, dt, n_save, steps_per_save, t0):
    """`(n_save, steps_per_save, t0)` of equally spaced save times `ts` (refused
    with the fix where they cannot be saves of a fixed-step run)."""
    if n_save is not None or steps_per_save != 1 or _guards.is_traced(t0) or np.any(t0 != 0):
        raise TypeError(
            "ts= gives the save times: pass it instead of n_save, steps_per_save and t0."
        )
    if _guards.is_traced(ts) or _guards.is_traced(dt):
        raise TypeError(
            "ts= and dt must be concrete (they fix the number of steps): outside your jax.jit, "
            "or pass n_save, steps_per_save and t0 (t0 may be traced)."
        )
    t = np.asarray(ts, dtype=float)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or not np.all(np.diff(t) > 0):
        raise ValueError(
            f"ts must be a 1-D increasing array of at least two finite times; got {ts!r}."
        )
    gaps, step = np.diff(t), float(dt)
    if np.max(np.abs(gaps - gaps.mean())) > 1e-9 * gaps.mean():
        raise ValueError(
            "ts must be equally spaced for jqd.evolve (a save every steps_per_save steps); for "
            "arbitrary save times use jqd.evolve_adaptive(law, y0, params, ts)."
        )
    k = gaps.mean() / step
    if not step > 0 or round(k) < 1 or abs(k - round(k)) > 1e-9 * k:
        fine = gaps.mean() / max(1, np.ceil(k))
        raise ValueError(
            f"the save spacing of ts ({gaps.mean():g}) must be a whole multiple of dt = {dt}: "
            f"use dt = {fine:.17g} (or another spacing / integer)."
        )
    return t.size - 1, int(round(k)), float(t[0])


RUN_BUDGET_STEPS = 10**8  # why: docs/internals/core.md#budget
RUN_BUDGET_WORK = 10**13


def check_budget(n_steps: int, y0, max_steps, what: str) -> None:
    """Refuse a run of `n_steps` steps (`what` names the arguments that set it)
    past `max_steps` (an int, None or "auto")."""
    why = ""
    if max_steps == "auto":
        env = os.environ.get("JQD_MAX_STEPS", "").strip()
        if env.lower() == "none":
            return
        if env:
            try:
                max_steps, why = int(float(env)), " (JQD_MAX_STEPS)"
            except ValueError:
                raise ValueError(
                    f"JQD_MAX_STEPS must be an integer or 'none'; got {env!r}."
                ) from None
        else:
            size = sum(math.prod(jnp.shape(x)) for x in jax.tree_util.tree_leaves(y0))
            why = f", the run budget (min(1e8 steps, 1e13 / {size} state elements))"
            max_steps = min(RUN_BUDGET_STEPS, RUN_BUDGET_WORK // max(1, size))
    if max_steps is None or n_steps <= max_steps:
        return
    raise ValueError(
        f"{what} = {n_steps:.3g} steps exceeds max_steps = {max_steps:.3g}{why} (a guard "
        "against runs that would not finish): use a larger dt or a shorter run, or raise the "
        "bound with max_steps=N (None: no bound) or JQD_MAX_STEPS=N (or none)."
    )


SAVE_BUDGET_FRACTION = 0.5  # of the device's memory; why: docs/internals/core.md#budget


@functools.cache
def _device_memory() -> tuple[int, str]:
    """(bytes, what) of the default device: an accelerator's memory limit, or
    the machine's RAM for the CPU (64 GB where neither can be read)."""
    device = jax.devices()[0]
    try:
        limit = (device.memory_stats() or {}).get("bytes_limit")
    except Exception:  # a backend without memory statistics
        limit = None
    if limit:
        return int(limit), f"{device.platform.upper()} memory"
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "machine's memory"
    except (AttributeError, ValueError, OSError):
        return 64 * 10**9, "assumed memory"


def save_budget() -> tuple[int | None, str]:
    """(largest saved output in bytes or None, where it comes from)."""
    env = os.environ.get("JQD_MAX_SAVE_BYTES", "").strip()
    if env.lower() == "none":
        return None, ""
    if env:
        try:
            return int(float(env)), " (JQD_MAX_SAVE_BYTES)"
        except ValueError:
            raise ValueError(
                f"JQD_MAX_SAVE_BYTES must be a number of bytes (e.g. 2e10) or 'none'; got {env!r}."
            ) from None
    total, what = _device_memory()
    return int(SAVE_BUDGET_FRACTION * total), f" (half the {what}, {total / 1e9:.3g} GB)"


def _nbytes(tree) -> int:
    """Bytes of the arrays (or shapes) of `tree`; PRNG keys count their key data."""
    return sum(
        math.prod(jnp.shape(x)) * jnp.result_type(x).itemsize
        for x in jax.tree_util.tree_leaves(tree)
    )


def check_memory(n_saves: int, y0, params, observe, t0, what: str, copies: int = 1) -> None:
    """Refuse a run whose saved output, `n_saves` (`what` names the arguments
    that set it) times the state or `observe`'s output (`jax.eval_shape`),
    `copies` of each (`errors=`: `_errors.saved_copies`), exceeds the save
    budget, before anything runs."""
    budget, why = save_budget()
    if budget is None:
        return
    if observe is None:
        each, kind = _nbytes(y0), "states"
    else:
        observer = _Observer(observe)
        try:
            shapes = eqx.filter_eval_shape(lambda t, y, p: observer(t, y, p), t0, y0, params)
        except Exception:  # the run itself names what is wrong with observe
            return
        each, kind = _nbytes(shapes), "observables"
    total = n_saves * each * copies
    if total <= budget:
        return
    times = f" × {copies} (errors=: means, SEs, step errors or replicates)" if copies > 1 else ""
    raise ValueError(
        f"the saved output would take {total / 1e9:.3g} GB ({what} = {n_saves} saves of "
        f"{kind} of {each / 1e6:.4g} MB each{times}), more than the save budget "
        f"{budget / 1e9:.3g} GB"
        f"{why}. Save less: fewer saves (a larger steps_per_save, or fewer save times), or an "
        "observe that keeps less than the state (e.g. a density, moments or a slice); or "
        "raise the budget with JQD_MAX_SAVE_BYTES=N (bytes, or none)."
    )


@eqx.filter_jit  # evolve's one entry: one program per static structure
def _program(law, y0, params, t0, dt, *, check, in_graph, caller, on_breakdown, progress, **run):
    """`evolve`'s one entry, compiled once per static structure (`_guards.as_arrays`):
    the value checks, the run (`_core`, given `run`'s options) and, under an
    outer transform, the breakdown in-graph."""
    failed = jnp.zeros((0,), bool)
    if check:  # plain call: the flags come back with the result; else in-graph errors
        guards = _value_checks(law, y0, params, dt, ("dt", dt, "t0", t0) if in_graph else ())
        oks = [jnp.all(jnp.asarray(g.ok, bool)) for g in guards]
        failed = ~jnp.stack(oks) if oks else failed
        if in_graph:
            y0 = _guards.stage(guards, y0, caller)
    # a failed check skips the run, which might not end or take hours (the same
    # program plain and traced: a user's jit gives the plain call's bits)
    meter = _Meter(run["n_save"], caller) if progress else None
    sol = _core(law, y0, params, t0, dt, **run, skip=jnp.any(failed), meter=meter)
    if in_graph:
        return _monitor.report(sol, law, on_breakdown, caller), failed
    code = jnp.atleast_1d(sol.stats["breakdown_code"]).astype(jnp.int32)
    return sol, jnp.concatenate([code, failed.astype(jnp.int32)])


def check_values(law, y0, params, dt, caller: str, scalars=()) -> None:
    """Raise `ValueError` for a failed value check (`_value_checks`) of concrete
    inputs, evaluated in one program (`_checked`) that returns the values the
    message shows; traced inputs pass (a run stages them). `evolve` calls it
    once its run has flagged a failure (or raised); `evolve_adaptive` and the
    callers that run no `evolve` program, before they start."""
    if not _guards.is_traced(law, y0, params, dt, scalars):
        real = _monitor.state_real_dtype(y0)
        args = _guards.as_arrays((law, y0, params, dt, scalars), real)
        _guards.raise_first(*_checked(*args), caller=caller)


@eqx.filter_jit  # run only after a flagged check: the values its message shows
def _checked(law, y0, params, dt, scalars):
    return _guards.evaluated(_value_checks(law, y0, params, dt, scalars))
