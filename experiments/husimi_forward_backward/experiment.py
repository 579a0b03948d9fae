"""Time-symmetric forward-backward trajectories of the Husimi equation (physics §4.12).

The "+" eigen-coordinates of D = (C/2)[H'', J] diffuse forward from samples of
ρ(0), their "−" partners backward from samples of ρ(T); the discretized paths
are solved by Picard sweeps (`jqd.husimi.ForwardBackward`, run by
`jqd.evolve`, one step = one sweep). Test 1: the parametric amplifier
H = (iκ/2)(a†² − a²) (anti-Wick symbol κQP, constant D = κ diag(−1, 1): Q is the
"−" coordinate, P the "+" one), coherent start: KS of the Q and P marginals
at 5 intermediate times against the exact Gaussian Husimi function, the
Picard contraction, and the two-time covariances against the Markov
compositions. Test 2: the Kerr mode to Ut = 0.5 (and 0.1): Picard
contraction, paths that run away, KS of the surviving paths' marginals
against the exact Kerr Husimi function.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import norm

import jqd
from jqd import husimi as hs
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_within_stderr, experiment_config, panel

_AMP = hs.anti_wick_symbol(0.5j * (hs.ad(0) * hs.ad(0) - hs.a(0) * hs.a(0)))
GROUPS = 16  # sub-ensembles of the paths for the sampling errors of the claims
# the step error column: a step of jqd.evolve is a Picard sweep (dt unused; the sweeps'
# convergence is its own claim); the path step h = T/n_t is not halved in these runs
NO_STEP_ERROR = "dt unused (Picard sweeps); h = T/n_t not halved"


def amplifier_symbol(z, args):
    """Anti-Wick symbol of the amplifier with its squeezing axes rotated by θ,
    args = (κ, θ): H_θ = (iκ/2)(e^{2iθ}a†² − e^{−2iθ}a²) = U H_0 U†, U = e^{iθa†a},
    whose symbol is H_0's at the rotated point, H_θ(z) = H_0(R(−θ)z), with H_0 = κ Q P
    (κ × the ordering routine's symbol of (i/2)(a†² − a²)). θ = 0: the axis-aligned
    amplifier (Q "−", P "+"); any other θ (≠ π/2) couples Q and P in the drift and in D."""
    kappa, theta = args
    c, s = jnp.cos(theta), jnp.sin(theta)
    zr = jnp.stack([c * z[0] + s * z[1], c * z[1] - s * z[0]])
    return kappa * jnp.real(_AMP(zr))


@experiment_config(
    quick=dict(n_paths=4000, kerr_paths=400, kerr_sweeps=20, kerr_T_short=0.0, grid_points=201),
    limits={
        "kappa": "> 0",
        "T": "> 0",
        "theta": ">= 0, < 1.5707963",
        "n_paths": ">= 100",
        "n_t": ">= 6",
        "sweeps": ">= 3",
        "t1_frac": ">= 0, <= 1",
        "t2_frac": ">= 0, <= 1",
        "kerr_alpha0": "> 0",
        "kerr_U": "> 0",
        "kerr_T": "> 0",
        "kerr_T_short": ">= 0",
        "kerr_paths": ">= 10",
        "kerr_n_t": ">= 6",
        "kerr_sweeps": ">= 7",
        "grid_points": ">= 21",
        "grid_extent": "> 0",
    },
)
class Config:
    """Forward-backward trajectories (ħ = 1, C = 1).

    Attributes:
        kappa: amplifier gain rate κ (1/time).
        T: amplifier path span [0, T] (time).
        q0: Q of the amplifier's coherent start (α0 = (q0 + i p0)/√2).
        p0: P of the amplifier's coherent start.
        theta: squeezing-axis angle θ (radians) of the second, rotated amplifier
            run (Q and P coupled; 0: skip it).
        n_paths: amplifier ensemble size N (the KS bound scales as 1/√N).
        n_t: amplifier path steps (h = T/n_t).
        sweeps: amplifier Picard sweeps (one jqd.evolve step each).
        t1_frac: first time of the two-time covariances, as a fraction of T.
        t2_frac: second time of the two-time covariances, as a fraction of T.
        kerr_alpha0: Kerr coherent start amplitude (real).
        kerr_U: Kerr strength U (frequency).
        kerr_T: Kerr path span (Ut = kerr_U × kerr_T).
        kerr_T_short: a shorter Kerr span run for comparison (0: skip it).
        kerr_paths: Kerr ensemble size.
        kerr_n_t: Kerr path steps.
        kerr_sweeps: Kerr Picard sweeps.
        grid_points: points per axis of the grid used to sample and integrate
            the exact Kerr Husimi function on [−grid_extent, grid_extent]².
        grid_extent: half width of that grid.
    """

    kappa: float = 1.0
    T: float = 1.0
    q0: float = 1.0
    p0: float = 0.5
    theta: float = np.pi / 6
    n_paths: int = 100_000
    n_t: int = 50
    sweeps: int = 14
    t1_frac: float = 0.2
    t2_frac: float = 0.8
    kerr_alpha0: float = 2.0
    kerr_U: float = 1.0
    kerr_T: float = 0.5
    kerr_T_short: float = 0.1
    kerr_paths: int = 2000
    kerr_n_t: int = 50
    kerr_sweeps: int = 30
    grid_points: int = 481
    grid_extent: float = 8.0


def validate(config: Config) -> None:
    """The two-time covariances need t1 < t2 (the Markov compositions assume it)."""
    if not config.t1_frac < config.t2_frac:
        raise ValueError(
            f"t1_frac={config.t1_frac:g} must be < t2_frac={config.t2_frac:g} "
            "(e.g. --set t1_frac=0.2 --set t2_frac=0.8)."
        )


def amplifier_moments(config: Config, t):
    """Exact Husimi moments of the amplifier: means (Q0 e^{κt}, P0 e^{−κt}),
    variances (1 + e^{2κt})/2 and (1 + e^{−2κt})/2 (Gaussian at every t)."""
    k = config.kappa
    t = np.asarray(t, float)
    mean = np.stack([config.q0 * np.exp(k * t), config.p0 * np.exp(-k * t)], -1)
    var = np.stack([0.5 + 0.5 * np.exp(2 * k * t), 0.5 + 0.5 * np.exp(-2 * k * t)], -1)
    return mean, var


def rotated_moments(config: Config, t, theta):
    """Exact Husimi mean and covariance of the amplifier rotated by θ, started in
    the coherent state at (q0, p0): the Fokker-Planck equation is covariant under
    the rotation z → R(θ)z (H_θ(z) = H_0(R(−θ)z), J and the coherent start's
    covariance 𝟙 commute with R), so the solution is the axis-aligned one from
    R(−θ)(q0, p0), rotated: mean R m_0, covariance R diag(var_0) Rᵀ."""
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, -s], [s, c]])
    q0, p0 = R.T @ np.array([config.q0, config.p0])
    k, t = config.kappa, float(t)
    m0 = np.array([q0 * np.exp(k * t), p0 * np.exp(-k * t)])
    v0 = np.array([0.5 + 0.5 * np.exp(2 * k * t), 0.5 + 0.5 * np.exp(-2 * k * t)])
    return R @ m0, R @ np.diag(v0) @ R.T


def _change(t, y, params):
    return y.change


def _paths(t, y, params):
    return y.z


@jax.jit
def _stage_keys(key):
    """The stages' keys: amplifier, rotated amplifier (fold_in 1 of the
    amplifier's), Kerr, short Kerr (one program, not one per key operation)."""
    key_amp, key_kerr, key_short = jax.random.split(key, 3)
    return key_amp, jax.random.fold_in(key_amp, 1), key_kerr, key_short


@functools.partial(jax.jit, static_argnums=1)
def _amplifier_draws(key, n):
    """Standard normal (n, 2) draws for ζ0 and ζT, and the paths' noise key."""
    k0, kT, kx = jax.random.split(key, 3)
    return jax.random.normal(k0, (n, 2)), jax.random.normal(kT, (n, 2)), kx


@functools.partial(jax.jit, static_argnums=2)
def _kerr_draws(key, p, n):
    """Standard normal (n, 2) draws for ζ0, n grid indices drawn with weights p
    and uniform (n, 2) jitters in [−1/2, 1/2) for ζT, and the paths' noise key."""
    k0, kT, kx = jax.random.split(key, 3)
    ka, kb = jax.random.split(kT)
    idx = jax.random.choice(ka, p.size, (n,), p=p)
    jitter = jax.random.uniform(kb, (n, 2), minval=-0.5, maxval=0.5)
    return jax.random.normal(k0, (n, 2)), idx, jitter, kx


def _ks(x, cdf):
    """jqd.stats.ks_distance with the samples sorted by NumPy (the same order)."""
    return jqd.stats.ks_statistic(cdf(np.sort(np.ravel(x))))


def run_paths(law, key, zeta0, zetaT, params, sweeps, keep_paths=False):
    """The Picard iteration through jqd.evolve; returns (final state, RMS change
    per sweep, and with keep_paths the per-path RMS change per sweep)."""
    y0 = law.initial_state(key, zeta0, zetaT)
    observe = {"change": _change}
    if keep_paths:
        observe["z"] = _paths
    sol = jqd.evolve(
        law,
        y0,
        params,
        dt=1.0,
        n_save=sweeps,
        observe=observe,
        checkpoint=False,
        monitor=False,
        on_breakdown="flag",
    )
    per_path = None
    if keep_paths:
        Z = np.asarray(sol.observables["z"])
        per_path = np.sqrt(np.mean((Z[1:] - Z[:-1]) ** 2, axis=(2, 3)))  # (sweeps, n)
    return sol.y_final, np.asarray(sol.observables["change"])[1:], per_path


def marginal_ks(z, ts, n_t, moments):
    """KS distances (times × (Q, P)) of the paths' Q and P marginals at the five
    saves k·n_t/6 to the Gaussians of `moments(t) -> (means, variances)`."""
    picks = [round(f * n_t) for f in (1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6)]
    ks = np.zeros((len(picks), 2))
    for i, k in enumerate(picks):
        mean, var = moments(ts[k])
        for c in range(2):
            cdf = lambda x, c=c: norm.cdf(x, mean[c], np.sqrt(var[c]))  # noqa: E731
            ks[i, c] = float(_ks(z[:, k, c], cdf))
    return picks, ks


def max_ks_stderr(z, ts, n_t, moments):
    """Sampling SE of the largest of the KS distances of `marginal_ks`: on each of
    GROUPS strided sub-ensembles (path i in group i mod GROUPS) the largest KS
    distance D_g times √n_g has the law of D √N, so SE(D) = std_g(D_g √n_g)/√N."""
    scaled = [
        marginal_ks(z[g::GROUPS], ts, n_t, moments)[1].max() * np.sqrt(len(z[g::GROUPS]))
        for g in range(GROUPS)
    ]
    return float(np.std(scaled, ddof=1) / np.sqrt(len(z)))


def amplifier(config: Config, rec: Recorder, key):
    N = config.n_paths
    xi0, xiT, kx = _amplifier_draws(key, N)
    m0, v0 = amplifier_moments(config, 0.0)
    mT, vT = amplifier_moments(config, config.T)
    zeta0 = m0 + np.sqrt(v0) * np.asarray(xi0)
    zetaT = mT + np.sqrt(vT) * np.asarray(xiT)  # the exact ρ(T): a boundary input
    law = hs.ForwardBackward(amplifier_symbol, config.T, config.n_t)
    params = hs.FBParams(1.0, (config.kappa, 0.0))
    y, change, _ = run_paths(law, kx, zeta0, zetaT, params, config.sweeps)
    z = np.asarray(y.z)
    ts = np.linspace(0.0, law.T, law.n_t + 1)  # law.times, on the host
    moments = lambda t: amplifier_moments(config, t)  # noqa: E731
    picks, ks = marginal_ks(z, ts, config.n_t, moments)
    family = jqd.stats.ks_critical(N, 0.05 / ks.size)
    rec.claim(
        "amplifier: KS of the Q and P marginals at 5 times (Bonferroni 5 %)",
        "physics §4.12: '+' forward and '−' backward paths have the exact Husimi marginals",
        ks.max(),
        family,
        se=max_ks_stderr(z, ts, config.n_t, moments),
        step_error=NO_STEP_ERROR,
    )
    rec.metric("amplifier_ks_Q", ks[:, 0].tolist())
    rec.metric("amplifier_ks_P", ks[:, 1].tolist())
    rec.metric("amplifier_ks_times", ts[picks].tolist())
    rec.metric("amplifier_ks_bound_1.36/sqrtN", 1.36 / np.sqrt(N))
    rec.metric("amplifier_n_ks_above_1.36/sqrtN", int(np.sum(ks > 1.36 / np.sqrt(N))))
    rec.metric("amplifier_change_per_sweep", change.tolist())
    ratio = change[1:] / change[:-1]
    rec.metric("amplifier_contraction_per_sweep", ratio.tolist())
    rec.claim(
        "amplifier: Picard iteration converged (RMS change of the last sweep)",
        "physics §4.12: the sweeps converge to the forward-backward path",
        change[-1],
        1e-9,
    )
    # two-time covariances against the Markov compositions
    i1, i2 = round(config.t1_frac * config.n_t), round(config.t2_frac * config.n_t)
    t1, t2 = ts[i1], ts[i2]
    _, v1 = amplifier_moments(config, t1)
    _, v2 = amplifier_moments(config, t2)
    decay = np.exp(-config.kappa * (t2 - t1))
    markov = {"P": v1[1] * decay, "Q": v2[0] * decay}  # forward OU for P, backward OU for Q
    var1, var2 = {"P": v1[1], "Q": v1[0]}, {"P": v2[1], "Q": v2[0]}
    cov, se = {}, {}
    # the largest z-score on each sub-ensemble has the law of the whole one's: their
    # spread is its sampling SE
    z_groups = np.zeros(GROUPS)
    for c, name in ((1, "P"), (0, "Q")):
        cov[name] = float(np.cov(z[:, i1, c], z[:, i2, c])[0, 1])
        se[name] = np.sqrt((var1[name] * var2[name] + markov[name] ** 2) / N)
        for g in range(GROUPS):
            zg = z[g::GROUPS]
            cov_g = np.cov(zg[:, i1, c], zg[:, i2, c])[0, 1]
            se_g = np.sqrt((var1[name] * var2[name] + markov[name] ** 2) / len(zg))
            z_groups[g] = max(z_groups[g], abs(cov_g - markov[name]) / se_g)
        rec.metric(f"amplifier_cov_{name}_t1_t2", cov[name])
        rec.metric(f"amplifier_cov_{name}_markov", markov[name])
        rec.metric(f"amplifier_cov_{name}_se", se[name])
    # the forward composition Q(t2) = e^{κ(t2−t1)} Q(t1) + (no forward noise exists)
    liouville = v1[0] / decay
    rec.metric("amplifier_cov_Q_forward_liouville", liouville)
    claim_within_stderr(
        rec,
        "amplifier: two-time covariances vs Markov compositions (z-score)",
        "physics §4.12: Cov(P1, P2) = Var P(t1) e^{−κΔt}, Cov(Q1, Q2) = Var Q(t2) e^{−κΔt}",
        [cov["P"], cov["Q"]],
        [markov["P"], markov["Q"]],
        [se["P"], se["Q"]],
        tolerance=4.0,
        se=float(np.std(z_groups, ddof=1)),
        step_error=NO_STEP_ERROR,
    )
    return z, ts, picks, ks


def rotated_amplifier(config: Config, rec: Recorder, key):
    """The amplifier with its squeezing axes at θ: drift and D couple Q and P, the
    ± frames are rotated (constant), the boundary rows mix Q and P. The same law
    and program as the axis-aligned run (θ is a traced argument)."""
    N, th = config.n_paths, config.theta
    xi0, xiT, kx = _amplifier_draws(key, N)
    m0, c0 = rotated_moments(config, 0.0, th)
    mT, cT = rotated_moments(config, config.T, th)
    zeta0 = m0 + np.asarray(xi0) @ np.linalg.cholesky(c0).T
    zetaT = mT + np.asarray(xiT) @ np.linalg.cholesky(cT).T  # ρ(T): a boundary input
    law = hs.ForwardBackward(amplifier_symbol, config.T, config.n_t)
    y, change, _ = run_paths(
        law, kx, zeta0, zetaT, hs.FBParams(1.0, (config.kappa, th)), config.sweeps
    )
    z = np.asarray(y.z)
    ts = np.linspace(0.0, law.T, law.n_t + 1)

    def moments(t):
        mean, cov = rotated_moments(config, t, th)
        return mean, np.diagonal(cov)

    picks, ks = marginal_ks(z, ts, config.n_t, moments)
    rec.claim(
        f"amplifier rotated to θ = {np.degrees(th):g}° (Q, P coupled): KS of its Q and P "
        "marginals at 5 times (Bonferroni 5 %)",
        "physics §4.12 with rotated ± frames; exact: the rotated Gaussian (rotation covariance)",
        ks.max(),
        jqd.stats.ks_critical(N, 0.05 / ks.size),
        se=max_ks_stderr(z, ts, config.n_t, moments),
        step_error=NO_STEP_ERROR,
    )
    rec.metric("rotated_theta_deg", float(np.degrees(th)))
    rec.metric("rotated_ks_Q", ks[:, 0].tolist())
    rec.metric("rotated_ks_P", ks[:, 1].tolist())
    rec.metric("rotated_change_last_sweep", float(change[-1]))
    # the Q-P covariance the rotation creates, against the closed form
    k = picks[2]
    _, cov = rotated_moments(config, ts[k], th)
    rec.metric(
        f"rotated_cov_QP_t_{ts[k]:.2f}",
        {"paths": float(np.cov(z[:, k, 0], z[:, k, 1])[0, 1]), "exact": float(cov[0, 1])},
    )


def _kerr_grid(config: Config, t):
    x = np.linspace(-config.grid_extent, config.grid_extent, config.grid_points)
    t = float(t)  # a Python float every time: one program for every t
    rho, marg = jqd.reference.kerr_husimi_marginals(x, t, config.kerr_alpha0, config.kerr_U)
    return x, rho, marg


def kerr(config: Config, T, n_t, key):
    """Kerr forward-backward paths on [0, T]: (flagged fraction, converged
    fraction (last change < 1e-8), the median non-flagged path's RMS change per
    sweep, KS (Q, P) of the non-flagged paths at 5 times, their number, and a
    diagnosis: the non-flagged paths still moving by > 1e-3 ("stuck") or settled
    to < 1e-5, with the t = 0 moments of Q of each group)."""
    n = config.kerr_paths
    x, rho, _ = _kerr_grid(config, T)
    dx = x[1] - x[0]
    p = (rho / rho.sum()).ravel()
    xi0, idx, jitter, kx = _kerr_draws(key, p, n)
    zeta0 = np.array([np.sqrt(2) * config.kerr_alpha0, 0.0]) + np.asarray(xi0)
    i, j = np.unravel_index(np.asarray(idx), rho.shape)
    jitter = np.asarray(jitter) * dx
    zetaT = np.stack([x[i], x[j]], -1) + jitter  # samples of the exact ρ(T)
    law = hs.ForwardBackward(jqd.reference.kerr_symbol, T, n_t)
    params = hs.FBParams(1.0, config.kerr_U)
    y, _, per_path = run_paths(law, kx, zeta0, zetaT, params, config.kerr_sweeps, True)
    ok = np.asarray(y.flag) == 0
    change = np.median(per_path[:, ok], axis=1)  # the median path's RMS change per sweep
    converged = float(np.mean(ok & (per_path[-1] < 1e-8)))
    # "stuck": non-flagged paths still moving by > 1e-3 after the last sweep;
    # "settled": moving by < 1e-5
    stuck = ok & (per_path[-1] > 1e-3)
    settled = ok & (per_path[-1] < 1e-5)
    z_all = np.asarray(y.z)
    diag = {
        "stuck_fraction_of_nonflagged": float(stuck.sum() / max(ok.sum(), 1)),
        "settled_fraction_of_nonflagged": float(settled.sum() / max(ok.sum(), 1)),
        "mean_Q0_settled": float(z_all[settled, 0, 0].mean()) if settled.any() else None,
        "var_Q0_settled": float(z_all[settled, 0, 0].var()) if settled.any() else None,
        "mean_Q0_stuck": float(z_all[stuck, 0, 0].mean()) if stuck.any() else None,
        "exact_mean_var_Q0": [float(np.sqrt(2) * config.kerr_alpha0), 1.0],
    }
    z = np.asarray(y.z)[ok]
    ts = np.linspace(0.0, law.T, law.n_t + 1)
    edges = np.concatenate([[x[0] - dx / 2], x + dx / 2])
    ks = []
    for k in [round(f * n_t) for f in (1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6)]:
        _, _, marg = _kerr_grid(config, ts[k])
        row = []
        for c in range(2):
            cum = np.concatenate([[0.0], np.cumsum(marg[c] * dx)])
            cum /= cum[-1]
            row.append(float(_ks(z[:, k, c], lambda s: np.interp(s, edges, cum))))
        ks.append(row)
    return 1 - ok.mean(), converged, change, np.array(ks), int(ok.sum()), diag


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt

    key_amp, key_rotated, key_kerr, key_short = _stage_keys(rec.key())
    z, ts, picks, ks = amplifier(config, rec, key_amp)
    if config.theta:
        rotated_amplifier(config, rec, key_rotated)
    results = {}
    runs = [("kerr", config.kerr_T, key_kerr)]
    if config.kerr_T_short > 0:
        runs.append(("kerr_short", config.kerr_T_short, key_short))
    for name, T, k in runs:
        n_t = max(6, round(config.kerr_n_t * T / config.kerr_T))
        flagged, converged, change, kks, n_ok, diag = kerr(config, T, n_t, k)
        results[name] = (T, change)
        rec.metric(f"{name}_Ut", config.kerr_U * T)
        rec.metric(f"{name}_n_t", n_t)
        rec.metric(f"{name}_flagged_fraction", flagged)
        rec.metric(f"{name}_converged_fraction", converged)
        rec.metric(f"{name}_median_change_per_sweep", change.tolist())
        rec.metric(f"{name}_median_contraction_last5", (change[-5:] / change[-6:-1]).tolist())
        rec.metric(f"{name}_ks_QP_nonflagged", kks.tolist())
        rec.metric(f"{name}_nonflagged", n_ok)
        rec.metric(f"{name}_picard_diagnosis", diag)
        rec.metric(f"{name}_ks_bound_1.36/sqrt(nonflagged)", 1.36 / np.sqrt(max(n_ok, 1)))

    fig, axes = plt.subplots(2, 5, figsize=(16, 7))
    for i, k in enumerate(picks):
        mean, var = amplifier_moments(config, ts[k])
        for c, lab in ((0, "Q (− coordinate)"), (1, "P (+ coordinate)")):
            ax = axes[c, i]
            ax.hist(z[:, k, c], bins=80, density=True, alpha=0.5, label="paths")
            edges = np.histogram_bin_edges(z[:, k, c], 80)
            dens = np.histogram(z[:, k, c], edges, density=True)[0]
            parts = [
                np.histogram(z[g::GROUPS, k, c], edges, density=True)[0] for g in range(GROUPS)
            ]
            dens_se = np.std(parts, axis=0, ddof=1) / np.sqrt(GROUPS)
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.errorbar(centres, dens, dens_se, fmt="none", ecolor="C0", lw=0.6, label="± SE")
            s = np.linspace(mean[c] - 4 * np.sqrt(var[c]), mean[c] + 4 * np.sqrt(var[c]), 200)
            ax.plot(s, norm.pdf(s, mean[c], np.sqrt(var[c])), "k", lw=1, label="exact")
            ax.set_title(f"t = {ts[k]:.2f}: KS {ks[i, c]:.4f}", fontsize=9)
            ax.set_xlabel(lab)
    axes[0, 0].set_ylabel("density")
    axes[1, 0].set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"Parametric amplifier, N = {config.n_paths}: forward-backward path marginals vs exact "
        f"Husimi (KS bound 1.36/√N = {1.36 / np.sqrt(config.n_paths):.4f})"
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))  # row titles clear of the labels above
    rec.figure(fig, "amplifier_marginals.png")

    fig, ax = plt.subplots(figsize=(6.5, 4))
    amp_change = np.asarray(rec.metrics["amplifier_change_per_sweep"])
    ax.semilogy(np.arange(1, len(amp_change) + 1), amp_change, "o-", label="amplifier κT = 1")
    for name, (T, change) in results.items():
        lab = f"Kerr Ut = {config.kerr_U * T:g} (median non-flagged path)"
        ax.semilogy(np.arange(1, len(change) + 1), change, "s-", label=lab)
    panel(
        ax,
        "Picard sweep",
        "RMS path change per sweep (Q, P units)",
        "Picard convergence of the forward-backward paths",
        legend=True,
    )
    rec.figure(fig, "picard_convergence.png")


EXPERIMENT = Experiment(
    description="Time-symmetric forward-backward Husimi trajectories (Picard sweeps): "
    "parametric amplifier vs exact marginals and two-time covariances; Kerr convergence",
    physics="§4.3, §4.12",
)
