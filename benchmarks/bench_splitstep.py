"""Split-step Fourier throughput: jqd vs the same algorithm in SciPy,
candidates alternating in one process.

Problem: a displaced Gaussian (width 1, x0 = 0.5 on every axis) in the harmonic
potential V = ω²|x|²/2 (ω = 1, ħ = m = 1) on a periodic box, dt = 2e-3.
Throughput = grid points x steps / second. Methods: Strang (order 2) and
Yoshida's triple jump (order 4, `--methods strang yoshida4`).

Timed candidates (per size, dtype and method), alternating over >= 7 rounds
(`_common.alternate`: each round times 3 calls of each after a warm-up):
  jqd-call     the plain public call as a user types it: `jqd.evolve(law,
               psi0, params, dt=DT, n_save=1, steps_per_save=n,
               checkpoint=False)` (eager input checks on, default monitor).
  jqd-jit      `jax.jit` of the same call with check=False and a cheap
               observer; XLA cost analysis and projected H100 time of it.
  scipy-w1     scipy.fft.fftn/ifftn (workers=1, overwrite_x), the same
  scipy-wall   algorithm with the same precomputed phases and jqd's merged
               half kicks (workers=-1: every core): a half kick, then per
               Strang sub-step FFT, kinetic phase, IFFT, merged kick (kicks of
               adjacent sub-steps and of consecutive steps combined, so SciPy
               does no more passes than jqd), the last one a half kick.
  jqd-grad     (`--grad`) `jax.jit(jax.value_and_grad)` of ⟨x_0²⟩(T) w.r.t.
               ω through the checkpointed `jqd.evolve`, timed apart.
The ratio of a case is (faster SciPy) / (jqd). Final states are compared
(relative max difference recorded).

Threads: XLA's CPU FFT runs DUCC on one thread (its FFT thunk passes no
thread pool); `scipy-w1` is the equal-thread baseline, `scipy-wall` SciPy with
every core. `--cores 1` pins the whole process to one core first.

`--fft-study` times one forward transform and one kinetic drift
(FFT, phase, IFFT) per size and dtype: XLA `fftn`, XLA by axes (`fft` along
each axis in turn) and with the layout rotated (FFT of the last axis, then a
transpose, d times), SciPy with 1 and all workers, NumPy, and, if the
optional `ducc0` package is importable, ducc0 `c2c` and its fused per-axis
convolution `convolve_axis` (the kinetic phase is separable).

Usage:
  python benchmarks/bench_splitstep.py                 # full: 1D 2^16, 2D 512², 3D 128³
  python benchmarks/bench_splitstep.py --quick         # small sizes
  python benchmarks/bench_splitstep.py --sizes 512x512 --dtypes complex128 --methods yoshida4
  python benchmarks/bench_splitstep.py --fft-study --cores 1
  python benchmarks/bench_splitstep.py --device gpu    # GPU if present (else says so, CPU)
"""

from __future__ import annotations

import argparse
import math
import os
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


YOSHIDA = (1.0 / (2 - 2 ** (1 / 3)), -(2 ** (1 / 3)) / (2 - 2 ** (1 / 3)), 1.0 / (2 - 2 ** (1 / 3)))
WEIGHTS = {"strang": (1.0,), "yoshida4": YOSHIDA}


def scipy_factors(shape, cdtype, method):
    """Kinetic phases per sub-step and the merged kicks (module docstring)."""
    L = box_length(shape)
    rdtype = np.finfo(cdtype).dtype
    axes = [(-L / 2 + (L / n) * np.arange(n)).astype(rdtype) for n in shape]
    ks = [(2 * np.pi * np.fft.fftfreq(n, L / n)).astype(rdtype) for n in shape]
    x = np.meshgrid(*axes, indexing="ij")
    k = np.meshgrid(*ks, indexing="ij")
    V = (0.5 * OMEGA**2 * sum(xi**2 for xi in x)).astype(rdtype)
    k2 = sum(ki**2 for ki in k).astype(rdtype)
    w = WEIGHTS[method]
    kin = [np.exp(-0.5j * wi * DT * k2).astype(cdtype) for wi in w]
    kick = lambda h: np.exp(-1j * h * DT * V).astype(cdtype)  # noqa: E731
    first = kick(w[0] / 2)
    inner = [kick((a + b) / 2) for a, b in zip(w[:-1], w[1:], strict=True)]
    between = kick((w[-1] + w[0]) / 2)  # last half kick of a step + first of the next
    last = kick(w[-1] / 2)
    return kin, first, inner, between, last


