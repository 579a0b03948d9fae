"""Paths per second of SDE ensembles: jqd against diffrax under `vmap`, a
hand-written `lax.scan` and a plain NumPy loop (issue 56, item 2).

1. Ornstein-Uhlenbeck, dX = −θX dt + σ dW, θ = σ = X0 = T = 1, 100
   Euler-Maruyama steps (dt = 0.01), N paths, float64 (`jax_enable_x64`).
   jqd has no generic SDE law: a jqd user writes the process as a law of
   their own (docs/add-a-law.md: `jqd.AbstractLaw`, the shared
   `jqd.schemes.EulerMaruyama()`, noise from `jqd.random_normal`), ten lines
   here (`OrnsteinUhlenbeck`), and runs it with `jqd.evolve`. Candidates:
     jqd-call          `jqd.evolve(law, x0, params, dt=0.01, n_save=1,
                       steps_per_save=100, key=key)` as a user types it (checks,
                       monitor), already compiled;
     jqd-jit           `jax.jit` of the same call with check=False;
     scan-threefry     a hand-written jitted `lax.scan` over the steps, noise
                       `jax.random.normal` (threefry), the plain JAX code;
     scan-jqd-normal   the same scan with `jqd.random_normal` (on the CPU
                       NumPy's Ziggurat through a callback, as jqd's laws draw);
     diffrax-vbt       diffrax's documented SDE code under `jax.jit(jax.vmap(...))`
                       over one key per path: `VirtualBrownianTree(tol=1e-3)`,
                       `MultiTerm(ODETerm, ControlTerm)`, `Euler()`, dt0 = 0.01;
     diffrax-unsafe    diffrax tuned: `UnsafeBrownianPath`, `ConstantStepSize`,
                       `max_steps=100`, `SaveAt(t1=True)`, `ForwardMode` adjoint
                       (what UnsafeBrownianPath requires), jitted and vmapped;
     numpy             a NumPy loop over the steps, vectorized over the paths,
                       in place, `np.random.default_rng` (PCG64, Ziggurat);
     pychastic-f32     a second JAX SDE code, pychastic 0.2.2 (`SDESolver(scheme=
                       "euler", dt=0.01).solve_many(problem, n_trajectories=N,
                       chunk_size=None)`), where it is installed: float32 only
                       (it casts x0 to float32 and fails under x64, so it runs
                       inside `jax.enable_x64(False)`), and not jitted (every
                       call traces and compiles its scans again: its times
                       include that, as its users' do).
   Every candidate's X(T) is checked against the closed form: mean X0 e^{−θT},
   variance σ²(1 − e^{−2θT})/(2θ), within 5 standard errors plus the Euler
   bias (the exact Euler-Maruyama moments, X0 a^n and σ²dt(1 − a^{2n})/(1 − a²),
   a = 1 − θdt, minus the closed form: −1.85e-3 on the mean, +2.85e-3 on the
   variance).
2. Nelson 1-D (`jqd.dqm.NelsonEnsemble`, stochastic Heun + cubic, the
   default) against the same algorithm in NumPy: `bench_nelson.bench_case`
   (its problem, candidates and distribution check) at `--nelson-steps`.
   Its CPU-per-call figures are 1.5x too high: it asks `_common.alternate`
   for 3 calls a round, `time_call` makes that 5, and `alternate` divides
   by 3 + 1 (wall times and ratios are right; results_paths.md).

Candidates alternate within each round (`_common.alternate`: per round one
warm-up call and 5 timed calls of each, the median kept; the median over
rounds reported), compile time apart. A candidate whose projected call (its
time at the previous N scaled by N) passes `--max-call-s` is not run at the
larger N and the record says so. `--cores 1` (default) pins the process to
one core: both sides single-threaded. Throughput: paths·steps per second of
wall time (and of CPU time, which the other jobs on a shared machine disturb
less).

Usage:
  python benchmarks/bench_paths.py                      # OU 1e4..1e6, Nelson 1e4..1e6
  python benchmarks/bench_paths.py --max-n 1e7 --json run.jsonl
  python benchmarks/bench_paths.py --device gpu         # GPU if present (else says so, CPU)
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

THETA, SIGMA, X0, T, STEPS = 1.0, 1.0, 1.0, 1.0, 100
DT = T / STEPS
SIZES = (10**4, 10**5, 10**6, 10**7)


# ---------------------------------------------------------------- the OU law, as a user writes it


def ou_law():
    """(law, params): the Ornstein-Uhlenbeck process as a `jqd.AbstractLaw`."""
    import equinox as eqx
    import jax.numpy as jnp

    import jqd
    from jqd.schemes import EulerMaruyama

    class OUParams(eqx.Module):
        theta: float = THETA
        sigma: float = SIGMA

    class OrnsteinUhlenbeck(jqd.AbstractLaw):
        """dX = −θX dt + σ dW for every path; state: an array of shape (N,)."""

        stochastic: ClassVar[bool] = True
        order: ClassVar[int] = 1  # weak order of Euler-Maruyama

        def step(self, t, y, params, dt, key):
            theta, sigma = (jnp.asarray(p, y.dtype) for p in (params.theta, params.sigma))
            noise = sigma * jnp.sqrt(dt) * jqd.random_normal(key, y.shape, y.dtype)
            return EulerMaruyama().step(lambda s, x: -theta * x, t, y, dt, noise)

    return OrnsteinUhlenbeck(), OUParams()


def ou_moments() -> dict:
    """Closed-form and exact Euler-Maruyama mean and variance of X(T)."""
    a = 1 - THETA * DT
    em_mean = X0 * a**STEPS
    em_var = SIGMA**2 * DT * (1 - a ** (2 * STEPS)) / (1 - a**2)
    mean = X0 * math.exp(-THETA * T)
    var = SIGMA**2 * (1 - math.exp(-2 * THETA * T)) / (2 * THETA)
    return {"mean": mean, "var": var, "bias_mean": em_mean - mean, "bias_var": em_var - var}


def ou_check(x) -> dict:
    """Mean and variance of the sample `x` of X(T) against the closed form,
    within 5 standard errors plus the Euler bias."""
    import numpy as np

    x = np.asarray(x, np.float64).ravel()
    n, ref = x.size, ou_moments()
    m, v = float(x.mean()), float(x.var(ddof=1))
    se_m = math.sqrt(v / n)
    se_v = v * math.sqrt(2 / (n - 1))  # Gaussian X(T)
    ok_m = abs(m - ref["mean"]) <= 5 * se_m + abs(ref["bias_mean"])
    ok_v = abs(v - ref["var"]) <= 5 * se_v + abs(ref["bias_var"])
    return {
        "mean_x": m,
        "var_x": v,
        "mean_error_in_se": (m - ref["mean"]) / se_m,
        "var_error_in_se": (v - ref["var"]) / se_v,
        "moments_ok": bool(ok_m and ok_v),
    }


def ou_candidates(n: int, names: set[str]) -> dict:
    """{name: zero-argument callable returning X(T) of n paths}."""
    import diffrax as dfx
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import jqd

    law, params = ou_law()
    y0 = jnp.full((n,), X0)
    key = jr.key(1)
    out = {}

    def plain():
        sol = jqd.evolve(law, y0, params, dt=DT, n_save=1, steps_per_save=STEPS, key=key)
        return sol.y_final

    @jax.jit
    def jitted(y, k):
        sol = jqd.evolve(law, y, params, dt=DT, n_save=1, steps_per_save=STEPS, key=k, check=False)
        return sol.y_final

    def scan(draw):
        @jax.jit
        def run(y, k):
            def body(x, kk):
                return x - THETA * x * DT + SIGMA * math.sqrt(DT) * draw(kk, x.shape, x.dtype), None

            return jax.lax.scan(body, y, jr.split(k, STEPS))[0]

        return run

    scan_thr, scan_jqd = scan(jr.normal), scan(jqd.random_normal)

    drift = lambda t, y, a: -THETA * y  # noqa: E731
    diffusion = lambda t, y, a: SIGMA  # noqa: E731

    def solve_vbt(k):  # diffrax's documented SDE example, X(t1) saved (the default)
        bm = dfx.VirtualBrownianTree(0.0, T, tol=1e-3, shape=(), key=k)
        terms = dfx.MultiTerm(dfx.ODETerm(drift), dfx.ControlTerm(diffusion, bm))
        return dfx.diffeqsolve(terms, dfx.Euler(), 0.0, T, dt0=DT, y0=X0).ys[-1]

    def solve_unsafe(k):
        bm = dfx.UnsafeBrownianPath(shape=(), key=k)
        terms = dfx.MultiTerm(dfx.ODETerm(drift), dfx.ControlTerm(diffusion, bm))
        sol = dfx.diffeqsolve(
            terms, dfx.Euler(), 0.0, T, dt0=DT, y0=jnp.asarray(X0),
            saveat=dfx.SaveAt(t1=True), stepsize_controller=dfx.ConstantStepSize(),
            max_steps=STEPS, adjoint=dfx.ForwardMode(),
        )  # fmt: skip
        return sol.ys[-1]

    vbt, unsafe = jax.jit(jax.vmap(solve_vbt)), jax.jit(jax.vmap(solve_unsafe))
    keys = jr.split(key, n) if names & {"diffrax-vbt", "diffrax-unsafe"} else None
    rng = np.random.default_rng(0)

    def numpy_loop():
        x = np.full(n, X0)
        a, c = 1 - THETA * DT, SIGMA * math.sqrt(DT)
        for _ in range(STEPS):
            x *= a
            x += c * rng.standard_normal(n)
        return x

    def pychastic_call():  # float32 only (it casts x0 to float32); not jitted: retraces per call
        import pychastic

        with jax.enable_x64(False):
            problem = pychastic.sde_problem.SDEProblem(
                lambda x: -THETA * x, lambda x: jnp.array([[SIGMA]]), x0=jnp.array([X0]), tmax=T
            )
            solver = pychastic.sde_solver.SDESolver(scheme="euler", dt=DT)
            sol = solver.solve_many(problem, n_trajectories=n, chunk_size=None, progress_bar=False)
            return sol["solution_values"][:, -1, 0]

    table = {
        "jqd-call": plain,
        "jqd-jit": lambda: jitted(y0, key),
        "scan-threefry": lambda: scan_thr(y0, key),
        "scan-jqd-normal": lambda: scan_jqd(y0, key),
        "diffrax-vbt": lambda: vbt(keys),
        "diffrax-unsafe": lambda: unsafe(keys),
        "numpy": numpy_loop,
        "pychastic-f32": pychastic_call,
    }
    out = {k: f for k, f in table.items() if k in names}
    return out


OU_IMPLS = (
    "jqd-call",
    "jqd-jit",
    "scan-threefry",
    "scan-jqd-normal",
    "diffrax-vbt",
    "diffrax-unsafe",
    "numpy",
    "pychastic-f32",
)


def bench_ou(rep, sizes, rounds, max_call_s, cores, impls=OU_IMPLS):
    import importlib.util
    import time

    import numpy as np
    from _common import alternate, block

    if "pychastic-f32" in impls and importlib.util.find_spec("pychastic") is None:
        rep.case(law="ou/euler", impl="pychastic-f32", skipped="pychastic is not installed "
                 "(`pip install pychastic`; it needs Python < 3.13: it imports audioop)"
                 )  # fmt: skip
        impls = tuple(k for k in impls if k != "pychastic-f32")
    alive = {k: None for k in impls}  # name -> (N, median s) of its last run
    for n in sizes:
        names = set()
        for k, last in alive.items():
            projected = None if last is None else last[1] * n / last[0]
            if projected is not None and projected > max_call_s:
                rep.case(law="ou/euler", impl=k, n=n, steps=STEPS, dtype="float64",
                         skipped=f"projected {projected:.3g} s per call > --max-call-s "
                         f"{max_call_s:g} (from N={last[0]:.0e})")  # fmt: skip
                continue
            names.add(k)
        timers = ou_candidates(n, names)
        first, compile_s = {}, {}
        for k, f in timers.items():  # first call: compile + run, and the checked sample
            t = time.perf_counter()
            first[k] = np.asarray(block(f()))
            compile_s[k] = time.perf_counter() - t
        l0 = os.getloadavg()
        res = alternate(timers, rounds, calls=5)
        l1 = os.getloadavg()
        for k, (wall, cpu) in res.items():
            alive[k] = (n, wall)
            rep.case(
                law="ou/euler", impl=k, size=f"N={n:.0e}, {STEPS} steps",
                dtype="float32" if k.endswith("-f32") else "float64",
                n=n, steps=STEPS, first_s=compile_s[k], compile_s=max(compile_s[k] - wall, 0.0),
                median_s=wall, cpu_s_per_call=cpu, throughput=n * STEPS / wall,
                cpu_throughput=n * STEPS / cpu, unit="path-steps/s", rounds=rounds,
                loadavg_before=[round(v, 2) for v in l0],
                loadavg_after=[round(v, 2) for v in l1], cores=cores, **ou_check(first[k]),
            )  # fmt: skip
        del timers, first


def summary(records) -> str:
    """Markdown: one row per (law, N, impl) with the rates and the ratios
    jqd-call / x (wall and CPU)."""
    from _common import fmt_s, markdown_table

    by = {}
    for r in records:
        if "median_s" in r:
            by.setdefault((r["law"], r["n"]), {})[r["impl"]] = r
    rows = []
    for r in records:
        if "skipped" in r:
            n = f"{r['n']:.0e}" if "n" in r else ""
            rows.append({"law": r["law"], "n": n, "impl": r["impl"],
                         "wall": "skipped: " + r["skipped"]})  # fmt: skip
            continue
        if "median_s" not in r:
            continue
        ref = by[(r["law"], r["n"])].get("jqd-call")
        cpu = r.get("cpu_s_per_call")
        rows.append({
            "law": r["law"], "n": f"{r['n']:.0e}", "impl": r["impl"],
            "wall": fmt_s(r["median_s"]), "cpu": fmt_s(cpu) if cpu else "",
            "thr": f"{r['throughput']:.3g}",
            "cthr": f"{r['n'] * r['steps'] / cpu:.3g}" if cpu else "",
            "ratio": f"{r['median_s'] / ref['median_s']:.2f}" if ref else "",
            "cratio": f"{cpu / ref['cpu_s_per_call']:.2f}" if ref and cpu else "",
            "ok": {True: "yes", False: "NO"}.get(r.get("moments_ok"), ""),
            "ld": r["loadavg_before"][0],
        })  # fmt: skip
    cols = [("law", "law"), ("n", "N"), ("impl", "impl"), ("wall", "wall/call"),
            ("cpu", "CPU/call"), ("thr", "path-steps/s (wall)"), ("cthr", "path-steps/s (CPU)"),
            ("ratio", "x / jqd-call (wall)"), ("cratio", "x / jqd-call (CPU)"),
            ("ok", "moments ok"), ("ld", "load")]  # fmt: skip
    return markdown_table(rows, cols)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-n", type=float, default=1e6, help="largest N (10^4 .. 10^7)")
    ap.add_argument("--min-n", type=float, default=1e4, help="smallest N")
    ap.add_argument("--rounds", type=int, default=2, help="alternation rounds")
    ap.add_argument("--max-call-s", type=float, default=20.0,
                    help="skip a candidate at N when its projected call passes this")  # fmt: skip
    ap.add_argument("--cores", type=int, default=1, help="pin the process to this many cores")
    ap.add_argument("--parts", default="ou,nelson", help="ou, nelson or both")
    ap.add_argument("--impls", default=",".join(OU_IMPLS), help="OU candidates to run")
    ap.add_argument("--nelson-steps", type=int, default=10)
    ap.add_argument("--nelson-max-n", type=float, default=1e6)
    ap.add_argument("--json", help="also append the JSON lines to this file")
    from _common import add_device_arg, select_device

    add_device_arg(ap)
    a = ap.parse_args(argv)
    from bench_nelson import _pin

    cpus = _pin(a.cores)
    select_device(a.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    from _common import Reporter

    rep = Reporter("paths", a.json, argv=argv)
    from importlib import metadata

    peers = {}
    for name in ("diffrax", "pychastic"):
        try:
            peers[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            peers[name] = "not installed"
    rep.case(kind="peer versions", **peers)
    cores = f"cpus {cpus} (of {os.cpu_count()})"
    parts = set(a.parts.split(","))
    if "ou" in parts:
        sizes = [n for n in SIZES if a.min_n <= n <= a.max_n]
        impls = tuple(k for k in a.impls.split(",") if k)
        bench_ou(rep, sizes, max(a.rounds, 1), a.max_call_s, cores, impls)
    if "nelson" in parts:
        from bench_nelson import bench_case

        for n in [n for n in SIZES if a.min_n <= n <= a.nelson_max_n]:
            bench_case(rep, n, "heun", "cubic", a.nelson_steps, max(a.rounds, 1), True, cores)
    print(f"\n{cores}; device {rep.header['device']}; float64\n" + summary(rep.records))


if __name__ == "__main__":
    main()
