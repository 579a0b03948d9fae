"""copy-finite-N: RMS departure of n_a/N from |ψ_a(t)|² vs ensemble size N."""

from __future__ import annotations

import dataclasses
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
from jqd.stats import loglog_slope


@dataclasses.dataclass(frozen=True)
class Config:
    """Copy process on P classes vs ensemble size N (ħ = 1, H from random_hermitian).

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

    @classmethod
    def quick(cls) -> Config:
        return cls(batch=16, gillespie_Ns=(), member_Ns=(), count_Ns=(1e2, 1e4, 1e6, 1e8, 1e10))


def _fit(Ns, rms):
    if len(Ns) < 2:
        return float("nan")
    return loglog_slope(Ns, rms)


def run(config: Config, rec: Recorder) -> None:
    P = config.P
    H = jqd.fock.random_hermitian(jax.random.key(config.seed), P)
    params = CopyParams(H=H)
    ts = np.linspace(0, config.t_end, config.n_save + 1)
    psi0 = jnp.ones(P, complex) / np.sqrt(P)
    rho = np.abs(np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(ts)))) ** 2
    keys = jax.random.split(jax.random.key(0), config.batch)
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
    law = CopyCountsTauLeap(P)
    run_counts = jax.jit(
        jax.vmap(
            lambda y0, k: (
                jqd.evolve(
                    law,
                    y0,
                    params,
                    dt=jnp.asarray(config.count_dt),
                    n_save=config.n_save,
                    steps_per_save=int(round(config.t_end / config.n_save / config.count_dt)),
                    key=k,
                    check=False,
                    observe=lambda t, y, p: law.density(y),
                ).observables
            ),
            in_axes=(None, 0),
        )
    )
    for N in config.count_Ns:
        y0 = CountState(n=jnp.full(P, N / P), phi=jnp.zeros(P))
        out.append(rms(np.asarray(run_counts(y0, keys))))
    # deterministic bias of the scheme (N = 1e15: noise ~1e-8)
    y_inf = CountState(n=jnp.full(P, 1e15 / P), phi=jnp.zeros(P))
    bias = rms(np.asarray(run_counts(y_inf, keys[:1])))
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
    ax.loglog(Ns_all, 0.5 * Ns_all**-0.5, "k:", label="N^(-1/2)")
    ax.axhline(bias, color="gray", lw=0.8, ls="--", label=f"tau-leap bias dt={config.count_dt}")
    ax.set_xlabel("ensemble size N (members)")
    ax.set_ylabel(f"RMS of n_a/N − |ψ_a(t)|² over t ≤ {config.t_end:g}")
    ax.set_title("Copy process follows |ψ|² with N^(-1/2) fluctuations")
    ax.legend(fontsize=7)
    rec.figure(fig, "finite_N.png")
    rec.metric("tau_count_bias_rms", bias)
    rec.metric("seconds", elapsed)


def validate(config: Config) -> None:
    """The steps must fit in the save interval."""
    steps_fit(config, config.t_end / config.n_save, ("member_dt", "count_dt"), "t_end/n_save")


EXPERIMENT = Experiment(
    name="copy-finite-N",
    description="RMS departure of the copy process's n_a/N from |ψ_a(t)|² vs N (exponent)",
    config=Config,
    run=run,
    physics="§5.3",
    limits={
        "t_end": "> 0",
        "gillespie_Ns": ">= 1",
        "member_Ns": ">= 1",
        "count_Ns": ">= 1",
        "member_dt": "> 0",
        "count_dt": "> 0",
    },
    validate=validate,
)
