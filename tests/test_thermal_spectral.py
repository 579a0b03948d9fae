"""Spectral reference values (physics §7.7): Bose-Einstein and Rayleigh-Jeans
occupations, gap-ratio densities and constants, checked against independent
facts (Boltzmann sums over Fock levels, quadrature, sampled random matrices)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd

ref = jqd.reference


def _mean_gap_ratio(levels):
    s = np.diff(np.sort(levels, axis=-1), axis=-1)
    a, b = s[..., 1:], s[..., :-1]
    return np.minimum(a, b) / np.maximum(a, b)


def test_bose_einstein_is_the_boltzmann_average_over_fock_levels():
    n = np.arange(4000)
    for omega, T in [(1.5, 0.3), (1.5, 1.0), (0.2, 3.0), (2.0, 10.0)]:
        w = np.exp(-omega * n / T)
        exact = float(np.sum(n * w) / np.sum(w))
        assert abs(float(ref.bose_einstein(omega, T)) - exact) < 1e-12 * max(1, exact)
    # ħ enters only as ħω
    assert float(ref.bose_einstein(1.0, 0.7, hbar=2.0)) == float(ref.bose_einstein(2.0, 0.7))


def test_rayleigh_jeans_is_the_classical_limit_of_planck():
    omega = 1.5
    for T in (1e2, 1e4, 1e6):
        # n_BE = 1/x − 1/2 + x/12 − x³/720 + ..., x = ħω/T; the difference of two
        # numbers ~ T/ħω loses ~1e-16 · T/ħω to rounding
        x = omega / T
        diff = float(ref.rayleigh_jeans(omega, T) - ref.bose_einstein(omega, T))
        assert abs(diff - (0.5 - x / 12 + x**3 / 720)) < 1e-14 / x
    # at T ≲ ħω the classical occupation is far larger: n_RJ/n_BE = (e^x − 1)/x
    ratio = float(ref.rayleigh_jeans(1.5, 0.3) / ref.bose_einstein(1.5, 0.3))
    assert abs(ratio - math.expm1(5.0) / 5.0) < 1e-12 * ratio


def test_occupations_are_differentiable_and_keep_float32():
    d_dT = jax.grad(lambda T: ref.bose_einstein(1.5, T))(1.0)
    x = math.exp(1.5)
    assert abs(float(d_dT) - 1.5 * x / (x - 1) ** 2) < 1e-12  # dn/dT = (ω/T²) e^x/(e^x−1)²
    w32 = jnp.linspace(0.5, 2.0, 4, dtype=jnp.float32)
    assert ref.bose_einstein(w32, jnp.float32(1.0)).dtype == jnp.float32
    assert ref.rayleigh_jeans(w32, jnp.float32(1.0)).dtype == jnp.float32


def test_gap_ratio_densities_are_normalized_with_the_stated_means():
    r = np.linspace(0.0, 1.0, 200001)
    for ensemble, mean in [("poisson", ref.GAP_RATIO_POISSON), ("goe", ref.GAP_RATIO_GOE_SURMISE)]:
        p = np.asarray(ref.gap_ratio_density(r, ensemble))
        assert abs(np.trapezoid(p, r) - 1.0) < 1e-10
        assert abs(np.trapezoid(r * p, r) - mean) < 1e-10
    assert abs(ref.GAP_RATIO_POISSON - 0.38629) < 5e-6
    assert abs(ref.GAP_RATIO_GOE_SURMISE - 0.53590) < 5e-6
    with pytest.raises(ValueError, match="ensemble"):
        ref.gap_ratio_density(r, "gue")


def test_sampled_spectra_reproduce_the_constants():
    rng = np.random.default_rng(0)
    # Poisson: uncorrelated levels; 2e5 ratios, σ(r)/√n ≈ 6e-4
    r = _mean_gap_ratio(rng.uniform(size=(50, 4000)))
    assert abs(r.mean() - ref.GAP_RATIO_POISSON) < 4e-3
    # 3×3 GOE matrices: the surmise is exact there (2e5 samples, SE ≈ 6e-4)
    a = rng.normal(size=(200000, 3, 3))
    r3 = _mean_gap_ratio(np.linalg.eigvalsh(a + np.swapaxes(a, 1, 2)))
    assert abs(r3.mean() - ref.GAP_RATIO_GOE_SURMISE) < 3e-3
    # large GOE matrices (bulk half of 30 × 400 levels): the large-N value
    a = rng.normal(size=(30, 400, 400))
    e = np.linalg.eigvalsh(a + np.swapaxes(a, 1, 2))[:, 100:300]
    assert abs(_mean_gap_ratio(e).mean() - ref.GAP_RATIO_GOE) < 1.2e-2


@pytest.mark.slow
def test_large_goe_matrices_separate_large_n_value_from_surmise():
    """The surmise (0.5359) is 0.005 above the large-N value (0.5307): with
    ~2.4e4 bulk ratios the sample mean resolves the difference."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(60, 800, 800))
    e = np.linalg.eigvalsh(a + np.swapaxes(a, 1, 2))[:, 200:600]
    mean = _mean_gap_ratio(e).mean()
    assert abs(mean - ref.GAP_RATIO_GOE) < 2.5e-3
    assert abs(mean - ref.GAP_RATIO_GOE_SURMISE) > 2.5e-3
