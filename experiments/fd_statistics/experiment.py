"""Can Fermi-Dirac counting come from fluctuating probabilities? (physics §6.4)

If the M state probabilities w fluctuate with a mixing law μ and the N
particles then fall independently, the pattern law is the mixture
P_μ(n) = ∫ Mult(n | N, w) dμ(w) (physics §6.2: Dirichlet(1, ..., 1) gives
Bose-Einstein counting). Which μ comes closest (total variation) to
Fermi-Dirac counting W_FD?

1. Linear program (`jqd.dqm.closest_mixture`, HiGHS) over mixing weights on
   the lattice w = k/L, L = lattice_per_state·M (it contains w = 1/M), with
   the LP dual giving a lower bound for every μ; both against the closed form
   1 − M!/((M−N)! M^N) (Maclaurin: P_w(all n_i ≤ 1) = N! e_N(w) is largest at
   w = 1/M). Positive controls: the same LP against W_BE and W_MB (distance 0).
2. Discretization: lattices with M ∤ L (uniform w not on them): the LP equals
   the lattice minimum 1 − max_lattice P_w(all n_i ≤ 1), and column generation
   (`refine`) recovers the continuum value.
3. Over-dispersion: Var(n_i) of any mixture ≥ N w̄_i(1 − w̄_i), while FD has
   N w̄(1 − w̄) − N(N − 1)/M²: a moment proof that FD is out of reach.

Hypothesis of the no-go: μ is a probability law (a non-negative measure) on
the simplex. A signed measure reaches FD: the multinomials' degree-N
moments span every pattern law, e.g. 2δ_{(1/2, 1/2)} − ½δ_{(1, 0)} − ½δ_{(0, 1)}
gives W_FD exactly at N = M = 2 (claimed); for every case a signed lattice
measure is found by linear programming, with its least negative mass (metrics).
"""

from __future__ import annotations

import numpy as np

from jqd import dqm
from jqd.dqm import (
    closest_mixture,
    fd_distance_closed_form,
    multinomial_matrix,
    occupation_patterns,
    simplex_lattice,
    weight_be,
    weight_fd,
    weight_mb,
)
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, experiment_config, panel

LP_TOL = 1e-6  # 10 × HiGHS's default primal/dual feasibility tolerance 1e-7
SUM_TOL = 1e-10  # float64 rounding of sums over a few hundred patterns of terms ≤ N²


@experiment_config(
    quick=dict(
        cases=((1, 3), (2, 2), (2, 3), (3, 3), (2, 4), (4, 4)),
        off_lattice=((2, 3, 4), (2, 3, 5), (2, 3, 7), (3, 4, 5)),
        n_mixtures=50,
    )
)
class Config:
    """Attributes:
    cases: (N particles, M states) pairs, N ≤ M; N = 1 cases test that FD is
        reachable, N ≥ 2 cases that it is not.
    lattice_per_state: the LP's candidate w lie on the simplex lattice of
        spacing 1/L, L = lattice_per_state·M (which contains w = 1/M).
    off_lattice: (N, M, L) cases with M ∤ L for the discretization study.
    refine: column-generation rounds for the off-lattice LPs (0 = none).
    n_mixtures: random finite mixtures per case for the over-dispersion check.
    mixture_support: support points w ~ Dirichlet(1/2) of each random mixture.
    seed: PRNG seed (NumPy) of the random mixtures.
    """

    cases: tuple[tuple[int, int], ...] = (
        (1, 3),
        (1, 5),
        (2, 2),
        (2, 3),
        (3, 3),
        (2, 4),
        (3, 4),
        (4, 4),
        (2, 5),
        (3, 5),
        (4, 5),
        (5, 5),
        (2, 6),
        (3, 6),
        (4, 6),
    )
    lattice_per_state: int = 2
    off_lattice: tuple[tuple[int, int, int], ...] = tuple(
        [(2, 3, L) for L in (4, 5, 7, 8, 10, 11, 13, 16, 20, 25, 31)]
        + [(3, 4, L) for L in (5, 6, 7, 9, 10, 11, 13, 15, 18, 21)]
    )
    refine: int = 2
    n_mixtures: int = 200
    mixture_support: int = 5
    seed: int = 0


