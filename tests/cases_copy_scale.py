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
            "order": "weak order 1 in the tau-leap dt, measured against the exact process by "
            "halving dt (tests/test_copy_scale.py); not by its step error. Measured on this "
            "line with independent noise (before its coupling; class fractions at t = 1, 2000 "
            "replicates): SE 0.0024-0.0033 at dt = 0.2, 0.1, 0.05, no d resolved (all |d| < "
            "0.004). Since 2026-11-28 the law couples its dt/2 run by common random numbers "
            "(the difference's SD 0.33 of a run's, tests/test_errors_coupling.py), which "
            "shrinks d's SE about 4x; the order check on this line has not been rerun",
        },
    )


CASES = {"copy-faithful-tau-leap": _faithful_leap}
