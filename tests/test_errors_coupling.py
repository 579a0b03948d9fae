"""The couplings of the step error (`law.coupled_step`, `jqd.Errors`) are
valid: each of the two coupled runs has its own law.

For Nelson (Brownian bridge), Bell and the member tau-leap (shared uniforms)
and the count and faithful type tau-leaps (common random numbers): the dt run
is `law.step` itself (bitwise, where it reuses step's draw; in law for the
count and type tau-leaps, which re-draw), and the dt/2 run has the law of two plain steps of dt/2: the
means of a few observables (each sample's displacement from the start and
its square, or class occupations) agree with independent plain runs within
4 combined standard errors. Each problem takes a large dt (move
probabilities of 0.1-0.4 per step) from a deterministic start, so that a
coupling that changes the law of the half steps moves a mean by many
standard errors: the mutants (`-m mutants`) make the two halves of a step
one draw (the bridge's second half repeating its first, one uniform for
both halves of a jump, one key for both halves of the splitting) and must
fail.

Not caught, and not catchable by a moment check of any affordable size: a
bridge with dW/2 for both halves. Its halves still sum to dW, so over each
dt the dt/2 run's increment has the right law; it differs from two plain
half steps only through the drift at the half step (for Heun on a drift
−a x, the variance added per step by a factor 1 − (a dt/2)²/4, about
1 − 10⁻³ here): measured, a shift of 0.1 standard errors at 2^14 particles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import coupled_steps, replicated, steps

import jqd
import jqd.copy._bell as bell_module
import jqd.copy._faithful_leap as faithful_leap_module
import jqd.copy._tau_leap as tau_leap_module
from jqd.copy import (
    BellJumps,
    BellState,
    CopyCountsTauLeap,
    CopyFaithfulTauLeap,
    CopyMembersTauLeap,
    CountState,
    MatrixParams,
    MemberState,
    faithful_type_state,
)
from jqd.dqm import EnsembleState, NelsonEnsemble

P = 3


@dataclasses.dataclass(frozen=True)
class Problem:
    """A coupling check: `law` from `y0` for `n` coupled steps of `dt`;
    `values(y) -> (m, k)`: k observables of each of the m independent
    samples of a state (`(1, k)` for a one-path state, run `replicates`
    times); `bitwise`: the dt run reuses `step`'s draw."""

    law: Any
    y0: Any
    params: Any
    dt: float
    n: int
    values: Callable
    replicates: int = 1
    bitwise: bool = True


def _nelson():
    grid = jqd.Grid(64, 16.0)
    V = lambda x, t, a: 0.5 * a["omega"] ** 2 * x[0] ** 2
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V))
    psi0 = jqd.reference.harmonic_gaussian(grid, 0.0, x0=1.0, p0=0.5, squeeze=1.5)
    params = jqd.SchrodingerParams(
        hbar=jnp.asarray(1.0), mass=jnp.asarray(1.0), potential={"omega": jnp.asarray(1.0)}
    )
    x0 = 1.0  # every particle starts here: the spread is the noise's alone
    y0 = EnsembleState(psi0, jnp.full((2**14, 1), x0))
    values = lambda y: jnp.concatenate([y.x - x0, (y.x - x0) ** 2], axis=1)
    return Problem(law, y0, params, dt=0.1, n=2, values=values)


def _bell():
    psi0 = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
    y0 = BellState(psi=psi0 / jnp.linalg.norm(psi0), a=jnp.zeros(2**15, jnp.int32))
    params = MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(10), P))
    values = lambda y: (y.a[:, None] == jnp.arange(P - 1)).astype(jnp.float64)
    return Problem(BellJumps(P), y0, params, dt=0.4, n=2, values=values)


def _occupations(n0):
    """values of a one-path copy state: each class's change of fraction and its square."""

    def values(n):
        change = n / jnp.sum(n) - n0 / jnp.sum(n0)
        return jnp.concatenate([change, change**2])[None, :]

    return values


def _counts_from_members(a):
    return jnp.sum(a[:, None] == jnp.arange(P), axis=0).astype(jnp.float64)


def _members():
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 20)
    y0 = MemberState(a=a, phi=jnp.sin(1.7 * jnp.arange(3 * 20.0)))
    params = MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(5), P))
    occupations = _occupations(_counts_from_members(a))
    values = lambda y: occupations(_counts_from_members(y.a))
    return Problem(CopyMembersTauLeap(P), y0, params, 0.2, 2, values, replicates=2000)


def _counts():
    y0 = CountState(n=jnp.array([40.0, 30.0, 30.0]), phi=jnp.array([0.0, 1.0, -2.0]))
    params = MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(5), P))
    occupations = _occupations(y0.n)
    values = lambda y: occupations(y.n)
    law = CopyCountsTauLeap(P)
    return Problem(law, y0, params, 0.2, 2, values, replicates=2000, bitwise=False)


