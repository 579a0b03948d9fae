"""Fit the copy-law exponents (q, r) to exact Schrödinger evolution (physics §5).

The mean-field copy law is integrated with RK4 (jqd.evolve) from ψ0 for a
random Hermitian H; the loss is the mean over save times of
Σ_a |√ρ_a e^{−iφ_a} − ψ_a(t)|² against the exact propagator; optax L-BFGS
(`jqd.fit` through `jqd.copy.fit_qr`) runs from several starts at once (vmapped).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, FitSpec, Recorder
from jqdlab.toolkit import (
    FIXES_SAVED_TIMES,
    claim_max_error,
    experiment_config,
    mean_and_stderr,
    panel,
)


@experiment_config(
    quick=dict(starts=((0.0, 0.0),)),
    limits={
        "t_final": "> 0",
        "dt": "> 0",
        "ensemble_dt": "> 0",
    },
)
class Config:
    """Attributes:
    P: number of beable values (size of the random H).
    t_final: fit horizon (ħ = 1, H of spectral scale ~1).
    n_save: compared save times in (0, t_final].
    dt: RK4 step.
    starts: initial (q, r) pairs.
    seed: PRNG seed for H and ψ0.
    max_iter: L-BFGS iterations at most.
    q, r: the mean-field law's exponents in `jqd sweep` and `jqd fit` (the
        sweep's model; quantum mechanics is q = 1/2, r = −1/2); `jqd run`
        fits them itself from `starts`.
    n_members: members N of each copy process of `jqd fit --data ensemble`.
    replicas: independent copy processes averaged per data point (time, class).
    ensemble_dt: tau-leap step of those copy processes.
    """

    P: int = 3
    t_final: float = 1.5
    n_save: int = 6
    dt: float = 0.025
    starts: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.75, -1.0), (0.25, 0.25))
    seed: int = 7
    max_iter: int = 100
    q: float = 0.5
    r: float = -0.5
    n_members: int = 4000
    replicas: int = 64
    ensemble_dt: float = 0.005


def _problem(config: Config):
    """The random Hermitian H and normalized ψ0 of the fit (from `seed` and P),
    drawn once per (seed, P) and kept: concrete arrays, also when first asked
    for while a model is traced (`jqd sweep`, `jqd fit`)."""
    key = (config.seed + 100 * config.P, config.P)
    if key not in _PROBLEMS:
        H, psi0 = _random_problem(*key)  # one program (outside a trace)
        if isinstance(H, jax.core.Tracer):  # inside one: evaluate it there and then
            with jax.ensure_compile_time_eval():
                H, psi0 = _random_problem(*key)
        _PROBLEMS[key] = H, psi0
    return _PROBLEMS[key]


_PROBLEMS: dict = {}


@functools.partial(jax.jit, static_argnums=1)  # one program, not one per op
def _random_problem(seed, P: int):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    H = jqd.fock.random_hermitian(k1, P)
    psi0 = jax.random.normal(k2, (P,)) + 1j * jax.random.normal(k3, (P,))
    return H, psi0 / jnp.linalg.norm(psi0)


def _steps(config: Config) -> int:
    return int(round(config.t_final / config.n_save / config.dt))


def sweep(config: Config, values):
    """The mean-field law at exponents (q, r): ψ = √ρ e^{−iφ} at the saves
    t_k = k t_final/n_save, k = 1..n_save (RK4, step dt), and the run's loss
    against exact evolution; vmappable and differentiable in q, r."""
    q, r = values.get("q", config.q), values.get("r", config.r)
    H, psi0, exact = _constants(config)
    params = jqd.copy.MeanFieldParams.from_hamiltonian(H, q=q, r=r)
    sol = jqd.evolve(
        jqd.copy.MeanField(),
        jqd.copy.state_from_psi(psi0),
        params,
        dt=config.t_final / config.n_save / _steps(config),
        n_save=config.n_save,
        steps_per_save=_steps(config),
        observe=lambda t, y, p: jqd.copy.psi_from_state(y),
        check=False,
        on_breakdown="flag",
    )
    psi = sol.observables[1:]
    return {
        "rho": jnp.abs(psi) ** 2,
        "psi_real": psi.real,
        "psi_imag": psi.imag,
        "loss": jnp.mean(jnp.sum(jnp.abs(psi - exact) ** 2, axis=-1)),
    }


@functools.lru_cache(maxsize=16)  # a fit traces the model several times: build them once
def _constants(config: Config):
    """H, ψ0 and the exact ψ(t_k): constants of the model, evaluated (not compiled in)."""
    with jax.ensure_compile_time_eval():
        H, psi0 = _problem(config)
        exact = _exact(config)
        return H, psi0, exact["psi_real"] + 1j * exact["psi_imag"]


def sweep_coords(config: Config):
    ts = np.linspace(0.0, config.t_final, config.n_save + 1)[1:]
    return {"t": ts, "a": np.arange(config.P)}


def _exact(config: Config):
    """Exact ψ(t_k) (`jqd.reference.propagate`) at the sweep's saves."""
    H, psi0 = _problem(config)
    psi = np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(sweep_coords(config)["t"])))
    return {"rho": np.abs(psi) ** 2, "psi_real": psi.real, "psi_imag": psi.imag}


