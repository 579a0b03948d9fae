"""Time-symmetric forward-backward trajectories (jqd.husimi.ForwardBackward):
throughput of one Picard sweep against the ensemble size, and the XLA cost of
the compiled sweep.

    python benchmarks/bench_husimi_forward_backward.py            # N = 1e3, 1e4, 1e5
    python benchmarks/bench_husimi_forward_backward.py --quick    # N = 1e3, 1e4

One JSON line per case (benchmarks/_common.py): compile_s from an AOT
`jax.jit(sweep).lower(...).compile()`, median of >= 5 timed calls of the
compiled sweep (block_until_ready); throughput = paths × path steps per second
(one sweep touches every step of every path once: frames and H'' at the
n_t + 1 nodes, drift at the n_t midpoints, a 2 × 2 solve per step, the
boundary Newton step). flops and bytes are XLA's `cost_analysis()` of the
compiled sweep; `h100_projected_s` = max(flops/34e12, bytes/3.35e12) (fp64
peak and HBM bandwidth of an H100), a lower bound, not a measurement.
Models: Kerr (U = 1, T = 0.1, n_t = 50) and the parametric amplifier.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    cost,
    select_device,
    time_call,
    time_compile,
)

import jqd  # noqa: E402
from jqd import husimi as hs  # noqa: E402

_AMP = hs.anti_wick_symbol(0.5j * (hs.ad(0) * hs.ad(0) - hs.a(0) * hs.a(0)))
MODELS = {
    "kerr": (jqd.reference.kerr_symbol, 0.1),
    "amplifier": (lambda z, k: k * jnp.real(_AMP(z)), 1.0),
}


def case(rep, model, n_paths, n_t, repeats):
    H, T = MODELS[model]
    law = hs.ForwardBackward(H, T, n_t)
    k0, k1, k2 = jax.random.split(jax.random.key(0), 3)
    zeta0 = jnp.array([2.0, 0.0]) + jax.random.normal(k0, (n_paths, 2))
    zetaT = jnp.array([2.0, -0.5]) + jax.random.normal(k1, (n_paths, 2))
    y = law.initial_state(k2, zeta0, zetaT)
    p = hs.FBParams(jnp.asarray(1.0), jnp.asarray(1.0))
    sweep = jax.jit(lambda y, p: law.step(0.0, y, p, 1.0))
    compiled, compile_s = time_compile(sweep, y, p)
    t = time_call(lambda: compiled(y, p).z, repeats)
    rep.case(
        law="ForwardBackward",
        impl=f"jqd {model}",
        size=f"N = {n_paths}, n_t = {n_t}",
        dtype="float64",
        compile_s=compile_s,
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=n_paths * n_t / t["median_s"],
        unit="trajectory-steps/s (one Picard sweep)",
        **cost(compiled),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    add_device_arg(ap)
    a = ap.parse_args(argv)
    select_device(a.device)
    rep = Reporter("husimi_forward_backward", argv=argv)
    sizes = (1_000, 10_000) if a.quick else (1_000, 10_000, 100_000)
    for model in ("kerr", "amplifier"):
        for n in sizes:
            case(rep, model, n, 50, a.repeats)
    return rep


if __name__ == "__main__":
    main()