def _variance_excess(pattern_law, patterns, N):
    """Var(n_i) − N w̄_i(1 − w̄_i), w̄ = E n_i/N, from a pattern law (..., K)."""
    n = patterns.astype(np.float64)
    mean = pattern_law @ n
    var = pattern_law @ n**2 - mean**2
    wbar = mean / N
    return var - N * wbar * (1 - wbar)


def _signed_min_negative_mass(fd, patterns, M, L):
    """Signed lattice measure λ = λ⁺ − λ⁻ with Σ_j λ_j Mult(·|N, w_j) = W_FD and
    Σλ = 1 of least negative mass Σλ⁻ (HiGHS); returns (negative mass, TV) or NaNs."""
    from scipy.optimize import linprog

    A = dqm.multinomial_matrix(patterns, simplex_lattice(M, L))
    J = A.shape[1]
    a_eq = np.vstack([np.hstack([A, -A]), np.hstack([np.ones(J), -np.ones(J)])])
    b_eq = np.append(fd, 1.0)
    res = linprog(np.r_[np.zeros(J), np.ones(J)], A_eq=a_eq, b_eq=b_eq, method="highs")
    if res.status != 0:
        return np.nan, np.nan
    lam = res.x[:J] - res.x[J:]
    return float(res.x[J:].sum()), 0.5 * float(np.abs(A @ lam - fd).sum())


def _signed(rec, rows, config, weight_fd_jit):
    """The no-go needs μ ≥ 0: a signed measure gives W_FD exactly."""
    patterns = occupation_patterns(2, 2)
    points = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    law = dqm.multinomial_matrix(patterns, points) @ np.array([2.0, -0.5, -0.5])
    fd = np.asarray(weight_fd_jit(patterns))
    rec.claim(
        "signed measure 2δ_{1/2} − ½δ_0 − ½δ_1 gives FD (N = M = 2)",
        "physics §6.4: hypothesis μ ≥ 0 of the no-go is needed: TV(W_FD, Σ_j c_j Mult(·|2, w_j)) "
        "with c = (2, −½, −½) at w = (½, ½), (1, 0), (0, 1) (multinomial_matrix, weight_fd)",
        0.5 * float(np.abs(law - fd).sum()),
        SUM_TOL,
    )
    rec.metric("signed_construction_law_2_2", law.tolist())
    for r in rows:
        N, M = r["N"], r["M"]
        pats = occupation_patterns(N, M)
        neg, tv = _signed_min_negative_mass(
            np.asarray(weight_fd_jit(pats)), pats, M, config.lattice_per_state * M
        )
        rec.metric(f"signed_fd_min_negative_mass_{N}_{M}", neg)
        rec.metric(f"signed_fd_tv_{N}_{M}", tv)


def validate(config: Config) -> None:
    for N, M in config.cases:
        if not 1 <= N <= M:
            raise ValueError(f"cases: need 1 ≤ N ≤ M (FD counting); got (N, M) = ({N}, {M}).")
    for N, M, L in config.off_lattice:
        if not (1 <= N <= M and L % M):
            raise ValueError(
                f"off_lattice: need 1 ≤ N ≤ M and M not dividing L; got ({N}, {M}, {L})."
            )


