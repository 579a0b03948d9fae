"""One N of copy-coalescence's coalescence sweep with the tau-leap law
(`CopyFaithfulTauLeap`), on whatever device JAX has: the experiment's own
ensembles, keys (`_keys_and_spacing` with Ns extended to 1e6: 2 seeds ×
batch, × big_batch at 1e6) and stopping rule, checkpointed after every chunk into OUT/ck/N{N}.npz
(the file `jqd run copy-coalescence --set checkpoint=OUT/ck` resumes from),
stopped after a wall budget (rerun to resume). Prints one JSON line: t_align
(the ensemble-mean V at ½ V(0)), its bootstrap SE, the extinct fraction, wall.

    python benchmarks/run_copy_leap.py --N 99999 --batch 8 --out DIR [--budget 3600] [--piece 40] [--levels 1024]

`--piece`: steps per compiled call (the experiment's LEAP_PIECE = 8; 40 cuts
the host round trips on a GPU). `--levels`: the experiment's phase_levels
(initial phases on that many bins where a class is larger; default the
Config's, 1024; 0: the exact uniform start).
The H100 run of 2026-11-27 used `--N 99999 --batch 8 --budget 450 --piece 40
--levels 0` (benchmarks/results_copy_scale.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

NS = (30, 100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=3600.0)
    ap.add_argument("--piece", type=int, default=8)
    ap.add_argument("--levels", type=int, default=None)
    args = ap.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from experiments.copy_coalescence import experiment as ex
    from jqd.copy import CopyFaithfulTauLeap, CopyParams

    cfg = ex.Config(batch=args.batch, checkpoint=str(Path(args.out) / "ck"), Ns=NS)
    P, N = cfg.P, args.N
    keys, dt = ex._keys_and_spacing(cfg, ex._sizes(NS, P).index(N), N)
    B = keys.shape[0]
    boot = np.random.default_rng(0).integers(0, B, (cfg.n_boot, B))
    ex.LEAP_PIECE = args.piece
    params = CopyParams(H=ex.hamiltonian(cfg))
    law = CopyFaithfulTauLeap(P)
    levels = cfg.phase_levels if args.levels is None else args.levels
    init, adv = ex._ensembles(law, params, N, P, cfg.chunk, cfg.leap_dt, levels)
    t0 = time.time()

    class Rec:
        def progress(self, msg):
            print(f"[{time.time() - t0:.0f} s] {msg}", flush=True)

    def budgeted(y, k, dt):
        if time.time() - t0 > args.budget:
            raise TimeoutError
        return adv(y, k, dt)

    try:
        ts, (V, f, _, ev), _, wall = ex._run_until_aligned(
            init, budgeted, keys, dt, cfg, N, Rec(), boot
        )
    except TimeoutError:
        print(f"stopped at the budget; rerun the same line to resume from {cfg.checkpoint}")
        return
    boots = [ex._t_align(ts, V[b], cfg.fraction) for b in boot]
    print(
        json.dumps(
            dict(
                N=N,
                ensembles=B,
                device=str(jax.devices()[0]),
                t_end=float(ts[-1]),
                t_align=float(ex._t_align(ts, V, cfg.fraction)),
                t_align_boot_se=float(np.nanstd(boots)),
                extinct_at_end=float(np.mean(np.any(f[:, -1] == 0, axis=-1))),
                events_per_ensemble=float(ev[:, -1].mean()),
                wall_s=wall,
            )
        )
    )


if __name__ == "__main__":
    main()
