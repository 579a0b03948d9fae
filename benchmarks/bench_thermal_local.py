"""Local quantum Hamiltonians (physics §7.6): Chebyshev propagation throughput
and exact diagonalization, jqd vs SciPy (and QuSpin when installed), in one run.

Cases
  chebyshev    the mixed-field Ising chain (open, J = 1, hx = 0.9045,
               hz = 0.8090) of L spins, D = 2^L, `jqd.evolve(SchrodingerLocal)`
               for n_steps of dt = 0.5 from a random state (jit of the whole
               run, compile time from AOT lower().compile()). Throughput in
               term-applications/s = (local terms in H) x D x (H applications),
               the H applications being the Chebyshev terms per step minus one.
               Batch scaling: the same run vmapped over B states.
               Peer, same physical evolution, alternating in this process:
               scipy.sparse.linalg.expm_multiply on `law.sparse(params)` (CSR);
               QuSpin's `expm_multiply_parallel` if `quspin` imports (a separate
               bench venv, never the project's).
  eigh         eigenvalues and eigenvectors of the dense H of the even
               reflection sector (L = 12: D = 2080): `jax.jit(jnp.linalg.eigh)`
               vs numpy.linalg.eigh (both LAPACK syevd on CPU).

XLA cost analysis (flops, bytes) of ONE application of H gives the projected
H100 time of a Chebyshev step, memory-bound: bytes / 3.35e12 B/s (HBM3), and
of eigh from its flop count ~ 9 D^3 (tridiagonalization 4/3 D^3 + eigenvectors
via divide and conquer and back-transformation) at an assumed 20 % of the
67 TFLOP/s fp64 peak.

Usage:
  python benchmarks/bench_thermal_local.py            # L = 16 Chebyshev, D = 2080 eigh
  python benchmarks/bench_thermal_local.py --quick    # L = 12, D = 528 (< 60 s)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    cost,
    fmt_s,
    markdown_table,
    select_device,
    time_call,
    time_compile,
)

H100_BW = 3.35e12  # B/s, HBM3
H100_FP64 = 67e12  # flop/s (tensor-core fp64 peak)
DT = 0.5


def _cost(compiled):
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return float(cost.get("flops", float("nan"))), float(cost.get("bytes accessed", float("nan")))


def bench_chebyshev(rep, L, n_steps, repeats, batches, peers):
    import jax
    import jax.numpy as jnp
    import scipy.sparse.linalg as spla

    import jqd
    from jqd.thermal import mixed_field_ising

    law, params = mixed_field_ising(L)
    D = law.size
    rng = np.random.default_rng(0)
    psi = rng.normal(size=D) + 1j * rng.normal(size=D)
    psi0 = jnp.asarray(psi / np.linalg.norm(psi))
    _, n_terms, _ = law.chebyshev_order(params, DT)
    apps = int(n_terms) - 1  # H applications per step
    n_local = len(law.terms)
    work = n_local * D * apps * n_steps  # term-applications per run
    common = dict(law="SchrodingerLocal/chebyshev", L=L, D=D, dtype="complex128", dt=DT)
    common.update(n_steps=n_steps, cheb_terms=int(n_terms), local_terms=n_local)

    def run(y):
        return jqd.evolve(law, y, params, dt=DT, n_save=1, steps_per_save=n_steps, check=False)

    compiled, compile_s = time_compile(jax.jit(lambda y: run(y).y_final), psi0)
    apply_c, _ = time_compile(jax.jit(lambda y: law.apply(y, params)), psi0)
    flops, nbytes = _cost(apply_c)
    step_h100 = apps * nbytes / H100_BW
    xla = cost(compiled)  # the whole jitted program (loops scaled), for the H100 projection
    rows = []
    timers = {"jqd-jit": lambda: compiled(psi0)}
    # the call as a user types it: checks on, no jax.jit around it
    timers["jqd-plain"] = lambda: (
        jqd.evolve(law, psi0, params, dt=DT, n_save=1, steps_per_save=n_steps).y_final
    )
    Hs = law.sparse(params)
    p0 = np.asarray(psi0)
    timers["scipy-expm_multiply"] = lambda: spla.expm_multiply(
        -1j * Hs, p0, start=0.0, stop=n_steps * DT, num=2, endpoint=True
    )[-1]
    if "quspin" in peers:
        from quspin.tools.evolution import expm_multiply_parallel

        U = expm_multiply_parallel(Hs.tocsr(), a=-1j * DT)

        def quspin_run():
            v = p0.copy()
            for _ in range(n_steps):
                v = U.dot(v)
            return v

        timers["quspin-expm_multiply_parallel"] = quspin_run
    # alternate the candidates: each is timed `repeats` times, round-robin
    results = {k: [] for k in timers}
    finals = {}
    for k, f in timers.items():  # warm-up
        finals[k] = np.asarray(time_call(f, 1)["result"])
    for _ in range(repeats):
        for k, f in timers.items():
            t = time.perf_counter()
            out = f()
            jax.block_until_ready(out) if k.startswith("jqd") else None
            results[k].append(time.perf_counter() - t)
    ref = finals["scipy-expm_multiply"]
    for k, times in results.items():
        med = float(np.median(times))
        rows.append(
            rep.case(
                impl=k,
                **common,
                compile_s=compile_s if k == "jqd-jit" else 0.0,
                median_s=med,
                min_s=min(times),
                throughput=work / med,
                unit="term-applications/s (jqd's count)",
                max_diff_vs_scipy=float(np.max(np.abs(finals[k] - ref))),
                flops_per_H=flops,
                bytes_per_H=nbytes,
                projected_h100_step_s=step_h100,
                **(xla if k.startswith("jqd") else {}),
            )
        )
    for B in batches:
        ys = jnp.stack([psi0 * jnp.exp(1j * b) for b in range(B)])
        cb, cs = time_compile(jax.jit(jax.vmap(lambda y: run(y).y_final)), ys)
        t = time_call(lambda cb=cb, ys=ys: cb(ys), repeats)
        rows.append(
            rep.case(
                impl=f"jqd-jit-vmap{B}",
                **common,
                batch=B,
                compile_s=cs,
                median_s=t["median_s"],
                min_s=t["min_s"],
                throughput=B * work / t["median_s"],
                unit="term-applications/s (jqd's count)",
                **cost(cb),
            )
        )
    return rows


def bench_eigh(rep, L, repeats):
    import jax
    import jax.numpy as jnp

    from jqd.thermal import mixed_field_ising, reflection_sector

    law, params = mixed_field_ising(L)
    P = reflection_sector(law.dims)
    H = P.T @ np.asarray(law.dense(params)) @ P
    D = H.shape[0]
    Hj = jnp.asarray(H)
    compiled, compile_s = time_compile(jax.jit(jnp.linalg.eigh), Hj)
    timers = {"jqd-jit (jnp.linalg.eigh)": lambda: compiled(Hj), "numpy.linalg.eigh": None}
    timers["numpy.linalg.eigh"] = lambda: np.linalg.eigh(H)
    times = {k: [] for k in timers}
    outs = {k: f() for k, f in timers.items()}
    for _ in range(repeats):
        for k, f in timers.items():
            t = time.perf_counter()
            jax.block_until_ready(f())
            times[k].append(time.perf_counter() - t)
    E_np = outs["numpy.linalg.eigh"][0]
    rows = []
    for k, ts in times.items():
        E = np.asarray(outs[k][0])
        rows.append(
            rep.case(
                impl=k,
                law="eigh/MFI even sector",
                L=L,
                D=D,
                dtype="float64",
                compile_s=compile_s if k.startswith("jqd") else 0.0,
                median_s=float(np.median(ts)),
                min_s=min(ts),
                throughput=1 / float(np.median(ts)),
                unit="diagonalizations/s",
                max_diff_E_vs_numpy=float(np.max(np.abs(E - E_np))),
                projected_h100_s_D32896=9 * 32896.0**3 / (0.2 * H100_FP64),
                # (XLA counts no flops in eigh's LAPACK/cuSOLVER custom call)
                **(cost(compiled) if k.startswith("jqd") else {}),
            )
        )
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None, help="write the results table here")
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    peers = []
    try:
        import quspin  # noqa: F401

        peers.append("quspin")
    except ImportError:
        pass
    rep = Reporter("thermal_local", args.json, argv)
    L_cheb, n_steps, L_eig = (12, 4, 10) if args.quick else (16, 4, 12)
    rows = bench_chebyshev(rep, L_cheb, n_steps, args.repeats, (1, 4), peers)
    rows += bench_eigh(rep, L_eig, args.repeats)
    for r in rows:
        r["median"] = fmt_s(r["median_s"])
        r["compile"] = fmt_s(r.get("compile_s", float("nan")))
        r["rate"] = f"{r['throughput']:.3g}"
    table = markdown_table(
        rows,
        [
            ("impl", "impl"),
            ("law", "case"),
            ("D", "D"),
            ("batch", "B"),
            ("median", "median"),
            ("compile", "compile"),
            ("rate", "throughput"),
            ("unit", "unit"),
        ],
    )
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
