"""The exact references of experiments/nelson_two_time (physics §3.5, §5.3):
forward-Kolmogorov Nelson correlation, Bohm quantile map, quantum Re⟨x(t)x(0)⟩,
Bell's jump rates and master equation, checked against closed forms."""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqdlab import registry

registry.load("nelson-two-time")
E = sys.modules["jqd_experiments.nelson_two_time"]
TS = np.linspace(0.0, math.pi / 2, 5)


def test_hermite_functions_orthonormal_and_derivative():
    x = np.linspace(-12, 12, 4001)
    phi, dphi = E.hermite_functions(x, 4)
    gram = phi @ phi.T * (x[1] - x[0])
    np.testing.assert_allclose(gram, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(dphi[:, 1:-1], np.gradient(phi, x, axis=1)[:, 1:-1], atol=2e-4)


def test_kolmogorov_ground_state_is_ornstein_uhlenbeck():
    """φ0: Nelson's process is OU, ⟨x(t)x(0)⟩ = ½e^{−t}; second order in the cells."""
    ground = E.OscillatorState([1.0])
    errs = []
    for cells, dt in ((400, 0.01), (800, 0.005)):
        c = E.kolmogorov_correlation(ground, TS, cells=cells, dt=dt)
        errs.append(np.max(np.abs(c - 0.5 * np.exp(-TS))))
    assert errs[1] < 1e-3, errs
    assert errs[0] / errs[1] > 3.0, errs  # ~4 for second order


def test_kolmogorov_superposition_start_and_refinement():
    """t = 0 gives ⟨x²⟩ of ψ0; refining cells and step changes C(t) by < 2e-3."""
    sup = E.OscillatorState((1.0, 1.0, 1.0))
    c1 = E.kolmogorov_correlation(sup, TS, cells=800, dt=0.005)
    c2 = E.kolmogorov_correlation(sup, TS, cells=1600, dt=0.0025)
    x2 = sup.quantum_correlation([0.0])[0]
    assert abs(c1[0] - x2) < 1e-10
    assert np.max(np.abs(c1 - c2)) < 2e-3
    # Nelson and quantum mechanics part: at t = π/2 they differ by O(1)
    assert abs(c2[-1] - sup.quantum_correlation([math.pi / 2])[0]) > 0.2


def test_quantum_correlation_closed_form():
    """Heisenberg x(t) = x cos t + p sin t; real ψ0 has Re⟨px⟩ = 0."""
    ts = np.linspace(0, 3, 7)
    np.testing.assert_allclose(E.OscillatorState([1.0]).quantum_correlation(ts), 0.5 * np.cos(ts))
    sup = E.OscillatorState((1.0, 1.0, 1.0))
    x2 = (0.5 + 1.5 + 2.5) / 3 + 2 * math.sqrt(2) / 2 / 3  # ⟨x²⟩ incl. the φ0-φ2 term
    np.testing.assert_allclose(sup.quantum_correlation(ts), x2 * np.cos(ts), atol=1e-12)


def test_bohm_quantile_map_ground_state_at_rest():
    c = E.bohm_correlation(E.OscillatorState([1.0]), TS)
    np.testing.assert_allclose(c, c[0], atol=1e-12)
    assert abs(c[0] - 0.5) < 1e-4


def test_sampler_matches_density():
    sup = E.OscillatorState((1.0, 1.0, 1.0))
    x = sup.sample(np.random.default_rng(1), 200_000)
    x2 = sup.quantum_correlation([0.0])[0]
    se = np.std(x**2) / math.sqrt(len(x))
    assert abs(np.mean(x**2) - x2) < 4 * se


def _psi_H(P=4, seed=7):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((P, P)) + 1j * rng.standard_normal((P, P))
    H = (A + A.conj().T) / (2 * math.sqrt(P))
    psi = rng.standard_normal(P) + 1j * rng.standard_normal(P)
    return H, psi / np.linalg.norm(psi)


def test_bell_rate_is_the_summed_copy_rate():
    """physics §5.3: summed over the members of class a, the rate at which one
    member of class b copies is 2R_ab sin⁺(φ_a − φ_b + δ_ab)√(ρ_a/ρ_b) =
    max(0, 2 Im(ψ_a* H_ab ψ_b))/(ħ|ψ_b|²), Bell's rate, for ψ_a = √ρ_a e^{−iφ_a}."""
    H, psi = _psi_H()
    rho, phi = np.abs(psi) ** 2, -np.angle(psi)
    R, delta, _ = jqd.copy.hamiltonian_to_rates(jnp.asarray(H), 1.0)
    T_copy = np.asarray(jqd.copy.transfer_rates(jnp.asarray(rho), jnp.asarray(phi), R, delta))
    per_member = T_copy / rho[:, None]  # [b, a]: rate for one member of b to move to a
    np.testing.assert_allclose(per_member.T, E.bell_rates(psi, H), atol=1e-13)


def test_bell_master_equation_equivariance():
    """Columns of P(a,t|b,0) sum to 1 and Π(t)|ψ(0)|² = |ψ(t)|² (Bell's process
    is equivariant); a smaller RK4 step changes Π by < 1e-9."""
    H, psi = _psi_H()
    ts = np.array([0.0, 0.25, 0.5])
    Pi, psit = E.bell_transition(H, psi, ts, h=2e-3)
    Pi2, _ = E.bell_transition(H, psi, ts, h=1e-3)
    np.testing.assert_allclose(Pi.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(Pi @ np.abs(psi) ** 2, np.abs(psit) ** 2, atol=1e-8)
    assert np.max(np.abs(Pi - Pi2)) < 1e-6
    assert np.all(Pi > -1e-12)


@pytest.mark.parametrize("theta", [0.0, math.pi / 4])
def test_block_rotation_keeps_born_statistics_of_O(theta):
    H, psi = _psi_H()
    U = E._block_rotation(theta)
    plus = E.O_DIAG > 0
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-15)
    np.testing.assert_allclose(np.sum(np.abs(U.T @ psi)[plus] ** 2), np.sum(np.abs(psi)[plus] ** 2))


# ------------------------------------------------------------- jqd.copy.BellJumps


def _kernel(H, psi, dt, n):
    """The law's expected transition matrix after n steps: Π_k exp(dt Q(ψ(t_k + dt/2)))."""
    law = jqd.copy.BellJumps(len(psi))
    U = law._half_propagator(jqd.copy.MatrixParams(H=jnp.asarray(H)), dt, jnp.complex128)

    @jax.jit
    def step(K, p):
        mid = U @ p
        return jax.scipy.linalg.expm(dt * jqd.copy.bell_generator(mid, jnp.asarray(H))) @ K, U @ mid

    K, p = jnp.eye(len(psi)), jnp.asarray(psi)
    for _ in range(n):
        K, p = step(K, p)
    return np.asarray(K)


@pytest.mark.slow
def test_bell_jumps_kernel_weak_order_two():
    """Exponential midpoint: the per-member transition matrix converges to the
    master equation's Π(t) at order 2 (noise free: the law's own kernel). The
    kinks of max(0, J) make single ratios irregular (measured errors 2.6e-3,
    1.5e-3, 1.3e-4, 8.8e-5, 1.1e-5 for 10 ... 160 steps): over a factor 16 in
    dt, order 2 gives 256, order 1 gives 16."""
    H, psi = _psi_H()
    Pi, _ = E.bell_transition(H, psi, np.array([0.0, 1.0]), h=2.5e-4)
    errs = [np.max(np.abs(_kernel(H, psi, 1.0 / n, n) - Pi[-1])) for n in (10, 160)]
    assert errs[1] < 5e-5, errs
    assert errs[0] / errs[1] > 100, errs


@pytest.mark.slow
def test_bell_jumps_members_follow_master_equation():
    """Members drawn from |ψ0|²: the (class at t, class at 0) table of a run of
    jqd.copy.BellJumps matches N·Π(t)·n_b/N (χ², p > 1e-3) and one-time
    frequencies |ψ(t)|² (equivariance)."""
    from scipy.stats import chi2

    H, psi = _psi_H()
    P, N, n = 4, 20_000, 20
    counts = E._largest_remainder(np.abs(psi) ** 2, N)
    a0 = jnp.asarray(np.repeat(np.arange(P), counts).astype(np.int32))
    y0 = jqd.copy.BellState(psi=jnp.asarray(psi), a=a0)
    sol = jqd.evolve(
        jqd.copy.BellJumps(P),
        y0,
        jqd.copy.MatrixParams(H=jnp.asarray(H)),
        dt=1.0 / n,
        n_save=1,
        steps_per_save=n,
        key=jax.random.key(3),
    )
    a1 = np.asarray(sol.y_final.a)
    table = np.zeros((P, P))
    np.add.at(table, (a1, np.asarray(a0)), 1.0)
    expected = _kernel(H, psi, 1.0 / n, n) * counts[None, :]
    stat = np.sum((table - expected) ** 2 / expected)
    assert chi2.sf(stat, P * (P - 1)) > 1e-3
    Pi, psit = E.bell_transition(H, psi, np.array([0.0, 1.0]))
    np.testing.assert_allclose(np.asarray(sol.y_final.psi), psit[-1], atol=1e-12)


def test_bell_jumps_rejects_bad_input():
    H, psi = _psi_H()
    law = jqd.copy.BellJumps(4)
    params = jqd.copy.MatrixParams(H=jnp.asarray(H))
    good = jqd.copy.BellState(psi=jnp.asarray(psi), a=jnp.zeros(5, jnp.int32))
    run = lambda y, p=params: jqd.evolve(law, y, p, dt=0.1, n_save=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"y0\.a must lie in \[0, 4\)"):
        run(jqd.copy.BellState(psi=good.psi, a=good.a.at[0].set(7)))
    with pytest.raises(ValueError, match="y0.psi must have shape"):
        run(jqd.copy.BellState(psi=good.psi[:3], a=good.a))
    with pytest.raises(ValueError, match="not Hermitian"):
        run(good, jqd.copy.MatrixParams(H=jnp.asarray(H).at[0, 1].add(0.5)))
    with pytest.raises(ValueError, match="psi is zero"):
        run(jqd.copy.BellState(psi=0 * good.psi, a=good.a))
