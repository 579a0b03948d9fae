"""Law-contract line for the faithful copy process lumped into phase types and
tau-leaped (`CopyFaithfulTauLeap`, physics §5.8)."""

import jax
import jax.numpy as jnp
from helpers import LawCase

import jqd
from jqd.copy import CopyFaithfulTauLeap, CopyParams, MemberState, faithful_type_state

P = 3
INTEGER_COUNTS = "discrete copy events: n(t) is piecewise constant in the params (no gradient)"


def _faithful_leap():
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 8)
    phi = jnp.sin(1.7 * jnp.arange(3 * 8.0))  # misaligned within each class
    H = jqd.fock.random_hermitian(jax.random.key(5), P)
    return LawCase(
        CopyFaithfulTauLeap(P),
        faithful_type_state(MemberState(a=a, phi=phi), P),
        CopyParams(H=H),
        dt=0.05,
        order=1,
        skip={
            "grads": INTEGER_COUNTS,
            "order": "weak order 1 in the tau-leap dt: measured against the exact process "
            "by halving dt (tests/test_copy_scale.py)",
        },
    )


CASES = {"copy-faithful-tau-leap": _faithful_leap}
