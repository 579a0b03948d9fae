"""Law-contract lines for the faithful member-level copy process (physics §5.8):
the reference (`CopyMembersFaithful`) and its Möbius form."""

import dataclasses

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

import jqd
from jqd.copy import (
    CopyMembersFaithful,
    CopyMembersFaithfulMobius,
    MatrixParams,
    MemberState,
    faithful_state,
)

P = 3
INTEGER_COUNTS = "discrete copy events: n(t) is piecewise constant in the params (no gradient)"


def _faithful():
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 8)
    phi = jnp.sin(1.7 * jnp.arange(3 * 8.0))  # misaligned within each class
    H = jqd.fock.random_hermitian(jax.random.key(5), P)
    return LawCase(
        CopyMembersFaithful(P),
        faithful_state(MemberState(a=a, phi=phi)),
        MatrixParams(H=H),
        dt=0.5,
        order=None,
        skip={"grads": INTEGER_COUNTS},
    )


def _faithful_mobius():
    # K = 8 terms: re-bases every few substeps, so the contract covers them too
    law = CopyMembersFaithfulMobius(P, n_terms=8)
    return dataclasses.replace(_faithful(), law=law)


CASES = {"copy-members-faithful": _faithful, "copy-members-faithful-mobius": _faithful_mobius}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "copy-members-faithful": BadInputs(
        *bad.MEMBER_CLASS_7,
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
    "copy-members-faithful-mobius": BadInputs(
        bad.at(lambda y: y.phi, bad.nan_first),
        "NaN member phase",
        ("phi", "y0"),
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
}
