"""`jqd.evolve`'s plain call: concrete arguments, one cached program per
shape (`jqd._fastcall`), the value guards computed inside it."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from . import _fastcall, _guards
from ._evolve import _check_inputs, _core, _finite_float


def plain_call(law, y0, params, t0, dt, n_save, sps, observer, monitor, key, check, caller):
    """A call on concrete values: one cached program per shape (see
    `jqd._fastcall`) computing the run and the value guards together.

    Returns (solution, breakdown code), or None when an argument cannot key
    the cache (the general path then runs). Forward only (nothing is
    traced), so no checkpointing."""
    if check:  # structure and dtypes: cheap and eager; values: in the program
        _guards.check_precision(y0, params, law, names=("params", "law"))
        type(law).check(law, y0, params, dt)  # unbound: eqx binds methods per access
        if not (_finite_float(dt) and dt > 0 and _finite_float(t0)):
            _guards.enforce(
                _guards.scalar(dt, "dt", positive=True) + _guards.scalar(t0, "t0"), caller=caller
            )
    run_law, run_params = law, params
    specialize = getattr(type(law), "specialize", None)
    if specialize is not None:
        run_law, run_params = specialize(law, params, dt, n_save * sps)
    as_float = lambda x: float(x) if isinstance(x, int) else x  # ints would be static
    tree = (run_law, y0, run_params, as_float(t0), as_float(dt), np.asarray(n_save, np.int32), key)
    dyn, key_ = _fastcall.split((tree, observer, monitor, sps, check))
    if key_ is None:
        return None
    n_cap = _fastcall.capacity(key_, n_save)
    try:
        sol, summary = _fastcall.cached(_plain_program, key_, dyn, n_cap)
        summary = np.asarray(summary)  # [breakdown code, failed guards...]: one transfer
    except Exception:  # the law's own in-graph errors fire first: bad input is named first
        if check:
            _check_inputs(law, y0, params, dt, caller, scalars=("dt", dt, "t0", t0))
        raise
    if summary[1:].any():
        # a value guard failed in the program: the eager checks name it with its value
        _check_inputs(law, y0, params, dt, caller, scalars=("dt", dt, "t0", t0))
    return _fastcall.take_saves(sol, n_save + 1), int(summary[0])


def _plain_program(args, n_cap):
    (law, y0, params, t0, dt, n_active, key), observer, monitor, sps, check = args
    failed = jnp.zeros((0,), bool)
    if check:
        guards = _guards.params_guards(params) + _guards.finite(y0, "y0")
        failed = ~_fastcall.guard_flags(guards + law.guards(y0, params, dt))
    sol = _core(law, y0, params, t0, dt, n_cap, sps, observer, monitor, key, False, n_active)
    code = jnp.atleast_1d(sol.stats["breakdown_code"]).astype(jnp.int32)
    return sol, jnp.concatenate([code, failed.astype(jnp.int32)])
