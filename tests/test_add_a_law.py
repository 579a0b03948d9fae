"""Validation of the worked example of docs/add-a-law.md: the damped Langevin
oscillator of tests/cases_example.py against the exact Ornstein-Uhlenbeck
moments, and two plausible bugs that this comparison must catch.

(The law and its contract line live in tests/cases_example.py, which pytest
does not collect as a test module; this file holds its physics test.)
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases_example import LangevinOscillator, LangevinParams, exact_moments

import jqd

# --8<-- [start:run]
PARAMS = LangevinParams(omega=1.0, gamma=0.5, kT=0.5, mass=1.0)
X0, V0 = 2.0, 0.0  # every member starts at rest at x = 2
N, DT, N_SAVE, STEPS_PER_SAVE = 100_000, 0.05, 4, 80  # saves at t = 4, 8, 12, 16


def moments(law, seed=0):
    """Ensemble mean and variance of (x, v) at each save: shape (saves, 2, 2)."""
    y0 = jnp.tile(jnp.array([X0, V0]), (N, 1))
    sol = jqd.evolve(
        law,
        y0,
        PARAMS,
        dt=DT,
        n_save=N_SAVE,
        steps_per_save=STEPS_PER_SAVE,
        key=jax.random.key(seed),
        observe=lambda t, y, p: jnp.stack([y.mean(0), y.var(0)]),
    )
    return np.asarray(sol.ts), np.asarray(sol.observables)


# --8<-- [end:run]


# --8<-- [start:validation]
# The tolerance, fixed before the run: 5 Monte-Carlo standard errors of each
# estimate (σ/√N for a mean, σ²√(2/N) for the variance of Gaussian members,
# σ² from the closed form) plus the scheme's weak bias at DT. Stochastic
# Heun's bias on these moments at dt = 0.05 is at most 1.2e-3 at these saves
# (its moments follow a linear recursion, solved exactly once); BIAS bounds it.
BIAS = 2e-3


def deviations(law):
    """|ensemble − exact| / tolerance at the saves t > 0 (all <= 1: pass)."""
    ts, measured = moments(law)
    mean_x, mean_v, var_x, var_v = exact_moments(ts, PARAMS, X0, V0)
    exact = np.stack([np.stack([mean_x, mean_v], -1), np.stack([var_x, var_v], -1)], 1)
    var = exact[:, 1]  # (saves, 2): the exact variances of x and v
    se = np.stack([np.sqrt(var / N), var * math.sqrt(2 / N)], 1)
    tolerance = 5 * se + BIAS
    return (np.abs(measured - exact) / tolerance)[1:]


def test_moments_match_the_closed_form():
    """Mean and variance of x and v at t = 4, 8, 12, 16, from the transient
    (x̄ = x0 e^{−γt/2}(cos ω_d t + (γ/2ω_d) sin ω_d t)) to the Boltzmann
    variances kT/(mω²) and kT/m."""
    worst = deviations(LangevinOscillator()).max()
    assert worst <= 1, f"off by {worst:.2f} tolerances"


# --8<-- [end:validation]


# --8<-- [start:mutants]
def _half_the_noise_power(self, params, dtype):
    """√(γ kT/m) instead of √(2γ kT/m): the factor 2 of fluctuation-dissipation lost."""
    gamma, kT, mass = (jnp.asarray(p, dtype) for p in (params.gamma, params.kT, params.mass))
    return jnp.sqrt(gamma * kT / mass)


def _damping_sign_flipped(self, t, y, params):
    """−ω²x + γv: friction that pumps energy in."""
    x, v = y[:, 0], y[:, 1]
    return jnp.stack([v, -(params.omega**2) * x + params.gamma * v], axis=-1)


MUTANTS = {
    "noise_amplitude": _half_the_noise_power,
    "drift": _damping_sign_flipped,
}


@pytest.mark.mutants
@pytest.mark.parametrize("method", sorted(MUTANTS))
def test_each_mutant_fails_the_validation(method, monkeypatch):
    monkeypatch.setattr(LangevinOscillator, method, MUTANTS[method])
    jax.clear_caches()  # no program compiled from the correct law may be reused
    try:
        worst = deviations(LangevinOscillator()).max()
    finally:
        jax.clear_caches()
    assert worst > 1, f"the mutant {method} passed: worst deviation {worst:.2f} tolerances"


# --8<-- [end:mutants]


# --8<-- [start:checks]
def test_bad_constants_are_refused_with_their_name():
    """A negative friction is refused before the run (a plain call: with its
    value) and inside the program under a transform."""
    y0 = jnp.tile(jnp.array([X0, V0]), (8, 1))
    bad = LangevinParams(gamma=-0.5)
    run = lambda p: jqd.evolve(LangevinOscillator(), y0, p, dt=DT, n_save=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"params.gamma must be >= 0; got -0.5"):
        run(bad)
    with pytest.raises(RuntimeError, match="params.gamma must be >= 0"):
        jax.block_until_ready(jax.jit(run)(bad).y_final)


# --8<-- [end:checks]
