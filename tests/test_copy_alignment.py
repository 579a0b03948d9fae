"""Phase-alignment model (S42-S53)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _steppers
from jqd.copy import (
    AlignmentParams,
    AlignmentState,
    PhaseAlignment,
    class_phase_velocity,
    hamiltonian_to_rates,
)

P = 3
H = jqd.fock.random_hermitian(jax.random.key(2), P, scale=0.3)


def _setup(n_per=20, spread=0.3, seed=0, dtype=jnp.float64):
    beables = jnp.repeat(jnp.arange(P, dtype=jnp.int32), n_per)
    phi_class = jnp.array([0.0, 1.0, -2.0], dtype)
    noise = jax.random.normal(jax.random.key(seed), beables.shape, dtype)
    noise = noise - jax.ops.segment_sum(noise, beables, P)[beables] / n_per  # zero class mean
    phi = phi_class[beables] + spread * noise
    return PhaseAlignment(beables=beables, n_states=P), AlignmentState(
        phi=phi, pi=jnp.zeros_like(phi)
    )


def _spread(law, y):
    r1, _ = law.order_parameters(y)
    return np.sqrt(-2 * np.log(np.asarray(r1)))  # circular standard deviation per class


@pytest.mark.slow
def test_aligned_state_stays_aligned_and_follows_S40():
    """π = 0 with aligned phases is a solution (S50-S53): π stays 0 and the
    class phases follow the aligned S40 flow."""
    law, y = _setup(spread=0.0)
    params = AlignmentParams(H=H, f=3.0)
    sol = jqd.evolve(law, y, params, dt=0.01, n_save=5, steps_per_save=20)
    assert np.max(np.abs(np.asarray(sol.y_final.pi))) < 1e-12
    R, delta, omega = hamiltonian_to_rates(params.H, params.hbar)
    n = jnp.full(P, 20.0)
    phi = jnp.array([0.0, 1.0, -2.0])
    flow = lambda t, p: class_phase_velocity(n, p, R, delta, omega)
    for _ in range(100):  # RK4 of the aligned class flow, same dt
        phi = _steppers.rk4(flow, 0.0, phi, 0.01)
    np.testing.assert_allclose(sol.y_final.phi, phi[law.beables], atol=1e-10)


def test_small_misalignment_oscillates_and_refocuses_without_decay():
    """Linearised: ε̈ = −2 f² n ε, so the spread refocuses at t = π/(2Ω),
    Ω = f √(2n), and returns at t = π/Ω: alignment is reached momentarily
    but is not an attractor (conservative dynamics)."""
    n_per, f = 20, 5.0
    law, y = _setup(n_per=n_per, spread=0.02)
    params = AlignmentParams(H=H, f=f)
    Om = f * np.sqrt(2 * n_per)
    s0 = _spread(law, y)
    n_steps = 400
    dt = (np.pi / Om) / n_steps
    sol = jqd.evolve(
        law,
        y,
        params,
        dt=dt,
        n_save=2,
        steps_per_save=n_steps // 2,
        observe=lambda t, s, p: law.order_parameters(s)[0],
    )
    r1 = np.asarray(sol.observables)
    spread = np.sqrt(-2 * np.log(r1))
    assert np.all(spread[1] < 0.1 * s0)  # refocused at π/(2Ω)
    assert np.all(spread[2] > 0.8 * s0)  # back at π/Ω


def test_energy_conserved():
    law, y = _setup(spread=1.0)
    params = AlignmentParams(H=H, f=2.0)
    e = lambda t, s, p: law.energy(t, s, p)
    sol = jqd.evolve(law, y, params, dt=0.002, n_save=4, steps_per_save=100, observe=e)
    E = np.asarray(sol.observables)
    assert np.max(np.abs(E - E[0])) < 1e-8 * max(1.0, abs(E[0]))
