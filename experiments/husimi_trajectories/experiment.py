"""husimi-trajectories: do phase-space points moved by the probability flow
v = J∇H − ½∇·D − ½D∇ln ρ (physics §4) stay distributed as the exact Husimi density?

Kerr mode H = (U/2) a†²a² (anti-Wick symbol (U/2)(|α|⁴ − 4|α|² + 2)), coherent start
α0 = 2; ρ(z, t) is the exact Husimi function (jqd.reference.kerr_husimi), ∇ln ρ by
autodiff. Points sampled from ρ(0) are integrated with RK4; their 1-D marginal
histograms are compared with the exact marginals (Kolmogorov-Smirnov distance) at
Ut = 0.1 and 0.5, and points passing near zeros of ρ are counted.

The same flow is then driven by a density with no closed form: ρ from the coefficient
matrix R(t) of the Galerkin law `jqd.husimi.HusimiGalerkin`, stepped alongside the
points (`GalerkinDensity`). It must reproduce the analytic-density trajectories, and is
run on to Ut = π (the cat state), where zeros of the Husimi function enter the
populated region: they are located (roots of ⟨α|ψ⟩ e^{|α|²/2}, a polynomial in ᾱ) and
the trajectories' closest approach to them and the flagged points are reported.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

import jqd
from jqd import husimi as hs
from jqd.husimi import GalerkinDensity, flow_trajectories
from jqd.reference import kerr_symbol as kerr
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, experiment_config, panel

GROUPS = 16  # sub-ensembles of the points for the sampling standard errors


@experiment_config(
    quick=dict(n_points=500, dt=0.025, n_long=500, dt_long=0.025),
    limits={
        "dt": "> 0",
        "dt_long": "> 0",
    },
)
class Config:
    """Probability-flow points for the Kerr mode, U = 1 (ħ = 1; z = (Q, P) = √2 (Re α, Im α)).

    Attributes:
        alpha0: coherent amplitude of the initial state |α0⟩ (real).
        n_points: points sampled from ρ(0), run to Ut = 0.5 on the exact density
            (KS critical value 1.83/√n_points).
        dt: RK4 step of that run (> 0; saves every Ut = 0.1, rounded to whole
            steps per save).
        seed: PRNG seed of the initial points (seed + 1 for the long run).
        n_max: terms of the series of the exact Kerr Husimi density.
        cutoff: Galerkin Fock cutoff (Poisson(4) tail beyond 40 < 1e-20).
        n_long: points run on to Ut = π with the Galerkin density.
        dt_long: nominal RK4 step of the long run (> 0; adjusted to whole steps
            per save, 10 saves every Ut = π/10).
    """

    alpha0: float = 2.0
    n_points: int = 20000
    dt: float = 0.01
    seed: int = 0
    n_max: int = 50
    cutoff: int = 40
    n_long: int = 4000
    dt_long: float = 0.01


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draws(seed, n: int, n_long: int):
    """The standard normal draws of both runs' initial points (keys seed and seed + 1)
    in one program (eager: key, normal, and the offset's conversion and add)."""
    z = jax.random.normal(jax.random.key(seed), (n, 2))
    return z, jax.random.normal(jax.random.key(seed + 1), (n_long, 2))


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    a0 = config.alpha0

    def log_rho(z, t):
        return jqd.reference.kerr_log_density(z, t, a0, n_max=config.n_max)

    # the offset is added on the host (one rounding, as eager; fused in _draws it need not be)
    offset = np.array([np.sqrt(2) * a0, 0.0])
    draw0, draw_long = _draws(config.seed, config.n_points, config.n_long)
    z0 = jax.device_put(np.asarray(draw0) + offset)
    steps = int(round(0.1 / config.dt))
    res = _flow_with_step_error(log_rho, z0, config.dt, steps)
    z_saved, ts_saved = res["z"], res["ts"]  # indexed on the host
    z_half = z_saved - res["step"]  # the same starts run at dt/2
    x = np.linspace(-8, 8, 801)
    dx = x[1] - x[0]
    Q, P = np.meshgrid(x, x, indexing="ij")
    crit = 1.83 / np.sqrt(config.n_points)  # family-wise 1 % over the 4 comparisons
    fig, axs = plt.subplots(2, 3, figsize=(14, 8))
    ks_all = {}
    margs = {}
    for row, i in enumerate((1, 5)):
        t = float(ts_saved[i])
        rho, marginals = jqd.reference.kerr_husimi_marginals(x, t, a0, n_max=60)
        pts = z_saved[i]
        for ax_i, name in ((0, "Q"), (1, "P")):
            m = marginals[ax_i]
            cdf = np.cumsum(m) * dx - 0.5 * m * dx
            n = len(pts)
            ks_of = lambda p: jqd.stats.ks_statistic(np.interp(np.sort(p), x, cdf))  # noqa: E731
            ks = ks_of(pts[:, ax_i])
            ks_all[f"ks_{name}_t{t:g}"] = ks
            margs[(t, name)] = m
            rec.claim(
                f"KS distance of the {name} marginal at Ut = {t:g}",
                "physics §4: the probability flow transports ρ(0) to ρ(t)",
                ks,
                crit,
                se=_ks_stderr(ks_of, pts[:, ax_i]),
                step_error=ks - float(ks_of(z_half[i][:, ax_i])),
            )
            ax = axs[row, ax_i]
            ax.hist(pts[:, ax_i], bins=60, density=True, alpha=0.5, label=f"{n} trajectories")
            centres, dens, dens_se = _histogram_with_stderr(pts[:, ax_i], 60)
            ax.errorbar(centres, dens, dens_se, fmt="none", ecolor="C0", lw=0.8, label="± SE")
            ax.plot(x, m, "k", label="exact Husimi marginal")
            ax.set_xlim(-5, 5)
            ax.set_ylim(0, 1.45 * max(np.max(dens + dens_se), np.max(m)))  # room for the legend
            panel(
                ax,
                f"{name} (dimensionless)",
                "density",
                f"Ut = {t:g}: KS = {ks:.3g} (1 % critical {crit:.3g})",
                legend=True,
            )
        ax = axs[row, 2]
        ax.contour(Q, P, rho, 12, cmap="viridis")
        ax.plot(pts[:2000, 0], pts[:2000, 1], ".", ms=1, color="C3", label="points")
        ax.set_xlim(-5, 5)
        ax.set_ylim(-5, 5)
        panel(ax, "Q", "P", f"Ut = {t:g}: points on exact ρ contours", legend=True)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.suptitle("Probability-flow trajectories follow the exact Kerr Husimi density")
    rec.figure(fig, "trajectories.png")
    for k, v in ks_all.items():
        rec.metric(k, v)
    rec.metric("ks_critical_1pct_familywise", crit)
    rec.metric("n_points_near_zero", int(res["n_hit_zero"]))
    ft = res["first_zero_time"]
    rec.metric("first_zero_time", float(np.nanmin(ft)) if np.any(np.isfinite(ft)) else None)
    # every trajectory converged in dt: its step error |z(dt) − z(dt/2)| (the same start)
    step = np.linalg.norm(res["step"], axis=-1)  # (saves, points)
    rec.claim(
        "trajectories converged in dt: max step error over points and saves to Ut = 0.5",
        "RK4 resolves the flow: max over the points of |z(dt) − z(dt/2)| from the same start "
        "≤ 0.1, a tenth of the Husimi width of the coherent start (std 1 per coordinate)",
        float(step.max()),
        0.1,
    )
    rec.metric("step_error_median_point_per_save", np.median(step, axis=1).tolist())
    rec.metric("step_error_max_point_per_save", step.max(axis=1).tolist())

    # ---- the same flow driven by the Galerkin density (no closed form) ----------
    K = config.cutoff
    # R(t) from the exponential of the Fokker-Planck operator L(1) itself (not the unitary split)
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K, scheme=jqd.schemes.Exact())
    R0 = law.initial_state(jqd.fock.coherent_state(a0, K))
    dens = GalerkinDensity(law, R0, hs.GalerkinParams(1.0))
    n_cmp = min(config.n_points, 500)
    res_g = flow_trajectories(
        kerr, dens, z0[:n_cmp], dt=config.dt, n_save=5, steps_per_save=steps, args=1.0
    )
    claim_max_error(
        rec,
        "max |z_Galerkin − z_exact| over points and saves to Ut = 0.5",
        "the Galerkin R(t) reproduces the exact Husimi function (physics §4)",
        res_g.z,
        z_saved[:, :n_cmp],
        tolerance=1e-8,
    )

    # ---- on to Ut = π with the Galerkin density: zeros of the Husimi function ----
    n_long = int(round(np.pi / config.dt_long / 10))
    dt_long = np.pi / (10 * n_long)
    zl = jax.device_put(np.asarray(draw_long) + offset)
    res_l = flow_trajectories(
        kerr, dens, zl, dt=dt_long, n_save=10, steps_per_save=n_long, args=1.0
    )
    zl_saved = np.asarray(res_l.z)
    ts_l = np.asarray(res_l.ts)
    sol = jqd.evolve(law, R0, hs.GalerkinParams(1.0), dt=ts_l[1], n_save=10)
    zeros_at, closest = [], []
    R_saved = np.asarray(sol.observables)
    for i, R in enumerate(R_saved):
        # pure state: ψ = leading eigenvector; ⟨α|ψ⟩ e^{|α|²/2} = Σ ψ_n ᾱⁿ/√n!
        w, V = np.linalg.eigh(R)
        psi = V[:, -1]
        c = psi / np.sqrt(np.exp(np.cumsum(np.log(np.maximum(np.arange(K), 1)))))
        roots = np.conj(np.roots(c[::-1][np.argmax(np.abs(c[::-1]) > 1e-300) :]))
        near = roots[np.abs(roots) < 4]  # the populated region: |α| < 4
        zeros_at.append(near)
        pts = zl_saved[i]
        alpha = (pts[:, 0] + 1j * pts[:, 1]) / np.sqrt(2)
        ok = np.all(np.isfinite(pts), -1)
        d = np.abs(alpha[ok, None] - near[None, :]).min(-1) if near.size else np.array([np.inf])
        closest.append(float(d.min()) if d.size else np.inf)
    n_zeros = [len(z) for z in zeros_at]
    rec.metric("long_run_ts", ts_l)
    rec.metric("husimi_zeros_within_abs_alpha_4", n_zeros)
    rec.metric("closest_approach_to_a_zero", closest)
    rec.metric("long_run_n_points_flagged", int(res_l.n_hit_zero))
    ftl = np.asarray(res_l.first_zero_time)
    rec.metric(
        "long_run_first_flag_time", float(np.nanmin(ftl)) if np.any(np.isfinite(ftl)) else None
    )
    # a point whose step turned non-finite stays put with flag 3
    rec.metric("long_run_n_points_nonfinite", int(np.sum(np.asarray(res_l.flag) == 3)))
    zpi = zeros_at[-1]
    rec.claim(
        "zero of the Ut = π Husimi function at α = −π/(4α0) (cat interference) located",
        "physics §4: at Ut = π the state is (e^{−iπ/4}|iα0⟩ + e^{iπ/4}|−iα0⟩)/√2",
        float(np.min(np.abs(zpi + np.pi / (4 * a0)))) if zpi.size else np.inf,
        1e-6,
    )

    fig, axs = plt.subplots(1, 3, figsize=(15, 4.8))
    xg = np.linspace(-5, 5, 201)
    Qg, Pg = np.meshgrid(xg, xg, indexing="ij")
    ag = (Qg + 1j * Pg) / np.sqrt(2)
    for ax, i in zip(axs, (2, 6, 10)):
        rho_g = np.asarray(law.husimi(R_saved[i], ag[..., None])) / 2
        ax.contour(Qg, Pg, rho_g, 12, cmap="viridis")
        pts = zl_saved[i]
        ax.plot(pts[:2000, 0], pts[:2000, 1], ".", ms=1, color="C3", label="points")
        zz = zeros_at[i]
        ax.plot(np.sqrt(2) * zz.real, np.sqrt(2) * zz.imag, "kx", ms=7, label="zeros of ρ")
        flag = np.asarray(res_l.hit_zero)
        if flag.any():
            ax.plot(pts[flag, 0], pts[flag, 1], "o", mfc="none", color="C1", label="flagged")
        ax.set_xlim(-5, 5)
        ax.set_ylim(-5, 5)
        panel(ax, "Q", "P", f"Ut = {ts_l[i]:.3g}: {n_zeros[i]} zeros in |α| < 4", loc="upper right")
    fig.suptitle("Galerkin-driven probability flow to the Kerr cat (Ut = π) and the zeros of ρ")
    fig.tight_layout()
    rec.figure(fig, "galerkin_zeros.png")
    rec.arrays(
        xr.Dataset(
            {
                "z": (("t", "point", "coord"), z_saved[:, :2000]),
                "z_long": (("t_long", "point_long", "coord"), zl_saved[:, :2000]),
            },
            coords={"t": ts_saved, "t_long": ts_l, "coord": ["Q", "P"]},
        ),
        "trajectories.nc",
    )
    if rec.animate:  # `jqd run husimi-trajectories --animate`
        _animate(rec, config, log_rho, z0)


