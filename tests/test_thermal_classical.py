"""Classical FPUT chains and the soft-sphere gas (physics §7.5), float64.

Exact references: the harmonic chain's mode solution (β = α = 0, to 1e-10),
measured convergence orders against a fine-step run, energy conservation
over 1.2e5 steps, an O(N²) NumPy gas (forces, energy, one step, to 1e-10),
time reversal, the gas closed forms of jqd.reference, and the bad-input and
in-jit checks. The law contract (jit, vmap, float32, grads) runs from
tests/cases_thermal_classical.py.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import build
from scipy import integrate

import jqd
from jqd.schemes import Strang, Yoshida4
from jqd.stats import loglog_slope
from jqd.thermal import (
    ClassicalLattice,
    FPUTParams,
    GasParams,
    PhaseState,
    SoftSphereGas,
    fput_mode_energies,
)

ref = jqd.reference


def _chain_state(n, batch=(), seed=0, scale=0.3):
    kq, kp = jax.random.split(jax.random.key(seed))
    return PhaseState(
        q=scale * jax.random.normal(kq, (*batch, n)), p=scale * jax.random.normal(kp, (*batch, n))
    )


def _stiffness(n, boundary, spring, pinning):
    K = 2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    if boundary == "periodic":
        K[0, -1] = K[-1, 0] = -1
    return spring * K + pinning * np.eye(n)


def _exact_harmonic(y0, params, boundary, t):
    """q(t), p(t) of m q̈ = −K q by the eigenmodes of K (computed here)."""
    n = y0.q.shape[-1]
    w2, U = np.linalg.eigh(_stiffness(n, boundary, params.spring, params.pinning) / params.mass)
    w = np.sqrt(np.maximum(w2, 0))
    Q, P = np.asarray(y0.q) @ U, np.asarray(y0.p) @ U / params.mass  # mode coords, velocities
    ws = np.where(w > 0, w, 1.0)
    sinc = np.where(w > 0, np.sin(w * t) / ws, t)
    q = Q * np.cos(w * t) + P * sinc
    v = -Q * w * np.sin(w * t) + P * np.cos(w * t)
    return q @ U.T, params.mass * v @ U.T


def _run(law, y0, params, dt, n, check=True):
    sol = jqd.evolve(
        law, y0, params, dt=dt, n_save=1, steps_per_save=n, checkpoint=False, check=check
    )
    return sol.y_final


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_harmonic_chain_equals_exact_mode_solution(boundary):
    """β = α = 0: the Yoshida-4 chain reproduces the exact harmonic means (1e-10)."""
    params = FPUTParams(mass=1.3, spring=0.8, alpha=0.0, beta=0.0, pinning=0.2)
    y0 = _chain_state(12, batch=(2,))
    law = ClassicalLattice(12, boundary, "yoshida4")
    dt, n = 5e-4, 4000
    y = _run(law, y0, params, dt, n)
    q, p = _exact_harmonic(y0, params, boundary, dt * n)
    err = max(np.max(np.abs(np.asarray(y.q) - q)), np.max(np.abs(np.asarray(y.p) - p)))
    assert err < 1e-10, err


def _order_error(scheme, dts):
    params = FPUTParams(mass=1.0, spring=1.0, alpha=0.25, beta=0.5, pinning=0.1)
    y0 = _chain_state(8, scale=0.5, seed=3)
    T = 2.0
    fine = _run(ClassicalLattice(8, "fixed", Yoshida4()), y0, params, T / 4096, 4096)
    law = ClassicalLattice(8, "fixed", scheme)
    errs = []
    for dt in dts:
        y = _run(law, y0, params, dt, round(T / dt))
        errs.append(float(jnp.max(jnp.abs(y.q - fine.q))))
    return errs


@pytest.mark.slow  # nine compiles of the chain run
def test_convergence_orders():
    """Verlet 2.0 ± 0.1 and Yoshida-4 4.0 ± 0.2 on a nonlinear (α, β, pinning) chain."""
    dts = [0.2, 0.1, 0.05, 0.025]
    s2 = loglog_slope(dts, _order_error(Strang(), dts))
    s4 = loglog_slope(dts, _order_error(Yoshida4(), dts))
    assert abs(s2 - 2.0) <= 0.1, s2
    assert abs(s4 - 4.0) <= 0.2, s4


def test_scheme_by_object_or_name():
    """`scheme=` takes a `jqd.schemes` object or its name; the order is the scheme's."""
    assert ClassicalLattice(4, scheme=Strang()).order == 2
    assert ClassicalLattice(4, scheme=Yoshida4()).order == 4
    assert ClassicalLattice(4, "fixed", "verlet") == ClassicalLattice(4, "fixed", Strang())
    assert ClassicalLattice(4, scheme="yoshida4").scheme == Yoshida4()
    with pytest.raises(ValueError, match="scheme 'rk4' is not one of .*'yoshida4'"):
        ClassicalLattice(4, scheme="rk4")
    with pytest.raises(TypeError, match="scheme must be one of .*Yoshida4"):
        ClassicalLattice(4, scheme=jqd.schemes.RK4())


