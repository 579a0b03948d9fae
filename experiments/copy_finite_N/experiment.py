"""copy-finite-N: RMS departure of n_a/N from |ψ_a(t)|² vs ensemble size N."""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.copy import (
    CopyCountsTauLeap,
    CopyMembersTauLeap,
    CopyParams,
    CountState,
    MemberState,
    copy_gillespie,
)
from jqd.experiment import Experiment, Recorder, steps_fit
from jqd.run.toolkit import experiment_config, panel
from jqd.stats import loglog_slope


@experiment_config(
    quick=dict(batch=16, gillespie_Ns=(), member_Ns=(), count_Ns=(1e2, 1e4, 1e6, 1e8, 1e10)),
    limits={
        "t_end": "> 0",
        "gillespie_Ns": ">= 1",
        "member_Ns": ">= 1",
        "count_Ns": ">= 1",
        "member_dt": "> 0",
        "count_dt": "> 0",
        "hbar": "> 0",
    },
)
class Config:
    """Copy process on P classes vs ensemble size N (H = ħ × random_hermitian:
    rates H/ħ of spectral scale ~1 for any ħ).

    Attributes:
        P: number of classes (states) a; ψ0 = (1, …, 1)/√P.
        seed: PRNG seed of the random Hermitian H (the ensembles' keys are fixed).
        t_end: horizon of the comparison; the RMS runs over saves 0 < t <= t_end.
        n_save: saved times in (0, t_end]; both dt's must divide t_end/n_save.
        batch: independent ensembles per N (B of the README's error bound).
        gillespie_Ns: N values, exact event-driven copy_gillespie (counts); ()
            skips it (quick()).
        member_Ns: N values, member-level CopyMembersTauLeap; () skips it (quick()).
        count_Ns: N values, count-level CopyCountsTauLeap (1e2 … 1e10).
        member_dt: tau-leap step of the member-level runs.
        count_dt: tau-leap step of the count-level runs (and of the N = 1e15 bias run).
        hbar: ħ of the process and of the exact reference (≠ 1, so that a rate
            that loses ħ, R = |H_ab| instead of |H_ab|/ħ, shows).
    """

    P: int = 4
    seed: int = 5
    t_end: float = 2.0
    n_save: int = 10
    batch: int = 8
    gillespie_Ns: tuple = (1e2, 1e3, 1e4, 1e5)
    member_Ns: tuple = (1e2, 1e3, 1e4, 1e5, 1e6)
    count_Ns: tuple = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10)
    member_dt: float = 0.02
    count_dt: float = 0.002
    hbar: float = 0.6


def _fit(Ns, rms):
    if len(Ns) < 2:
        return float("nan")
    return loglog_slope(Ns, rms)


@functools.partial(jax.jit, static_argnums=1)
def _keys(seed, batch: int):
    """Every PRNG key of the run in one program (eager key, split and a slice compile
    five): the key of H, the ensembles' `batch` keys and the first of them alone."""
    keys = jax.random.split(jax.random.key(0), batch)
    return jax.random.key(seed), keys, keys[:1]


def _counts(P: int, N: float) -> CountState:
    """N/P members per class, phases 0, made on the host (eager jnp.full and zeros
    compile a program each)."""
    return CountState(n=jax.device_put(np.full(P, N / P)), phi=jax.device_put(np.zeros(P)))


