"""Probability-flow trajectories of the Husimi Fokker-Planck equation (physics §4):
ensembles sampled from ρ(0) and moved by v = J∇H − ½∇·D − ½D∇ln ρ follow the exact
Kerr Husimi density; zeros of ρ are detected and counted. (The generic law checks of
`HusimiFlow`, jit/vmap/dtype/gradients/monitor, are in tests/test_law_contract.py.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import husimi as hs
from jqd.husimi import GalerkinDensity, flow_trajectories

ALPHA0 = 2.0
N_MAX = 50
kerr = jqd.reference.kerr_symbol


def oscillator(z, omega):
    return omega * ((z[0] ** 2 + z[1] ** 2) / 2 - 1)


def log_kerr(z, t):
    return jqd.reference.kerr_log_density(z, t, ALPHA0, n_max=N_MAX)


def sample_coherent(key, n, dtype=jnp.float64):
    z0 = jnp.array([np.sqrt(2) * ALPHA0, 0.0], dtype)
    return jax.random.normal(key, (n, 2), dtype) + z0


def marginal_cdfs(t):
    """Exact CDFs of the Q and P marginals of ρ(t) on a fine grid."""
    x = np.linspace(-8, 8, 801)
    dx = x[1] - x[0]
    _, marginals = jqd.reference.kerr_husimi_marginals(x, t, ALPHA0, n_max=60)
    return x, [np.cumsum(m) * dx - 0.5 * m * dx for m in marginals]


def ks_distance(samples, x, cdf):
    return jqd.stats.ks_statistic(np.interp(np.sort(np.asarray(samples)), x, cdf))


def _ks_check(n_points, seed, dt=0.01, log_density=log_kerr, batch_size=None):
    z0 = sample_coherent(jax.random.key(seed), n_points)
    steps = int(round(0.1 / dt))
    res = flow_trajectories(
        kerr,
        log_density,
        z0,
        dt=dt,
        n_save=5,
        steps_per_save=steps,
        args=1.0,
        batch_size=batch_size,
    )
    # KS critical value at family-wise level 1 % for the 4 comparisons (Bonferroni):
    # sqrt(ln(2 * 4 / 0.01) / 2) = 1.83
    crit = 1.83 / np.sqrt(n_points)
    out = {}
    for i in (1, 5):  # Ut = 0.1 and 0.5
        t = float(res.ts[i])
        x, cdfs = marginal_cdfs(t)
        for ax in (0, 1):
            out[(round(t, 3), ax)] = ks_distance(res.z[i, :, ax], x, cdfs[ax])
    return out, crit, res


@pytest.mark.slow
def test_kerr_ensemble_follows_exact_density():
    """1000 points: KS distance of both 1-D marginals within statistical error
    (family-wise 1 %) at Ut = 0.1 and 0.5 (seed 0). (Convergence of the flow in dt:
    experiments/husimi_trajectories/README.md.)"""
    out, crit, res = _ks_check(1000, 0, dt=0.02)
    assert all(d < crit for d in out.values()), (out, crit)
    # the distribution really changed: at Ut = 0.5 the t = 0 marginal is rejected
    x, cdfs0 = marginal_cdfs(0.0)
    assert all(abs(c[-1] - 1) < 1e-6 for c in cdfs0)  # the marginals are normalised
    assert ks_distance(res.z[5, :, 1], x, cdfs0[1]) > 3 * crit
    assert int(res.n_hit_zero) == 0


@pytest.mark.slow
def test_kerr_ensemble_4000_points():
    """4000 points, dt = 0.01 (measured values: experiments/husimi_trajectories/README.md)."""
    out, crit, res = _ks_check(4000, 0)
    print("KS 4000:", out, "crit", crit)
    assert all(d < crit for d in out.values()), (out, crit)


@pytest.mark.slow
def test_kerr_ensemble_million_points():
    """10⁶ points, dt = 0.01, in chunks of 5·10⁴ (`batch_size`: one `jqd.evolve` per
    chunk) to bound memory; no point may be flagged near a zero (measured values and
    wall time: experiments/husimi_trajectories/README.md)."""
    out, crit, res = _ks_check(1_000_000, 1, batch_size=50_000)
    print("KS 1e6:", out, "crit", crit, "flagged", int(res.n_hit_zero))
    assert all(d < crit for d in out.values()), (out, crit)


def galerkin_kerr(K=40, C=1.0):
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    R0 = law.initial_state(jqd.fock.coherent_state(ALPHA0, K))
    return law, R0, hs.GalerkinParams(C)


@pytest.mark.slow
def test_galerkin_density_matches_analytic():
    """ρ(t) from a HusimiGalerkin R(t) stepped alongside the points (no closed form
    used) moves 300 points like the exact Kerr Husimi function: same positions to
    1e-8 at Ut = 0.5 (the Fock cutoff 40 leaves ~1e-16 of ρ out)."""
    law, R0, p = galerkin_kerr()
    z0 = sample_coherent(jax.random.key(7), 300)
    kw = dict(dt=0.01, n_save=5, steps_per_save=10, args=1.0)
    exact = flow_trajectories(kerr, log_kerr, z0, **kw)
    galerkin = flow_trajectories(kerr, GalerkinDensity(law, R0, p), z0, **kw)
    assert np.max(np.abs(np.asarray(galerkin.z - exact.z))) < 1e-8
    assert np.allclose(galerkin.ts, exact.ts, rtol=0, atol=1e-15)
    assert int(galerkin.n_hit_zero) == 0
    # the points did move (a null flow would pass trivially)
    assert float(jnp.median(jnp.abs(exact.z[-1] - z0))) > 0.3


@pytest.mark.slow
def test_galerkin_density_ks():
    """KS check of the Galerkin-driven ensemble (1000 points, as for the analytic one)."""
    law, R0, p = galerkin_kerr()
    out, crit, res = _ks_check(1000, 0, dt=0.02, log_density=GalerkinDensity(law, R0, p))
    assert all(d < crit for d in out.values()), (out, crit)


@pytest.mark.slow  # 19 s; test_zero_detection covers the flagging by default
def test_galerkin_zero_detection_kerr_cat():
    """At Ut = π the Kerr state is the cat (e^{−iπ/4}|iα0⟩ + e^{iπ/4}|−iα0⟩)/√2, whose
    Husimi function vanishes on the real axis at α = (π/2 + (2k+1)π)/(2α0): starting
    on the zero α = −π/8 (and 1e-9 from it) the points are flagged at t0; a point on a
    component is not."""
    law, R0, p = galerkin_kerr()
    R_pi = jqd.evolve(law, R0, p, dt=np.pi, n_save=1).y_final  # exact at C = 1
    x0 = np.sqrt(2) * (-np.pi / (4 * ALPHA0))  # Q = √2 Re α at the zero α = −π/8
    z0 = jnp.array([[x0, 0.0], [x0 + 1e-9, 0.0], [0.0, np.sqrt(2) * ALPHA0]])
    res = flow_trajectories(
        kerr,
        GalerkinDensity(law, R_pi, p),
        z0,
        dt=0.01,
        n_save=1,
        steps_per_save=2,
        args=1.0,
        t0=np.pi,
    )
    assert np.asarray(res.hit_zero).tolist() == [True, True, False]
    assert np.allclose(np.asarray(res.first_zero_time[:2]), np.pi)


def test_zero_detection():
    """A density with a zero on the path: points passing near it are flagged."""

    def log_rho(z, t):  # ρ ∝ |z − (1, 0)|² e^{−|z|²/2}: a zero at (1, 0)
        return jnp.log(
            ((z[0] - 1.0) ** 2 + z[1] ** 2) * jnp.exp(-(z[0] ** 2 + z[1] ** 2) / 2) + 0.0
        )

    z0 = jnp.array([[1.0 + 1e-7, 0.0], [3.0, 0.0]])
    res = flow_trajectories(oscillator, log_rho, z0, dt=0.01, n_save=1, steps_per_save=2, args=1.0)
    assert bool(res.hit_zero[0]) and not bool(res.hit_zero[1])
    assert int(res.n_hit_zero) == 1 and float(res.first_zero_time[0]) == 0.0


def test_c7_quadratic_is_rigid_rotation():
    """D = 0 for ω a†a: the flow is J∇H, rotation by ωt, whatever ρ is."""
    z0 = sample_coherent(jax.random.key(3), 50)
    res = flow_trajectories(
        oscillator, log_kerr, z0, dt=0.01, n_save=1, steps_per_save=100, args=1.0
    )
    t = float(res.ts[-1])
    c, s = np.cos(t), np.sin(t)
    ref = np.stack([z0[:, 0] * c + z0[:, 1] * s, -z0[:, 0] * s + z0[:, 1] * c], -1)
    assert np.max(np.abs(np.asarray(res.z[-1]) - ref)) < 1e-9


def test_batch_size_same_result():
    """Chunked integration (one evolve per chunk, last chunk padded) equals one batch."""
    z0 = sample_coherent(jax.random.key(8), 7)

    def log_gauss(z, t):
        return -0.5 * jnp.sum((z - jnp.array([2.0, 0.0])) ** 2)

    kw = dict(dt=0.01, n_save=2, steps_per_save=3, args=1.0, zero_floor=0.5)
    one = flow_trajectories(kerr, log_gauss, z0, **kw)
    chunked = flow_trajectories(kerr, log_gauss, z0, batch_size=3, **kw)
    assert chunked.z.shape == one.z.shape == (3, 7, 2)
    np.testing.assert_allclose(chunked.z, one.z, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(chunked.hit_zero, one.hit_zero)
    assert 0 < int(one.n_hit_zero) < 7  # the floor splits the points
    with pytest.raises(ValueError, match="batch_size"):
        flow_trajectories(kerr, log_gauss, z0, batch_size=0, **kw)


@pytest.mark.slow
def test_monitor_raises_at_a_zero():
    """`jqd.evolve` of the law stops at a flagged point (HusimiZeroError, `where` =
    (point index, z)); flow_trajectories(on_zero="raise") does the same, and
    on_breakdown="flag" records it."""

    def log_rho(z, t):  # a zero at (1, 0)
        return jnp.log(((z[0] - 1.0) ** 2 + z[1] ** 2) * jnp.exp(-(z[0] ** 2 + z[1] ** 2) / 2))

    z0 = jnp.array([[3.0, 0.0], [1.0 + 1e-7, 0.0]])
    law = hs.HusimiFlow(oscillator, log_rho)
    y0 = law.initial_state(z0)
    assert np.asarray(y0.flag).tolist() == [0, 2]
    with pytest.raises(hs.HusimiZeroError, match="zero of the Husimi") as err:
        jqd.evolve(law, y0, hs.FlowParams(1.0, 1.0), dt=0.01, n_save=2)
    assert err.value.time == 0.0 and err.value.where[0] == 1.0
    sol = jqd.evolve(law, y0, hs.FlowParams(1.0, 1.0), dt=0.01, n_save=2, on_breakdown="flag")
    assert int(sol.stats["breakdown_code"]) == 2
    np.testing.assert_allclose(sol.stats["breakdown_where"], [1.0, 1.0 + 1e-7, 0.0])
    with pytest.raises(hs.HusimiZeroError):
        flow_trajectories(oscillator, log_rho, z0, dt=0.01, n_save=1, args=1.0, on_zero="raise")


def test_nonfinite_step_is_frozen_and_flagged():
    """A point whose velocity is infinite (∂ ln ρ singular where ρ is not small)
    stays where it was with flag 3; the other points move on."""

    def log_rho(z, t):  # ∂/∂Q of Q^(1/3) is infinite at Q = 0
        return -0.5 * jnp.sum(z**2) + jnp.cbrt(z[0])

    z0 = jnp.array([[0.0, 1.0], [0.5, 1.0]])
    res = flow_trajectories(kerr, log_rho, z0, dt=0.01, n_save=2, steps_per_save=2, args=1.0)
    assert np.asarray(res.flag).tolist() == [3, 0]
    np.testing.assert_allclose(res.first_zero_time[0], 0.01)
    np.testing.assert_array_equal(res.z[-1, 0], z0[0])
    assert np.all(np.isfinite(np.asarray(res.z))) and float(jnp.abs(res.z[-1, 1] - z0[1]).max()) > 0


def test_bad_input():
    with pytest.raises(ValueError, match="z0"):
        flow_trajectories(kerr, log_kerr, jnp.zeros((3, 3)), dt=0.01, n_save=1, args=1.0)
