"""Law-contract line for Bell's jump process `jqd.copy.BellJumps` (see helpers.py)."""

import jax
import jax.numpy as jnp
from helpers import LawCase

import jqd
from jqd.copy import BellJumps, BellState, CopyParams

P = 3
DISCRETE = "discrete jumps: the members' classes are piecewise constant in the params"


def _bell():
    H = jqd.fock.random_hermitian(jax.random.key(5), P)
    psi0 = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
    psi0 = psi0 / jnp.linalg.norm(psi0)
    y0 = BellState(psi=psi0, a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 10))
    return LawCase(BellJumps(P), y0, CopyParams(H=H), dt=0.05, order=2, skip={"grads": DISCRETE})


CASES = {"bell-jumps": _bell}