def run(config: Config, rec: Recorder) -> None:
    P = config.P
    key_H, keys, keys_1 = _keys(config.seed, config.batch)
    # NumPy: the eager product, ones and divide compile four programs (the same bits)
    H = jax.device_put(config.hbar * np.asarray(jqd.fock.random_hermitian(key_H, P)))
    params = CopyParams(H=H, hbar=config.hbar)
    ts = np.linspace(0, config.t_end, config.n_save + 1)
    psi0 = jax.device_put(np.ones(P, complex) / np.sqrt(P))
    rho = np.abs(np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(ts), hbar=config.hbar)))
    rho = rho**2
    rms = lambda f: float(np.sqrt(np.mean((f[:, 1:] - rho[1:]) ** 2)))
    results = {}

    t0 = time.time()
    g = jax.jit(
        jax.vmap(
            lambda y, k: copy_gillespie(y, params, jnp.asarray(ts), k).observables.n,
            in_axes=(None, 0),
        )
    )
    out = []
    for N in config.gillespie_Ns:
        y0 = CountState(n=jnp.full(P, N / P), phi=jnp.zeros(P))
        out.append(rms(np.asarray(g(y0, keys)) / N))
    if out:
        results["exact event-driven, counts"] = (np.array(config.gillespie_Ns), np.array(out))

    def tau(law, y0, dt):
        sps = int(round(config.t_end / config.n_save / dt))
        f = lambda k: jqd.evolve(
            law,
            y0,
            params,
            dt=jnp.asarray(dt),
            n_save=config.n_save,
            steps_per_save=sps,
            key=k,
            check=False,
            observe=lambda t, y, p: law.density(y),
        )
        return np.asarray(jax.jit(jax.vmap(f))(keys))

    out = []
    for N in config.member_Ns:
        y0 = MemberState(
            a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), int(N) // P), phi=jnp.zeros(int(N))
        )
        out.append(rms(tau(CopyMembersTauLeap(P), y0, config.member_dt)))
    if out:
        results["tau-leap, members"] = (np.array(config.member_Ns), np.array(out))
    out = []
    sps = int(round(config.t_end / config.n_save / config.count_dt))
    run_counts = _count_runs(P, params, config.count_dt, config.n_save, sps, in_axes=(None, 0))
    for N in config.count_Ns:
        out.append(rms(np.asarray(run_counts(_counts(P, N), keys))))
    # deterministic bias of the scheme (N = 1e15: noise ~1e-8)
    bias = rms(np.asarray(run_counts(_counts(P, 1e15), keys_1)))
    results["tau-leap, counts"] = (np.array(config.count_Ns), np.array(out))
    elapsed = time.time() - t0

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, (Ns, r)), m in zip(results.items(), "osd", strict=False):
        p = _fit(Ns, r)
        rec.metric(f"exponent[{label}]", p)
        rec.metric(f"rms[{label}]", {f"{N:.0e}": v for N, v in zip(Ns, r, strict=True)})
        ax.loglog(Ns, r, m + "-", label=f"{label}: p = {p:.3f}")
        rec.claim(f"exponent {label}", "physics §5: fluctuations ~ N^(-1/2)", abs(p + 0.5), 0.05)
    Ns_all = np.array(config.count_Ns)
    ax.loglog(Ns_all, 0.5 * Ns_all**-0.5, "k:", label="$N^{-1/2}$")
    ax.axhline(bias, color="gray", lw=0.8, ls="--", label=f"tau-leap bias dt={config.count_dt}")
    panel(
        ax,
        "ensemble size N (members)",
        f"RMS of $n_a/N - |\\psi_a(t)|^2$ over t ≤ {config.t_end:g}",
        "Copy process follows $|\\psi|^2$ with $N^{-1/2}$ fluctuations",
        legend=True,
    )
    rec.figure(fig, "finite_N.png")
    rec.metric("tau_count_bias_rms", bias)
    rec.metric("seconds", elapsed)
    if rec.animate:  # `jqd run copy-finite-N --animate`
        _animate(rec, config, H, params, psi0)


def _count_runs(P, params, dt, n_save, steps_per_save, in_axes):
    """jit(vmap) of count-level tau-leap runs, `f(y0, keys)` -> n_a/N at each save,
    shape (batch, n_save + 1, P); `in_axes` as for `jax.vmap` over (y0, key)."""
    law = CopyCountsTauLeap(P)
    return jax.jit(
        jax.vmap(
            lambda y0, k: (
                jqd.evolve(
                    law,
                    y0,
                    params,
                    dt=jnp.asarray(dt),
                    n_save=n_save,
                    steps_per_save=steps_per_save,
                    key=k,
                    check=False,
                    observe=lambda t, y, p: law.density(y),
                ).observables
            ),
            in_axes=in_axes,
        )
    )


