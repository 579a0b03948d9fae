"""Benchmark of the stochastic copy process (jqd.copy): copy events per second
of the exact event-driven process (`copy_gillespie`, member level), member
updates per second of member-level tau-leaping and ensemble-steps per second
of count-level tau-leaping, over ensemble size N and batch size B. Every case
runs through `jqd.evolve` (the exact process as the `CopyGillespie` law).

Problem: P = 4, H = `jqd.fock.random_hermitian(key(5), 4)`, uniform start,
float64. Timing: benchmarks/_common.py (one warm-up call, compile = first
call − median, median and min of >= 5 calls, `block_until_ready`); one JSON
line per case.

    .venv/bin/python benchmarks/bench_copy_process.py [--quick] [--max-n 1e7]
        [--max-batch 1024] [--cases exact,member_tau,count_tau] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, cost, select_device, time_call  # noqa: E402

P = 4


def _problem():
    import jax

    import jqd
    from jqd.copy import MatrixParams

    return MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(5), P))


def _members(N):
    import jax.numpy as jnp

    from jqd.copy import MemberState

    return MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P), phi=jnp.zeros(N))


def _counts(N):
    import jax.numpy as jnp

    from jqd.copy import CountState

    return CountState(n=jnp.full(P, N / P), phi=jnp.zeros(P))


def bench_gillespie(rep, params, N, B, t_end, repeats):
    import jax
    import jax.numpy as jnp

    from jqd.copy import copy_gillespie

    ts = jnp.array([0.0, t_end])
    y0 = _members(N)
    f = jax.jit(jax.vmap(lambda k: copy_gillespie(y0, params, ts, k, n_states=P).stats["n_events"]))
    keys = jax.random.split(jax.random.key(0), B)
    t = time_call(lambda: f(keys), repeats)
    events = int(t["result"].sum())
    rep.case(
        law="CopyGillespie (members)",
        impl="jqd copy_gillespie",
        size=N,
        batch=B,
        t_end=t_end,
        dtype="float64",
        events=events,
        compile_s=t["compile_s"],
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=events / t["median_s"],
        unit="copy events/s",
        **cost(f, keys, scale=max(1.0, events / B)),  # one event-loop pass per event
    )


def _tau(law, y0, params, dt, nsteps, B):
    import jax

    import jqd

    def one(k):
        return jqd.evolve(
            law, y0, params, dt=dt, n_save=1, steps_per_save=nsteps, key=k, checkpoint=False
        ).y_final

    keys = jax.random.split(jax.random.key(0), B)
    f = jax.jit(jax.vmap(one))
    run = lambda: f(keys)
    run.cost = lambda: cost(f, keys)
    return run


def bench_member_tau(rep, params, N, B, nsteps, repeats, dt=0.02):
    from jqd.copy import CopyMembersTauLeap

    run = _tau(CopyMembersTauLeap(P), _members(N), params, dt, nsteps, B)
    t = time_call(run, repeats)
    rep.case(
        law="CopyMembersTauLeap",
        impl="jqd evolve",
        size=N,
        batch=B,
        steps=nsteps,
        dt=dt,
        dtype="float64",
        compile_s=t["compile_s"],
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=N * B * nsteps / t["median_s"],
        unit="member updates/s",
        steps_per_s=B * nsteps / t["median_s"],
        **run.cost(),
    )


def bench_count_tau(rep, params, N, B, nsteps, repeats, dt=0.002):
    from jqd.copy import CopyCountsTauLeap

    run = _tau(CopyCountsTauLeap(P), _counts(float(N)), params, dt, nsteps, B)
    t = time_call(run, repeats)
    rep.case(
        law="CopyCountsTauLeap",
        impl="jqd evolve",
        size=N,
        batch=B,
        steps=nsteps,
        dt=dt,
        dtype="float64",
        compile_s=t["compile_s"],
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=B * nsteps / t["median_s"],
        unit="ensemble-steps/s",
        **run.cost(),
    )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-n", type=float, default=1e7)
    ap.add_argument("--max-batch", type=int, default=1024)
    ap.add_argument(
        "--cases",
        default="exact,member_tau,count_tau",
        help="comma-separated subset of exact, member_tau, count_tau",
    )
    ap.add_argument("--count-steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    a = ap.parse_args(argv)
    select_device(a.device)

    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("copy_process", a.json, argv)
    params = _problem()
    cases = set(a.cases.split(","))
    Ns = [int(10**k) for k in range(3, 8) if 10**k <= a.max_n]
    Bs = [b for b in (1, 32, 1024) if b <= a.max_batch]
    for N in Ns if "exact" in cases else []:
        # exact: ~0.6 N events per unit time on this problem; cap total events
        for B in Bs:
            t_end = min(1.0, 2e5 / (N * B))
            if N * B * t_end < 50 or (a.quick and N * B > 1e6):
                continue
            bench_gillespie(rep, params, N, B, t_end, a.repeats)
    for N in Ns if "member_tau" in cases else []:
        for B in Bs:
            if N * B > (1e7 if a.quick else 1e8):
                continue
            bench_member_tau(rep, params, N, B, 10 if N * B >= 1e6 else 100, a.repeats)
    for B in Bs if "count_tau" in cases else []:
        for N in (1e3, 1e6, 1e12):
            bench_count_tau(rep, params, N, B, a.count_steps, a.repeats)


if __name__ == "__main__":
    main()
