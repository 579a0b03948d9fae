"""Recover the diffusion coefficient D of canonical DQM from exact quantum
density snapshots of a packet in an anharmonic well (physics §2: D = ħ/2m).

Exact data: `jqd.SchrodingerGrid` (Yoshida-4, step dt/4) for a displaced
Gaussian in V = x²/2 + μx⁴ + λ exp(−x²) (default: the quartic anharmonic
oscillator, μ = 0.02, λ = 0). Model: `CanonicalDQM` (H_D by autodiff)
from the same initial (ρ, S); D fitted by `jqd.dqm.fit_diffusion` (`jqd.fit`:
L-BFGS in θ = ln D) through `jqd.evolve`, starting from D = 0.5 ħ/2m.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import equinox as eqx
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.dqm import CanonicalDQM, DQMParams, fit_diffusion, state_from_psi
from jqd.experiment import Experiment, Recorder


@dataclass(frozen=True)
class Config:
    """Fit setup (ħ = m = 1).

    Attributes:
        n: grid points on the box [-L/2, L/2).
        L: box length.
        mu: quartic term μx⁴ added to x²/2.
        lam: strength of a Gaussian bump λ exp(−x²) added to it.
        x0: initial displacement of the Gaussian packet (width a = 1).
        dt: DQM time step (the reference uses dt/4).
        n_save: number of density snapshots (at t = dt·steps_per_save·i).
        steps_per_save: DQM steps between snapshots.
        max_iter: L-BFGS iterations at most.
    """

    n: int = 128
    L: float = 16.0
    mu: float = 0.02
    lam: float = 0.0
    x0: float = 1.0
    dt: float = 0.005
    n_save: int = 5
    steps_per_save: int = 20
    max_iter: int = 30

    @classmethod
    def quick(cls) -> Config:
        return cls(n_save=2, steps_per_save=20, max_iter=12)


def V(x, t, a):
    return 0.5 * x[0] ** 2 + a["mu"] * x[0] ** 4 + a["lam"] * jnp.exp(-(x[0] ** 2))


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    grid = jqd.Grid(config.n, config.L)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=config.x0)
    sch = jqd.SchrodingerGrid(grid, V, method="yoshida4")
    ref = jqd.evolve(
        sch,
        psi0,
        jqd.SchrodingerParams(potential={"mu": config.mu, "lam": config.lam}),
        dt=config.dt / 4,
        n_save=config.n_save,
        steps_per_save=4 * config.steps_per_save,
        observe=jqd.observables.Density(sch),
    )
    target = ref.observables[1:]
    law = CanonicalDQM(grid, V)
    params = DQMParams(potential={"mu": config.mu, "lam": config.lam})
    y0 = state_from_psi(grid, psi0)
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
    d_qm = 0.5
    rel = abs(res.D - d_qm) / d_qm
    rec.claim(
        "fitted D",
        "physics §2: canonical DQM is quantum mechanics at D = ħ/2m "
        "(fit from D0 = 0.5 ħ/2m, relative error)",
        rel,
        1e-3,
    )
    rec.metric("D_fit", res.D)
    rec.metric("relative_error", rel)
    rec.metric("iterations", res.iterations)
    rec.metric("final_loss", res.loss)
    rec.metric("fit_seconds", fit_s)

    def densities(D):
        p = eqx.tree_at(lambda q: q.D, params, jnp.asarray(D), is_leaf=lambda x: x is None)
        return jqd.evolve(
            law,
            y0,
            p,
            dt=config.dt,
            n_save=config.n_save,
            steps_per_save=config.steps_per_save,
            observe=jqd.observables.Density(law),
        ).observables

    fitted, start = densities(res.D), densities(0.5 * d_qm)
    err_fit = float(jnp.max(jnp.abs(fitted[1:] - target)))
    rec.claim(
        "fitted density vs exact",
        "DQM at the fitted D reproduces the exact densities (max abs)",
        err_fit,
        1e-5,
    )
    rec.metric("max_density_error_fitted", err_fit)
    rec.metric("max_density_error_start", float(jnp.max(jnp.abs(start[1:] - target))))

    x = np.asarray(grid.axes()[0])
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    history_loss = np.append(res.history[: res.iterations], res.loss)  # at each iterate
    history_D = [p["D"] for p in res.path]
    it = np.arange(len(history_loss))
    ax[0].semilogy(it, history_loss, "o-", label="loss (relative L2)")
    ax[0].set_xlabel("L-BFGS iteration")
    ax[0].set_ylabel("loss (dimensionless)")
    ax[0].legend()
    ax[1].plot(np.arange(len(history_D)), history_D, "o-", label="D")
    ax[1].axhline(d_qm, color="k", ls="--", label="ħ/2m")
    ax[1].set_xlabel("L-BFGS iteration")
    ax[1].set_ylabel("D (ħ = m = 1 units)")
    ax[1].legend()
    ts = np.asarray(ref.ts)
    for i in range(1, config.n_save + 1):
        ax[2].plot(
            x,
            np.asarray(target[i - 1]),
            "k-",
            lw=2,
            alpha=0.4,
            label="exact (Schrödinger)" if i == 1 else None,
        )
        ax[2].plot(x, np.asarray(fitted[i]), "r--", label="DQM, fitted D" if i == 1 else None)
        ax[2].plot(x, np.asarray(start[i]), "b:", label="DQM, D = 0.5 ħ/2m" if i == 1 else None)
    ax[2].set_xlim(-4, 4)
    ax[2].set_xlabel("x (length units)")
    ax[2].set_ylabel("ρ(x, t)  (1/length)")
    ax[2].legend()
    potential = "x²/2" + (f" + {config.mu:g}x⁴" if config.mu else "")
    potential += f" + {config.lam:g} $e^{{-x^2}}$" if config.lam else ""
    fig.suptitle(
        f"Fitting D to exact densities in V = {potential} returns "
        f"ħ/2m: D = {res.D:.7f} (rel. error {rel:.1e})"
    )
    rec.figure(fig, "fit_D.png")
    rec.arrays(
        xr.Dataset(
            {
                "exact": (("t", "x"), np.asarray(target)),
                "fitted": (("t", "x"), np.asarray(fitted[1:])),
                "start": (("t", "x"), np.asarray(start[1:])),
            },
            coords={"t": ts[1:], "x": x},
        ),
        "densities.nc",
    )


EXPERIMENT = Experiment(
    name="dqm-fit-D",
    description="Fit D of canonical DQM to exact densities in an anharmonic well: returns ħ/2m",
    config=Config,
    run=run,
    physics="§2.2",
    limits={
        "L": "> 0",
        "dt": "> 0",
    },
)
