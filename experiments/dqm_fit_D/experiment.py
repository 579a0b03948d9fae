"""Recover the diffusion coefficient D of canonical DQM from exact quantum
density snapshots of a packet in an anharmonic well (physics §2: D = ħ/2m).

Exact data: `jqd.SchrodingerGrid` (Yoshida-4, step dt/4) for a displaced
Gaussian in V = k x²/2 + μx⁴ + λ exp(−x²) (default: the quartic anharmonic
oscillator, μ = 0.02, λ = 0). Model: `CanonicalDQM` (H_D by autodiff)
from the same initial (ρ, S); D fitted by `jqd.dqm.fit_diffusion` (`jqd.fit`:
L-BFGS in θ = ln D) through `jqd.evolve`, starting from D = 0.5 ħ/2m.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.dqm import CanonicalDQM, DQMParams, fit_diffusion, state_from_psi
from jqdlab import Experiment, FitSpec, Recorder
from jqdlab.toolkit import (
    FIXES_GRID,
    FIXES_SAVED_TIMES,
    claim_max_error,
    experiment_config,
    mean_and_stderr,
    panel,
)


@experiment_config(
    quick=dict(
        n_save=2, steps_per_save=20, max_iter=12, data_hbar=0.8, data_mass=1.25, data_p0=0.5
    ),
    limits={
        "L": "> 0",
        "dt": "> 0",
        "D": "> 0",
        "mass": "> 0",
        "data_hbar": "> 0",
        "data_mass": "> 0",
    },
)
class Config:
    """Fit setup (ħ = m = 1 for sweep and fit; `jqd run` at data_hbar, data_mass).

    Attributes:
        n: grid points on the box [-L/2, L/2).
        L: box length.
        k: harmonic coefficient of k x²/2 (k = μ = λ = 0: a free packet, whose
            density fixes D but not the mass; physics §2.2).
        mu: quartic term μx⁴ added to k x²/2.
        lam: strength of a Gaussian bump λ exp(−x²) added to it.
        x0: initial displacement of the Gaussian packet (width a = 1).
        dt: DQM time step (the reference uses dt/4).
        n_save: number of density snapshots (at t = dt·steps_per_save·i).
        steps_per_save: DQM steps between snapshots.
        max_iter: L-BFGS iterations at most.
        D, mass: the canonical law's constants in `jqd sweep` and `jqd fit`
            (the sweep's model; the data are quantum mechanics at ħ = m = 1, so
            a fit should return D = ħ/2m = 0.5, mass = 1); `jqd run` fits D
            itself from D = 0.25.
        n_particles: Nelson particles per data point of `jqd fit --data ensemble`.
        data_hbar, data_mass, data_p0: ħ, m and the packet's initial momentum of
            `jqd run`'s exact data and of the law it fits (DQMParams(ħ, m)); the
            fit must return D = ħ/2m. The quick run uses ħ = 0.8, m = 1.25,
            p0 = 0.5 (D = 0.32): at ħ = m = 1 a law or reference that drops m
            or ħ would return the same D.
    """

    n: int = 128
    L: float = 16.0
    k: float = 1.0
    mu: float = 0.02
    lam: float = 0.0
    x0: float = 1.0
    dt: float = 0.005
    n_save: int = 5
    steps_per_save: int = 20
    max_iter: int = 30
    D: float = 0.5
    mass: float = 1.0
    n_particles: int = 4000
    data_hbar: float = 1.0
    data_mass: float = 1.0
    data_p0: float = 0.0


def V(x, t, a):
    return 0.5 * a["k"] * x[0] ** 2 + a["mu"] * x[0] ** 4 + a["lam"] * jnp.exp(-(x[0] ** 2))


def _potential(config: Config, values=None) -> dict:
    """The arguments of V: k, mu, lam (swept values first, then the config's)."""
    values = values or {}
    return {name: values.get(name, getattr(config, name)) for name in ("k", "mu", "lam")}


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    grid = jqd.Grid(config.n, config.L)
    hb, ms = config.data_hbar, config.data_mass
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=config.x0, p0=config.data_p0, hbar=hb)
    sch = jqd.SchrodingerGrid(grid, V, scheme="yoshida4")
    ref = jqd.evolve(
        sch,
        psi0,
        jqd.SchrodingerParams(hbar=hb, mass=ms, potential=_potential(config)),
        dt=config.dt / 4,
        n_save=config.n_save,
        steps_per_save=4 * config.steps_per_save,
        observe=jqd.observables.Density(sch),
    )
    # host copies for the slicing and errors below (eager jnp ops compile one program each)
    target = np.asarray(ref.observables)[1:]
    law = CanonicalDQM(grid, V)
    params = DQMParams(hbar=hb, mass=ms, potential=_potential(config))
    y0 = state_from_psi(grid, psi0, hbar=hb)
    t0 = time.perf_counter()
    res = fit_diffusion(
        law,
        y0,
        params,
        target,
        dt=config.dt,
        steps_per_save=config.steps_per_save,
        max_iter=config.max_iter,
    )
    fit_s = time.perf_counter() - t0
    d_qm = hb / (2 * ms)
    rel = abs(res.D - d_qm) / d_qm
    rec.claim(
        "fitted D",
        f"physics §2: canonical DQM is quantum mechanics at D = ħ/2m = {d_qm:g} "
        f"(ħ = {hb:g}, m = {ms:g}, p0 = {config.data_p0:g}; fit from D0 = 0.5 ħ/2m, "
        "relative error)",
        rel,
        1e-3,
    )
    rec.metric("D_fit", res.D)
    rec.metric("relative_error", rel)
    rec.metric("iterations", res.iterations)
    rec.metric("final_loss", res.loss)
    rec.metric("fit_seconds", fit_s)

    def densities(D):
        p = eqx.tree_at(lambda q: q.D, params, float(D), is_leaf=lambda x: x is None)
        sol = jqd.evolve(
            law,
            y0,
            p,
            dt=config.dt,
            n_save=config.n_save,
            steps_per_save=config.steps_per_save,
            observe=jqd.observables.Density(law),
        )
        return np.asarray(sol.observables)

    fitted, start = densities(res.D), densities(0.5 * d_qm)
    claim_max_error(
        rec,
        "fitted density vs exact",
        "DQM at the fitted D reproduces the exact densities (max abs)",
        fitted[1:],
        target,
        tolerance=1e-5,
        metric="max_density_error_fitted",
    )
    rec.metric("max_density_error_start", float(np.max(np.abs(start[1:] - target))))

    x = np.asarray(grid.axes()[0])
    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    ax = ax.ravel()
    history_loss = np.append(res.history[: res.iterations], res.loss)  # at each iterate
    history_D = [p["D"] for p in res.path]
    it = np.arange(len(history_loss))
    ax[0].semilogy(it, history_loss, "o-", label="loss (relative L2)")
    panel(ax[0], "L-BFGS iteration", "loss (dimensionless)")
    ax[0].legend()
    ax[1].plot(np.arange(len(history_D)), history_D, "o-", label="D")
    ax[1].axhline(d_qm, color="k", ls="--", label="ħ/2m")
    panel(ax[1], "L-BFGS iteration", "D (length²/time)")
    ax[1].legend()
    ts = np.asarray(ref.ts)
    for i in range(1, config.n_save + 1):
        ax[2].plot(
            x,
            target[i - 1],
            "k-",
            lw=2,
            alpha=0.4,
            label="exact (Schrödinger)" if i == 1 else None,
        )
        ax[2].plot(x, fitted[i], "r--", label="DQM, fitted D" if i == 1 else None)
        ax[2].plot(x, start[i], "b:", label="DQM, D = 0.5 ħ/2m" if i == 1 else None)
    ax[2].set_xlim(-4, 4)
    panel(ax[2], "x (length units)", "ρ(x, t)  (1/length)", "the data and the fitted model")
    ax[2].legend()
    # residuals against the data, max over the saves: the fit at its tolerance, the start far off
    for model, style, name in ((fitted, "r-", "fitted D"), (start, "b:", "D = 0.5 ħ/2m")):
        res_x = np.max(np.abs(model[1:] - target), axis=0)
        ax[3].semilogy(x, np.maximum(res_x, 1e-18), style, label=f"DQM, {name}")
    ax[3].axhline(1e-5, color="k", ls="--", lw=0.8, label="claim tolerance 1e-5")
    ax[3].set_xlim(-4, 4)
    ax[3].set_ylim(bottom=1e-13)
    panel(ax[3], "x (length units)", "max over saves |ρ_DQM − ρ_exact|", "residuals", legend=True)
    potential = ("x²/2" if config.k == 1 else f"{config.k:g}x²/2") + (
        f" + {config.mu:g}x⁴" if config.mu else ""
    )
    potential += f" + {config.lam:g} $e^{{-x^2}}$" if config.lam else ""
    fig.suptitle(
        f"Fitting D to exact densities in V = {potential} returns "
        f"ħ/2m: D = {res.D:.7f} (rel. error {rel:.1e})"
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    rec.figure(fig, "fit_D.png")
    rec.arrays(
        xr.Dataset(
            {
                "exact": (("t", "x"), target),
                "fitted": (("t", "x"), fitted[1:]),
                "start": (("t", "x"), start[1:]),
            },
            coords={"t": ts[1:], "x": x},
        ),
        "densities.nc",
    )


# -- sweep and fit: the canonical law at (D, mass) ------------------------------------
def _exact_run(config: Config, values=None):
    """Exact densities at the saves t_i = i·dt·steps_per_save, i = 0..n_save:
    `jqd.SchrodingerGrid` (Yoshida-4, step dt/4) at ħ = m = 1."""
    values = values or {}
    grid = jqd.Grid(config.n, config.L)
    pot = _potential(config, values)
    sch = jqd.SchrodingerGrid(grid, V, scheme="yoshida4")
    return jqd.evolve(
        sch,
        jqd.reference.gaussian_packet(grid, a=1.0, x0=values.get("x0", config.x0)),
        jqd.SchrodingerParams(potential=pot),
        dt=config.dt / 4,
        n_save=config.n_save,
        steps_per_save=4 * config.steps_per_save,
        observe=jqd.observables.Density(sch),
        checkpoint=False,
    ).observables[1:]


def _moments(grid, rho):
    """⟨x⟩ and Var x of densities (..., n) on the 1-D grid."""
    (x,) = grid.mesh(rho.dtype)
    norm = jnp.sum(rho, axis=-1)
    mean = jnp.sum(x * rho, axis=-1) / norm
    return mean, jnp.sum((x - mean[..., None]) ** 2 * rho, axis=-1) / norm


def sweep(config: Config, values):
    """Canonical DQM at (D, mass) in V = k x²/2 + μx⁴ + λe^{−x²} from the Gaussian at
    x0 (at rest): densities ρ(t_i, x), ⟨x⟩ and Var x at the saves i = 1..n_save, and
    the largest density error against exact Schrödinger (ħ = m = 1) at the same
    (k, μ, λ, x0); vmappable, differentiable in D, mass, k, mu, lam, x0."""
    c = config
    get = lambda k: values.get(k, getattr(c, k))
    grid = jqd.Grid(c.n, c.L)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=get("x0"))
    params = DQMParams(mass=get("mass"), D=get("D"), potential=_potential(c, values))
    sol = jqd.evolve(
        CanonicalDQM(grid, V),
        state_from_psi(grid, psi0),
        params,
        dt=c.dt,
        n_save=c.n_save,
        steps_per_save=c.steps_per_save,
        observe=lambda t, y, p: y.rho,
        check=False,
        on_breakdown="flag",
    )
    # saves from the monitor's breakdown on are NaN, not the state it stopped at:
    # a sweep item or a fit's model then shows the failure instead of a stale density
    broke = sol.ts[1:] >= sol.stats["breakdown_time"]  # NaN time (no breakdown): False
    rho = jnp.where(broke[:, None], jnp.nan, sol.observables[1:])
    mean, var = _moments(grid, rho)
    error = jnp.max(jnp.abs(rho - _exact_run(c, values)))
    return {"rho": rho, "mean_x": mean, "var_x": var, "max_density_error": error}