@pytest.mark.slow
@pytest.mark.parametrize("scheme", [Strang(), Yoshida4()], ids=["verlet", "yoshida4"])
def test_energy_conserved_over_1e5_steps(scheme):
    """|ΔE/E| <= 5e-3 over 1.2e5 steps (t = 6000) of a β-FPUT chain in the regime
    of the thermal-equipartition experiment: energy in the four lowest modes,
    E/N = 0.5, so that the chain thermalizes during the run; dt = 0.05."""
    n = 32
    law = ClassicalLattice(n, "fixed", scheme)
    params = FPUTParams(beta=1.0)
    j, k = np.arange(1, n + 1)[:, None], np.arange(1, 5)[None, :]
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, (4, 4))
    w = 2 * np.sin(np.pi * k / (2 * (n + 1)))
    U = np.sin(np.pi * j * k / (n + 1))
    q, p = (np.cos(phase) / w) @ U.T, -np.sin(phase) @ U.T
    scale = np.sqrt(0.5 * n / np.asarray(law.energy(0.0, PhaseState(q, p), params)))
    for _ in range(30):  # E/N = 0.5 including the quartic part
        E = np.asarray(law.energy(0.0, PhaseState(scale[:, None] * q, scale[:, None] * p), params))
        scale *= (0.5 * n / E) ** 0.25
    y0 = PhaseState(jnp.asarray(scale[:, None] * q), jnp.asarray(scale[:, None] * p))
    sol = jqd.evolve(
        law,
        y0,
        params,
        dt=0.05,
        n_save=120,
        steps_per_save=1000,
        observe=law.energy,
        checkpoint=False,
    )
    E = np.asarray(sol.observables)
    assert np.max(np.abs(E / E[0] - 1)) <= 5e-3


def test_trajectory_axes_are_independent_trajectories():
    law = ClassicalLattice(10, "periodic", "verlet")
    params = FPUTParams(alpha=0.3, beta=0.7)
    y0 = _chain_state(10, batch=(2, 3))
    y = _run(law, y0, params, 0.05, 50)
    one = _run(law, PhaseState(y0.q[1, 2], y0.p[1, 2]), params, 0.05, 50)
    np.testing.assert_allclose(y.q[1, 2], one.q, atol=1e-13)
    assert law.energy(0.0, y0, params).shape == (2, 3)


@pytest.mark.parametrize(
    "scheme",
    [Strang(), pytest.param(Yoshida4(), marks=pytest.mark.slow)],
    ids=["verlet", "yoshida4"],
)
def test_chain_time_reversal(scheme):
    law = ClassicalLattice(16, "fixed", scheme)
    params = FPUTParams(alpha=0.25, beta=1.0, pinning=0.1)
    y0 = _chain_state(16)
    y = _run(law, y0, params, 0.05, 200)
    back = _run(law, PhaseState(y.q, -y.p), params, 0.05, 200)
    assert float(jnp.max(jnp.abs(back.q - y0.q))) < 1e-11
    assert float(jnp.max(jnp.abs(back.p + y0.p))) < 1e-11


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_mode_energies_sum_to_harmonic_energy_and_are_conserved(boundary):
    params = FPUTParams(spring=1.2, pinning=0.3, mass=0.7)
    law = ClassicalLattice(15, boundary, "yoshida4")
    y0 = _chain_state(15, batch=(2,))
    E = fput_mode_energies(law, params, y0)
    np.testing.assert_allclose(E.sum(-1), law.energy(0.0, y0, params), rtol=1e-13)
    y = _run(law, y0, params, 0.01, 500)
    # harmonic: each mode energy conserved up to the integrator error (ω dt <= 0.03)
    np.testing.assert_allclose(fput_mode_energies(law, params, y), E, atol=1e-8)
    # one fixed-end sine mode holds all the energy in mode k = 3
    j = np.arange(1, 16)
    one = PhaseState(q=jnp.asarray(np.sin(np.pi * 3 * j / 16)), p=jnp.zeros(15))
    E1 = np.asarray(fput_mode_energies(ClassicalLattice(15), params, one))
    assert np.argmax(E1) == 2 and np.sum(E1) - E1[2] < 1e-12 * E1[2]


