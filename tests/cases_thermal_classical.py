"""Law-contract lines for the classical thermal laws: FPUT chains and the
soft-sphere gas (physics §7.5; see helpers.py)."""

import bad_inputs as bad
import jax
import jax.numpy as jnp
import numpy as np
from bad_inputs import BadInputs
from helpers import LawCase

from jqd.schemes import Strang, Yoshida4
from jqd.thermal import ClassicalLattice, FPUTParams, GasParams, PhaseState, SoftSphereGas

TRAJECTORY_AXES = "leading axes of PhaseState are trajectories: a stacked state is valid"


def _chain_y0(n=8, batch=()):
    kq, kp = jax.random.split(jax.random.key(2))
    return PhaseState(
        q=0.3 * jax.random.normal(kq, (*batch, n)), p=0.3 * jax.random.normal(kp, (*batch, n))
    )


def _fput(scheme, boundary, batch=()):
    def factory():
        law = ClassicalLattice(8, boundary, scheme)
        params = jax.tree_util.tree_map(
            jnp.asarray, FPUTParams(mass=1.2, spring=0.9, alpha=0.3, beta=0.8, pinning=0.1)
        )
        return LawCase(
            law,
            _chain_y0(8, batch),
            params,
            dt=0.1,
            order=law.order,
            skip={"wrong_shape": TRAJECTORY_AXES},
        )

    return factory


def _gas(skin=None):
    g = np.arange(4) * 1.5 + 0.3
    q = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    p = np.asarray(jax.random.normal(jax.random.key(1), q.shape))
    y0 = PhaseState(jnp.asarray(q), jnp.asarray(p))
    law = SoftSphereGas(16, 6.0, 2, cell_size=1.2, skin=skin)  # room for sigma * (1 + 0.01 s)
    params = jax.tree_util.tree_map(jnp.asarray, GasParams(mass=1.0, kappa=50.0, sigma=1.0))
    if skin is not None:  # the Verlet-list state (GasState)
        y0 = law.with_neighbors(y0, params)
    # order None: Störmer-Verlet is order 2 for smooth forces, but U'' jumps where
    # a contact starts or ends (r = σ), so the error constant depends on where the
    # kink falls inside a step and a 3-point slope is erratic (1.8 and 2.7 measured
    # on a head-on pair); without contacts the step is exact free streaming.
    return LawCase(law, y0, params, dt=0.02, order=None)


CASES = {
    "thermal-fput-verlet": _fput(Strang(), "fixed"),
    "thermal-fput-yoshida4-periodic": _fput(Yoshida4(), "periodic", batch=(2,)),
    "thermal-gas-2d": _gas,
    "thermal-gas-2d-neighbors": lambda: _gas(skin=0.15),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "thermal-fput-verlet": BadInputs(
        bad.at(lambda y: y.q, bad.nan_first),
        "NaN displacement",
        ("q", "y0"),
        bad.at(lambda p: p.beta, bad.value(jnp.nan)),
        "beta NaN",
        ("beta",),
    ),
    "thermal-fput-yoshida4-periodic": BadInputs(
        bad.at(lambda y: y.p, bad.nan_first),
        "NaN momentum",
        ("p", "y0"),
        bad.at(lambda p: p.spring, bad.value(-1.0)),
        "spring = -1",
        ("spring",),
    ),
    "thermal-gas-2d": BadInputs(
        bad.at(lambda y: y.q, lambda q: q.at[1].set(q[0])),
        "two particles at one place",
        ("q", "y0", "overlap"),
        bad.at(lambda p: p.kappa, bad.value(jnp.nan)),
        "kappa NaN",
        ("kappa",),
    ),
    "thermal-gas-2d-neighbors": BadInputs(
        bad.at(lambda y: y.q, lambda q: q.at[1].set(q[0])),
        "two particles at one place",
        ("q", "y0", "overlap"),
        bad.at(lambda p: p.sigma, bad.value(-1.0)),
        "sigma = -1",
        ("sigma",),
    ),
}
