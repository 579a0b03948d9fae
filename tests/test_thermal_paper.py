"""The reference closed forms behind paper T §3 (physics §7.8)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd

ZETA3 = 1.2020569031595942


def test_photon_density_matches_mode_integral():
    """n_γ(T) = (1/π²)(kT/ħc)³ ∫ x²/(eˣ−1) dx, the integral by Simpson's rule."""
    x = np.linspace(0.0, 60.0, 20001)
    f = np.zeros_like(x)
    f[1:] = x[1:] ** 2 / np.expm1(x[1:])
    w = np.ones_like(x)
    w[1:-1:2], w[2:-1:2] = 4, 2
    integral = 60.0 / (3 * 20000) * np.sum(w * f)
    assert integral == pytest.approx(2 * ZETA3, rel=1e-12)
    for T in (3.0, 300.0, 6000.0):
        kT_over_hbar_c = 1.380649e-23 * T / (1.054571817e-34 * 299792458.0)
        expected = integral / np.pi**2 * kT_over_hbar_c**3
        assert float(jqd.reference.photon_number_density(T)) == pytest.approx(expected, rel=1e-11)


def test_photon_density_values_and_scaling():
    # the cosmic microwave background: 411 photons per cm³ at 2.7255 K
    assert float(jqd.reference.photon_number_density(2.7255)) == pytest.approx(4.107e8, rel=2e-3)
    n300 = float(jqd.reference.photon_number_density(300.0))
    assert n300 == pytest.approx(5.477e14, rel=1e-3)
    assert n300 / 8.49e28 < 1e-13  # photons per copper atom at 300 K
    assert float(jqd.reference.photon_number_density(600.0)) == pytest.approx(8 * n300, rel=1e-12)
    with pytest.raises(ValueError, match="temperature"):
        jqd.reference.photon_number_density(-1.0)


def test_einstein_hopf_factor_closed_form_and_limits():
    x = np.geomspace(1e-6, 50.0, 400)
    log_rho = lambda lx: 3 * lx - jnp.log(jnp.expm1(jnp.exp(lx)))  # Planck, up to a constant

    @jax.jit
    def both(x):
        auto = 1 - jax.vmap(jax.grad(log_rho))(jnp.log(x)) / 3
        return auto, jqd.reference.einstein_hopf_drag_factor(x)

    auto, ref = both(x)
    np.testing.assert_allclose(ref, auto, rtol=1e-12)
    assert float(jqd.reference.einstein_hopf_drag_factor(0.0)) == pytest.approx(1 / 3, rel=1e-15)
    assert jnp.all(ref >= 1 / 3 - 1e-15) and jnp.all(jnp.diff(ref) > 0)
    assert float(jqd.reference.einstein_hopf_drag_factor(30.0)) == pytest.approx(10.0, rel=1e-12)
    rj = jqd.reference.einstein_hopf_drag_factor(x, spectrum="rayleigh_jeans")
    np.testing.assert_allclose(rj, 1 / 3, rtol=1e-15)
    np.testing.assert_allclose(jqd.reference.einstein_hopf_drag_factor(x, "wien"), x / 3)
    with pytest.raises(ValueError, match="spectrum"):
        jqd.reference.einstein_hopf_drag_factor(1.0, spectrum="boltzmann")


def test_einstein_hopf_factor_is_differentiable_at_zero():
    g = jax.grad(lambda x: jqd.reference.einstein_hopf_drag_factor(x))(0.0)
    assert float(g) == pytest.approx(1 / 6, rel=1e-12)  # f = (1 + x/2 + ...)/3


def test_klein_gordon_norm_printed_vanishes_and_corrected_is_alpha2_omega_over_2():
    alpha, k, omega = 0.7, 2.0, 1.3
    wave = lambda x, t: alpha * jnp.exp(1j * (k * x - omega * t))
    xs, ts = np.linspace(-3, 3, 7), np.linspace(0, 5, 7)
    pairs = jax.jit(jax.vmap(lambda x, t: jax.jvp(lambda s: wave(x, s), (t,), (1.0,))))
    a, a_dot = pairs(xs, ts)
    np.testing.assert_allclose(a_dot, -1j * omega * a, rtol=1e-14)
    printed = jqd.reference.klein_gordon_norm_density(a, a_dot, form="printed")
    corrected = jqd.reference.klein_gordon_norm_density(a, a_dot, form="corrected")
    assert float(jnp.max(jnp.abs(printed))) <= 1e-15
    np.testing.assert_allclose(corrected, alpha**2 * omega / 2, rtol=1e-14)
    # with μ₀: α²ω/2μ₀ (the value the paper prints for its norm)
    np.testing.assert_allclose(
        jqd.reference.klein_gordon_norm_density(a, a_dot, mu0=4.0), alpha**2 * omega / 8, rtol=1e-14
    )
    with pytest.raises(ValueError, match="form"):
        jqd.reference.klein_gordon_norm_density(a, a_dot, form="other")


