"""Benchmark of the faithful member-level copy process (physics §5.8): member
copy events per second against ensemble size N for the reference law
`jqd.copy.CopyMembersFaithful` (RK4 of every member phase per thinning
candidate, O(N)) and `jqd.copy.CopyMembersFaithfulMobius` (one Möbius map per
class, O(1) per candidate; one ensemble, and B = 32 ensembles side by side
through `jax.vmap`, which the law runs as one batched loop).

Problem: P = 3, H = diag(−1, 0, 1) + 0.15 couplings (experiments/copy_coalescence),
members from uniformly random phases, float64, one `jqd.evolve` step of length
t_end per ensemble (t_end set for a few hundred events per ensemble). Timing:
one process, the candidates of one N timed in turn (benchmarks/_common.alternate:
each round times every candidate, one warm-up call then `--calls` calls, median),
`--rounds` >= 7 rounds, median over rounds; compile = first call − median; load
average recorded before and after each N (the machine is shared: numbers are
under load). Threads: run under `taskset -c <one cpu>` (recorded as `affinity`):
XLA:CPU otherwise splits the Möbius law's member gather over the cores and waits
for the second thread, 2× slower under load (benchmarks/results_copy_faithful.md).
XLA cost analysis: the compiled `law.step` with the event loop's body counted
once (one thinning candidate, `scale=1`), and the H100 projection of that pass,
max(flops/34e12, bytes/3.35e12): a roofline lower bound (a sequential event
loop is latency-bound on a GPU). t_end: ~300 events per ensemble (the Möbius
law at least 0.5 time units, so that its O(N K) per-step setup is amortized
as in the experiment's steps). One JSON line per case.

    taskset -c 1 .venv/bin/python benchmarks/bench_copy_faithful.py [--quick]
        [--max-n 1e5] [--min-n 0] [--rounds 7] [--calls 3] [--device cpu|gpu]
        [--n-terms 32 [16 ...]] [--json out.jsonl]

`--n-terms`: the Möbius law at each K (the series' terms; each a case, timed
in turn with the others).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, alternate, cost, select_device, time_call  # noqa: E402

P = 3
EVENTS_PER_MEMBER_TIME = 0.17  # accepted copies per member per unit time on this problem


def _params():
    import jax.numpy as jnp
    import numpy as np

    from jqd.copy import MatrixParams

    a = np.arange(P)
    delta = 1.3 * (a[None, :] - a[:, None]) + 0.4 * a[:, None]
    upper = np.triu(0.15 * np.exp(1j * delta), 1)
    return MatrixParams(H=jnp.asarray(upper + upper.conj().T + np.diag(a - 1.0)))


def _mobius(k: int) -> str:
    """The case name of the Möbius law with K = k series terms (32: the default)."""
    return "CopyMembersFaithfulMobius" + ("" if k == 32 else f"(n_terms={k})")


def _laws(ks=(32,)):
    from jqd.copy import CopyMembersFaithful, CopyMembersFaithfulMobius

    laws = {
        "CopyMembersFaithful": CopyMembersFaithful(P, max_substep=0.05, max_events_per_step=None)
    }
    for k in ks:
        laws[_mobius(k)] = CopyMembersFaithfulMobius(
            P, max_substep=0.05, max_events_per_step=None, n_terms=k
        )
    return laws


def _runner(law, N, B, t_end):
    """f(keys) -> accepted events of B ensembles (vmap; B = 1: one ensemble)."""
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import MemberState, faithful_state

    params = _params()
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)

    def one(k):
        k1, k2 = jax.random.split(k)
        phi = jax.random.uniform(k1, a.shape, minval=-jnp.pi, maxval=jnp.pi)
        y0 = faithful_state(MemberState(a=a, phi=phi))
        return jqd.evolve(law, y0, params, dt=t_end, n_save=1, key=k2, check=False).y_final

    f = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.key(0), B)
    return (lambda: f(keys).n_events), f, keys, params, a


def _body_cost(law, params, a, t_end):
    """XLA cost of one pass of the event loop's body (one thinning candidate)."""
    import jax
    import jax.numpy as jnp

    from jqd.copy import MemberState, faithful_state

    y0 = faithful_state(MemberState(a=a, phi=jnp.zeros(a.shape)))
    step = jax.jit(lambda y, k: law.step(0.0, y, params, t_end, k))
    return cost(step, y0, jax.random.key(0), scale=1)


def bench_N(rep, N, cases, rounds, calls, ks=(32,)):
    """Time the cases [(law name, B)] of one N in turn; one JSON line each."""
    laws = _laws(ks)
    timers, info = {}, {}
    for name, B in cases:
        # a few hundred events per ensemble; the Möbius law runs >= 0.5 time units so
        # that its per-step setup (moments, O(N K)) stays small against the events
        t_end = 300.0 / (EVENTS_PER_MEMBER_TIME * N)
        t_end = max(t_end, 0.5) if "Mobius" in name else t_end
        run, f, keys, params, a = _runner(laws[name], N, B, t_end)
        first = time_call(run, 1)  # compile + one run
        timers[(name, B)] = run
        info[(name, B)] = (t_end, first, int(first["result"].sum()), params, a)
    load0 = os.getloadavg()
    res = alternate({k: v for k, v in timers.items()}, rounds, calls)
    load1 = os.getloadavg()
    for (name, B), (wall, cpu) in res.items():
        t_end, first, events, params, a = info[(name, B)]
        body = _body_cost(laws[name], params, a, t_end)
        rep.case(
            law=name,
            impl=f"jqd evolve, {'vmap over ' + str(B) + ' ensembles' if B > 1 else 'one ensemble'}",
            size=N,
            batch=B,
            t_end=t_end,
            dtype="float64",
            events=events,
            compile_s=max(first["first_s"] - wall, 0.0),
            median_s=wall,
            cpu_s=cpu,
            throughput=events / wall,
            unit="member copy events/s",
            rounds=rounds,
            loadavg_before=[round(x, 2) for x in load0],
            loadavg_after=[round(x, 2) for x in load1],
            affinity=sorted(os.sched_getaffinity(0)),
            loop_body_flops=body["xla_flops"],
            loop_body_bytes=body["xla_bytes_accessed"],
            h100_projected_s_per_candidate=body["h100_projected_s"],
            h100_bound=body["h100_bound"],
        )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N <= 999, 7 rounds of 1 call")
    ap.add_argument("--max-n", type=float, default=1e5)
    ap.add_argument("--max-ref-n", type=float, default=1e4, help="largest N for the O(N) law")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--json", default=None)
    ap.add_argument("--min-n", type=float, default=0, help="smallest N")
    ap.add_argument(
        "--n-terms", type=int, nargs="+", default=[32], help="the Möbius law's K (each a case)"
    )
    add_device_arg(ap)
    a = ap.parse_args(argv)
    if a.rounds < 7:
        raise SystemExit("--rounds must be >= 7 (benchmarks/_common.py conventions).")
    select_device(a.device)

    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("copy_faithful", a.json, argv)
    Ns = [n for n in (99, 999, 9999, 29997, 99999) if n <= (999 if a.quick else a.max_n)]
    for N in [n for n in Ns if n >= a.min_n]:
        cases = [(_mobius(k), B) for k in a.n_terms for B in (1, 32)]
        if N <= a.max_ref_n:
            cases.insert(0, ("CopyMembersFaithful", 1))
        bench_N(rep, N, cases, a.rounds, 1 if a.quick else a.calls, a.n_terms)


if __name__ == "__main__":
    main()
