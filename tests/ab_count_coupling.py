"""A/B of CopyCountsTauLeap.coupled_step's coupling, in one process: the
library's (`crn`: the dt run's and the dt/2 run's multinomial chains drawn
from one key, common random numbers) against the link-by-link splitting it
replaced (`split`: per link, the common trials' joint successes, the excess
trials of the run with more members, and the common trials succeeding for
one run only: three binomials, written out below). Prints, per start
(n, 0.7n, 0.3n) and dt, over 40 coupled steps of `--replicates` replicates:
the time as a multiple of 40 plain steps (alternating), and the coupling's
strength, sd(dt run − dt/2 run) of the class fractions beside sd(dt run).
Also the plain step with `jax.random.binomial` against
`jqd.copy._binomial.binomial` (the same draws without the idle branch).

Measured 2026-11-28 (2-core AMD EPYC, load 1.4-1.7, 4,096 replicates;
jax 0.10.2):

    start, dt      crn: time  sd(diff)                split: time  sd(diff)
    10, 0.02       3.53x  0.020 0.021 0.013     4.07x  0.022 0.024 0.013
    1e4, 0.02      3.92x  0.0019 0.0020 0.0008  3.51x  0.0004 0.0004 0.0003
    1e6, 0.05      3.90x  8.6e-5 1.9e-4 1.8e-4  6.63x  9.6e-5 2.3e-4 2.3e-4

(sd(dt run): 0.19-0.20 / 0.07, 0.0063 / 0.0022, 0.0007-0.0012.) Splitting
couples the rejection sampler's draws (1e4) five times more tightly and is
cheaper there, but costs more at small and very large counts; with `crn`
the step error's own spread stays under 0.3 of the mean's. Plain step, 10
per class: `jax.random.binomial` 16.57 ms, `binomial` 5.83 ms.

    python tests/ab_count_coupling.py [--device gpu] [--replicates 4096]

(Here, not in benchmarks/, because it swaps a private function of
jqd.copy._tau_leap; it times with benchmarks/_common.py.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _common import add_device_arg, alternate, select_device  # noqa: E402

STARTS = ((10.0, 0.02), (1e4, 0.02), (1e6, 0.05))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=5)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    import jqd
    from jqd.copy import CopyCountsTauLeap, CountState, MatrixParams
    from jqd.copy import _tau_leap as T
    from jqd.copy._binomial import binomial

    def guarded(key, n, p):  # `_multinomial_moves`' guards at p = 0 and 1
        p = jnp.clip(p, 0.0, 1.0)
        x = binomial(key, n, p)
        return jnp.clip(jnp.where(p >= 1.0, n, jnp.where(p > 0.0, x, 0.0)), 0.0, n)

    def split_pair(key, n1, r1, n2, r2):
        k1, k2, k3 = jax.random.split(key, 3)
        m, rho = jnp.minimum(n1, n2), jnp.minimum(r1, r2)
        shared = guarded(k1, m, rho)
        excess = guarded(k3, jnp.abs(n1 - n2), jnp.where(n1 > n2, r1, r2))
        gap = jnp.abs(r1 - r2) / jnp.maximum(1.0 - rho, jnp.finfo(rho.dtype).tiny)
        extra = guarded(k2, m - shared, gap)
        x1 = shared + jnp.where(r1 > r2, extra, 0.0) + jnp.where(n1 > n2, excess, 0.0)
        x2 = shared + jnp.where(r2 > r1, extra, 0.0) + jnp.where(n2 > n1, excess, 0.0)
        return x1, x2

    def split_moves(key, n1, p1, n2, p2):
        keys = jax.random.split(key, p1.shape[1])
        frac = lambda pa, left: jnp.clip(
            jnp.where(left > 0, pa / jnp.where(left > 0, left, 1.0), 0.0), 0, 1
        )

        def body(c, xs):
            rem1, left1, rem2, left2 = c
            pa1, pa2, k = xs
            x1, x2 = split_pair(k, rem1, frac(pa1, left1), rem2, frac(pa2, left2))
            shrink = lambda left, pa: jnp.maximum(left - pa, 0.0)
            return (rem1 - x1, shrink(left1, pa1), rem2 - x2, shrink(left2, pa2)), (x1, x2)

        one = jnp.ones_like(n1)
        _, (d1, d2) = jax.lax.scan(body, (n1, one, n2, one), (p1.T, p2.T, keys))
        return d1.T, d2.T

    class Split(CopyCountsTauLeap):
        """coupled_step with the half steps' two chains coupled by `split_moves`."""

        def coupled_step(self, fine, t, y, y_fine, params, dt, key):
            probs_c = self._probabilities(y, params, dt)
            half = 0.5 * probs_c[0]
            later = half / (1.0 - jnp.sum(half, axis=1))[:, None]
            moves_c, left = jnp.zeros_like(half), y.n
            for q, k in zip((half, later), jax.random.split(key, 2)):
                probs_f = fine._probabilities(y_fine, params, dt / 2)
                mc, mf = split_moves(k, left, q, y_fine.n, probs_f[0])
                y_fine = fine._moved(y_fine, params, dt / 2, mf, probs_f)
                moves_c, left = moves_c + mc, left - jnp.sum(mc, axis=1)
            return self._moved(y, params, dt, moves_c, probs_c), y_fine

    R = args.replicates
    params = MatrixParams(H=jqd.fock.random_hermitian(jax.random.key(5), 3))

    def run(law, coupled, dt):
        def one(c, k):
            if coupled:
                step = lambda y, yf, k: law.coupled_step(law, 0.0, y, yf, params, dt, k)
                return jax.vmap(step)(*c, k), None
            return jax.vmap(lambda y, k: law.step(0.0, y, params, dt, k))(c, k), None

        return jax.jit(lambda c, keys: jax.lax.scan(one, c, keys)[0])

    print("start, dt      coupling  time   sd(dt run - dt/2 run)    sd(dt run)")
    for n0, dt in STARTS:
        y = CountState(n=jnp.array([n0, 0.7 * n0, 0.3 * n0]), phi=jnp.array([0.0, 1.0, -2.0]))
        ys = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (R,) + x.shape), y)
        keys = jax.random.split(jax.random.key(0), R * 40).reshape(40, R)
        runs = {"crn": run(CopyCountsTauLeap(3), True, dt), "split": run(Split(3), True, dt)}
        plain = run(CopyCountsTauLeap(3), False, dt)
        timers = {"plain": lambda: plain(ys, keys)}
        timers.update({k: (lambda f=f: f((ys, ys), keys)) for k, f in runs.items()})
        res = alternate(timers, args.rounds, 1)
        for name, f in runs.items():
            a, b = f((ys, ys), keys)
            fa, fb = np.asarray(a.n) / n0, np.asarray(b.n) / n0
            line = (
                f"{n0:g}, {dt:g}".ljust(15) + f"{name:8s} {res[name][0] / res['plain'][0]:5.2f}x  "
            )
            print(
                line
                + f"{np.array2string((fa - fb).std(0), precision=5)}  {np.array2string(fa.std(0), precision=4)}"
            )

    law = CopyCountsTauLeap(3)
    y = CountState(n=jnp.array([10.0, 10.0, 10.0]), phi=jnp.zeros(3))
    ys = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (R,) + x.shape), y)
    keys = jax.random.split(jax.random.key(0), R)
    step = lambda: jax.jit(jax.vmap(lambda y, k: law.step(0.0, y, params, 0.02, k)))
    ours = step()
    jax.block_until_ready(ours(ys, keys))
    T.binomial = lambda k, n, p: jax.random.binomial(k, n, p, dtype=n.dtype)
    theirs = step()
    jax.block_until_ready(theirs(ys, keys))  # traced with jax.random.binomial
    T.binomial = binomial
    timers = {"jax.random.binomial": lambda: theirs(ys, keys), "binomial": lambda: ours(ys, keys)}
    for k, v in alternate(timers, args.rounds, 5).items():
        print(f"plain step, 10 per class, {k}: {v[0] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
