"""Harmonic lattices as Gaussian states (physics §7.4): exact mode rotation
throughput (`ModeCovariance`) and the cost of one save with a dense
covariance (`DenseCovariance`), jqd vs a NumPy baseline of the same algorithm
(no peer package implements Gaussian-state lattice evolution; QuSpin and
jax-md do not), candidates alternating in one process. float64.

Cases
  modes   `jqd.evolve(HarmonicLattice(Lattice((N,), "periodic")), ...)`, one
          jitted run of n_steps exact rotations (means q, p and the three
          mode-diagonal covariance arrays: 5 N numbers per step), from a
          thermal-displaced state. Throughput in mode-steps/s = N x B x n_steps
          / time; batch scaling B = 1 and B = 8 (jax.vmap over states).
          Baseline: the same five fused multiply-adds in NumPy (in place).
  dense   N = 256 chain with a dense (2N, 2N) covariance; one save = one
          exact step (S Σ Sᵀ, O(N²)) + the atom variances Var u_j saved
          (U Σ_QQ Uᵀ diagonal by FFT-based transforms), timed over 20 saves;
          the raw step alone is reported too. Baseline: NumPy step.

XLA cost analysis (flops, bytes accessed) of ONE step gives the projected H100
time, memory-bound at 3.35e12 B/s (HBM3): for 1e8 modes (mode-steps/s) and for
the dense step at N = 2e4 (bytes scaled by (2e4/256)²; the issue's 9.6 GB).

Usage: python benchmarks/bench_thermal_modes.py [--quick] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    Reporter,
    add_device_arg,
    alternate,
    cost,
    fmt_s,
    markdown_table,
    select_device,
    time_compile,
)

H100_BW = 3.35e12  # B/s, HBM3


def _cost(compiled):
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return float(cost.get("flops", float("nan"))), float(cost.get("bytes accessed", float("nan")))


def _coefficients(law, params, dt):
    """The exact rotation S_k = [[a, b], [c, d]] in NumPy (all modes bound here)."""
    w, m = np.asarray(law.frequencies(params)), float(params.mass)
    return np.cos(w * dt), np.sin(w * dt) / (m * w), -m * w * np.sin(w * dt), np.cos(w * dt)


def _setup(N, kind):
    from jqd.thermal import HarmonicLattice, Lattice, LatticeParams, displace, thermal_state

    law = HarmonicLattice(Lattice((N,), "periodic" if kind == "mode" else "fixed"), kind)
    params = LatticeParams(1.0, 1.0, 0.1, 1.0)
    y0 = displace(law, thermal_state(law, params, 0.5), 0.1 * np.sin(np.arange(N)), 0.0)
    return law, params, y0


def bench_modes(rep, N, B, n_steps, repeats, rows):
    import jax
    import jax.numpy as jnp

    import jqd

    law, params, y0 = _setup(N, "mode")
    dt = 0.1

    def run(y):
        return jqd.evolve(
            law, y, params, dt=dt, n_save=1, steps_per_save=n_steps, check=False, checkpoint=False
        ).y_final

    f = jax.jit(run if B == 1 else jax.vmap(run))
    y = y0 if B == 1 else jax.tree_util.tree_map(lambda x: jnp.stack([x] * B), y0)
    compiled, compile_s = time_compile(f, y)
    prepared = law.prepare(params, jnp.asarray(dt))
    step_c, _ = time_compile(jax.jit(lambda y: prepared.step(0.0, y, params, dt)), y0)
    flops, nbytes = _cost(step_c)
    xla = cost(compiled)  # the whole jitted program (loops scaled), for the H100 projection
    a, b, c, d = _coefficients(law, params, dt)
    st = [np.array(x) for x in (y0.q, y0.p, y0.cov.qq, y0.cov.qp, y0.cov.pp)]
    st = [np.repeat(x[None], B, 0) for x in st]

    def numpy_run():
        q, p, qq, qp, pp = (x.copy() for x in st)
        for _ in range(n_steps):
            q, p = a * q + b * p, c * q + d * p
            qq, qp, pp = (
                a * a * qq + 2 * a * b * qp + b * b * pp,
                a * c * qq + (a * d + b * c) * qp + b * d * pp,
                c * c * qq + 2 * c * d * qp + d * d * pp,
            )
        return q

    timers = {"jqd-jit": lambda: compiled(y), "numpy": numpy_run}
    if B == 1:  # the call as a user types it: checks on, no jax.jit around it
        timers["jqd-plain"] = lambda: (
            jqd.evolve(law, y0, params, dt=dt, n_save=1, steps_per_save=n_steps).y_final.q
        )
    res = alternate(timers, max(repeats, 5))  # candidates alternating, 5 timed calls each
    work = N * B * n_steps
    for impl, (med, cpu) in res.items():
        rec = rep.case(
            case="modes",
            law="HarmonicLattice/mode",
            impl=impl,
            size=N,
            batch=B,
            dtype="float64",
            n_steps=n_steps,
            compile_s=compile_s if impl == "jqd-jit" else 0.0,
            median_s=med,
            throughput=work / med,
            unit="mode-steps/s",
            cpu_s_per_call=cpu,
            throughput_per_cpu_s=work / cpu,
            step_flops=flops,
            step_bytes=nbytes,
            bytes_per_mode_step=nbytes / N,
            projected_h100_mode_steps_per_s=H100_BW / (nbytes / N),
            **({} if impl == "numpy" else xla),
        )
        rows.append(
            dict(
                case="modes",
                impl=impl,
                N=N,
                B=B,
                thr=f"{rec['throughput']:.3g} ({work / cpu:.3g}/CPU-s)",
                compile=fmt_s(rec["compile_s"]),
                bytes=f"{nbytes / N:.0f} B/mode",
                h100=f"{rec['projected_h100_mode_steps_per_s']:.3g}",
            )
        )


def bench_dense(rep, N, n_save, repeats, rows):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.thermal import atom_variance

    law, params, y0 = _setup(N, "dense")
    dt = 0.1

    def run(y):
        return jqd.evolve(
            law,
            y,
            params,
            dt=dt,
            n_save=n_save,
            check=False,
            checkpoint=False,
            observe=lambda t, y, p: atom_variance(law, y),
        ).observables

    compiled, compile_s = time_compile(jax.jit(run), y0)
    prepared = law.prepare(params, jnp.asarray(dt))
    step_c, _ = time_compile(jax.jit(lambda y: prepared.step(0.0, y, params, dt)), y0)
    flops, nbytes = _cost(step_c)
    xla = {"jqd-jit save": cost(compiled), "jqd-jit step": cost(step_c)}
    a, b, c, d = _coefficients(law, params, dt)
    M0 = np.array(y0.cov.matrix)

    def numpy_step():
        M = M0
        top, bot = M[:N], M[N:]
        M = np.concatenate(
            [a[:, None] * top + b[:, None] * bot, c[:, None] * top + d[:, None] * bot]
        )
        left, right = M[:, :N], M[:, N:]
        return np.concatenate([left * a + right * b, left * c + right * d], axis=1)

    timers = {
        "jqd-jit save": lambda: compiled(y0),
        "jqd-jit step": lambda: step_c(y0),
        "numpy step": numpy_step,
    }
    res = alternate(timers, max(repeats, 5))  # candidates alternating, 5 timed calls each
    scale = (2e4 / N) ** 2
    for impl, (med, _) in res.items():
        per = med / (n_save if impl == "jqd-jit save" else 1)
        rec = rep.case(
            case="dense",
            law="HarmonicLattice/dense",
            impl=impl,
            size=N,
            dtype="float64",
            compile_s=compile_s if impl == "jqd-jit save" else 0.0,
            median_s=per,
            unit="s per save" if "save" in impl else "s per step",
            step_flops=flops,
            step_bytes=nbytes,
            projected_h100_step_s_N2e4=nbytes * scale / H100_BW,
            state_bytes_N2e4=(4e4) ** 2 * 8,
            **xla.get(impl, {}),
        )
        rows.append(
            dict(
                case="dense",
                impl=impl,
                N=N,
                B=1,
                thr=fmt_s(per) + (" / save" if "save" in impl else " / step"),
                compile=fmt_s(rec["compile_s"]),
                bytes=f"{nbytes / 1e6:.1f} MB/step",
                h100=f"{rec['projected_h100_step_s_N2e4']:.3g} s/step at N=2e4",
            )
        )


def observables(rep, sizes, repeats):
    """Seconds per call (best of `repeats`) of every thermal observable of a
    chain (mode-diagonal Gaussian state or FPUT phase state) over N, jitted,
    compile excluded; the fitted exponent of time vs N (issue 29: each
    O(N log N) or better). Fixed chains have N − 1 atoms, periodic ones N,
    so that every FFT length is a power of two."""
    import time

    import jax
    import jax.numpy as jnp

    import jqd.thermal as T

    params = T.LatticeParams(1.3, 0.7, 0.2, 0.9)
    fput = T.FPUTParams(1.0, 1.0, 0.0, 1.0, 0.0)
    per, rows = {}, []
    for N in sizes:
        # fixed: N − 1 atoms (DST length 2N), periodic: N (FFT length N): powers of two
        harm = {
            b: T.HarmonicLattice(T.Lattice((N - (b == "fixed"),), b)) for b in ("fixed", "periodic")
        }
        st = {b: T.thermal_state(law, params, 0.8) for b, law in harm.items()}
        rng = np.random.default_rng(0)
        ys = T.PhaseState(jnp.asarray(rng.normal(size=N)), jnp.asarray(rng.normal(size=N)))
        cases = {}
        for b, law in harm.items():
            y = st[b]
            cases |= {
                f"atom_variance ({b})": (lambda y, law=law: T.atom_variance(law, y), y),
                f"bond_variance ({b})": (lambda y, law=law: T.bond_variance(law, y), y),
                f"local_energy ({b})": (lambda y, law=law: T.local_energy(law, params, y), y),
                f"cm_variance ({b})": (lambda y, law=law: T.cm_variance(law, params, y), y),
                f"to_atoms ({b})": (lambda y, law=law: law.lattice.to_atoms(y.q), y),
            }
        law = harm["periodic"]
        cases |= {
            "mode_energies": (lambda y: T.mode_energies(law, params, y), st["periodic"]),
            "energy_variance": (lambda y: T.energy_variance(law, params, y), st["periodic"]),
            "wigner_sample (1 draw)": (
                lambda y: T.wigner_sample(jax.random.key(0), law, y, 1),
                st["periodic"],
            ),
            "product_state": (lambda y: T.product_state(law, params, y.q, 0.1).q, ys),
        }
        for b in ("fixed", "periodic"):
            chain = T.ClassicalLattice(N - (b == "fixed"), b)
            y = ys if b == "periodic" else T.PhaseState(ys.q[1:], ys.p[1:])
            cases[f"fput_mode_energies ({b})"] = (
                lambda y, chain=chain: T.fput_mode_energies(chain, fput, y),
                y,
            )
        E = jnp.asarray(rng.exponential(size=N))
        cases["effective_mode_fraction"] = (T.effective_mode_fraction, E)
        for name, (f, x) in cases.items():
            g = jax.jit(f)
            jax.block_until_ready(g(x))
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(g(x))
                best = min(best, time.perf_counter() - t0)
            per.setdefault(name, []).append((N, best))
            rep.case(case="observable", impl=name, size=N, best_s=best)
    for name, pts in per.items():
        n, t = np.log([x[0] for x in pts]), np.log([x[1] for x in pts])
        slope = np.polyfit(n, t, 1)[0] if len(pts) > 1 else float("nan")
        rows.append(dict(name=name, **{str(N): fmt_s(t) for N, t in pts}, slope=f"{slope:.2f}"))
    cols = [("name", "observable")] + [(str(N), f"N = {N}") for N in sizes]
    print(markdown_table(rows, cols + [("slope", "exponent")]))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--observables", action="store_true", help="time every thermal observable over N"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    rep = Reporter("thermal_modes", args.json, argv)
    if args.observables:
        sizes = (2**10, 2**14) if args.quick else (2**10, 2**14, 2**17, 2**20)
        observables(rep, sizes, 3)
        return
    rows = []
    sizes = (
        [(2**14, 1, 200), (2**14, 8, 50)]
        if args.quick
        else [
            (2**12, 1, 500),
            (2**16, 1, 100),
            (2**20, 1, 10),
            (2**12, 8, 100),
            (2**16, 8, 20),
        ]
    )
    for N, B, n_steps in sizes:
        bench_modes(rep, N, B, n_steps, args.repeats, rows)
    bench_dense(rep, 256, 20, args.repeats, rows)
    cols = [
        ("case", "case"),
        ("impl", "impl"),
        ("N", "N"),
        ("B", "batch"),
        ("thr", "throughput"),
        ("compile", "compile"),
        ("bytes", "XLA bytes"),
        ("h100", "projected H100"),
    ]
    print(markdown_table(rows, cols))


if __name__ == "__main__":
    main()
