"""Time-symmetric forward-backward trajectories (`jqd.husimi.ForwardBackward`,
physics §4.12): the eigen-split of D, the parametric amplifier against its
exact Husimi function, the fixed point's discrete equations, and errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

import jqd
from jqd import husimi as hs

_AMP = hs.anti_wick_symbol(0.5j * (hs.ad(0) * hs.ad(0) - hs.a(0) * hs.a(0)))
KAPPA, T, Q0, P0 = 1.0, 1.0, 1.0, 0.5


def amp(z, kappa):
    return kappa * jnp.real(_AMP(z))


def _moments(t):
    m = np.array([Q0 * np.exp(KAPPA * t), P0 * np.exp(-KAPPA * t)])
    v = np.array([0.5 + 0.5 * np.exp(2 * KAPPA * t), 0.5 + 0.5 * np.exp(-2 * KAPPA * t)])
    return m, v


@functools.cache
def _amplifier_run(n, n_t=40, sweeps=12, seed=0):
    k0, kT, kx = jax.random.split(jax.random.key(seed), 3)
    m0, v0 = _moments(0.0)
    mT, vT = _moments(T)
    zeta0 = m0 + np.sqrt(v0) * jax.random.normal(k0, (n, 2))
    zetaT = mT + np.sqrt(vT) * jax.random.normal(kT, (n, 2))
    law = hs.ForwardBackward(amp, T, n_t)
    y0 = law.initial_state(kx, zeta0, zetaT)
    sol = jqd.evolve(law, y0, hs.FBParams(1.0, KAPPA), dt=1.0, n_save=sweeps, checkpoint=False)
    return law, sol


@pytest.mark.slow
def test_split_frames_reproduce_D_and_pair_with_J():
    """D = E+ΛE+ᵀ − E−ΛE−ᵀ, E− = ±J E+, for Kerr (one mode, closed form) and a
    two-mode Bose-Hubbard dimer (eigh)."""
    z1 = jnp.array([0.7, -1.3])
    _, D1 = hs.drift_and_diffusion(jqd.reference.kerr_symbol, z1, 1.0, 1.0)
    sym = hs.anti_wick_symbol(hs.bose_hubbard(2, 0.7, 1.0))
    z2 = jnp.array([0.7, -1.3, 0.4, 0.9])
    D2 = jax.jit(lambda z: hs.diffusion_matrix(lambda x: jnp.real(sym(x)), 1.0)(z))(z2)
    for D in (D1, D2):
        Ep, Em, lp, lm = jax.jit(hs.split_frames)(D)
        rebuilt = Ep @ jnp.diag(lp) @ Ep.T - Em @ jnp.diag(lm) @ Em.T
        np.testing.assert_allclose(rebuilt, D, atol=1e-12)
        np.testing.assert_allclose(jnp.sort(lp), jnp.sort(lm), atol=1e-12)  # ± pairs (DJ = −JD)
        J = hs.symplectic_J(D.shape[0] // 2)
        # J E+ spans the − eigenspace
        np.testing.assert_allclose(Em @ Em.T @ (J @ Ep), J @ Ep, atol=1e-10)


@pytest.mark.slow
def test_amplifier_D_is_constant_and_axis_aligned():
    """H = (iκ/2)(a†² − a²) has symbol κQP and D = κ diag(−1, 1): P is '+', Q '−'."""
    for z in ([0.3, -0.7], [2.0, 1.0]):
        drift, D = hs.drift_and_diffusion(amp, jnp.array(z), KAPPA, 1.0)
        np.testing.assert_allclose(D, KAPPA * np.diag([-1.0, 1.0]), atol=1e-14)
        np.testing.assert_allclose(drift, [KAPPA * z[0], -KAPPA * z[1]], atol=1e-14)


@pytest.mark.slow
def test_amplifier_closed_form_is_the_exact_husimi_function():
    """The Gaussian moments used as reference equal those of the exact Fock
    evolution of the coherent state under (iκ/2)(a†² − a²)."""
    cut = 60
    basis = hs.fock_basis(cut)
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, cut)), 1).astype(complex)
    Hm = 0.5j * KAPPA * (a.conj().T @ a.conj().T - a @ a)
    psi0 = jqd.fock.coherent_state((Q0 + 1j * P0) / np.sqrt(2), cut)
    rho = hs.exact_husimi_density(Hm, psi0, basis)
    x = np.linspace(-9, 9, 181)
    dx = x[1] - x[0]
    Z = jnp.asarray(np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2))
    t = 0.6
    r = np.asarray(jax.vmap(lambda z: rho(z, t))(Z)).reshape(181, 181)
    m, v = _moments(t)
    w = r * dx * dx
    mean = [np.sum(w * x[:, None]), np.sum(w * x[None, :])]
    var = [np.sum(w * (x[:, None] - mean[0]) ** 2), np.sum(w * (x[None, :] - mean[1]) ** 2)]
    np.testing.assert_allclose(np.sum(w), 1.0, atol=1e-6)
    # tolerances: the Fock cutoff (60) and the 0.1 grid leave ~4e-6
    np.testing.assert_allclose(mean, m, atol=2e-5)
    np.testing.assert_allclose(var, v, atol=5e-5)


def test_amplifier_fixed_point_obeys_the_discrete_equations():
    """At convergence: z_0's '+' (P) coordinate is ζ0's, z_T's '−' (Q) is ζT's,
    and P (Q) obeys the forward (backward) midpoint step with its noise."""
    law, sol = _amplifier_run(50, n_t=20, sweeps=18)
    y = sol.y_final
    assert float(y.change) < 1e-11
    z, xi, h = np.asarray(y.z), np.asarray(y.xi), T / 20
    np.testing.assert_allclose(z[:, 0, 1], np.asarray(y.zeta0)[:, 1], atol=1e-10)
    np.testing.assert_allclose(z[:, -1, 0], np.asarray(y.zetaT)[:, 0], atol=1e-10)
    mid = 0.5 * (z[:, 1:] + z[:, :-1])
    dP = z[:, 1:, 1] - z[:, :-1, 1]
    np.testing.assert_allclose(
        dP, -KAPPA * mid[..., 1] * h + np.sqrt(KAPPA * h) * xi[..., 0], atol=1e-9
    )
    dQ = z[:, 1:, 0] - z[:, :-1, 0]
    # the − row is E−ᵀΔz with E− = ±(1, 0): the noise enters with that sign
    res = np.abs(dQ - KAPPA * mid[..., 0] * h) - np.abs(np.sqrt(KAPPA * h) * xi[..., 1])
    np.testing.assert_allclose(res, 0, atol=1e-8)


@pytest.mark.slow
def test_amplifier_marginals_match_exact_husimi():
    """KS of the Q and P marginals at 5 times ≤ the 5 % family-wise (Bonferroni)
    critical value for n = 1500 (the experiment runs N = 10⁵)."""
    n = 1500
    law, sol = _amplifier_run(n)
    z, ts = np.asarray(sol.y_final.z), np.asarray(law.times)
    ks = []
    for k in (7, 13, 20, 27, 33):
        m, v = _moments(ts[k])
        for c in range(2):
            ks.append(
                float(jqd.stats.ks_distance(z[:, k, c], lambda x: norm.cdf(x, m[c], np.sqrt(v[c]))))
            )
    assert max(ks) < jqd.stats.ks_critical(n, 0.05 / len(ks))


@pytest.mark.slow
def test_picard_contracts_and_monitor_flags_divergence():
    law, sol = _amplifier_run(50, n_t=20, sweeps=5)
    y = sol.y_final
    assert 0 < float(law.contraction(y)) < 1
    # a grown change after the grace period is a diverging iteration
    bad = jqd.husimi.FBState(
        y.z,
        y.xi,
        y.zeta0,
        y.zetaT,
        jnp.asarray(1.0),
        jnp.asarray(0.1),
        jnp.asarray(9, jnp.int32),
        y.flag,
    )
    ok, code, _ = law.monitor(0.0, bad, hs.FBParams(1.0, KAPPA))
    assert not bool(ok) and int(code) == 2
    with pytest.raises(hs.PicardDivergenceError, match="diverging"):
        jqd.evolve(law, bad, hs.FBParams(1.0, KAPPA), dt=1.0, n_save=1)


def test_bad_inputs_are_named():
    law, sol = _amplifier_run(50, n_t=20, sweeps=18)
    y = sol.y_final
    with pytest.raises(ValueError, match="params.C must be positive"):
        jqd.evolve(law, y, hs.FBParams(-1.0, KAPPA), dt=1.0, n_save=1)
    bad = jqd.husimi.FBState(
        y.z, y.xi, y.zeta0.at[0, 0].set(jnp.nan), y.zetaT, y.change, y.change_prev, y.sweeps, y.flag
    )
    with pytest.raises(ValueError, match="y0.* contains NaN"):
        jqd.evolve(law, bad, hs.FBParams(1.0, KAPPA), dt=1.0, n_save=1)
    with pytest.raises(ValueError, match="n_t"):
        hs.ForwardBackward(amp, 1.0, 0)
    with pytest.raises(ValueError, match="zeta0 and zetaT"):
        law.initial_state(jax.random.key(0), jnp.zeros((3, 2)), jnp.zeros((4, 2)))


def test_rotated_amplifier_symbol_and_closed_form():
    """The experiment's rotated amplifier: its symbol H_0(R(−θ)z) is the anti-Wick
    symbol of (iκ/2)(e^{2iθ}a†² − e^{−2iθ}a²), and its closed-form rotated Gaussian
    equals the exact linear Fokker-Planck propagation (Van Loan, `linear_fp_*`) of
    that operator from the coherent start."""
    import sys

    from jqdlab import registry

    registry.load("husimi-forward-backward")
    E = sys.modules["jqd_experiments.husimi_forward_backward"]
    cfg = E.Config.quick()
    th, kappa = cfg.theta, cfg.kappa
    op = (
        0.5j
        * kappa
        * (np.exp(2j * th) * hs.ad(0) * hs.ad(0) - np.exp(-2j * th) * hs.a(0) * hs.a(0))
    )
    sym = hs.anti_wick_symbol(op)
    for z in ([0.3, -0.7], [2.0, 1.0], [-1.1, 0.4]):
        z = jnp.array(z)
        np.testing.assert_allclose(
            float(E.amplifier_symbol(z, (kappa, th))), float(jnp.real(sym(z))), atol=1e-12
        )
    A, v0, D = hs.linear_fp_coefficients(op)
    assert abs(float(D[0, 1])) > 0.1 and abs(float(A[0, 1])) > 0.1  # Q and P coupled
    z0 = np.array([cfg.q0, cfg.p0])
    for t in (0.0, 0.4, 1.0):
        M, m, S = (np.asarray(x) for x in hs.linear_fp_propagators(A, v0, D, t))
        mean, cov = E.rotated_moments(cfg, t, th)
        np.testing.assert_allclose(mean, M @ z0 + m, atol=1e-5)
        np.testing.assert_allclose(cov, M @ M.T + S, atol=1e-5)  # coherent start: cov 𝟙
