"""The law protocol: what every evolution law in jqd exposes.

A law is a final `eqx.Module` holding fixed structure (grid, basis,
precomputed operators; integers and callables as static fields). It does not
hold the constants one fits or sweeps: those travel separately as `params`, a
small pytree (usually an `eqx.Module` of floats), so that `jax.grad` and
`jax.vmap` over them need no filtering.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray, PyTree


class AbstractLaw(eqx.Module):
    """An evolution law `y(t) -> y(t + dt)`.

    Subclasses implement `step` and, where the law is an ODE, `vector_field`
    (diffrax's `f(t, y, args)` signature, `args = params`).

    Attributes a law may override:
        stochastic: True if `step` consumes its `key`.
        order: the declared convergence order of `step` in dt (strong order
            for deterministic laws, weak order for stochastic ones; None if
            the step is exact or not a time discretisation).
        breakdowns: `{code: jqd.Reason(error, what, fix)}` for the codes its
            `monitor` returns (code 1, NaN/Inf, is shared by every law).
    """

    stochastic: ClassVar[bool] = False
    order: ClassVar[int | None] = None
    breakdowns: ClassVar[dict] = {}

    @abc.abstractmethod
    def step(self, t, y: PyTree, params: PyTree, dt, key: PRNGKeyArray | None) -> PyTree:
        """Advance the state `y` from time `t` to `t + dt`.

        Deterministic laws ignore `key`; stochastic laws must use it.
        """

    def vector_field(self, t, y: PyTree, params: PyTree) -> PyTree:
        """dy/dt at `(t, y)`; defined by laws that are ODEs."""
        raise NotImplementedError(
            f"{type(self).__name__} is not an ODE law: it has no vector_field; "
            "use jqd.evolve (fixed steps) instead of jqd.evolve_adaptive."
        )

    def prepare(self, params: PyTree, dt) -> AbstractLaw:
        """Return a law equivalent to `self` with operators that depend only on
        `(params, dt)` precomputed. `evolve` calls it once, outside the time
        loop, so that per-step work is minimal. Default: no precomputation.
        """
        return self

    def monitor(self, t, y: PyTree, params: PyTree):
        """`(ok, code, where)`: is the state still inside the law's range of
        validity? Evaluated by `evolve`/`evolve_adaptive` at every save on
        every path (eager, jit, vmap, grad), so it must be traceable.
        `code` is a key of `breakdowns` (0 when ok), `where` a float vector
        of fixed shape saying where (may be empty). Default: always ok (the
        integrators check finiteness themselves).
        """
        return True, 0, jnp.zeros((0,))

    def step_monitor(self, t, y: PyTree, params: PyTree, dt):
        """The monitor of a fixed-step run (`jqd.evolve`), which also knows
        the step `dt`: laws whose step is only stable or accurate for dt
        below a bound that depends on the current state (a potential's
        phase where the wave now is, a drift near a node) check it here.
        Default: `monitor(t, y, params)`."""
        return self.monitor(t, y, params)

    def check(self, y: PyTree, params: PyTree, dt=None) -> None:
        """Structural validation (shapes, dtypes, static settings) and any
        check too costly for `guards`.

        Raises `ValueError` naming the argument and the fix. Called by the
        integrators on every call; each argument may independently be a
        tracer (under `jit`, `vmap` or `grad`), so inspect values only after
        `jqd.is_concrete(that_argument)` (shapes and dtypes are always known).
        """
        return None

    def guards(self, y: PyTree, params: PyTree, dt=None) -> list:
        """Value checks of the initial state, params and step, as
        `jqd.Guard`s written with `jax.numpy` (see `jqd._guards`): the
        integrators raise a `ValueError` at once for each guard whose inputs
        are concrete, and check the others in-graph (`eqx.error_if`) when
        something is traced. Finiteness of every params leaf, ħ > 0 and
        mass > 0, dt > 0 and t0 finite are checked for every law already.
        `dt` is None for adaptive runs.
        """
        return []

    # Shared physical read-outs. Laws whose state has a position density
    # implement `density`; observables are built on these.
    def density(self, y: PyTree) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define a density.")

    def energy(self, t, y: PyTree, params: PyTree) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define an energy.")
