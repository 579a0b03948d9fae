"""Husimi Fokker-Planck grid solver: throughput and accuracy breakdown.

    .venv/bin/python benchmarks/bench_husimi_grid.py            # throughput: 256², 32⁴
    .venv/bin/python benchmarks/bench_husimi_grid.py breakdown  # Kerr α0 = 2: when each
        grid leaves the L1 tolerances 1e-3 and 1e-2, and when the monitor stops

Prints one JSON object per line. Throughput = grid points × RK4 steps per second
(each step: 4 right-hand sides + the envelope/positivity projection), compile excluded.
"""

import json
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jqd  # noqa: E402
from jqd.husimi._grid_solver import (  # noqa: E402
    HusimiGrid,
    HusimiGridParams,
    PhaseSpaceGrid,
    evolve_grid,
)


def kerr(z, U):
    N = z.shape[0] // 2
    out = 0.0
    for j in range(N):
        n = (z[j] ** 2 + z[N + j] ** 2) / 2
        out = out + U / 2 * (n**2 - 4 * n + 2)
    return out


def env():
    return {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0]),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def throughput(n_modes, points, length, steps):
    g = PhaseSpaceGrid(n_modes, points, length)
    law = HusimiGrid(g, kerr)
    mesh = g.mesh()
    r2 = sum((m - (2.0 if i == 0 else 0.0)) ** 2 for i, m in enumerate(mesh))
    rho = jnp.exp(-r2 / 2) / (2 * np.pi) ** n_modes
    y0 = law.initial_state(rho / g.integrate(rho))
    p = HusimiGridParams(C=jnp.asarray(1.0), args=jnp.asarray(0.2))
    dt = 1e-5
    run = lambda: evolve_grid(
        law, y0, p, dt=dt, n_save=1, steps_per_save=steps, check=False, checkpoint=False
    )
    t0 = time.perf_counter()
    jax.block_until_ready(run().y_final.rho)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(run().y_final.rho)
    wall = time.perf_counter() - t0
    return {
        "bench": "husimi_grid_throughput",
        "dims": 2 * n_modes,
        "grid": f"{points}^{2 * n_modes}",
        "steps": steps,
        "wall_s": wall,
        "first_call_s": first,
        "points_steps_per_s": points ** (2 * n_modes) * steps / wall,
        **env(),
    }


def breakdown(points, dt, t_end=0.12, save_every=0.0025, length=22.0):
    g = PhaseSpaceGrid(1, points, length)
    law = HusimiGrid(g, kerr, tol=1e9)  # monitor off: measure the true error curve
    (a,) = g.alpha()
    a = jnp.where(a == 0, 1e-30, a)
    exact = lambda t: np.asarray(jqd.reference.kerr_husimi(a, t, 2.0, 1.0, n_max=120)) / 2
    y0 = law.initial_state(jnp.asarray(exact(0.0)))
    p = HusimiGridParams(C=1.0, args=1.0)
    spp = int(round(save_every / dt))
    n_save = int(round(t_end / save_every))
    t0 = time.perf_counter()
    sol = evolve_grid(law, y0, p, dt=dt, n_save=n_save, steps_per_save=spp, on_violation="ignore")
    wall = time.perf_counter() - t0
    ts = np.asarray(sol.ts)
    errs, removed = [], []
    for i, t in enumerate(ts):
        errs.append(
            float(np.sum(np.abs(np.asarray(sol.observables.rho[i]) - exact(t))) * g.cell_volume)
        )
        removed.append(float(sol.observables.removed[i]))
    errs = np.array(errs)
    removed = np.array(removed)

    def leave(tol, curve=errs):
        bad = np.nonzero(curve > tol)[0]
        return float(ts[bad[0]]) if bad.size else None

    return {
        "bench": "husimi_grid_kerr_breakdown",
        "grid": f"{points}^2",
        "L": length,
        "dt": dt,
        "save_every": save_every,
        "t_leave_1e-3": leave(1e-3),
        "t_leave_1e-2": leave(1e-2),
        # the monitor with tol = 1e-2 stops at the first step where `removed` > 1e-2;
        # here read at save resolution from the same run
        "monitor_stop_time_tol_1e-2": leave(1e-2, removed),
        "L1_at_t_end": float(errs[-1]),
        "wall_s": wall,
        **env(),
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "breakdown":
        for points, dt in ((64, 2e-4), (96, 1e-4), (128, 5e-5)):  # ~0.8 × RK4 limit
            print(json.dumps(breakdown(points, dt)), flush=True)
    else:
        print(json.dumps(throughput(1, 256, 22.0, steps=20)), flush=True)
        print(json.dumps(throughput(2, 32, 16.0, steps=3)), flush=True)
