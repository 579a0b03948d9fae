"""Fit the copy-law exponents (q, r) to exact Schrödinger evolution (physics §5).

The mean-field copy law is integrated with RK4 (jqd.evolve) from ψ0 for a
random Hermitian H; the loss is the mean over save times of
Σ_a |√ρ_a e^{−iφ_a} − ψ_a(t)|² against the exact propagator; optax L-BFGS
(`jqd.fit` through `jqd.copy.fit_qr`) runs from several starts at once (vmapped).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.experiment import Experiment, Recorder


@dataclass(frozen=True)
class Config:
    """Attributes:
    P: number of beable values (size of the random H).
    t_final: fit horizon (ħ = 1, H of spectral scale ~1).
    n_save: compared save times in (0, t_final].
    dt: RK4 step.
    starts: initial (q, r) pairs.
    seed: PRNG seed for H and ψ0.
    max_iter: L-BFGS iterations at most.
    """

    P: int = 3
    t_final: float = 1.5
    n_save: int = 6
    dt: float = 0.025
    starts: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.75, -1.0), (0.25, 0.25))
    seed: int = 7
    max_iter: int = 100

    @classmethod
    def quick(cls) -> Config:
        return cls(starts=((0.0, 0.0),))


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    P = config.P
    k1, k2, k3 = jax.random.split(jax.random.key(config.seed + 100 * P), 3)
    H = jqd.fock.random_hermitian(k1, P)
    psi0 = jax.random.normal(k2, (P,)) + 1j * jax.random.normal(k3, (P,))
    psi0 = psi0 / jnp.linalg.norm(psi0)
    ts = jnp.linspace(0.0, config.t_final, config.n_save + 1)
    fit = jqd.copy.fit_qr(
        H, psi0, ts, init=np.array(config.starts, float), dt=config.dt, max_iter=config.max_iter
    )
    dq = np.abs(fit.q - 0.5)
    dr = np.abs(fit.r + 0.5)
    for i, s in enumerate(config.starts):
        rec.metric(
            f"start_{i}",
            {
                "init": list(s),
                "q": float(fit.q[i]),
                "r": float(fit.r[i]),
                "loss": float(fit.loss[i]),
            },
        )
    rec.metric("iterations", fit.iterations)
    rec.claim(
        "|q − 1/2|",
        f"physics §5: q = 1/2 reproduces QM; worst of {len(config.starts)} starts incl. (0, 0)",
        measured=float(dq.max()),
        tolerance=1e-3,
    )
    rec.claim(
        "|r + 1/2|",
        f"physics §5: r = −1/2 reproduces QM; worst of {len(config.starts)} starts incl. (0, 0)",
        measured=float(dr.max()),
        tolerance=1e-3,
    )
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for i, s in enumerate(config.starts):
        ax.plot(fit.path[:, i, 0], fit.path[:, i, 1], ".-", label=f"start {s}")
    ax.plot([0.5], [-0.5], "k*", ms=14, label="(1/2, −1/2)")
    ax.set_xlabel("q")
    ax.set_ylabel("r")
    ax.legend()
    ax.set_title("L-BFGS iterates")
    ax2.semilogy(np.maximum(fit.history, 1e-20))
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("loss  mean_t Σ_a |ψ_mf − ψ|²")
    ax2.set_title("Loss")
    fig.suptitle(
        f"Fitting copy exponents to Schrödinger returns q = 1/2, r = −1/2 "
        f"(worst |Δq| = {dq.max():.1e}, |Δr| = {dr.max():.1e})"
    )
    rec.figure(fig, "fit_qr.png")
    rec.arrays(
        xr.Dataset(
            {
                "q": (("iteration", "start"), fit.path[:, :, 0]),
                "r": (("iteration", "start"), fit.path[:, :, 1]),
            },
            coords={
                "iteration": np.arange(fit.path.shape[0]),
                "start": np.arange(len(config.starts)),
            },
        ),
        "fit_path.nc",
    )


EXPERIMENT = Experiment(
    name="copy-fit-qr",
    description="Fit copy-law exponents (q, r) to exact Schrödinger evolution with optax",
    config=Config,
    run=run,
    physics="§5.7",
    limits={
        "t_final": "> 0",
        "dt": "> 0",
    },
)