# -- gas ---------------------------------------------------------------------------
def _numpy_gas(q, p, params, box, dt):
    """O(N²) reference: forces, potential energy and one drift-kick-drift step."""
    m, k, s = params.mass, params.kappa, params.sigma

    def forces(q):
        d = q[:, None, :] - q[None, :, :]
        d -= box * np.round(d / box)
        r = np.sqrt(np.sum(d**2, -1))
        np.fill_diagonal(r, np.inf)
        touch = r < s
        mag = np.where(touch, k * (s - r) / np.where(touch, r, 1), 0)
        u = 0.5 * np.sum(np.where(touch, 0.5 * k * (s - r) ** 2, 0))
        return np.sum(mag[..., None] * d, 1), u

    F, U = forces(q)
    qh = q + 0.5 * dt * p / m
    p1 = p + dt * forces(qh)[0]
    return F, U, np.mod(qh + 0.5 * dt * p1 / m, box), p1


@pytest.mark.parametrize(
    "dim,n,box", [(2, 200, 12.0), pytest.param(3, 150, 6.0, marks=pytest.mark.slow)]
)
def test_gas_agrees_with_numpy_pairs(dim, n, box):
    params = GasParams(mass=1.5, kappa=40.0, sigma=1.0)
    law = SoftSphereGas(n, box, dim, cell_size=1.0, max_occupancy=16)
    kq, kp = jax.random.split(jax.random.key(4))
    q = jax.random.uniform(kq, (n, dim), maxval=box)
    p = jax.random.normal(kp, (n, dim))
    F, U, q1, p1 = _numpy_gas(np.asarray(q), np.asarray(p), params, box, 0.01)
    assert np.sum(np.abs(F) > 0) > n // 2  # a dense configuration: many contacts
    np.testing.assert_allclose(jax.jit(law.force)(q, params), F, atol=1e-10)
    assert abs(float(jax.jit(law.potential_energy)(q, params)) - U) < 1e-10 * max(1, U)
    y1 = jax.jit(law.step)(0.0, PhaseState(q, p), params, 0.01)
    np.testing.assert_allclose(y1.q, q1, atol=1e-10)
    np.testing.assert_allclose(y1.p, p1, atol=1e-10)


@pytest.mark.parametrize(
    "dim,n,box", [(2, 200, 12.0), pytest.param(3, 150, 6.0, marks=pytest.mark.slow)]
)
@pytest.mark.slow
def test_neighbor_list_equals_all_pairs(dim, n, box):
    """Forces, energy, contacts and one step from the Verlet list equal the O(N²)
    NumPy all-pairs reference to round-off (the list: pairs within σ + skin)."""
    params = GasParams(mass=1.5, kappa=40.0, sigma=1.0)
    law = SoftSphereGas(n, box, dim, cell_size=1.25, max_occupancy=16, skin=0.25)
    kq, kp = jax.random.split(jax.random.key(4))
    q = jax.random.uniform(kq, (n, dim), maxval=box)
    p = jax.random.normal(kp, (n, dim))
    F, U, q1, p1 = _numpy_gas(np.asarray(q), np.asarray(p), params, box, 0.01)
    y = law.with_neighbors(PhaseState(q, p), params)
    assert int(y.neighbors.count) <= law.pairs_capacity
    np.testing.assert_allclose(jax.jit(law.force)(q, params, y.neighbors), F, atol=1e-12)
    assert abs(float(jax.jit(law.energy)(0.0, y, params)) - U - law.kinetic_energy(p, params)) < (
        1e-12 * max(1, U)
    )
    cells = SoftSphereGas(n, box, dim, cell_size=1.25, max_occupancy=16)
    np.testing.assert_array_equal(law.contacts(y, params), cells.contacts(PhaseState(q, p), params))
    y1 = jax.jit(law.step)(0.0, y, params, 0.01)
    np.testing.assert_allclose(y1.q, q1, atol=1e-12)
    np.testing.assert_allclose(y1.p, p1, atol=1e-12)


