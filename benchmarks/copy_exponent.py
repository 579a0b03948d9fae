"""S §3.2's exponent: t_align ∝ N^p over copy-coalescence's exact-law table
(N = 99 … 9999, 64 ensembles each: experiments/copy_coalescence/README.md)
and tau-leap runs at larger N (checkpoints of benchmarks/run_copy_leap.py).
Least-squares slope of log t_align on log N; 95 % interval from a parametric
bootstrap: each table point drawn from its bootstrap SE, each leap run's
ensembles resampled (t_align of the resampled ensemble-mean V).

    python benchmarks/copy_exponent.py 30000=DIR/ck/N30000.npz 99999=DIR/ck/N99999.npz ...
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from experiments.copy_coalescence import experiment as ex  # noqa: E402

# t_align and bootstrap SE of the exact law, full config (README, "Range in N")
TABLE = {99: (40.6, 4.8), 300: (124, 12), 999: (365, 54), 3000: (1190, 97), 9999: (3061, 250)}


def main():
    cfg = ex.Config()
    runs = {}
    for arg in sys.argv[1:]:
        N, path = arg.split("=", 1)
        N = int(N)
        V = np.load(path)["V"]
        ts = np.arange(V.shape[1]) * ex._save_spacing(cfg, N)
        runs[N] = (ts, V)
        t = ex._t_align(ts, V, cfg.fraction)
        print(f"N = {N}: t_align {t:.0f} = {t / N:.2f} N, {len(V)} ensembles, t <= {ts[-1]:.0f}")

    def slope(tab):
        Ns = np.array(sorted(tab))
        return np.polyfit(np.log(Ns), np.log([tab[n] for n in Ns]), 1)[0]

    point = {n: t for n, (t, _) in TABLE.items()}
    point |= {n: ex._t_align(ts, V, cfg.fraction) for n, (ts, V) in runs.items()}
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(2000):
        tab = {n: rng.normal(t, s) for n, (t, s) in TABLE.items()}
        for n, (ts, V) in runs.items():
            tab[n] = ex._t_align(ts, V[rng.integers(0, len(V), len(V))], cfg.fraction)
        if all(np.isfinite(v) and v > 0 for v in tab.values()):
            boot.append(slope(tab))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    print(f"p = {slope(point):.3f}, 95 % interval [{lo:.3f}, {hi:.3f}] ({len(boot)} resamples)")


if __name__ == "__main__":
    main()
