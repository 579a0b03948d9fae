"""The law contract's table: one line per law.

`LAW_CASES` maps a case id to a factory returning a `LawCase` (built lazily:
some laws precompute structure). Each family keeps its lines in its own
`tests/cases_<family>.py` as `CASES = {id: factory}`; this module finds every
such file next to it and joins them (no list to edit: a new `cases_*.py` is
collected as soon as it exists). `tests/test_law_contract.py` runs the whole
contract over every line, and a test there checks that every concrete law of
`jqd` has a line; `tests/test_orders.py` checks every line's declared order.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pathlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

# every tests/cases_<family>.py, in name order
FAMILIES = tuple(sorted(p.stem for p in pathlib.Path(__file__).parent.glob("cases_*.py")))


@dataclasses.dataclass(frozen=True)
class WeakReference:
    """An observable of a stochastic law with a closed-form mean: what the
    weak-order check of `tests/test_orders.py` compares against.

    The ensemble average of `values` over a run from `y0` to time `t` (with
    the case's law and params) tends to `exact(t, params)` as dt → 0, with
    an error that falls at the law's declared weak order.

    Attributes:
        y0: an initial ensemble, large enough that the Monte-Carlo error is
            well below the scheme's bias at every step in `dts`.
        values: `y -> (n_members, k)` array, per member, whose mean is known.
        exact: `(t, params) -> (k,)` array, that mean at time `t`.
        t: the time compared (a multiple of every step in `dts`).
        dts: three or more steps, coarsest first, in the asymptotic range.
    """

    y0: Any
    values: Callable
    exact: Callable
    t: float
    dts: tuple


@dataclasses.dataclass(frozen=True)
class StepReference:
    """A problem on which `tests/test_orders.py` measures a stochastic law's
    weak order without a closed form: from its coupled step error
    d(dt) = E f(X^dt) − E f(X^{dt/2}) (`law.coupled_step`: one step of dt
    and two of dt/2 on coupled noise, the step error of `jqd.Errors`). For
    weak order p, d(dt) ≈ c dt^p (1 − 2^−p), so log|d| falls against log dt
    with slope p.

    Why a problem of its own, not the contract line's: d must be resolved,
    |d| > 4 of its standard error at every step, and the slope known to
    ±0.1 (a third of the check's tolerance), in a few seconds. The coupling
    makes d's noise small but not zero (a Brownian bridge leaves the paths
    O(dt) apart; a jump process's coupled runs part where one of them jumps
    twice in a step), so each case picks an observable whose bias is large
    against that noise, and a dt range where the leading term of the bias
    dominates; its factory says why.

    Attributes:
        y0: the initial state (for an ensemble law, enough samples).
        values: `y -> (m,)` array: the observable f of each of the state's
            m independent samples (particles, members), or `(1,)` for a
            state that is one sample path; NaN marks a run the check must
            not use (e.g. a refused tau-leap step).
        t: the time compared (a multiple of every step in `dts`).
        dts: three steps (two in a `quick` variant), coarsest first, each
            half the one before.
        replicates: independent runs (vmapped, keys split): 1 where the
            state's samples are independent, more where it is one path.
        params: the law's constants; None: the case's.
        quick: a cheaper variant for the default run; the full check then
            runs under `-m slow`.
    """

    y0: Any
    values: Callable
    t: float
    dts: tuple
    replicates: int = 1
    params: Any = None
    quick: StepReference | None = None


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
            ("float32", "grads", "vmap", "wrong_shape", "monitor", and
            "order" where `tests/test_orders.py` cannot check the order).
        weak: for a stochastic law, an observable with a closed-form mean
            (`WeakReference`): its declared weak order is then measured.
        step: for a stochastic law without one, a function returning a
            problem on which its weak order is measured from the coupled
            step error (`() -> StepReference`: built only by that check,
            its ensembles may be large).
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
    weak: WeakReference | None = None
    step: Callable[[], StepReference] | None = None

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


def _collect(table: str = "CASES") -> dict:
    """`{case id: entry}` of every `tests/cases_*.py` module's `table`: its
    `CASES` (`{id: factory}`, required) or its `BAD` (`{id: BadInputs}`, the
    law's bad inputs, tests/bad_inputs.py; each id one of the module's own
    `CASES`)."""
    cases: dict = {}
    origin: dict[str, str] = {}
    for name in FAMILIES:
        module = importlib.import_module(name)
        family = getattr(module, table, None if table == "CASES" else {})
        if not isinstance(family, dict):
            raise TypeError(f"tests/{name}.py must define {table} = {{case id: ...}}")
        for case_id, entry in family.items():
            if case_id in cases:
                raise ValueError(
                    f"duplicate law case id {case_id!r} in tests/{name}.py "
                    f"(already in tests/{origin[case_id]}.py)"
                )
            if table != "CASES" and case_id not in module.CASES:
                raise ValueError(f"tests/{name}.py: BAD[{case_id!r}] has no line in its CASES")
            cases[case_id] = entry
            origin[case_id] = name
    return cases


class _LazyCases(Mapping):
    """`{case id: entry}` of one table, collected on first use: a `cases_*.py`
    module may import `helpers` (for `LawCase`) before the table exists, and a
    test file may import a `cases_*.py` module directly (tests/test_add_a_law.py)."""

    def __init__(self, table: str = "CASES"):
        self._table = table
        self._cases = None

    def _load(self) -> dict:
        if self._cases is None:
            self._cases = _collect(self._table)
        return self._cases

    def __getitem__(self, case_id: str):
        return self._load()[case_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


LAW_CASES = _LazyCases()
BAD_INPUTS = _LazyCases("BAD")  # {case id: BadInputs}: tests/bad_inputs.py


@functools.cache
def build(case_id: str) -> LawCase:
    return LAW_CASES[case_id]()


@eqx.filter_jit
def steps(law, y0, params, dt, n, key):
    """`law.step` n times from t = 0 (step i at t = i dt), as `jqd.evolve`
    steps, with dt and n traced: one compile per law for every (dt, n) a
    check needs, where `evolve` compiles once per number of steps (which is
    static there). A stochastic step i draws from `fold_in(key, i)`."""
    stepper = law.prepare(params, dt)

    def body(i, y):
        k = None if key is None else jax.random.fold_in(key, i)
        return stepper.step(i * dt, y, params, dt, k)

    return jax.lax.fori_loop(0, n, body, y0)


@eqx.filter_jit
def coupled_steps(law, y0, params, dt, n, key):
    """`law.coupled_step` n times from t = 0, as `jqd.evolve` takes it with
    errors (step i at t = i dt, the law prepared for dt and for dt/2, step i
    drawing from `fold_in(key, i)` as in `steps`), dt and n traced.
    Returns (the dt run, the dt/2 run)."""
    coarse, fine = law.prepare(params, dt), law.prepare(params, dt / 2)

    def body(i, ys):
        return coarse.coupled_step(fine, i * dt, *ys, params, dt, jax.random.fold_in(key, i))

    return jax.lax.fori_loop(0, n, body, (y0, y0))


@eqx.filter_jit
def replicated(run, law, y0, params, dt, n, keys):
    """`run` (`steps` or `coupled_steps`) for each of `keys`: independent
    replicates of a law whose state is one sample path."""
    return jax.vmap(lambda k: run(law, y0, params, dt, n, k))(keys)