def _ensemble(config: Config, key):
    """Populations n_a/N of finite copy processes (count-level tau-leaping, N =
    n_members, started from round(N|ψ0_a|²) with class phases −arg ψ0_a; the
    rounding shifts ρ by <= 1/2N): each data point (t_k, a) is the mean over
    its own `replicas` independent processes (independent points, so their
    errors are uncorrelated), with the standard error of that mean."""
    H, psi0 = _problem(config)
    P, N, n = config.P, float(config.n_members), config.n_save
    y0 = jqd.copy.CountState(n=jnp.round(N * jnp.abs(psi0) ** 2), phi=-jnp.angle(psi0))
    steps = int(round(config.t_final / n / config.ensemble_dt))

    def one(k):
        sol = jqd.evolve(
            jqd.copy.CopyCountsTauLeap(P),
            y0,
            jqd.copy.MatrixParams(H=H),
            dt=config.t_final / n / steps,
            n_save=n,
            steps_per_save=steps,
            key=k,
            observe=lambda t, y, p: y.n / jnp.sum(y.n),
            checkpoint=False,
        )
        return sol.observables[1:]

    keys = jax.random.split(key, n * P * config.replicas)
    runs = np.asarray(jax.jit(jax.vmap(one))(keys)).reshape(n, P, config.replicas, n, P)
    own = runs[
        np.arange(n)[:, None],
        np.arange(P)[None, :],
        :,
        np.arange(n)[:, None],
        np.arange(P)[None, :],
    ]  # (n, P, replicas): point (k, a) from its own runs
    rho, stderr = mean_and_stderr(own)
    return {"rho": rho, "rho_stderr": stderr}


@functools.partial(jax.jit, static_argnums=(3, 4))
def _scaled_loss(H, psi0, hbar, ts: tuple, dt: float):
    """`qr_loss` at (1/2, −1/2) for ħ and H' = ħH, as one program (ħ traced; the
    loss's last bit can differ from the eager ops': 1.07419666818249e-16 against
    1.0741966681824902e-16 eager on the quick config)."""
    return jqd.copy.qr_loss((0.5, -0.5), hbar * H, psi0, np.asarray(ts), dt=dt, hbar=hbar)


