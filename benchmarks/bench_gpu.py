"""The largest-run ladder on a GPU: measured time beside XLA's projection.

    python benchmarks/bench_gpu.py [--family NAME ...] [--rungs 3] [--max-run-s 10]

For each law family of `bench_largest.py` it runs the same standard run
(`jqd.evolve` over 100 steps saved 10 times, the plain call as a user types
it) on the default device, starting at the largest size the 2-core CPU
measured (`results_largest.md`) and growing by √10 per rung for `--rungs`
rungs, or until a call takes longer than `--max-run-s` or the device runs out
of memory. Each rung records: first call (trace + compile + run), the median
of three further calls (wall time, `jax.block_until_ready`), XLA's cost
analysis with the projected H100 time (`_common.cost`), XLA's buffer bytes,
and, at the CPU's size, the CPU's time from `results_largest.md`.
`--splitstep N` adds the 2-D split-step roofline case (N² grid, Strang):
grid points × steps per second and the fraction of the bandwidth bound.

One process (the GPU's memory is the limit, not the host's RSS). Prints one
JSON line per rung and writes the markdown table to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# bandwidth and fp64 rate of the device kinds a session may be lent (vendor figures)
PEAK = {"H100": (3.35e12, 34e12), "H200": (4.8e12, 34e12)}


def cpu_rungs() -> dict:
    """{family: {size: CPU seconds}} from results_largest.md's rung lines."""
    out = {}
    for line in open(os.path.join(HERE, "results_largest.md")):
        m = re.match(r"- \*\*([\w-]+)\*\*: (.*)", line)
        if m:
            cells = re.findall(r"([\d,]+): ([\d.e+-]+)/", m.group(2))
            out[m.group(1)] = {int(s.replace(",", "")): float(t) for s, t in cells}
    return out


def rung(name: str, size: int) -> dict:
    import bench_largest

    rec = bench_largest.child(name, size)  # the same standard run as on the CPU
    rec.pop("peak_rss_gb", None)  # the host's, not the device's
    return rec


def splitstep(n: int) -> dict:
    import _common
    import jax
    import numpy as np

    import jqd

    grid = jqd.Grid((n, n), 40.0)
    law = jqd.SchrodingerGrid(grid, potential=lambda x, t, w: 0.5 * w**2 * (x[0] ** 2 + x[1] ** 2))
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=0.5)
    params = jqd.SchrodingerParams(potential=1.0)
    steps = 100
    kw = dict(dt=2e-3, n_save=1, steps_per_save=steps)

    def plain():
        return jqd.evolve(law, psi0, params, **kw).y_final

    t = time.perf_counter()
    jax.block_until_ready(plain())
    first = time.perf_counter() - t
    times = []
    for _ in range(5):
        t = time.perf_counter()
        jax.block_until_ready(plain())
        times.append(time.perf_counter() - t)
    run_s = float(np.median(times))
    jitted = jax.jit(lambda y, p: jqd.evolve(law, y, p, check=False, **kw).y_final)
    rec = dict(family="splitstep-2d", size=n * n, first_s=first, run_s=run_s)
    rec.update(_common.cost(jitted.lower(psi0, params).compile()))
    rec["points_steps_per_s"] = n * n * steps / run_s
    # XLA's own byte count per step (results_gpu.md compares it with the minimal traffic)
    rec["bytes_per_step"] = rec["xla_bytes_accessed"] * rec.get("loop_scale", 1) / steps
    return rec


