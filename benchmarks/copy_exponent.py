"""S §3.2's exponent, t_align ∝ N^p, per law and pooled, and the scaling forms
N, N^p and N/ln N compared by likelihood (issue 55).

Input: copy-coalescence's full-config table (README "Answer": t_align and its
bootstrap SE per N; the exact law at N ≤ 3000, the tau-leap from 9999 on),
and optionally leap runs' checkpoints (benchmarks/run_copy_leap.py), which
replace the table's point at their N:

    python benchmarks/copy_exponent.py [--sys S] [N=DIR/ck/N{N}.npz[,DIR2/...] ...]
        [--point N=T,SE ...] [--leap-ratio R]

(`--point`: a point given by its numbers, such as a pool of replicates whose
checkpoints are not at hand; the README states the pools it used)

(several checkpoints of one N, on other key bases, are pooled, and their
replicate scatter printed; `same_run` refuses checkpoints that are not
replicates of one run by the settings file run_copy_leap.py keeps beside each)

Model: ln t_align(N) = a + f(N) + ε, ε Gaussian with SD SE/t_align per point
(the bootstrap SE; a percentile interval would be better where the SE is
large), plus, for the tau-leap points only, one common offset of SD `--sys`
(the leap's systematic: its t_align relative to the exact law's, the same at
every N; default from the validation runs, `LEAP_RATIOS`). Generalised least
squares; the 95 % intervals are ±1.96 SD of the GLS estimate. Forms: f = ln N
(p = 1), f = p ln N, f = ln N − ln ln N; each with a free a. Their −2 ln L
differences (χ²) and AIC = χ² + 2k decide between them.

`--steps FILE` (experiments/copy_coalescence/step_pairs.jsonl, the coupled
pairs of `run_copy_leap.py --coupled`) prints instead the t_align shift that
each measured difference implies (issue 55). The time-mean M of V/V(0) over
0 < t ≤ T moves with a time rescaling V(t) → V(t/λ) as dM/d ln λ = M −
V(T)/V(0) (integration by parts), so a difference ΔM reads as
Δ ln t_align = ΔM / (M − V(T)/V(0)) (T = 0.24 N, the runs' own M and V(T);
a rescaling is the assumption). For weak order 1 the H run's own bias is
twice its H − H/2 difference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from run_copy_leap import (
    crossing,
    one_code,
    resamples,
    weighted_mean,
)  # this folder: the runs' own statistics

# the full config's table (README "Answer", 2026-11-27): N: (t_align, SE, law)
TABLE = {
    99: (39, 9, "exact"),
    300: (126, 14, "exact"),
    999: (304, 108, "exact"),
    3000: (1498, 327, "exact"),
    9999: (4706, 710, "leap"),
    30000: (9530, 1175, "leap"),
    99999: (34706, 6413, "leap"),
    300000: (103105, 15508, "leap"),
    999999: (172598, 21963, "leap"),
}
# issue 26's full config: the exact law, 64 ensembles per N (README)
EXACT_64 = {99: (40.6, 4.8), 300: (124, 12), 999: (365, 54), 3000: (1190, 97), 9999: (3061, 250)}
# leap t_align / exact t_align from the same initial members, 32 ensembles each
# (README "Method": N = 3000, N = 9999, and N = 9999 rerun at two key offsets)
LEAP_RATIOS = (1376 / 1215, 3743 / 3629, 2659 / 3629, 3736 / 3629)


def gls(x, y, cov, form):
    """(estimates, their covariance, χ²) of y = a + f(x) by GLS; `form` is
    'N', 'N^p' or 'N/lnN' (x = ln N)."""
    W = np.linalg.inv(cov)
    if form == "N^p":
        X, z = np.c_[np.ones_like(x), x], y
    else:
        X, z = np.ones((len(x), 1)), y - x + (np.log(x) if form == "N/lnN" else 0.0)
    C = np.linalg.inv(X.T @ W @ X)
    beta = C @ X.T @ W @ z
    r = z - X @ beta
    return beta, C, float(r @ W @ r)


def table_of(runs, with_table=False):
    """The table with the leap runs' own t_align and bootstrap SE at their N;
    several checkpoints of one N (replicates on other key bases) are pooled
    (their ensembles side by side, to the shortest run's end), and each is
    printed with the replicates' χ² about their weighted mean (`replicates`).
    `with_table`: the table's own point at such an N (the full config's
    ensembles, key base 100) joins them as one more replicate, and the point
    fitted is the inverse-variance mean of it and the pooled runs."""
    tab = dict(TABLE)
    if runs:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from experiments.copy_coalescence import experiment as ex

        cfg = ex.Config()
        for N, arg in runs.items():
            paths = arg.split(",")
            if len(paths) > 1:
                same_run(paths)
            Vs = [np.load(path)["V"] for path in paths]
            for path, V in zip(paths, Vs, strict=True):
                if V.ndim != 2:  # a --coupled pair's saves carry an axis of 2
                    sys.exit(
                        f"{path}: V has shape {V.shape}, not (ensembles, saves): a plain run's checkpoint is needed (run_copy_leap.py without --coupled)"
                    )
            spacing = ex._save_spacing(cfg, N)
            extra = TABLE[N][:2] if with_table and len(Vs) > 1 and N in TABLE else None
            if len(Vs) > 1:
                replicates(N, paths, Vs, spacing, extra)
            V = np.concatenate([v[:, : min(v.shape[1] for v in Vs)] for v in Vs])
            tab[N] = (*t_align(V, spacing, cfg.fraction), "leap")
            if extra is not None:
                t, se, _, _ = weighted_mean([tab[N][0], extra[0]], [tab[N][1], extra[1]])
                print(
                    f"    pooled runs {tab[N][0]:.4g} ± {tab[N][1]:.2g} with the table's "
                    f"{extra[0]:.4g} ± {extra[1]:.2g}: {t:.4g} ± {se:.2g} ({t / N:.3f} N)"
                )
                tab[N] = (t, se, "leap")
    return tab


def same_run(paths):
    """Checkpoints pooled at one N are replicates of one run: their settings
    (run_copy_leap.py's file beside each) agree but for the key base and
    batch, no key base repeats, and one code made them (`one_code`)."""
    settings = []
    for path in paths:
        info = Path(path).with_suffix(".json")
        if not info.exists():
            sys.exit(f"{path}: no settings file {info.name} beside it (run_copy_leap.py's)")
        settings.append(json.loads(info.read_text()))
    rest = [
        {k: v for k, v in s.items() if k not in ("key_base", "batch", "code")} for s in settings
    ]
    for path, r in zip(paths, rest, strict=True):
        if r != rest[0]:
            sys.exit(f"{path}: not a replicate of {paths[0]} (settings {r}, there {rest[0]})")
    bases = [s["key_base"] for s in settings]
    if len(set(bases)) < len(bases):
        sys.exit(f"{', '.join(paths)}: key bases {bases}: the same ensembles twice")
    one_code(paths, settings)


def t_align(V, spacing, level):
    """t at `level` × V(0) of the ensemble-mean V (saves `spacing` apart), and its
    bootstrap SE over the resamples run_copy_leap.py draws (its printed SE at ½ V(0))."""
    from experiments.copy_coalescence import experiment as ex

    boot = resamples(len(V), ex.Config().n_boot)
    return crossing(spacing * np.arange(V.shape[1]), V, level, boot)


def replicates(N, paths, Vs, spacing, extra=None):
    """Each replicate's crossings of 0.8 … 0.5 V(0) with bootstrap SEs, and per
    level their χ² about the inverse-variance mean (the scatter against the
    SEs); `extra`, (t_align, SE) of one more replicate, joins at ½ V(0)."""
    levels = (0.8, 0.7, 0.6, 0.5)
    rows = np.array([[t_align(V, spacing, c) for c in levels] for V in Vs])  # (runs, levels, 2)
    print(f"N = {N}, {len(Vs)} replicates ({sum(len(V) for V in Vs)} ensembles):")
    for path, V, row in zip(paths, Vs, rows, strict=True):
        cells = ", ".join(
            f"{c:g}: {t:.4g} ± {e:.2g}" for c, (t, e) in zip(levels, row, strict=True)
        )
        print(f"    {path} ({len(V)} ensembles) {cells}")
    if extra is not None:
        print(f"    the table's point (full config, key base 100), 0.5: {extra[0]} ± {extra[1]}")
        rows = np.concatenate([rows, [[(np.nan, np.nan)] * 3 + [extra]]])
    for c, (t, e) in zip(levels, rows.transpose(1, 2, 0), strict=True):
        mean, se, chi2, dof = weighted_mean(t, e)
        print(f"    {c:g} V(0): weighted mean {mean:.4g} ± {se:.2g}, χ² {chi2:.2f} on {dof} dof")


def report(tab, sys_sd):
    print(f"leap systematic: SD {sys_sd:.3f} in ln t_align, common to every leap point")
    wide = {n: (*EXACT_64[n], "exact") for n in EXACT_64} | {
        n: v for n, v in tab.items() if v[2] == "leap" and n > 9999
    }
    fit_all(
        wide,
        sys_sd,
        (
            ("exact law, 64 ensembles (issue 26), N = 99-9999", lambda n, law: law == "exact", 0),
            ("pooled with it: exact 99-9999 + leap 3e4-1e6, with the systematic", None, sys_sd),
        ),
    )
    fit_all(
        tab,
        sys_sd,
        (
            (
                "exact law, full config (16 ensembles), N = 99-3000",
                lambda n, law: law == "exact",
                0,
            ),
            ("tau-leap, N = 9999-1e6", lambda n, law: law == "leap", 0.0),
            ("tau-leap without 1e6", lambda n, law: law == "leap" and n < 999999, 0.0),
            ("pooled, full config N = 99-1e6, with the systematic", lambda n, law: True, sys_sd),
            ("pooled, no systematic", lambda n, law: True, 0.0),
        ),
    )


def fit_all(tab, sys_sd, sets):
    for name, keep, sd in sets:
        keep = keep or (lambda n, law: True)
        Ns = np.array([n for n, (_, _, law) in tab.items() if keep(n, law)], float)
        t = np.array([tab[int(n)][0] for n in Ns])
        rel = np.array([tab[int(n)][1] for n in Ns]) / t
        leap = np.array([tab[int(n)][2] == "leap" for n in Ns], float)
        cov = np.diag(rel**2) + sd**2 * np.outer(leap, leap)
        x, y = np.log(Ns), np.log(t)
        fits = {f: gls(x, y, cov, f) for f in ("N", "N^p", "N/lnN")}
        beta, C, chi_p = fits["N^p"]
        p, se = beta[1], np.sqrt(C[1, 1])
        print(f"{name} ({len(Ns)} points): p = {p:.3f} [{p - 1.96 * se:.3f}, {p + 1.96 * se:.3f}]")
        dof = {"N": len(Ns) - 1, "N^p": len(Ns) - 2, "N/lnN": len(Ns) - 1}
        k = {"N": 1, "N^p": 2, "N/lnN": 1}
        for f, (_, _, chi) in fits.items():
            print(f"    {f:6s} χ² = {chi:6.2f} on {dof[f]} dof, AIC {chi + 2 * k[f]:6.2f}")


def steps(path):
    """The implied Δ ln t_align of every difference in the pairs file."""
    T = "t/N=0.24"
    print("N | H | ensembles | key base | difference | ΔM (T = 0.24 N) | M − V(T) | Δ ln t_align")
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        made = row["made"]
        # a ladder (run_copy_leap.py --ladder) holds its pairings, each a pair's form
        for pair in row.get("pairings", [row]):
            for diff in ("dt minus dt/2", "dt minus exact", "dt/2 minus exact"):
                if f"V_rel_mean_to_{T}" not in pair.get(diff, {}):  # absent, or not run to T
                    continue
                run = pair[diff.split(" minus ")[0]]
                slope = run[f"V_rel_mean_to_{T}"][0] - run[f"V_rel_at_{T}"][0]
                dM, se = pair[diff][f"V_rel_mean_to_{T}"]
                what = " minus ".join(pair["runs"]) if "runs" in pair else diff
                print(
                    f"{made['N']} | {made['dt']} | {pair['ensembles']} | {made['key_base']} | "
                    f"{what} | {dM:+.4f} ± {se:.4f} | {slope:.3f} | "
                    f"{dM / slope:+.3f} ± {se / slope:.3f}"
                )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sys", type=float, default=None, help="the leap's systematic SD (ln)")
    ap.add_argument(
        "--leap-ratio",
        type=float,
        default=1.0,
        help="divide the leap's t_align by this (its measured ratio to the exact law)",
    )
    ap.add_argument(
        "--with-table",
        action="store_true",
        help="the table's point joins the replicates given at its N",
    )
    ap.add_argument(
        "--steps", metavar="FILE", help="the implied t_align shifts of step_pairs.jsonl"
    )
    ap.add_argument(
        "--point",
        action="append",
        default=[],
        metavar="N=T,SE",
        help="the table's point at N replaced by t_align T ± SE (a pool the README gives)",
    )
    ap.add_argument(
        "runs",
        nargs="*",
        help="N=path of a run_copy_leap.py checkpoint (N=path,path,...: replicates, pooled)",
    )
    args = ap.parse_args()
    if not args.leap_ratio > 0:
        ap.error(f"--leap-ratio must be a ratio of times > 0; got {args.leap_ratio}")
    if args.steps:
        if args.runs or args.sys is not None or args.leap_ratio != 1.0 or args.with_table:
            ap.error(
                "--steps reads the pairs file alone: drop the runs, --sys, --leap-ratio "
                "and --with-table"
            )
        return steps(args.steps)
    ln = np.log(LEAP_RATIOS)
    print(
        f"leap/exact ratios {np.round(LEAP_RATIOS, 3)}: mean ln {ln.mean():+.3f}, SD {ln.std(ddof=1):.3f}"
    )
    sys_sd = args.sys if args.sys is not None else float(np.hypot(ln.mean(), ln.std(ddof=1)))
    runs = {int(a.split("=", 1)[0]): a.split("=", 1)[1] for a in args.runs}
    if args.with_table and not any("," in v and n in TABLE for n, v in runs.items()):
        ap.error(
            f"--with-table joins replicates N=path,path,... at an N of the table {list(TABLE)}"
        )
    tab = table_of(runs, args.with_table)
    for arg in args.point:
        try:
            n, (t, se) = int(arg.split("=")[0]), map(float, arg.split("=")[1].split(","))
        except ValueError:
            ap.error(f"--point takes N=T,SE (e.g. 999999=219500,22000); got {arg!r}")
        if n not in TABLE or not (t > 0 and se > 0) or n in runs:
            ap.error(f"--point {arg}: N must be one of {list(TABLE)} without a run, T and SE > 0")
        print(f"N = {n}: t_align {t:.6g} ± {se:.2g} in place of the table's {TABLE[n][:2]}")
        tab[n] = (t, se, TABLE[n][2])
    if args.leap_ratio != 1.0:  # the leap's points corrected by its measured ratio to the exact law
        print(f"leap points divided by {args.leap_ratio:g}")
        r = {"leap": args.leap_ratio, "exact": 1.0}
        tab = {n: (t / r[law], se / r[law], law) for n, (t, se, law) in tab.items()}
    report(tab, sys_sd)


if __name__ == "__main__":
    main()
