"""The worked example of docs/add-a-law.md: a damped Langevin oscillator,
written the way a contributor writes a law, and its law-contract line.

It lives in the tests, not in `jqd`, so that the page shows code that runs:
docs/add-a-law.md includes the sections between the `--8<--` markers below
(and those of tests/test_add_a_law.py, its validation test). Like every
`tests/cases_*.py`, this file is collected by `helpers.py` without being
listed anywhere.
"""

from typing import ClassVar

import bad_inputs as bad
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from bad_inputs import BadInputs
from helpers import LawCase, WeakReference
from jaxtyping import Array

import jqd
from jqd.schemes import StochasticHeun


# --8<-- [start:params]
class LangevinParams(eqx.Module):
    """Constants of the damped Langevin oscillator (all differentiable).

    Attributes:
        omega: angular frequency ω > 0 of the harmonic well.
        gamma: damping rate γ >= 0 (friction force −mγv).
        kT: the bath's temperature as an energy, k_B T >= 0.
        mass: particle mass m > 0.
    """

    omega: float | Array = 1.0
    gamma: float | Array = 0.5
    kT: float | Array = 0.5
    mass: float | Array = 1.0


# --8<-- [end:params]


# --8<-- [start:law]
class LangevinOscillator(jqd.AbstractLaw):
    """An ensemble of damped harmonic oscillators in a heat bath:

        dx = v dt,   dv = (−ω² x − γ v) dt + √(2γ kT/m) dW.

    The noise amplitude is fixed by the fluctuation-dissipation relation, so
    the stationary law is Boltzmann's: Var x = kT/(mω²), Var v = kT/m.

    State: an array of shape (n_members, 2), one row (x, v) per member.
    `step` is stochastic Heun (`jqd.schemes.StochasticHeun`), weak
    order 2 for this additive noise.

    Validated against the exact Ornstein-Uhlenbeck mean and variances
    (`exact_moments`; tests/test_add_a_law.py).
    """

    stochastic: ClassVar[bool] = True  # `step` draws its noise from `key`
    scheme: ClassVar = StochasticHeun()  # its order: weak 2 for additive noise

    def drift(self, t, y, params):
        """(v, −ω²x − γv) for every member."""
        omega = jnp.asarray(params.omega, y.dtype)
        gamma = jnp.asarray(params.gamma, y.dtype)
        x, v = y[:, 0], y[:, 1]
        return jnp.stack([v, -(omega**2) * x - gamma * v], axis=-1)

    def noise_amplitude(self, params, dtype):
        """√(2γ kT/m), the amplitude of the noise on v."""
        gamma, kT, mass = (jnp.asarray(p, dtype) for p in (params.gamma, params.kT, params.mass))
        return jnp.sqrt(2 * gamma * kT / mass)

    def step(self, t, y, params, dt, key):
        dW = jnp.sqrt(dt) * jqd.random_normal(key, y.shape[:1], y.dtype)
        noise = jnp.stack([jnp.zeros_like(dW), self.noise_amplitude(params, y.dtype) * dW], -1)
        return self.scheme.step(lambda s, z: self.drift(s, z, params), t, y, dt, noise)

    def check(self, y, params, dt=None):
        shape = jnp.shape(y)
        if len(shape) != 2 or shape[1] != 2:
            raise ValueError(
                f"y0 must have shape (n_members, 2), one row (x, v) per member; got {shape}."
            )
        if not jnp.issubdtype(jnp.result_type(y), jnp.floating):
            raise ValueError(f"y0 must be a real floating array; got {jnp.result_type(y)}.")
        for name in ("omega", "gamma", "kT", "mass"):
            if jnp.ndim(getattr(params, name)) != 0:
                raise ValueError(
                    f"params.{name} must be a scalar; got shape "
                    f"{jnp.shape(getattr(params, name))}. For several values use jax.vmap."
                )

    def checks(self, y, params, dt=None):
        fix = "(ω > 0, γ >= 0 and kT >= 0 make the noise amplitude real)"
        return [
            jqd.Check(
                params.omega > 0, f"params.omega must be > 0; got {{value}} {fix}.", params.omega
            ),
            jqd.Check(
                params.gamma >= 0, f"params.gamma must be >= 0; got {{value}} {fix}.", params.gamma
            ),
            jqd.Check(params.kT >= 0, f"params.kT must be >= 0; got {{value}} {fix}.", params.kT),
        ]