def scipy_splitstep(psi0, factors, n_steps, workers):
    kin, first, inner, between, last = factors
    axes = tuple(range(psi0.ndim))
    psi = psi0 * first
    for i in range(n_steps):
        for j, kj in enumerate(kin):
            psi = sfft.fftn(psi, axes=axes, workers=workers, overwrite_x=True)
            psi *= kj
            psi = sfft.ifftn(psi, axes=axes, workers=workers, overwrite_x=True)
            psi *= inner[j] if j < len(inner) else (between if i < n_steps - 1 else last)
    return psi


def bench_case(rep, shape, dtype_name, method, n_steps, rounds, opts):
    import jax
    import jax.numpy as jnp
    from _common import alternate, cost

    import jqd

    cdtype = jnp.dtype(dtype_name)
    rdtype = jnp.finfo(cdtype).dtype
    size = math.prod(shape)
    grid = jqd.Grid(shape, box_length(shape))
    law = jqd.SchrodingerGrid(grid, potential, scheme=method)
    params = jqd.SchrodingerParams(
        hbar=1.0, mass=1.0, potential={"omega": jnp.asarray(OMEGA, rdtype)}
    )
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=0.5, dtype=cdtype)
    probe = _probe
    common = dict(law=f"SchrodingerGrid/{method}", size="x".join(map(str, shape)),
                  points=size, dtype=dtype_name, n_steps=n_steps, dt=DT)  # fmt: skip

    def fwd(psi, prm):
        sol = jqd.evolve(law, psi, prm, dt=DT, n_save=1, steps_per_save=n_steps,
                         observe=probe, checkpoint=False, check=False)  # fmt: skip
        return sol.y_final

    def plain():
        sol = jqd.evolve(law, psi0, params, dt=DT, n_save=1, steps_per_save=n_steps,
                         checkpoint=False)  # fmt: skip
        return sol.y_final

    compiled, compile_s = time_compile(jax.jit(fwd), psi0, params)
    timers = {"jqd-call": plain, "jqd-jit": lambda: compiled(psi0, params)}
    factors = scipy_factors(shape, np.dtype(dtype_name), method)
    p0 = np.asarray(psi0)
    timers["scipy-w1"] = lambda: scipy_splitstep(p0, factors, n_steps, 1)
    timers["scipy-wall"] = lambda: scipy_splitstep(p0, factors, n_steps, -1)
    first = {k: f() for k, f in timers.items()}
    l0 = os.getloadavg()
    res = alternate(timers, rounds, calls=opts["calls"])
    l1 = os.getloadavg()
    ca = cost(compiled)
    y_jqd = np.asarray(first["jqd-jit"])
    tchk = time_call(lambda: law.check(psi0, params, DT), 5)["median_s"]
    best_scipy = min(res["scipy-w1"][0], res["scipy-wall"][0])
    rows = []
    for impl, (wall, cpu) in res.items():
        extra = {}
        if impl.startswith("scipy"):
            y = first[impl]
            extra["rel_maxdiff_vs_jqd"] = float(np.max(np.abs(y - y_jqd)) / np.max(np.abs(y)))
        if impl == "jqd-jit":
            extra.update(ca, compile_s=compile_s)
        if impl == "jqd-call":
            extra["check_s"] = tchk
        rows.append(rep.case(impl=impl, **common, median_s=wall, cpu_s_per_call=cpu,
                             throughput=size * n_steps / wall, unit="point-steps/s",
                             speedup_vs_best_scipy=best_scipy / wall,
                             rounds=rounds, loadavg_before=[round(v, 2) for v in l0],
                             loadavg_after=[round(v, 2) for v in l1], cores=opts["cores"],
                             **extra))  # fmt: skip
    if opts["grad"]:
        rows.append(bench_grad(rep, law, grid, psi0, rdtype, n_steps, common, res, opts))
    return rows


