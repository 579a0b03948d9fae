"""Law-contract lines for the DQM family (see helpers.py): the (ρ, S) laws and
the Nelson and Bohm ensembles, each on a small problem."""

import functools

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase, StepReference

import jqd
from jqd.dqm import (
    BohmEnsemble,
    CanonicalDQM,
    DQMParams,
    EnsembleState,
    Madelung,
    NelsonEnsemble,
    gaussian_state,
    sample_density,
)

V_HO = lambda x, t, a: 0.5 * a["omega"] ** 2 * x[0] ** 2


def _fluid_case(cls, D):
    # dx = 1/8: the monitor's resolution criterion (k_Q dx < 0.3) holds for a
    # unit Gaussian, and its density at the box edge stays below 1e-10.
    def make():
        grid = jqd.Grid(128, 16.0)
        law = cls(grid, V_HO)
        y0 = gaussian_state(grid, a=1.0, x0=0.5, p0=0.2)
        params = DQMParams(
            hbar=jnp.asarray(1.0),
            mass=jnp.asarray(1.0),
            D=None if D is None else jnp.asarray(D),
            potential={"omega": jnp.asarray(1.0)},
        )
        return LawCase(law, y0, params, dt=0.005, order=4)

    return make


def _nelson_step(grid, n_particles):
    """The weak-order problem of the Nelson lines (`StepReference`): a
    coherent state swinging with amplitude 3 in the well, its particles
    drawn from |ψ0|², f = x, to t = 1 at dt = 0.1, 0.05, 0.025 (ψ's guard
    refuses dt = 0.2 here: V dt would vary by more than π over ψ). The drift
    v + u_N = p(t) − ω(x − q(t)) is linear in x, so E x carries the scheme's
    deterministic error on the swing, which grows with the amplitude while
    the Brownian bridge's O(dt) spread of the coupled paths does not. Heun's
    d at dt = 0.025 (1e-4) needs 2^17 particles to be known to 10 %; Euler's
    (1e-2) is resolved 100-fold by 2^12."""
    psi0 = jqd.reference.harmonic_gaussian(grid, 0.0, x0=3.0)
    x = sample_density(jax.random.key(1), grid, jnp.abs(psi0) ** 2, n_particles)
    return StepReference(
        y0=EnsembleState(psi0, x), values=lambda y: y.x[:, 0], t=1.0, dts=(0.1, 0.05, 0.025)
    )


def _ensemble_case(cls, scheme, order, psi_scheme=None):
    def make():
        grid = jqd.Grid(64, 16.0)
        sch = jqd.SchrodingerGrid(grid, V_HO, scheme=psi_scheme or jqd.schemes.Strang())
        law = cls(sch, scheme=scheme)
        psi0 = jqd.reference.harmonic_gaussian(grid, 0.0, x0=1.0, p0=0.5, squeeze=1.5)
        x = 1.0 + 0.5 * jax.random.normal(jax.random.key(0), (32, 1))
        params = jqd.SchrodingerParams(
            hbar=jnp.asarray(1.0), mass=jnp.asarray(1.0), potential={"omega": jnp.asarray(1.0)}
        )
        step = None
        if law.stochastic:
            step = functools.partial(_nelson_step, grid, 2**17 if order == 2 else 2**12)
        return LawCase(law, EnsembleState(psi0, x), params, dt=0.05, order=order, step=step)

    return make


CASES = {
    "dqm-madelung": _fluid_case(Madelung, None),
    "dqm-canonical": _fluid_case(CanonicalDQM, 0.4),
    "dqm-nelson-heun": _ensemble_case(NelsonEnsemble, jqd.schemes.StochasticHeun(), 2),
    "dqm-nelson-euler": _ensemble_case(NelsonEnsemble, jqd.schemes.EulerMaruyama(), 1),
    "dqm-bohm-rk4": _ensemble_case(BohmEnsemble, jqd.schemes.RK4(), 4, jqd.schemes.Yoshida4()),
    "dqm-bohm-midpoint": _ensemble_case(BohmEnsemble, jqd.schemes.Midpoint(), 2),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "dqm-madelung": BadInputs(
        bad.rho(bad.times(2)), "rho doubled", ("rho", "y0"), bad.hbar(-1.0), "hbar = -1", ("hbar",)
    ),
    "dqm-canonical": BadInputs(
        bad.rho(lambda r: r.at[r.shape[0] // 2].set(-0.05)),
        "negative rho",
        ("rho", "y0"),
        bad.at(lambda p: p.D, bad.value(-0.4)),
        "D = -0.4",
        ("D",),
    ),
    "dqm-nelson-heun": BadInputs(
        bad.psi(bad.times(2)),
        "psi doubled",
        ("psi", "psi0", "y0"),
        bad.mass(-1.0),
        "mass = -1",
        ("mass",),
    ),
    "dqm-nelson-euler": BadInputs(
        bad.at(lambda y: y.x, bad.nan_first),
        "NaN particle position",
        ("x", "y0"),
        bad.hbar(jnp.nan),
        "hbar NaN",
        ("hbar",),
    ),
    "dqm-bohm-rk4": BadInputs(
        bad.psi(bad.times(2)),
        "psi doubled",
        ("psi", "psi0", "y0"),
        bad.hbar(0.0),
        "hbar = 0",
        ("hbar",),
    ),
    "dqm-bohm-midpoint": BadInputs(
        bad.at(lambda y: y.x, bad.nan_first),
        "NaN particle position",
        ("x", "y0"),
        bad.at(lambda p: p.potential["omega"], bad.value(jnp.nan)),
        "potential omega NaN",
        ("omega", "potential"),
    ),
}
