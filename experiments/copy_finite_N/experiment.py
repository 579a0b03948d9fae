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
    CountState,
    MatrixParams,
    MemberState,
    copy_gillespie,
)
from jqd.stats import loglog_slope
from jqdlab import Experiment, Recorder, steps_fit
from jqdlab.toolkit import experiment_config, jackknife_se, panel


@experiment_config(
    quick=dict(
        batch=16,
        gillespie_Ns=(),
        member_Ns=(),
        count_Ns=(1e2, 1e4, 1e6, 1e8, 1e10),
        coupled_replicates=0,
    ),
    limits={
        "t_end": "> 0",
        "gillespie_Ns": ">= 1",
        "member_Ns": ">= 1",
        "count_Ns": ">= 1",
        "member_dt": "> 0",
        "count_dt": "> 0",
        "hbar": "> 0",
        "coupled_replicates": ">= 0",
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
        coupled_replicates: replicates G of the coupled dt/2 check of each
            tau-leap run (`jqd.Errors(groups=G)`, at every N); 0 (quick()): the
            step error from the N = 1e15 bias run at dt and dt/2 alone (README).
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
    coupled_replicates: int = 4


def _fit(Ns, rms):
    if len(Ns) < 2:
        return float("nan")
    return loglog_slope(Ns, rms)


@functools.partial(jax.jit, static_argnums=1)
def _keys(seed, batch: int):
    """Every PRNG key of the run in one program (eager key, split and a slice compile
    five): the key of H, the ensembles' `batch` keys, the first of them alone, and
    the keys of the two halves of the N = 1e15 run at dt/2."""
    keys = jax.random.split(jax.random.key(0), batch)
    halves = jax.random.split(jax.random.key(1), 2)
    return jax.random.key(seed), keys, keys[:1], halves[:1], halves[1:]


def _counts(P: int, N: float, batch: int | None = None) -> CountState:
    """N/P members per class, phases 0, made on the host (eager jnp.full and zeros
    compile a program each); with `batch`, that many copies along a leading axis."""
    shape = (P,) if batch is None else (batch, P)
    return CountState(n=jax.device_put(np.full(shape, N / P)), phi=jax.device_put(np.zeros(shape)))


def run(config: Config, rec: Recorder) -> None:
    P = config.P
    key_H, keys, keys_1, keys_h1, keys_h2 = _keys(config.seed, config.batch)
    # NumPy: the eager product, ones and divide compile four programs (the same bits)
    H = jax.device_put(config.hbar * np.asarray(jqd.fock.random_hermitian(key_H, P)))
    params = MatrixParams(H=H, hbar=config.hbar)
    ts = np.linspace(0, config.t_end, config.n_save + 1)
    psi0 = jax.device_put(np.ones(P, complex) / np.sqrt(P))
    rho = np.abs(np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(ts), hbar=config.hbar)))
    rho = rho**2
    rms = lambda f: float(np.sqrt(np.mean((f[:, 1:] - rho[1:]) ** 2)))
    per_ensemble = lambda f: np.mean((f[:, 1:] - rho[1:]) ** 2, axis=(1, 2))
    G = config.coupled_replicates
    check = functools.partial(_coupled_check, params=params, config=config, psi0=psi0, groups=G)
    # label -> (Ns, RMS, each ensemble's mean square departure (N, B), the step of the mean
    # square departure at each N: MS(dt) − MS(dt/2), or "exact sampler")
    results = {}

    t0 = time.time()
    g = jax.jit(
        jax.vmap(
            lambda y, k: copy_gillespie(y, params, jnp.asarray(ts), k).observables.n,
            in_axes=(None, 0),
        )
    )
    out, ms = [], []
    for N in config.gillespie_Ns:
        y0 = CountState(n=jnp.full(P, N / P), phi=jnp.zeros(P))
        f = np.asarray(g(y0, keys)) / N
        out.append(rms(f))
        ms.append(per_ensemble(f))
    if out:
        Ns = np.array(config.gillespie_Ns)
        results["exact event-driven, counts"] = (Ns, np.array(out), np.array(ms), "exact sampler")

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

    out, ms, steps = [], [], []
    for N in config.member_Ns:
        y0 = MemberState(
            a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), int(N) // P), phi=jnp.zeros(int(N))
        )
        f = tau(CopyMembersTauLeap(P), y0, config.member_dt)
        out.append(rms(f))
        ms.append(per_ensemble(f))
        if G:  # one ensemble size per program (the state's shape is N)
            y0 = jax.tree_util.tree_map(lambda x: x[None], y0)
            steps.append(check(CopyMembersTauLeap(P), y0, config.member_dt)[0])
    if out:
        Ns = np.array(config.member_Ns)
        step = np.array(steps) if G else None
        results["tau-leap, members"] = (Ns, np.array(out), np.array(ms), step)
    out, ms = [], []
    dt = config.count_dt
    sps = int(round(config.t_end / config.n_save / dt))
    run_counts = _count_runs(P, params, dt, config.n_save, sps, in_axes=(None, 0))
    for N in config.count_Ns:
        f = np.asarray(run_counts(_counts(P, N), keys))
        out.append(rms(f))
        ms.append(per_ensemble(f))
    # deterministic bias of the scheme (N = 1e15: noise ~1e-8), at dt and at dt/2 (the two
    # halves of the horizon, each n_save saves dt/2·steps_per_save apart: one program)
    run_bias = _bias_runs(P, params, config.n_save, sps)
    y15 = _counts(P, 1e15, batch=1)
    bias = rms(np.asarray(run_bias(y15, keys_1, np.float64(dt))[0]))
    first, y_half = run_bias(y15, keys_h1, np.float64(dt / 2))
    second = run_bias(y_half, keys_h2, np.float64(dt / 2))[0]
    bias_half = rms(np.concatenate([np.asarray(first)[:, ::2], np.asarray(second)[:, 2::2]], 1))
    Ns = np.array(config.count_Ns)
    if G:  # coupled dt/2 runs (common random numbers) at every N
        n = np.repeat(Ns[:, None] / P, P, axis=1)
        y0 = CountState(n=jax.device_put(n), phi=jax.device_put(np.zeros_like(n)))
        step = check(CopyCountsTauLeap(P), y0, dt)
    else:  # the N → ∞ limit of the step: the bias's (the noise's share cancels in p)
        step = np.full(len(Ns), bias**2 - bias_half**2)
    results["tau-leap, counts"] = (Ns, np.array(out), np.array(ms), step)
    elapsed = time.time() - t0

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, (Ns, r, ms, step)), m in zip(results.items(), "osd", strict=False):
        p = _fit(Ns, r)
        B = ms.shape[1]
        # sampling error: jackknife over the B ensembles (the same keys at every N)
        se = jackknife_se(lambda keep, Ns=Ns, ms=ms: _fit(Ns, np.sqrt(ms[:, keep].mean(1))), B)
        step_error = step
        if step is not None and not isinstance(step, str):  # the claim at dt minus at dt/2
            p_half = _fit(Ns, np.sqrt(r**2 - step))
            step_error = abs(p + 0.5) - abs(p_half + 0.5)
            rec.metric(f"exponent_dt_half[{label}]", p_half)
        rec.metric(f"exponent[{label}]", p)
        rec.metric(f"exponent_se[{label}]", se)
        rec.metric(f"rms[{label}]", {f"{N:.0e}": v for N, v in zip(Ns, r, strict=True)})
        r_se = ms.std(1, ddof=1) / np.sqrt(B) / (2 * r)  # SE(MS)/(2 RMS)
        ax.errorbar(Ns, r, r_se, fmt=m + "-", capsize=2, label=f"{label}: p = {p:.3f} ± {se:.3f}")
        rec.claim(
            f"exponent {label}",
            "physics §5: fluctuations ~ N^(-1/2)",
            abs(p + 0.5),
            0.05,
            se=se,
            step_error=step_error,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    Ns_all = np.array(config.count_Ns)
    ax.loglog(Ns_all, 0.5 * Ns_all**-0.5, "k:", label="$N^{-1/2}$")
    ax.axhline(bias, color="gray", lw=0.8, ls="--", label=f"tau-leap bias dt={config.count_dt}")
    panel(
        ax,
        "ensemble size N (members)",
        f"RMS of $n_a/N - |\\psi_a(t)|^2$ over t ≤ {config.t_end:g} (± SE)",
        "Copy process follows $|\\psi|^2$ with $N^{-1/2}$ fluctuations",
        legend=True,
    )
    rec.figure(fig, "finite_N.png")
    rec.metric("tau_count_bias_rms", bias)
    rec.metric("tau_count_bias_rms_dt_half", bias_half)
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


def _bias_runs(P, params, n_save, steps_per_save):
    """jit(vmap) of count-level tau-leap runs with dt an argument, `f(y0, keys, dt)`
    -> (n_a/N at each save, the final states), y0 and keys batched alike: the
    N = 1e15 bias run at dt, and at dt/2 the two halves of its horizon."""
    law = CopyCountsTauLeap(P)

    def one(y0, k, dt):
        sol = jqd.evolve(
            law,
            y0,
            params,
            dt=dt,
            n_save=n_save,
            steps_per_save=steps_per_save,
            key=k,
            check=False,
            observe=lambda t, y, p: law.density(y),
        )
        return sol.observables, sol.y_final

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def _coupled_check(law, y0, dt, *, params, config, psi0, groups):
    """MS(dt) − MS(dt/2) at each initial state (leading axis of `y0`): the mean over
    `groups` replicates, saves t > 0 and classes of (n_a/N − |ψ_a(t)|²)², at dt minus
    at dt/2 on coupled noise (`jqd.Errors`: `law.coupled_step`), keys independent of
    the claim's runs (whose values it does not touch)."""
    E, V = np.linalg.eigh(np.asarray(params.H))
    c0 = V.conj().T @ np.asarray(psi0)
    exact = lambda t: jnp.abs(V @ (jnp.exp(-1j * E * t / params.hbar) * c0)) ** 2
    sps = int(round(config.t_end / config.n_save / dt))

    def one(y0, k):
        sol = jqd.evolve(
            law,
            y0,
            params,
            dt=jnp.asarray(dt),
            n_save=config.n_save,
            steps_per_save=sps,
            key=k,
            check=False,
            observe=lambda t, y, p: (law.density(y) - exact(t)) ** 2,
            errors=jqd.Errors(groups=groups),
        )
        return jnp.mean(sol.errors.step[1:])

    n = jax.tree_util.tree_leaves(y0)[0].shape[0]
    keys = jax.random.split(jax.random.key(2), n)
    return np.asarray(jax.jit(jax.vmap(one))(y0, keys))


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
    """The steps must fit in the save interval; n_save even (the dt/2 bias run's
    two halves end on a save)."""
    steps_fit(config, config.t_end / config.n_save, ("member_dt", "count_dt"), "t_end/n_save")
    if config.n_save % 2:
        raise ValueError(
            f"n_save must be even (the dt/2 bias run covers the horizon in two halves); "
            f"got {config.n_save}."
        )


EXPERIMENT = Experiment(
    description="RMS departure of the copy process's n_a/N from |ψ_a(t)|² vs N (exponent)",
    physics="§5.3",
    animates=True,
    compile_bound=True,
)
