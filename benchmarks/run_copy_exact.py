"""copy-coalescence's exact law (`CopyMembersFaithfulMobius`) at one N, in
groups of ensembles that run one per core and finish on their own: the
experiment's keys (`_keys_and_spacing` with Ns extended to 1e6, as
`run_copy_leap.py`: 2 seeds × `--batch`), so from the same starts as that
script's unbinned (`--levels 0`) leap runs, to t = `--t-over-N` × N.

    python benchmarks/run_copy_exact.py --N 30000 --batch 32 --group 3 --groups 8 --out DIR
    python benchmarks/run_copy_exact.py --N 30000 --batch 32 --groups 8 --out DIR --merge

Group g of G runs ensembles [g·2B/G, (g+1)·2B/G) of the 2B keys, checkpointed
after every chunk into OUT/ck/N{N}-exact-g{g}of{G}.npz (the experiment's
format) beside a record of its settings and code (`refuse_another_run`: a
checkpoint resumes only the run that made it; a larger `--t-over-N` extends
it, the keys being per chunk). Each group finishes on its own (4
ensembles to 0.24 N at N = 3e4: ≈ 14 min on one core), so a run longer than
a session is kept group by group (issue 55: the 3e4 run as one batch lost
its checkpoint, at t = 6,720 after three sessions, with the machine).
`--merge` reads the groups (all G, or `--partial`: those run that far) and
prints one JSON line: the exact run's crossings of the ensemble-mean V at
0.8 … 0.5 V(0), V/V(0) at t/N = 0.02 … 0.24 and its time-means over 0 < t ≤
0.24 N and 0.32 N (where run), each with its bootstrap SE over the
ensembles (`run_copy_leap.paired_statistics`); `--npz F` also writes their
V saves (ensembles in key order) to F; `--against step_pairs.jsonl` prints
instead the line of the leap pair from the same starts with this run and
each leap run's difference from it (`against`).

`--n-terms`: the class-sum series' terms K (the law's `n_terms`; the
experiment's 32). The series is kept below the same relative error 1e-14 at
any K (re-basing when a class map could pass the radius), so K changes the
cost, not the law: at N = 3e4 K = 16 runs 1.4× faster than 32 for 32
ensembles on one core, with the same events (benchmarks/results_copy_faithful.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_copy_leap import NS, code, paired_statistics, refuse_another_run  # noqa: E402


def tag(G, g):
    """The checkpoint tag of group g of G (`_run_until_aligned` writes N{N}{tag}.npz)."""
    return f"-exact-g{g}of{G}"


def merged(ck, made, dt, t_over_N, code, partial=False):
    """(ts, [V, f, ev], groups): the saves of the finished groups in the folder
    `ck` of the run whose settings are `made` (their ensembles in key order),
    to t = `t_over_N` × N (None: as far as every group has run), each group
    refused unless its record is `made` with its group and `code`, or unless
    it has run that far; `partial`: the groups there (and run that far), not all."""
    N, G = made["N"], made["groups"]
    path = lambda g, ext: ck / f"N{N}{tag(G, g)}.{ext}"
    groups = [g for g in range(G) if path(g, "npz").exists() or not partial]
    if not groups:
        raise SystemExit(f"{ck}: no group of this run there")
    saves = []
    for g in groups:
        if not path(g, "npz").exists():
            raise SystemExit(f"{path(g, 'npz')}: group {g} has not run (or give --partial)")
        refuse_another_run(path(g, "json"), {**made, "group": g, "code": code})
        with np.load(path(g, "npz")) as z:
            saves.append(([z[k] for k in ("V", "f", "ev")], int(z["chunks"])))
    chunks = min(c for _, c in saves)
    if t_over_N is not None:
        need = int(np.ceil(t_over_N * N / (made["chunk"] * dt) - 1e-9))
        if partial:  # the groups that have run that far
            kept = [(g, x) for g, x in zip(groups, saves, strict=True) if x[1] >= need]
            if not kept:
                raise SystemExit(f"{ck}: no group has reached t = {t_over_N:g} N yet")
            groups, saves = (list(x) for x in zip(*kept, strict=True))
        short = [g for g, (_, c) in zip(groups, saves, strict=True) if c < need]
        if short:
            raise SystemExit(f"groups {short} have not reached t = {t_over_N:g} N (rerun them)")
        chunks = need
    n = chunks * made["chunk"] + 1
    out = [np.concatenate([x[j][:, :n] for x, _ in saves]) for j in range(3)]
    return dt * np.arange(n), out, groups


def against(pairs, made, line):
    """The leap pair (run_copy_leap.py --coupled) of `pairs` run from these
    starts (same N, key base and batch, unbinned) with the exact run `line`
    (this script's merge) and each leap run's difference from it, as one line
    of that file (`copy_exponent.py --steps` reads it). Unpaired: that pair's
    saves are not kept, so a difference's SE is that of two independent
    means, √(SE² + SE²). Pairing by start buys nothing here: over the 20
    paired differences of time-mean V/V(0) in that file (N = 999 … 9999) the
    paired SE is 0.92-1.13 of the unpaired one."""
    rows = [json.loads(x) for x in pairs.read_text().splitlines()]
    keys = ("N", "key_base", "batch", "seeds")
    twin = [r for r in rows if "dt" in r and all(r["made"].get(k) == made[k] for k in keys)]
    twin = [r for r in twin if r["made"].get("levels") == 0 and "exact" not in r]
    if len(twin) != 1:
        raise SystemExit(f"{pairs}: {len(twin)} leap pairs from these starts, not one")
    leap, exact = twin[0], line["exact"]
    diff = lambda a: {
        k: [a[k][0] - exact[k][0], float(np.hypot(a[k][1], exact[k][1]))] for k in exact
    }
    out = dict(leap, exact_run={k: v for k, v in line.items() if k != "exact"}, exact=exact)
    out.update({f"{r} minus exact": diff(leap[r]) for r in ("dt", "dt/2")})
    out.update(t_compared=line["t_end"], exact_pairing="unpaired: SE = hypot of the two SEs")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, required=True)
    ap.add_argument("--batch", type=int, default=32, help="ensembles per seed (2 seeds)")
    ap.add_argument("--groups", type=int, default=8, help="G: the 2·batch ensembles in G groups")
    ap.add_argument("--group", type=int, default=None, help="the group g < G to run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--t-over-N", type=float, default=0.32, help="run to t = this × N")
    ap.add_argument("--n-terms", type=int, default=16)
    ap.add_argument("--chunk", type=int, default=8, help="saves per checkpoint")
    ap.add_argument("--merge", action="store_true", help="statistics of the finished groups")
    ap.add_argument("--partial", action="store_true", help="--merge: the groups there so far")
    ap.add_argument("--npz", default=None, help="--merge: write the merged V saves here")
    ap.add_argument(
        "--against",
        default=None,
        metavar="FILE",
        help="--merge: the leap pair from the same starts in this step_pairs.jsonl, compared",
    )
    args = ap.parse_args()
    if (args.group is None) == (not args.merge):
        ap.error("give --group g to run a group, or --merge to read the finished ones")
    if 2 * args.batch % args.groups:
        ap.error(f"--groups {args.groups} does not divide the {2 * args.batch} ensembles")
    if args.group is not None and not 0 <= args.group < args.groups:
        ap.error(f"--group must be in [0, {args.groups})")

    import jax

    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from jqdlab._compile_cache import configure

    configure()
    from experiments.copy_coalescence import experiment as ex
    from jqd.copy import CopyMembersFaithfulMobius, MatrixParams

    ck = Path(args.out) / "ck"
    cfg = ex.Config(batch=args.batch, big_batch=args.batch, checkpoint=str(ck), Ns=NS)
    cfg = dataclasses.replace(cfg, chunk=args.chunk, n_terms=args.n_terms)
    P, N = cfg.P, args.N
    keys, dt = ex._keys_and_spacing(cfg, ex._sizes(NS, P).index(N), N)
    size = keys.shape[0] // args.groups
    made = dict(N=N, law="CopyMembersFaithfulMobius", batch=args.batch, groups=args.groups,
                n_terms=args.n_terms, chunk=cfg.chunk, key_base=cfg.key_base, seeds=cfg.seeds,
                max_substep=cfg.max_substep)  # fmt: skip
    if args.merge:
        ts, (V, F, E), groups = merged(ck, made, dt, args.t_over_N, code(ex), args.partial)
        if args.npz:
            from jqdlab.toolkit import savez_atomic

            savez_atomic(args.npz, V=V, ts=ts, groups=np.asarray(groups))
        # paired_statistics reads a coupled pair's (B, T, 2): the exact run as both
        stats = paired_statistics(ts, N, [np.stack([x, x], 2) for x in (V, F, E)])
        out = dict(made=made, groups=groups, ensembles=len(V), t_end=float(ts[-1]))
        out["t_over_N"] = args.t_over_N
        out.update(events_per_ensemble=stats["events_per_ensemble"][0])
        out.update(extinct_at_end=stats["extinct_at_end"][0])
        line = {**out, "exact": stats["dt"]}
        print(json.dumps(against(Path(args.against), made, line) if args.against else line))
        return

    g = args.group
    refuse_another_run(
        ck / f"N{N}{tag(args.groups, g)}.json", {**made, "group": g, "code": code(ex)}
    )
    keys = keys[g * size : (g + 1) * size]
    params = MatrixParams(H=ex.hamiltonian(cfg))
    law = CopyMembersFaithfulMobius(
        P, max_substep=cfg.max_substep, max_events_per_step=None, n_terms=args.n_terms
    )
    init, adv = ex._ensembles(law, params, N, P, cfg.chunk)
    t0 = time.time()

    class Rec:
        def progress(self, msg):
            print(f"[{time.time() - t0:.0f} s] group {g}: {msg}", flush=True)

    ts, (V, f, _, ev), _, wall = ex._run_until_aligned(
        init, adv, keys, dt, cfg, N, Rec(), None, tag=tag(args.groups, g), t_max=args.t_over_N * N
    )
    print(json.dumps(dict(made={**made, "group": g}, t_end=float(ts[-1]), wall_s=wall,
                          events_per_ensemble=float(ev[:, -1].mean()),
                          extinct_at_end=float(np.mean(np.any(f[:, -1] == 0, -1))))))  # fmt: skip


if __name__ == "__main__":
    main()