# --8<-- [end:law]


# --8<-- [start:reference]
def exact_moments(t, params, x0, v0):
    """Exact mean and variances of (x, v) at times t for members started at
    (x0, v0), underdamped (γ < 2ω): the Ornstein-Uhlenbeck solution.

    With A = [[0, 1], [−ω², −γ]] the drift matrix and ω_d = √(ω² − γ²/4),
    e^{At} = e^{−γt/2} [cos(ω_d t) I + sin(ω_d t)/ω_d (A + γ/2 I)], the mean
    is e^{At}(x0, v0) and the covariance Σ∞ − e^{At} Σ∞ e^{Aᵀt}, with
    Σ∞ = diag(kT/(mω²), kT/m) the Boltzmann covariance.

    Returns:
        (mean_x, mean_v, var_x, var_v), each of the shape of t.
    """
    omega, gamma, kT, mass = (
        float(p) for p in (params.omega, params.gamma, params.kT, params.mass)
    )
    t = np.asarray(t, float)
    wd = np.sqrt(omega**2 - gamma**2 / 4)
    c, s = np.cos(wd * t), np.sin(wd * t) / wd
    decay = np.exp(-gamma * t / 2)
    E = decay * np.array([[c + gamma / 2 * s, s], [-(omega**2) * s, c - gamma / 2 * s]])
    a, b = kT / (mass * omega**2), kT / mass  # Σ∞ = diag(a, b)
    mean_x = E[0, 0] * x0 + E[0, 1] * v0
    mean_v = E[1, 0] * x0 + E[1, 1] * v0
    var_x = a - (E[0, 0] ** 2 * a + E[0, 1] ** 2 * b)
    var_v = b - (E[1, 0] ** 2 * a + E[1, 1] ** 2 * b)
    return mean_x, mean_v, var_x, var_v


# --8<-- [end:reference]


# --8<-- [start:case]
def _weak_mean(t, params):
    """The ensemble's mean (x̄, v̄) from rest at x0 = 10 (`exact_moments`)."""
    return np.array(exact_moments(t, params, 10.0, 0.0)[:2])


def _langevin():
    members = jnp.stack([jnp.linspace(-1.0, 1.0, 8), jnp.zeros(8)], axis=-1)
    params = jax.tree_util.tree_map(jnp.asarray, LangevinParams())  # arrays: differentiable
    # the weak order, from the drift's bias on the mean (the noise is additive
    # and zero-mean, so the mean is free of it); from x0 = 10 that bias is
    # > 8 Monte-Carlo standard errors of 10^5 members at every dt
    weak = WeakReference(
        y0=jnp.zeros((100_000, 2)).at[:, 0].set(10.0),
        values=lambda y: y,
        exact=_weak_mean,
        t=2.0,
        dts=(0.4, 0.2, 0.1),
    )
    return LawCase(LangevinOscillator(), members, params, dt=0.05, order=2, weak=weak)


CASES = {"example-langevin": _langevin}

# its bad inputs, beside it: tests/adversarial/battery.py tries the state
# under jit and vmap, the constant under vmap and grad (each must be refused)
BAD = {
    "example-langevin": BadInputs(
        bad.whole(bad.nan_first),
        "NaN position",
        ("y0",),
        bad.at(lambda p: p.gamma, bad.value(-1.0)),
        "gamma = -1",
        ("gamma",),
    )
}
# --8<-- [end:case]
