"""A/B of CopyCountsTauLeap.coupled_step's binomial draws, in one process:
the common trials' and the excess trials' draws as one stacked call
(`stacked`, the library's choice off a CPU) or as two calls (`separate`, on
a CPU). Prints the medians of the coupled step over `--replicates`
replicates, alternating with the plain step.

Measured 2026-11-28: 2-core Xeon CPU, 4,096 replicates: plain 25.2 ms,
stacked 7.69x, separate 4.48x; H200, 40,960 replicates: plain 1.50 ms,
stacked 3.44x, separate 4.22x.

    python tests/ab_count_coupling.py [--device gpu] [--replicates 40960]

(Here, not in benchmarks/, because it swaps a private function of
jqd.copy._tau_leap; it times with benchmarks/_common.py.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _common import add_device_arg, alternate, select_device  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=40960)
    ap.add_argument("--rounds", type=int, default=7)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import jqd
    from jqd.copy import CopyCountsTauLeap, CopyParams, CountState
    from jqd.copy import _tau_leap as T

    def pair(key, n1, r1, n2, r2, stack):
        k1, k2, k3 = jax.random.split(key, 3)
        m, rho = jnp.minimum(n1, n2), jnp.minimum(r1, r2)
        more = jnp.abs(n1 - n2), jnp.where(n1 > n2, r1, r2)
        if stack:
            both = T._binomial(k1, jnp.stack([m, more[0]]), jnp.stack([rho, more[1]]))
            shared, excess = both[0], both[1]
        else:
            shared, excess = T._binomial(k1, m, rho), T._binomial(k3, *more)
        gap = jnp.abs(r1 - r2) / jnp.maximum(1.0 - rho, jnp.finfo(rho.dtype).tiny)
        extra = T._binomial(k2, m - shared, gap)
        x1 = shared + jnp.where(r1 > r2, extra, 0.0) + jnp.where(n1 > n2, excess, 0.0)
        x2 = shared + jnp.where(r2 > r1, extra, 0.0) + jnp.where(n2 > n1, excess, 0.0)
        return x1, x2

    law, R = CopyCountsTauLeap(3), args.replicates
    params = CopyParams(H=jqd.fock.random_hermitian(jax.random.key(5), 3))
    y = CountState(n=jnp.array([10.0, 10.0, 10.0]), phi=jnp.zeros(3))
    ys = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (R,) + x.shape), y)
    fine = jax.tree_util.tree_map(lambda x: x + 0.0, ys)
    keys = jax.random.split(jax.random.key(0), R)
    plain = jax.jit(jax.vmap(lambda y, k: law.step(0.0, y, params, 0.02, k)))
    library = T._coupled_binomials

    def program(impl):
        T._coupled_binomials = impl
        f = jax.jit(jax.vmap(lambda y, yf, k: law.coupled_step(law, 0.0, y, yf, params, 0.02, k)))
        jax.block_until_ready(f(ys, fine, keys))  # traced with `impl`
        return lambda: f(ys, fine, keys)

    timers = {"plain": lambda: plain(ys, keys)}
    timers["stacked"] = program(lambda *a: pair(*a, stack=True))
    timers["separate"] = program(lambda *a: pair(*a, stack=False))
    T._coupled_binomials = library
    res = alternate(timers, args.rounds, 5)
    for k, v in res.items():
        print(f"{k:9s} {v[0] * 1e3:8.2f} ms  ({v[0] / res['plain'][0]:.2f}x plain step)")


if __name__ == "__main__":
    main()
