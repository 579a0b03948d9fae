"""One N of copy-coalescence's coalescence sweep with the tau-leap law
(`CopyFaithfulTauLeap`), on whatever device JAX has: the experiment's own
ensembles, keys (`_keys_and_spacing` with Ns extended to 1e6: 2 seeds ×
`--batch` at every N) and stopping rule, checkpointed after every chunk into OUT/ck/N{N}.npz
(the experiment's own checkpoint format, but keyed by this script, not by
`jqd run`, which refuses the folder), stopped after a wall budget (rerun to resume). Prints one JSON line: t_align
(the ensemble-mean V at ½ V(0)), its bootstrap SE, the extinct fraction, wall.

    python benchmarks/run_copy_leap.py --N 99999 --batch 8 --out DIR [--budget 3600] [--piece 40] [--levels 1024]

A checkpoint resumes only the run that made it: its settings (N, step,
batch, levels, piece, chunk, key base, seeds, and T) and the sha256 of the
code that computes it (jqd's source and the experiment's) are kept beside it
in OUT/ck/N{N}{tag}.json, and another run, or other code, is refused.

`--piece`: steps per compiled call (the experiment's LEAP_PIECE = 8; 40 cuts
the host round trips on a GPU). `--levels`: the experiment's phase_levels
(initial phases on that many bins where a class is larger; default the
Config's, 1024; 0: the exact uniform start).
The H100 run of 2026-11-27 used `--N 99999 --batch 8 --budget 450 --piece 40
--levels 0` (benchmarks/results_copy_scale.md).

The step error (issue 55): `--coupled --dt H --t-over-N T` runs each
ensemble at the step H and at H/2 on common noise (`jqd.Coupled`: the
experiment's `_ensembles(..., coupled=True)`, the two runs compacted
together), from the same start and keys, to t = T·N, checkpointed into
OUT/ck/N{N}-coupled-dt{H}.npz. It prints, per run and for the paired
difference (H run − H/2 run; bootstrap over ensembles, one resample for
both runs): the crossings of the ensemble-mean V at 0.8, 0.7, 0.6 and 0.5
of V(0), V/V(0) at t/N = 0.02, 0.04, 0.08, 0.16, 0.24, and its time-mean
over 0 < t ≤ 0.24 N and 0.32 N. For a law of weak order 1 the difference
estimates half the H run's bias. `--exact DIR` adds the exact law's run
from the same keys (the checkpoint folder of `jqd run copy-coalescence --set
Ns=30,100,300,1000,3000 --set batch=B --set exact_max=1000000000 --set
checkpoint=DIR`, B the same `--batch`; N/P below the levels, so that both
start from the same phases; a folder whose run differs is refused, naming
what differs, or the `--out` folder of run_copy_exact.py with the same
`--batch`) and each leap run's difference from it.

    python benchmarks/run_copy_leap.py --N 99999 --batch 4 --coupled --dt 0.25 --t-over-N 0.4 --out DIR

Replicates: `--key-base K` runs the same pair on other keys (the Config's
key base is 100); `--pool DIR ...` (with the run's other options) pools the
finished pairs in those --out folders, which may differ only in key base and
batch, and prints the statistics over all their ensembles with each
replicate's difference and their χ² (the scatter against the bootstrap SEs).

Step ladders: `--ladder DIR ...` takes finished pairs of one N at H, H/2, H/4 …
(pairs at H and at H/2 share their key bases, so every step size runs from the
same starts), pools each step's pairs over the key bases, and prints every
pairing of two runs from the same starts: the step differences (H − H/2 of each
pair), the runs two pairs share (H/2 of one pair against the coarse run of
the next: the same step on other noise, expectation 0) and the ends of the
ladder; `paired_statistics` of each, one bootstrap resample for all.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
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
    ap.add_argument("--coupled", action="store_true", help="the H and H/2 runs, paired")
    ap.add_argument("--dt", type=float, default=None, help="the leap step H (Config's leap_dt)")
    ap.add_argument("--t-over-N", type=float, default=0.4, help="--coupled: run to t = this × N")
    ap.add_argument("--chunk", type=int, default=None, help="saves per checkpoint (Config's 40)")
    ap.add_argument(
        "--key-base", type=int, default=None, help="the keys' base (Config's; another: a replicate)"
    )
    ap.add_argument(
        "--exact",
        default=None,
        help="--coupled: the checkpoint folder of the exact law's run from the same keys "
        "(jqd run copy-coalescence --set checkpoint=DIR ...), compared ensemble by ensemble",
    )
    ap.add_argument(
        "--ladder",
        nargs="+",
        default=None,
        metavar="DIR",
        help="--coupled: finished pairs at H, H/2, ... from the same key bases: every pairing",
    )
    ap.add_argument(
        "--pool",
        nargs="+",
        default=None,
        metavar="DIR",
        help="--coupled: pool the finished pairs in these --out folders (replicates: the same "
        "run but for --key-base and --batch) instead of running",
    )
    args = ap.parse_args()
    if (args.pool or args.ladder) and not args.coupled:
        ap.error("--pool and --ladder read coupled pairs: add --coupled (and the pairs' options)")
    if args.pool and args.ladder:
        ap.error("--pool and --ladder are two readings of finished pairs: give one")
    import jax

    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from jqdlab._compile_cache import configure

    # the jqd command's persistent cache: a resumed run loads its programs (one per
    # width W; the coupled pair's took minutes each to compile at N = 1e6)
    configure()
    from experiments.copy_coalescence import experiment as ex
    from jqd.copy import CopyFaithfulTauLeap, MatrixParams

    ck = str(Path(args.out) / "ck")  # --batch: ensembles per seed at every N
    cfg = ex.Config(batch=args.batch, big_batch=args.batch, checkpoint=ck, Ns=NS)
    if args.dt is not None:
        cfg = dataclasses.replace(cfg, leap_dt=args.dt)
    if args.chunk is not None:  # the keys are per chunk: another chunk is another run
        cfg = dataclasses.replace(cfg, chunk=args.chunk)
    if args.key_base is not None:
        cfg = dataclasses.replace(cfg, key_base=args.key_base)
    P, N = cfg.P, args.N
    keys, dt = ex._keys_and_spacing(cfg, ex._sizes(NS, P).index(N), N)
    B = keys.shape[0]
    boot = resamples(B, cfg.n_boot)  # the stopping rule's, and t_align's SE
    ex.LEAP_PIECE = args.piece
    params = MatrixParams(H=ex.hamiltonian(cfg))
    law = CopyFaithfulTauLeap(P)
    levels = cfg.phase_levels if args.levels is None else args.levels
    init, adv = ex._ensembles(
        law, params, N, P, cfg.chunk, cfg.leap_dt, levels, coupled=args.coupled
    )
    tag = f"-coupled-dt{cfg.leap_dt:g}" if args.coupled else ""
    made = dict(N=N, dt=cfg.leap_dt, batch=args.batch, levels=levels, piece=args.piece,
                chunk=cfg.chunk, key_base=cfg.key_base, seeds=cfg.seeds)  # fmt: skip
    if args.coupled:
        made["t_over_N"] = args.t_over_N
    if args.pool:
        print(json.dumps(pooled([Path(d) for d in args.pool], N, tag, made, dt)))
        return
    if args.ladder:
        print(json.dumps(ladder([Path(d) for d in args.ladder], N, made, dt)))
        return
    refuse_another_run(Path(ck) / f"N{N}{tag}.json", {**made, "code": code(ex)})
    t0 = time.time()

    class Rec:
        def progress(self, msg):
            print(f"[{time.time() - t0:.0f} s] {msg}", flush=True)

    def budgeted(y, k, dt):
        if time.time() - t0 > args.budget:
            raise TimeoutError
        return adv(y, k, dt)

    t_max = args.t_over_N * N if args.coupled else None
    try:
        ts, (V, f, _, ev), _, wall = ex._run_until_aligned(
            init, budgeted, keys, dt, cfg, N, Rec(), boot, tag=tag, t_max=t_max
        )
    except TimeoutError:
        print(f"stopped at the budget; rerun the same line to resume from {cfg.checkpoint}")
        return
    if args.coupled:
        exact = None if args.exact is None else exact_saves(Path(args.exact), N, cfg, levels, V)
        out = dict(made=made, wall_s=wall, **paired_statistics(ts, N, [V, f, ev], exact))
        print(json.dumps(dict(device=str(jax.devices()[0]), **out)))
        return
    t_align, se = crossing(ts, V, cfg.fraction, boot)
    print(
        json.dumps(
            dict(
                N=N,
                ensembles=B,
                device=str(jax.devices()[0]),
                t_end=float(ts[-1]),
                t_align=t_align,
                t_align_boot_se=se,
                extinct_at_end=float(np.mean(np.any(f[:, -1] == 0, axis=-1))),
                events_per_ensemble=float(ev[:, -1].mean()),
                wall_s=wall,
            )
        )
    )


def resamples(B, n_boot):
    """The bootstrap resamples of B ensembles (indices, (n_boot, B)) that a run's
    stopping rule and its printed t_align SE use; `copy_exponent.py` draws the same."""
    return np.random.default_rng(0).integers(0, B, (n_boot, B))


def crossing(ts, V, level, boot):
    """(t at `level` × V(0) of the ensemble-mean V (B, T) saved at `ts`, its SE
    over the resamples `boot`; a resample that never crosses is left out)."""
    from experiments.copy_coalescence import experiment as ex

    t = float(ex._t_align(ts, V, level))
    return t, float(np.nanstd([ex._t_align(ts, V[b], level) for b in boot]))


def code(ex):
    """The sha256 of the code a run's numbers come from: jqd's source and the
    experiment's folder (`jqdlab.storage.code_fingerprint`'s two)."""
    from types import SimpleNamespace

    from jqdlab.storage import code_fingerprint

    made = code_fingerprint(SimpleNamespace(run=ex.run))
    return {k: made[k] for k in ("jqd_source_sha256", "experiment_source_sha256")}


def refuse_another_run(path, made):
    """The checkpoint beside `path` resumes only the run that made it: its
    settings and code are written there first, and others are refused."""
    if path.exists():
        was = json.loads(path.read_text())
        if was != made:
            differ = {k: (was.get(k), made.get(k)) for k in made.keys() | was.keys()}
            differ = {k: v for k, v in differ.items() if v[0] != v[1]}
            why = "move it away"
            if "code" in differ:  # two sha dicts: say which, not the digits
                was_code = was.get("code") or {}
                differ["code"] = [k for k in made["code"] if was_code.get(k) != made["code"][k]]
                why = (
                    "code: the sources that differ (all where it predates the record); "
                    "resume it with the code that made it, or move it away"
                )
            raise SystemExit(
                f"{path.with_suffix('.npz')} belongs to another run (was, now: {differ}); {why}"
            )
        return
    from jqdlab.toolkit import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(made))


LEVELS = (0.8, 0.7, 0.6, 0.5)  # crossings of the ensemble-mean V, × V(0)
T_OVER_N = (0.02, 0.04, 0.08, 0.16, 0.24)
MEAN_TO = (0.24, 0.32)  # time-means of V/V(0) over 0 < t <= this × N


def finished_pair(info, made, dt, free, what):
    """(settings, [V, f, ev]) of the coupled pair whose settings file is `info`
    (OUT/ck/N{N}-coupled-dt{H}.json, saves `dt` apart), refused unless its
    settings are this run's `made` but for the keys in `free`, and unless it
    has finished by the experiment's stopping rule (`_run_until_aligned`, with
    t_max = t_over_N · N); `what` names the role the folder was refused for."""
    folder = info.parent.parent
    was = json.loads(info.read_text())
    differ = {k: (was.get(k), v) for k, v in made.items() if k not in free and was.get(k) != v}
    if differ:
        raise SystemExit(f"{folder}: not {what} ({differ})")
    saves = np.load(info.with_suffix(".npz"))
    if int(saves["chunks"]) * made["chunk"] * dt < made["t_over_N"] * made["N"] - 1e-9:
        raise SystemExit(f"{folder}: its run has not finished (rerun it to resume)")
    return was, [saves[k] for k in ("V", "f", "ev")]


def weighted_mean(values, ses):
    """(inverse-variance mean, its SE, χ² of the values about it, dof) over the
    finite values with an SE > 0: the replicates' scatter against their SEs."""
    values, ses = np.asarray(values, float), np.asarray(ses, float)
    ok = np.isfinite(values) & (ses > 0)
    w = 1 / ses[ok] ** 2
    mean = float(np.sum(w * values[ok]) / w.sum()) if ok.any() else np.nan
    chi2 = float(np.sum(w * (values[ok] - mean) ** 2))
    return mean, float(w.sum() ** -0.5) if ok.any() else np.nan, chi2, int(ok.sum()) - 1


