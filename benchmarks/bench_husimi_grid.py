"""Husimi Fokker-Planck grid solver (jqd.husimi.HusimiGrid): throughput and the
accuracy envelope on the Kerr mode.

    python benchmarks/bench_husimi_grid.py                    # throughput: 256², 32⁴
    python benchmarks/bench_husimi_grid.py breakdown          # Kerr α0 = 2, FockShells:
        when each grid leaves the L1 tolerances 1e-3 and 1e-2, and the indicators
    python benchmarks/bench_husimi_grid.py breakdown-project  # same, Envelope
    python benchmarks/bench_husimi_grid.py --quick            # small sizes (smoke run)

One JSON line per case (benchmarks/_common.py). Throughput cases follow its
timing conventions (one warm-up call, compile = first call − median, median of
>= 5 timed calls with block_until_ready); throughput = grid points × RK4 steps
per second (each step: 4 right-hand sides, each followed by the Fock-shell
projection for FockShells, or one envelope/positivity projection per step for
Envelope). Breakdown cases are accuracy measurements: one run each (minutes),
`wall_s` its wall time including compilation (no XLA cost analysis: they
measure accuracy, not speed). `--device gpu` runs either on the GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import Reporter, add_device_arg, cost, select_device, time_call  # noqa: E402

import jqd  # noqa: E402
from jqd.husimi import (  # noqa: E402
    Envelope,
    FockShells,
    HusimiGrid,
    HusimiGridParams,
    PhaseSpaceGrid,
    evolve_grid,
)

kerr = jqd.reference.kerr_symbol  # (U/2) a†²a² per mode, z = (Q.., P..)


def throughput(rep, repeats, n_modes, points, length, steps, regularization):
    g = PhaseSpaceGrid(n_modes, points, length)
    # timing only: monitor off (the displaced Gaussian is not in a small V_n)
    law = HusimiGrid(g, kerr, regularization=regularization, tol=1e9)
    mesh = g.mesh()
    r2 = sum((m - (2.0 if i == 0 else 0.0)) ** 2 for i, m in enumerate(mesh))
    rho = jnp.exp(-r2 / 2) / (2 * np.pi) ** n_modes
    y0 = law.initial_state(rho / g.integrate(rho))
    p = HusimiGridParams(C=jnp.asarray(1.0), args=jnp.asarray(0.2))

    def run(y0=y0):
        sol = jqd.evolve(law, y0, p, dt=1e-5, n_save=1, steps_per_save=steps, check=False,
                         checkpoint=False, monitor=False)  # fmt: skip
        return sol.y_final.rho

    t = time_call(run, repeats)
    n_max = getattr(law.regularization, "n_max", None)
    rep.case(
        law="HusimiGrid",
        impl=f"jqd {type(law.regularization).__name__}" + (f"({n_max})" if n_max else "()"),
        size=f"{points}^{2 * n_modes}, L = {length:g}",
        dtype="float64",
        compile_s=t["compile_s"],
        median_s=t["median_s"],
        min_s=t["min_s"],
        throughput=points ** (2 * n_modes) * steps / t["median_s"],
        unit="point-steps/s",
        steps=steps,
        **cost(run, y0),
    )


def breakdown(rep, points, dt, *, regularization, t_end=0.12, save_every=0.0025, length=22.0,
              marks=(0.25, 1.0, np.pi, 2 * np.pi)):  # fmt: skip
    g = PhaseSpaceGrid(1, points, length)
    # monitor off (tol = 1e9): measure the true error curve
    law = HusimiGrid(g, kerr, regularization=regularization, tol=1e9)
    (a,) = g.alpha()
    a = jnp.where(a == 0, 1e-30, a)
    exact = lambda t: np.asarray(jqd.reference.kerr_husimi(a, t, 2.0, 1.0, n_max=120)) / 2
    rho0 = jnp.asarray(exact(0.0))
    law = law.for_state(rho0)  # FockShells(None): n_max chosen from ρ0
    y0 = law.initial_state(rho0)
    p = HusimiGridParams(C=1.0, args=1.0)
    spp = int(round(save_every / dt))
    n_save = int(round(t_end / save_every))
    t0 = time.perf_counter()
    sol = evolve_grid(law, y0, p, dt=dt, n_save=n_save, steps_per_save=spp, on_breakdown="flag")
    wall = time.perf_counter() - t0
    ts = np.asarray(sol.ts)
    rhos = np.asarray(sol.observables.rho)
    errs = np.array([np.sum(np.abs(rhos[i] - exact(t))) * g.cell_volume for i, t in enumerate(ts)])
    removed = np.asarray(sol.observables.removed)
    top = np.asarray(sol.observables.top)

    def leave(tol, curve=errs):
        bad = np.nonzero(curve > tol)[0]
        return float(ts[bad[0]]) if bad.size else None

    at = {f"L1_at_{m:.4g}": float(errs[np.argmin(np.abs(ts - m))]) for m in marks if m <= ts[-1]}
    rep.case(
        law="HusimiGrid",
        impl=f"jqd {type(law.regularization).__name__}",
        size=f"{points}^2, L = {length:g}",
        dtype="float64",
        n_max=law.n_max,
        dt=dt,
        save_every=save_every,
        t_end=float(ts[-1]),
        t_leave_1e_3=leave(1e-3),
        t_leave_1e_2=leave(1e-2),
        # the monitor with tol = 1e-2 stops at the first save where an indicator
        # exceeds 1e-2; read here from the same run
        monitor_stop_time_tol_1e_2=leave(1e-2, np.maximum(removed, top)),
        max_removed=float(removed.max()),
        max_top=float(top.max()),
        L1_max=float(errs.max()),
        wall_s=wall,
        **at,
    )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", nargs="?", default="throughput",
                    choices=["throughput", "breakdown", "breakdown-project"])  # fmt: skip
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    add_device_arg(ap)
    a = ap.parse_args(argv)
    select_device(a.device)
    rep = Reporter("husimi_grid", argv=argv)
    if a.mode == "breakdown":
        # FockShells, n_max chosen from ρ0: to Ut = 2π, dt ≈ 0.27 × the P L P limit
        runs = [(128, 24.0, None), (96, 24.0, None), (96, 22.0, None)]
        # 64²: the grid resolves only n_max = 16 (L = 22) or 13 (L = 24); for_state
        # refuses α0 = 2 there, so n_max is forced to measure the breakdown
        runs += [(64, 22.0, 16), (64, 24.0, 13)]
        for points, length, n_max in runs[-1:] if a.quick else runs:
            long = n_max is None
            kw = dict(t_end=2 * np.pi, save_every=np.pi / 100) if long else dict(
                t_end=0.5, save_every=0.0125)  # fmt: skip
            if a.quick:
                kw = dict(t_end=0.05, save_every=0.0125)
            dt = np.pi / 1200 if long else 2.5e-3
            breakdown(rep, points, dt, regularization=FockShells(n_max), length=length, **kw)
    elif a.mode == "breakdown-project":
        for points, dt in ((64, 2e-4), (96, 1e-4), (128, 5e-5))[: 1 if a.quick else 3]:
            kw = dict(t_end=0.01) if a.quick else {}  # dt ≈ 0.8 × the RK4 limit
            breakdown(rep, points, dt, regularization=Envelope(), **kw)
    else:
        sizes = [(1, 256, 24.0, 20, 24), (2, 32, 16.0, 3, 4)]
        if a.quick:
            sizes = [(1, 64, 16.0, 5, 7), (2, 16, 12.0, 2, 3)]
        for n_modes, points, length, steps, n_max in sizes:
            for reg in (FockShells(n_max), Envelope()):
                throughput(rep, a.repeats, n_modes, points, length, steps, reg)


if __name__ == "__main__":
    main()
