"""How close three GPU workloads come to the device's limit, and what moves them
(issue 56 item 3): the Nelson ensemble (particle-steps per second), the
member-level copy process (against its bandwidth projection) and the 2-D split
step at 4096² (against the minimal traffic of a step).

    python benchmarks/bench_gpu_limits.py [--case nelson|copy|split ...] [--json out.jsonl]

Each case times the plain `jqd.evolve` call as a user types it beside bare
formulations of the same step, so that what separates the plain call from the
limit is measured, not guessed:

- nelson: plain evolve at several N (the per-step intercept and per-particle
  slope); a bare `lax.scan` of the law's step (evolve's bookkeeping removed);
  the particle update alone with ψ's interpolation tables for every step
  computed first (the grid work moved out of the particle loop), rolled and
  unrolled; the random draws alone.
- copy: plain evolve; the class sums alone as the law takes them
  (`jqd.copy.counts_from_members`: masked reductions off the CPU), as scatter-adds (`segment_sum`: the CPU's, and every device's
  before 2026-11-28, when the plain call measured 0.425 s at 10⁶ members on an
  H200 against 0.0154 s now) and as a one-hot matmul.
- split: plain evolve; bare scans with the phases precomputed as full-size
  arrays (as `_StaticSplitStep`), computed in the kernel from 1-D axes, and
  the 2-D FFT as two 1-D passes; the FFT pair alone (cuFFT's floor).

Times: median of `--calls` calls after a first (compile) call, blocked. One
JSON line per measurement on stdout (prefix "JSON ") and in `--json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
HLO_DIR = os.environ.get("HLO_DIR")  # where to write the Nelson programs' optimized HLO


def _timed(fn, calls):
    import jax

    t = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    times.sort()
    return first, times[len(times) // 2]


OFF = {"check=False": dict(check=False), "monitor=False": dict(monitor=False),
       "both off": dict(check=False, monitor=False)}  # fmt: skip
PROFILE_DIR = os.environ.get("PROFILE_DIR")  # a perfetto trace of one plain call per case


def _profile(name, fn):
    import jax

    if not PROFILE_DIR:
        return
    jax.block_until_ready(fn())  # compiled already
    with jax.profiler.trace(os.path.join(PROFILE_DIR, name), create_perfetto_trace=True):
        jax.block_until_ready(fn())


def _emit(rec, out):
    line = json.dumps(rec, default=float)
    print("JSON " + line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


# -- Nelson ---------------------------------------------------------------------------
def nelson(sizes, steps, calls, out):
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.dqm import EnsembleState, NelsonEnsemble

    grid = jqd.Grid(512, 24.0)
    sch = jqd.SchrodingerGrid(grid, lambda x, t, a: 0.5 * x[0] ** 2)
    law = NelsonEnsemble(sch)
    psi0 = jqd.reference.harmonic_gaussian(grid, 0.0, x0=1.0, p0=0.5, squeeze=1.5)
    params = jqd.SchrodingerParams()
    dt = 1e-3
    n, L = grid.shape[0], grid.lengths[0]
    (k,) = grid.wavenumbers(jnp.float64)
    prepared = law.prepare(params, dt)

    def tables(psi):
        """(4 Horner coefficients, n, 4 channels) of the Catmull-Rom interpolant of
        (Re ψ, Im ψ, Re ∂ψ, Im ∂ψ), as the law's cubic guidance, and ε."""
        g = jnp.fft.ifft(1j * k * jnp.fft.fft(psi))
        f = jnp.stack([psi.real, psi.imag, g.real, g.imag], axis=-1)
        f1, fm, f2 = jnp.roll(f, -1, 0), jnp.roll(f, 1, 0), jnp.roll(f, -2, 0)
        c = jnp.stack(
            [f, 0.5 * (f1 - fm), fm - 2.5 * f + 2.0 * f1 - 0.5 * f2,
             0.5 * (f2 - fm) + 1.5 * (f - f1)]
        )  # fmt: skip
        return c, 1e-12 * jnp.max(jnp.abs(psi) ** 2)

    def drift(c, eps, x):
        s = (x + L / 2) * (n / L)
        i0 = jnp.floor(s)
        t = s - i0
        i = jnp.mod(i0.astype(jnp.int32), n)
        v = c[3][i]
        for m in (2, 1, 0):
            v = c[m][i] + t[:, None] * v
        pr, pi, gr, gi = v[:, 0], v[:, 1], v[:, 2], v[:, 3]
        return (pr * gi - pi * gr + pr * gr + pi * gi) / (pr * pr + pi * pi + eps)

    @jax.jit
    def psi_tables(psi):
        def body(p, _):
            p1 = prepared.schrodinger.step(0.0, p, params, dt, None)
            return p1, tables(p1)

        return jax.lax.scan(body, psi, None, length=steps)[1]

    def particles(unroll):
        @jax.jit
        def run(x, c, eps, key):
            c0 = jax.tree_util.tree_map(lambda a: a[None], tables(psi0))
            cs = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), c0, (c, eps))
            keys = jax.random.split(key, steps)
            sig = jnp.sqrt(dt)  # 2D = ħ/m = 1

            def body(x, xs):
                (ca, ea), (cb, eb), kk = xs
                w = sig * jax.random.normal(kk, x.shape, x.dtype)
                b0 = drift(ca, ea, x)
                pred = jnp.mod(x + b0 * dt + w + L / 2, L) - L / 2
                b1 = drift(cb, eb, pred)
                return jnp.mod(x + 0.5 * (b0 + b1) * dt + w + L / 2, L) - L / 2, None

            head = jax.tree_util.tree_map(lambda a: a[:-1], cs)
            tail = jax.tree_util.tree_map(lambda a: a[1:], cs)
            return jax.lax.scan(body, x, (head, tail, keys), unroll=unroll)[0]

        return run

    @jax.jit
    def rng_only(x, key):
        keys = jax.random.split(key, steps)
        body = lambda x, kk: (x + jax.random.normal(kk, x.shape, x.dtype), None)
        return jax.lax.scan(body, x, keys)[0]

    @jax.jit
    def bare(y, key):
        keys = jax.random.split(key, steps)
        body = lambda y, kk: (prepared.step(0.0, y, params, dt, kk), None)
        return jax.lax.scan(body, y, keys)[0]

    import bench_largest

    runs = {u: particles(u) for u in (1, 10)}
    for N in sizes:
        x = (1.0 + 0.5 * jax.random.normal(jax.random.key(0), (N,))).astype(jnp.float64)
        key = jax.random.key(1)
        rec = bench_largest.child("nelson", N, calls=calls)
        variants = {"plain evolve": (rec["first_s"], rec["run_s"])}
        y0 = EnsembleState(psi0, x[:, None])
        kw = dict(dt=dt, n_save=10, steps_per_save=10, key=key)
        for name, extra in OFF.items():
            variants[f"evolve, {name}"] = _timed(
                lambda e=extra: jqd.evolve(law, y0, params, **kw, **e).y_final, calls
            )
        if N == sizes[-1]:
            _profile(f"nelson_{N}", lambda: jqd.evolve(law, y0, params, **kw).y_final)
        variants["bare scan of law.step"] = _timed(
            lambda: bare(EnsembleState(psi0, x[:, None]), key), calls
        )
        c, eps = psi_tables(psi0)
        variants["psi tables alone"] = _timed(lambda: psi_tables(psi0), calls)
        for u, run in runs.items():
            variants[f"particles, tables precomputed, unroll {u}"] = _timed(
                lambda run=run: run(x, c, eps, key), calls
            )
        variants["random normals alone"] = _timed(lambda: rng_only(x, key), calls)
        for name, (first, run) in variants.items():
            _emit(
                dict(case="nelson", variant=name, N=N, steps=steps, first_s=first, run_s=run,
                     particle_steps_per_s=N * steps / run),
                out,
            )  # fmt: skip
        if N == sizes[-1] and HLO_DIR:
            texts = {
                "particles": runs[1].lower(x, c, eps, key).compile().as_text(),
                "plain": jax.jit(lambda y: jqd.evolve(law, y, params, **kw).y_final)
                .lower(y0)
                .compile()
                .as_text(),
                "bare": bare.lower(y0, key).compile().as_text(),
            }
            for name, text in texts.items():
                with open(os.path.join(HLO_DIR, f"nelson_{name}.hlo.txt"), "w") as f:
                    f.write(text)
                _emit(dict(case="nelson", variant=f"{name} hlo", N=N,
                           fusion_lines=text.count(" fusion("),
                           custom_calls=text.count("custom-call(")), out)  # fmt: skip


