"""Cost of jqd's input checks and breakdown monitors (issue 12).

For each problem, four candidates run the same evolution, alternating within
every round (>= 7 rounds; the median is reported):

  plain, checked      `jqd.evolve(...)` as a user types it: eager guards on the
                      concrete inputs, monitor at every save.
  plain, unchecked    the same with `check=False, monitor=False`.
  jit, checked        `jax.jit` over (state, params): every guard is traced,
                      so it is staged in-graph (`eqx.error_if`), plus the
                      monitor at every save.
  jit, unchecked      the same with `check=False, monitor=False`.

Problems (float64): Fock: Kerr, cutoff 64, |α0 = 3⟩, 200 steps with a save
each (`bench_fock.py`'s case); split-step: Strang in V = x²/2 on a 1D 2^16 and
a 2D 512² grid, 40 steps, a save every 4 (`bench_splitstep.py`'s sizes).

Usage: python benchmarks/bench_checks.py [--rounds 9] [--quick] [--device gpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    block,
    cost,
    fmt_s,
    markdown_table,
    select_device,
)


def problems(quick: bool):
    import jax.numpy as jnp

    import jqd

    out = {}
    cutoff = 32 if quick else 64
    psi0 = jqd.fock.coherent_state(3.0 if not quick else 2.0, cutoff)
    out[f"fock kerr d={cutoff}"] = dict(
        law=jqd.SchrodingerBasis(),
        y0=psi0,
        params=jqd.MatrixParams(jqd.fock.kerr_hamiltonian(cutoff)),
        dt=jnp.pi / 200,
        n_save=200,
        steps_per_save=1,
        points=cutoff,
    )
    harmonic = lambda x, t, w: 0.5 * w**2 * sum(xi**2 for xi in x)
    sizes = [(2**12,), (128, 128)] if quick else [(2**16,), (512, 512)]
    for shape in sizes:
        grid = jqd.Grid(shape, 40.0)
        law = jqd.SchrodingerGrid(grid, potential=harmonic)
        psi = jqd.reference.gaussian_packet(grid, a=1.0, p0=1.0)
        out["split-step " + "x".join(map(str, shape))] = dict(
            law=law,
            y0=psi,
            params=jqd.SchrodingerParams(potential=1.0),
            dt=0.005,
            n_save=10,
            steps_per_save=4,
            points=grid.size,
        )
    return out


def candidates(p):
    import jax

    import jqd

    def run(y0, params, checked):
        flags = {} if checked else {"check": False, "monitor": False}
        sol = jqd.evolve(
            p["law"],
            y0,
            params,
            dt=p["dt"],
            n_save=p["n_save"],
            steps_per_save=p["steps_per_save"],
            **flags,
        )
        return sol.y_final

    jit_on = jax.jit(lambda y, q: run(y, q, True))
    jit_off = jax.jit(lambda y, q: run(y, q, False))
    y0, params = p["y0"], p["params"]
    cands = {
        "plain, checked": lambda: run(y0, params, True),
        "plain, unchecked": lambda: run(y0, params, False),
        "jit, checked": lambda: jit_on(y0, params),
        "jit, unchecked": lambda: jit_off(y0, params),
    }
    return cands, cost(jit_on, y0, params)  # the checked program's XLA cost


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--quick", action="store_true")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("checks")
    rows = []
    for name, p in problems(args.quick).items():
        cands, xla = candidates(p)
        for fn in cands.values():  # warm-up: compile every candidate
            block(fn())
        times = {k: [] for k in cands}
        for _ in range(max(args.rounds, 7)):
            for k, fn in cands.items():  # alternating within each round
                t = time.perf_counter()
                block(fn())
                times[k].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        steps = p["n_save"] * p["steps_per_save"]
        for mode in ("plain", "jit"):
            on, off = med[f"{mode}, checked"], med[f"{mode}, unchecked"]
            rec = rep.case(
                law=name,
                impl=mode,
                checked_s=on,
                unchecked_s=off,
                overhead=on / off - 1.0,
                points_x_steps_per_s=p["points"] * steps / on,
                **xla,
            )
            rows.append(
                dict(
                    case=name,
                    call=mode,
                    checked=fmt_s(on),
                    unchecked=fmt_s(off),
                    overhead=f"{100 * rec['overhead']:+.1f} %",
                )
            )
    print()
    print(
        markdown_table(
            rows,
            [
                ("case", "case"),
                ("call", "call"),
                ("checked", "checks + monitor"),
                ("unchecked", "check=False, monitor=False"),
                ("overhead", "overhead"),
            ],
        )
    )


if __name__ == "__main__":
    main()