def _animate(rec: Recorder, config: Config, H, params, psi0, n: int = 40) -> None:
    """n_a/N of count-level copy runs (one ensemble per N) against |ψ_a(t)|², n + 1
    frames over [0, t_end] (runs of their own, saved more often)."""
    import matplotlib.pyplot as plt

    P, Ns = config.P, (1e2, 1e4, 1e6)  # (the time stamp names them)
    sps = max(1, int(round(config.t_end / n / config.count_dt)))
    run = _count_runs(P, params, config.t_end / (n * sps), n, sps, in_axes=0)
    y0 = CountState(n=jnp.stack([jnp.full(P, N / P) for N in Ns]), phi=jnp.zeros((len(Ns), P)))
    f = np.asarray(run(y0, jax.random.split(jax.random.key(1), len(Ns))))  # (N, t, a)
    ts = np.linspace(0, config.t_end, n + 1)
    rho = np.abs(np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(ts), hbar=params.hbar)))
    rho = rho**2
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    a = np.arange(P)
    w = 0.8 / len(Ns)
    shades = plt.cm.Blues(np.linspace(0.35, 0.85, len(Ns)))
    bars = [
        ax.bar(a - 0.4 + w * (j + 0.5), f[j, 0], w, color=shades[j], label=f"$n_a/N$, N = {N:.0e}")
        for j, N in enumerate(Ns)
    ]
    (marks,) = ax.plot(a, rho[0], "k_", ms=40, mew=2.5)
    ax.plot([], [], "k-", lw=2.5, label="$|\\psi_a(t)|^2$ (exact)")
    ax.set_xticks(a, [f"a = {i}" for i in a])
    ax.set_ylim(0, 1.2 * max(rho.max(), f.max()))
    ax.set_ylabel("occupation of class a")
    ax.legend(loc="upper right", fontsize=9)
    for i in a:
        bx.plot(ts, rho[:, i], color=f"C{i}", lw=1, alpha=0.6)
    traces = [bx.plot(ts[:1], f[0, :1, i], "o", ms=3, color=f"C{i}")[0] for i in a]
    bx.plot([], [], "k-", lw=1, alpha=0.6, label="$|\\psi_a(t)|^2$, a = 0 … P − 1")
    bx.plot([], [], "ko", ms=3, label=f"$n_a/N$, N = {Ns[0]:.0e}")
    bx.set_xlim(0, config.t_end)
    bx.set_ylim(0, 1.1 * max(rho.max(), f[0].max()))
    panel(bx, "t (units of ħ/H)", "occupation (colour: class a)", loc="upper right", fontsize=9)

    def update(k):
        for j, group in enumerate(bars):
            for rect, h in zip(group, f[j, k], strict=True):
                rect.set_height(h)
        marks.set_ydata(rho[k])
        for i, tr in enumerate(traces):
            tr.set_data(ts[: k + 1], f[0, : k + 1, i])
        dev = np.sqrt(np.mean((f[:, k] - rho[k]) ** 2, axis=-1))
        rms = ", ".join(f"{d:.1e}" for d in dev)
        return f"t = {ts[k]:.2f};  RMS departure from $|\\psi_a|^2$ for N = 1e2, 1e4, 1e6: {rms}"

    rec.animation(
        fig,
        update,
        len(ts),
        "finite_N.mp4",
        claim="The copy process's $n_a/N$ follows $|\\psi_a(t)|^2$, with fluctuations "
        "$\\sim N^{-1/2}$ (physics §5)",
    )


def validate(config: Config) -> None:
    """The steps must fit in the save interval."""
    steps_fit(config, config.t_end / config.n_save, ("member_dt", "count_dt"), "t_end/n_save")


EXPERIMENT = Experiment(
    description="RMS departure of the copy process's n_a/N from |ψ_a(t)|² vs N (exponent)",
    physics="§5.3",
    animates=True,
)
