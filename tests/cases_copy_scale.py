"""Law-contract line for the faithful copy process lumped into phase types and
tau-leaped (`CopyFaithfulTauLeap`, physics §5.8)."""

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase, StepReference

import jqd
from jqd.copy import CopyFaithfulTauLeap, MatrixParams, MemberState, faithful_type_state

P = 3
INTEGER_COUNTS = "discrete copy events: n(t) is piecewise constant in the params (no gradient)"


# As the count tau-leap's step problem (tests/cases_copy.py): one member in
# class 0 and one in class 1, H_01 = i, H_11 = 1 (the class-1 member copies
# class 0 at λ = 2 cos t); f = the fraction in class 0. dt ≤ 0.12 so that
# λ dt ≤ MAX_MOVE = 0.25: one leap per step, where the coupling holds.
_LEAP_H = jnp.array([[0.0, 1.0j, 0.0], [-1.0j, 1.0, 0.0], [0.0, 0.0, 0.0]])


def _leap_step():
    y0 = faithful_type_state(MemberState(a=jnp.array([0, 1], jnp.int32), phi=jnp.zeros(2)), P)
    return StepReference(
        y0=y0,
        values=lambda y: jnp.sum(y.n[:1]) / jnp.sum(y.n, keepdims=True),
        t=0.36,
        dts=(0.12, 0.06, 0.03),
        replicates=2**15,  # 2**14 gave slope 1.031 ± 0.102, just above the check's 0.1
        params=MatrixParams(H=_LEAP_H),
    )


def _faithful_leap():
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 8)
    phi = jnp.sin(1.7 * jnp.arange(3 * 8.0))  # misaligned within each class
    H = jqd.fock.random_hermitian(jax.random.key(5), P)
    return LawCase(
        CopyFaithfulTauLeap(P),
        faithful_type_state(MemberState(a=a, phi=phi), P),
        MatrixParams(H=H),
        dt=0.05,
        order=1,
        step=_leap_step,
        skip={
            "grads": INTEGER_COUNTS,
        },
    )


def _coupled_leap():
    # the pair of jqd.Errors' step error as a law of its own (jqd.Coupled)
    case = _faithful_leap()
    return LawCase(
        jqd.Coupled(case.law),
        (case.y0, case.y0),
        case.params,
        dt=case.dt,
        skip={
            "grads": INTEGER_COUNTS,
            "order": "the pair's runs are the law's own (its order: copy-faithful-tau-leap)",
        },
    )


CASES = {"copy-faithful-tau-leap": _faithful_leap, "coupled-faithful-tau-leap": _coupled_leap}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "copy-faithful-tau-leap": BadInputs(
        bad.at(lambda y: y.phi, bad.nan_first),
        "NaN type phase",
        ("phi", "y0"),
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
    "coupled-faithful-tau-leap": BadInputs(  # the dt/2 run's state is checked too
        bad.at(lambda y: y[1].phi, bad.nan_first),
        "NaN type phase of the dt/2 run",
        ("phi", "y0"),
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),  # the dt/2 run's state is checked too
}
