"""`jqd.fit` with its gradient in forward against reverse mode: what a fit of a
few constants costs the user, compile included (docs/internals/core.md#fit).

    python benchmarks/bench_fit_gradient.py [--rounds 2] [--json F] [--device gpu]

Problems, both fitted from a start away from the quantum values, as a user
calls `jqd.fit` (a fresh loss each call: trace, compile and run each time):
- dqm-D: the diffusion constant D of `jqd.dqm.CanonicalDQM` (128 points, 5
  saves of 20 RK4 steps) to exact `jqd.SchrodingerGrid` densities in the
  quartic well of the dqm-fit-D experiment (`jqd.dqm.density_loss`);
- copy-qr: the exponents (q, r) of the mean-field copy law (P = 4, 20 saves of
  10 RK4 steps) to exact evolution (`jqd.copy.qr_loss`).
Each call runs in its own process, the modes alternating, with the persistent
compilation cache off; the fit's wall time is split into XLA compile (JAX's
backend-compile events), tracing and lowering (JAX's trace and MLIR events),
and the rest (running the optimiser). Both modes must reach the same optimum.
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

EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "trace_s",
    "/jax/core/compile/backend_compile_duration": "xla_s",
}


def problem(name: str):
    """(loss(theta), theta0, truth, transform) of one case."""
    import jax.numpy as jnp
    import numpy as np

    import jqd

    if name == "dqm-D":
        from jqd.dqm import CanonicalDQM, DQMParams, density_loss, state_from_psi

        V = lambda x, t, a: 0.5 * x[0] ** 2 + 0.02 * x[0] ** 4
        grid = jqd.Grid(128, 16.0)
        psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=1.0)
        sch = jqd.SchrodingerGrid(grid, V, scheme="yoshida4")
        ref = jqd.evolve(
            sch,
            psi0,
            jqd.SchrodingerParams(potential=0.0),
            dt=0.005 / 4,
            n_save=5,
            steps_per_save=80,
            observe=jqd.observables.Density(sch),
        )
        law, y0 = CanonicalDQM(grid, V), state_from_psi(grid, psi0)
        target = ref.observables[1:]

        def loss(theta):
            params = DQMParams(D=theta["D"], potential=0.0)
            return density_loss(law, y0, params, target, dt=0.005, steps_per_save=20)

        return loss, {"D": 0.25}, {"D": 0.5}, "positive"
    if name == "copy-qr":
        rng = np.random.default_rng(1)
        A = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
        H = (A + A.conj().T) / 2
        psi0 = np.exp(1j * rng.uniform(0, 2 * np.pi, 4)) / 2
        ts = np.linspace(0.0, 2.0, 21)

        def loss(theta):
            qr = jnp.stack([theta["q"], theta["r"]])
            return jqd.copy.qr_loss(qr, H, psi0, ts, dt=0.01)

        return loss, {"q": 0.0, "r": 0.0}, {"q": 0.5, "r": -0.5}, None
    raise ValueError(f"unknown case {name!r}")


def child(name: str, gradient: str, device: str) -> dict:
    select_device(device)
    import jax
    import jax.monitoring

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import jqd

    loss, theta0, truth, transform = problem(name)
    spent = dict.fromkeys(EVENTS.values(), 0.0)

    def listen(event, duration, **_):
        if event in EVENTS:
            spent[EVENTS[event]] += duration

    jax.monitoring.register_event_duration_secs_listener(listen)
    t0 = time.perf_counter()
    res = jqd.fit(loss, theta0, transform=transform, max_iter=30, gtol=1e-10, gradient=gradient)
    wall = time.perf_counter() - t0
    error = max(abs(float(np.asarray(res.value[k])) - v) for k, v in truth.items())
    return dict(spent, wall_s=wall, iterations=res.iterations, max_error=error)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=["dqm-D", "copy-qr"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.device)))
        return
    rep = Reporter("fit_gradient", args.json, argv)
    env = dict(os.environ, JQD_NO_CACHE="1", JAX_COMPILATION_CACHE_DIR="")
    rows = []
    for case in args.cases:
        for r in range(args.rounds):
            for gradient in ("reverse", "forward") if r % 2 == 0 else ("forward", "reverse"):
                cmd = [sys.executable, __file__, "--child", case, gradient, "--device", args.device]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                res = json.loads(out.stdout.split("RESULT ", 1)[1])
                rep.case(case=case, impl=gradient, round=r, **res)
                rest = res["wall_s"] - res["xla_s"] - res["trace_s"]
                rows.append(
                    {
                        "case": case,
                        "gradient": gradient,
                        "wall": fmt_s(res["wall_s"]),
                        "xla": fmt_s(res["xla_s"]),
                        "trace": fmt_s(res["trace_s"]),
                        "rest": fmt_s(rest),
                        "it": res["iterations"],
                        "err": f"{res['max_error']:.1e}",
                    }
                )
    columns = [("case", "case"), ("gradient", "gradient"), ("wall", "fit wall")]
    columns += [("xla", "XLA compile"), ("trace", "trace + lower"), ("rest", "run")]
    print(markdown_table(rows, columns + [("it", "iterations"), ("err", "max |θ − truth|")]))


if __name__ == "__main__":
    main()
