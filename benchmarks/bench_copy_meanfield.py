"""Mean-field copy dynamics (q = 1/2, r = −1/2) vs the same Schrödinger problem.

Problem: random Hermitian H (jqd.fock.random_hermitian, seed 0) of size P, random
normalized ψ0, horizon T = 10 (ħ = 1, spectral scale ~1), 51 saves. float64.
Accuracy target: max over saves of ‖ψ − ψ_exact‖₂ <= 1e-8 (ψ_mf = √ρ e^{−iφ});
every case reports its error, and adaptive methods are run down a tolerance
ladder and timed at the loosest tolerance that meets the target.

Cases (median of >= 5 calls after one warm-up; compile = first − median):
  jqd meanfield-rk4      jqd.evolve(MeanField(), ...) fixed RK4 step, jitted,
                         dt the largest of a ladder meeting the target.
  jqd meanfield-dopri8   jqd.evolve_adaptive(MeanField(), ..., Dopri8), jitted.
  jqd basis-expm         jqd.evolve(SchrodingerBasis(), ...) exact propagator.
  dynamiqs tsit5/dopri8  dq.sesolve(H, psi0, tsave, method=...) (adaptive).
  dynamiqs expm          dq.sesolve(..., method=dq.method.Expm()).
"steps/s" = integrator steps per second (RK4 steps, or accepted+rejected
adaptive steps where the solver reports them); "solves/s" = full solves/s.

Usage: python benchmarks/bench_copy_meanfield.py [--sizes 8 64] [--repeats 5]
       [--json out.jsonl]
(run with /work/main/.venv-bench/bin/python to include dynamiqs)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import Reporter, add_device_arg, cost, select_device, time_call  # noqa: E402

TARGET = 1e-8
LADDER = [1e-8, 1e-10, 1e-12]


def _bench_size(rep, P, args, ts, T, n_save):
    """All cases for one size P."""
    import diffrax
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.copy import MeanField, MeanFieldParams, psi_from_state, state_from_psi

    k1, k2, k3 = jax.random.split(jax.random.key(100 * P), 3)
    H = jqd.fock.random_hermitian(k1, P)
    psi0 = jax.random.normal(k2, (P,)) + 1j * jax.random.normal(k3, (P,))
    psi0 = psi0 / jnp.linalg.norm(psi0)
    exact = np.asarray(jqd.reference.propagate(H, psi0, ts))
    err = lambda psi: float(np.max(np.linalg.norm(np.asarray(psi) - exact, axis=-1)))
    params = MeanFieldParams.from_hamiltonian(H)
    y0 = state_from_psi(psi0)

    def record(impl, t, error, steps=None, **extra):
        rep.case(
            law="copy-meanfield" if "meanfield" in impl else "schrodinger",
            impl=impl,
            size=P,
            dtype="float64",
            compile_s=t["compile_s"],
            median_s=t["median_s"],
            min_s=t["min_s"],
            error=error,
            steps=steps,
            steps_per_s=(steps / t["median_s"]) if steps else None,
            solves_per_s=1.0 / t["median_s"],
            **extra,
        )

    # RK4 fixed step: largest dt meeting the target
    for steps_per_save in (10, 20, 40, 80, 160, 320):
        dt = float(T / n_save / steps_per_save)
        f = jax.jit(
            lambda y, p, dt=dt, s=steps_per_save: (
                jqd.evolve(
                    MeanField(),
                    y,
                    p,
                    dt=dt,
                    n_save=n_save,
                    steps_per_save=s,
                    observe=lambda t, y, p: psi_from_state(y),
                    check=False,
                    checkpoint=False,
                ).observables
            )
        )
        t = time_call(lambda f=f: f(y0, params), args.repeats)
        e = err(t["result"])
        if e <= TARGET or steps_per_save == 320:
            record("jqd meanfield-rk4", t, e, n_save * steps_per_save, dt=dt, **cost(f, y0, params))
            break
    for rtol in LADDER:
        f = jax.jit(
            lambda y, p, rtol=rtol: (
                lambda s: (jax.vmap(psi_from_state)(s.observables), s.stats["n_steps"])
            )(
                jqd.evolve_adaptive(
                    MeanField(),
                    y,
                    p,
                    ts,
                    solver=diffrax.Dopri8(),
                    rtol=rtol,
                    atol=rtol / 100,
                    check=False,
                )
            )
        )
        t = time_call(lambda f=f: f(y0, params), args.repeats)
        psi, nst = t["result"]
        e = err(psi)
        if e <= TARGET or rtol == LADDER[-1]:
            record(
                "jqd meanfield-dopri8",
                t,
                e,
                int(nst),
                rtol=rtol,
                **cost(f, y0, params, scale=int(nst)),
            )
            break
    f = jax.jit(
        lambda p: (
            jqd.evolve(
                jqd.SchrodingerBasis(),
                psi0,
                p,
                dt=T / n_save,
                n_save=n_save,
                check=False,
                checkpoint=False,
            ).observables
        )
    )
    t = time_call(lambda f=f: f(jqd.MatrixParams(H)), args.repeats)
    record("jqd basis-expm", t, err(t["result"]), n_save, **cost(f, jqd.MatrixParams(H)))
    try:
        import dynamiqs as dq
    except ImportError:
        print("dynamiqs not installed: skipping its cases", flush=True)
        return
    dq.set_precision("double")
    Hq, p0 = np.asarray(H), np.asarray(psi0)[:, None]
    for name, meth in (("tsit5", dq.method.Tsit5), ("dopri8", dq.method.Dopri8)):
        for rtol in LADDER:
            m = meth(rtol=rtol, atol=rtol / 100, max_steps=1_000_000)
            run = lambda m=m: dq.sesolve(Hq, p0, np.asarray(ts), method=m, progress_meter=False)
            t = time_call(lambda run=run: run().states.to_jax(), args.repeats)
            e = err(np.asarray(t["result"])[..., 0])
            if e <= TARGET or rtol == LADDER[-1]:
                res = run()
                nst = None
                try:
                    nst = int(res.infos.nsteps)
                except Exception:  # noqa: BLE001
                    pass
                record(f"dynamiqs {name}", t, e, nst, rtol=rtol)
                break
    run = lambda: dq.sesolve(Hq, p0, np.asarray(ts), method=dq.method.Expm(), progress_meter=False)
    t = time_call(lambda: run().states.to_jax(), args.repeats)
    record("dynamiqs expm", t, err(np.asarray(t["result"])[..., 0]), n_save)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    rep = Reporter("copy_meanfield", args.json, argv)
    T, n_save = 10.0, 50
    ts = jnp.linspace(0.0, T, n_save + 1)
    for P in args.sizes:
        _bench_size(rep, P, args, ts, T, n_save)


if __name__ == "__main__":
    main()
