"""A Gaussian packet in the 2-D well V = ½(x² + 1.69 y²) + λ x² y² (physics §7.9).

Quantum: `jqd.SchrodingerGrid` (split-step) on a 2-D periodic grid, ψ(0) a
minimum-uncertainty Gaussian of width a = √ħ at rest at (x0, y0). Classical:
`jqd.thermal.ClassicalWell` (Yoshida-4) on an ensemble drawn from the initial
Wigner function (x ~ N(x0, a²/2), p ~ N(0, ħ²/2a²) on each axis). Read-outs:
the width W(t) = √(Var x + Var y); the doubling time (W = 2W0) and the time
to reach a fixed width W* (Ehrenfest time) against ln(1/ħ), compared with
1/(2Λ) for the classical finite-time Lyapunov exponent Λ (tangent maps of
Wigner-sampled orbits, NumPy); and the L1 distance between the quantum and
classical position densities on coarse bins.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.thermal import ClassicalWell, WellParams, WellState, coupled_quartic
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, experiment_config, panel, panel_grid

GROUPS = 16  # sub-ensembles of the classical trajectories for the sampling errors


@experiment_config(
    quick=dict(
        # the claims at t = 150 are checked up to t = 20 (README: "by t = 150"
        # then follows; L1 is averaged over [10, 20] only)
        hbars=(0.4, 0.2, 0.1),
        t_final=20.0,
        t_scan=12.0,
        n_classical=50000,
    ),
    limits={
        "lam": ">= 0",
        "hbar": "> 0",
        "t_final": "> 0",
        "t_scan": "> 0",
        "w_star": "> 0",
        "box": "> 0",
        "p_cut": "> 0",
        "dt_per_hbar": "> 0",
        "save_every": "> 0",
        "dt_classical": "> 0",
        "ehrenfest_factor": "> 1",
        "hbar_check": "> 0",
        "mass_check": "> 0",
    },
)
class Config:
    """Chaotic well (units m = 1, k_x = 1: times in 1/ω_x).

    Attributes:
        lam: the coupling λ of the chaotic run.
        x0, y0: packet centre (at rest); (0.5, 3.5) has E ≈ 10.9 and a
            classical Lyapunov exponent ≈ 0.19 (a chaotic orbit; README).
        hbar: ħ of the main run (widths, L1).
        hbars: the ħ values of the Ehrenfest-time scan (the main ħ included).
        t_final: end of the main runs (λ = 0 and λ = lam); the issue's claims
            are at t = 150.
        t_scan: end of the scan runs for the other ħ (long enough to reach W*).
        w_star: the fixed width W* whose first-passage time is the Ehrenfest
            time (ħ-independent; about 1/4 of the orbit size).
        box: periodic box length per axis (the orbit spans |x| < 4.7, |y| < 3.6).
        p_cut: largest momentum the grid resolves (√(2E) ≈ 4.7, plus 5σ_p at ħ = 0.1):
            points per axis = the power of 2 ≥ box p_cut/(πħ).
        dt_per_hbar: split step dt = dt_per_hbar·ħ for ħ <= 0.1 (V dt/ħ must
            vary by < π where ρ > 1e-8 max ρ: V ≤ 30 there), and
            dt_per_hbar·0.01/ħ above (wider packets reach V ≈ 100 in their tails).
        save_every: time between saved read-outs.
        n_classical: classical trajectories.
        dt_classical: Yoshida-4 step of the classical ensemble.
        n_bins: coarse bins per axis for the L1 distance.
        n_lyapunov: Wigner-sampled trajectories (at ħ = hbar) whose tangent
            dynamics give the classical Lyapunov exponent Λ.
        ehrenfest_factor: the Ehrenfest slope must lie within this factor of
            1/(2Λ) (fixed before the checked run; README).
        hbar_check, mass_check: ħ and m of a second λ = 0 run (t <= t_scan)
            against the closed form, the check at ħ ≠ 1, m ≠ 1 (an ħ in `hbars`
            reuses that scan run's compiled program). Its grid must resolve
            the orbit's momenta, √(2mV(x0, y0)) + 5σ_p (they grow as √m).
    """

    lam: float = 0.15
    x0: float = 0.5
    y0: float = 3.5
    hbar: float = 0.1
    hbars: tuple[float, ...] = (0.4, 0.2, 0.1, 0.05)
    t_final: float = 150.0
    t_scan: float = 16.0
    w_star: float = 1.0
    box: float = 13.0
    p_cut: float = 6.0
    dt_per_hbar: float = 0.1
    save_every: float = 0.25
    n_classical: int = 200000
    dt_classical: float = 0.05
    n_bins: int = 16
    n_lyapunov: int = 1000
    ehrenfest_factor: float = 2.0
    hbar_check: float = 0.2
    mass_check: float = 0.5


def _points(config, hbar):
    n = config.box * config.p_cut / (math.pi * hbar)
    return max(32, 2 ** math.ceil(math.log2(n)))


def _dt(config, hbar):
    """Largest dt <= dt_per_hbar·min(ħ, 0.01/ħ) dividing save_every."""
    k = math.ceil(config.save_every / (config.dt_per_hbar * min(hbar, 0.01 / hbar)) - 1e-9)
    return config.save_every / k, k


def _setup(config, n):
    """Grid, law and read-out of an n² run: one per n in a `run`, so that runs on
    the same grid with the same saves share one compiled program."""
    grid = jqd.Grid((n, n), config.box)
    law = jqd.SchrodingerGrid(grid, potential=lambda x, t, p: coupled_quartic(jnp.stack(x, -1), p))
    blk = n // config.n_bins

    def observe(t, psi, p):
        X, Y = grid.mesh()  # in-graph broadcasts, not grid-sized constants
        rho = jnp.abs(psi) ** 2
        mx, my = grid.integrate(X * rho), grid.integrate(Y * rho)
        var = jnp.stack([grid.integrate((X - mx) ** 2 * rho), grid.integrate((Y - my) ** 2 * rho)])
        cells = (rho * grid.cell_volume).reshape(config.n_bins, blk, config.n_bins, blk)
        return {"var": var, "coarse": cells.sum((1, 3))}

    return grid, law, observe


def _quantum(config, hbar, lam, t_end, setups, mass=1.0):
    """Variances (Var x, Var y) and coarse densities at every save; `setups`
    holds the `_setup` of each grid size used so far."""
    n = _points(config, hbar)
    if n not in setups:
        setups[n] = _setup(config, n)
    grid, law, observe = setups[n]
    psi0 = jqd.reference.gaussian_packet(
        grid, a=math.sqrt(hbar), x0=(config.x0, config.y0), hbar=hbar
    )
    params = jqd.SchrodingerParams(hbar=hbar, mass=mass, potential=WellParams(lam=lam))
    dt, sps = _dt(config, hbar)
    n_save = round(t_end / config.save_every)
    sol = jqd.evolve(
        law, psi0, params, dt=dt, n_save=n_save, steps_per_save=sps,
        observe=observe, checkpoint=False,
    )  # fmt: skip
    obs = jax.tree_util.tree_map(np.asarray, sol.observables)
    return np.asarray(sol.ts), obs["var"], obs["coarse"], (n, dt)


def _classical(config, key, t_end):
    """Wigner-sampled ensemble: coarse densities and variances at every save, with
    the coarse densities and widths² of GROUPS strided sub-ensembles (trajectory i
    in group i mod GROUPS: the sampling errors). The step check: sub-ensemble 0
    run alongside at dt/2 from the same starts (its coarse densities; at dt they are
    `coarse_groups[:, 0]`)."""
    a2, hbar = config.hbar, config.hbar
    # the draws in one program; the scaling on the host (each op rounded once, as eager)
    zx, zp = np.asarray(_normals(key, config.n_classical))
    x = np.array([config.x0, config.y0]) + math.sqrt(a2 / 2) * zx
    p = math.sqrt(hbar**2 / (2 * a2)) * zp
    width = config.box / config.n_bins
    lo = -config.box / 2 - config.box / (2 * _points(config, hbar))  # first cell's edge

    def coarse(y):
        idx = jnp.floor((y.x - lo) / width).astype(jnp.int32) % config.n_bins
        h = jnp.zeros((config.n_bins, config.n_bins)).at[idx[:, 0], idx[:, 1]].add(1.0)
        return idx, h / y.x.shape[0]

    def observe(t, y, prm):
        n, nb = y.x.shape[0], config.n_bins
        idx = jnp.floor((y.x - lo) / width).astype(jnp.int32) % nb
        group = jnp.arange(n) % GROUPS
        # one histogram per sub-ensemble; their sum (whole counts, exact) is the whole one's
        flat = (group * nb + idx[:, 0]) * nb + idx[:, 1]
        hg = jnp.zeros((GROUPS * nb * nb,)).at[flat].add(1.0).reshape(GROUPS, nb, nb)
        xg = y.x[: n - n % GROUPS].reshape(-1, GROUPS, 2)  # [k, g]: trajectory k·GROUPS + g
        return {
            "coarse": hg.sum(0) / n,
            "var": jnp.var(y.x, axis=0),
            "coarse_groups": hg / jnp.bincount(group, length=GROUPS)[:, None, None],
            "width2_groups": jnp.sum(jnp.var(xg, axis=0), axis=-1),
        }

    # the whole ensemble at dt and sub-ensemble 0 at dt/2 (the same starts) as one
    # law on the pair, `jqd.Coupled`: one program, the same steps as two runs
    steps = round(config.save_every / config.dt_classical)
    sub = WellState(*(v[::GROUPS] for v in (x, p)))  # on the host: no slicing program
    sol = jqd.evolve(
        jqd.Coupled(ClassicalWell()), (WellState(x, p), sub), WellParams(lam=config.lam),
        dt=config.save_every / steps, n_save=round(t_end / config.save_every),
        steps_per_save=steps, observe=lambda t, y, prm: (observe(t, y[0], prm), coarse(y[1])[1]),
        checkpoint=False,
    )  # fmt: skip
    obs, half = jax.tree_util.tree_map(np.asarray, sol.observables)
    return obs, half


@functools.partial(jax.jit, static_argnums=1)
def _normals(key, n: int):
    """Standard normal draws (n, 2) for x and for p (the key split in two): one
    program, with one copy of the sampler (vmapped over the two keys)."""
    return jax.vmap(lambda k: jax.random.normal(k, (n, 2)))(jax.random.split(key))


def _tangent_flow(config, x, p, t_end, refine=1):
    """(x, p)(t_end) and the tangent map M = ∂(x, p)(t_end)/∂(x, p)(0), shape (n, 4, 4).

    NumPy Yoshida-4 (drift-kick-…-drift, step ≈ dt_classical/refine) for x of shape (n, 2)
    in V = ½(k_x x² + k_y y²) + λx²y² (k from `WellParams`, m = 1), stepped
    together with its linearization δẋ = δp/m, δṗ = −∇²V(x) δx.
    """
    k = np.asarray(WellParams().curvature, float)
    lam, n, m = config.lam, x.shape[0], 1.0
    dx = np.broadcast_to(np.eye(4)[:2], (n, 2, 4)).copy()  # columns: the 4 initial directions
    dp = np.broadcast_to(np.eye(4)[2:], (n, 2, 4)).copy()
    w1 = 1 / (2 - 2 ** (1 / 3))
    w0 = -(2 ** (1 / 3)) * w1
    drifts, kicks = (w1 / 2, (w0 + w1) / 2, (w0 + w1) / 2, w1 / 2), (w1, w0, w1)
    steps = max(1, round(t_end / config.dt_classical)) * refine
    h = t_end / steps
    for _ in range(steps):
        for i, c in enumerate(drifts):
            x, dx = x + c * h * p / m, dx + c * h * dp / m
            if i == 3:
                break
            X, Y = x[:, 0], x[:, 1]
            force = np.stack([k[0] * X + 2 * lam * X * Y**2, k[1] * Y + 2 * lam * X**2 * Y], 1)
            hxx, hyy, hxy = k[0] + 2 * lam * Y**2, k[1] + 2 * lam * X**2, 4 * lam * X * Y
            dforce = np.stack(
                [hxx[:, None] * dx[:, 0] + hxy[:, None] * dx[:, 1],
                 hxy[:, None] * dx[:, 0] + hyy[:, None] * dx[:, 1]], 1,
            )  # fmt: skip
            p, dp = p - kicks[i] * h * force, dp - kicks[i] * h * dforce
    return x, p, np.concatenate([dx, dp], 1)


def _lyapunov(config, rng, t_end):
    """Classical finite-time Lyapunov exponents, independent of the quantum runs:
    ln σ₁(M(t_end))/t_end for `n_lyapunov` trajectories drawn from the Wigner
    function of ψ(0) at ħ = hbar (σ₁ the largest singular value of the tangent
    map of `_tangent_flow`). Returns those exponents, t_end, and the exponents of
    the same orbits at half the step (the step error of Λ)."""
    hbar, n = config.hbar, config.n_lyapunov
    x = np.array([config.x0, config.y0]) + math.sqrt(hbar / 2) * rng.normal(size=(n, 2))
    p = math.sqrt(hbar / 2) * rng.normal(size=(n, 2))  # σ_p = ħ/(√2 a), a² = ħ

    def ftle(refine):
        _, _, M = _tangent_flow(config, x, p, t_end, refine)
        return np.log(np.linalg.norm(M, ord=2, axis=(1, 2))) / t_end

    return ftle(1), t_end, ftle(2)


def _first_passage(ts, w, level):
    above = np.nonzero(w >= level)[0]
    return float(ts[above[0]]) if above.size else math.inf


def _harmonic_widths(config, hbar, ts, mass=1.0):
    """Closed form: Var x_i(t) = (a²/2) cos² ω_i t + (ħ²/2a²)/(mω_i)² sin² ω_i t,
    a² = ħ, ω_i = √(k_i/m)."""
    w = np.sqrt(np.array([1.0, 1.69]) / mass)
    c, s = np.cos(np.outer(ts, w)), np.sin(np.outer(ts, w))
    return np.sqrt(hbar / 2 * c**2 + hbar / 2 / (mass * w) ** 2 * s**2)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt

    hbar, setups = config.hbar, {}
    # -- λ = 0: bounded widths vs the closed form -----------------------------------
    ts0, var0, _, (n0, dt0) = _quantum(config, hbar, 0.0, config.t_final, setups)
    sig0, exact = np.sqrt(var0), _harmonic_widths(config, hbar, ts0)
    # Strang's phase error for ẍ = −ω²x: ω̃ = ω(1 + (ωdt)²/24 + …), so after t the
    # width is off by ≲ (phase error)·|d ln σ/dφ| + the (ωdt)²/4 squeeze of the
    # invariant ellipse; |d ln σ/dφ| <= 1 here. Tolerance: twice that bound.
    w_max = 1.3
    tol0 = 2 * (w_max**3 * dt0**2 * config.t_final / 24 + (w_max * dt0) ** 2 / 4)
    err0 = claim_max_error(
        rec,
        "λ = 0: widths = harmonic closed form",
        f"physics §7.9: max over t ≤ {config.t_final:g} of |σ_i(t)/σ_i,exact(t) − 1| "
        f"(ħ = {hbar:g}, {n0}² grid, Strang dt = {dt0:.3g}); tolerance 2× the Strang "
        "phase-error bound",
        sig0,
        exact,
        tolerance=tol0,
        relative=True,
    )
    W0 = np.sqrt(var0.sum(-1))
    rec.metric("lambda0_max_width_ratio", float(W0.max() / W0[0]))
    # the same at ħ ≠ 1, m ≠ 1 (ω_i = √(k_i/m)), on the scan's grid for that ħ
    hc, mc = config.hbar_check, config.mass_check
    tsc, varc, _, (nc, dtc) = _quantum(config, hc, 0.0, config.t_scan, setups, mass=mc)
    w_max = 1.3 / math.sqrt(mc)
    claim_max_error(
        rec,
        f"λ = 0 widths at ħ = {hc:g}, m = {mc:g}",
        f"physics §7.9: the same closed form with ω_i = √(k_i/m), max over t ≤ "
        f"{config.t_scan:g} ({nc}² grid, Strang dt = {dtc:.3g}); tolerance 2× the Strang "
        "phase-error bound at ω_max = 1.3/√m",
        np.sqrt(varc),
        _harmonic_widths(config, hc, tsc, mass=mc),
        tolerance=2 * (w_max**3 * dtc**2 * config.t_scan / 24 + (w_max * dtc) ** 2 / 4),
        relative=True,
    )

    # -- λ > 0: spreading, Ehrenfest time, quantum vs classical --------------------
    ts, var, coarse_q, (n1, dt1) = _quantum(config, hbar, config.lam, config.t_final, setups)
    W = np.sqrt(var.sum(-1))
    growth = float(W.max() / W[0])
    rec.claim(
        "λ = 0.15: width ≥ 2× by t = 150",
        f"physics §7.9: max over t ≤ {config.t_final:g} of W(t)/W(0), "
        f"W = √(Var x + Var y), λ = {config.lam:g}, ħ = {hbar:g}",
        measured=growth,
        tolerance=2.0,
        op=">=",
    )
    rec.metric("width_ratio_max", growth)
    rec.metric("width_ratio_final", float(W[-1] / W[0]))

    t_double, t_star, runs = {}, {}, {hbar: (ts, W)}
    for h in config.hbars:
        if h not in runs:
            th, vh, _, _ = _quantum(config, h, config.lam, config.t_scan, setups)
            runs[h] = (th, np.sqrt(vh.sum(-1)))
        th, wh = runs[h]
        t_double[h] = _first_passage(th, wh, 2 * wh[0])
        t_star[h] = _first_passage(th, wh, config.w_star)
    hs = sorted(config.hbars, reverse=True)
    log_inv = np.log(1 / np.asarray(hs))
    te = np.asarray([t_star[h] for h in hs])
    slope = float(np.polyfit(log_inv, te, 1)[0]) if np.all(np.isfinite(te)) else math.nan
    # Λ: the ensemble-mean finite-time Lyapunov exponent over the Ehrenfest interval
    # [0, max t(W*)] of the scan (classical tangent dynamics, NumPy; no quantum input)
    t_lyap = float(np.max(te)) if np.all(np.isfinite(te)) else config.t_scan
    t_lyap = max(t_lyap, config.save_every)
    ftle, t_lyap, ftle_half = _lyapunov(config, np.random.default_rng(rec.seed), t_lyap)
    Lam = float(ftle.mean())
    ratio = 2 * Lam * slope

    def ehrenfest_measure(lam):
        r = 2 * lam * slope
        return max(r, 1 / r) if r > 0 else math.inf

    # Λ is a mean over Wigner-sampled orbits: SE = std/√n; max(r, 1/r) has relative
    # derivative ±1 in Λ. Step error: Λ from the same orbits at half the step.
    lam_se = float(np.std(ftle, ddof=1) / np.sqrt(len(ftle)))
    rec.claim(
        "Ehrenfest slope vs 1/(2Λ)",
        f"physics §7.9: t(W = {config.w_star:g}) = ln(1/ħ)/(2Λ) + const over ħ = "
        + ", ".join(f"{h:g}" for h in hs)
        + f": the fitted slope s against 1/(2Λ), Λ = ⟨ln σ₁(M(t))⟩/t the mean finite-time "
        f"Lyapunov exponent of the classical tangent map M ({config.n_lyapunov} "
        f"Wigner-sampled orbits, t = {t_lyap:g} = max t(W*)); "
        f"max(2Λs, 1/(2Λs)) <= {config.ehrenfest_factor:g}; SE and step error from Λ "
        "(the quantum slope s is a deterministic grid computation)",
        measured=ehrenfest_measure(Lam),
        tolerance=config.ehrenfest_factor,
        se=ehrenfest_measure(Lam) * lam_se / Lam,
        step_error=ehrenfest_measure(Lam) - ehrenfest_measure(float(ftle_half.mean())),
    )
    rec.metric("lyapunov_exponent_se", lam_se)
    rec.metric("lyapunov_exponent_step_error", Lam - float(ftle_half.mean()))
    rec.metric("lyapunov_exponent", Lam)
    rec.metric("lyapunov_window", t_lyap)
    rec.metric("ehrenfest_slope_prediction", 1 / (2 * Lam))
    rec.metric("ehrenfest_slope_times_2_lambda", ratio)
    # the width is an RMS over the ensemble: it grows at the generalized exponent
    # λ₂ = ln⟨σ₁²⟩/(2t) >= Λ (reported, not claimed)
    lam2 = float(0.5 * np.log(np.mean(np.exp(2 * t_lyap * ftle))) / t_lyap)
    rec.metric("lyapunov_rms_exponent", lam2)
    rec.metric("ehrenfest_slope_times_2_lambda2", 2 * lam2 * slope)
    rec.metric("ehrenfest_slope", slope)
    for h in hs:
        rec.metric(f"t_width_star_hbar_{h:g}", t_star[h])
        rec.metric(f"t_doubling_hbar_{h:g}", t_double[h])

    obs_c, coarse_half_0 = _classical(config, rec.key(), config.t_final)
    coarse_c, var_c, coarse_g = obs_c["coarse"], obs_c["var"], obs_c["coarse_groups"]
    l1 = np.abs(coarse_q - coarse_c).sum((1, 2))
    late = ts >= ts[-1] / 2  # the densities fluctuate in time: average the late half
    # SE: L1 linearized in P_c (delta method), Σ sign(P_q − P_c)(P_q − P_c,g) per
    # sub-ensemble g; step error: L1 with P_c shifted by sub-ensemble 0's change
    # from dt to dt/2 (the same starts), an estimate of the whole ensemble's
    sign = np.sign(coarse_q - coarse_c)[:, None]
    l1_groups = (sign * (coarse_q[:, None] - coarse_g)).sum((2, 3))  # (t, g)
    l1_se = l1_groups.std(1, ddof=1) / np.sqrt(GROUPS)
    l1_half = np.abs(coarse_q - (coarse_c - (coarse_g[:, 0] - coarse_half_0))).sum((1, 2))
    rec.claim(
        "L1 quantum vs classical density ≤ 0.25",
        f"physics §7.9: mean over t in [{ts[-1] / 2:g}, {ts[-1]:g}] of Σ|P_q − P_c| on "
        f"{config.n_bins}² bins, {config.n_classical} Wigner-sampled trajectories (ħ = {hbar:g}); "
        f"SE from {GROUPS} sub-ensembles (L1 linearized in P_c); step check on "
        f"{len(range(0, config.n_classical, GROUPS))} of the trajectories, rerun at dt/2",
        measured=float(l1[late].mean()),
        tolerance=0.25,
        se=float(l1_groups[late].mean(0).std(ddof=1) / np.sqrt(GROUPS)),
        step_error=float(l1[late].mean() - l1_half[late].mean()),
    )
    rec.metric("l1_max", float(l1.max()))
    rec.metric("l1_final", float(l1[-1]))
    rec.metric(
        "l1_noise_floor_estimate",
        float(np.sum(np.sqrt(2 * coarse_c[-1] / (np.pi * config.n_classical)))),
    )
    Wc = np.sqrt(var_c.sum(-1))
    w2_groups = obs_c["width2_groups"]
    Wc_se = w2_groups.std(1, ddof=1) / np.sqrt(GROUPS) / (2 * Wc)  # W = √(Var x + Var y)
    rec.metric("classical_width_ratio_max", float(Wc.max() / Wc[0]))
    rec.metric("l1_step_error_per_save_max", float(np.max(np.abs(l1 - l1_half))))

    rows, cols, size = panel_grid(6, width=5.0, height=4.2)
    fig, axes = plt.subplots(rows, cols, figsize=size, layout="constrained")
    axes = axes.flat
    ax = axes[0]
    ax.plot(ts0, W0 / W0[0], label="quantum λ = 0")
    ax.plot(ts, W / W[0], lw=2.5, label=f"quantum λ = {config.lam:g}")
    ax.plot(ts, Wc / Wc[0], "--", label="classical ensemble (± 2 SE band)")
    ax.fill_between(ts, (Wc - 2 * Wc_se) / Wc[0], (Wc + 2 * Wc_se) / Wc[0], alpha=0.3, color="C2")
    ax.axhline(2, color="r", ls=":", label="2×")
    panel(ax, "t", "W(t)/W(0)")
    top = max(np.nanmax(W0 / W0[0]), np.nanmax(W / W[0]), np.nanmax(Wc / Wc[0]), 2.0)
    ax.set_ylim(top=1.45 * top)  # room for the legend above the curves
    ax.legend(fontsize=8, ncol=2, loc="upper left")
    ax.set_title(f"widths (ħ = {hbar:g}): quantum ≈ classical (dashed)")
    ax = axes[1]
    # at one ħ the two times may coincide: open squares under filled circles
    ax.plot(
        log_inv,
        [t_double[h] for h in hs],
        "s--",
        ms=10,
        mfc="none",
        color="C1",
        label="t(W = 2W0): no ln(1/ħ) growth (README)",
    )
    ax.plot(log_inv, te, "o", color="C0", label=f"t(W* = {config.w_star:g}): Ehrenfest time")
    if np.isfinite(slope):  # the least-squares line whose slope the title gives
        ax.plot(log_inv, te.mean() + slope * (log_inv - log_inv.mean()), "C0-", lw=1,
                label=f"least-squares line: slope {slope:.2f}")  # fmt: skip
    panel(ax, "ln(1/ħ)", "t")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    ax.set_title(f"t(W*) vs ln(1/ħ): slope {slope:.2f} (1/(2Λ) = {1 / (2 * Lam):.2f})")
    ax = axes[2]
    ax.plot(ts, l1, label="L1 (± 2 SE band)")
    ax.fill_between(ts, l1 - 2 * l1_se, l1 + 2 * l1_se, alpha=0.3)
    ax.axhline(0.25, color="r", ls="--", label="claim 0.25")
    panel(ax, "t", "L1(P_q, P_c)")
    ax.set_ylim(top=max(0.32, 1.3 * float(np.nanmax(l1 + 2 * l1_se))))  # legend above the data
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("quantum vs classical density")
    # the coarse densities at the end: bins from the first cell's edge, x across
    lo = -config.box / 2 - config.box / (2 * _points(config, hbar))
    extent = [lo, lo + config.box, lo, lo + config.box]
    top = max(coarse_q[-1].max(), coarse_c[-1].max())
    diff = coarse_q[-1] - coarse_c[-1]
    span = float(np.abs(diff).max()) or 1.0
    shown = [
        (coarse_q[-1], f"quantum P_q, t = {ts[-1]:g}", "viridis", 0.0, top),
        (coarse_c[-1], f"classical P_c, t = {ts[-1]:g}", "viridis", 0.0, top),
        (diff, f"P_q − P_c (L1 = {l1[-1]:.2f})", "RdBu_r", -span, span),
    ]
    for ax, (image, title, cmap, vmin, vmax) in zip(axes[3:], shown, strict=True):
        im = ax.imshow(image.T, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, extent=extent)
        fig.colorbar(im, ax=ax, shrink=0.85, label="probability per bin")
        panel(ax, "x", "y", title)
    fig.suptitle(
        f"Chaotic well: width ×{growth:.1f} by t = {config.t_final:g} (λ = 0: bounded, "
        f"error {err0:.1e}); t(W*) grows {slope:.2f} per unit ln(1/ħ); "
        f"late L1 to classical {l1[late].mean():.2f} (max {l1.max():.2f})"
    )
    rec.figure(fig, "chaotic_well.png")


def validate(config: Config) -> None:
    if config.hbar not in config.hbars:
        raise ValueError(f"hbars must contain hbar = {config.hbar}; got {config.hbars}.")
    for h in config.hbars:
        if _points(config, h) % config.n_bins:
            raise ValueError(f"n_bins must divide the grid points ({_points(config, h)}).")
    if any(h <= 0 for h in config.hbars):
        raise ValueError("hbars must all be positive.")
    hc, mc = config.hbar_check, config.mass_check
    need = math.sqrt(mc * (config.x0**2 + 1.69 * config.y0**2)) + 5 * math.sqrt(hc / 2)
    grid_p = math.pi * hc * _points(config, hc) / config.box
    if need > grid_p:
        raise ValueError(
            f"mass_check = {mc:g} reaches momenta {need:.3g} (orbit + 5σ_p at hbar_check = "
            f"{hc:g}), above the {grid_p:.3g} its grid resolves: lower mass_check or raise p_cut."
        )


EXPERIMENT = Experiment(
    description="Quantum spreading vs classical chaos in ½(x² + 1.69y²) + λx²y²; Ehrenfest time",
    physics="§7.9",
    compile_bound=True,
)
