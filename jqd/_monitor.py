"""The one run-time check: a law's breakdown monitor `(ok, code, where)` and
a finiteness check (code 1) at every save, raising `BreakdownError` with the
time, the place and the fix. Why: docs/internals/core.md#monitor.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._guards import is_traced

NONFINITE = 1  # the code every law shares: NaN or Inf in the state


class BreakdownError(RuntimeError):
    """A run left the range in which its law is valid (or its numbers are).

    Attributes:
        time: the first save time at which the monitor failed.
        code: the law's breakdown code (`law.breakdowns[code]`).
        where: where it failed (law-specific coordinates; may be empty).
        solution: the run up to and including that save (later saves repeat
            the state at the breakdown), so the valid part can still be used.
    """

    def __init__(self, message: str, *, time=None, code=None, where=None, solution=None):
        super().__init__(message)
        self.time = time
        self.code = code
        self.where = where
        self.solution = solution


class NonFiniteError(BreakdownError, FloatingPointError):
    """NaN or Inf appeared in the state during a run."""


class Reason(NamedTuple):
    """An entry of a law's `breakdowns` table: the error to raise, what
    happened (a phrase), and the fix."""

    error: type[BreakdownError]
    what: str
    fix: str


class Status(NamedTuple):
    """What a monitor returns: `ok`, `code` (0 when ok) and `where`."""

    ok: Array
    code: Array
    where: Array


def all_finite(y) -> Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(y)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def state_real_dtype(y):
    """The real dtype of a state's first inexact leaf, else the default float:
    the dtype of times and `where`."""
    for leaf in jax.tree_util.tree_leaves(y):
        dtype = jax.dtypes.canonicalize_dtype(jnp.result_type(leaf))  # no transfer of leaf
        if jnp.issubdtype(dtype, jnp.inexact):
            return jnp.finfo(dtype).dtype
    return jnp.result_type(float)


def evaluate(monitor, t, y, params) -> Status:
    """Run a monitor (or none) at one save, with the finiteness check: a
    non-finite state, or a failure with code 0, reports code 1."""
    finite = all_finite(y)
    rdtype = state_real_dtype(y)
    ok, code, where = (True, 0, ()) if monitor is None else monitor(t, y, params)
    ok = jnp.asarray(ok, bool) & finite
    code = jnp.asarray(code, jnp.int32)
    code = jnp.where(finite, jnp.where(ok, 0, jnp.maximum(code, NONFINITE)), NONFINITE)
    where = jnp.atleast_1d(jnp.asarray(where)).astype(rdtype)
    return Status(ok, code.astype(jnp.int32), where)


def with_observables(status: Status, observed) -> Status:
    """Non-finite observables fail like a non-finite state (code 1)."""
    if observed is None:  # the state itself is saved: already checked
        return status
    leaves = jax.tree_util.tree_leaves(observed)
    finite = all_finite([x for x in leaves if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)])
    ok = status.ok & finite
    code = jnp.where(status.ok & ~finite, NONFINITE, status.code).astype(jnp.int32)
    return Status(ok, code, status.where)


def first_failure(statuses: Status, ts: Array) -> dict[str, Array]:
    """Solution.stats entries from per-save statuses (leading axis = saves)."""
    failed = ~statuses.ok
    any_failed = jnp.any(failed)
    index = jnp.where(any_failed, jnp.argmax(failed), -1)
    i = jnp.maximum(index, 0)
    code = jnp.where(any_failed, statuses.code[i], 0)
    time = jnp.where(any_failed, ts[i], jnp.nan)
    return {
        "breakdown_index": index.astype(jnp.int32),
        "breakdown_code": code.astype(jnp.int32),
        "breakdown_time": time,
        "breakdown_where": statuses.where[i],
        "nonfinite_time": jnp.where(code == NONFINITE, time, jnp.nan),
    }


def report(sol, law, on_breakdown: str, caller: str):
    """Raise the law's `BreakdownError` for a recorded failure (with time and
    place), or return `sol`; traced results get `eqx.branched_error_if`."""
    if on_breakdown == "flag":
        return sol
    table = {
        NONFINITE: Reason(
            NonFiniteError,
            "the state or an observable became NaN or Inf",
            "Reduce dt, refine the grid, or check the law's range of validity.",
        ),
        **(getattr(law, "breakdowns", {}) or {}),
    }
    code = sol.stats["breakdown_code"]
    if not is_traced(code):
        codes = np.atleast_1d(np.asarray(code))
        if not np.any(codes > 0):
            return sol
        j = int(np.argmax(codes > 0))
        c = int(codes[j])
        time = float(np.atleast_1d(np.asarray(sol.stats["breakdown_time"]))[j])
        where = np.asarray(sol.stats["breakdown_where"]).reshape(codes.size, -1)[j]
        where = tuple(float(v) for v in where)
        reason = table.get(c, Reason(BreakdownError, f"monitor code {c}", ""))
        at = f" at ({', '.join(f'{v:.4g}' for v in where)})" if where else ""
        batch = f" (batch member {j})" if np.ndim(code) else ""
        raise reason.error(
            f"{caller}: {reason.what} at t = {time:.6g}{at}{batch}. "
            f"{reason.fix} Pass on_breakdown='flag' to get the partial result "
            "(solution.stats['breakdown_time'], ['breakdown_code'], ['breakdown_where']).",
            time=time,
            code=c,
            where=where,
            solution=sol,
        )
    n = max(table) + 1
    msgs = [f"{caller}: breakdown (code {c})" for c in range(n)]
    for c, reason in table.items():
        msgs[c] = (
            f"{caller}: {reason.what}. {reason.fix} Rerun with on_breakdown='flag' and read "
            "solution.stats['breakdown_time'] and ['breakdown_where'] for when and where."
        )
    flat = jnp.atleast_1d(code)
    index = jnp.clip(flat[jnp.argmax(flat > 0)], 0, n - 1)
    y_final = eqx.branched_error_if(sol.y_final, jnp.any(flat > 0), index, msgs)
    return eqx.tree_at(lambda s: s.y_final, sol, y_final)
