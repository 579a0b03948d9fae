"""Particle steps per second of Nelson ensembles (jqd.dqm.NelsonEnsemble).

Cases (one JSON line each):
  * jqd, full step (grid ψ Strang step + particles), Euler-Maruyama and Heun,
    1-D (256 points) and 3-D (32³ points), 1e4 .. 1e7 particles;
  * jqd, particles only (ψ frozen: drift from a fixed ground state), and the
    grid ψ step alone;
  * NumPy implementation of the same Euler-Maruyama scheme (linear
    interpolation, ψ frozen, and with the ψ FFT update);
  * diffrax: the same SDE (ψ frozen) through diffeqsolve(Euler,
    VirtualBrownianTree), small sizes only.

Timing: compile (first call) separately, then best of `--repeat` calls with
block_until_ready. Usage: .venv/bin/python benchmarks/bench_nelson.py [--max-n 1e6]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import jqd  # noqa: E402
from jqd.dqm import EnsembleState, NelsonEnsemble, guidance_velocities  # noqa: E402


def _ho(x, t, a):
    return 0.5 * sum(xi**2 for xi in x)


def _setup(ndim, n_particles, points):
    grid = jqd.Grid((points,) * ndim, 16.0)
    sch = jqd.SchrodingerGrid(grid, _ho)
    params = jqd.SchrodingerParams()
    psi = jqd.reference.gaussian_packet(grid, 1.0, x0=0.5)
    x = 0.5 + jax.random.normal(jax.random.key(0), (n_particles, ndim)) / math.sqrt(2)
    return grid, sch, params, EnsembleState(psi, x)


def _first_particle(t, y, p):  # module-level: a new lambda per call would recompile
    return y.x[0]


def _first_point(t, y, p):
    return y.reshape(-1)[0]


def _time(fn, repeat):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return compile_s, best


def emit(**kw):
    kw.setdefault("device", str(jax.devices()[0].platform))
    print(json.dumps(kw), flush=True)


def bench_jqd(ndim, n, points, scheme, interp, steps, repeat):
    grid, sch, params, y0 = _setup(ndim, n, points)
    law = NelsonEnsemble(sch, scheme=scheme, interpolation=interp)

    def full():
        return jqd.evolve(
            law,
            y0,
            params,
            dt=0.01,
            n_save=1,
            steps_per_save=steps,
            key=jax.random.key(1),
            observe=_first_particle,
            checkpoint=False,
            check=False,
        ).y_final.x

    c, b = _time(full, repeat)
    emit(
        case="jqd_full_step",
        scheme=scheme,
        interp=interp,
        ndim=ndim,
        grid=points,
        n=n,
        steps=steps,
        dtype="float64",
        compile_s=c,
        best_s=b,
        particle_steps_per_s=n * steps / b,
    )

    @eqx.filter_jit
    def particles_only(y):
        psi = y.psi
        D = 0.5

        def body(x, k):
            v, u = guidance_velocities(grid, psi, x, 1.0, 1.0, interp)
            return x + (v + u) * 0.01 + math.sqrt(2 * D * 0.01) * jax.random.normal(
                k, x.shape
            ), None

        x, _ = jax.lax.scan(body, y.x, jax.random.split(jax.random.key(2), steps))
        return x

    c, b = _time(lambda: particles_only(y0), repeat)
    emit(
        case="jqd_particles_only_euler",
        interp=interp,
        ndim=ndim,
        grid=points,
        n=n,
        steps=steps,
        dtype="float64",
        compile_s=c,
        best_s=b,
        particle_steps_per_s=n * steps / b,
    )


def bench_psi_only(ndim, points, steps, repeat):
    grid, sch, params, y0 = _setup(ndim, 1, points)

    def run():
        return jqd.evolve(
            sch,
            y0.psi,
            params,
            dt=0.01,
            n_save=1,
            steps_per_save=steps,
            observe=_first_point,
            checkpoint=False,
            check=False,
        ).y_final

    c, b = _time(run, repeat)
    emit(
        case="jqd_psi_step_only",
        ndim=ndim,
        grid=points,
        steps=steps,
        compile_s=c,
        best_s=b,
        psi_steps_per_s=steps / b,
    )


def bench_numpy(n, points, steps, repeat, with_psi):
    grid, sch, params, y0 = _setup(1, n, points)
    psi = np.asarray(y0.psi)
    L, dx = grid.lengths[0], grid.spacing[0]
    k = np.asarray(grid.wavenumbers()[0])
    (xg,) = [np.asarray(a) for a in grid.mesh()]
    kin = np.exp(-0.5j * k**2 * 0.01)
    half = np.exp(-0.5j * 0.5 * xg**2 * 0.01)
    rng = np.random.default_rng(0)

    def run():
        x = np.asarray(y0.x[:, 0]).copy()
        p = psi.copy()
        for _ in range(steps):
            dp = np.fft.ifft(1j * k * np.fft.fft(p))
            s = (x + L / 2) / dx
            i0 = np.floor(s).astype(np.int64)
            f = s - i0
            i0 %= points
            i1 = (i0 + 1) % points
            pp = (1 - f) * p[i0] + f * p[i1]
            dpp = (1 - f) * dp[i0] + f * dp[i1]
            r = np.conj(pp) * dpp / (np.abs(pp) ** 2 + 1e-300)
            x = x + (r.imag + r.real) * 0.01 + math.sqrt(0.01) * rng.standard_normal(n)
            x = np.mod(x + L / 2, L) - L / 2
            if with_psi:
                p = half * np.fft.ifft(kin * np.fft.fft(half * p))
        return x

    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    best = first
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    emit(
        case="numpy_" + ("full_step" if with_psi else "particles_only") + "_euler",
        interp="linear",
        ndim=1,
        grid=points,
        n=n,
        steps=steps,
        dtype="float64",
        best_s=best,
        particle_steps_per_s=n * steps / best,
        device="cpu (numpy)",
    )


def bench_diffrax(n, points, steps, repeat):
    import diffrax
    import lineax as lx

    grid, sch, params, y0 = _setup(1, n, points)
    psi = y0.psi

    @eqx.filter_jit
    def run(x0):
        drift = diffrax.ODETerm(
            lambda t, x, a: sum(guidance_velocities(grid, psi, x, 1.0, 1.0, "linear"))
        )
        bm = diffrax.VirtualBrownianTree(
            0.0, 0.01 * steps, tol=1e-3, shape=x0.shape, key=jax.random.key(3)
        )
        diff = diffrax.ControlTerm(lambda t, x, a: lx.DiagonalLinearOperator(jnp.ones_like(x)), bm)
        sol = diffrax.diffeqsolve(
            diffrax.MultiTerm(drift, diff),
            diffrax.Euler(),
            0.0,
            0.01 * steps,
            0.01,
            x0,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=steps + 1,
            adjoint=diffrax.DirectAdjoint(),
        )
        return sol.ys

    c, b = _time(lambda: run(y0.x), repeat)
    emit(
        case="diffrax_particles_only_euler",
        interp="linear",
        ndim=1,
        grid=points,
        n=n,
        steps=steps,
        dtype="float64",
        compile_s=c,
        best_s=b,
        particle_steps_per_s=n * steps / b,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=float, default=1e7)
    ap.add_argument("--max-n-3d", type=float, default=1e6)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--only",
        default="jqd,psi,numpy,diffrax",
        help="comma-separated groups to run: jqd, psi, numpy, diffrax",
    )
    a = ap.parse_args()
    groups = set(a.only.split(","))
    emit(
        case="environment",
        jax=jax.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        machine=platform.machine(),
        processor=platform.processor(),
        devices=[str(d) for d in jax.devices()],
    )
    sizes = [n for n in (10**4, 10**5, 10**6, 10**7) if n <= a.max_n]
    if "jqd" in groups:
        for n in sizes:
            for scheme in ("euler", "heun"):
                bench_jqd(1, n, 256, scheme, "cubic", a.steps, a.repeat)
            bench_jqd(1, n, 256, "euler", "linear", a.steps, a.repeat)
        for n in [n for n in sizes if n <= a.max_n_3d]:
            bench_jqd(3, n, 32, "euler", "linear", a.steps, a.repeat)
            bench_jqd(3, n, 32, "heun", "cubic", a.steps, a.repeat)
    if "psi" in groups:
        bench_psi_only(1, 256, 100, a.repeat)
        bench_psi_only(3, 32, 20, a.repeat)
    if "numpy" in groups:
        for n in [n for n in sizes if n <= 10**6]:
            bench_numpy(n, 256, a.steps, a.repeat, with_psi=False)
            bench_numpy(n, 256, a.steps, a.repeat, with_psi=True)
    if "diffrax" in groups:
        for n in (10**3, 10**4):
            bench_diffrax(n, 256, a.steps, a.repeat)


if __name__ == "__main__":
    main()