def sweep_coords(config: Config):
    t = config.dt * config.steps_per_save * np.arange(1, config.n_save + 1)
    return {"t": t, "x": np.asarray(jqd.Grid(config.n, config.L).axes()[0])}


def _reference(config: Config):
    grid = jqd.Grid(config.n, config.L)
    rho = _exact_run(config)
    mean, var = _moments(grid, rho)
    return {"rho": rho, "mean_x": mean, "var_x": var}


def _ensemble(config: Config, key):
    """Nelson ensembles (`jqd.dqm.NelsonEnsemble`, stochastic Heun, step dt) guided
    by exact ψ (ħ = m = 1), started from exact samples of |ψ0|² (a Gaussian): ⟨x⟩ and
    Var x at each save, each from its own n_particles particles (independent
    points), with the standard error of the mean (σ/√N) and of the variance
    (√((m4 − s⁴)/N))."""
    from jqd.dqm import EnsembleState, NelsonEnsemble

    grid = jqd.Grid(config.n, config.L)
    sch = jqd.SchrodingerGrid(grid, V)
    n, N = config.n_save, config.n_particles
    k0, k1 = jax.random.split(key)
    x0 = config.x0 + jax.random.normal(k0, (2 * n * N, 1)) / np.sqrt(2)  # |ψ0|², a = 1
    sol = jqd.evolve(
        NelsonEnsemble(sch, scheme="heun"),
        EnsembleState(jqd.reference.gaussian_packet(grid, a=1.0, x0=config.x0), x0),
        jqd.SchrodingerParams(potential=_potential(config)),
        dt=config.dt,
        n_save=n,
        steps_per_save=config.steps_per_save,
        key=k1,
        observe=lambda t, y, p: y.x[:, 0],
        checkpoint=False,
    )
    x = np.asarray(sol.observables[1:]).reshape(n, n, 2, N)  # save, group, moment, particle
    own = x[np.arange(n), np.arange(n)]  # save i from its own particle groups: (n, 2, N)
    a, b = own[:, 0], own[:, 1]
    d = b - b.mean(-1, keepdims=True)
    var = (d**2).sum(-1) / (N - 1)
    mean, stderr = mean_and_stderr(a)
    return {
        "mean_x": mean,
        "mean_x_stderr": stderr,
        "var_x": var,
        "var_x_stderr": np.sqrt(np.maximum((d**4).mean(-1) - var**2, 0) / N),
    }


FIT = FitSpec(
    keys=("D", "mass"),
    reference=_reference,
    truth=lambda c: {"D": 0.5, "mass": 1.0},
    start=lambda c: {"D": 0.25, "mass": 0.8},
    ensemble=_ensemble,
    transforms={"D": "positive", "mass": "positive"},
    notes={
        "D,mass": "the density fixes D and V/m separately only where V ≠ 0 is known "
        "(physics §2.2: ħ' = 2mD and V/m enter; free motion from rest fixes D alone)"
    },
)

EXPERIMENT = Experiment(
    description="Fit D of canonical DQM to exact densities in an anharmonic well: returns ħ/2m",
    physics="§2.2",
    sweep_keys=("D", "mass", "k", "mu", "lam", "x0"),
    sweep_claims={"max_density_error": ("<=", 1e-5)},
    sweep_why_not={
        "L": FIXES_GRID,
        "dt": FIXES_SAVED_TIMES,
    },
    fit=FIT,
    compile_bound=True,
)
