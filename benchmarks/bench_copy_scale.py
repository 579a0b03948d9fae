"""Benchmark of `jqd.copy.CopyFaithfulTauLeap` (physics §5.8): the faithful
copy process tau-leaped on its phase types. A step costs O(W) for W type slots
per class, and the live types fall as K(t) ≈ 5N/t (physics §5.8), so the cost
of a run is set by the width, not by N. Measured: seconds per B-ensemble step
against W = 32 … 8192; projected: copy-coalescence's full configuration.

Problem: P = 3, H of experiments/copy_coalescence, W members per class each its
own type (uniformly random phases), float64, B = 8 ensembles side by side
(`jax.vmap`), steps of dt = 0.25 over T time units. Timing: one warm-up call,
then the median of `--calls` calls (wall and process CPU time); load average
recorded (the machine is shared). Projection: every N runs to t = frac·N
(frac = 0.8: where the exact runs stop; 1.5: t_cap) with 16 ensembles (8 at
N = 1e6); a step at time t costs the measured step at the width
max(32, next power of two >= min(N/P, 5N/(P t))), interpolated in log W. One
JSON line per case. `--coupled`: the step-error pair (`jqd.Coupled`: the run
at dt and the run at dt/2 on common noise, as `run_copy_leap.py --coupled`
runs it) instead of the plain law.

    nice -n 10 .venv/bin/python benchmarks/bench_copy_scale.py [--widths 32,128,1024,8192]
        [--T 10] [--calls 2] [--batch 8] [--coupled]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

P, DT = 3, 0.25


def _params():
    import jax.numpy as jnp

    from jqd.copy import MatrixParams

    a = np.arange(P)
    delta = 1.3 * (a[None, :] - a[:, None]) + 0.4 * a[:, None]
    upper = np.triu(0.15 * np.exp(1j * delta), 1)
    return MatrixParams(H=jnp.asarray(upper + upper.conj().T + np.diag(a - 1.0)))


def case(W: int, T: float, B: int, calls: int, coupled: bool = False) -> dict:
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import CopyFaithfulTauLeap, MemberState, faithful_type_state

    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), W)
    params, law = _params(), CopyFaithfulTauLeap(P)
    law = jqd.Coupled(law) if coupled else law
    steps = int(round(T / DT))

    def one(k):
        phi = jax.random.uniform(k, a.shape, minval=-np.pi, maxval=np.pi)
        y0 = faithful_type_state(MemberState(a=a, phi=phi), P)
        y0 = (y0, y0) if coupled else y0

        def obs(t, y, p):  # a coupled pair's dt run
            y = y[0] if coupled else y
            return y.circular_variance(), y.n_events

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
        jax.block_until_ready(f(k))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    wall, cpu = float(np.median(walls)), float(np.median(cpus))
    return dict(
        law="Coupled(CopyFaithfulTauLeap)" if coupled else "CopyFaithfulTauLeap",
        W=W,
        dt=DT,
        batch=B,
        T=T,
        dtype="float64",
        device=str(jax.devices()[0]),
        compile_s=first - wall,
        wall_s=wall,
        cpu_s=cpu,
        ms_per_batch_step=1e3 * wall / steps,
        load=os.getloadavg()[0],
    )


def projection(per_step: dict, B: int) -> dict:
    """Full copy-coalescence config: seconds to t = 0.8 N and to 1.5 N (t_cap)."""
    Ws = np.array(sorted(per_step), float)
    cost = lambda W: float(
        np.interp(np.log(W), np.log(Ws), [per_step[w] for w in sorted(per_step)])
    )
    width = lambda N, t: max(32, 1 << int(np.ceil(np.log2(max(min(N / P, 5 * N / (P * t)), 1)))))
    out = {}
    for frac in (0.8, 1.5):
        total = {}
        for N in [30000, 99999, 299999, 999999]:
            t = np.arange(0.5 * DT, max(400.0, frac * N), DT)
            steps = sum(cost(width(N, s)) for s in t[:: max(1, len(t) // 20000)]) * max(
                1, len(t) // 20000
            )
            total[str(N)] = (16 if N < 10**6 else 8) / B * steps
        out[f"to_{frac:g}N_s"] = total
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="32,128,1024,8192")
    ap.add_argument("--T", type=float, default=10.0)
    ap.add_argument("--calls", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--coupled", action="store_true", help="the step-error pair (jqd.Coupled)")
    args = ap.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    per_step = {}
    for W in (int(float(x)) for x in args.widths.split(",")):
        r = case(W, args.T, args.batch, args.calls, args.coupled)
        per_step[W] = r["wall_s"] / (args.T / DT)
        print(json.dumps(r), flush=True)
    print(json.dumps({"projection_full_config": projection(per_step, args.batch)}), flush=True)


if __name__ == "__main__":
    main()
