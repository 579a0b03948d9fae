"""FPUT chains (physics §7.5): `ClassicalLattice` throughput in DOF-steps/s,
jqd vs a NumPy baseline of the same algorithm (Störmer-Verlet,
drift-kick-drift, on the same (B, N) arrays), candidates alternating in one
process. float64.

Cases: N = 64 sites, fixed ends, α = 0.25, β = 1, pinning 0.1; batch B
trajectories as the leading axis of one `PhaseState` (B = 1, 64, 1024: batch
scaling); Verlet and Yoshida-4 (a Yoshida step is three Verlet substeps and
counts as one step). Throughput = N x B x n_steps / time. Compile time is
the AOT compile of the jitted `jqd.evolve` run.

XLA cost analysis (flops, bytes accessed) of ONE step at B = 1024 gives the
projected H100 throughput, memory-bound at 3.35e12 B/s (HBM3): DOF-steps/s =
3.35e12 / (bytes per DOF-step); the issue's H100 target is 1e10 DOF-steps/s
at 10⁶ x 64. XLA fuses the whole step on CPU, so the bytes per DOF-step of the
fused step are a lower bound on the traffic (optimistic projection).

Usage: python benchmarks/bench_thermal_fput.py [--quick] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    alternate,
    cost,
    fmt_s,
    markdown_table,
    select_device,
    time_compile,
)

H100_BW = 3.35e12  # B/s, HBM3
N_SITES, DT = 64, 0.05


def _cost(compiled):
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return float(cost.get("flops", float("nan"))), float(cost.get("bytes accessed", float("nan")))


def numpy_verlet(q, p, n_steps, k=1.0, a=0.25, b=1.0, pin=0.1, m=1.0, h=DT):
    """The same drift-kick-drift step in NumPy, fixed ends."""
    q, p = q.copy(), p.copy()
    z = np.zeros(q.shape[:-1] + (1,))
    for _ in range(n_steps):
        q += 0.5 * h * p / m
        r = np.diff(np.concatenate([z, q, z], axis=-1), axis=-1)
        f = r * (k + r * (a + b * r))
        p += h * (f[..., 1:] - f[..., :-1] - pin * q)
        q += 0.5 * h * p / m
    return q, p


def bench(rep, integrator, B, n_steps, repeats, rows, do_numpy):
    import jax

    import jqd
    from jqd.thermal import ClassicalLattice, FPUTParams, PhaseState

    law = ClassicalLattice(N_SITES, "fixed", integrator)
    params = FPUTParams(mass=1.0, spring=1.0, alpha=0.25, beta=1.0, pinning=0.1)
    kq, kp = jax.random.split(jax.random.key(0))
    y0 = PhaseState(
        0.3 * jax.random.normal(kq, (B, N_SITES)), 0.3 * jax.random.normal(kp, (B, N_SITES))
    )

    def run(y):
        return jqd.evolve(
            law, y, params, dt=DT, n_save=1, steps_per_save=n_steps, check=False, checkpoint=False
        ).y_final

    compiled, compile_s = time_compile(jax.jit(run), y0)
    step_c, _ = time_compile(jax.jit(lambda y: law.step(0.0, y, params, DT)), y0)
    flops, nbytes = _cost(step_c)
    xla = cost(compiled)  # the whole jitted program (loops scaled), for the H100 projection
    timers = {"jqd-jit": lambda: compiled(y0)}
    # the call as a user types it: checks on, no jax.jit around it
    timers["jqd-plain"] = lambda: (
        jqd.evolve(law, y0, params, dt=DT, n_save=1, steps_per_save=n_steps).y_final.q
    )
    if do_numpy and integrator == "verlet":
        q0, p0 = np.asarray(y0.q), np.asarray(y0.p)
        timers["numpy"] = lambda: numpy_verlet(q0, p0, n_steps)
    res = alternate(timers, max(repeats, 5))  # candidates alternating, 5 timed calls each
    if "numpy" in res:
        yq = np.asarray(compiled(y0).q)
        diff = float(np.max(np.abs(numpy_verlet(q0, p0, n_steps)[0] - yq)))
    work = N_SITES * B * n_steps
    for impl, (med, cpu) in res.items():
        rec = rep.case(
            case="fput",
            law=f"ClassicalLattice/{integrator}",
            impl=impl,
            size=N_SITES,
            batch=B,
            dtype="float64",
            n_steps=n_steps,
            compile_s=compile_s if impl == "jqd-jit" else 0.0,
            median_s=med,
            throughput=work / med,
            unit="DOF-steps/s",
            cpu_s_per_call=cpu,
            throughput_per_cpu_s=work / cpu,
            step_flops=flops,
            step_bytes=nbytes,
            bytes_per_dof_step=nbytes / (N_SITES * B),
            projected_h100_dof_steps_per_s=H100_BW / (nbytes / (N_SITES * B)),
            maxdiff_vs_numpy=diff if impl == "numpy" else None,
            **({} if impl == "numpy" else xla),
        )
        rows.append(
            dict(
                integrator=integrator,
                impl=impl,
                B=B,
                thr=f"{rec['throughput']:.3g} ({work / cpu:.3g}/CPU-s)",
                compile=fmt_s(rec["compile_s"]),
                flops=f"{flops / (N_SITES * B):.0f}",
                bytes=f"{nbytes / (N_SITES * B):.0f}",
                h100=f"{rec['projected_h100_dof_steps_per_s']:.3g}",
            )
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (< 1 min)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("thermal_fput", args.json, argv)
    rows = []
    for integrator in ("verlet", "yoshida4"):
        for B in (1, 64, 1024):
            n_steps = max(20, (200_000 if not args.quick else 50_000) // B)
            bench(rep, integrator, B, n_steps, args.repeats, rows, not args.no_numpy)
    cols = [
        ("integrator", "integrator"),
        ("impl", "impl"),
        ("B", "B"),
        ("thr", "DOF-steps/s"),
        ("compile", "compile"),
        ("flops", "flops/DOF-step"),
        ("bytes", "bytes/DOF-step"),
        ("h100", "projected H100 DOF-steps/s"),
    ]
    print(markdown_table(rows, cols))


if __name__ == "__main__":
    main()