def _flow_with_step_error(log_rho, z0, dt, steps):
    """The exact-density flow of the KS claims as `flow_trajectories` runs it (one
    `jqd.evolve` of a `HusimiFlow`, flagged points counted), with
    `errors=jqd.Errors()`: the same program also runs the same starts at dt/2
    (a deterministic ensemble: the step error is the integrator's alone) and
    returns z(dt) − z(dt/2) per point; z(dt) keeps the plain run's bits."""
    law = hs.HusimiFlow(kerr, log_rho)
    dtype = z0.dtype
    sol = jqd.evolve(
        law,
        law.initial_state(z0, t0=np.asarray(0.0, dtype)),  # host scalars: no program
        hs.FlowParams(np.asarray(1.0, dtype), 1.0, None),
        dt=dt,
        n_save=5,
        steps_per_save=steps,
        t0=0.0,
        observe=_points,
        monitor=law.density_monitor,  # flag and count, as flow_trajectories does
        checkpoint=False,
        errors=jqd.Errors(groups=GROUPS),
    )
    flag = np.asarray(sol.y_final.flag)
    hit = flag > 0
    return {
        "ts": np.asarray(sol.ts),
        "z": np.asarray(sol.observables),
        "step": np.asarray(sol.errors.step),
        "n_hit_zero": int(hit.sum()),
        "first_zero_time": np.where(hit, np.asarray(sol.y_final.flag_time), np.nan),
    }


