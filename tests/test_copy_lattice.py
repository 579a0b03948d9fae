"""Copy dynamics on a ring: continuum limit ā → 0 and classical limit ħ → 0 (S56-S62)."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jqd
from jqd.copy import (
    MeanField,
    lattice_evolve_psi,
    lattice_gaussian,
    psi_from_state,
    ring_hamiltonian,
    ring_params,
    ring_positions,
    state_from_psi,
)
from jqd.stats import loglog_slope


@pytest.mark.slow
def test_ring_meanfield_is_tight_binding_schrodinger():
    """Copy law with R = ħ/(2mā²), δ = π equals exact propagation of the ring H,
    and the O(P log P) split-step form agrees with both."""
    P, ab, hbar = 48, 0.25, 0.7
    x = ring_positions(P, ab)
    V = 0.3 * x**2 / 2
    psi0 = lattice_gaussian(P, ab, a=1.0, p0=0.8, hbar=hbar)
    ts = jnp.linspace(0.0, 1.0, 5)
    H = ring_hamiltonian(P, ab, hbar=hbar, potential=V)
    exact = jqd.reference.propagate(H, psi0, ts, hbar=hbar)
    sol = jqd.evolve_adaptive(
        MeanField(),
        state_from_psi(psi0),
        ring_params(P, ab, hbar=hbar, potential=V),
        ts,
        solver=diffrax.Dopri8(),
        rtol=1e-12,
        atol=1e-14,
        max_steps=100_000,
    )
    assert float(jnp.max(jnp.abs(sol.observables.rho - jnp.abs(exact) ** 2))) < 1e-10
    psi = jax.vmap(psi_from_state)(sol.observables)
    assert float(jnp.max(jnp.abs(psi - exact))) < 1e-9
    errs = []
    for dt in (0.01, 0.005):
        split = lattice_evolve_psi(psi0, ab, ts, hbar=hbar, potential=V, dt=dt)
        errs.append(float(jnp.max(jnp.abs(split - exact))))
    assert errs[1] < 1e-4
    assert 1.8 < np.log2(errs[0] / errs[1]) < 2.2, errs  # Strang: second order in dt
    free = lattice_evolve_psi(psi0, ab, ts, hbar=hbar, dt=0.25)
    exact_free = jqd.reference.propagate(ring_hamiltonian(P, ab, hbar=hbar), psi0, ts, hbar=hbar)
    assert float(jnp.max(jnp.abs(free - exact_free))) < 1e-12  # V = 0: exact


@pytest.mark.slow
def test_ring_law_hamiltonian_energy_and_adaptive_path():
    """SchrodingerRing's H (vector_field, energy) is the dense ring H of the
    copy law: adaptive integration and ⟨H⟩ agree with exact propagation."""
    P, ab, hbar, mass = 40, 0.3, 0.8, 1.3
    x = ring_positions(P, ab)
    V = 0.2 * x**2
    psi0 = lattice_gaussian(P, ab, a=1.0, p0=0.5, hbar=hbar)
    law = jqd.SchrodingerRing(P, ab)
    params = jqd.SchrodingerParams(hbar=hbar, mass=mass, potential=V)
    H = ring_hamiltonian(P, ab, hbar=hbar, mass=mass, potential=V)
    ts = jnp.linspace(0.0, 1.0, 3)
    exact = jqd.reference.propagate(H, psi0, ts, hbar=hbar)
    sol = jqd.evolve_adaptive(law, psi0, params, ts, rtol=1e-11, atol=1e-13)
    assert float(jnp.max(jnp.abs(sol.observables - exact))) < 1e-8
    E = float(jnp.real(jnp.vdot(psi0, H @ psi0)))
    assert abs(float(law.energy(0.0, psi0, params)) - E) < 1e-12
    with pytest.raises(ValueError, match="too large for this potential"):
        jqd.evolve(law, psi0, params, dt=5.0, n_save=1)
    with pytest.raises(ValueError, match="n_sites"):
        jqd.SchrodingerRing(2, 0.1)


@pytest.mark.slow
def test_continuum_gaussian_spreading_second_order_in_abar():
    """ρ_a/ā → the free-Gaussian density (physics §1) with error ∝ ā² (dispersion
    E(k) = ħ²k²/2m (1 − (kā)²/12 + ...))."""
    L, T, p0 = 32.0, 2.0, 1.0
    abars = np.array([0.4, 0.2, 0.1, 0.05])
    errs = []
    for ab in abars:
        P = int(round(L / ab))
        psi0 = lattice_gaussian(P, ab, a=1.0, p0=p0)
        psi = lattice_evolve_psi(psi0, ab, jnp.array([0.0, T]), dt=T)[-1]
        ref = jqd.reference.free_gaussian_density(ring_positions(P, ab), T, a=1.0, p0=p0)
        errs.append(float(jnp.max(jnp.abs(jnp.abs(psi) ** 2 / ab - ref))))
    order = loglog_slope(abars, errs)
    assert 1.9 < order < 2.2, (order, errs)
    assert errs[-1] < 1e-3


def test_printed_s56_s57_sign_is_negative_mass():
    """With δ = 0 (S56-S57 as printed) a packet with momentum p0 moves at −p0/m."""
    P, ab, T, p0 = 128, 0.25, 2.0, 1.0
    x = ring_positions(P, ab)
    psi0 = lattice_gaussian(P, ab, a=1.5, p0=p0)
    means = {}
    for d in (np.pi, 0.0):
        H = ring_hamiltonian(P, ab, delta=d)
        rho = jnp.abs(jqd.reference.propagate(H, psi0, jnp.array([0.0, T]))[-1]) ** 2
        means[d] = float(rho @ x)
    assert abs(means[np.pi] - p0 * T) < 0.05 * p0 * T
    assert abs(means[0.0] + p0 * T) < 0.05 * p0 * T


@pytest.mark.slow
def test_classical_limit_hbar_to_zero():
    """ħ → 0 on the ring (ā = ħ/16, so ā p/ħ ≪ 1 as S62 asks): the packet centre
    approaches the Newton trajectory as ħ¹ and its width shrinks as ħ^(1/2)."""
    V = lambda x: 0.5 * x**2 + 0.25 * x**4
    T, x0, L = np.pi, 1.0, 8.0
    ts = np.linspace(0.0, T, 17)
    cl = solve_ivp(
        lambda t, y: [y[1], -(y[0] + y[0] ** 3)],
        (0, T),
        [x0, 0.0],
        t_eval=ts,
        rtol=1e-12,
        atol=1e-12,
    ).y[0]
    hbars = np.array([0.1, 0.05, 0.025])
    dev, width = [], []
    for hb in hbars:
        ab = hb / 16
        P = int(round(L / ab))
        x = ring_positions(P, ab)
        psi0 = lattice_gaussian(P, ab, a=np.sqrt(hb), x0=x0, hbar=hb)
        psi = lattice_evolve_psi(psi0, ab, ts, hbar=hb, potential=V(x), dt=T / 16 / 200)
        rho = jnp.abs(psi) ** 2
        mean = rho @ x
        dev.append(float(jnp.max(jnp.abs(mean - cl))))
        width.append(float(jnp.max(jnp.sqrt(rho @ x**2 - mean**2))))
    p_dev = loglog_slope(hbars, dev)
    p_width = loglog_slope(hbars, width)
    assert 0.85 < p_dev < 1.15, (p_dev, dev)
    assert 0.4 < p_width < 0.6, (p_width, width)


def test_lattice_bad_input():
    with pytest.raises(ValueError, match="n_sites"):
        ring_params(2, 0.1)
    with pytest.raises(ValueError, match="spacing"):
        ring_params(10, -0.1)
    with pytest.raises(ValueError, match="potential"):
        ring_params(10, 0.1, potential=jnp.zeros(9))
    with pytest.raises(ValueError, match="ts"):
        lattice_evolve_psi(lattice_gaussian(16, 0.5), 0.5, jnp.array([0.0, 0.15]), dt=0.1)
