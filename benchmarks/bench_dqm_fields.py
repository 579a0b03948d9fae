"""Cost of one RK4 step: canonical DQM (vector field by jax.grad of H_D) vs
Madelung (hand-written vector field), same grid, same state.

Problem: a displaced Gaussian (width 1, x0 = 0.5 per axis, p0 = 0.3) in
V = |x|²/2, ħ = m = 1, dt = 1e-3; n_steps steps per timed call through
`jqd.evolve(..., n_save=1, steps_per_save=n_steps, checkpoint=False,
check=False, monitor=False)` under `jax.jit` (the breakdown monitor, evaluated
at saves only, is off: coarse 2-D/3-D grids fail its resolution criterion at
t = 0 and would stop the run). Also forward+backward: `jax.grad` of ⟨x_0²⟩ at
the end w.r.t. ω (checkpointed). Prints one JSON line per case.

Usage:
  python benchmarks/bench_dqm_fields.py            # 1D 1024, 16384; 2D 128²; 3D 32³
  python benchmarks/bench_dqm_fields.py --quick    # small sizes
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
from jqd.dqm import CanonicalDQM, DQMParams, Madelung, gaussian_state  # noqa: E402

FULL = ["1024", "16384", "128x128", "32x32x32"]
QUICK = ["256", "4096", "64x64", "16x16x16"]


def V(x, t, a):
    return 0.5 * a["omega"] ** 2 * sum(xi**2 for xi in x)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", nargs="*")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtypes", nargs="*", default=["float64", "float32"])
    ap.add_argument("--no-grad", action="store_true")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    sizes = args.sizes or (QUICK if args.quick else FULL)
    rep = Reporter("dqm_fields", argv=argv)
    for s in sizes:
        shape = tuple(int(n) for n in s.split("x"))
        L = 16.0 if len(shape) == 1 else 12.0
        grid = jqd.Grid(shape, L)
        y0 = gaussian_state(grid, a=1.0, x0=0.5, p0=0.3)
        for dtype in args.dtypes:
            y = jax.tree_util.tree_map(lambda a: a.astype(dtype), y0)  # noqa: B023
            for name, law in (
                ("madelung", Madelung(grid, V)),
                ("canonical", CanonicalDQM(grid, V)),
            ):
                params = DQMParams(potential={"omega": jnp.asarray(1.0, dtype)})

                def fwd(y, params, law=law):
                    return jqd.evolve(
                        law,
                        y,
                        params,
                        dt=1e-3,
                        n_save=1,
                        steps_per_save=args.steps,
                        checkpoint=False,
                        check=False,
                        monitor=False,  # the step's cost; a breakdown must not stop it
                        on_breakdown="flag",
                    ).y_final.rho

                def loss(omega, y, law=law):
                    p = DQMParams(potential={"omega": omega})
                    sol = jqd.evolve(
                        law,
                        y,
                        p,
                        dt=1e-3,
                        n_save=1,
                        steps_per_save=args.steps,
                        observe=jqd.observables.PositionMoments(law, (2,)),
                        check=False,
                        monitor=False,  # the step's cost; a breakdown must not stop it
                        on_breakdown="flag",
                    )
                    return sol.observables[-1, 0, 0]

                compiled, c_s = time_compile(jax.jit(fwd), y, params)
                t = time_call(lambda: compiled(y, params), repeats=args.repeats)  # noqa: B023 (called at once)
                grad_h100 = float("nan")
                if args.no_grad:
                    gc_s, tg = float("nan"), {"median_s": float("nan")}
                else:
                    omega = params.potential["omega"]
                    gcomp, gc_s = time_compile(jax.jit(jax.grad(loss)), omega, y)
                    tg = time_call(lambda: gcomp(omega, y), repeats=args.repeats)  # noqa: B023 (called at once)
                    grad_h100 = cost(gcomp)["h100_projected_s"]
                rep.case(
                    law=name,
                    size=s,
                    points=grid.size,
                    dtype=dtype,
                    steps=args.steps,
                    compile_s=c_s,
                    median_s=t["median_s"],
                    min_s=t["min_s"],
                    step_us=1e6 * t["median_s"] / args.steps,
                    grad_compile_s=gc_s,
                    grad_median_s=tg["median_s"],
                    throughput=grid.size * args.steps / t["median_s"],
                    unit="point-steps/s",
                    grad_h100_projected_s=grad_h100,
                    **cost(compiled),
                )


if __name__ == "__main__":
    main()
