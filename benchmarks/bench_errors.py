"""What `errors=jqd.Errors(...)` costs over the plain `jqd.evolve` call
(issue 50: the step check at most 3.5x the plain run).

    python benchmarks/bench_errors.py [--rounds 5] [--calls 3] [--json F]
        [--device gpu] [--scale 1] [--only CASE ...]

Cases (float64; `--scale` multiplies the samples):
  nelson-1d     Nelson ensemble, Heun, 2e5 particles on a 256-point grid,
                40 steps (4 saves of ⟨x²⟩): sub-ensembles of the particles
  bell-3        Bell's jump process, 3 states, 2e5 members, 40 steps
  counts-tau    count-level tau-leap, 3 classes, 4096 replicates, 40 steps:
                the plain run is the replicates without the step check
Candidates, timed round-robin (`_common.alternate`): `plain` (the call as a
user types it; for counts-tau the replicates, `Errors(step=False)`),
`se` (`Errors(step=False)`: sub-ensembles only), `step` (`Errors()`: the
coupled run at dt/2 as well). Reports the medians and the ratios to plain
(results: benchmarks/results_errors.md).
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


def cases(scale: float):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import BellJumps, BellState, CopyCountsTauLeap, CountState, MatrixParams
    from jqd.dqm import EnsembleState, NelsonEnsemble, ParticleMoments, sample_density

    n = int(2e5 * scale)
    grid = jqd.Grid(256, 30.0)
    sch = jqd.SchrodingerGrid(grid, lambda x, t, a: 0.5 * a["w"] ** 2 * x[0] ** 2)
    params = jqd.SchrodingerParams(potential={"w": 0.5})
    psi0 = jnp.asarray(jqd.reference.oscillator_eigenstate(grid, 0, omega=0.5)) + 0j
    y0 = EnsembleState(psi0, sample_density(jax.random.key(1), grid, jnp.abs(psi0) ** 2, n))
    nelson = dict(
        law=NelsonEnsemble(sch), y0=y0, params=params, observe=ParticleMoments((2,)), dt=0.1
    )

    H = jqd.fock.random_hermitian(jax.random.key(5), 3)
    psi = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
    bell = dict(
        law=BellJumps(3),
        y0=BellState(psi / jnp.linalg.norm(psi), jnp.arange(n, dtype=jnp.int32) % 3),
        params=MatrixParams(H=H),
        observe=lambda t, y, p: jnp.stack([jnp.mean(y.a == k) for k in range(3)]),
        dt=0.05,
    )
    counts = dict(
        law=CopyCountsTauLeap(3),
        y0=CountState(n=jnp.array([10.0, 10.0, 10.0]), phi=jnp.zeros(3)),
        params=MatrixParams(H=H),
        observe=lambda t, y, p: y.n / jnp.sum(y.n),
        dt=0.02,
    )

    def run(case, errors):
        c = dict(case)
        return lambda: jqd.evolve(
            c["law"], c["y0"], c["params"], dt=c["dt"], n_save=4, steps_per_save=10,
            key=jax.random.key(0), observe=c["observe"], errors=errors,
        )  # fmt: skip

    replicates = max(2, int(4096 * scale))
    return {
        "nelson-1d": (n, "particle", {
            "plain": run(nelson, None),
            "se": run(nelson, jqd.Errors(step=False)),
            "step": run(nelson, jqd.Errors()),
        }),
        "bell-3": (n, "member", {
            "plain": run(bell, None),
            "se": run(bell, jqd.Errors(step=False)),
            "step": run(bell, jqd.Errors()),
        }),
        "counts-tau": (replicates, "replicate", {
            "plain": run(counts, jqd.Errors(replicates, step=False)),
            "step": run(counts, jqd.Errors(replicates)),
        }),
    }  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument("--only", nargs="+", help="run only these cases")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("errors", args.json, argv)
    rows = []
    for name, (size, unit, timers) in cases(args.scale).items():
        if args.only and name not in args.only:
            continue
        load0 = os.getloadavg()[0]
        res = alternate(timers, args.rounds, args.calls)
        plain = res["plain"][0]
        steps = 40
        rec = rep.case(
            case=name,
            size=size,
            **{f"{k}_s": v[0] for k, v in res.items()},
            **{f"{k}_ratio": v[0] / plain for k, v in res.items()},
            throughput=size * steps / plain,
            unit=f"{unit}-steps/s (plain)",
            load=(load0, os.getloadavg()[0]),
        )
        rows.append(
            dict(
                case=name,
                size=f"{size:,} {unit}s",
                plain=fmt_s(plain),
                se="—" if "se" not in res else f"{fmt_s(res['se'][0])} ({rec['se_ratio']:.2f}x)",
                step=f"{fmt_s(res['step'][0])} ({rec['step_ratio']:.2f}x)",
                load=f"{load0:.1f}-{rec['load'][1]:.1f}",
            )
        )
    cols = [("case", "case"), ("size", "samples"), ("plain", "plain call")]
    cols += [("se", "+ sampling SE"), ("step", "+ step error"), ("load", "load")]
    print(markdown_table(rows, cols))


if __name__ == "__main__":
    main()
