"""`jqd reproduce --quick` with a cold and then a warm persistent compilation
cache (issue 16, item 3: the first run <= 240 s on 2 idle cores, the second
<= 40 % of the first).

    python benchmarks/bench_reproduce.py [--jobs 2] [--only NAME ...]
        [--no-cache-run] [--cache DIR] [--out DIR] [--device gpu]

Runs, one after the other, each as the real command in its own process:
  cold     `jqd reproduce --quick` with JQD_CACHE_DIR set to a fresh folder;
  warm     the same command again (the folder now holds every program);
  nocache  (with --no-cache-run) `jqd reproduce --quick --no-cache`.
Records each run's wall time, the load average sampled every 5 s during it
(the machine may be shared: say so with the numbers), and per experiment
the wall time, compile time (tracing + lowering + XLA compile or cache load),
programs compiled/loaded and cache hits from its summary.json; checks that
every claim's measured value is the same bits in every run; prints JSON
lines and a markdown table (per-experiment compile vs compute). The whole
command compiles hundreds of programs, so there is no single XLA cost
analysis to record here; `--device gpu` runs the command on the GPU
(`JAX_PLATFORMS` left to JAX) or says there is none and runs on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, markdown_table, select_device  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def run_reproduce(out: Path, env: dict, extra: list[str]) -> dict:
    """One `jqd reproduce --quick`: wall time, load samples, per-experiment summaries."""
    cmd = [sys.executable, "-m", "jqdlab.cli", "reproduce", "--quick", "--out", str(out), *extra]
    loads, stop = [], threading.Event()

    def sample():
        while not stop.wait(5.0):
            loads.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    thread.start()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    stop.set()
    (out / "bench_stdout.txt").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    exps = {}
    for summary in sorted(out.glob("*/summary.json")):
        s = json.loads(summary.read_text())
        exps[s["experiment"]] = s
    return {
        "wall_s": wall,
        "rc": proc.returncode,
        "load_start": load0,
        "load_mean": sum(loads) / len(loads) if loads else load0,
        "load_max": max(loads, default=load0),
        "experiments": exps,
    }


def claims_of(run: dict) -> dict:
    return {
        (name, c["name"]): float(c["measured"]).hex()
        for name, s in run["experiments"].items()
        for c in s["claims"]
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", action="append", default=[], metavar="NAME")
    ap.add_argument("--no-cache-run", action="store_true", help="also time --no-cache")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder (default: fresh tmp)")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs' folders here")
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    rep = Reporter("reproduce", args.json, argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="jqd-bench-reproduce-"))
    cache = args.cache or root / "cache"
    if cache.exists():
        shutil.rmtree(cache)  # cold means cold
    env = {k: v for k, v in os.environ.items() if k not in ("JQD_NO_CACHE", "JAX_PLATFORMS")}
    env["JQD_CACHE_DIR"] = str(cache)
    if args.device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    extra = ["--jobs", str(args.jobs)] + [x for n in args.only for x in ("--only", n)]
    plan = [("cold", []), ("warm", [])] + (
        [("nocache", ["--no-cache"])] if args.no_cache_run else []
    )
    runs = {}
    for label, flags in plan:
        out = root / label
        if out.exists():
            shutil.rmtree(out)
        print(f"{label}: jqd reproduce --quick {' '.join(extra + flags)}", flush=True)
        runs[label] = r = run_reproduce(out, env, extra + flags)
        exps = r["experiments"].values()
        rep.case(
            impl=label,
            wall_s=r["wall_s"],
            rc=r["rc"],
            experiments=len(r["experiments"]),
            compile_s_sum=sum(s["compile_time_s"] for s in exps),
            wall_s_sum=sum(s["wall_time_s"] for s in exps),
            programs=sum(s["n_compilations"] for s in exps),
            cache_hits=sum(s.get("n_cache_hits", 0) for s in exps),
            load_start=r["load_start"],
            load_mean=r["load_mean"],
            load_max=r["load_max"],
            jobs=args.jobs,
        )
        print(f"  {r['wall_s']:.1f} s (rc {r['rc']}, mean load {r['load_mean']:.2f})", flush=True)
    ref = claims_of(runs["cold"])
    same = {label: claims_of(r) == ref for label, r in runs.items()}
    size = sum(f.stat().st_size for f in cache.glob("*-cache")) if cache.exists() else 0
    n_files = len(list(cache.glob("*-cache"))) if cache.exists() else 0
    rep.case(impl="summary", claims_identical=same, cache_entries=n_files, cache_bytes=size,
             warm_over_cold=runs["warm"]["wall_s"] / runs["cold"]["wall_s"])  # fmt: skip
    rows = []
    for name, s in runs["cold"]["experiments"].items():
        w = runs["warm"]["experiments"].get(name, {})
        row = dict(name=name, cw=f"{s['wall_time_s']:.1f}", cc=f"{s['compile_time_s']:.1f}")
        row.update(cn=s["n_compilations"], ww=f"{w.get('wall_time_s', float('nan')):.1f}")
        row.update(wc=f"{w.get('compile_time_s', float('nan')):.1f}", wh=w.get("n_cache_hits"))
        rows.append(row)
    rows.sort(key=lambda r: -float(r["cc"]))
    cols = [("name", "experiment"), ("cw", "cold wall (s)"), ("cc", "cold compile (s)"),
            ("cn", "programs"), ("ww", "warm wall (s)"), ("wc", "warm compile (s)"),
            ("wh", "from cache")]  # fmt: skip
    print()
    print(markdown_table(rows, cols))
    print(
        f"\ncold {runs['cold']['wall_s']:.1f} s, warm {runs['warm']['wall_s']:.1f} s "
        f"({runs['warm']['wall_s'] / runs['cold']['wall_s']:.0%} of cold); claims identical: "
        f"{same}; cache {n_files} entries, {size / 2**20:.1f} MiB; folders in {root}"
    )


if __name__ == "__main__":
    main()
