"""Law-contract lines for the local quantum Hamiltonians (physics §7.6)."""

import bad_inputs as bad
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

from jqd.thermal import LocalParams, mixed_field_ising


def _arrays(params):
    return LocalParams(
        couplings={k: jnp.asarray(v, float) for k, v in params.couplings.items()},
        hbar=jnp.asarray(params.hbar, float),
    )


def _state(D, seed=0):
    n = jnp.arange(D, dtype=float)
    psi = jnp.cos(0.7 * n + seed) + 1j * jnp.sin(1.3 * n * n + 0.2)
    return (psi / jnp.linalg.norm(psi)).astype(jnp.complex128)


def _mfi():
    law, params = mixed_field_ising(4)
    return LawCase(law, _state(law.size), _arrays(params), dt=0.3)


# One line: spin_boson and random_field_heisenberg build the same law class
# (their physics is tested in tests/test_thermal_local.py).
CASES = {"thermal-local-mfi": _mfi}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "thermal-local-mfi": BadInputs(
        bad.whole(bad.times(2)),
        "psi0 doubled",
        bad.PSI,
        bad.at(lambda p: p.couplings["hx"], bad.value(jnp.nan)),
        "coupling hx NaN",
        ("hx", "couplings"),
    ),
}
