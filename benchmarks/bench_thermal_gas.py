"""Soft-sphere gas (physics §7.5): `SoftSphereGas` throughput in
particle-steps/s, jqd vs a NumPy baseline of the same algorithm (cell-sorted
particles, cell starts by a cumulative count, the 3x3 neighbour cells, fixed slots per cell,
minimum image, drift-kick-drift; run for a tenth of the steps, throughput
per step), candidates alternating in one process. jax-md was tried as a peer
but its install (pymatgen and friends) did not finish within 3 minutes here.
float64.

Cases: 2-D disks, σ = m = 1, κ = 150, dt = 0.0144 (ω_c dt = 0.25), at
nσ² = 0.04 (dilute, the thermal-gas experiment) and 0.2 (dense), N = 1024,
4096 and 16384 from a square lattice with unit-variance velocities; batch
scaling by `jax.vmap` over B = 4 gases of N = 1024. Compile time is the AOT
compile of the jitted `jqd.evolve` run.

XLA cost analysis (flops, bytes accessed) of ONE step gives the projected
H100 throughput, memory-bound at 3.35e12 B/s (HBM3): particle-steps/s =
3.35e12 / (bytes per particle-step). The step is gather-heavy (candidate
positions), so the bytes are a lower bound on GPU traffic: the projection is
optimistic (issue target: 2e8 particle-steps/s at N = 1e6).

Scaling (`--scaling`): seconds per step over N of three force searches on
the same gas (nσ² = 0.2, one speed √2 in random directions, the thermal-gas
relaxation start): all pairs (a jitted O(N²) minimum-image sum, N <= 4096),
the cell list searched at every step (`SoftSphereGas(...)`) and the Verlet
neighbour list (`SoftSphereGas(..., skin=1.0)`, rebuilds included: the run's
steps divided into its wall time), each over a `jqd.evolve` run (all pairs: a
jitted loop of the same leapfrog); fitted exponents of time vs N.

Usage: python benchmarks/bench_thermal_gas.py [--quick] [--scaling] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import math
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
KAPPA, DT, SLOTS = 150.0, 0.25 / math.sqrt(300.0), 5


def _cost(compiled):
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return float(cost.get("flops", float("nan"))), float(cost.get("bytes accessed", float("nan")))


def initial(N, density, seed=0):
    box = math.sqrt(N / density)
    side = math.ceil(math.sqrt(N))
    g = (np.arange(side) + 0.5) * box / side
    q = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)[:N]
    p = np.random.default_rng(seed).normal(size=(N, 2))
    return box, q, p - p.mean(0)


def numpy_force(q, box, ns, M=SLOTS, kappa=KAPPA, sigma=1.0):
    """The law's cell-list force in NumPy (same candidates, same arithmetic)."""
    N = len(q)
    c = np.floor(q / (box / ns)).astype(np.int64) % ns
    strides = np.array([1, ns])
    flat = c @ strides
    order = np.argsort(flat, kind="stable")
    sid = flat[order]
    counts = np.bincount(flat, minlength=ns * ns)
    first = np.cumsum(counts) - counts
    offs = np.array(list(itertools.product((-1, 0, 1), repeat=2)))
    neigh = ((c[:, None, :] + offs[None]) % ns) @ strides
    start = first[neigh]
    at = start[..., None] + np.arange(M)
    inside = at < N
    at = np.where(inside, at, 0)
    rank = np.empty(N, np.int64)
    rank[order] = np.arange(N)
    hit = inside & (sid[at] == neigh[..., None]) & (at != rank[:, None, None])
    at, hit = at.reshape(N, -1), hit.reshape(N, -1)
    d = q[:, None, :] - q[order][at]
    d -= box * np.round(d / box)
    r2 = np.sum(d * d, -1)
    touch = hit & (r2 < sigma * sigma)
    r = np.sqrt(np.where(touch, r2, 1.0))
    mag = np.where(touch, kappa * (sigma - r) / r, 0.0)
    return np.sum(mag[..., None] * d, 1)


def numpy_run(q, p, box, ns, n_steps, h=DT):
    q, p = q.copy(), p.copy()
    for _ in range(n_steps):
        q += 0.5 * h * p
        p += h * numpy_force(q, box, ns)
        q = np.mod(q + 0.5 * h * p, box)
    return q, p


