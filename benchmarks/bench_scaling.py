"""Scaling across processes with `jax.distributed` on localhost (issue 56, item 2):
an SDE ensemble and a `jqd sweep`, at 1, 2 and 4 processes on the CPU.

Every process joins the job as `jqd --distributed` does
(`jqdlab.distributed.initialize`: JQD_COORDINATOR=127.0.0.1:PORT,
JQD_NUM_PROCESSES, JQD_PROCESS_ID; gloo collectives), sees one CPU device
(`--xla_force_host_platform_device_count=1`) and is pinned to one core,
process i to core i mod (cores): on this 2-core machine 4 processes share 2
cores, so the ideal efficiency at 4 processes is 0.5, strong or weak, not 1.

1. Ensemble (`--law nelson`, default: `jqd.dqm.NelsonEnsemble`, stochastic
   Heun + cubic, the problem of bench_nelson.py, `--steps` steps per call;
   `--law ou`: the Ornstein-Uhlenbeck law of bench_paths.py, 100 steps).
   Each process evolves its own N/P particles (its own sample of |ψ0|² and
   its own key, `jax.random.fold_in(key, process)`), ψ replicated: the
   paths are independent, so the only communication is the reduction of
   the ensemble's moments at the end of each call
   (`multihost_utils.process_allgather`). One call = a barrier, the jitted
   `jqd.evolve` call (check=False) on the local particles, the all-gather
   of (Σx, Σx²); its wall time on process 0 is the slowest process's.
   Strong scaling: N fixed (`--strong-n`), efficiency T1 / (P·TP); weak
   scaling: N/P fixed (`--weak-n`), efficiency T1 / TP. Beside them the
   CPU-time efficiency: CPU seconds per particle-step of the one process
   over those of all P processes together (1: splitting added no work; the
   wall-time efficiency then tells what the cores, shared with other jobs,
   gave). The global ⟨x⟩ and var x are checked against the exact ones
   (Nelson: 0.5 cos t and 1/2; OU: the Euler-Maruyama moments of
   bench_paths.ou_moments), within 5 standard errors.
2. Sweep: `jqd sweep kerr-revival --quick --set n_save=400 --set cutoff=80
   --over U=0.5:2.0:M --batch 32·P --distributed --no-cache --no-progress`
   in P processes (32 items per device and chunk at every P; n_save and
   cutoff raised from the quick config's 100 and 39 so that an item costs
   about 4-6 ms and the computing, not the chunk files, is what is split);
   strong M = `--sweep-items`, weak M = `--sweep-items-per-process` · P.
   Times from its
   summary.json: the engine's wall time (compile included), its compile time
   and the chunks' compute time, and the whole command's wall time
   (interpreter start, joining, validation, writing the NetCDF) with the CPU
   seconds of all its processes together (`getrusage(RUSAGE_CHILDREN)`).
   Efficiency from the engine's wall time less the compile.

Every configuration runs once per round (`--rounds`, the configurations in
the same order each round); a configuration's time is the median over
rounds of its per-round median (ensemble: `--repeats` calls after a warm-up).

Usage:
  python benchmarks/bench_scaling.py                     # both parts, 1, 2, 4 processes
  python benchmarks/bench_scaling.py --parts ensemble --law ou --json run.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(argv: list[str], p: int, timeout: float) -> tuple[list[str], float, float]:
    """Run `argv` in `p` processes joined as one job; (outputs, wall s, CPU s
    of all of them and their children)."""
    import resource

    def children_cpu():
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    port = _free_port()
    cpu0 = children_cpu()
    cpus = sorted(os.sched_getaffinity(0))
    procs = []
    t0 = time.perf_counter()
    for i in range(p):
        env = {
            **os.environ,
            "XLA_FLAGS": "--xla_force_host_platform_device_count=1",
            "JAX_PLATFORMS": "cpu",
            "JQD_COORDINATOR": f"127.0.0.1:{port}",
            "JQD_NUM_PROCESSES": str(p),
            "JQD_PROCESS_ID": str(i),
            "JQD_DISTRIBUTED_TIMEOUT": "120",
        }
        pin = ["taskset", "-c", str(cpus[i % len(cpus)])]  # one core per process
        procs.append(
            subprocess.Popen(
                pin + argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    outs = []
    for pr in procs:
        try:
            outs.append(pr.communicate(timeout=timeout)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    wall = time.perf_counter() - t0
    for pr, out in zip(procs, outs, strict=True):
        if pr.returncode != 0:
            raise RuntimeError(f"a process of {argv} exited {pr.returncode}:\n{out[-3000:]}")
    return outs, wall, children_cpu() - cpu0


# ---------------------------------------------------------------- ensemble worker


def ensemble_worker(a) -> None:
    """One process of the ensemble job (started by `_launch`)."""
    import math

    from jqdlab.distributed import initialize

    initialize()
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.experimental import multihost_utils as mu

    jax.config.update("jax_enable_x64", True)
    import jqd

    p, me = jax.process_count(), jax.process_index()
    n = int(a.n_local)
    key = jax.random.fold_in(jax.random.key(1), me)
    if a.law == "nelson":
        from bench_nelson import DT, LENGTH, POINTS, _first_particle, _ho

        from jqd.dqm import EnsembleState, NelsonEnsemble

        grid = jqd.Grid((POINTS,), LENGTH)
        psi = jqd.reference.gaussian_packet(grid, 1.0, x0=0.5)
        x = 0.5 + jax.random.normal(jax.random.fold_in(jax.random.key(0), me), (n, 1)) / math.sqrt(
            2
        )
        law = NelsonEnsemble(jqd.SchrodingerGrid(grid, _ho), scheme="heun", interpolation="cubic")
        params, y0, steps, dt = jqd.SchrodingerParams(), EnsembleState(psi, x), a.steps, DT
        observe, read = _first_particle, lambda y: y.x[:, 0]
        t_end = steps * dt
        exact = {"mean": 0.5 * math.cos(t_end), "var": 0.5}
    else:
        from bench_paths import DT as dt
        from bench_paths import STEPS as steps
        from bench_paths import X0, ou_law, ou_moments

        law, params = ou_law()
        y0, observe, read = jnp.full((n,), X0), None, lambda y: y
        m = ou_moments()
        exact = {"mean": m["mean"] + m["bias_mean"], "var": m["var"] + m["bias_var"]}

    @jax.jit
    def call(y, k):
        sol = jqd.evolve(law, y, params, dt=dt, n_save=1, steps_per_save=steps, key=k,
                         observe=observe, checkpoint=False, check=False)  # fmt: skip
        x = read(sol.y_final)
        return jnp.stack([x.sum(), (x * x).sum()])

    t = time.perf_counter()
    jax.block_until_ready(call(y0, key))
    first = time.perf_counter() - t
    walls, locals_, cpus = [], [], []
    for r in range(a.repeats):
        mu.sync_global_devices(f"bench-scaling-{r}")
        t, c = time.perf_counter(), time.process_time()
        s = np.asarray(call(y0, key))
        local, cpu = time.perf_counter() - t, time.process_time() - c
        tot = np.asarray(mu.process_allgather(s)).reshape(p, 2).sum(0)
        walls.append(time.perf_counter() - t)
        locals_.append(local)
        cpus.append(cpu)
    mine = np.array([statistics.median(locals_), first, statistics.median(cpus)])
    every = np.asarray(mu.process_allgather(mine)).reshape(p, 3)
    if me == 0:
        n_total = n * p
        mean = tot[0] / n_total
        var = tot[1] / n_total - mean**2
        se_m, se_v = math.sqrt(var / n_total), var * math.sqrt(2 / (n_total - 1))
        ok = abs(mean - exact["mean"]) <= 5 * se_m and abs(var - exact["var"]) <= 5 * se_v
        print("RESULT " + json.dumps({
            "processes": p, "n_local": n, "n_total": n_total, "steps": steps,
            "median_s": statistics.median(walls), "times": walls,
            "local_compute_s": every[:, 0].tolist(), "first_s": every[:, 1].tolist(),
            "local_cpu_s": every[:, 2].tolist(),
            "mean_x": mean, "var_x": var, "exact": exact, "moments_ok": bool(ok),
        }), flush=True)  # fmt: skip


# ---------------------------------------------------------------- launcher


def run_ensemble(rep, a) -> list[dict]:
    strong, weak = int(a.strong_n), int(a.weak_n)
    procs = [int(x) for x in a.procs.split(",")]
    configs = [("strong", p, strong // p) for p in procs]
    configs += [("weak", p, weak) for p in procs if ("strong", p, weak) not in configs]
    runs: dict[tuple, list] = {c: [] for c in configs}
    load = {c: [] for c in configs}
    for _ in range(a.rounds):
        for c in configs:
            _, p, n_local = c
            argv = [sys.executable, __file__, "--worker", "ensemble", "--law", a.law,
                    "--n-local", str(n_local), "--steps", str(a.steps),
                    "--repeats", str(a.repeats)]  # fmt: skip
            load[c].append(os.getloadavg()[0])
            outs, _, _ = _launch(argv, p, a.timeout)
            line = next(x for x in outs[0].splitlines() if x.startswith("RESULT "))
            runs[c].append(json.loads(line[len("RESULT ") :]))
    out = []
    for kind in ("strong", "weak"):
        rows = [(p, strong // p if kind == "strong" else weak) for p in procs]
        base = base_cpu = None
        for p, n in rows:
            c = next(c for c in configs if c[1] == p and c[2] == n)
            rs = runs[c]
            med = statistics.median(r["median_s"] for r in rs)
            cpu = statistics.median(sum(r["local_cpu_s"]) for r in rs)  # CPU s of all processes
            base, base_cpu = (med, cpu / n) if p == 1 else (base, base_cpu)
            eff = base / (p * med) if kind == "strong" else base / med
            r0 = rs[-1]
            out.append(rep.case(
                law=f"{a.law} ensemble", impl=f"jax.distributed x{p}", scaling=kind,
                processes=p, n_local=n, n_total=n * p, steps=r0["steps"], dtype="float64",
                median_s=med, round_medians=[r["median_s"] for r in rs],
                local_compute_s=r0["local_compute_s"], local_cpu_s=r0["local_cpu_s"],
                cpu_s=cpu, cpu_efficiency=base_cpu * n * p / cpu, first_s=r0["first_s"],
                throughput=n * p * r0["steps"] / med,
                unit="particle-steps/s" if a.law == "nelson" else "path-steps/s",
                speedup=base / med if kind == "strong" else p * base / med, efficiency=eff,
                mean_x=r0["mean_x"], var_x=r0["var_x"], exact=r0["exact"],
                moments_ok=all(r["moments_ok"] for r in rs), loadavg_at_launch=load[c],
            ))  # fmt: skip
    return out


def run_sweep(rep, a) -> list[dict]:
    procs = [int(x) for x in a.procs.split(",")]
    per = int(a.sweep_items_per_process)
    configs = [("strong", p, int(a.sweep_items)) for p in procs]
    configs += [("weak", p, per * p) for p in procs if ("strong", p, per * p) not in configs]
    runs = {c: [] for c in configs}
    load = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for r in range(a.rounds):
            for c in configs:
                kind, p, m = c
                out = Path(tmp) / f"{kind}-{p}-{m}-{r}"
                argv = [sys.executable, "-m", "jqdlab.cli", "sweep", "kerr-revival", "--quick",
                        "--set", "n_save=400", "--set", "cutoff=80",
                        "--over", f"U=0.5:2.0:{m}", "--batch",
                        str(32 * p), "--distributed", "--no-cache", "--no-progress",
                        "--out", str(out)]  # fmt: skip
                load[c].append(os.getloadavg()[0])
                _, wall, cpu = _launch(argv, p, a.timeout)
                s = json.loads((out / "summary.json").read_text())
                runs[c].append({"command_s": wall, "command_cpu_s": cpu, **{k: s[k] for k in (
                    "wall_time_s", "compile_time_s", "compute_time_s", "processes",
                    "devices_used", "n_items", "n_chunks", "passed")}})  # fmt: skip
    res = []
    for kind in ("strong", "weak"):
        rows = [(p, int(a.sweep_items) if kind == "strong" else per * p) for p in procs]
        base = None
        for p, m in rows:
            c = next(c for c in configs if c[1] == p and c[2] == m)
            rs = runs[c]
            med = {k: statistics.median(x[k] for x in rs)
                   for k in ("command_s", "command_cpu_s", "wall_time_s", "compile_time_s",
                             "compute_time_s")}  # fmt: skip
            run_s = statistics.median(x["wall_time_s"] - x["compile_time_s"] for x in rs)
            base = run_s if p == 1 else base
            eff = base / (p * run_s) if kind == "strong" else base / run_s
            res.append(rep.case(
                law="jqd sweep kerr-revival", impl=f"jax.distributed x{p}", scaling=kind,
                processes=p, items=m, batch=32 * p, dtype="float64", median_s=run_s,
                engine_wall_s=med["wall_time_s"], compile_s=med["compile_time_s"],
                compute_s=med["compute_time_s"], command_s=med["command_s"],
                command_cpu_s=med["command_cpu_s"],
                throughput=m / run_s, unit="items/s",
                speedup=base / run_s if kind == "strong" else p * base / run_s, efficiency=eff,
                passed=all(x["passed"] for x in rs), devices_used=rs[-1]["devices_used"],
                n_chunks=rs[-1]["n_chunks"], rounds=[x["wall_time_s"] for x in rs],
                loadavg_at_launch=load[c],
            ))  # fmt: skip
    return res


def table(records) -> str:
    from _common import fmt_s, markdown_table

    rows = []
    for r in records:
        if "scaling" not in r:
            continue
        size = (f"N = {r['n_total']:.3g} ({r['n_local']:.3g}/process) x {r['steps']} steps"
                if "n_total" in r else f"{r['items']} items, batch {r['batch']}")  # fmt: skip
        rows.append({
            "what": r["law"], "scaling": r["scaling"], "p": r["processes"], "size": size,
            "t": fmt_s(r["median_s"]), "thr": f"{r['throughput']:.3g} {r['unit']}",
            "sp": f"{r['speedup']:.2f}", "eff": f"{r['efficiency']:.2f}",
            "ceff": f"{r['cpu_efficiency']:.2f}" if "cpu_efficiency" in r else "",
            "ok": "yes" if r.get("moments_ok", r.get("passed")) else "NO",
            "ld": ", ".join(f"{x:.2f}" for x in r["loadavg_at_launch"]),
        })  # fmt: skip
    cols = [("what", "what"), ("scaling", "scaling"), ("p", "processes"), ("size", "size"),
            ("t", "time/call"), ("thr", "throughput"), ("sp", "speed-up"),
            ("eff", "efficiency"), ("ceff", "CPU-time efficiency"), ("ok", "check"),
            ("ld", "load at launch")]  # fmt: skip
    return markdown_table(rows, cols)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="ensemble,sweep")
    ap.add_argument("--law", choices=("nelson", "ou"), default="nelson")
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--strong-n", type=float, default=1e6)
    ap.add_argument("--weak-n", type=float, default=2.5e5, help="particles per process")
    ap.add_argument("--steps", type=int, default=10, help="Nelson steps per call")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sweep-items", type=int, default=2048)
    ap.add_argument("--sweep-items-per-process", type=int, default=512)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--n-local", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker == "ensemble":
        return ensemble_worker(a)
    a.repeats = max(a.repeats, 5)
    from _common import Reporter, select_device

    select_device("cpu")
    rep = Reporter("scaling", a.json, argv=argv)
    parts = set(a.parts.split(","))
    if "ensemble" in parts:
        run_ensemble(rep, a)
    if "sweep" in parts:
        run_sweep(rep, a)
    print(f"\ncpus {sorted(os.sched_getaffinity(0))} of {os.cpu_count()}; float64\n"
          + table(rep.records))  # fmt: skip


if __name__ == "__main__":
    main()