def test_recoil_time_is_not_a_time():
    """E/(κv): J/((N/m)(m/s)) = m·s. Rescaling the length unit by s rescales it by s."""
    E, kappa, v = 6.2e-21, 0.82, 400.0
    tau = E / (kappa * v)
    s = 1e10  # metres -> ångström: E scales by s², κ (kg/s²) by 1, v by s
    assert (E * s**2) / (kappa * (v * s)) == pytest.approx(tau * s, rel=1e-12)
    mu = 20 * 1.66053906660e-27
    t_contact = float(jqd.reference.harmonic_contact_time(mu, kappa))
    assert t_contact == pytest.approx(np.pi * np.sqrt(mu / kappa), rel=1e-14)


def test_photon_energy_share_and_wavelength():
    """T §2-3: u_γ = (π²/15)(kT)⁴/(ħc)³ (mean photon energy π⁴/(30ζ(3)) kT = 2.701 kT)
    is a 6e-15 share of copper's 3nkT at 300 K; Planck's per-wavelength peak
    λ_max T = hc/(x k), x = 5(1 − e^{−x}) = 4.965, is Wien's b, 9.66 μm at 300 K,
    4e4 atomic spacings."""
    from scipy.optimize import brentq

    k_b, hbar, c, T = 1.380649e-23, 1.054571817e-34, 299792458.0, 300.0
    u = np.pi**2 / 15 * (k_b * T) ** 4 / (hbar * c) ** 3
    mean = u / float(jqd.reference.photon_number_density(T)) / (k_b * T)
    assert mean == pytest.approx(np.pi**4 / (30 * ZETA3), rel=1e-12)
    assert mean == pytest.approx(2.7012, abs=1e-4)
    share = u / (3 * 8.49e28 * k_b * T)
    assert 1e-15 < share < 1e-14
    x5 = brentq(lambda x: x - 5 * (1 - np.exp(-x)), 1.0, 10.0, xtol=1e-15)
    b = 2 * np.pi * hbar * c / (x5 * k_b)
    assert b == pytest.approx(2.897771955e-3, rel=1e-9)
    assert b / T / 8.49e28 ** (-1 / 3) > 1e4


def test_gas_energy_distribution_errata():
    """T §2: h_PE ≈ h_KE τ_r/τ_coll with ∫h_KE = 1 has ∫h_PE = τ_r/τ_coll ≠ 1
    (argon, 1 atm, 300 K: 3e-3 with the contact time π√(μ/κ)); the printed
    h_KE ∝ exp(−(γkT − E)²) has a width that depends on the energy unit."""
    k_b, T, m = 1.380649e-23, 300.0, 39.948 * 1.66053906660e-27
    kT = k_b * T
    kappa = 72 * 1.65e-21 / (2 ** (1 / 3) * 3.40e-10**2)
    v = np.sqrt(8 * kT / (np.pi * m))
    tau_coll = 1 / (np.sqrt(2) * (101325.0 / kT) * np.pi * 3.40e-10**2 * v)
    ratio = float(jqd.reference.harmonic_contact_time(m / 2, kappa)) / tau_coll
    e = np.linspace(0.0, 20.0, 20001) * kT
    h_ke = np.exp(-(((e - 1.5 * kT) / kT) ** 2))
    h_ke /= np.trapezoid(h_ke, e)
    assert np.trapezoid(h_ke * ratio, e) == pytest.approx(ratio, rel=1e-9)
    assert 1e-3 < ratio < 1e-2  # ≠ 1: the printed normalization fails

    def std_over_kT(unit):  # the printed form with E measured in `unit`
        x = np.linspace(0.0, 60.0, 600001)
        h = np.exp(-((1.5 * kT / unit - x) ** 2))
        mean = np.trapezoid(x * h, x) / np.trapezoid(h, x)
        return np.sqrt(np.trapezoid((x - mean) ** 2 * h, x) / np.trapezoid(h, x)) * unit / kT

    assert std_over_kT(1.0) / std_over_kT(1.602176634e-19) > 1e18  # J vs eV
