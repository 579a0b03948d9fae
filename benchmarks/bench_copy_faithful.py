"""Benchmark of the faithful member-level copy process (`jqd.copy.CopyMembersFaithful`,
physics §5.8): accepted member copy events per second over ensemble size N and
batch size B (B ensembles by `jax.vmap` over keys, or one after the other by
`jax.lax.map`), compile time, and the XLA cost analysis of the compiled step
(flops and bytes of one pass of its event loop: XLA counts a while-loop body
once) with the projected H100 time of that pass, max(flops/34e12, bytes/3.35e12)
(a roofline lower bound; a GPU runs such a loop latency-bound, far slower).

Problem: P = 3, H = diag(−1, 0, 1) + 0.15 couplings (experiments/copy_coalescence),
members from uniformly random phases, float64, one `jqd.evolve` step of length
t_end per ensemble. Timing: benchmarks/_common.py (one warm-up call, compile =
first call − median, median and min of >= 5 calls, `block_until_ready`); one
JSON line per case.

    .venv/bin/python benchmarks/bench_copy_faithful.py [--quick] [--max-n 1e4]
        [--max-batch 32] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, cost, select_device, time_call  # noqa: E402

P = 3


def _params():
    import jax.numpy as jnp
    import numpy as np

    from jqd.copy import CopyParams

    a = np.arange(P)
    delta = 1.3 * (a[None, :] - a[:, None]) + 0.4 * a[:, None]
    upper = np.triu(0.15 * np.exp(1j * delta), 1)
    return CopyParams(H=jnp.asarray(upper + upper.conj().T + np.diag(a - 1.0)))


def _one(N, t_end):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import CopyMembersFaithful, MemberState, faithful_state

    law = CopyMembersFaithful(P, max_substep=0.05, max_events_per_step=None)
    params = _params()
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)

    def one(k):
        k1, k2 = jax.random.split(k)
        phi = jax.random.uniform(k1, a.shape, minval=-jnp.pi, maxval=jnp.pi)
        y0 = faithful_state(MemberState(a=a, phi=phi))
        sol = jqd.evolve(law, y0, params, dt=t_end, n_save=1, key=k2, check=False)
        return sol.y_final.n_events

    return one, law, params, a


def _cost(law, params, a, t_end):
    import jax
    import jax.numpy as jnp

    from jqd.copy import MemberState, faithful_state

    y0 = faithful_state(MemberState(a=a, phi=jnp.zeros(a.shape)))
    step = jax.jit(lambda y, k: law.step(0.0, y, params, t_end, k))
    c = cost(step, y0, jax.random.key(0), scale=1)  # one pass of the event loop's body
    return c["xla_flops"], c["xla_bytes_accessed"], c["h100_projected_s"]


def bench(rep, N, B, mode, t_end, repeats):
    import jax

    one, law, params, a = _one(N, t_end)
    keys = jax.random.split(jax.random.key(0), B)
    if mode == "vmap":
        f = jax.jit(jax.vmap(one))
    else:
        f = jax.jit(lambda ks: jax.lax.map(one, ks))
    t = time_call(lambda: f(keys), repeats)
    events = int(t["result"].sum())
    flops, nbytes, h100 = _cost(law, params, a, t_end)
    rep.case(
        law="CopyMembersFaithful",
        impl=f"jqd evolve ({mode})",
        size=N,
        batch=B,
        t_end=t_end,
        dtype="float64",
        events=events,
        compile_s=t["compile_s"],
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=events / t["median_s"],
        unit="member copy events/s",
        loop_body_flops=flops,
        loop_body_bytes=nbytes,
        h100_projected_s_per_iteration=h100,
        **cost(f, keys),  # the whole program (the event loops: counts unknown to XLA)
    )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-n", type=float, default=1e4)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    a = ap.parse_args(argv)
    select_device(a.device)

    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("copy_faithful", a.json, argv)
    Ns = [n for n in (99, 999, 9999) if n <= a.max_n]
    Bs = [b for b in (1, 8, 32) if b <= a.max_batch]
    for N in Ns:
        for B in Bs:
            # ~0.15 events per member per unit time on this problem
            t_end = min(20.0, 2e4 / (N * B)) if not a.quick else min(5.0, 2e3 / (N * B))
            modes = ("map",) if B == 1 else ("vmap", "map")
            for mode in modes:
                bench(rep, N, B, mode, t_end, a.repeats)


if __name__ == "__main__":
    main()