def one_code(folders, settings):
    """Finished runs pooled into one result come from one code: refused where
    two of them recorded different sources (runs from before the record hold
    none and pass)."""
    codes = {}  # each code's first folder
    for f, w in zip(folders, settings, strict=True):
        if "code" in w:
            codes.setdefault(json.dumps(w["code"], sort_keys=True), f)
    if len(codes) > 1:
        raise SystemExit(
            f"{', '.join(map(str, codes.values()))}: made by different code; pool one's"
        )


def pooled(folders, N, tag, made, dt):
    """`paired_statistics` over every ensemble of the finished coupled pairs in
    `folders` (`finished_pair`: they may differ from this run's settings `made`
    in the key base and batch alone, and no key base repeats); with each
    replicate's own difference of the time-means and their χ² about the
    inverse-variance mean (the replicates' scatter against their bootstrap
    SEs)."""
    runs, bases, settings = [], [], []
    for folder in folders:
        info = folder / "ck" / f"N{N}{tag}.json"
        was, saves = finished_pair(info, made, dt, ("key_base", "batch"), "a replicate of this run")
        if was["key_base"] in bases:
            raise SystemExit(f"{folder}: not a replicate of this run (key base again)")
        runs.append(saves)
        bases.append(was["key_base"])
        settings.append(was)
    one_code(folders, settings)
    T = min(r[0].shape[1] for r in runs)
    ts = dt * np.arange(T)
    each = [paired_statistics(ts, N, [x[:, :T] for x in r]) for r in runs]
    out = paired_statistics(ts, N, [np.concatenate([r[i][:, :T] for r in runs]) for i in range(3)])
    scatter = {}
    for name in each[0]["dt minus dt/2"]:
        m, e = np.array([r["dt minus dt/2"][name] for r in each]).T
        _, _, chi2, dof = weighted_mean(m, e)
        if dof > 0:
            scatter[name] = {"each": [[float(a), float(b)] for a, b in zip(m, e, strict=True)],
                             "chi2": chi2, "dof": dof}  # fmt: skip
    return dict(made={**made, "key_base": bases, "batch": None}, replicates=scatter, **out)


