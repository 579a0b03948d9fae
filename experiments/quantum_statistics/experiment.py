"""Quantum statistics from fluctuating probabilities (SPEC §6, Zakir §4).

1. Bose-Einstein counting from Dirichlet(1, ..., 1)-then-multinomial sampling
   (the Pólya urn, Z51-Z53): all C(N+M−1, N) occupation patterns equally
   frequent, exact averaged weight N!(M−1)!/(M+N−1)!; fixed uniform
   probabilities give Maxwell-Boltzmann counting (Z45) instead.
2. Grand-canonical occupation samplers (Poisson, geometric, Bernoulli) whose
   mean occupations reproduce Z46 (MB), Z48 (BE), Z50 (FD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jqd.dqm import (
    be_weight_closed_form,
    dirichlet_multinomial_weight,
    mean_occupation,
    occupation_patterns,
    pattern_frequencies,
    sample_dirichlet_multinomial,
    sample_occupations,
    weight_mb,
)
from jqd.experiment import Experiment, Recorder


@dataclass(frozen=True)
class Config:
    """Attributes:
    cases: (N particles, M states) pairs for the counting test.
    n_samples: Dirichlet-multinomial draws per case.
    n_levels: single-particle levels ε in [e_min, e_max] for the occupations.
    e_min, e_max: level range (units of k_B T when beta = 1).
    beta: inverse temperature.
    mu_mb_fd: chemical potential for MB and FD; mu_be: for BE (< e_min).
    n_occupation_samples: grand-canonical draws per level.
    seed: PRNG seed.
    """

    cases: tuple[tuple[int, int], ...] = ((4, 3), (6, 5))
    n_samples: int = 1_000_000
    n_levels: int = 24
    e_min: float = 0.05
    e_max: float = 4.0
    beta: float = 1.0
    mu_mb_fd: float = 1.0
    mu_be: float = 0.0
    n_occupation_samples: int = 1_000_000
    seed: int = 0

    @classmethod
    def quick(cls) -> Config:
        return cls(n_samples=100_000, n_levels=12, n_occupation_samples=100_000)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr
    from scipy import stats

    key = jax.random.key(config.seed)
    S = config.n_samples
    freqs = {}
    for i, (N, M) in enumerate(config.cases):
        patterns = occupation_patterns(N, M)
        K = len(patterns)
        exact = np.asarray(dirichlet_multinomial_weight(patterns, 1.0))
        err = float(np.max(np.abs(exact - be_weight_closed_form(N, M))))
        rec.claim(
            f"averaged weight (N, M) = ({N}, {M})",
            "Z51-Z53: ∫ multinomial dDirichlet(1..1) = N!(M−1)!/(M+N−1)! for every pattern",
            measured=err / be_weight_closed_form(N, M),
            tolerance=1e-12,
        )
        counts = sample_dirichlet_multinomial(jax.random.fold_in(key, i), N, M, (S,))
        f = pattern_frequencies(counts, N, M)
        se = math.sqrt((1 / K) * (1 - 1 / K) / S)
        dev = float(np.max(np.abs(f - 1 / K)) / se)
        chi2 = float(np.sum((f * S - S / K) ** 2 / (S / K)))
        p = float(stats.chi2.sf(chi2, K - 1))
        rec.claim(
            f"Dirichlet-multinomial uniform, ({N}, {M})",
            f"Z47/Z53: all {K} patterns equally likely (BE counting); max |f − 1/K| in SE",
            measured=dev,
            tolerance=4.0,
        )
        rec.metric(f"chi2_pvalue_{N}_{M}", p)
        mbc = jax.random.categorical(jax.random.fold_in(key, 100 + i), jnp.zeros(M), shape=(S, N))
        fm = pattern_frequencies(jnp.sum(jax.nn.one_hot(mbc, M, dtype=jnp.int32), 1), N, M)
        wmb = np.asarray(weight_mb(patterns))
        se_mb = np.sqrt(wmb * (1 - wmb) / S)
        rec.claim(
            f"fixed uniform w gives MB, ({N}, {M})",
            "Z45: multinomial with w_i = 1/M; max |f − W_MB| in SE",
            measured=float(np.max(np.abs(fm - wmb) / se_mb)),
            tolerance=4.0,
        )
        rec.metric(f"mb_max_dev_from_uniform_in_se_{N}_{M}", float(np.max(np.abs(fm - 1 / K)) / se))
        freqs[(N, M)] = (f, fm, wmb, se)

    energy = jnp.linspace(config.e_min, config.e_max, config.n_levels)
    occ = {}
    for j, st in enumerate(("MB", "BE", "FD")):
        mu = config.mu_be if st == "BE" else config.mu_mb_fd
        n = np.asarray(
            sample_occupations(
                jax.random.fold_in(key, 200 + j),
                energy,
                config.beta,
                mu,
                st,
                (config.n_occupation_samples,),
            )
        )
        mean = n.mean(0)
        se = n.std(0) / math.sqrt(n.shape[0])
        exact = np.asarray(mean_occupation(energy, config.beta, mu, st))
        z = {"MB": "Z46", "BE": "Z48", "FD": "Z50"}[st]
        rec.claim(
            f"{st} mean occupations",
            f"{z}: sampled ⟨n(ε)⟩ vs formula, max deviation in SE over {config.n_levels} levels",
            measured=float(np.max(np.abs(mean - exact) / se)),
            tolerance=4.0,
        )
        occ[st] = (mean, se, exact, mu)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    N, M = config.cases[-1]
    f, fm, wmb, se = freqs[(N, M)]
    idx = np.arange(len(f))
    ax.plot(idx, f, "o", ms=3, label="Dirichlet(1..1) → multinomial")
    ax.plot(idx, fm, "s", ms=3, mfc="none", label="multinomial, w = 1/M")
    ax.axhline(1 / len(f), color="k", label="BE weight N!(M−1)!/(M+N−1)!")
    ax.fill_between(
        idx, 1 / len(f) - 4 * se, 1 / len(f) + 4 * se, color="k", alpha=0.15, label="±4 SE"
    )
    ax.plot(idx, wmb, "r.", ms=2, label="MB weight M^−N N!/Πn_i!")
    ax.set_yscale("log")
    ax.set_xlabel(f"occupation pattern index (N = {N}, M = {M})")
    ax.set_ylabel("frequency")
    ax.set_title("Fluctuating probabilities give Bose-Einstein counting")
    ax.legend(fontsize=7)
    e = np.asarray(energy)
    for st, c in (("MB", "C0"), ("BE", "C1"), ("FD", "C2")):
        mean, se_o, exact, mu = occ[st]
        ax2.errorbar(
            e, mean, yerr=4 * se_o, fmt="o", ms=3, color=c, label=f"{st} sampled (μ = {mu:g})"
        )
        ax2.plot(e, exact, "-", color=c, lw=1, label=f"{st} formula")
    ax2.set_yscale("log")
    ax2.set_xlabel("ε  (k_B T = 1/β)")
    ax2.set_ylabel("⟨n(ε)⟩")
    ax2.set_title("Mean occupations vs Z46 / Z48 / Z50")
    ax2.legend(fontsize=7)
    fig.suptitle(
        "Dirichlet-multinomial patterns are uniform (BE); grand-canonical samplers match MB/BE/FD"
    )
    fig.tight_layout()
    rec.figure(fig, "statistics.png")
    ds = xr.Dataset(
        {
            f"{st}_{k}": (("level",), v)
            for st in occ
            for k, v in zip(("mean", "se", "exact"), occ[st][:3], strict=True)
        }
        | {f"freq_dm_{N}_{M}": ((f"pattern_{N}_{M}",), freqs[(N, M)][0]) for (N, M) in freqs}
        | {f"freq_mb_{N}_{M}": ((f"pattern_{N}_{M}",), freqs[(N, M)][1]) for (N, M) in freqs},
        coords={"energy": (("level",), e)},
    )
    rec.arrays(ds, "statistics.nc")


EXPERIMENT = Experiment(
    name="quantum-statistics",
    description=(
        "BE counting from Dirichlet-multinomial averaging; MB/BE/FD samplers vs Z46/Z48/Z50"
    ),
    config=Config,
    run=run,
)
