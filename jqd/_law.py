"""The law protocol every evolution law exposes (`AbstractLaw`; the
walk-through is docs/add-a-law.md).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray, PyTree


def half_steps(step, y, t, dt, xs):
    """`step(s, y, x)` at s = t and t + dt/2, x the first and second entry of
    `xs` (a pytree with a leading axis of 2, or None): one `lax.scan`, so the
    dt/2 step of `coupled_step` is traced and compiled once, not twice."""
    ts = t + (dt / 2) * jnp.arange(2, dtype=jnp.result_type(dt))
    return jax.lax.scan(lambda y, sx: (step(sx[0], y, sx[1]), None), y, (ts, xs))[0]


class AbstractLaw(eqx.Module):
    """An evolution law `y(t) -> y(t + dt)`: a final `eqx.Module` holding
    fixed structure (grid, basis, operators), while the constants one fits or
    sweeps travel separately as `params`, a small pytree. Subclasses
    implement `step` and, where the law is an ODE, `vector_field`.

    Attributes a law may override:
        stochastic: True if `step` consumes its `key`.
        scheme: the `jqd.schemes` object `step` uses: a field where the law
            offers a choice, else a class attribute. `order`, the
            convergence order of `step` in dt (strong for deterministic laws,
            weak for stochastic ones), is the scheme's; a law without a
            scheme is exact (order None).
        breakdowns: `{code: jqd.Reason(error, what, fix)}` for the codes its
            `monitor` returns (code 1, NaN/Inf, is shared by every law).
        coupling: how `coupled_step` ties a run at dt/2 to the run at dt
            (the step error of `jqd.Errors`): "independent" (the default for
            stochastic laws: fresh noise, a valid but noisy step error), or
            the name of the law's own coupling ("brownian bridge", ...).
    """

    stochastic: ClassVar[bool] = False
    breakdowns: ClassVar[dict] = {}
    coupling: ClassVar[str] = "independent"

    @property
    def order(self) -> int | None:
        scheme = getattr(self, "scheme", None)
        return None if scheme is None else scheme.order

    @abc.abstractmethod
    def step(self, t, y: PyTree, params: PyTree, dt, key: PRNGKeyArray | None) -> PyTree:
        """Advance `y` from `t` to `t + dt`; deterministic laws ignore `key`,
        stochastic laws must use it."""

    def vector_field(self, t, y: PyTree, params: PyTree) -> PyTree:
        """dy/dt at `(t, y)`; defined by laws that are ODEs."""
        raise NotImplementedError(
            f"{type(self).__name__} is not an ODE law: it has no vector_field; "
            "use jqd.evolve (fixed steps) instead of jqd.evolve_adaptive."
        )

    def prepare(self, params: PyTree, dt) -> AbstractLaw:
        """The law with operators that depend only on `(params, dt)`
        precomputed (called once, outside the time loop)."""
        return self

    def check(self, y: PyTree, params: PyTree, dt=None) -> None:
        """Structural validation (shapes, dtypes, static settings), eager:
        raise `ValueError` naming the argument and the fix. Values go to `checks`."""
        return None

    def checks(self, y: PyTree, params: PyTree, dt=None) -> list:
        """Value checks of the initial state, params and step, as `jqd.Check`s
        written with `jax.numpy`, evaluated inside the run (a plain call raises
        `ValueError` with the value, a traced one raises in-graph). Finite params and
        state, ħ > 0, mass > 0, dt > 0 and a finite t0 are checked for every
        law already. `dt` is None for adaptive runs."""
        return []

    def monitor(self, t, y: PyTree, params: PyTree, dt=None):
        """`(ok, code, where)`: is the state still inside the law's range of
        validity? Traceable (evaluated at every save). `code` is a key of
        `breakdowns` (0 when ok), `where` a float vector of fixed shape; `dt`
        is None for adaptive runs. Default: always ok."""
        return True, 0, jnp.zeros((0,))

    def sample_axes(self, y: PyTree):
        """Where the state holds independent samples (particles, members,
        trajectories): a pytree prefix of `y` with 0 on the leaves whose
        leading axis runs over them and None elsewhere, e.g.
        `EnsembleState(psi=None, x=0)`; `jqd.Errors` splits them into
        sub-ensembles. None (default): the state is one sample path, and
        `jqd.Errors` runs independent replicates instead."""
        return None

    def coupled_step(self, fine, t, y: PyTree, y_fine: PyTree, params: PyTree, dt, key):
        """`(y', y_fine')`: one step of dt from `y` (exactly `step`) and two
        steps of dt/2 from `y_fine` with `fine` (this law prepared for dt/2),
        on noise coupled to the dt step's (`coupling`). Default: the same
        start and no noise for deterministic laws; fresh keys, independent of
        the dt step's, for stochastic ones."""
        # fold_in(key, 1): keys the dt step never uses
        keys = jax.random.split(jax.random.fold_in(key, 1)) if self.stochastic else None
        step = lambda s, y, k: fine.step(s, y, params, dt / 2, k)
        return self.step(t, y, params, dt, key), half_steps(step, y_fine, t, dt, keys)

    def exact_saves(self, y0: PyTree, params: PyTree, offsets):
        """The state at every `t0 + offsets[k]` at once (e.g. from one
        eigendecomposition), or None (default: the saves are stepped)."""
        return None

    def specialize(self, params: PyTree, dt, n_steps: int):
        """`(law, params)` in a cheaper equivalent form chosen from concrete
        values (a banded H stored sparse): a plain call applies it; under a
        user's own `jax.jit`, call it outside the jit."""
        return self, params

    # read-outs that observables are built on
    def density(self, y: PyTree) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define a density.")

    def energy(self, t, y: PyTree, params: PyTree) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define an energy.")
