"""The exact references check themselves against independent facts."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

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


@pytest.mark.slow
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


def test_propagate_refuses_a_non_hermitian_h():
    """propagate evolved a non-Hermitian H by its Hermitian part (eigh reads
    one triangle), silently: refused eagerly and under jit, with the
    relative asymmetry and the tolerance named; round-off asymmetry passes."""
    import jax
    import pytest

    H = np.asarray(jqd.fock.random_hermitian(jax.random.key(1), 4))
    psi0, ts = jnp.ones(4, complex) / 2, jnp.array([0.0, 1.0])
    bad = H.copy()
    bad[0, 1] += 0.3
    with pytest.raises(ValueError, match=r"propagate: H is not Hermitian: .* = 0\.\d+ > 1e-10"):
        jqd.reference.propagate(bad, psi0, ts)
    with pytest.raises(Exception, match="H is not Hermitian"):
        jax.block_until_ready(jax.jit(jqd.reference.propagate)(bad, psi0, ts))
    from jqd.reference._exact import _hermitian  # the check alone: no program to compile

    upper = np.abs(H).max() * np.triu(np.ones((4, 4)), 1)
    _hermitian(H + 1e-14 * upper, "H", "propagate", None)  # round-off passes
    _hermitian((H + 1e-7 * upper).astype(np.complex64), "H", "propagate", None)  # float32's
    with pytest.raises(ValueError, match=r"H is not Hermitian: .* > 1e-10"):
        _hermitian(H + 1e-9 * upper, "H", "propagate", None)
    # the Gaussian-state energy variance reads ½ zᵀAz: an asymmetric A is refused too
    A = np.diag([1.0, 2.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="gaussian_energy_variance: A is not Hermitian"):
        jqd.reference.gaussian_energy_variance(
            A + np.triu(np.ones((4, 4)), 1), np.eye(4), np.zeros(4)
        )


def _hermite_formula(grid, n, omega, mass):
    """The former evaluation: H_n by `hermval` and n! (overflows above n ≈ 150)."""
    from numpy.polynomial.hermite import hermval

    k = mass * omega
    xi = math.sqrt(k) * np.asarray(grid.axes()[0])
    c = np.zeros(n + 1)
    c[n] = 1.0
    norm = math.sqrt(2.0**n * math.factorial(n) * math.sqrt(math.pi / k))
    return hermval(xi, c) * np.exp(-(xi**2) / 2) / norm


def test_oscillator_eigenstates_up_to_high_n():
    """n = 151..170 were all zeros and n > 170 a bare OverflowError (H_n and n!
    in float64). The normalized recurrence equals the former formula at small
    n (1e-12) and gives normalized, orthogonal eigenstates for n = 150..200:
    −½ψ'' + ½ξ²ψ = (n + ½)ψ on the grid (spectral derivative)."""
    grid = jqd.Grid(512, 20.0)
    for n in range(40):
        psi = np.asarray(jqd.reference.oscillator_eigenstate(grid, n, omega=1.3, mass=0.7))
        np.testing.assert_allclose(psi, _hermite_formula(grid, n, 1.3, 0.7), rtol=0, atol=1e-12)
    grid = jqd.Grid(1024, 64.0)  # turning points ±20 at n = 200, 14 points per wavelength
    k2 = np.asarray(grid.k_squared(np.float64))
    (x,) = grid.axes()
    states = {}
    for n in range(150, 201, 5):
        psi = np.asarray(jqd.reference.oscillator_eigenstate(grid, n))
        assert np.all(np.isfinite(psi)) and abs(float(grid.integrate(psi**2)) - 1) < 1e-10, n
        H_psi = 0.5 * np.real(np.fft.ifft(k2 * np.fft.fft(psi))) + 0.5 * np.asarray(x) ** 2 * psi
        assert np.max(np.abs(H_psi - (n + 0.5) * psi)) < 1e-8, n
        states[n] = psi
    assert abs(float(grid.integrate(states[160] * states[165]))) < 1e-10
    assert abs(float(grid.integrate(states[150] * states[200]))) < 1e-10
