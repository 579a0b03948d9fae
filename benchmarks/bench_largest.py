"""The largest run of every law family, and how its cost grows (issue 29, item 3).

    python benchmarks/bench_largest.py                 # every family
    python benchmarks/bench_largest.py --family nelson --family fput
    python benchmarks/bench_largest.py --max-run-s 30  # stop each ladder earlier
    python benchmarks/bench_largest.py --child husimi-grid 1400 --calls 0  # one rung

For each family a *standard run* is `jqd.evolve` of one problem over a fixed
number of steps (`STEPS`, saved 10 times), as a user types it. The size ladder
grows by √10 per rung; each rung runs in its own process, so its peak memory
(ru_maxrss) is its own. A rung records: the first call (compile + run), the
median of three further calls, the process's CPU time per call, its peak RSS,
and XLA's cost analysis (flops, bytes) with the projected H100 time
(`_common.cost`). The ladder stops when a call takes longer than
`--max-run-s` or the next rung would pass `--max-rss-gb`.

From the ladder: the cost exponent p (least squares of ln t against ln size
over the last three rungs above 50 ms, where the fixed per-call cost no
longer dominates); the largest size measured; the size a 10-minute standard run
reaches, extrapolated as size_last · (600 s / t_last)^(1/p) (marked "≈",
measured only where a rung reached it); the same for memory: the size whose
state and temporaries (XLA's memory analysis, ∝ size^q) fill 80 GB of an
H100.

Writes one JSON line per rung (prefix JSON) and the markdown table to
`--out` (default benchmarks/results_largest.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

STEPS = 100  # steps of one standard run
N_SAVE = 10
RUNG = math.sqrt(10)


# -- the families: size -> (law, y0, params, dt) --------------------------------------
def _grid_1d(n):
    import jqd

    grid = jqd.Grid(int(n), 40.0)
    law = jqd.SchrodingerGrid(grid, potential=lambda x, t, w: 0.5 * w**2 * x[0] ** 2)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=0.5)
    return law, psi0, jqd.SchrodingerParams(potential=1.0), 1e-3


def _basis(d):
    import jax

    import jqd

    d = int(d)
    H = jqd.fock.random_hermitian(jax.random.key(0), d)
    psi0 = jqd.fock.fock_state(d, 0)
    return jqd.SchrodingerBasis(), psi0, jqd.MatrixParams(H), 1e-2


def _fluid(law_name):
    def make(n):
        import jax.numpy as jnp

        import jqd
        from jqd.dqm import DQMParams, gaussian_state

        grid = jqd.Grid(int(n), 16.0 * n / 128)  # dx = 1/8, as the contract case
        law = getattr(jqd.dqm, law_name)(grid, lambda x, t, a: 0.5 * x[0] ** 2)
        y0 = gaussian_state(grid, a=1.0, x0=0.5, p0=0.2)
        D = jnp.asarray(0.4) if law_name == "CanonicalDQM" else None
        return law, y0, DQMParams(hbar=1.0, mass=1.0, D=D), 1e-3

    return make


def _ensemble(kind):
    def make(n):
        import jax

        import jqd
        from jqd.dqm import BohmEnsemble, EnsembleState, NelsonEnsemble

        grid = jqd.Grid(512, 24.0)
        sch = jqd.SchrodingerGrid(grid, lambda x, t, a: 0.5 * x[0] ** 2)
        law = NelsonEnsemble(sch) if kind == "nelson" else BohmEnsemble(sch)
        psi0 = jqd.reference.harmonic_gaussian(grid, 0.0, x0=1.0, p0=0.5, squeeze=1.5)
        x = 1.0 + 0.5 * jax.random.normal(jax.random.key(0), (int(n), 1))
        key = dict(key=jax.random.key(1)) if kind == "nelson" else {}
        return law, EnsembleState(psi0, x), jqd.SchrodingerParams(), 1e-3, key

    return make


def _husimi_galerkin(K):
    import jqd
    from jqd import husimi as hs

    K = int(K)
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    R0 = law.initial_state(jqd.fock.coherent_state(0.6, K, tol=1e-6))
    # dt inside the split remainder's range at K = 800; refused at K = 2530 (results_gpu.md)
    return law, R0, hs.GalerkinParams(0.8), 1e-5


def _husimi_grid(points):
    import jax.numpy as jnp
    import numpy as np

    import jqd
    from jqd import husimi as hs

    grid = hs.PhaseSpaceGrid(1, 2 * (int(points) // 2), 16.0)  # an even number of points
    law = hs.HusimiGrid(grid, jqd.reference.kerr_symbol, regularization=hs.FockShells(7))
    Q, P = grid.mesh()
    rho = jnp.exp(-((Q - 1.0) ** 2 + P**2) / 2) / (2 * np.pi)
    rho = law.fock_project(rho / grid.integrate(rho))  # inside V_7, as the contract case
    rho = rho / grid.integrate(rho)
    params = hs.HusimiGridParams(C=jnp.asarray(1.0), args=jnp.asarray(0.5))
    return law, law.initial_state(rho), params, 0.5 * law.stable_dt(params)


def _copy_meanfield(P):
    import jax
    import numpy as np

    import jqd
    from jqd.copy import MeanField, MeanFieldParams, state_from_psi

    P = int(P)
    H = jqd.fock.random_hermitian(jax.random.key(0), P)
    psi0 = np.full(P, P**-0.5, complex)
    params = MeanFieldParams.from_hamiltonian(H, q=0.5, r=-0.5)
    return MeanField(), state_from_psi(psi0), params, 1e-3


def _copy_members(N):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import CopyMembersTauLeap, MatrixParams, MemberState

    P, N = 3, int(N)
    H = jqd.fock.random_hermitian(jax.random.key(0), P)
    y0 = MemberState(a=jnp.arange(N, dtype=jnp.int32) % P, phi=jnp.zeros(N))
    return CopyMembersTauLeap(P), y0, MatrixParams(H=H), 1e-3, dict(key=jax.random.key(1))


def _harmonic(n):
    import numpy as np

    from jqd.thermal import HarmonicLattice, Lattice, LatticeParams, displace, product_state

    law = HarmonicLattice(Lattice((int(n),), "periodic"), covariance="mode")
    params = LatticeParams()
    y0 = product_state(law, params, 0.2 * np.cos(np.arange(int(n))), 0.8, 0.1)
    return law, displace(law, y0, 0.05, -0.1), params, 0.1


def _fput(n):
    import jax
    import jax.numpy as jnp

    from jqd.schemes import Strang
    from jqd.thermal import ClassicalLattice, FPUTParams, PhaseState

    n = int(n)
    law = ClassicalLattice(n, "periodic", Strang())
    q = 0.1 * jax.random.normal(jax.random.key(0), (n,))
    params = jax.tree_util.tree_map(jnp.asarray, FPUTParams(alpha=0.25, beta=1.0))
    return law, PhaseState(q, jnp.zeros(n)), params, 0.05


def _gas(n):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jqd.thermal import GasParams, PhaseState, SoftSphereGas

    side = int(math.ceil(math.sqrt(n)))
    g = (np.arange(side) + 0.5) * 1.5
    q = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)[: int(n)]
    p = np.asarray(jax.random.normal(jax.random.key(1), q.shape))
    law = SoftSphereGas(int(n), side * 1.5, 2, cell_size=1.2)
    params = jax.tree_util.tree_map(jnp.asarray, GasParams(mass=1.0, kappa=50.0, sigma=1.0))
    return law, PhaseState(jnp.asarray(q), jnp.asarray(p)), params, 0.01


def _local(L):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jqd.thermal import mixed_field_ising

    law, params = mixed_field_ising(int(L))
    psi0 = np.zeros(law.size, complex)
    psi0[0] = 1.0
    params = jax.tree_util.tree_map(jnp.asarray, params)
    return law, jnp.asarray(psi0), params, 0.05


FAMILIES = {
    # name: (make, unit, sizes)
    "schrodinger-grid": (_grid_1d, "grid points", None),
    "schrodinger-basis": (_basis, "Hilbert-space dimension", None),
    "madelung": (_fluid("Madelung"), "grid points", None),
    "canonical-dqm": (_fluid("CanonicalDQM"), "grid points", None),
    "nelson": (_ensemble("nelson"), "particles", None),
    "bohm": (_ensemble("bohm"), "particles", None),
    "husimi-galerkin": (_husimi_galerkin, "Fock cutoff K (state K²)", None),
    "husimi-grid": (_husimi_grid, "grid points per axis (state n²)", None),
    "copy-meanfield": (_copy_meanfield, "classes P", None),
    "copy-members": (_copy_members, "members N", None),
    "thermal-harmonic": (_harmonic, "atoms", None),
    "thermal-fput": (_fput, "sites", None),
    "thermal-gas": (_gas, "disks", None),
    "thermal-local": (_local, "spins L (dimension 2^L)", list(range(6, 25, 2))),
}
START = {
    "schrodinger-grid": 256,
    "schrodinger-basis": 8,
    "madelung": 128,
    "canonical-dqm": 128,
    "nelson": 100,
    "bohm": 100,
    "husimi-galerkin": 8,
    "husimi-grid": 32,
    "copy-meanfield": 8,
    "copy-members": 100,
    "thermal-harmonic": 100,
    "thermal-fput": 100,
    "thermal-gas": 16,
}


def ladder(name):
    sizes = FAMILIES[name][2]
    if sizes is not None:
        return sizes
    s, out = START[name], []
    while s < 1e9:
        out.append(int(round(s)))
        s *= RUNG
    return out


# -- one rung, in a child process --------------------------------------------------
def child(name: str, size: int, calls: int = 3) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import _common

    import jqd

    made = FAMILIES[name][0](size)
    law, y0, params, dt = made[:4]
    extra = made[4] if len(made) > 4 else {}
    kw = dict(dt=dt, n_save=N_SAVE, steps_per_save=STEPS // N_SAVE, **extra)

    def plain():  # the user's plain call
        return jqd.evolve(law, y0, params, **kw).y_final

    c, t = time.process_time(), time.perf_counter()
    jax.block_until_ready(plain())
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    times, cpu = ([first], [first_cpu]) if calls == 0 else ([], [])  # 0: the first call only
    for _ in range(calls):
        c, t = time.process_time(), time.perf_counter()
        jax.block_until_ready(plain())
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    rec = dict(family=name, size=size, first_s=first, run_s=times[len(times) // 2])
    rec.update(cpu_s=cpu[len(cpu) // 2], calls=calls)
    jitted = jax.jit(lambda y, p: jqd.evolve(law, y, p, **kw).y_final)
    compiled = jitted.lower(y0, params).compile()
    rec.update(_common.cost(compiled))
    mem = compiled.memory_analysis()
    if mem is not None:
        rec["xla_bytes"] = float(
            mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
        )
    rec["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return rec


# -- the table ---------------------------------------------------------------------
def _fit(xs, ys):
    import numpy as np

    if len(xs) < 2:
        return math.nan
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def summarize(name, rungs) -> dict:
    ok = [r for r in rungs if "run_s" in r]
    if not ok:
        return dict(family=name, unit=FAMILIES[name][1], error=rungs[-1].get("error", "?"))
    big = ([r for r in ok if r["cpu_s"] > 0.05] or ok)[-3:]  # the top of the ladder
    p = _fit([r["size"] for r in big], [r["cpu_s"] for r in big])
    last = ok[-1]
    ten_min = last["size"] * (600 / last["cpu_s"]) ** (1 / p) if p > 0 else math.inf  # extrapolated
    with_mem = [r for r in ok if r.get("xla_bytes")]
    q = _fit([r["size"] for r in with_mem[-3:]], [r["xla_bytes"] for r in with_mem[-3:]])
    fits_80gb = (
        with_mem[-1]["size"] * (80e9 / with_mem[-1]["xla_bytes"]) ** (1 / q)
        if with_mem and q > 0
        else math.nan
    )
    return dict(
        family=name,
        unit=FAMILIES[name][1],
        decades=math.log10(ok[-1]["size"] / ok[0]["size"]),
        exponent=p,
        largest=last["size"],
        largest_run_s=last["cpu_s"],
        largest_rss_gb=last["peak_rss_gb"],
        largest_h100_s=last.get("h100_projected_s", math.nan),
        ten_min_size=ten_min,
        h100_80gb_size=fits_80gb,
        memory_exponent=q,
        rungs=[(r["size"], r["cpu_s"], r.get("h100_projected_s")) for r in ok],
    )


def markdown(rows, header) -> str:
    out = [
        "# Largest run per law family (issue 29, item 3)",
        "",
        f"`python benchmarks/bench_largest.py`; {header}. A standard run: `jqd.evolve` over "
        f"{STEPS} steps saved {N_SAVE} times, plain call. *p*: cost exponent (time ∝ size^p, "
        "last three rungs above 50 ms); *largest measured*: the last rung under the run limit; *10 min*: "
        "the size a 10-minute standard run reaches, extrapolated from the last rung with p; "
        "*80 GB*: the size whose XLA buffers (arguments, outputs, temporaries ∝ size^q) fill "
        "an H100's memory; *H100*: XLA's cost analysis of the largest rung (flops / 34 TFLOP/s "
        "fp64 or bytes / 3.35 TB/s, the larger).",
        "",
        "| family | size unit | decades | p | largest measured | run (s) | peak RSS (GB) "
        "| H100 projected (s) | 10 min (≈) | 80 GB (≈) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['family']} | {r['unit']} | – | – | failed: {r['error'][:80]} |")
            continue
        out.append(
            f"| {r['family']} | {r['unit']} | {r['decades']:.1f} | {r['exponent']:.2f} "
            f"| {r['largest']:,} | {r['largest_run_s']:.3g} | {r['largest_rss_gb']:.2f} "
            f"| {r['largest_h100_s']:.2g} | {r['ten_min_size']:.2g} | {r['h100_80gb_size']:.2g} |"
        )
    out += ["", "Rungs (size: CPU run s / H100 projected s):", ""]
    for r in rows:
        if "rungs" in r:
            cells = ", ".join(f"{s:,}: {t:.3g}/{h or math.nan:.2g}" for s, t, h in r["rungs"])
            out.append(f"- **{r['family']}**: {cells}")
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--max-run-s", type=float, default=60.0)
    parser.add_argument("--max-rss-gb", type=float, default=8.0)
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "results_largest.md")
    )
    parser.add_argument(
        "--child",
        nargs=2,
        metavar=("FAMILY", "SIZE"),
        help="run one rung in this process and print its JSON line (e.g. a size near "
        "the 10-minute extrapolation, with --calls 0)",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=3,
        help="timed calls after the first (median reported); 0: report the first call, "
        "compile included (for rungs of minutes)",
    )
    args = parser.parse_args(argv)
    if args.child:
        rec = child(args.child[0], int(args.child[1]), args.calls)
        print("JSON " + json.dumps(rec), flush=True)
        return
    import _common

    header = _common.machine()
    rows = []
    for name in args.family or FAMILIES:
        rungs = []
        for size in ladder(name):
            if rungs and rungs[-1].get("peak_rss_gb", 0) * RUNG > args.max_rss_gb:
                break
            proc = subprocess.run(
                [sys.executable, __file__, "--child", name, str(size)],
                capture_output=True,
                text=True,
                timeout=max(20 * args.max_run_s, 600),
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON ")]
            if proc.returncode or not lines:
                rungs.append(dict(size=size, error=(proc.stderr.strip().splitlines() or ["?"])[-1]))
                print(f"{name} {size}: {rungs[-1]['error']}", file=sys.stderr)
                break
            rec = json.loads(lines[-1][5:])
            rungs.append(rec)
            print("JSON " + json.dumps(rec), flush=True)
            if rec["cpu_s"] > args.max_run_s:
                break
        rows.append(summarize(name, rungs))
    loads = os.getloadavg()
    text = markdown(
        rows,
        f"{header['cpu']}, {header['cores']} cores, load {header['loadavg_at_start']} at start "
        f"and {[round(x, 1) for x in loads]} at the end, {time.strftime('%Y-%m-%d')}",
    )
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
