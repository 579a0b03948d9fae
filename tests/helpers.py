"""The law contract's table: one line per law.

`LAW_CASES` maps a case id to a factory returning a `LawCase` (built lazily:
some laws precompute structure). Each family keeps its lines in its own
`tests/cases_<family>.py` as `CASES = {id: factory}`; this module joins them.
`tests/test_law_contract.py` runs the whole contract over every line, and a
test there checks that every concrete law of `jqd` has a line.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

FAMILIES = (
    "cases_core",
    "cases_dqm",
    "cases_husimi",
    "cases_husimi_grid",
    "cases_copy",
    "cases_copy_members",
    "cases_husimi_forward_backward",
    "cases_bell",
    "cases_thermal_harmonic",
    "cases_thermal_classical",
    "cases_thermal_local",
    "cases_thermal_well",
)


@dataclasses.dataclass(frozen=True)
class LawCase:
    """One law with a small valid problem.

    Attributes:
        law: the law (an `AbstractLaw` instance).
        y0, params, dt: a valid initial state, constants and step.
        order: the declared convergence order of `law.step` (strong; weak
            for stochastic laws), or None where the step is exact.
        n_save, steps_per_save: a short run.
        perturb: `(params, s) -> params` with new values for the scalar s
            (vmap == loop, no recompile); default scales every inexact leaf
            of params by (1 + 0.01 s).
        skip: `{contract item: reason}` for items that do not apply
            ("float32", "grads", "vmap", "wrong_shape", "monitor").
    """

    law: Any
    y0: Any
    params: Any
    dt: float
    order: int | None = None
    n_save: int = 2
    steps_per_save: int = 2
    perturb: Callable | None = None
    skip: dict = dataclasses.field(default_factory=dict)

    @property
    def key(self):
        return jax.random.key(0) if self.law.stochastic else None

    def with_params(self, s):
        if self.perturb is not None:
            return self.perturb(self.params, s)
        scale = lambda x: (
            x * (1 + 0.01 * s) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact) else x
        )
        return jax.tree_util.tree_map(scale, self.params)


def _collect() -> dict[str, Callable[[], LawCase]]:
    cases: dict[str, Callable[[], LawCase]] = {}
    for name in FAMILIES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        for case_id, factory in module.CASES.items():
            if case_id in cases:
                raise ValueError(f"duplicate law case id {case_id!r} in {name}")
            cases[case_id] = factory
    return cases


LAW_CASES = _collect()


@functools.cache
def build(case_id: str) -> LawCase:
    return LAW_CASES[case_id]()