# the figure's model at two (q, r): one program (eager, each op compiles one)
_sweep = jax.jit(sweep, static_argnums=0)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    H, psi0 = _problem(config)
    ts = np.linspace(0.0, config.t_final, config.n_save + 1)  # host values: no program
    fit = jqd.copy.fit_qr(
        H, psi0, ts, init=np.array(config.starts, float), dt=config.dt, max_iter=config.max_iter
    )
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
    dq = claim_max_error(
        rec,
        "|q − 1/2|",
        f"physics §5: q = 1/2 reproduces QM; worst of {len(config.starts)} starts incl. (0, 0)",
        fit.q,
        0.5,
        tolerance=1e-3,
    )
    dr = claim_max_error(
        rec,
        "|r + 1/2|",
        f"physics §5: r = −1/2 reproduces QM; worst of {len(config.starts)} starts incl. (0, 0)",
        fit.r,
        -0.5,
        tolerance=1e-3,
    )
    # ħ ≠ 1: the same loss at the quantum exponents for ħ' = 0.6 and H' = ħ'H (the same
    # dynamics in t, so the same RK4 error). Bound from separate problem seeds 8-11: at
    # most 1.6e-14; the law or the reference with ħ dropped gives ~0.15.
    hbar = 0.6
    rec.claim(
        "loss at (1/2, −1/2) at ħ = 0.6",
        "physics §5: the mean-field law with ħ = 0.6, H = 0.6·H_1 (rates |H_ab|/ħ) vs "
        "propagate(hbar=0.6); the RK4 error only",
        measured=float(_scaled_loss(H, psi0, hbar, tuple(ts), config.dt)),
        tolerance=1e-12,
    )
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    (ax, ax2), (ax3, ax4) = axes
    for i, s in enumerate(config.starts):
        ax.plot(fit.path[:, i, 0], fit.path[:, i, 1], ".-", label=f"start {s}")
    ax.plot([0.5], [-0.5], "k*", ms=14, label="(1/2, −1/2)")
    panel(ax, "q", "r")
    ax.legend()
    ax.set_title("L-BFGS iterates")
    ax2.semilogy(np.maximum(fit.history, 1e-20))
    panel(ax2, "iteration", "loss  mean_t Σ_a |ψ_mf − ψ|²", "Loss")
    # the data (exact |ψ_a(t)|²) against the model at the fit and at the first start
    t_save = sweep_coords(config)["t"]
    exact = np.asarray(_constants(config)[2])

    def psi_at(q, r):  # the model's ψ at the saves
        m = _sweep(config, {"q": np.float64(q), "r": np.float64(r)})
        return np.asarray(m["psi_real"]) + 1j * np.asarray(m["psi_imag"])

    at_fit, at_start = psi_at(fit.q[0], fit.r[0]), psi_at(*config.starts[0])
    for a in range(config.P):
        c = f"C{a}"
        ax3.plot(t_save, np.abs(exact[:, a]) ** 2, "o", color=c, label=f"|ψ_{a}|² exact (data)")
        ax3.plot(t_save, np.abs(at_fit[:, a]) ** 2, "-", color=c, label=f"ρ_{a}, fitted (q, r)")
        ax3.plot(t_save, np.abs(at_start[:, a]) ** 2, ":", color=c, lw=1)
    panel(ax3, "t", "occupation", f"the data and the model (dotted: start {config.starts[0]})")
    ax3.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    for psi, style, name in ((at_fit, "o-", "fitted (q, r)"), (at_start, "s:", "start")):
        err = np.linalg.norm(psi - exact, axis=-1)
        ax4.semilogy(t_save, np.maximum(err, 1e-18), style, label=name)
    panel(ax4, "t", "|ψ_mf(t) − ψ(t)|", "residuals", legend=True)
    fig.suptitle(
        f"Fitting copy exponents to Schrödinger returns q = 1/2, r = −1/2 "
        f"(worst |Δq| = {dq:.1e}, |Δr| = {dr:.1e})"
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
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


FIT = FitSpec(
    keys=("q", "r"),
    reference=_exact,
    truth=lambda c: {"q": 0.5, "r": -0.5},
    start=lambda c: {"q": 0.0, "r": 0.0},
    ensemble=_ensemble,
    nonfinite=1e6,
)

EXPERIMENT = Experiment(
    description="Fit copy-law exponents (q, r) to exact Schrödinger evolution with optax",
    physics="§5.7",
    sweep_keys=("q", "r"),
    sweep_why_not={
        "t_final": FIXES_SAVED_TIMES,
        "dt": "it fixes the number of RK4 steps per save; set it with --set",
        "ensemble_dt": "only the finite-ensemble data of `jqd fit --data ensemble` use it",
    },
    fit=FIT,
    compile_bound=True,
)
