"""`jqd.Errors`: what `jqd.evolve` reports of a stochastic (or ensemble) run
beside its means, as xSPDE does for every observable: the sampling standard
error from sub-ensembles (or replicates), the step error from a coupled run
at dt/2, and, given a reference, χ² and the largest |z| against both.
Why and how: docs/errors.md.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PyTree

from ._law import AbstractLaw

_tm = jax.tree_util.tree_map


class Errors(eqx.Module):
    """Ask `jqd.evolve` (or `jqd.dqm.evolve_ensemble`) for the errors of a
    stochastic or ensemble run: pass `errors=jqd.Errors()`.

    The sampling error: where the state holds independent samples (particles,
    members, trajectories: `law.sample_axes`) they are split into `groups`
    sub-ensembles and every observable is evaluated on each; otherwise
    `groups` independent replicates are run (keys split from `key`) and the
    observables are their mean. The standard error is the groups' standard
    deviation over √groups: right for averages over the samples (moments,
    histograms, frequencies); a statistic of the whole ensemble (a KS
    distance, a maximum) needs its own estimate.

    The step error: the same run at dt/2 driven by the same noise
    (`law.coupling`: a Brownian bridge for Nelson, shared uniforms for the
    jump laws, the same start for deterministic ensembles), reported as
    observable(dt) − observable(dt/2), with its own standard error from the
    groups' paired differences. For a law of weak order p it estimates the
    dt run's bias times (1 − 2^−p). Exact samplers (order None) have none.

    Attributes:
        groups: number of sub-ensembles or replicates (>= 2; default 16).
        step: also run at dt/2 for the step error (about 3x the plain run).
        reference: the exact observables, to compare against: a pytree like
            `observe`'s output with a leading time axis, or a callable
            `reference(ts) -> such a pytree`; NaN entries are skipped.
    """

    groups: int = eqx.field(static=True, default=16)
    step: bool = eqx.field(static=True, default=True)
    reference: Any = None

    def __check_init__(self):
        if isinstance(self.groups, bool) or not isinstance(self.groups, int) or self.groups < 2:
            raise ValueError(
                f"groups must be an int >= 2 (sub-ensembles or replicates); got {self.groups!r}."
            )
        if not isinstance(self.step, bool):
            raise TypeError(f"step must be True or False; got {self.step!r}.")


class ErrorEstimate(eqx.Module):
    """`Solution.errors` of a run with `errors=jqd.Errors(...)`: pytrees shaped
    like `Solution.observables` (complex leaves hold the errors of the real
    and imaginary parts as their parts).

    Attributes:
        se: the sampling standard error of each observable.
        step: observable(dt) − observable(dt/2) on coupled noise, or None
            (not asked, or an exact sampler: see `step_kind`).
        step_se: the standard error of `step`, or None.
        chi2_dof: with a reference, per observable, Σ z² / (entries compared),
            z = (mean − reference) / √(se² + step²); else None.
        max_z: with a reference, per observable, the largest |z|; else None.
        groups: the number of sub-ensembles or replicates.
        sampling: "sub-ensembles" (the state's samples split) or "replicates".
        step_kind: the coupling of the dt/2 run (`law.coupling`;
            "deterministic" for laws without noise), or "exact sampler" /
            "exact in dt" (no step error), or "not asked".
    """

    se: PyTree
    step: PyTree | None
    step_se: PyTree | None
    chi2_dof: PyTree | None = None
    max_z: PyTree | None = None
    groups: int = eqx.field(static=True, default=0)
    sampling: str = eqx.field(static=True, default="")
    step_kind: str = eqx.field(static=True, default="")

    def combined(self) -> PyTree:
        """√(se² + step²) per entry (se alone without a step error)."""
        step = _tm(jnp.zeros_like, self.se) if self.step is None else self.step
        return _tm(_combine, self.se, step)


class Coupled(AbstractLaw):
    """The run at dt and the run at dt/2 on coupled noise (`law.coupled_step`,
    as `jqd.Errors` takes them) as one law on pairs `(y, y_fine)`: evolve it
    from `(y0, y0)` to see both runs' states, and carry `Solution.y_final`
    into the next call to continue both (a long run in pieces, with
    host-side work between them, such as `jqd.copy.compact_types(*pair)`).
    `observe` receives the pair. The pair is checked and monitored as the
    law's two states.

    Attributes:
        law: the law both runs follow.
        fine: `law` prepared for dt/2 (set by `prepare`; None: prepared at
            each step).
    """

    law: AbstractLaw
    fine: AbstractLaw | None = None

    def __check_init__(self):
        if not isinstance(self.law, AbstractLaw):
            raise TypeError(f"law must be a jqd law (AbstractLaw); got {type(self.law).__name__}.")

    @property
    def stochastic(self):  # the pair draws noise where the law does
        return self.law.stochastic

    @property
    def order(self):
        return self.law.order

    @property
    def breakdowns(self):
        return self.law.breakdowns

    def prepare(self, params, dt):
        return Coupled(self.law.prepare(params, dt), self.law.prepare(params, dt / 2))

    def step(self, t, y, params, dt, key):
        fine = self.law.prepare(params, dt / 2) if self.fine is None else self.fine
        return self.law.coupled_step(fine, t, *y, params, dt, key)

    def check(self, y, params, dt=None):
        _pair(y)
        for yi in y:
            type(self.law).check(self.law, yi, params, dt)

    def checks(self, y, params, dt=None):
        return [c for yi in _pair(y) for c in self.law.checks(yi, params, dt)]

    def monitor(self, t, y, params, dt=None):
        """The dt run's monitor, then the dt/2 run's: the first that fails."""
        ok, code, where = self.law.monitor(t, y[0], params, dt)
        ok_f, code_f, where_f = self.law.monitor(t, y[1], params, None if dt is None else dt / 2)
        pick = lambda a, b: jnp.where(jnp.asarray(ok), b, a)
        return jnp.logical_and(ok, ok_f), pick(code, code_f), pick(where, where_f)

    def sample_axes(self, y):
        axes = self.law.sample_axes(y[0])
        return None if axes is None else (axes, axes)


def _pair(y):
    if not (isinstance(y, tuple | list) and len(y) == 2):
        raise ValueError(
            "Coupled's state is the pair (y, y_fine) of the dt and dt/2 runs: start from "
            f"(y0, y0); got {type(y).__name__}."
        )
    return y


def step_kind(law, errors: Errors) -> str:
    """What the step error of `law` under `errors` is (ErrorEstimate.step_kind)."""
    if not errors.step:
        return "not asked"
    if law.order is None:
        return "exact sampler" if law.stochastic else "exact in dt"
    return law.coupling if law.stochastic else "deterministic"


NO_FINE_RUN = ("not asked", "exact sampler", "exact in dt")  # step kinds without a dt/2 run


def saved_copies(law, y0, errors: Errors | None) -> int:
    """How many observable-sized arrays each save holds under `errors`: the
    mean, its SE and (with a fine run) the step error and its SE for
    sub-ensembles; every replicate's observables (twice with a fine run) for
    a one-path law (the save budget of `jqd.evolve`)."""
    if errors is None:
        return 1
    fine = step_kind(law, errors) not in NO_FINE_RUN
    if law.sample_axes(y0) is None:
        return errors.groups * (2 if fine else 1)
    return 4 if fine else 2


def check(law, y0, observe, errors) -> Errors | None:
    """`errors` as an `Errors` (True: the defaults), refused with the fix
    where it cannot apply."""
    if errors is None or errors is False:
        return None
    if errors is True:
        errors = Errors()
    if not isinstance(errors, Errors):
        raise TypeError(f"errors must be jqd.Errors(...), True or None; got {errors!r}.")
    name = type(law).__name__
    if observe is None:
        raise ValueError(
            "errors= needs observe: the observables to average and bound (e.g. "
            "jqd.dqm.ParticleMoments((1, 2)))."
        )
    axes = law.sample_axes(y0)
    if axes is None:
        if not law.stochastic:
            raise ValueError(
                f"errors= needs an ensemble: {name} is deterministic and its state is one "
                "path (law.sample_axes is None), so it has no sampling error."
            )
        return errors
    sizes = {int(jnp.shape(x)[0]) for x in jax.tree_util.tree_leaves(split_leaves(y0, axes))}
    if min(sizes) < errors.groups:
        raise ValueError(
            f"errors=Errors(groups={errors.groups}) splits y0's samples into sub-ensembles, "
            f"but y0 holds {min(sizes)}: use groups <= {min(sizes)} or more samples."
        )
    return errors


def split_leaves(y, axes):
    """The leaves of `y` that hold samples (a pytree with None elsewhere)."""
    return _tm(lambda ax, x: x if ax is not None else None, axes, y, is_leaf=_is_none)


def _is_none(x):
    return x is None


def split(y, axes, groups: int):
    """`y` with each sample leaf `(n, ...)` reshaped to `(groups, n // groups,
    ...)`, sample i in group i mod groups (strided: an ordered state, members
    sorted by class, still gives alike groups); the last `n % groups`
    samples join no group."""

    def one(ax, x):
        if ax is None:
            return x
        m = x.shape[0] // groups
        return jnp.swapaxes(x[: groups * m].reshape((m, groups) + x.shape[1:]), 0, 1)

    return _tm(one, axes, y, is_leaf=_is_none)


def group_values(observe, t, y, params, axes, groups: int):
    """Every observable on each sub-ensemble: leaves `(groups, ...)`."""
    return jax.vmap(lambda yg: observe(t, yg, params), in_axes=(axes,))(split(y, axes, groups))


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.result_type(float))


def standard_error(values, axis: int = 0):
    """std(ddof=1)/√n along `axis`; complex values: the parts' errors as parts."""
    values = _float(values)
    n = values.shape[axis]

    def se(v):
        return jnp.std(v, axis=axis, ddof=1) / jnp.sqrt(n).astype(v.dtype)

    if jnp.iscomplexobj(values):
        return jax.lax.complex(se(values.real), se(values.imag))
    return se(values)


def _combine(se, step):
    if jnp.iscomplexobj(se) or jnp.iscomplexobj(step):
        se, step = jnp.asarray(se) + 0j, jnp.asarray(step) + 0j
        return jax.lax.complex(jnp.hypot(se.real, step.real), jnp.hypot(se.imag, step.imag))
    return jnp.hypot(se, step)


def per_save(obs, obs_fine, groups_coarse, groups_fine):
    """(se, step, step_se) at one save from the whole-ensemble observables
    and their sub-ensemble values (None where there is no fine run)."""
    se = _tm(standard_error, groups_coarse)
    if obs_fine is None:
        return se, None, None
    step = _tm(lambda a, b: _float(a) - _float(b), obs, obs_fine)
    step_se = _tm(lambda a, b: standard_error(_float(a) - _float(b)), groups_coarse, groups_fine)
    return se, step, step_se


def from_replicates(obs, obs_fine):
    """(mean, se, step, step_se) over a leading replicate axis."""
    mean = _tm(lambda a: jnp.mean(_float(a), axis=0), obs)
    se, step, step_se = _tm(standard_error, obs), None, None
    if obs_fine is not None:
        diff = _tm(lambda a, b: _float(a) - _float(b), obs, obs_fine)
        step = _tm(lambda d: jnp.mean(d, axis=0), diff)
        step_se = _tm(standard_error, diff)
    return mean, se, step, step_se


def compare(estimate: ErrorEstimate, observables, reference, ts) -> ErrorEstimate:
    """`estimate` with χ²/dof and max |z| of `observables` against `reference`."""
    ref = reference(ts) if callable(reference) else reference
    leaves, treedef = jax.tree_util.tree_flatten(observables)
    refs, ref_def = jax.tree_util.tree_flatten(ref)
    if ref_def != treedef:
        raise ValueError(
            "errors=Errors(reference=...) must have the structure of observe's output "
            f"(with the time axis first): observe gives {treedef}, the reference {ref_def}."
        )

    def stats(m, r, c):
        m, c = jnp.asarray(m), jnp.asarray(c)
        r = jnp.broadcast_to(jnp.asarray(r, m.dtype), m.shape)
        if jnp.iscomplexobj(m):
            m, r, c = (jnp.stack([a.real, a.imag]) for a in (m, r, c + 0j))
        d = m - r
        z = jnp.where(c > 0, d / jnp.where(c > 0, c, 1), jnp.where(d == 0, 0.0, jnp.inf))
        use = ~jnp.isnan(r)
        z2 = jnp.where(use, z * z, 0.0)
        return jnp.sum(z2) / jnp.maximum(jnp.sum(use), 1), jnp.max(jnp.where(use, jnp.abs(z), 0))

    out = [
        stats(m, r, c) for m, r, c in zip(leaves, refs, treedef.flatten_up_to(estimate.combined()))
    ]
    chi2 = treedef.unflatten([o[0] for o in out])
    max_z = treedef.unflatten([o[1] for o in out])
    return eqx.tree_at(lambda e: (e.chi2_dof, e.max_z), estimate, (chi2, max_z), is_leaf=_is_none)