# -- copy members ----------------------------------------------------------------------
def _onehot_sums(y, P):
    import jax.numpy as jnp

    dtype = y.phi.dtype
    hot = (y.a[:, None] == jnp.arange(P, dtype=y.a.dtype)[None, :]).astype(dtype)
    n = jnp.sum(hot, axis=0)
    zc = jnp.cos(y.phi) @ hot
    zs = jnp.sin(y.phi) @ hot
    return n, zc, zs


def _scatter_sums(y, P):
    """The sums as scatter-adds (on every device before issue 56; the CPU's now)."""
    import jax
    import jax.numpy as jnp

    n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=P)
    zc = jax.ops.segment_sum(jnp.cos(y.phi), y.a, num_segments=P)
    zs = jax.ops.segment_sum(jnp.sin(y.phi), y.a, num_segments=P)
    return n.astype(y.phi.dtype), zc, zs


def copy(sizes, calls, out):
    import bench_largest
    import jax
    import jax.numpy as jnp

    from jqd.copy import MemberState, counts_from_members

    for N in sizes:
        rec = bench_largest.child("copy-members", N, calls=calls)
        _emit(dict(case="copy", variant="plain evolve", N=N, steps=100, first_s=rec["first_s"],
                   run_s=rec["run_s"], h100_projected_s=rec.get("h100_projected_s"),
                   xla_bytes_accessed=rec.get("xla_bytes_accessed"),
                   loop_scale=rec.get("loop_scale")), out)  # fmt: skip
        y = MemberState(a=jnp.arange(N, dtype=jnp.int32) % 3, phi=jnp.linspace(0, 6, N))
        sums = {"the law's, counts_from_members (masked off the CPU)": counts_from_members,
                "scatter (segment_sum, the law's on the CPU)": _scatter_sums,
                "one-hot matmul": _onehot_sums}  # fmt: skip
        for name, fn in sums.items():
            f = jax.jit(lambda y, fn=fn: fn(y, 3))
            first, run = _timed(lambda f=f: f(y), calls)
            _emit(dict(case="copy", variant=f"class sums alone, {name}", N=N, first_s=first,
                       run_s=run), out)  # fmt: skip