def run(config: Config, rec: Recorder) -> None:
    import jax
    import matplotlib.pyplot as plt
    import xarray as xr
    from matplotlib.ticker import ScalarFormatter

    # One compiled program per pattern shape for all three (eager calls compile op by op).
    all_weights = jax.jit(lambda n: dict(FD=weight_fd(n), BE=weight_be(n), MB=weight_mb(n)))
    fd_weight = lambda n: all_weights(n)["FD"]  # noqa: E731
    rng = np.random.default_rng(config.seed)
    rows = []
    var_excess_mix, var_ratio_mix = [], []
    for N, M in config.cases:
        patterns = occupation_patterns(N, M)
        L = config.lattice_per_state * M
        weights = {k: np.asarray(w) for k, w in all_weights(patterns).items()}
        fd = weights["FD"]
        fit = closest_mixture(fd, N, M, L)
        be_w = weights["BE"]
        be = closest_mixture(be_w, N, M, L)
        mb = closest_mixture(weights["MB"], N, M, L)
        uniform_lattice = multinomial_matrix(patterns, simplex_lattice(M, L)).mean(1)
        off_mb = float(np.max(np.abs(fit.points - 1.0 / M))) if N >= 2 else np.nan
        ex_fd = _variance_excess(fd, patterns, N)
        rows.append(
            dict(
                N=N,
                M=M,
                L=L,
                closed=fd_distance_closed_form(N, M),
                fd_upper=fit.distance,
                fd_lower=fit.lower_bound,
                fd_support_off_uniform=off_mb,
                be=be.distance,
                be_support=len(be.weights),
                be_uniform_lattice=0.5 * float(np.abs(uniform_lattice - be_w).sum()),
                mb=mb.distance,
                fd_var_excess=float(ex_fd[0]),
                be_var_excess=float(_variance_excess(be_w, patterns, N)[0]),
            )
        )
        # Random finite mixtures: points w ~ Dirichlet(1/2), weights ~ Dirichlet(1).
        w = rng.dirichlet(np.full(M, 0.5), (config.n_mixtures, config.mixture_support))
        lam = rng.dirichlet(np.ones(config.mixture_support), config.n_mixtures)
        A = multinomial_matrix(patterns, w.reshape(-1, M)).reshape(len(patterns), *lam.shape)
        laws = np.einsum("kms,ms->mk", A, lam)
        ex = _variance_excess(laws, patterns, N)
        var_excess_mix.append(float(ex.min()))
        wbar = np.einsum("ms,msi->mi", lam, w)
        var_w = np.einsum("ms,msi->mi", lam, w**2) - wbar**2
        rec.metric(
            f"mixture_excess_minus_N(N-1)Var_w_{N}_{M}",
            float(np.max(np.abs(ex - N * (N - 1) * var_w))),
        )
        var_ratio_mix.append(1 + ex[:, 0] / (N * wbar[:, 0] * (1 - wbar[:, 0])))

    multi = [r for r in rows if r["N"] >= 2]
    single = [r for r in rows if r["N"] == 1]
    closed = [r["closed"] for r in multi]
    claim_max_error(
        rec,
        "FD: LP minimum TV = 1 − M!/((M−N)! M^N)",
        f"LP over the lattice L = {config.lattice_per_state}M, all (N ≥ 2, M) cases: "
        "max |TV(W_FD, best mixture) − closed form|",
        [r["fd_upper"] for r in multi],
        closed,
        LP_TOL,
    )
    claim_max_error(
        rec,
        "FD: dual lower bound for every μ = closed form",
        "f·W_FD − max_w f·Mult(w) with the LP dual f (max over the continuous simplex: "
        "lattice 2L + SLSQP), N ≥ 2: max |bound − closed form|",
        [r["fd_lower"] for r in multi],
        closed,
        LP_TOL,
    )
    rec.claim(
        "FD unreachable for N ≥ 2",
        "smallest dual lower bound on TV(W_FD, P_μ) over the N ≥ 2 cases (> LP tolerance)",
        min(r["fd_lower"] for r in multi),
        LP_TOL,
        op=">",
    )
    rec.claim(
        "FD: closest mixture is the point mass at w = 1/M (MB)",
        "N ≥ 2: max over the LP optimum's support of |w_i − 1/M|",
        max(r["fd_support_off_uniform"] for r in multi),
        LP_TOL,
    )
    if single:  # W_FD = W_MB = W_BE = 1/M at N = 1: a finding, not a claim (it cannot fail)
        rec.metric("fd_min_tv_N1_max", max(r["fd_upper"] for r in single))
    _signed(rec, rows, config, fd_weight)
    for stats in ("BE", "MB"):
        rec.claim(
            f"{stats} reached by mixing (positive control)",
            f"same LP against W_{stats}, all cases: max TV",
            max(r[stats.lower()] for r in rows),
            LP_TOL,
        )

    # Discretization: lattices without w = 1/M.
    disc = []
    for N, M, L in config.off_lattice:
        patterns = occupation_patterns(N, M)
        fd = np.asarray(fd_weight(patterns))
        fit = closest_mixture(fd, N, M, L)
        grid = simplex_lattice(M, L)
        distinct = multinomial_matrix(patterns[patterns.max(1) <= 1], grid).sum(0)
        lattice_min = 1.0 - float(distinct.max())
        refined = closest_mixture(fd, N, M, L, refine=config.refine) if config.refine else fit
        disc.append((N, M, L, fit.distance, lattice_min, refined.distance, fit.lower_bound))
    d = np.asarray(disc)
    cf = np.array([fd_distance_closed_form(int(n), int(m)) for n, m in d[:, :2]])
    claim_max_error(
        rec,
        "off-uniform lattice: LP = 1 − max_lattice P_w(all n_i ≤ 1)",
        "M ∤ L: mixing lattice points does no better than the best single one; "
        "max |LP − lattice minimum|",
        d[:, 3],
        d[:, 4],
        LP_TOL,
    )
    if config.refine:
        claim_max_error(
            rec,
            "column generation recovers the continuum minimum",
            f"M ∤ L, {config.refine} refinement rounds: max |TV − closed form|",
            d[:, 5],
            cf,
            LP_TOL,
        )
    rec.metric(
        "discretization_error",
        [[*map(float, r[:3]), float(r[3] - c)] for r, c in zip(d, cf, strict=True)],
    )
    # N = 2: the nearest lattice point to 1/M has Σ(w_i − 1/M)² = r(M − r)/(M L²), r = L mod M.
    two = d[:, 0] == 2
    if two.any():
        r_mod = d[two, 2] % d[two, 1]
        formula = r_mod * (d[two, 1] - r_mod) / (d[two, 1] * d[two, 2] ** 2)
        rec.metric(
            "N2_discretization_minus_r(M-r)/(ML^2)",
            float(np.max(np.abs(d[two, 3] - cf[two] - formula))),
        )
    rec.metric("discretization_error_times_L2_max", float(np.max((d[:, 3] - cf) * d[:, 2] ** 2)))

    # Over-dispersion: every mixture ≥ multinomial variance; FD below it.
    rec.claim(
        "mixtures over-disperse: Var(n_i) ≥ N w̄_i(1 − w̄_i)",
        f"{config.n_mixtures} random mixtures per case, pattern-law moments: "
        "min of Var(n_i) − N w̄_i(1 − w̄_i)",
        min(var_excess_mix),
        -SUM_TOL,
        op=">=",
    )
    claim_max_error(
        rec,
        "FD under-disperses: Var(n_i) − N w̄(1 − w̄) = −N(N − 1)/M²",
        "moments of W_FD over its patterns, all cases: max |excess + N(N−1)/M²|",
        [r["fd_var_excess"] for r in rows],
        [-r["N"] * (r["N"] - 1) / r["M"] ** 2 for r in rows],
        SUM_TOL,
    )
    for r in rows:
        key = f"{r['N']}_{r['M']}"
        rec.metric(f"fd_min_tv_{key}", r["fd_upper"])
        rec.metric(f"fd_lower_bound_{key}", r["fd_lower"])
        rec.metric(f"be_lp_tv_{key}", r["be"])
        rec.metric(f"be_lp_support_{key}", r["be_support"])
        rec.metric(f"be_uniform_lattice_tv_{key}", r["be_uniform_lattice"])
        rec.metric(f"mb_lp_tv_{key}", r["mb"])

    fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.5))
    x = np.arange(len(rows))
    labels = [f"{r['N']},{r['M']}" for r in rows]
    ax.plot(x, [r["closed"] for r in rows], "k_", ms=16, mew=2, label=r"$1 - M!\,/\,((M-N)!\,M^N)$")
    ax.plot(x, [r["fd_upper"] for r in rows], "o", mfc="none", label="LP optimum (upper)")
    ax.plot(x, [r["fd_lower"] for r in rows], "x", label="dual bound, every μ (lower)")
    ax.plot(x, [max(r["be"], 1e-17) for r in rows], "s", ms=3, label="LP vs W_BE")
    ax.set_xticks(x, labels, fontsize=8)
    panel(
        ax,
        "N, M",
        "min over mixing laws of TV to W_FD",
        "No mixture of multinomials gives FD (N ≥ 2)",
        legend=True,
    )
    for m, mk in ((3, "o"), (4, "s")):
        sel = d[:, 1] == m
        if sel.any():
            err = d[sel, 3] - cf[sel]
            ax2.loglog(
                d[sel, 2],
                err,
                mk + ("-" if sel.sum() > 1 else ""),
                label=f"N, M = {int(d[sel][0, 0])}, {m}: lattice LP − exact",
            )
            ax2.loglog(
                d[sel, 2],
                np.maximum(np.abs(d[sel, 5] - cf[sel]), 1e-17),
                mk,
                mfc="none",
                label=f"after {config.refine} refinement rounds (0 drawn at 1e-17)",
            )
    Ls = d[:, 2]
    ax2.loglog(np.sort(Ls), 0.5 / np.sort(Ls) ** 2, "k:", label="0.5/L²")
    ax2.xaxis.set_major_formatter(ScalarFormatter())
    ax2.xaxis.set_minor_formatter(ScalarFormatter())
    panel(
        ax2,
        "lattice divisions L (M ∤ L)",
        "TV − closed form",
        "LP discretization error",
        legend=True,
    )
    for i, ratio in enumerate(var_ratio_mix):
        ax3.plot(np.full(ratio.shape, i), ratio, ".", color="C0", ms=3)
    mult_var = np.array([r["N"] * (1 / r["M"]) * (1 - 1 / r["M"]) for r in rows])
    for key, style, label in (
        ("fd_var_excess", "rv", "W_FD (weight_fd)"),
        ("be_var_excess", "g^", "W_BE = Dirichlet(1) mixture"),
    ):
        ax3.plot(x, 1 + np.array([r[key] for r in rows]) / mult_var, style, label=label)
    ax3.axhline(1, color="k", lw=0.8, label="multinomial (MB)")
    ax3.plot([], [], ".", color="C0", label="random mixtures")
    ax3.set_xticks(x, labels, fontsize=8)
    panel(
        ax3,
        "N, M",
        "Var(n_1) / N w̄(1 − w̄)",
        "Mixing over-disperses; FD is under-dispersed",
        legend=True,
    )
    fig.tight_layout()
    rec.figure(fig, "fd_statistics.png")
    ds = xr.Dataset(
        {k: (("case",), np.asarray([r[k] for r in rows], float)) for k in rows[0]}
        | {
            name: (("off",), d[:, j])
            for j, name in enumerate(
                ("off_N", "off_M", "off_L", "off_lp", "off_lattice_min", "off_refined", "off_lower")
            )
        }
    )
    rec.arrays(ds, "fd_statistics.nc")


EXPERIMENT = Experiment(
    description=(
        "No mixture of multinomials gives FD counting (N ≥ 2): LP minimum TV = "
        "1 − M!/((M−N)! M^N), BE/MB reached"
    ),
    physics="§6.2, §6.4",
    compile_bound=True,
)
