"""Law-contract line for Bell's jump process `jqd.copy.BellJumps` (see helpers.py)."""

import dataclasses

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase, StepReference

import jqd
from jqd.copy import BellJumps, BellState, MatrixParams

P = 3
DISCRETE = "discrete jumps: the members' classes are piecewise constant in the params"


def _psi0():
    psi0 = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
    return psi0 / jnp.linalg.norm(psi0)


def _bell_step(n_members, dts):
    """The weak-order problem (`StepReference`): the line's ψ0 under the
    random H of key 10, members drawn from |ψ0|², f = [a = 1], t = 0.8.
    The exponential midpoint's bias is small against the shared-uniform
    coupling's noise (a member's runs part where the dt/2 run jumps in both
    halves of a step, probability ~ (rate dt)², so d's standard error falls
    only as √dt while d falls as dt²): among 16 keys and t in 0.8-2 this H
    has the largest bias per unit of that noise (the law's kernels, noise
    free: d = 0.0145, 0.0039, 0.0009 at dt = 0.4, 0.2, 0.1, slopes 1.90,
    2.07). The full check needs 3·10⁶ members; the default run's variant
    measures dt = 0.4 and 0.2 on 10⁶."""
    psi0 = _psi0()
    a = jax.random.categorical(jax.random.key(2), jnp.log(jnp.abs(psi0) ** 2), shape=(n_members,))
    return StepReference(
        y0=BellState(psi=psi0, a=a.astype(jnp.int32)),
        values=lambda y: (y.a == 1).astype(jnp.float64),
        t=0.8,
        dts=dts,
        params=MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(10), P)),
    )


def _bell():
    H = jqd.fock.random_hermitian(jax.random.key(5), P)
    y0 = BellState(psi=_psi0(), a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 10))
    step = lambda: dataclasses.replace(
        _bell_step(3_000_000, (0.4, 0.2, 0.1)), quick=_bell_step(1_000_000, (0.4, 0.2))
    )
    return LawCase(
        BellJumps(P), y0, MatrixParams(H=H), dt=0.05, order=2, skip={"grads": DISCRETE}, step=step
    )


CASES = {"bell-jumps": _bell}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "bell-jumps": BadInputs(
        *bad.MEMBER_CLASS_7,
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
}
