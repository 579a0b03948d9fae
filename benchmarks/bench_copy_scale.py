"""Benchmark of `jqd.copy.CopyFaithfulTauLeap` (physics §5.8): the faithful
copy process lumped into L phase types per class and tau-leaped, whose cost
per unit time does not grow with N, against N = 1e3 … 1e6; and the projected
time of copy-coalescence's full configuration.

Problem: P = 3, H of experiments/copy_coalescence, members from uniformly
random phases binned onto L = 32 types per class, float64, B = 8 ensembles
side by side (`jax.vmap`), steps of dt = 0.25 over T time units. Timing: one
warm-up call, then the median of `--calls` calls (wall and process CPU time);
load average recorded (the machine is shared). Projection: the full config
runs every N to at most t_cap·N (1.5 N; the runs stop earlier, once 99 % of
the bootstrap resamples have crossed, ≈ 0.5-0.8 N from the exact runs), with
16 ensembles (8 at N = 1e6): time = Σ_N ensembles/B × t/dt × (seconds per
B-ensemble step). One JSON line per case.

    nice -n 10 .venv/bin/python benchmarks/bench_copy_scale.py [--ns 1e3,1e4,1e5,1e6]
        [--T 50] [--calls 2] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

P, L, DT = 3, 32, 0.25


def _params():
    import jax.numpy as jnp

    from jqd.copy import CopyParams

    a = np.arange(P)
    delta = 1.3 * (a[None, :] - a[:, None]) + 0.4 * a[:, None]
    upper = np.triu(0.15 * np.exp(1j * delta), 1)
    return CopyParams(H=jnp.asarray(upper + upper.conj().T + np.diag(a - 1.0)))


def case(N: int, T: float, B: int, calls: int) -> dict:
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import CopyFaithfulTauLeap, MemberState, faithful_type_state

    N = P * (N // P)
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)
    params, law = _params(), CopyFaithfulTauLeap(P)
    steps = int(round(T / DT))

    def one(k):
        phi = jax.random.uniform(k, a.shape, minval=-np.pi, maxval=np.pi)
        y0 = faithful_type_state(MemberState(a=a, phi=phi), P, L)
        obs = lambda t, y, p: (y.circular_variance(), y.n_events)
        sol = jqd.evolve(law, y0, params, dt=DT, n_save=1, steps_per_save=steps, key=k, observe=obs)
        return sol.observables

    f = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.key(0), B)
    t0 = time.perf_counter()
    jax.block_until_ready(f(keys))
    first = time.perf_counter() - t0
    walls, cpus = [], []
    for i in range(calls):
        k = jax.random.split(jax.random.key(i + 1), B)
        t0, c0 = time.perf_counter(), time.process_time()
        V, ev = jax.block_until_ready(f(k))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    wall, cpu = float(np.median(walls)), float(np.median(cpus))
    return dict(
        law="CopyFaithfulTauLeap",
        N=N,
        L=L,
        dt=DT,
        batch=B,
        T=T,
        dtype="float64",
        device=str(jax.devices()[0]),
        compile_s=first - wall,
        wall_s=wall,
        cpu_s=cpu,
        us_per_batch_step=1e6 * wall / steps,
        us_per_ensemble_time=1e6 * wall / (B * T),
        events_per_ensemble=float(np.mean(np.asarray(ev)[:, -1])),
        load=os.getloadavg()[0],
    )


def projection(per_step: dict, B: int) -> dict:
    """Full copy-coalescence config: seconds to t = 0.8 N and to 1.5 N (t_cap)."""
    Ns = [30, 99, 300, 999, 3000, 9999, 30000, 99999, 999999]
    sizes = sorted(per_step)
    out = {}
    for frac in (0.8, 1.5):
        total = 0.0
        for N in Ns:
            s = per_step[min(sizes, key=lambda m: abs(np.log(m / N)))]  # nearest measured N
            ens = 16 if N < 10**6 else 8
            total += ens / B * max(400.0, frac * N) / DT * s
        out[f"to_{frac:g}N_s"] = total
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="1e3,1e4,1e5,1e6")
    ap.add_argument("--T", type=float, default=50.0)
    ap.add_argument("--calls", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    per_step = {}
    for N in (int(float(x)) for x in args.ns.split(",")):
        r = case(N, args.T, args.batch, args.calls)
        per_step[r["N"]] = r["wall_s"] / (args.T / DT)
        print(json.dumps(r), flush=True)
    print(json.dumps({"projection_full_config": projection(per_step, args.batch)}), flush=True)


if __name__ == "__main__":
    main()