def main(argv=None) -> None:
    import bench_largest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", action="append", choices=sorted(bench_largest.FAMILIES))
    ap.add_argument("--rungs", type=int, default=3)
    ap.add_argument("--max-run-s", type=float, default=10.0)
    ap.add_argument("--splitstep", type=int, default=0, help="N of the N² split-step case")
    ap.add_argument("--out", default=os.path.join(HERE, "results_gpu.md"))
    ap.add_argument("--from-log", help="only rebuild the table from a run's JSON lines")
    args = ap.parse_args(argv)
    if args.from_log:  # a run cut short still printed its rungs
        import _common

        lines = [json.loads(ln[5:]) for ln in open(args.from_log) if ln.startswith("JSON ")]
        head, recs = lines[0], lines[1:]
        with open(args.out, "w") as f:
            f.write(markdown(recs, head["device"], head["jax"], _common))
        return

    import jax

    jax.config.update("jax_enable_x64", True)
    import _common

    dev = jax.devices()[0]
    kind = getattr(dev, "device_kind", dev.platform)
    print(
        "JSON " + json.dumps(dict(header=True, device=str(kind), jax=jax.__version__)), flush=True
    )
    cpu = cpu_rungs()
    recs = []
    if args.splitstep:
        try:
            recs.append(splitstep(args.splitstep))
        except Exception as err:  # noqa: BLE001 - recorded, the ladder goes on
            recs.append(dict(family="splitstep-2d", size=args.splitstep**2, error=repr(err)[:200]))
        print("JSON " + json.dumps(recs[-1]), flush=True)
    for name in args.family or bench_largest.FAMILIES:
        sizes = bench_largest.ladder(name)
        start = max(cpu.get(name, {sizes[0]: 0}))
        todo = [s for s in sizes if s >= start][: args.rungs]
        for size in todo:
            try:
                rec = rung(name, size)
            except Exception as err:  # noqa: BLE001 - out of memory ends the ladder
                rec = dict(family=name, size=size, error=" ".join(repr(err).split())[:200])
            rec["cpu_s"] = cpu.get(name, {}).get(size)
            recs.append(rec)
            print("JSON " + json.dumps(rec), flush=True)
            jax.clear_caches()
            if "error" in rec or rec["run_s"] > args.max_run_s:
                break
    with open(args.out, "w") as f:
        f.write(markdown(recs, str(kind), jax.__version__, _common))


def markdown(recs, kind, version, _common) -> str:
    bw, _ = next((v for k, v in PEAK.items() if k in kind), (math.nan, math.nan))
    lines = [
        f"# The largest-run ladder on a GPU ({kind})",
        "",
        f"`python benchmarks/bench_gpu.py`; {kind}, jax {version}, float64, "
        f"{time.strftime('%Y-%m-%d')}. Standard run as in results_largest.md (100 steps "
        "saved 10 times, plain `jqd.evolve`). *GPU*: median of 3 calls after the first "
        "(wall, blocked); *first*: trace + compile + run; *CPU*: the 2-core CPU's time at "
        "that size (results_largest.md); *projected*: XLA's cost analysis over the H100's "
        "fp64 rate and bandwidth (benchmarks/_common.py); *bytes/s*: XLA's bytes accessed "
        f"per second of GPU time, against this device's {bw / 1e12:.2f} TB/s.",
        "",
        "| family | size | GPU (s) | first (s) | CPU (s) | CPU / GPU | projected H100 (s) "
        "| GPU / projected | bytes/s (TB/s) | XLA buffers (GB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        if "error" in r:
            lines.append(f"| {r['family']} | {r['size']:,} | failed: {r['error'][:90]} |")
            continue
        proj = r.get("h100_projected_s", math.nan)
        nbytes = r.get("xla_bytes_accessed", math.nan) * r.get("loop_scale", 1)
        cpu = r.get("cpu_s")
        cpu_text = "–" if cpu is None else f"{cpu:.3g}"
        speedup = "–" if cpu is None else f"{cpu / r['run_s']:.3g}"
        lines.append(
            f"| {r['family']} | {r['size']:,} | {r['run_s']:.3g} | {r['first_s']:.3g} "
            f"| {cpu_text} | {speedup} | {proj:.2g} "
            f"| {r['run_s'] / proj:.3g} | {nbytes / r['run_s'] / 1e12:.3g} "
            f"| {r.get('xla_bytes', math.nan) / 1e9:.3g} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