def ladder(folders, N, made, dt):
    """The pairings of the runs of coupled pairs at H, H/2, H/4 … (`--ladder`):
    each step's pairs pooled over their key bases (`finished_pair`: the same
    bases at every step, ensembles in one order), then `paired_statistics` of
    every two runs from the same starts, saves `dt` apart."""
    steps, settings = {}, []  # H -> {key base: [V, f, ev]}
    for folder in folders:
        infos = sorted((folder / "ck").glob(f"N{N}-coupled-dt*.json"))
        if len(infos) != 1:
            raise SystemExit(f"{folder}: holds {len(infos)} coupled pairs at N = {N}, not one")
        was, saves = finished_pair(infos[0], made, dt, ("key_base", "dt"), "a rung of this ladder")
        if was["key_base"] in steps.get(was["dt"], {}):
            raise SystemExit(f"{folder}: not a rung of this ladder (key base again)")
        steps.setdefault(was["dt"], {})[was["key_base"]] = saves
        settings.append(was)
    one_code(folders, settings)
    hs = sorted(steps, reverse=True)
    bases = sorted(steps[hs[0]])
    if (
        len(hs) < 2
        or any(sorted(steps[h]) != bases for h in hs)
        or any(not np.isclose(a, 2 * b) for a, b in zip(hs, hs[1:]))
    ):
        raise SystemExit(
            f"--ladder needs pairs at H, H/2, ... on the same key bases; got "
            f"{ {h: sorted(steps[h]) for h in hs} }"
        )
    T = min(r[0].shape[1] for h in hs for r in steps[h].values())
    ts = dt * np.arange(T)
    runs = {  # H -> [V, f, ev] over all key bases; axis 2 of each: the H run, the H/2 run
        h: [np.concatenate([steps[h][b][i][:, :T] for b in bases]) for i in range(3)] for h in hs
    }
    name = lambda h, r: f"{h:g}" if r == 0 else f"{h / 2:g} (pair {h:g})"  # noqa: E731

    def pair(a, b):  # runs a, b ((H, 0): the pair's H run, (H, 1): its H/2 run)
        Va, Vb = runs[a[0]], runs[b[0]]
        both = [np.stack([Va[i][:, :, a[1]], Vb[i][:, :, b[1]]], axis=2) for i in range(3)]
        return {"runs": [name(*a), name(*b)], **paired_statistics(ts, N, both)}

    pairings = [pair((h, 0), (h, 1)) for h in hs]  # each pair's own step difference
    pairings += [pair((h, 1), (h / 2, 0)) for h in hs[:-1]]  # one step, two noises
    pairings += [pair((hs[0], 0), (hs[-1], 1))]  # the ends of the ladder
    return dict(made={**made, "dt": hs, "key_base": bases}, pairings=pairings)


