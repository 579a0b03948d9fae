"""Particle steps per second of Nelson ensembles (jqd.dqm.NelsonEnsemble).

Cases (one JSON line each, benchmarks/_common.py conventions):
  * jqd, full step (grid ψ Strang step + particles), Euler-Maruyama and Heun,
    1-D (256 points) and 3-D (32³ points), 1e4 .. 1e7 particles;
  * jqd, particles only (ψ frozen: drift from a fixed ground state), and the
    grid ψ step alone;
  * NumPy implementation of the same Euler-Maruyama scheme (linear
    interpolation, ψ frozen, and with the ψ FFT update);
  * diffrax: the same SDE (ψ frozen) through diffeqsolve(Euler,
    VirtualBrownianTree), small sizes only.

Timing: one warm-up call (compile), then the median of `--repeats` (>= 5)
calls with block_until_ready. Usage:
  python benchmarks/bench_nelson.py [--max-n 1e6] [--only jqd,psi,numpy,diffrax]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import equinox as eqx  # noqa: E402
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import Reporter, time_call  # noqa: E402

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


def _case(rep, timing, *, law, impl, size, n, steps, **extra):
    rep.case(
        law=law,
        impl=impl,
        size=size,
        dtype="float64",
        n=n,
        steps=steps,
        compile_s=timing["compile_s"],
        median_s=timing["median_s"],
        min_s=timing["min_s"],
        throughput=n * steps / timing["median_s"],
        unit="particle-steps/s" if law != "schrodinger_grid" else "psi-steps/s",
        **extra,
    )


def bench_jqd(rep, ndim, n, points, scheme, interp, steps, repeats):
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

    size = f"{points}^{ndim} grid"
    t = time_call(full, repeats)
    _case(rep, t, law="nelson", impl="jqd full step", size=size, n=n, steps=steps,
          scheme=scheme, interp=interp)  # fmt: skip

    @eqx.filter_jit
    def particles_only(y):
        psi = y.psi
        D = 0.5

        def body(x, k):
            v, u = guidance_velocities(grid, psi, x, 1.0, 1.0, interp)
            noise = math.sqrt(2 * D * 0.01) * jax.random.normal(k, x.shape)
            return x + (v + u) * 0.01 + noise, None

        x, _ = jax.lax.scan(body, y.x, jax.random.split(jax.random.key(2), steps))
        return x

    t = time_call(lambda: particles_only(y0), repeats)
    _case(rep, t, law="nelson", impl="jqd particles only", size=size, n=n, steps=steps,
          scheme="euler", interp=interp)  # fmt: skip


def bench_psi_only(rep, ndim, points, steps, repeats):
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

    t = time_call(run, repeats)
    _case(rep, t, law="schrodinger_grid", impl="jqd psi step only", size=f"{points}^{ndim} grid",
          n=1, steps=steps)  # fmt: skip


def bench_numpy(rep, n, points, steps, repeats, with_psi):
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

    t = time_call(run, repeats)
    impl = "numpy " + ("full step" if with_psi else "particles only")
    _case(rep, t, law="nelson", impl=impl, size=f"{points}^1 grid", n=n, steps=steps,
          scheme="euler", interp="linear")  # fmt: skip


def bench_diffrax(rep, n, points, steps, repeats):
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

    t = time_call(lambda: run(y0.x), repeats)
    _case(rep, t, law="nelson", impl="diffrax particles only", size=f"{points}^1 grid", n=n,
          steps=steps, scheme="euler", interp="linear")  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=float, default=1e7)
    ap.add_argument("--max-n-3d", type=float, default=1e6)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--only",
        default="jqd,psi,numpy,diffrax",
        help="comma-separated groups to run: jqd, psi, numpy, diffrax",
    )
    a = ap.parse_args(argv)
    rep = Reporter("nelson", argv=argv)
    groups = set(a.only.split(","))
    sizes = [n for n in (10**4, 10**5, 10**6, 10**7) if n <= a.max_n]
    if "jqd" in groups:
        for n in sizes:
            for scheme in ("euler", "heun"):
                bench_jqd(rep, 1, n, 256, scheme, "cubic", a.steps, a.repeats)
            bench_jqd(rep, 1, n, 256, "euler", "linear", a.steps, a.repeats)
        for n in [n for n in sizes if n <= a.max_n_3d]:
            bench_jqd(rep, 3, n, 32, "euler", "linear", a.steps, a.repeats)
            bench_jqd(rep, 3, n, 32, "heun", "cubic", a.steps, a.repeats)
    if "psi" in groups:
        bench_psi_only(rep, 1, 256, 100, a.repeats)
        bench_psi_only(rep, 3, 32, 20, a.repeats)
    if "numpy" in groups:
        for n in [n for n in sizes if n <= 10**6]:
            bench_numpy(rep, n, 256, a.steps, a.repeats, with_psi=False)
            bench_numpy(rep, n, 256, a.steps, a.repeats, with_psi=True)
    if "diffrax" in groups:
        for n in (10**3, 10**4):
            bench_diffrax(rep, n, 256, a.steps, a.repeats)


if __name__ == "__main__":
    main()
