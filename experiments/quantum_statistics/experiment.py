"""Quantum statistics from fluctuating probabilities (physics §6, Zakir §4).

1. Bose-Einstein counting from averaging the multinomial over the simplex
   (the Pólya urn, Z51-Z53). The Z52 integral is done by quadrature (a
   Gauss-Jacobi product rule in the stick-breaking coordinates of Z53) and
   compared with the closed form N!(M−1)!/(M+N−1)! (Z47) for every pattern;
   Dirichlet(1, ..., 1)-then-multinomial sampling gives all C(N+M−1, N)
   patterns equally often. The Maxwell-Boltzmann weight (Z45) is checked
   against the count of the M^N microstates of N distinguishable particles.
2. Maximum entropy with the counting weights Z45/Z47/Z49: every level ε_j is
   a group of g states holding N_j particles; N_j maximises
   ln ΔΓ_s(N_j, g) − β(ε_j − μ)N_j with ΔΓ_s = 1/P_s (the pattern weights
   `log_weight_mb/be/fd`); N_j/g is compared with Z46 (MB), Z48 (BE),
   Z50 (FD) against the theoretical discreteness bound (1 + n̄)/g.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jqd import dqm
from jqd.dqm import (
    dirichlet_multinomial_weight,
    log_statistical_weight,
    mean_occupation,
    most_probable_occupation,
    occupation_patterns,
    pattern_frequencies,
    sample_dirichlet_multinomial,
    weight_be,
    weight_mb,
)
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, claim_within_stderr, experiment_config, panel

GROUPS = 16  # sub-ensembles of the draws for the sampling error of a claim


@experiment_config(
    quick=dict(n_samples=100_000, n_levels=12, degeneracy=10_000),
    limits={
        "beta": "> 0",
    },
)
class Config:
    """Attributes:
    cases: (N particles, M states) pairs for the counting test.
    n_samples: Dirichlet-multinomial draws per case.
    n_levels: single-particle levels ε in [e_min, e_max] for the occupations.
    e_min, e_max: level range (units of k_B T when beta = 1).
    beta: inverse temperature.
    mu_mb, mu_be, mu_fd: chemical potentials (MB and BE below e_min: MB in
        the dilute regime n̄ < 1 where Z45 is the Boltzmann count; BE needs ε > μ).
    degeneracy: g, states per level group for the maximum-entropy occupations.
    seed: PRNG seed.
    """

    cases: tuple[tuple[int, int], ...] = ((4, 3), (6, 5))
    n_samples: int = 1_000_000
    n_levels: int = 24
    e_min: float = 0.05
    e_max: float = 4.0
    beta: float = 1.0
    mu_mb: float = 0.0
    mu_be: float = 0.0
    mu_fd: float = 1.0
    degeneracy: int = 100_000
    seed: int = 0


def simplex_average(patterns, alpha: float, n_nodes: int) -> np.ndarray:
    """∫ Mult(n | N, w) dDirichlet(w | α, ..., α) by quadrature, for every pattern.

    Z53's recursion in stick-breaking coordinates: w_1 = u_1,
    w_k = u_k Π_{j<k}(1 − u_j), w_M = Π_{j<M}(1 − u_j), under which
    Dirichlet(α, ..., α) is the product of u_k ~ Beta(α, (M − k)α) (for α = 1
    the Jacobian Π(1 − u_k)^{M−1−k} of the uniform simplex, normalized by its
    volume 1/(M−1)!, Z51's denominator). Each u_k is integrated by the
    n_nodes-point Gauss-Jacobi rule of its Beta weight (scipy roots_jacobi),
    exact for polynomials of degree 2 n_nodes − 1 in u_k; the integrand is
    `jqd.dqm.multinomial_matrix`, N!/Πn_i! Π w_i^{n_i}. Shape (K,)."""
    from scipy.special import roots_jacobi

    M = patterns.shape[1]
    us, ws = [], []
    for k in range(1, M):
        # weight (1 − u)^{(M−k)α − 1} u^{α − 1} on [0, 1]: Jacobi (a, b) on [−1, 1]
        x, w = roots_jacobi(n_nodes, (M - k) * alpha - 1, alpha - 1)
        us.append(0.5 * (1 + x))
        ws.append(w / w.sum())
    grid = np.stack(np.meshgrid(*us, indexing="ij"), -1).reshape(-1, M - 1)
    weight = np.prod(np.stack(np.meshgrid(*ws, indexing="ij"), -1).reshape(-1, M - 1), -1)
    w = np.empty((len(grid), M))
    rest = np.ones(len(grid))
    for k in range(M - 1):
        w[:, k] = grid[:, k] * rest
        rest = rest * (1 - grid[:, k])
    w[:, -1] = rest
    w /= w.sum(1, keepdims=True)  # Σw = 1 to the last bit (multinomial_matrix checks it)
    return dqm.multinomial_matrix(patterns, w) @ weight


def microstate_count(N: int, M: int) -> np.ndarray:
    """Fraction of the M^N microstates (state of each distinguishable particle)
    with each pattern of `occupation_patterns(N, M)`: Z45 counted, not computed."""
    states = np.stack(np.meshgrid(*([np.arange(M)] * N), indexing="ij"), -1).reshape(-1, N)
    counts = np.stack([(states == i).sum(1) for i in range(M)], -1)
    return pattern_frequencies(counts, N, M)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _case(seed, i, patterns, N: int, M: int, S: int, one, half):
    """One (N, M) case as one program: the pattern weights (BE, MB, Dirichlet-multinomial
    at α = 1 and 1/2), S Dirichlet-multinomial draws (key fold i) and S × N
    categorical draws at w = 1/M (key fold 100 + i). α traced, as in the eager calls."""
    key = jax.random.key(seed)
    return {
        "be": weight_be(patterns),
        "mb": weight_mb(patterns),
        "dm": dirichlet_multinomial_weight(patterns, one),
        "half": dirichlet_multinomial_weight(patterns, half),
        "counts": sample_dirichlet_multinomial(jax.random.fold_in(key, i), N, M, (S,), alpha=one),
        "mbc": jax.random.categorical(jax.random.fold_in(key, 100 + i), jnp.zeros(M), shape=(S, N)),
    }


@jax.jit
def _mean_occupations(energy, beta, mus):
    """Z46, Z48, Z50 at the levels `energy` (one program for the three)."""
    return {st: mean_occupation(energy, beta, mu, st) for st, mu in mus.items()}


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr
    from scipy import stats

    S = config.n_samples
    freqs = {}
    for i, (N, M) in enumerate(config.cases):
        patterns = occupation_patterns(N, M)
        K = len(patterns)
        case = {
            k: np.asarray(v) for k, v in _case(config.seed, i, patterns, N, M, S, 1.0, 0.5).items()
        }
        be = case["be"]
        n_nodes = N // 2 + 1  # 2n − 1 ≥ N: exact for the degree-N integrand
        quad = simplex_average(patterns, 1.0, n_nodes)
        dm = case["dm"]
        err = np.max(np.abs(np.stack([be, dm]) - quad) / quad)
        rec.claim(
            f"averaged weight (N, M) = ({N}, {M})",
            "Z51-Z53: the simplex average of the multinomial by Gauss-Jacobi quadrature "
            f"({n_nodes} nodes per stick-breaking coordinate) vs Z47 N!(M−1)!/(M+N−1)! "
            "(weight_be) and the Dirichlet-multinomial closed form at α = 1; max relative "
            "difference over patterns",
            measured=float(err),
            tolerance=1e-12,
        )
        # Z52 as printed: the bare integral, without Z51's normalization 1/(M−1)!
        rec.metric(
            f"z52_as_printed_over_w_be_{N}_{M}", float(quad[0] / math.factorial(M - 1) / be[0])
        )
        # the quadrature is not exact by construction: one node too few misses degree N
        rec.metric(
            f"quadrature_error_with_{n_nodes - 1}_nodes_{N}_{M}",
            float(np.max(np.abs(simplex_average(patterns, 1.0, n_nodes - 1) - be) / be)),
        )
        half = case["half"]
        rec.metric(
            f"dirichlet_half_closed_form_vs_quadrature_{N}_{M}",
            float(np.max(np.abs(half - simplex_average(patterns, 0.5, n_nodes)) / half)),
        )
        f = pattern_frequencies(case["counts"], N, M)
        se = math.sqrt((1 / K) * (1 - 1 / K) / S)
        chi2 = float(np.sum((f * S - S / K) ** 2 / (S / K)))
        p = float(stats.chi2.sf(chi2, K - 1))
        # the statistic on each of GROUPS strided sub-ensembles (draw i in group
        # i mod GROUPS) has the law of the whole one's (it is in units of its own
        # SE): their spread is its sampling SE
        group_stat = [
            float(np.max(np.abs(fg - 1 / K)) / (se * np.sqrt(S / len(part))))
            for part in (case["counts"][g::GROUPS] for g in range(GROUPS))
            for fg in [pattern_frequencies(part, N, M)]
        ]
        claim_within_stderr(
            rec,
            f"Dirichlet-multinomial uniform, ({N}, {M})",
            f"Z47/Z53: all {K} patterns equally likely (BE counting); max |f − 1/K| in SE; "
            f"its SE: the spread of the same statistic over {GROUPS} sub-ensembles",
            f,
            1 / K,
            se,
            tolerance=4.0,
            se=float(np.std(group_stat, ddof=1)),
            step_error="exact sampler",
        )
        rec.metric(f"dirichlet_uniform_subensemble_stat_{N}_{M}", group_stat)
        rec.metric(f"chi2_pvalue_{N}_{M}", p)
        wmb = case["mb"]
        claim_max_error(
            rec,
            f"MB weight = microstate count, ({N}, {M})",
            f"Z45: M^(−N) N!/Πn_i! (weight_mb) vs the fraction of the {M}^{N} microstates of "
            "distinguishable particles with each pattern (enumerated); max relative error",
            wmb,
            microstate_count(N, M),
            tolerance=1e-12,
            relative=True,
        )
        # fixed w = 1/M sampled (a check of the random numbers, not of Z45: a finding)
        fm = pattern_frequencies(np.eye(M, dtype=np.int32)[case["mbc"]].sum(1), N, M)
        rec.metric(
            f"fixed_uniform_w_max_dev_from_mb_in_se_{N}_{M}",
            float(np.max(np.abs(fm - wmb) / np.sqrt(wmb * (1 - wmb) / S))),
        )
        rec.metric(f"mb_max_dev_from_uniform_in_se_{N}_{M}", float(np.max(np.abs(fm - 1 / K)) / se))
        freqs[(N, M)] = (f, fm, wmb, se)

    energy = np.linspace(config.e_min, config.e_max, config.n_levels)
    g = config.degeneracy
    mus = {"MB": config.mu_mb, "BE": config.mu_be, "FD": config.mu_fd}
    occ = {}
    exacts = _mean_occupations(energy, config.beta, mus)
    for st in ("MB", "BE", "FD"):
        mu = mus[st]
        n_star = most_probable_occupation(energy, config.beta, mu, st, g)
        exact = np.asarray(exacts[st])
        # Theory (README): the integer maximiser N* = floor((g ∓ 1) n̄) (MB: floor(g n̄))
        # lies within (1 + n̄)/g of g n̄ per state.
        dev = g * (n_star - exact) / (1 + exact)
        z = {"MB": "Z45 → Z46", "BE": "Z47 → Z48", "FD": "Z49 → Z50"}[st]
        rec.claim(
            f"{st} maximum-entropy occupations",
            f"{z}: argmax of ln ΔΓ − β(ε − μ)N per group of g = {g} states vs the formula; "
            "max over levels of |N*/g − n̄| in units of (1 + n̄)/g",
            measured=float(np.max(np.abs(dev))),
            tolerance=1.0,
            op="<",
        )
        # Concavity of ln ΔΓ in N (the maximiser is unique): increments decrease.
        Ns = np.unique(np.linspace(1, g, 64).astype(np.int64))
        inc = np.diff(log_statistical_weight(Ns, g, st)) / np.diff(Ns)
        rec.metric(f"{st}_entropy_increment_max_rise", float(np.max(np.diff(inc))))
        rec.metric(f"{st}_signed_deviation_units", dev.tolist())
        occ[st] = (n_star, exact, dev, mu)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    N, M = config.cases[-1]
    f, fm, wmb, se = freqs[(N, M)]
    idx = np.arange(len(f))
    ax.errorbar(
        idx, f, yerr=se, fmt="o", ms=3, elinewidth=0.8, label="Dirichlet(1..1) → multinomial ± SE"
    )
    ax.plot(idx, fm, "s", ms=3, mfc="none", label="multinomial, w = 1/M")
    ax.axhline(1 / len(f), color="k", label="BE weight N!(M−1)!/(M+N−1)!")
    ax.fill_between(
        idx, 1 / len(f) - 4 * se, 1 / len(f) + 4 * se, color="k", alpha=0.15, label="±4 SE"
    )
    ax.plot(idx, wmb, "r.", ms=2, label=r"MB weight $M^{-N}$ N!/Πn_i!")
    ax.set_yscale("log")
    panel(
        ax,
        f"occupation pattern index (N = {N}, M = {M})",
        "frequency",
        "Fluctuating probabilities give Bose-Einstein counting",
    )
    low = min(np.min(v[v > 0]) for v in (np.asarray(f), np.asarray(fm), np.asarray(wmb)))
    ax.set_ylim(bottom=low / 30)  # room for the legend below the points
    ax.legend(fontsize=8, ncol=2, loc="lower left")
    e = energy
    ax2b = ax2.inset_axes([0.55, 0.5, 0.42, 0.38])
    for st, c in (("MB", "C0"), ("BE", "C1"), ("FD", "C2")):
        n_star, exact, dev, mu = occ[st]
        ax2.plot(e, n_star, "o", ms=4, color=c, label=f"{st} max entropy (μ = {mu:g})")
        ax2.plot(e, exact, "-", color=c, lw=1, label=f"{st} formula")
        ax2b.plot(e, dev, "o-", ms=2, color=c)
    ax2b.axhline(-1, color="k", ls=":", lw=0.8)
    ax2b.axhline(1, color="k", ls=":", lw=0.8)
    ax2b.set_title("(N*/g − n̄)·g/(1 + n̄)", fontsize=8)
    ax2b.tick_params(labelsize=7)
    ax2.set_yscale("log")
    panel(
        ax2,
        "ε  (k_B T = 1/β)",
        "⟨n(ε)⟩",
        f"Maximum entropy of ln ΔΓ (Z45/47/49), g = {g} vs Z46 / Z48 / Z50",
        loc="lower left",
    )
    fig.suptitle("Dirichlet-multinomial patterns are uniform (BE); maximum entropy gives MB/BE/FD")
    fig.tight_layout()
    rec.figure(fig, "statistics.png")
    ds = xr.Dataset(
        {
            f"{st}_{k}": (("level",), v)
            for st in occ
            for k, v in zip(("max_entropy", "exact", "deviation_units"), occ[st][:3], strict=True)
        }
        | {f"freq_dm_{N}_{M}": ((f"pattern_{N}_{M}",), freqs[(N, M)][0]) for (N, M) in freqs}
        | {f"freq_mb_{N}_{M}": ((f"pattern_{N}_{M}",), freqs[(N, M)][1]) for (N, M) in freqs},
        coords={"energy": (("level",), e)},
    )
    rec.arrays(ds, "statistics.nc")


EXPERIMENT = Experiment(
    description=(
        "BE counting from Dirichlet-multinomial averaging; maximum entropy of Z45/Z47/Z49 "
        "vs Z46/Z48/Z50"
    ),
    physics="§6",
)