# what makes the exact run's ensembles and saves those of the leap run (the
# experiment's config, as its checkpoint folder records it)
SAME = ("P", "detuning", "coupling", "batch", "seeds", "key_base", "t_end", "n_save")


def exact_saves(folder, N, cfg, levels, V):
    """The exact law's V saves (B, T) at N from the experiment's checkpoint
    `folder`, refused unless that run is this one's twin: the same config in
    `SAME` (keys, ensembles, save times), N at the same index of its `Ns` as in
    NS (the key of N), the exact law at N (`exact_max`), an unbinned leap start
    (N/P below the levels), and, as a last check, each ensemble's V(0). Or
    from run_copy_exact.py's `--out` folder: its groups merged (`merged`), the
    same batch, key base and seeds (its keys are NS's, as here)."""
    from experiments.copy_coalescence import experiment as ex

    groups = sorted((folder / "ck").glob(f"N{N}-exact-g*of*.json"))
    if groups:  # run_copy_exact.py's groups (run as far as every group has)
        from run_copy_exact import merged

        was = json.loads(groups[0].read_text())
        same = {k: (was[k], getattr(cfg, k)) for k in ("batch", "key_base", "seeds")}
        if any(a != b for a, b in same.values()) or 0 < levels < N // cfg.P:
            raise SystemExit(
                f"{folder}: other ensembles (its value, this run's: {same}), or binned"
            )
        made = {k: v for k, v in was.items() if k not in ("group", "code")}
        dt = ex._save_spacing(cfg, N)
        Ve = merged(folder / "ck", made, dt, None, was["code"])[1][0]
    else:
        Ve = experiment_saves(folder, N, cfg, levels)
    if Ve.shape[0] != V.shape[0] or not np.allclose(Ve[:, 0], V[:, 0, 0], rtol=0, atol=1e-12):
        raise SystemExit(f"{folder}: its ensembles do not start as these")
    return Ve


