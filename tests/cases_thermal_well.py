"""Law-contract lines for classical particles in a smooth well (see helpers.py)."""

import bad_inputs as bad
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

from jqd.schemes import Strang, Yoshida4
from jqd.thermal import ClassicalWell, WellParams, WellState

LEADING_AXES = (
    "leading axes of x and p are trajectories, so a stacked state is a valid ensemble; "
    "a wrong coordinate axis is refused (tests/test_thermal_well.py)"
)


def _well(scheme, order):
    def make():
        x = jnp.array([[0.5, 3.5], [1.0, -2.0], [-1.5, 0.3]])
        p = jnp.array([[0.0, 0.2], [0.4, 0.0], [-0.3, 0.7]])
        params = WellParams(mass=jnp.asarray(1.2), lam=jnp.asarray(0.15))
        return LawCase(
            ClassicalWell(scheme=scheme),
            WellState(x, p),
            params,
            dt=0.02,
            order=order,
            skip={"wrong_shape": LEADING_AXES},
        )

    return make


CASES = {
    "thermal-well-verlet": _well(Strang(), 2),
    "thermal-well-yoshida4": _well(Yoshida4(), 4),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "thermal-well-verlet": BadInputs(
        bad.at(lambda y: y.x, bad.nan_first),
        "NaN position",
        ("x", "y0"),
        bad.mass(-1.0),
        "mass = -1",
        ("mass",),
    ),
    "thermal-well-yoshida4": BadInputs(
        bad.at(lambda y: y.p, bad.nan_first),
        "NaN momentum",
        ("p", "y0"),
        bad.at(lambda p: p.lam, bad.value(-0.5)),
        "lam = -0.5",
        ("lam",),
    ),
}