def _probe(t, y, p):  # a cheap observable: the scan saves little
    return y.reshape(-1)[0]


def bench_grad(rep, law, grid, psi0, rdtype, n_steps, common, res, opts):
    import jax
    import jax.numpy as jnp

    import jqd

    spb = max(1, n_steps // 8)
    n_save = max(1, n_steps // spb)
    steps = spb * n_save
    x0 = grid.mesh(rdtype)[0]

    def loss(omega, psi):
        prm = jqd.SchrodingerParams(hbar=1.0, mass=1.0, potential={"omega": omega})
        sol = jqd.evolve(law, psi, prm, dt=DT, n_save=n_save, steps_per_save=spb,
                         observe=_probe, checkpoint=True, check=False)  # fmt: skip
        return grid.integrate(jnp.abs(sol.y_final) ** 2 * x0**2)

    omega = jnp.asarray(OMEGA, rdtype)
    gcomp, gcompile = time_compile(jax.jit(jax.value_and_grad(loss)), omega, psi0)
    tg = time_call(lambda: gcomp(omega, psi0), 5)
    fwd_s = res["jqd-jit"][0] * steps / n_steps
    return rep.case(impl="jqd-grad", **{**common, "n_steps": steps}, compile_s=gcompile,
                    median_s=tg["median_s"], throughput=math.prod(grid.shape) * steps
                    / tg["median_s"], unit="point-steps/s", fwd_ratio=tg["median_s"] / fwd_s,
                    cores=opts["cores"])  # fmt: skip


def fft_study(rep, shape, dtype_name, rounds, opts):
    """One forward FFT and one kinetic drift by each available engine."""
    import jax
    import jax.numpy as jnp
    from _common import alternate

    d = len(shape)
    cd = np.dtype(dtype_name)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(cd)
    k1 = [np.exp(-0.5j * DT * (2 * np.pi * np.fft.fftfreq(n, 0.1)) ** 2).astype(cd) for n in shape]
    K = k1[0]
    for f in k1[1:]:
        K = np.multiply.outer(K, f)
    K = K.astype(cd)
    xj, Kj, kj = jnp.asarray(x), jnp.asarray(K), [jnp.asarray(f) for f in k1]
    axes = tuple(range(d))

    def by_axes(a):
        for ax in axes:
            sh = [1] * d
            sh[ax] = -1
            a = jnp.fft.ifft(jnp.fft.fft(a, axis=ax) * kj[ax].reshape(sh), axis=ax)
        return a

    def rotated(a):
        for j in range(d):
            a = jnp.fft.ifft(jnp.fft.fft(a, axis=-1) * kj[d - 1 - j], axis=-1)
            a = jnp.moveaxis(a, -1, 0)
        return a

    fft_x = jax.jit(jnp.fft.fftn)
    drift_x = jax.jit(lambda a: jnp.fft.ifftn(jnp.fft.fftn(a) * Kj))
    by_axes_x, rotated_x = jax.jit(by_axes), jax.jit(rotated)

    def sp_drift(w):
        y = sfft.fftn(x, workers=w)
        y *= K
        return sfft.ifftn(y, workers=w, overwrite_x=True)

    timers = {
        "fft xla": lambda: fft_x(xj),
        "fft scipy-w1": lambda: sfft.fftn(x, workers=1),
        "fft scipy-wall": lambda: sfft.fftn(x, workers=-1),
        "fft numpy": lambda: np.fft.fftn(x),
        "drift xla fftn": lambda: drift_x(xj),
        "drift xla by axes": lambda: by_axes_x(xj),
        "drift xla rotated": lambda: rotated_x(xj),
        "drift scipy-w1": lambda: sp_drift(1),
        "drift scipy-wall": lambda: sp_drift(-1),
    }
    try:
        import ducc0
    except ImportError:
        ducc0 = None
    if ducc0 is not None:
        kern = [np.fft.ifft(f).astype(cd) for f in k1]

        def conv(nt):
            out, src = np.empty_like(x), x
            for ax in axes:
                ducc0.fft.convolve_axis(src, out, ax, kern[ax], nthreads=nt)
                src = out
            return out

        timers["fft ducc0-1"] = lambda: ducc0.fft.c2c(x, axes=axes, nthreads=1)
        timers["drift ducc0 convolve_axis-1"] = lambda: conv(1)
        timers["drift ducc0 convolve_axis-2"] = lambda: conv(2)
    ref = np.asarray(drift_x(xj))
    tol = 1e-9 if cd == np.complex128 else 1e-2
    for k, f in timers.items():
        if k.startswith("drift"):
            assert np.max(np.abs(np.asarray(f()) - ref)) < tol * np.max(np.abs(ref)), k
    for f in timers.values():
        f()
    l0 = os.getloadavg()
    res = alternate(timers, rounds, calls=opts["calls"])
    for impl, (wall, cpu) in res.items():
        rep.case(law="fft-study", impl=impl, size="x".join(map(str, shape)), dtype=dtype_name,
                 median_s=wall, cpu_s_per_call=cpu, rounds=rounds, cores=opts["cores"],
                 loadavg_before=[round(v, 2) for v in l0])  # fmt: skip


def main(argv=None):
    from _common import add_device_arg, select_device

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--sizes", nargs="+", help="grid shapes, e.g. 65536 512x512 128x128x128")
    ap.add_argument("--dtypes", nargs="+", default=["complex128", "complex64"],
                    choices=["complex64", "complex128"])  # fmt: skip
    ap.add_argument("--methods", nargs="+", default=["strang"], choices=sorted(WEIGHTS))
    ap.add_argument("--rounds", type=int, default=7, help="alternation rounds (>= 7)")
    ap.add_argument("--calls", type=int, default=3, help="timed calls per candidate per round")
    ap.add_argument("--work", type=float, default=None,
                    help="grid points x steps per call (default 2.5e7, quick 2e6)")  # fmt: skip
    ap.add_argument("--grad", action="store_true", help="also time jax.grad through evolve")
    ap.add_argument("--fft-study", action="store_true", help="per-FFT and per-drift timings only")
    ap.add_argument("--cores", type=int, default=None, help="pin the process to this many cores")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    if args.cores:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)  # needed for complex128; complex64 stays 64
    cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    opts = {"calls": args.calls, "grad": args.grad, "cores": f"cpus {cpus} (of {os.cpu_count()})"}
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    shapes = [parse_shape(s) for s in sizes]
    work = args.work or (2e6 if args.quick else 2.5e7)
    rounds = max(7, args.rounds)
    rep = Reporter("splitstep", args.json)
    t_start = time.perf_counter()
    for shape in shapes:
        for dt_name in args.dtypes:
            if args.fft_study:
                fft_study(rep, shape, dt_name, rounds, opts)
                continue
            for method in args.methods:
                n_steps = steps_for(math.prod(shape) * len(WEIGHTS[method]), work)
                bench_case(rep, shape, dt_name, method, n_steps, rounds, opts)
    table = []
    for r in rep.records:
        table.append({
            "case": f"{r['size']} {r['dtype']} {r['law'].split('/')[-1]}",
            "impl": r["impl"],
            "wall": fmt_s(r["median_s"]),
            "cpu": fmt_s(r.get("cpu_s_per_call", float("nan"))),
            "thr": f"{r['throughput']:.3g}" if "throughput" in r else "",
            "ratio": f"{r['speedup_vs_best_scipy']:.2f}" if "speedup_vs_best_scipy" in r else "",
            "h100": fmt_s(r["h100_projected_s"]) if "h100_projected_s" in r else "",
            "load": r.get("loadavg_before", [""])[0],
        })  # fmt: skip
    print(f"\n{opts['cores']}; device {rep.header['device']}")
    print(markdown_table(table, [("case", "case"), ("impl", "impl"), ("wall", "wall/call"),
                                 ("cpu", "CPU/call"), ("thr", "point-steps/s"),
                                 ("ratio", "best SciPy / x"), ("h100", "H100 proj."),
                                 ("load", "load")]))  # fmt: skip
    print(f"\ntotal wall time {time.perf_counter() - t_start:.1f} s")
    return rep.records


if __name__ == "__main__":
    main()