def experiment_saves(folder, N, cfg, levels):
    """`exact_saves` from `jqd run copy-coalescence`'s checkpoint folder."""
    from experiments.copy_coalescence import experiment as ex

    made = json.loads((folder / "jqd-checkpoint.json").read_text())
    was = made["config"]
    differ = {k: (was.get(k), getattr(cfg, k)) for k in SAME if was.get(k) != getattr(cfg, k)}
    sizes = ex._sizes(was.get("Ns", ()), cfg.P)
    if made.get("experiment") != "copy-coalescence" or differ:
        raise SystemExit(f"{folder}: another run (its value, this run's: {differ})")
    if N not in sizes:
        raise SystemExit(f"{folder}: its Ns {was.get('Ns')} do not hold N = {N}")
    if sizes.index(N) != ex._sizes(NS, cfg.P).index(N):  # N's index is in its keys
        raise SystemExit(f"{folder}: its Ns {was.get('Ns')} give N = {N} other keys than NS does")
    if was.get("exact_max", 0) < N or 0 < levels < N // cfg.P:
        raise SystemExit(
            f"{folder}: N = {N} is not run by the exact law there, or starts binned here"
        )
    return np.load(folder / f"N{N}.npz")["V"]


def paired_statistics(ts, N, saves, exact=None, n_boot=1000):
    """Per run (dt, dt/2) and for their difference: the crossings of the
    ensemble-mean V at `LEVELS` × V(0), V/V(0) at `T_OVER_N` and its time-mean
    over 0 < t <= `MEAN_TO` × N (where the run reaches it), each with its
    bootstrap SE over the ensembles (one resample for both runs). With `exact`
    (the exact law's V (B, T) from the same starts, `exact_saves`): that run's
    statistics too, and each leap run's difference from it, paired."""
    from experiments.copy_coalescence import experiment as ex

    V, ev, t_end = saves[0], saves[2], float(ts[-1])
    means = [x for x in MEAN_TO if ts[-1] >= x * N - 1e-6]
    if exact is not None:
        ts_e = ts[0] + (ts[1] - ts[0]) * np.arange(exact.shape[1])
        means = [x for x in means if ts_e[-1] >= x * N - 1e-6]
        n = min(len(ts), len(ts_e))  # the exact run's saves on the same times
        ts, V, exact = ts[:n], V[:, :n], exact[:, :n]

    def stats(Vb):  # Vb: (B, T) -> crossings, V/V(0) at t/N, its time-means
        m = Vb.mean(0)
        cross = [ex._crossing(ts, m, c * m[0]) for c in LEVELS]
        at = [np.interp(x * N, ts, m, right=np.nan) / m[0] for x in T_OVER_N]
        mean = [np.mean(m[(ts > 0) & (ts <= x * N + 1e-9)]) / m[0] for x in means]
        return np.array(cross + at + mean)

    def both(idx):
        a, b = stats(V[idx, :, 0]), stats(V[idx, :, 1])
        if exact is None:
            return np.stack([a, b, a - b])
        e = stats(exact[idx])
        return np.stack([a, b, a - b, e, a - e, b - e])

    point = both(np.arange(len(V)))
    rng = np.random.default_rng(0)
    boot = np.array([both(rng.integers(0, len(V), len(V))) for _ in range(n_boot)])
    with warnings.catch_warnings():  # a level no resample crosses: its SE is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(boot, axis=0)
    names = [f"t_cross_{c:g}" for c in LEVELS] + [f"V_rel_at_t/N={x:g}" for x in T_OVER_N]
    names += [f"V_rel_mean_to_t/N={x:g}" for x in means]
    runs = ("dt", "dt/2", "dt minus dt/2")
    runs += () if exact is None else ("exact", "dt minus exact", "dt/2 minus exact")
    return {
        "ensembles": len(V),
        "t_end": t_end,  # the leap run's; with `exact`, the statistics stop at t_compared
        **({} if exact is None else {"t_compared": float(ts[-1])}),
        "events_per_ensemble": [float(ev[:, -1, r].mean()) for r in (0, 1)],
        "extinct_at_end": [float(np.mean(np.any(saves[1][:, -1, r] == 0, -1))) for r in (0, 1)],
        **{
            run: {n: [float(point[r, j]), float(se[r, j])] for j, n in enumerate(names)}
            for r, run in enumerate(runs)
        },
    }


if __name__ == "__main__":
    main()
