"""`jqd.evolve_adaptive`: adaptive ODE evolution through diffrax, with the
breakdown monitor at every save. Why: docs/internals/core.md#adaptive."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

from . import _guards, _monitor
from ._evolve import (
    _check_structure,
    _monitor_of,
    _Observer,
    _start,
    _value_checks,
    check_memory,
    check_values,
)
from ._law import AbstractLaw
from ._solution import Solution

if TYPE_CHECKING:  # imported where used: diffrax costs ~1 s at import
    import diffrax


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
    progress=False,
) -> Solution:
    """Adaptive ODE evolution through diffrax, using `law.vector_field`.

    Args:
        law: an ODE law (one that defines `vector_field`).
        y0: initial state, as for `evolve`.
        params: the law's constants, as for `evolve`.
        ts: save times (increasing), from `ts[0]` to `ts[-1]`.
        observe: as for `evolve`; the saved output (len(ts) states or
            observables) is bounded as `evolve`'s.
        solver: a diffrax solver (default `Tsit5()`).
        rtol: relative tolerance of the PID step-size controller.
        atol: absolute tolerance of the PID step-size controller.
        dt0: initial step (default: chosen by diffrax).
        max_steps: step budget; exceeding it raises `RuntimeError`. `stats`
            records `solver_failed` (0 solved, 1 out of steps, 2 another
            diffrax failure).
        adjoint: diffrax adjoint (default: `RecursiveCheckpointAdjoint`, or
            `ForwardMode()` under forward-mode differentiation).
        check: validate the inputs, as for `evolve`.
        monitor: as for `evolve`, evaluated at every save time (the
            integration itself is not cut short).
        on_breakdown: "raise" or "flag", as for `evolve`.
        progress: True shows diffrax's tqdm bar (on stderr) of the fraction of
            `[ts[0], ts[-1]]` solved, refreshed every 20 steps; or a diffrax
            progress meter (e.g. `diffrax.TextProgressMeter()`). One bar also
            under `jax.jit` and `jax.vmap` (it follows the slowest element).
            Off (False, the default), nothing is added to the compiled run.
    """
    y0 = _start(law, y0, on_breakdown)
    meter = _meter(progress)
    if law.stochastic:
        raise ValueError(
            f"{type(law).__name__} is stochastic; evolve_adaptive solves ODEs only. "
            "Use jqd.evolve with a key."
        )
    ts_np = np.asarray(ts) if not _guards.is_traced(ts) else None
    if ts_np is not None:
        if ts_np.ndim != 1 or ts_np.size < 2 or np.any(np.diff(ts_np) <= 0):
            raise ValueError("ts must be a 1-D increasing array of at least two save times.")
    caller = f"jqd.evolve_adaptive({type(law).__name__})"
    if jnp.ndim(ts) == 1:  # else the value checks name ts
        check_memory(jnp.shape(ts)[0], y0, params, observe, 0.0, "len(ts)")
    _guards.enforce(
        _guards.scalar(rtol, "rtol", positive=True, fix="e.g. rtol=1e-10.")
        + _guards.scalar(atol, "atol", nonnegative=True, fix="e.g. atol=1e-12."),
        caller=caller,
    )
    max_steps = _guards.count(max_steps, "max_steps")
    in_graph = _guards.is_traced(y0, params, ts)
    if check:  # structure now; values now where concrete, else in-graph
        _check_structure(law, y0, params, None)
    if check and not in_graph:
        check_values(law, y0, params, None, caller, ("ts", ts))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Complex dtype support in Diffrax")
        real = _monitor.state_real_dtype(y0)
        args = (*_guards.as_arrays((law, y0, params), real), ts, _Observer(observe))
        # tolerances (and a float dt0) as arrays of the state's precision: a new
        # tolerance reuses the compiled program (as Python floats they were static)
        rtol, atol = np.asarray(rtol, real), np.asarray(atol, real)
        dt0 = np.asarray(dt0, real) if isinstance(dt0, int | float) else dt0
        args += (_monitor_of(monitor), solver, rtol, atol, dt0, max_steps, meter)
        # a plain call reads diffrax's failures here (its in-graph raise is a host callback)
        staged = (check and in_graph, caller, in_graph)
        try:
            sol = _adaptive_core(*args, adjoint, staged)
        except TypeError as err:
            if "custom_vjp" not in str(err) or not in_graph:
                raise
            # forward mode (jax.jvp, jax.jacfwd): the default adjoint is reverse-only
            import diffrax

            if adjoint is not None:
                raise TypeError(
                    f"{caller}: forward-mode differentiation (jax.jvp, jax.jacfwd) cannot go "
                    f"through adjoint={type(adjoint).__name__}(): pass "
                    "adjoint=diffrax.ForwardMode() (or leave adjoint=None to choose it)."
                ) from None
            sol = _adaptive_core(*args, diffrax.ForwardMode(), staged)
    failed = 0 if in_graph else int(np.max(np.asarray(sol.stats["solver_failed"])))
    if failed == 1:
        raise RuntimeError(
            f"{caller}: the solver took max_steps = {max_steps} steps before "
            f"t = {float(ts_np[-1]):g}. Raise max_steps, or loosen rtol/atol."
        )
    if failed:
        raise RuntimeError(
            f"{caller}: diffrax's solve failed (the step size fell to its minimum or the "
            "state became non-finite). Check the law's range of validity, or loosen rtol/atol."
        )
    return _monitor.report(sol, law, on_breakdown, caller)


def _meter(progress):
    """`progress=` as a diffrax progress meter (None: diffrax's default, none)."""
    if isinstance(progress, bool | np.bool_) and not progress:
        return None
    import diffrax

    if isinstance(progress, bool | np.bool_):
        return diffrax.TqdmProgressMeter()
    if isinstance(progress, diffrax.AbstractProgressMeter):
        return progress
    raise TypeError(
        "progress must be True, False or a diffrax progress meter (e.g. "
        f"diffrax.TextProgressMeter()); got {progress!r}."
    )


@eqx.filter_jit  # evolve_adaptive's one entry
def _adaptive_core(
    law,
    y0,
    params,
    ts,
    observe,
    monitor,
    solver,
    rtol,
    atol,
    dt0,
    max_steps,
    meter,
    adjoint,
    staged,
):
    import diffrax

    if staged[0]:  # value checks of traced inputs, in-graph
        y0 = _guards.stage(_value_checks(law, y0, params, None, ("ts", ts)), y0, staged[1])

    tdtype = _monitor.state_real_dtype(y0)
    ts = jnp.asarray(ts, tdtype)
    monitor = law.monitor if isinstance(monitor, str) else monitor  # "law"
    # complex leaves as (real, imag) pairs: diffrax's complex support is experimental
    complex_mask = jax.tree_util.tree_map(jnp.iscomplexobj, y0)
    to_real = lambda y: jax.tree_util.tree_map(
        lambda x, c: jnp.stack([x.real, x.imag], -1) if c else x, y, complex_mask
    )
    to_complex = lambda y: jax.tree_util.tree_map(
        lambda x, c: jax.lax.complex(x[..., 0], x[..., 1]) if c else x, y, complex_mask
    )
    term = diffrax.ODETerm(lambda t, y, args: to_real(law.vector_field(t, to_complex(y), args)))
    save_observed = lambda t, y, args: observe(t, to_complex(y), args)

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
        throw=staged[2],
        **({} if meter is None else {"progress_meter": meter}),
    )
    obs, statuses, y_last = out.ys
    y_final = to_complex(jax.tree_util.tree_map(lambda a: a[-1], y_last))
    stats = {
        "n_steps": out.stats["num_steps"],
        "num_accepted_steps": out.stats["num_accepted_steps"],
        "num_rejected_steps": out.stats["num_rejected_steps"],
        "solver_failed": jnp.where(
            out.result == diffrax.RESULTS.successful,
            0,
            jnp.where(out.result == diffrax.RESULTS.max_steps_reached, 1, 2),
        ),
    }
    ok, code, where = statuses
    status = _monitor.Status(ok > 0.5, code.astype(jnp.int32), where)
    stats.update(_monitor.first_failure(status, ts))
    return Solution(ts=ts, observables=obs, y_final=y_final, stats=stats)