def bench(rep, N, density, B, n_steps, repeats, rows, do_numpy):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.thermal import GasParams, PhaseState, SoftSphereGas

    box, q, p = initial(N, density)
    law = SoftSphereGas(N, box, 2, cell_size=1.0, max_occupancy=SLOTS)
    params = GasParams(mass=1.0, kappa=KAPPA, sigma=1.0)
    y0 = PhaseState(jnp.asarray(q), jnp.asarray(p))

    def run(y):
        return jqd.evolve(
            law, y, params, dt=DT, n_save=1, steps_per_save=n_steps, check=False, checkpoint=False
        ).y_final

    f = jax.jit(run if B == 1 else jax.vmap(run))
    y = y0 if B == 1 else jax.tree_util.tree_map(lambda x: jnp.stack([x] * B), y0)
    compiled, compile_s = time_compile(f, y)
    step_c, _ = time_compile(jax.jit(lambda y: law.step(0.0, y, params, DT)), y0)
    flops, nbytes = _cost(step_c)
    xla = cost(compiled)  # the whole jitted program (loops scaled), for the H100 projection
    timers = {"jqd-jit": lambda: compiled(y)}
    if B == 1:  # the call as a user types it: checks on, no jax.jit around it
        timers["jqd-plain"] = lambda: (
            jqd.evolve(law, y0, params, dt=DT, n_save=1, steps_per_save=n_steps).y_final.q
        )
    if do_numpy and B == 1:
        n_np = max(1, n_steps // 10)
        timers["numpy"] = lambda: numpy_run(q, p, box, law.n_side, n_np)
    res = alternate(timers, repeats)  # candidates alternating, 5 timed calls each
    diff = None
    if "numpy" in res:
        short = jax.jit(
            lambda y: (
                jqd.evolve(
                    law, y, params, dt=DT, n_save=1, steps_per_save=n_np, check=False
                ).y_final
            )
        )
        diff = float(np.max(np.abs(numpy_run(q, p, box, law.n_side, n_np)[1] - short(y0).p)))
    for impl, (med, cpu) in res.items():
        work = N * B * (n_np if impl == "numpy" else n_steps)
        rec = rep.case(
            case="gas",
            law="SoftSphereGas/2d",
            impl=impl,
            size=N,
            density=density,
            batch=B,
            dtype="float64",
            n_steps=n_steps,
            compile_s=compile_s if impl == "jqd-jit" else 0.0,
            median_s=med,
            throughput=work / med,
            unit="particle-steps/s",
            cpu_s_per_call=cpu,
            throughput_per_cpu_s=work / cpu,
            step_flops=flops,
            step_bytes=nbytes,
            bytes_per_particle_step=nbytes / N,
            projected_h100_particle_steps_per_s=H100_BW / (nbytes / N),
            maxdiff_p_vs_numpy=diff if impl == "numpy" else None,
            **({} if impl == "numpy" else xla),
        )
        rows.append(
            dict(
                impl=impl,
                N=N,
                n=density,
                B=B,
                thr=f"{rec['throughput']:.3g} ({work / cpu:.3g}/CPU-s)",
                compile=fmt_s(rec["compile_s"]),
                flops=f"{flops / N:.0f}",
                bytes=f"{nbytes / N:.0f}",
                h100=f"{rec['projected_h100_particle_steps_per_s']:.3g}",
            )
        )


def all_pairs_force(q, box, kappa=KAPPA, sigma=1.0):
    """The O(N²) reference: every pair, minimum image (jnp, jitted by the caller)."""
    import jax.numpy as jnp

    d = q[:, None, :] - q[None, :, :]
    d = d - box * jnp.round(d / box)
    r2 = jnp.sum(d * d, -1)
    touch = (r2 < sigma * sigma) & (r2 > 0)
    r = jnp.sqrt(jnp.where(touch, r2, 1.0))
    return jnp.sum(jnp.where(touch, kappa * (sigma - r) / r, 0.0)[..., None] * d, 1)


def scaling(rep, sizes, n_steps, repeats):
    """Seconds per step of all pairs, cell list and neighbour list over N."""
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.thermal import GasParams, PhaseState, SoftSphereGas

    params = GasParams(mass=1.0, kappa=KAPPA, sigma=1.0)
    rows, per = [], {}
    for N in sizes:
        box = math.sqrt(N / 0.2)
        side = math.ceil(math.sqrt(N))
        g = (np.arange(side) + 0.5) * box / side
        q = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)[:N]
        th = np.random.default_rng(0).uniform(0, 2 * math.pi, N)
        y0 = PhaseState(
            jnp.asarray(q), jnp.asarray(math.sqrt(2) * np.stack([np.cos(th), np.sin(th)], -1))
        )
        cells = SoftSphereGas(N, box, 2, cell_size=1.0)
        listed = SoftSphereGas(N, box, 2, cell_size=2.0, skin=1.0)
        yl = listed.with_neighbors(y0, params)

        steps = {"cell list": n_steps, "neighbour list": 10 * n_steps, "all pairs": n_steps}

        def run(law, y, k=n_steps):
            sol = jqd.evolve(law, y, params, dt=DT, n_save=1, steps_per_save=k, check=False)
            return sol.y_final

        def pairs_run(y):
            def body(y, _):
                qh = y.q + 0.5 * DT * y.p
                p = y.p + DT * all_pairs_force(qh, box)
                return PhaseState(jnp.mod(qh + 0.5 * DT * p, box), p), None

            return jax.lax.scan(body, y, None, length=n_steps)[0]

        timers = {
            "cell list": (jax.jit(lambda y: run(cells, y)), y0),
            "neighbour list": (jax.jit(lambda y: run(listed, y, 10 * n_steps)), yl),
            "list build": (jax.jit(lambda y: listed.with_neighbors(y, params)), y0),
        }
        if N <= 4096:
            timers["all pairs"] = (jax.jit(pairs_run), y0)
        for name, (f, y) in timers.items():
            jax.block_until_ready(f(y))
        res = alternate({k: (lambda f=f, y=y: f(y).p) for k, (f, y) in timers.items()}, repeats, 1)
        builds = int(timers["neighbour list"][0](yl).neighbors.builds)
        steps["list build"] = 1  # one build of the list (a cell-list pass)
        for impl, (med, cpu) in res.items():
            n_steps_i = steps[impl]
            per.setdefault(impl, []).append((N, med / n_steps_i))
            rep.case(
                case="gas-scaling",
                law="SoftSphereGas/2d",
                impl=impl,
                size=N,
                density=0.2,
                n_steps=n_steps_i,
                median_s=med,
                s_per_step=med / n_steps_i,
                cpu_s_per_call=cpu,
                neighbor_builds=builds if impl == "neighbour list" else None,
            )
            rows.append(
                dict(
                    impl=impl,
                    N=N,
                    step=f"{med / n_steps_i * 1e3:.3g} ms",
                    cpu=f"{cpu / n_steps_i * 1e3:.3g} ms",
                    builds=f"{builds}/{n_steps_i}" if impl == "neighbour list" else "",
                )
            )
    cols = [
        ("impl", "impl"),
        ("N", "N"),
        ("step", "wall / step"),
        ("cpu", "CPU / step"),
        ("builds", "list builds / steps"),
    ]
    print(markdown_table(rows, cols))
    for impl, pts in per.items():
        if len(pts) >= 2:
            n, t = np.log([x[0] for x in pts]), np.log([x[1] for x in pts])
            print(
                f"{impl}: time/step ∝ N^{np.polyfit(n, t, 1)[0]:.2f} over N = {pts[0][0]}-{pts[-1][0]}"
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and steps (< 2 min)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--scaling", action="store_true", help="all pairs vs cell vs neighbour list")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("thermal_gas", args.json, argv)
    if args.scaling:
        sizes = (1024, 4096, 16384) if args.quick else (1024, 4096, 16384, 102400)
        scaling(rep, sizes, 10 if args.quick else 20, args.repeats)
        return
    rows = []
    sizes = (1024, 4096) if args.quick else (1024, 4096, 16384)
    for density in (0.04, 0.2):
        for N in sizes:
            n_steps = max(10, (4_000 if args.quick else 16_000) // (N // 256))
            bench(rep, N, density, 1, n_steps, args.repeats, rows, not args.no_numpy)
    bench(rep, 1024, 0.04, 4, 250 if args.quick else 1000, args.repeats, rows, False)
    cols = [
        ("impl", "impl"),
        ("N", "N"),
        ("n", "nσ²"),
        ("B", "B"),
        ("thr", "particle-steps/s"),
        ("compile", "compile"),
        ("flops", "flops/particle-step"),
        ("bytes", "bytes/particle-step"),
        ("h100", "projected H100 particle-steps/s"),
    ]
    print(markdown_table(rows, cols))


if __name__ == "__main__":
    main()