def _points(t, y, params):
    return y.z


def _ks_stderr(ks_of, samples):
    """Sampling SE of a KS distance D of N samples from GROUPS strided
    sub-ensembles (sample i in group i mod GROUPS): D_g √n_g has the law of
    D √N (Kolmogorov's), so SE(D) = std_g(D_g √n_g)/√N."""
    scaled = [
        float(ks_of(samples[g::GROUPS])) * np.sqrt(len(samples[g::GROUPS])) for g in range(GROUPS)
    ]
    return float(np.std(scaled, ddof=1) / np.sqrt(len(samples)))


def _histogram_with_stderr(samples, bins):
    """(bin centres, density, its SE from GROUPS strided sub-ensembles)."""
    edges = np.histogram_bin_edges(samples, bins)
    dens = np.histogram(samples, edges, density=True)[0]
    parts = np.stack([np.histogram(samples[g::GROUPS], edges, density=True)[0]
                      for g in range(GROUPS)])  # fmt: skip
    return 0.5 * (edges[1:] + edges[:-1]), dens, parts.std(0, ddof=1) / np.sqrt(GROUPS)


def _animate(rec: Recorder, config: Config, log_rho, z0) -> None:
    """Points moved by the flow of the exact density (as in the KS check) over that
    density, saved every Ut = 0.1 on to Ut = 3.5 (past the cat at π): the claims'
    run continued in chunks of Ut = 0.5 (the plain run, without its dt/2 twin: one
    more compiled program, for every chunk)."""
    import matplotlib.pyplot as plt

    steps = int(round(0.1 / config.dt))
    z, ts = [z0[:2000]], [0.0]
    for _ in range(7):
        res = flow_trajectories(
            kerr, log_rho, z[-1], dt=config.dt, n_save=5, steps_per_save=steps, args=1.0, t0=ts[-1]
        )
        z += list(res.z[1:])
        ts += [float(t) for t in res.ts[1:]]
    z, ts = np.stack([np.asarray(zk) for zk in z]), np.asarray(ts)
    xg = np.linspace(-5, 5, 121)
    Qg, Pg = np.meshgrid(xg, xg, indexing="ij")
    ag = (Qg + 1j * Pg) / np.sqrt(2)
    # density in z = (Q, P) = √2 (Re α, Im α): ρ(z) = Q_H(α)/2
    zmax = abs(config.alpha0) * np.abs(ag).max()  # kerr_husimi's own number of terms
    n_max = int(zmax + 12 * np.sqrt(zmax) + 40)
    exact = jax.jit(lambda t: jqd.reference.kerr_husimi(ag, t, config.alpha0, 1.0, n_max) / 2)
    rho = [np.asarray(exact(t)) for t in ts]
    fig, ax = plt.subplots(figsize=(7.2, 6.6), layout="constrained")
    im = ax.imshow(
        rho[0].T, origin="lower", extent=[-5, 5, -5, 5], cmap="Blues", vmin=0, vmax=rho[0].max()
    )
    fig.colorbar(im, ax=ax, shrink=0.8, label="exact Husimi density ρ(Q, P, t)")
    (pts,) = ax.plot(z[0, :, 0], z[0, :, 1], ".", ms=2, color="C3", label="flow points")
    ax.set_xlim(-5, 5)
    ax.set_ylim(-5, 5)
    panel(ax, "Q (dimensionless)", "P (dimensionless)", loc="upper right", fontsize=9)

    def update(k):
        im.set_data(rho[k].T)
        pts.set_data(z[k, :, 0], z[k, :, 1])
        return f"Ut = {ts[k]:.2f};  {z.shape[1]} points"

    rec.animation(
        fig,
        update,
        len(ts),
        "trajectories.mp4",
        claim="Probability-flow points stay distributed as the exact Kerr Husimi density ρ(t), "
        "through the cat at Ut = π",
    )


EXPERIMENT = Experiment(
    description="Probability-flow trajectory ensembles vs the exact Kerr Husimi density",
    physics="§4.9",
    animates=True,
)
