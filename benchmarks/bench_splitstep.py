"""Split-step Fourier (Strang) throughput: jqd vs a NumPy/SciPy implementation
of the same algorithm, in the same run.

Problem: a displaced Gaussian (width 1, x0 = 0.5 on every axis) in the harmonic
potential V = ω²|x|²/2 (ω = 1, ħ = m = 1) on a periodic box, dt = 2e-3.
Throughput = grid points x steps / second.

Timed implementations (per size and dtype):
  jqd-jit      `jax.jit` of `jqd.evolve(SchrodingerGrid, ..., n_save=1,
               steps_per_save=n_steps, checkpoint=False, check=False)`;
               compile time from AOT `lower().compile()`, reported apart.
  jqd-call     the plain public call `jqd.evolve(...)` (eager input checks
               on, dispatch through `eqx.filter_jit`), already compiled.
  numpy        scipy.fft.fftn/ifftn (workers=-1, overwrite_x) with the same
               precomputed phase factors: half kick, then n x (FFT, kinetic
               phase, IFFT, full kick) with the last kick a half kick
               (identical in exact arithmetic to jqd's kick-drift-kick steps).
  jqd-grad     `jax.jit(jax.grad)` of ⟨x_0²⟩ at the final time w.r.t. ω,
               through `jqd.evolve` with checkpoint=True (forward + backward).

The jqd and NumPy final states are compared (relative max difference printed)
so the two implementations are known to compute the same thing.

Usage:
  python benchmarks/bench_splitstep.py                 # full: 1D 2^16, 2D 512², 3D 128³
  python benchmarks/bench_splitstep.py --quick         # small sizes, < 60 s
  python benchmarks/bench_splitstep.py --sizes 65536 512x512 --dtypes complex64 --repeats 7
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import scipy.fft as sfft  # noqa: E402
from _common import Reporter, fmt_s, markdown_table, time_call, time_compile  # noqa: E402

FULL_SIZES = ["65536", "512x512", "128x128x128"]
QUICK_SIZES = ["4096", "64x64", "32x32x32"]
BOX = {1: 80.0, 2: 40.0, 3: 20.0}  # box length per axis at full size


def box_length(shape) -> float:
    """Box length: BOX[ndim], shrunk for small grids so the Gaussian stays
    resolved (dx <= 0.44), never below 14 (so it stays inside the box)."""
    return max(14.0, min(BOX[len(shape)], 0.4 * min(shape)))


DT = 2e-3
OMEGA = 1.0


def parse_shape(s: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in s.lower().split("x"))
    except ValueError:
        raise SystemExit(
            f"--sizes: cannot parse {s!r}; use e.g. 65536, 512x512, 128x128x128."
        ) from None
    if not 1 <= len(shape) <= 3 or any(n < 4 for n in shape):
        raise SystemExit(f"--sizes: {s!r} must have 1-3 axes of >= 4 points.")
    return shape


def steps_for(size: int, work: float, min_steps: int = 8) -> int:
    """Steps so that size x steps ~ work (at least min_steps)."""
    return max(min_steps, int(round(work / size)))


def potential(x, t, args):
    return 0.5 * args["omega"] ** 2 * sum(xi**2 for xi in x)


def numpy_factors(shape, rdtype, cdtype):
    """Precomputed phase factors for the NumPy reference (same formulas as jqd)."""
    L = box_length(shape)
    axes = [(-L / 2 + (L / n) * np.arange(n)).astype(rdtype) for n in shape]
    ks = [(2 * np.pi * np.fft.fftfreq(n, L / n)).astype(rdtype) for n in shape]
    x = np.meshgrid(*axes, indexing="ij")
    k = np.meshgrid(*ks, indexing="ij")
    V = (0.5 * OMEGA**2 * sum(xi**2 for xi in x)).astype(rdtype)
    k2 = sum(ki**2 for ki in k).astype(rdtype)
    kin = np.exp(-0.5j * DT * k2).astype(cdtype)
    half = np.exp(-0.5j * DT * V).astype(cdtype)
    full = np.exp(-1j * DT * V).astype(cdtype)
    return kin, half, full


def numpy_strang(psi0, kin, half, full, n_steps, workers=-1):
    ndim = psi0.ndim
    axes = tuple(range(ndim))
    psi = psi0 * half
    for i in range(n_steps):
        psi = sfft.fftn(psi, axes=axes, workers=workers, overwrite_x=True)
        psi *= kin
        psi = sfft.ifftn(psi, axes=axes, workers=workers, overwrite_x=True)
        psi *= full if i < n_steps - 1 else half
    return psi


def bench_case(rep, shape, dtype_name, n_steps, repeats, do_numpy, do_grad, do_call):
    import jax
    import jax.numpy as jnp

    import jqd

    cdtype = jnp.dtype(dtype_name)
    rdtype = jnp.finfo(cdtype).dtype
    ndim = len(shape)
    size = math.prod(shape)
    grid = jqd.Grid(shape, box_length(shape))
    law = jqd.SchrodingerGrid(grid, potential)
    params = jqd.SchrodingerParams(
        hbar=1.0, mass=1.0, potential={"omega": jnp.asarray(OMEGA, rdtype)}
    )
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=0.5, dtype=cdtype)
    probe = lambda t, y, p: y[(0,) * ndim]  # a cheap observable: the scan saves little
    label = "x".join(map(str, shape))
    common = dict(
        law="SchrodingerGrid/strang",
        size=label,
        points=size,
        dtype=dtype_name,
        n_steps=n_steps,
        dt=DT,
    )
    rows = []

    def fwd(psi, prm):
        sol = jqd.evolve(
            law,
            psi,
            prm,
            dt=DT,
            n_save=1,
            steps_per_save=n_steps,
            observe=probe,
            checkpoint=False,
            check=False,
        )
        return sol.y_final

    compiled, compile_s = time_compile(jax.jit(fwd), psi0, params)
    t = time_call(lambda: compiled(psi0, params), repeats)
    y_jqd = np.asarray(t["result"])
    assert y_jqd.dtype == cdtype, (y_jqd.dtype, cdtype)
    rows.append(
        rep.case(
            impl="jqd-jit",
            **common,
            compile_s=compile_s,
            median_s=t["median_s"],
            min_s=t["min_s"],
            throughput=size * n_steps / t["median_s"],
            unit="point-steps/s",
        )
    )

    if do_call:
        # The public eager path: input checks on concrete arrays + filter_jit dispatch.
        call = lambda: (
            jqd.evolve(
                law,
                psi0,
                params,
                dt=DT,
                n_save=1,
                steps_per_save=n_steps,
                observe=probe,
                checkpoint=False,
            ).y_final
        )
        tc = time_call(call, repeats)
        # Cost of the eager checks alone (what the call adds on top of the compiled run).
        tchk = time_call(lambda: law.check(psi0, params, DT), repeats)
        rows.append(
            rep.case(
                impl="jqd-call",
                **common,
                compile_s=tc["compile_s"],
                median_s=tc["median_s"],
                min_s=tc["min_s"],
                throughput=size * n_steps / tc["median_s"],
                unit="point-steps/s",
                check_s=tchk["median_s"],
            )
        )

    if do_numpy:
        np_dtype = np.dtype(dtype_name)
        kin, half, full = numpy_factors(shape, np.finfo(np_dtype).dtype, np_dtype)
        p0 = np.asarray(psi0)
        tn = time_call(lambda: numpy_strang(p0, kin, half, full, n_steps), repeats)
        y_np = tn["result"]
        rel = float(np.max(np.abs(y_np - y_jqd)) / np.max(np.abs(y_np)))
        rows.append(
            rep.case(
                impl="numpy",
                **common,
                compile_s=0.0,
                median_s=tn["median_s"],
                min_s=tn["min_s"],
                throughput=size * n_steps / tn["median_s"],
                unit="point-steps/s",
                rel_maxdiff_vs_jqd=rel,
                fft="scipy.fft workers=-1",
            )
        )

    if do_grad:
        spb = max(1, n_steps // 8)
        n_save = max(1, n_steps // spb)
        steps = spb * n_save
        x0 = grid.mesh(rdtype)[0]

        def loss(omega, psi):
            prm = jqd.SchrodingerParams(hbar=1.0, mass=1.0, potential={"omega": omega})
            sol = jqd.evolve(
                law,
                psi,
                prm,
                dt=DT,
                n_save=n_save,
                steps_per_save=spb,
                observe=probe,
                checkpoint=True,
                check=False,
            )
            return grid.integrate(jnp.abs(sol.y_final) ** 2 * x0**2)

        omega = jnp.asarray(OMEGA, rdtype)
        gcomp, gcompile = time_compile(jax.jit(jax.value_and_grad(loss)), omega, psi0)
        tg = time_call(lambda: gcomp(omega, psi0), repeats)
        val, g = tg["result"]
        assert jnp.asarray(g).dtype == rdtype
        rows.append(
            rep.case(
                impl="jqd-grad",
                **{**common, "n_steps": steps},
                compile_s=gcompile,
                median_s=tg["median_s"],
                min_s=tg["min_s"],
                throughput=size * steps / tg["median_s"],
                unit="point-steps/s",
                checkpoint=f"{n_save} saves x {spb} steps",
                fwd_ratio=tg["median_s"] / (t["median_s"] * steps / n_steps),
                grad=float(g),
            )
        )
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (< 60 s in all)")
    ap.add_argument("--sizes", nargs="+", help="grid shapes, e.g. 65536 512x512 128x128x128")
    ap.add_argument(
        "--dtypes",
        nargs="+",
        default=["complex64", "complex128"],
        choices=["complex64", "complex128"],
    )
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per case (>= 5)")
    ap.add_argument(
        "--work",
        type=float,
        default=None,
        help="target grid points x steps per timed run (default 2.5e7, quick 2e6)",
    )
    ap.add_argument("--no-numpy", action="store_true")
    ap.add_argument("--no-grad", action="store_true")
    ap.add_argument("--no-call", action="store_true", help="skip the plain jqd.evolve() call")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument("--platform", default=None, help="JAX platform (cpu, gpu); default: JAX's")
    args = ap.parse_args(argv)

    import jax

    if args.platform:
        jax.config.update("jax_platforms", args.platform)
    jax.config.update("jax_enable_x64", True)  # needed for complex128; complex64 stays 64

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    shapes = [parse_shape(s) for s in sizes]
    work = args.work or (2e6 if args.quick else 2.5e7)
    rep = Reporter("splitstep", args.json)
    rows = []
    t_start = time.perf_counter()
    for shape in shapes:
        n_steps = steps_for(math.prod(shape), work)
        for dt_name in args.dtypes:
            rows += bench_case(
                rep,
                shape,
                dt_name,
                n_steps,
                args.repeats,
                not args.no_numpy,
                not args.no_grad,
                not args.no_call,
            )

    # Summary: throughput and jqd / numpy ratio per case.
    table = []
    by_key = {}
    for r in rows:
        by_key[(r["size"], r["dtype"], r["impl"])] = r
    for r in rows:
        np_row = by_key.get((r["size"], r["dtype"], "numpy"))
        ratio = (
            np_row["median_s"] / r["median_s"] * r["n_steps"] / np_row["n_steps"]
            if np_row and r["impl"] != "numpy"
            else float("nan")
        )
        table.append(
            {
                "size": r["size"],
                "dtype": r["dtype"],
                "impl": r["impl"],
                "steps": r["n_steps"],
                "compile": fmt_s(r["compile_s"]),
                "median": fmt_s(r["median_s"]),
                "thr": f"{r['throughput']:.3g}",
                "ratio": "" if ratio != ratio else f"{ratio:.2f}",
                "note": (
                    f"rel diff vs jqd {r['rel_maxdiff_vs_jqd']:.1e}"
                    if "rel_maxdiff_vs_jqd" in r
                    else f"fwd+bwd / fwd = {r['fwd_ratio']:.2f}"
                    if "fwd_ratio" in r
                    else f"eager checks {fmt_s(r['check_s'])}"
                    if "check_s" in r
                    else ""
                ),
            }
        )
    print()
    print(
        f"device: {rep.header['device']}; cpu: {rep.header['machine']['cpu']} "
        f"({rep.header['machine']['cores']} cores); load at start "
        f"{rep.header['machine']['loadavg_at_start']}"
    )
    print(
        markdown_table(
            table,
            [
                ("size", "grid"),
                ("dtype", "dtype"),
                ("impl", "impl"),
                ("steps", "steps"),
                ("compile", "compile"),
                ("median", "median"),
                ("thr", "point-steps/s"),
                ("ratio", "speed-up vs numpy"),
                ("note", "note"),
            ],
        )
    )
    print(f"\ntotal wall time {time.perf_counter() - t_start:.1f} s")
    return rows


if __name__ == "__main__":
    main()