def _faithful_types():
    """The faithful type tau-leap from 20 members per class on 8 phases each."""
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 20)
    phi = jnp.round(4 * jnp.sin(1.7 * jnp.arange(3 * 20.0))) / 2  # 8-9 phases per class
    y0 = faithful_type_state(MemberState(a=a, phi=phi), P)
    params = MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(5), P))
    occupations = _occupations(jnp.sum(y0.n, axis=1))
    values = lambda y: occupations(jnp.sum(y.n, axis=1))
    law = CopyFaithfulTauLeap(P)  # dt: the law's bound dt·max hazard <= 0.5
    return Problem(law, y0, params, 0.1, 2, values, replicates=2000, bitwise=False)


PROBLEMS = {
    "nelson": _nelson,
    "bell": _bell,
    "members-tau-leap": _members,
    "counts": _counts,
    "faithful-types": _faithful_types,
}


def _run(run, pb, dt, n, key):
    args = (pb.law, pb.y0, pb.params, jnp.asarray(dt), jnp.asarray(n))
    if pb.replicates == 1:
        return run(*args, key)
    return replicated(run, *args, jax.random.split(key, pb.replicates))


def _samples(pb, y):
    """(samples, k) values of a state (or of a stack of replicates)."""
    if pb.replicates == 1:
        return np.asarray(pb.values(y), float)
    return np.asarray(jax.vmap(pb.values)(y), float).reshape(pb.replicates, -1)


def _z(a, b):
    """Per observable, (mean a − mean b) / its standard error (a, b independent)."""
    se2 = lambda v: v.var(axis=0, ddof=1) / len(v)
    return (a.mean(0) - b.mean(0)) / np.sqrt(se2(a) + se2(b))


def coupling_z(pb):
    """(z of the dt run against plain steps of dt, z of the dt/2 run against
    plain steps of dt/2, the dt run equals `step` bitwise), plain runs on
    independent keys."""
    jqd._guards.enforce(pb.law.checks(pb.y0, pb.params, pb.dt), caller="problem")
    coarse, fine = _run(coupled_steps, pb, pb.dt, pb.n, jax.random.key(0))
    same = None
    if pb.bitwise:
        plain = _run(steps, pb, pb.dt, pb.n, jax.random.key(0))
        same = all(
            np.array_equal(a, b)
            for a, b in zip(jax.tree_util.tree_leaves(coarse), jax.tree_util.tree_leaves(plain))
        )
    plain_coarse = _run(steps, pb, pb.dt, pb.n, jax.random.key(1))
    plain_fine = _run(steps, pb, pb.dt / 2, 2 * pb.n, jax.random.key(2))
    z_coarse = _z(_samples(pb, coarse), _samples(pb, plain_coarse))
    z_fine = _z(_samples(pb, fine), _samples(pb, plain_fine))
    return z_coarse, z_fine, same


# the tau-leaps (7-10 s each on 2 cores) under -m slow
SLOW = {"counts", "members-tau-leap", "faithful-types"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in sorted(PROBLEMS)]
)
def test_coupled_runs_have_the_laws_of_plain_steps(name):
    pb = PROBLEMS[name]()
    z_coarse, z_fine, same = coupling_z(pb)
    if pb.bitwise:
        assert same, "the dt run of coupled_step is not step's (bitwise)"
    assert np.all(np.isfinite(z_fine)) and np.all(np.isfinite(z_coarse)), (z_coarse, z_fine)
    assert np.max(np.abs(z_coarse)) < 4, f"dt run against plain steps: z = {z_coarse}"
    assert np.max(np.abs(z_fine)) < 4, f"dt/2 run against plain half steps: z = {z_fine}"


# -- mutants: couplings whose two halves of a step are dependent ---------------------------


def _bridge_repeating_its_first_half(self, fine, t, y, y_fine, params, dt, key):
    """NelsonEnsemble.coupled_step whose second half repeats the first
    (`first` for `dW − first`): each half has variance dt/2, but they are
    one draw, so the dt/2 run diffuses twice as far."""
    dW = self._increment(key, y, dt)
    Z = jqd._random.random_normal(jax.random.fold_in(key, 1), y.x.shape, y.x.dtype)
    first = 0.5 * dW + 0.5 * jnp.sqrt(dt) * Z
    h = dt / 2
    y_fine = fine.step_increment(t, y_fine, params, h, first)
    y_fine = fine.step_increment(t + h, y_fine, params, h, first)
    return self.step_increment(t, y, params, dt, dW), y_fine


def _one_uniform(key, c, s):
    """half_uniforms giving both half steps the dt step's uniform."""
    return c, c


