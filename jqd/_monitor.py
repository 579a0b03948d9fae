"""One breakdown mechanism for every law.

A law may declare a monitor, `law.monitor(t, y, params) -> (ok, code, where)`:
`ok` a boolean scalar, `code` an integer naming what went wrong (a key of the
law's `breakdowns` table; 0 while ok), `where` a float vector saying where
(a position, a phase-space point, a member index; shape fixed per law, may be
empty). `evolve` and `evolve_adaptive` evaluate it at every save on every path
(eager, `jit`, `vmap`, `grad`), together with a finiteness check (code 1 for
every law), stop the run in-graph at the first failure, record it in
`Solution.stats`, and raise one exception family, `BreakdownError`, naming
the time, the place and the fix. `on_breakdown="flag"` returns the partial
result instead.

Why in-graph: a check written in Python on concrete values switches off under
`jit`, `vmap` and `grad`, which is exactly where long runs happen.
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
    """One entry of a law's `breakdowns` table: which error to raise, what
    happened (a phrase), and what to do about it."""

    error: type[BreakdownError]
    what: str
    fix: str


NONFINITE_REASON = Reason(
    NonFiniteError,
    "the state or an observable became NaN or Inf",
    "Reduce dt, refine the grid, or check the law's range of validity.",
)


def reasons_of(law) -> dict[int, Reason]:
    """The law's breakdown table, with the shared non-finite entry."""
    table = dict(getattr(law, "breakdowns", {}) or {})
    table.setdefault(NONFINITE, NONFINITE_REASON)
    return table


class Status(NamedTuple):
    """What a monitor returns: `ok`, `code` (0 when ok) and `where`."""

    ok: Array
    code: Array
    where: Array


def all_finite(y) -> Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(y)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def state_real_dtype(y):
    """The real dtype of a state's first inexact leaf (float32 for complex64
    states, ...); the default float if it has none. Times and `where` use it."""
    for leaf in jax.tree_util.tree_leaves(y):
        dtype = jnp.asarray(leaf).dtype
        if jnp.issubdtype(dtype, jnp.inexact):
            return jnp.finfo(dtype).dtype
    return jnp.result_type(float)


def evaluate(monitor, t, y, params) -> Status:
    """Run a monitor (or none) at one save, with the shared finiteness check.

    Non-finite states report code 1 whatever the monitor says; a monitor
    that is not ok with code 0 is a bug in the law and reports code 1 too.
    """
    finite = all_finite(y)
    rdtype = state_real_dtype(y)
    if monitor is None:
        return Status(
            finite, jnp.where(finite, 0, NONFINITE).astype(jnp.int32), jnp.zeros((0,), rdtype)
        )
    ok, code, where = monitor(t, y, params)
    ok = jnp.asarray(ok, bool) & finite
    code = jnp.asarray(code, jnp.int32)
    code = jnp.where(finite, jnp.where(ok, 0, jnp.maximum(code, NONFINITE)), NONFINITE)
    where = jnp.atleast_1d(jnp.asarray(where)).astype(rdtype)
    return Status(ok, code.astype(jnp.int32), where)


def with_observables(status: Status, observed) -> Status:
    """Non-finite observables fail like a non-finite state (code 1): a NaN
    mean over zero particles is as wrong as a NaN state."""
    if observed is None:  # the state itself is saved: already checked
        return status
    finite = all_finite([x for x in jax.tree_util.tree_leaves(observed) if _inexact(x)])
    ok = status.ok & finite
    code = jnp.where(status.ok & ~finite, NONFINITE, status.code).astype(jnp.int32)
    return Status(ok, code, status.where)


def _inexact(x) -> bool:
    return jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)


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


def _format_where(where) -> str:
    where = np.atleast_1d(np.asarray(where))
    if where.size == 0:
        return ""
    return " at (" + ", ".join(f"{float(v):.4g}" for v in where) + ")"


def report(sol, law, on_breakdown: str, caller: str):
    """Raise the law's `BreakdownError` for a recorded failure, or return `sol`.

    Concrete results raise a Python exception with the time and place; under
    an outer `jit`/`vmap`/`grad` the check is staged into the graph with
    `eqx.branched_error_if` (message chosen by the code, time not known then).
    """
    if on_breakdown == "flag":
        return sol
    table = reasons_of(law)
    code = sol.stats["breakdown_code"]
    if not is_traced(code):
        codes = np.atleast_1d(np.asarray(code))
        bad = np.flatnonzero(codes > 0)
        if bad.size == 0:
            return sol
        j = int(bad[0])
        c = int(codes[j])
        time = float(np.atleast_1d(np.asarray(sol.stats["breakdown_time"]))[j])
        where_all = np.asarray(sol.stats["breakdown_where"])
        where = where_all.reshape(codes.shape[0], -1)[j] if codes.shape != () else where_all
        reason = table.get(c, Reason(BreakdownError, f"monitor code {c}", ""))
        batch = f" (batch member {j})" if np.ndim(code) else ""
        raise reason.error(
            f"{caller}: {reason.what} at t = {time:.6g}{_format_where(where)}{batch}. "
            f"{reason.fix} Pass on_breakdown='flag' to get the partial result "
            "(solution.stats['breakdown_time'], ['breakdown_code'], ['breakdown_where']).",
            time=time,
            code=c,
            where=tuple(float(v) for v in np.atleast_1d(where)),
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


def check_on_breakdown(on_breakdown: str) -> None:
    if on_breakdown not in ("raise", "flag"):
        raise ValueError(f"on_breakdown must be 'raise' or 'flag'; got {on_breakdown!r}.")
