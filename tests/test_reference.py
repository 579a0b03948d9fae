"""The exact references check themselves against independent facts."""

import math

import jax.numpy as jnp
import numpy as np

import jqd


def test_free_gaussian_density_is_normalized_and_spreads_per_z16():
    x = jnp.linspace(-60, 60, 20001)
    for t in (0.0, 1.0, 5.0):
        rho = jqd.reference.free_gaussian_density(x, t, a=1.3, p0=0.7, hbar=1.0, mass=2.0)
        dx = float(x[1] - x[0])
        assert abs(float(jnp.sum(rho)) * dx - 1.0) < 1e-12
        mean = float(jnp.sum(x * rho)) * dx
        var = float(jnp.sum((x - mean) ** 2 * rho)) * dx
        tau = t / (2.0 * 1.3**2)
        assert abs(mean - 0.7 / 2.0 * t) < 1e-10
        assert abs(var - 0.5 * 1.3**2 * (1 + tau**2)) < 1e-10


def test_harmonic_gaussian_solves_schrodinger():
    """Residual of iħ∂ψ/∂t = Hψ with a central time difference (global phase
    removed by comparing |ψ| and the local phase derivative is avoided: we
    check the density's continuity through ⟨x⟩(t) = classical and norm 1)."""
    grid = jqd.Grid(256, 20.0)
    for t in (0.0, 0.7, 2.0):
        psi = jqd.reference.harmonic_gaussian(grid, t, x0=1.0, p0=0.5, squeeze=1.7)
        rho = jnp.abs(psi) ** 2
        (x,) = grid.mesh()
        assert abs(float(grid.integrate(rho)) - 1.0) < 1e-12
        q = 1.0 * math.cos(t) + 0.5 * math.sin(t)
        assert abs(float(grid.integrate(x * rho)) - q) < 1e-12
    # the squeezed width oscillates at 2ω: Var x(t) = (1/2)(cos²t/β0 + β0 sin²t)
    psi = jqd.reference.harmonic_gaussian(grid, 0.9, squeeze=1.7)
    (x,) = grid.mesh()
    var = float(grid.integrate(x**2 * jnp.abs(psi) ** 2))
    assert abs(var - 0.5 * (math.cos(0.9) ** 2 / 1.7 + 1.7 * math.sin(0.9) ** 2)) < 1e-12


def test_kerr_husimi_is_normalized_and_matches_state():
    q = jnp.linspace(-11, 11, 221)
    Q, P = jnp.meshgrid(q, q, indexing="ij")
    alpha = (Q + 1j * P) / math.sqrt(2)
    for t in (0.0, 0.3, math.pi):
        QH = jqd.reference.kerr_husimi(alpha, t, 2.0)
        # ∫ Q_H d²α = 1 with d²α = dQ dP / 2
        dq = float(q[1] - q[0])
        assert abs(float(jnp.sum(QH)) * dq * dq / 2 - 1.0) < 1e-10
    # Q_H(α) = |⟨α|ψ(t)⟩|²/π from the Fock-space state
    cutoff = 40
    psi = jqd.reference.kerr_state(0.3, 2.0, cutoff)
    a = 0.4 - 1.1j
    coh = jqd.fock.coherent_state(a, cutoff)
    assert (
        abs(
            float(jnp.abs(jnp.vdot(coh, psi)) ** 2 / np.pi)
            - float(jqd.reference.kerr_husimi(a, 0.3, 2.0))
        )
        < 1e-12
    )


def test_grid_hamiltonian_spectrum_of_oscillator():
    grid = jqd.Grid(128, 16.0)
    (x,) = grid.mesh()
    E = np.linalg.eigvalsh(jqd.reference.grid_hamiltonian(grid, 0.5 * x**2))
    np.testing.assert_allclose(E[:6], np.arange(6) + 0.5, atol=1e-10)


def test_kerr_husimi_at_origin_is_finite():
    """Q_H(0) = e^{−|α0|²}/π at all times (only the n = 0 term survives)."""
    for t in (0.0, 0.3, 2.0):
        q0 = float(jqd.reference.kerr_husimi(jnp.array([0j]), t, 2.0)[0])
        assert abs(q0 - math.exp(-4.0) / math.pi) < 1e-15


def test_closed_forms_check_concrete_arguments_and_pass_traced_ones():
    """Issue 27: a bad concrete argument is refused naming the function and the
    argument (ZeroDivisionError, a negative ΔE or an unnormalized d_eff before);
    traced arguments (jit, grad, vmap) pass through unchecked."""
    import jax
    import pytest

    ref, thermal = jqd.reference, jqd.thermal
    bad = [
        (lambda: ref.packet_energy_spread(1.0, 0.0), "packet_energy_spread: width"),
        (lambda: ref.packet_energy_spread(1.0, 1.0, mass=-1.0), "packet_energy_spread: mass"),
        (lambda: ref.product_state_cm_variance(-3, 1.0, 1.0, 1.0), "cm_variance: n must"),
        (lambda: ref.harmonic_contact_time(1.0, 0.0), "harmonic_contact_time: kappa"),
        (lambda: thermal.effective_dimension(np.ones(3)), "effective_dimension: Σ c2 must"),
        (lambda: thermal.diagonal_ensemble(np.ones(3) / 3, np.ones(4)), "c2 and O_diag"),
    ]
    law = thermal.HarmonicLattice(thermal.Lattice((6,), "fixed"))
    bad.append(
        (
            lambda: thermal.ground_state(law, thermal.LatticeParams(mass=-1.0)),
            "ground_state: params.mass must be positive",
        )
    )
    for call, match in bad:
        with pytest.raises(ValueError, match=match):
            call()
    spread = jax.jit(lambda d: ref.packet_energy_spread(1.0, d))(0.5)  # σ_p² = 2: √(2 + 6)
    assert float(spread) == pytest.approx(math.sqrt(8.0), rel=1e-12)
