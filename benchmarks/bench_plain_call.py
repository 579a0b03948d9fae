"""The plain `jqd.evolve` call against the same call under the user's own
`jax.jit`, forward and under `jax.grad` (issue 25, item 2: the plain call's
overhead over the jitted call).

    python benchmarks/bench_plain_call.py [--rounds 7] [--calls 20] [--json F]
        [--device gpu]

Cases (float64, one core's worth of XLA threads as a user gets by default):
  kerr-64        Kerr mode, cutoff 64, 201 saves (diagonal H: the plain call
                 stores it sparse, `SchrodingerBasis.specialize`)
  bh-sector-41   Bose-Hubbard dimer N = 40 sector, dense d = 41, 101 saves
  grad-kerr-64   d|⟨a⟩(T)|²/dU through the Kerr run (8 saves)
Candidates, timed round-robin (`_common.alternate`): `plain` (as a user
types it), `jit` (the user's `jax.jit` around the same call), and for the
gradient `grad` (an un-jitted `jax.grad`) and `jit(grad)`. Reports the median
wall and CPU time per call and the overhead plain − jit; prints one JSON
line per case and a markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    alternate,
    fmt_s,
    markdown_table,
    select_device,
)


def cases():
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jqd

    law = jqd.SchrodingerBasis()
    kerr_H = jqd.fock.kerr_hamiltonian(64)
    kerr_psi = jqd.fock.coherent_state(2.0, 64)
    kerr_p = jqd.MatrixParams(kerr_H)
    run_kerr = lambda p: jqd.evolve(law, kerr_psi, p, dt=np.pi / 200, n_save=200)
    jit_kerr = jax.jit(run_kerr)

    bh = jqd.fock.BoseHubbard(2, 40)
    bh_p = jqd.MatrixParams(jnp.asarray(bh.hamiltonian(1.0, 0.1)))
    bh_psi = jnp.asarray(bh.state((40, 0)), complex)
    run_bh = lambda p: jqd.evolve(law, bh_psi, p, dt=0.1, n_save=100)
    jit_bh = jax.jit(run_bh)

    a = jqd.fock.destroy(64)

    def loss(U):
        p = jqd.MatrixParams(U * kerr_H)
        y = jqd.evolve(law, kerr_psi, p, dt=0.1, n_save=8).y_final
        return jnp.abs(jnp.vdot(y, a @ y)) ** 2

    grad = jax.grad(loss)
    jit_grad = jax.jit(grad)
    U = jnp.asarray(1.0)
    return {
        "kerr-64": {"plain": lambda: run_kerr(kerr_p), "jit": lambda: jit_kerr(kerr_p)},
        "bh-sector-41": {"plain": lambda: run_bh(bh_p), "jit": lambda: jit_bh(bh_p)},
        "grad-kerr-64": {"plain": lambda: grad(U), "jit": lambda: jit_grad(U)},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--json", help="also append the JSON lines to this file")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("plain_call", args.json, argv)
    rows = []
    for name, timers in cases().items():
        load0 = os.getloadavg()[0]
        res = alternate(timers, args.rounds, args.calls)
        (plain, plain_cpu), (jit, jit_cpu) = res["plain"], res["jit"]
        rec = rep.case(
            case=name,
            plain_s=plain,
            jit_s=jit,
            plain_cpu_s=plain_cpu,
            jit_cpu_s=jit_cpu,
            overhead_s=plain - jit,
            load=(load0, os.getloadavg()[0]),
        )
        rows.append(
            dict(
                case=name,
                plain=fmt_s(plain),
                jit=fmt_s(jit),
                overhead=fmt_s(rec["overhead_s"]),
                cpu=f"{fmt_s(plain_cpu)} / {fmt_s(jit_cpu)}",
                load=f"{load0:.1f}-{rec['load'][1]:.1f}",
            )
        )
    cols = [("case", "case"), ("plain", "plain call"), ("jit", "user's jax.jit")]
    cols += [("overhead", "overhead (wall)"), ("cpu", "CPU plain / jit"), ("load", "load")]
    print(markdown_table(rows, cols))


if __name__ == "__main__":
    main()
