"""Law-contract lines for the Husimi grid solver (see helpers.py): one Kerr mode
on a 32² grid, one line per regularization."""

import bad_inputs as bad
import jax.numpy as jnp
import numpy as np
from bad_inputs import BadInputs
from helpers import LawCase

import jqd
from jqd import husimi as hs

# arrays, not Python floats: the contract differentiates inexact array leaves
_PARAMS = hs.HusimiGridParams(C=jnp.asarray(1.0), args=jnp.asarray(0.5))

# Envelope and NoRegularization change the state after every step by a
# non-smooth map (clipping; the L1 indicator `removed` grows with the number of
# steps), so their runs do not converge at RK4's order in dt: no order test.
_NO_ORDER = None


def _case(regularization, dt, order, q0=1.0):
    def make():
        grid = hs.PhaseSpaceGrid(1, 32, 16.0)
        law = hs.HusimiGrid(grid, jqd.reference.kerr_symbol, regularization=regularization)
        Q, P = grid.mesh()
        rho = jnp.exp(-((Q - q0) ** 2 + P**2) / 2) / (2 * np.pi)
        rho = rho / grid.integrate(rho)
        if isinstance(law.regularization, hs.FockShells):
            # start inside V_7 (the Gaussian's tail beyond 7 quanta is 1e-5)
            rho = law.fock_project(rho)
            rho = rho / grid.integrate(rho)
        return LawCase(law, law.initial_state(rho), _PARAMS, dt=dt, order=order)

    return make


CASES = {
    "husimi-grid-fock": _case(hs.FockShells(7), dt=0.05, order=4),
    "husimi-grid-project": _case(hs.Envelope(), dt=1e-3, order=_NO_ORDER, q0=1.5),
    "husimi-grid-none": _case(hs.NoRegularization(), dt=1e-3, order=_NO_ORDER, q0=1.5),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "husimi-grid-fock": BadInputs(
        bad.rho(bad.times(2)),
        "rho doubled",
        ("rho", "y0"),
        bad.coupling_C(jnp.nan),
        "C NaN",
        ("C",),
    ),
    "husimi-grid-project": BadInputs(
        bad.rho(bad.nan_first),
        "NaN in rho",
        ("rho", "y0"),
        bad.at(lambda p: p.args, bad.value(jnp.nan)),
        "args NaN",
        ("args",),
    ),
    "husimi-grid-none": BadInputs(
        bad.rho(bad.times(2)),
        "rho doubled",
        ("rho", "y0"),
        bad.coupling_C(jnp.inf),
        "C = inf",
        ("C",),
    ),
}
