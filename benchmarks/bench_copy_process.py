"""Benchmark of the stochastic copy process (jqd.copy): copy events per second
(member level, exact event-driven and tau-leaping) and count-level steps per
second, over ensemble size N and batch size B. One JSON line per case.

    .venv/bin/python benchmarks/bench_copy_process.py [--quick] [--max-n 1e7] [--max-batch 1024]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jqd  # noqa: E402
from jqd.copy._process import (  # noqa: E402
    CopyCountsTauLeap,
    CopyMembersTauLeap,
    CopyParams,
    CountState,
    MemberState,
    copy_gillespie,
)

P = 4
H = jqd.fock.random_hermitian(jax.random.key(5), P)
PARAMS = CopyParams(H=H)


def _members(N):
    return MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P), phi=jnp.zeros(N))


def _counts(N):
    return CountState(n=jnp.full(P, N / P), phi=jnp.zeros(P))


def _time(f, *args, repeats=3):
    t0 = time.perf_counter()
    out = jax.block_until_ready(f(*args))
    compile_s = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(f(*args))
        best = min(best, time.perf_counter() - t0)
    return out, compile_s, best


def _emit(**kw):
    kw.update(device=str(jax.devices()[0].device_kind), dtype="float64", jax=jax.__version__)
    print(json.dumps(kw), flush=True)


def bench_gillespie(N, B, t_end):
    ts = jnp.array([0.0, t_end])
    f = jax.jit(jax.vmap(lambda k: copy_gillespie(_members(N), PARAMS, ts, k, n_states=P).n_events))
    keys = jax.random.split(jax.random.key(0), B)
    ev, c, best = _time(f, keys)
    events = int(np.sum(ev))
    _emit(
        case="member_exact_gillespie",
        N=N,
        batch=B,
        t_end=t_end,
        events=events,
        compile_s=round(c, 3),
        best_s=round(best, 4),
        events_per_s=events / best,
    )


def _tau_fn(law, y0, dt, nsteps, count_moves=False):
    def one(k):
        def body(i, c):
            y, kk, moves = c
            kk, s = jax.random.split(kk)
            y1 = law.step(0.0, y, PARAMS, dt, s)
            if count_moves:  # a move always changes the beable (p_bb = 0)
                moves = moves + jnp.sum(y1.a != y.a)
            return y1, kk, moves

        y, _, moves = jax.lax.fori_loop(0, nsteps, body, (y0, k, jnp.zeros((), jnp.int64)))
        return y, moves  # return the state too, so that XLA cannot drop the loop

    return jax.jit(jax.vmap(one))


def bench_member_tau(N, B, nsteps, dt=0.02):
    law = CopyMembersTauLeap(P)
    f = _tau_fn(law, _members(N), dt, nsteps, count_moves=True)
    keys = jax.random.split(jax.random.key(0), B)
    (_, moves), c, best = _time(f, keys)
    events = int(np.sum(moves))
    _emit(
        case="member_tau_leap",
        N=N,
        batch=B,
        steps=nsteps,
        dt=dt,
        events=events,
        compile_s=round(c, 3),
        best_s=round(best, 4),
        events_per_s=events / best,
        member_updates_per_s=N * B * nsteps / best,
        steps_per_s=B * nsteps / best,
    )


def bench_count_tau(N, B, nsteps, dt=0.002):
    law = CopyCountsTauLeap(P)
    f = _tau_fn(law, _counts(float(N)), dt, nsteps)
    keys = jax.random.split(jax.random.key(0), B)
    _, c, best = _time(f, keys)
    _emit(
        case="count_tau_leap",
        N=N,
        batch=B,
        steps=nsteps,
        dt=dt,
        compile_s=round(c, 3),
        best_s=round(best, 4),
        steps_per_s=B * nsteps / best,
    )


def main():
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
    a = ap.parse_args()
    cases = set(a.cases.split(","))
    print(
        json.dumps(
            {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "jax": jax.__version__,
                "devices": [str(d) for d in jax.devices()],
            }
        )
    )
    Ns = [int(10**k) for k in range(3, 8) if 10**k <= a.max_n]
    Bs = [b for b in (1, 32, 1024) if b <= a.max_batch]
    for N in Ns if "exact" in cases else []:
        # exact: ~0.6 N events per unit time on this problem; cap total events
        for B in Bs:
            t_end = min(1.0, 2e5 / (N * B))
            if N * B * t_end < 50 or (a.quick and N * B > 1e6):
                continue
            bench_gillespie(N, B, t_end)
    for N in Ns if "member_tau" in cases else []:
        for B in Bs:
            if N * B > (1e7 if a.quick else 1e8):
                continue
            bench_member_tau(N, B, nsteps=10 if N * B >= 1e6 else 100)
    for B in Bs if "count_tau" in cases else []:
        for N in (1e3, 1e6, 1e12):
            bench_count_tau(N, B, nsteps=a.count_steps)


if __name__ == "__main__":
    main()