# -- 2-D split step ----------------------------------------------------------------------
def split(n, steps, calls, out):
    import bench_gpu
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jqd

    rec = bench_gpu.splitstep(n)
    _emit(dict(case="split", variant="plain evolve", N=n, steps=steps, first_s=rec["first_s"],
               run_s=rec["run_s"], bytes_per_step_xla=rec.get("bytes_per_step")), out)  # fmt: skip
    grid = jqd.Grid((n, n), 40.0)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=0.5).astype(jnp.complex128)
    dt = 2e-3
    law = jqd.SchrodingerGrid(grid, potential=lambda x, t, w: 0.5 * w**2 * (x[0] ** 2 + x[1] ** 2))
    params = jqd.SchrodingerParams(potential=1.0)
    kw = dict(dt=dt, n_save=1, steps_per_save=steps)
    for name, extra in OFF.items():
        first, run = _timed(lambda e=extra: jqd.evolve(law, psi0, params, **kw, **e).y_final, calls)
        _emit(dict(case="split", variant=f"evolve, {name}", N=n, steps=steps, first_s=first,
                   run_s=run, ms_per_step=1e3 * run / steps), out)  # fmt: skip
    _profile(f"split_{n}", lambda: jqd.evolve(law, psi0, params, **kw).y_final)
    kx = jnp.asarray(2 * np.pi * np.fft.fftfreq(n, 40.0 / n))
    xs = jnp.asarray((np.arange(n) - n // 2) * (40.0 / n))
    V2 = lambda: 0.5 * (xs[:, None] ** 2 + xs[None, :] ** 2)
    kin_full = jnp.exp(-0.5j * dt * (kx[:, None] ** 2 + kx[None, :] ** 2))
    kick_full = jnp.exp(-1j * V2() * dt)
    ex = jnp.exp(-0.5j * dt * kx**2)

    def scan(body):
        return jax.jit(lambda y: jax.lax.scan(lambda y, _: (body(y), None), y, None, steps)[0])

    f2, i2 = jnp.fft.fft2, jnp.fft.ifft2
    bodies = {
        "bare scan, phases precomputed (full arrays)": lambda y: i2(f2(y) * kin_full) * kick_full,
        "bare scan, phases computed from 1-D axes": lambda y: (
            i2(f2(y) * (ex[:, None] * ex[None, :])) * jnp.exp(-1j * V2() * dt)
        ),
        "bare scan, 1-D axes, FFT as two 1-D passes": lambda y: (
            jnp.fft.ifft(
                jnp.fft.ifft(
                    jnp.fft.fft(jnp.fft.fft(y, axis=1), axis=0) * (ex[:, None] * ex[None, :]),
                    axis=0,
                ),
                axis=1,
            )
            * jnp.exp(-1j * V2() * dt)
        ),  # fmt: skip
        "FFT pair alone (fft2, ifft2)": lambda y: i2(f2(y)),
        "one elementwise multiply alone": lambda y: y * kick_full,
    }
    minimal = 12 * n * n * 16  # the state read and written 6 times (results_gpu.md)
    for name, body in bodies.items():
        f = scan(body)
        first, run = _timed(lambda f=f: f(psi0), calls)
        _emit(dict(case="split", variant=name, N=n, steps=steps, first_s=first, run_s=run,
                   ms_per_step=1e3 * run / steps,
                   minimal_traffic_TBps=minimal * steps / run / 1e12), out)  # fmt: skip


def main(argv=None):
    import jax

    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", choices=("nelson", "copy", "split"))
    ap.add_argument("--nelson-sizes", default="10000000,31622777")
    ap.add_argument("--copy-sizes", default="1000000,3162278")
    ap.add_argument("--split-n", type=int, default=4096)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    print("JSON " + json.dumps(dict(device=str(jax.devices()[0]), jax=jax.__version__)))
    ints = lambda s: [int(v) for v in s.split(",") if v]
    for case in args.case or ("nelson", "copy", "split"):
        t = time.perf_counter()
        try:
            if case == "nelson":
                nelson(ints(args.nelson_sizes), 100, args.calls, args.json)
            elif case == "copy":
                copy(ints(args.copy_sizes), args.calls, args.json)
            else:
                split(args.split_n, 100, args.calls, args.json)
        except Exception as e:  # a case cut short still leaves its lines
            print(f"{case} failed: {type(e).__name__}: {e}"[:400], flush=True)
        print(f"{case}: {time.perf_counter() - t:.1f} s", flush=True)


if __name__ == "__main__":
    main()
