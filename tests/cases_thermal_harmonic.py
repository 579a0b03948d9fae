"""Law-contract lines for the harmonic lattice (jqd.thermal, physics §7.4): one per covariance kind."""

import bad_inputs as bad
import jax.numpy as jnp
import numpy as np
from bad_inputs import BadInputs
from helpers import LawCase

from jqd.thermal import HarmonicLattice, Lattice, LatticeParams, displace, product_state

PARAMS = LatticeParams(
    mass=jnp.asarray(1.2), spring=jnp.asarray(0.8), pinning=jnp.asarray(0.3), hbar=jnp.asarray(0.9)
)


def _perturb(params, s):
    """New mass, spring and pinning; ħ stays (the state's uncertainty is built with it,
    and a larger ħ would make it unphysical, which the law rightly refuses)."""
    scale = 1 + 0.01 * s
    return LatticeParams(
        params.mass * scale, params.spring * scale, params.pinning * scale, params.hbar
    )


def _case(kind, lattice):
    law = HarmonicLattice(lattice, covariance=kind)
    n = lattice.n_sites
    width = 0.8 if kind == "mode" else 0.8 + 0.2 * np.sin(np.arange(n))
    y0 = product_state(law, PARAMS, 0.2 * np.cos(np.arange(n)), width, 0.1)
    y0 = displace(law, y0, 0.05, -0.1)
    # exact rotation: no time-step order
    return LawCase(law, y0, PARAMS, dt=0.4, order=None, perturb=_perturb)


CASES = {
    "thermal-harmonic-mode": lambda: _case("mode", Lattice((3, 4), "periodic")),
    "thermal-harmonic-dense": lambda: _case("dense", Lattice((6,), "fixed")),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "thermal-harmonic-mode": BadInputs(
        bad.at(lambda y: y.cov.qq, bad.times(0.1)),
        "covariance below the uncertainty bound",
        ("cov", "y0", "state"),
        bad.at(lambda p: p.spring, bad.value(-1.0)),
        "spring = -1",
        ("spring",),
    ),
    "thermal-harmonic-dense": BadInputs(
        bad.at(lambda y: y.q, bad.nan_first),
        "NaN mode mean",
        ("q", "y0"),
        bad.mass(-1.0),
        "mass = -1",
        ("mass",),
    ),
}