def _counts_one_key(self, fine, t, y, y_fine, params, dt, key):
    """CopyCountsTauLeap.coupled_step with one key for both halves (the
    second half draws the first half's binomials again)."""
    probs_c = self._probabilities(y, params, dt)
    half = 0.5 * probs_c[0]
    later = half / (1.0 - jnp.sum(half, axis=1))[:, None]
    left, moves_c = y.n, jnp.zeros_like(half)
    for q in (half, later):
        probs_f = fine._probabilities(y_fine, params, dt / 2)
        mc = tau_leap_module._multinomial_moves(key, left, q)
        mf = tau_leap_module._multinomial_moves(key, y_fine.n, probs_f[0])
        y_fine = fine._moved(y_fine, params, dt / 2, mf, probs_f)
        moves_c, left = moves_c + mc, left - jnp.sum(mc, axis=1)
    return self._moved(y, params, dt, moves_c, probs_c), y_fine


def _faithful_one_key(self, fine, t, y, y_fine, params, dt, key):
    """CopyFaithfulTauLeap.coupled_step with one key for both halves (the
    second half repeats the first half's draws)."""
    R, delta, omega = faithful_leap_module._rates(params, y.n.dtype)
    leap = lambda y: fine._leap(y, key, dt / 2, R, R, delta, omega)  # noqa: E731
    return self.step(t, y, params, dt, key), leap(leap(y_fine))


MUTANTS = {
    "nelson": lambda mp: mp.setattr(
        NelsonEnsemble, "coupled_step", _bridge_repeating_its_first_half
    ),
    "bell": lambda mp: mp.setattr(bell_module, "half_uniforms", _one_uniform),
    "members-tau-leap": lambda mp: mp.setattr(tau_leap_module, "half_uniforms", _one_uniform),
    "counts": lambda mp: mp.setattr(CopyCountsTauLeap, "coupled_step", _counts_one_key),
    "faithful-types": lambda mp: mp.setattr(CopyFaithfulTauLeap, "coupled_step", _faithful_one_key),
}


@pytest.mark.mutants
@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_dependent_halves_fail_the_coupling_check(name, monkeypatch):
    MUTANTS[name](monkeypatch)
    jax.clear_caches()  # no program compiled from the correct coupling may be reused
    try:
        z_coarse, z_fine, same = coupling_z(PROBLEMS[name]())
    finally:
        jax.clear_caches()
    assert np.max(np.abs(z_fine)) > 4, f"the mutant passed: z of the dt/2 run {z_fine}"


class _Walk(jqd.AbstractLaw):
    """dy = −y dt + dW by Euler-Maruyama (the default, independent coupling)."""

    stochastic = True
    order = 1

    def step(self, t, y, params, dt, key):
        return y - y * dt + jnp.sqrt(dt) * jax.random.normal(key, y.shape, y.dtype)


def test_coupled_pair_carries_across_calls():
    """`jqd.Coupled`: the pair evolved in two calls, the first's y_final
    carried into the second, is `coupled_step` applied step after step on
    evolve's keys (per save, then per step), both runs; its runs are the
    ones `jqd.Errors` takes the step error from; a state that is not a pair
    is refused."""
    law, params, y0 = _Walk(), None, jnp.ones(3)
    pair, dt, sps = jqd.Coupled(law), 0.1, 3
    kw = dict(dt=dt, steps_per_save=sps, n_save=1)
    calls = jax.random.split(jax.random.key(3), 2)
    first = jqd.evolve(pair, (y0, y0), params, key=calls[0], **kw)
    second = jqd.evolve(pair, first.y_final, params, key=calls[1], t0=sps * dt, **kw)
    y = (y0, y0)
    for c, k in enumerate(calls):
        for i, ki in enumerate(jax.random.split(jax.random.split(k, 1)[0], sps)):
            y = law.coupled_step(law, (c * sps + i) * dt, *y, params, dt, ki)
    np.testing.assert_allclose(np.asarray(second.y_final), np.asarray(y), rtol=1e-14)
    assert not np.allclose(y[0], y[1])  # two runs

    kw = dict(dt=dt, steps_per_save=sps, n_save=2, observe=lambda t, y, p: y)
    key = jax.random.key(4)
    err = jqd.evolve(law, y0, params, key=key, errors=jqd.Errors(groups=2), **kw)
    kw["observe"] = lambda t, y, p: y[0] - y[1]
    runs = [jqd.evolve(pair, (y0, y0), params, key=k, **kw) for k in jax.random.split(key, 2)]
    diff = np.mean([r.observables for r in runs], axis=0)
    np.testing.assert_allclose(diff, np.asarray(err.errors.step), atol=1e-15)
    with pytest.raises(ValueError, match="pair"):
        jqd.evolve(pair, y0, params, key=key, dt=dt, n_save=1)
