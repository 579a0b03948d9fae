"""`Solution`: what `jqd.evolve` and `jqd.evolve_adaptive` return."""

from __future__ import annotations

from typing import Any

import equinox as eqx
from jaxtyping import Array, PyTree

from ._monitor import report


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
        errors: with `errors=jqd.Errors(...)`, a `jqd.ErrorEstimate`: each
            observable's sampling standard error and step error (and χ²
            against a reference); else None.
    """

    ts: Array
    observables: PyTree
    y_final: PyTree
    stats: dict[str, Any]
    errors: Any = None

    def raise_on_breakdown(self, law, caller: str = "jqd.evolve") -> Solution:
        """This solution, or the law's `BreakdownError` for its first flagged
        failure, as `on_breakdown="raise"` gives: for runs flagged inside your
        own `jax.jit` or `vmap`, checked on the host (`stats` concrete)."""
        return report(self, law, "raise", caller)
