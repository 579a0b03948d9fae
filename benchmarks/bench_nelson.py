"""Particle-steps per second of Nelson ensembles (jqd.dqm.NelsonEnsemble) vs
the same algorithm in NumPy, candidates alternating in one process.

Problem: ψ0 a Gaussian (width 1, x0 = 0.5) in V = x²/2 (ħ = m = 1) on a
periodic 1-D grid of 256 points, L = 16; N particles from |ψ0|²; dt = 0.01;
`--steps` steps per call (the ψ Strang step is part of every step).

Candidates per case (one JSON line each; benchmarks/_common.py conventions):
  jqd-call   the plain public call as a user types it:
             `jqd.evolve(law, y0, params, dt=0.01, n_save=1, steps_per_save=S,
             key=jax.random.key(1))` (eager input checks on, default monitor
             and observer), already compiled.
  jqd-jit    `jax.jit` of the same call with check=False and a cheap
             observer; XLA cost analysis and the projected H100 time of it.
  numpy      the same algorithm in NumPy (float64): ψ Strang step (precomputed
             phases, np.fft), spectral ∂ψ, interpolation of ψ and ∂ψ by the
             same cell polynomials (linear or Catmull-Rom), the ratio with the
             node guard ε = 1e-12 max|ψ|², Euler-Maruyama or stochastic Heun
             (ψ at t + dt for the corrector), the drift cap and the periodic
             wrap; noise from `np.random.default_rng` (PCG64, Ziggurat).
Plus `--rng`: 10^6 standard normals by jax.random.normal (threefry key, rbg
key), jqd.random_normal and NumPy, alternating.

Threads: `--cores 1` pins the whole process to one core before JAX starts
(both sides single-threaded); by default both see every core (NumPy uses one,
XLA's CPU fusions may use more): the JSON header records which.

Usage:
  python benchmarks/bench_nelson.py                       # 1e4..1e6, euler-linear and heun-cubic
  python benchmarks/bench_nelson.py --cores 1 --max-n 1e6 --rounds 7 --rng
  python benchmarks/bench_nelson.py --device gpu          # GPU if present (else says so, CPU)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DT, POINTS, LENGTH = 0.01, 256, 16.0


def _pin(cores: int | None) -> str:
    if cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    return ",".join(map(str, sorted(os.sched_getaffinity(0))))


def _ho(x, t, a):
    return 0.5 * x[0] ** 2


def _first_particle(t, y, p):  # module-level: a new lambda per call would recompile
    return y.x[0]


def setup(n):
    import jax

    import jqd
    from jqd.dqm import EnsembleState

    grid = jqd.Grid((POINTS,), LENGTH)
    psi = jqd.reference.gaussian_packet(grid, 1.0, x0=0.5)
    x = 0.5 + jax.random.normal(jax.random.key(0), (n, 1)) / math.sqrt(2)
    return grid, jqd.SchrodingerGrid(grid, _ho), jqd.SchrodingerParams(), EnsembleState(psi, x)


class NumpyNelson:
    """The jqd step in NumPy (module docstring), float64, 1-D."""

    def __init__(self, psi0, x0, scheme, order):
        import numpy as np

        self.np = np
        self.psi0, self.x0 = np.asarray(psi0), np.asarray(x0)[:, 0].copy()
        self.scheme, self.order = scheme, order
        n, L = POINTS, LENGTH
        self.k = 2 * np.pi * np.fft.fftfreq(n, L / n)
        xg = -L / 2 + (L / n) * np.arange(n)
        self.kin = np.exp(-0.5j * self.k**2 * DT)
        self.half = np.exp(-0.5j * 0.5 * xg**2 * DT)
        self.full = self.half**2
        self.rng = np.random.default_rng(0)

    def tables(self, psi):
        np = self.np
        g = np.fft.ifft(1j * self.k * np.fft.fft(psi))
        f = np.stack([psi.real, psi.imag, g.real, g.imag], axis=-1)
        f1 = np.roll(f, -1, 0)
        if self.order == "linear":
            tabs = [f, f1 - f]
        else:
            fm, f2 = np.roll(f, 1, 0), np.roll(f, -2, 0)
            tabs = [f, 0.5 * (f1 - fm), fm - 2.5 * f + 2 * f1 - 0.5 * f2]
            tabs.append(0.5 * (f2 - fm) + 1.5 * (f - f1))
        eps = 1e-12 * np.max(np.abs(psi) ** 2)
        gmax = np.max(np.abs(g) ** 2)
        cap = math.sqrt(gmax / (4e-16 * np.max(np.abs(psi) ** 2)))
        return tabs, eps, cap

    def drift(self, tabs, eps, x):
        np = self.np
        s = (x + LENGTH / 2) * (POINTS / LENGTH)
        i0 = np.floor(s)
        t = (s - i0)[:, None]
        i = i0.astype(np.int64) % POINTS
        v = tabs[-1][i]
        for c in tabs[-2::-1]:
            v = c[i] + t * v
        pr, pi, gr, gi = v[:, 0], v[:, 1], v[:, 2], v[:, 3]
        return (pr * gi - pi * gr + pr * gr + pi * gi) / (pr * pr + pi * pi + eps)

    def wrap(self, x):
        return self.np.mod(x + LENGTH / 2, LENGTH) - LENGTH / 2

    def run(self, steps):
        np = self.np
        x, psi = self.x0.copy(), self.psi0.copy()
        psi = psi * self.half  # merged half kicks, as jqd's prepared step
        tabs, eps, cap = self.tables(self.psi0)
        for i in range(steps):
            noise = math.sqrt(DT) * self.rng.standard_normal(x.shape[0])  # sqrt(2D dW), D = 1/2
            b0 = self.drift(tabs, eps, x)
            psi = np.fft.ifft(self.kin * np.fft.fft(psi))
            psi_now = psi * self.half  # ψ at t + dt
            tabs1, eps1, cap1 = self.tables(psi_now)
            if self.scheme == "euler":
                x1 = x + b0 * DT + noise
            else:
                b1 = self.drift(tabs1, eps1, self.wrap(x + b0 * DT + noise))
                x1 = x + 0.5 * (b0 + b1) * DT + noise
            bad = ~(np.abs(x1 - x - noise) / DT <= cap)
            x = self.wrap(np.where(bad, x, x1))
            psi = psi_now * self.half if i < steps - 1 else psi_now
            tabs, eps, cap = tabs1, eps1, cap1
        return x


def bench_case(rep, n, scheme, order, steps, rounds, do_numpy, load):
    import jax
    import numpy as np
    from _common import alternate, cost

    import jqd
    from jqd.dqm import NelsonEnsemble

    grid, sch, params, y0 = setup(n)
    law = NelsonEnsemble(sch, scheme=scheme, interpolation=order)
    key = jax.random.key(1)

    def plain():
        sol = jqd.evolve(law, y0, params, dt=DT, n_save=1, steps_per_save=steps, key=key)
        return sol.y_final.x

    def fwd(y, k):
        sol = jqd.evolve(law, y, params, dt=DT, n_save=1, steps_per_save=steps, key=k,
                         observe=_first_particle, checkpoint=False, check=False)  # fmt: skip
        return sol.y_final.x

    jitted = jax.jit(fwd)
    timers = {"jqd-call": plain, "jqd-jit": lambda: jitted(y0, key)}
    if do_numpy:
        ref = NumpyNelson(y0.psi, y0.x, scheme, order)
        timers["numpy"] = lambda: ref.run(steps)
    first = {k: f() for k, f in timers.items()}  # compile outside the timing
    l0 = os.getloadavg()
    res = alternate(timers, rounds, calls=3)
    l1 = os.getloadavg()
    ca = cost(jitted, y0, key)
    x_j = np.asarray(first["jqd-jit"])[:, 0]
    np.testing.assert_allclose(np.asarray(first["jqd-call"])[:, 0], x_j, rtol=0, atol=1e-12)
    base, base_cpu = res["numpy"] if do_numpy else (float("nan"), float("nan"))
    for impl, (wall, cpu) in res.items():
        extra = {}
        if impl == "numpy":
            x_n = first["numpy"]
            extra = {"mean_x": float(x_n.mean()), "var_x": float(x_n.var())}
        else:
            extra = {"mean_x": float(x_j.mean()), "var_x": float(x_j.var())}
        if impl == "jqd-jit":
            extra.update(ca)
        rep.case(
            law=f"nelson/{scheme}-{order}",
            impl=impl,
            size=f"{POINTS} grid, N={n:.0e}",
            dtype="float64",
            n=n,
            steps=steps,
            median_s=wall,
            cpu_s_per_call=cpu,
            throughput=n * steps / wall,
            unit="particle-steps/s",
            speedup_vs_numpy=base / wall,
            cpu_speedup_vs_numpy=base_cpu / cpu,
            rounds=rounds,
            loadavg_before=[round(v, 2) for v in l0],
            loadavg_after=[round(v, 2) for v in l1],
            cores=load,
            **extra,
        )


def bench_rng(rep, rounds, load):
    import jax
    import jax.numpy as jnp
    import numpy as np
    from _common import alternate

    import jqd

    n = 10**6
    thr, rbg = jax.random.key(1), jax.random.key(1, impl="rbg")
    f_jax = jax.jit(lambda k: jax.random.normal(k, (n,), jnp.float64))
    f_jqd = jax.jit(lambda k: jqd.random_normal(k, (n,), jnp.float64))
    rng = np.random.default_rng(0)
    timers = {
        "jax.random.normal threefry": lambda: f_jax(thr),
        "jax.random.normal rbg": lambda: f_jax(rbg),
        "jqd.random_normal": lambda: f_jqd(thr),
        "numpy standard_normal": lambda: rng.standard_normal(n),
    }
    for f in timers.values():
        f()
    l0 = os.getloadavg()
    res = alternate(timers, rounds, calls=3)
    for impl, (wall, cpu) in res.items():
        rep.case(law="normal draws", impl=impl, size="1e6", dtype="float64", n=n, steps=1,
                 median_s=wall, cpu_s_per_call=cpu, throughput=n / wall, unit="draws/s",
                 rounds=rounds, loadavg_before=[round(v, 2) for v in l0], cores=load)  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-n", type=float, default=1e6)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=7, help="alternation rounds (>= 7)")
    ap.add_argument("--cores", type=int, default=None, help="pin the process to this many cores")
    ap.add_argument("--cases", default="euler-linear,heun-cubic")
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--rng", action="store_true", help="also time the normal generators")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    from _common import add_device_arg, select_device

    add_device_arg(ap)
    a = ap.parse_args(argv)
    cores = _pin(a.cores)
    select_device(a.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    from _common import Reporter

    rep = Reporter("nelson", a.json, argv=argv)
    load = f"cpus {cores} (of {os.cpu_count()})"
    rounds = max(7, a.rounds)
    if a.rng:
        bench_rng(rep, rounds, load)
    for n in [n for n in (10**4, 10**5, 10**6, 10**7) if n <= a.max_n]:
        for case in a.cases.split(","):
            scheme, order = case.split("-")
            bench_case(rep, n, scheme, order, a.steps, rounds, not a.no_numpy, load)
    from _common import fmt_s, markdown_table

    rows = [
        {**r, "wall": fmt_s(r["median_s"]), "cpu": fmt_s(r["cpu_s_per_call"]),
         "thr": f"{r['throughput']:.3g}", "r": f"{r.get('speedup_vs_numpy', float('nan')):.2f}",
         "rc": f"{r.get('cpu_speedup_vs_numpy', float('nan')):.2f}", "ld": r["loadavg_before"][0]}
        for r in rep.records
    ]  # fmt: skip
    cols = [("law", "case"), ("size", "size"), ("impl", "impl"), ("wall", "wall/call"),
            ("cpu", "CPU/call"), ("thr", "per s (wall)"), ("r", "numpy/x wall"),
            ("rc", "numpy/x CPU"), ("ld", "load")]  # fmt: skip
    print(f"\n{load}; device {rep.header['device']}\n" + markdown_table(rows, cols))


if __name__ == "__main__":
    main()
