"""First call against second call of a 2-D grid run: how the compile time grows
with the grid (docs/internals/core.md#mesh).

    python benchmarks/bench_first_call.py [--sizes 512 1024 2048] [--json F] [--device gpu]

Problem: `jqd.SchrodingerGrid` on an n x n box (20 x 20), harmonic V evaluated on
`grid.mesh()`, Strang, 10 steps of dt = 1e-3 saved twice, a Gaussian start; the
plain `jqd.evolve` call as a user types it. Each size runs in a fresh process
(no compiled program kept, persistent cache off), which times its first call
(trace, compile and run) and then a second call (run only); their difference
is the compile cost the user waits for once per grid shape.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, fmt_s, markdown_table, select_device  # noqa: E402


def child(n: int, device: str) -> dict:
    select_device(device)
    import jax

    jax.config.update("jax_enable_x64", True)
    import jqd

    grid = jqd.Grid((n, n), (20.0, 20.0))
    law = jqd.SchrodingerGrid(grid, lambda x, t, w: 0.5 * w**2 * (x[0] ** 2 + x[1] ** 2))
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=(0.5, 0.0))
    params = jqd.SchrodingerParams(potential=1.0)
    run = lambda: jqd.evolve(law, psi0, params, dt=1e-3, n_save=2, steps_per_save=5).y_final
    t0 = time.perf_counter()
    jax.block_until_ready(run())
    t1 = time.perf_counter()
    jax.block_until_ready(run())
    t2 = time.perf_counter()
    return {"n": n, "first_s": t1 - t0, "second_s": t2 - t1}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.device)))
        return
    rep = Reporter("first_call", args.json, argv)
    env = dict(os.environ, JQD_NO_CACHE="1", JAX_COMPILATION_CACHE_DIR="")
    rows = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--device", args.device],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        res = json.loads(out.split("RESULT ", 1)[1])
        rec = rep.case(case=f"{n}x{n}", **res, compile_s=res["first_s"] - res["second_s"])
        rows.append(
            {
                "grid": rec["case"],
                "first": fmt_s(res["first_s"]),
                "second": fmt_s(res["second_s"]),
                "compile": fmt_s(rec["compile_s"]),
            }
        )
    columns = [("grid", "grid"), ("first", "first call"), ("second", "second call")]
    print(markdown_table(rows, columns + [("compile", "difference")]))


if __name__ == "__main__":
    main()