@pytest.mark.slow
def test_neighbor_list_run_equals_cell_list_run():
    """400 steps of a moving gas (the list rebuilt many times) against the cell
    list searched at every step: the same trajectory to round-off growth."""
    y0 = _lattice_gas(8, 1.5)
    params = GasParams(kappa=100.0)
    cells = SoftSphereGas(64, 12.0, 2, cell_size=1.3)
    listed = SoftSphereGas(64, 12.0, 2, cell_size=1.3, skin=0.3)
    a = _run(cells, y0, params, 0.005, 400)
    b = _run(listed, listed.with_neighbors(y0, params), params, 0.005, 400)
    assert int(b.neighbors.builds) >= 2  # the list was rebuilt during the run
    dq = np.array(a.q - b.q)
    dq -= 12.0 * np.round(dq / 12.0)
    assert np.max(np.abs(dq)) < 1e-9 and float(jnp.max(jnp.abs(a.p - b.p))) < 1e-9


@pytest.mark.slow
def test_neighbor_list_overflow_and_misuse_raise():
    params = GasParams(sigma=1.0)
    law = SoftSphereGas(8, 6.0, 2, cell_size=1.5, skin=0.5, max_pairs=2)
    q = jnp.array(
        [[0.5 + 0.6 * i, 0.5] for i in range(4)] + [[4.0, 4.0 + 0.4 * i] for i in range(4)]
    )
    y = PhaseState(q, jnp.zeros_like(q))
    with pytest.raises(Exception, match="max_pairs = 2"):
        jqd.evolve(law, law.with_neighbors(y, params), params, dt=0.01, n_save=1, check=False)
    with pytest.raises(ValueError, match="with_neighbors"):
        jqd.evolve(law, y, params, dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="skin"):
        SoftSphereGas(8, 6.0, 2).with_neighbors(y, params)
    small = SoftSphereGas(8, 6.0, 2, cell_size=1.2, skin=0.5)  # cells < sigma + skin
    far = PhaseState(
        jnp.array([[0.5 + 1.5 * (i % 4), 0.5 + 1.5 * (i // 4)] for i in range(8)]), y.p
    )
    with pytest.raises(ValueError, match=r"sigma \+ skin"):
        jqd.evolve(small, small.with_neighbors(far, params), params, dt=0.01, n_save=1)
    ok = SoftSphereGas(8, 6.0, 2, cell_size=1.5, skin=0.5, max_pairs=64)
    # within σ + skin = 1.5: 3 + 2 pairs at spacing 0.6, all 6 at spacing 0.4
    assert int(ok.with_neighbors(y, params).neighbors.count) == 11


def _lattice_gas(n_side, spacing, seed=0, dim=2):
    g = np.arange(n_side) * spacing + 0.25
    q = np.stack(np.meshgrid(*[g] * dim, indexing="ij"), -1).reshape(-1, dim)
    p = np.asarray(jax.random.normal(jax.random.key(seed), q.shape))
    return PhaseState(jnp.asarray(q), jnp.asarray(p - p.mean(0)))


@pytest.mark.slow
def test_gas_time_reversal_and_energy():
    y0 = _lattice_gas(8, 1.5)
    law = SoftSphereGas(64, 12.0, 2)
    params = GasParams(kappa=100.0)
    sol = jqd.evolve(law, y0, params, dt=0.005, n_save=4, steps_per_save=100, observe=law.energy)
    E = np.asarray(sol.observables)
    assert np.max(np.abs(E / E[0] - 1)) < 1e-3
    y = _run(law, y0, params, 0.005, 400)
    # a mid-run state has contacts: resume it unchecked (the overlap guard is for y0)
    back = _run(law, PhaseState(y.q, -y.p), params, 0.005, 400, check=False)
    dq = np.array(back.q - y0.q)
    dq -= 12.0 * np.round(dq / 12.0)
    assert np.max(np.abs(dq)) < 1e-9 and float(jnp.max(jnp.abs(back.p + y0.p))) < 1e-9


@pytest.mark.slow
def test_two_body_contact_time_is_half_a_relative_period():
    """Head-on pair: contact lasts π√(μ/κ) (jqd.reference.harmonic_contact_time)."""
    law = SoftSphereGas(2, 8.0, 2)
    params = GasParams(mass=2.0, kappa=50.0)
    y0 = PhaseState(jnp.array([[2.0, 4.0], [4.0, 4.0]]), jnp.array([[1.0, 0.0], [-1.0, 0.0]]))
    dt = 1e-4
    sol = jqd.evolve(
        law,
        y0,
        params,
        dt=dt,
        n_save=15000,
        observe=lambda t, y, pr: jnp.sum(law.contacts(y, pr)),
        checkpoint=False,
    )
    t_contact = dt * np.sum(np.asarray(sol.observables) > 0)
    assert abs(t_contact - float(ref.harmonic_contact_time(1.0, 50.0))) < 2 * dt


# -- references ---------------------------------------------------------------------
def test_packet_energy_spread_matches_momentum_space_quadrature():
    d, m, hbar, p0 = 0.7, 1.3, 0.9, 2.1
    sp2 = hbar**2 / (2 * d**2)
    p = np.linspace(-40, 40, 400001)
    for dim in (1, 2, 3):
        rho = np.exp(-(p**2) / (2 * sp2)) / np.sqrt(2 * np.pi * sp2)
        var = 0.0
        for axis in range(dim):  # independent axes; the mean momentum along the first
            px = p + (p0 if axis == 0 else 0.0)
            e1 = integrate.trapezoid(rho * px**2 / (2 * m), p)
            e2 = integrate.trapezoid(rho * (px**2 / (2 * m)) ** 2, p)
            var += e2 - e1**2
        got = float(ref.packet_energy_spread(p0, d, m, hbar, dim))
        assert abs(got - math.sqrt(var)) < 1e-10


@pytest.mark.parametrize("dim", [2, 3])
def test_dilute_gas_potential_energy_matches_quad(dim):
    n, T, kappa, sigma = 0.05, 0.8, 300.0, 1.2
    S = 2 * np.pi if dim == 2 else 4 * np.pi

    def f(r):
        u = 0.5 * kappa * (sigma - r) ** 2
        return u * np.exp(-u / T) * r ** (dim - 1)

    exact = 0.5 * n * S * integrate.quad(f, 0, sigma, epsabs=1e-14, epsrel=1e-13)[0]
    got = float(ref.dilute_gas_potential_energy(n, T, kappa, sigma, dim))
    assert abs(got / exact - 1) < 1e-10


# -- bad input and in-jit checks -------------------------------------------------
def test_chain_dt_beyond_stability_is_refused():
    y0 = _chain_state(8)
    with pytest.raises(ValueError, match="ω_max"):
        jqd.evolve(ClassicalLattice(8), y0, FPUTParams(), dt=1.0, n_save=1)
    with pytest.raises(ValueError, match="ω_max"):
        jqd.evolve(ClassicalLattice(8, scheme=Yoshida4()), y0, FPUTParams(), dt=0.8, n_save=1)
    with pytest.raises(ValueError, match="spring"):
        jqd.evolve(ClassicalLattice(8), y0, FPUTParams(spring=0.0), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="mass"):
        jqd.evolve(ClassicalLattice(8), y0, FPUTParams(mass=-1.0), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="shape"):
        jqd.evolve(ClassicalLattice(9), y0, FPUTParams(), dt=0.1, n_save=1)


def test_dt_beyond_the_accuracy_bound_is_refused():
    """Stable but inaccurate steps (issue 27: the gas at ω_c dt = 1.8 went from
    E = 122.6 to 2269 silently; Verlet's bound is 2) are refused above the
    schemes' accuracy bounds, 0.5 (Verlet) and 0.8 (Yoshida-4), and accepted at
    them."""
    y0 = _chain_state(8)  # ω_max = 2
    for scheme, ok, bad in ((Strang(), 0.25, 0.3), (Yoshida4(), 0.4, 0.45)):
        jqd.evolve(ClassicalLattice(8, scheme=scheme), y0, FPUTParams(), dt=ok, n_save=1)
        with pytest.raises(ValueError, match=r"dt is too large: ω·dt = 0.[69] > 0.[58]"):
            jqd.evolve(ClassicalLattice(8, scheme=scheme), y0, FPUTParams(), dt=bad, n_save=1)
    law = SoftSphereGas(4, 6.0, 2, cell_size=1.5)
    y = PhaseState(jnp.array([[0.5, 0.5], [2.0, 2.0], [3.5, 3.5], [5.0, 5.0]]), jnp.ones((4, 2)))
    w_c = np.sqrt(2 * 100.0)  # ω_c = √(2κ/m)
    jqd.evolve(law, y, GasParams(kappa=100.0), dt=0.49 / w_c, n_save=1)
    with pytest.raises(ValueError, match=r"ω·dt = 1.8 > 0.5 \(ω = ω_c"):
        jqd.evolve(law, y, GasParams(kappa=100.0), dt=1.8 / w_c, n_save=1)


def test_fput_escape_raises_nonfinite_error():
    """The cubic α-chain is unbounded below: a large kick escapes to ±Inf."""
    y0 = PhaseState(q=jnp.zeros(8), p=jnp.zeros(8).at[3].set(20.0))
    with pytest.raises(jqd.NonFiniteError):
        jqd.evolve(ClassicalLattice(8), y0, FPUTParams(alpha=3.0), dt=0.05, n_save=60)


def test_gas_bad_input():
    with pytest.raises(ValueError, match="cells"):
        SoftSphereGas(10, 2.5, 2, cell_size=1.0)
    law = SoftSphereGas(4, 6.0, 2)
    q = jnp.array([[0.5, 0.5], [1.0, 0.5], [3.0, 3.0], [5.0, 1.0]])
    with pytest.raises(ValueError, match="overlapping"):
        jqd.evolve(law, PhaseState(q, jnp.zeros_like(q)), GasParams(), dt=0.01, n_save=1)
    q = q.at[1].set(jnp.array([2.0, 0.5]))
    y = PhaseState(q, jnp.zeros_like(q))
    with pytest.raises(ValueError, match="ω = ω_c"):
        jqd.evolve(law, y, GasParams(kappa=100.0), dt=0.5, n_save=1)
    with pytest.raises(ValueError, match="sigma"):
        jqd.evolve(law, y, GasParams(sigma=1.5), dt=0.01, n_save=1)


def test_cell_overflow_raises_inside_jit():
    law = SoftSphereGas(8, 6.0, 2, max_occupancy=2)
    q = jnp.array(
        [[0.1, 0.1], [0.5, 0.5], [0.9, 0.1]] + [[3.0 + i % 3, 3.0 + i // 3] for i in range(5)]
    )
    y = PhaseState(q, jnp.zeros_like(q))
    with pytest.raises(Exception, match="max_occupancy"):
        jax.block_until_ready(jax.jit(law.force)(q, GasParams(sigma=0.3)))
    with pytest.raises(Exception, match="max_occupancy"):
        jqd.evolve(law, y, GasParams(sigma=0.3), dt=0.01, n_save=1)
    # ... and with room for them it runs
    ok = SoftSphereGas(8, 6.0, 2, max_occupancy=4)
    assert np.all(np.isfinite(np.asarray(jax.jit(ok.force)(q, GasParams(sigma=0.3)))))


def test_gas_and_mode_observables():
    """contact_fraction, spectral entropy / n_eff, kurtosis and speed histogram
    on inputs with known answers."""
    law = SoftSphereGas(4, 6.0, 2)
    q = jnp.array([[0.5, 0.5], [1.2, 0.5], [3.0, 3.0], [5.0, 1.0]])  # one touching pair
    y = PhaseState(q, jnp.zeros_like(q))
    assert float(jax.jit(jqd.thermal.contact_fraction)(law, GasParams(), y)) == 0.5
    E = jnp.ones(16)
    assert abs(float(jqd.thermal.spectral_entropy(E)) - math.log(16)) < 1e-14
    assert abs(float(jqd.thermal.effective_mode_fraction(E.at[0].set(0.0))) - 15 / 16) < 1e-14
    p = jax.random.normal(jax.random.key(0), (50_000, 2))
    assert abs(float(jqd.thermal.velocity_kurtosis(p)) - 3) < 0.05  # noise √(24/1e5) = 0.015
    theta = jnp.linspace(0, 2 * jnp.pi, 1000, endpoint=False)
    ring = jnp.stack([jnp.cos(theta), jnp.sin(theta)], -1)
    assert abs(float(jqd.thermal.velocity_kurtosis(ring)) - 1.5) < 1e-12
    dens, edges = jqd.thermal.speed_histogram(p, 1.0, 50, 5.0)
    v = 0.5 * (edges[1:] + edges[:-1])
    np.testing.assert_allclose(dens, v * np.exp(-(v**2) / 2), atol=0.03)  # 2-D Maxwell


def test_adaptive_refuses_the_neighbor_list_state():
    """evolve_adaptive of a GasState (its neighbor list is refreshed per step)
    names the state and the fix, not a pytree-structure error from diffrax."""
    c = build("thermal-gas-2d-neighbors")
    with pytest.raises(ValueError, match=r"y0 is a GasState.*PhaseState\(y0.q, y0.p\)"):
        jqd.evolve_adaptive(c.law, c.y0, c.params, jnp.array([0.0, 0.01, 0.02]))
