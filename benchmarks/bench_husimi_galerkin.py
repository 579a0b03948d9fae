"""Husimi Galerkin law (jqd.husimi.HusimiGalerkin) vs exact density-matrix
evolution (QuTiP / dynamiqs mesolve without dissipation), Husimi evaluation on
201² points (jqd.husimi.husimi vs qutip.qfunc), and the probability-flow law
(jqd.husimi.HusimiFlow) driven by a Galerkin density.

Cases (float64, one JSON line each, benchmarks/_common.py conventions: one
warm-up call, compile = first call − median, median of >= 5 timed calls with
block_until_ready):
  galerkin   Kerr (cutoff 16, 32, 64) and Bose-Hubbard dimer (max_total 10,
             20), C = 1 (exact unitary per step) and C = 0.9 (Strang with the
             Taylor remainder), T = 1 in 100 saves of one step, the same 101
             states as the peers' `mesolve` (QuTiP skipped above d = 32).
  qfunc      Q_H of a Kerr state (cutoff 36) on 201² points, ket and density
             matrix, vs `qutip.qfunc` (g = 2).
  flow       `jqd.evolve` of a `HusimiFlow` with the Galerkin Kerr density
             (cutoff 40, α0 = 2), 1e3 and 1e4 points, 10 RK4 steps.

Peers are skipped when qutip / dynamiqs are not importable. Usage:
  python benchmarks/bench_husimi_galerkin.py [--only galerkin,qfunc,flow] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import Reporter, add_device_arg, cost, select_device, time_call  # noqa: E402

import jqd  # noqa: E402
from jqd import husimi as hs  # noqa: E402


def _case(rep, timing, *, law, impl, size, throughput, unit, **extra):
    rep.case(
        law=law,
        impl=impl,
        size=size,
        dtype="float64",
        compile_s=timing["compile_s"],
        median_s=timing["median_s"],
        min_s=timing["min_s"],
        throughput=throughput,
        unit=unit,
        **extra,
    )


def _problems():
    cases = [("kerr", hs.kerr(1.0), dict(cutoffs=K), K) for K in (16, 32, 64)]
    cases += [("bh-dimer", hs.bose_hubbard(2, 1.0, 0.6), dict(max_total=N), N) for N in (10, 20)]
    for name, H, kw, size in cases:
        law = hs.HusimiGalerkin(H, **kw)
        if name == "kerr":
            psi0 = jqd.fock.coherent_state(min(2.0, np.sqrt(size) / 3), size, tol=1e-6)
        else:
            psi0 = hs.coherent_product([1.0, 0.5j], law.basis)
        yield name, law, law.initial_state(psi0)


def bench_galerkin(rep, repeats, T=1.0, n_steps=100):
    dt = T / n_steps
    tlist = np.linspace(0, T, n_steps + 1)
    for name, law, R0 in _problems():
        for C in (1.0, 0.9):

            def run(C=C):
                sol = jqd.evolve(
                    law, R0, hs.GalerkinParams(C), dt=dt, n_save=n_steps, checkpoint=False
                )
                return sol.y_final

            t = time_call(run, repeats)
            xla = cost(
                lambda R, p: jqd.evolve(law, R, p, dt=dt, n_save=n_steps, checkpoint=False).y_final,  # noqa: B023
                R0,
                hs.GalerkinParams(C),
            )
            _case(rep, t, law=name, impl=f"jqd HusimiGalerkin C={C}", size=law.dim,
                  throughput=n_steps / t["median_s"], unit="saves/s", **xla)  # fmt: skip
        Hm, rho0 = np.asarray(law.H), np.asarray(R0)
        try:
            import qutip

            if law.dim <= 32:  # minutes at d = 64
                Hq, rq = qutip.Qobj(Hm), qutip.Qobj(rho0)
                opts = {"atol": 1e-10, "rtol": 1e-8}
                t = time_call(lambda: qutip.mesolve(Hq, rq, tlist, [], options=opts), repeats)
                _case(rep, t, law=name, impl="qutip mesolve", size=law.dim,
                      throughput=n_steps / t["median_s"], unit="saves/s")  # fmt: skip
        except ImportError:
            pass
        try:
            import dynamiqs as dq

            dq.set_precision("double")
            Hd, rd, tl = jnp.asarray(Hm), jnp.asarray(rho0), jnp.asarray(tlist)
            t = time_call(lambda: dq.mesolve(Hd, [], rd, tl).states.to_jax(), repeats)
            _case(rep, t, law=name, impl="dynamiqs mesolve", size=law.dim,
                  throughput=n_steps / t["median_s"], unit="saves/s")  # fmt: skip
        except ImportError:
            pass


def bench_qfunc(rep, repeats, K=36):
    psi = jqd.reference.kerr_state(0.7, 2.0, K)
    x = np.linspace(-6, 6, 201)
    X, Y = np.meshgrid(x, x, indexing="ij")
    al = jnp.asarray(X + 1j * Y)[..., None]
    rho = jnp.outer(psi, jnp.conj(psi))
    f = jax.jit(lambda s: hs.husimi(s, al))
    for kind, state in (("ket", psi), ("density matrix", rho)):
        t = time_call(lambda state=state: f(state), repeats)
        _case(rep, t, law="qfunc", impl=f"jqd husimi ({kind})", size=K,
              throughput=201 * 201 / t["median_s"], unit="points/s", **cost(f, state))  # fmt: skip
    try:
        import qutip
    except ImportError:
        return
    for kind, state in (("ket", psi), ("density matrix", rho)):
        q = qutip.Qobj(np.asarray(state))
        t = time_call(lambda q=q: qutip.qfunc(q, x, x, g=2), repeats)  # g = 2: α = x + iy
        # qutip: rows = Im α, columns = Re α
        err = float(np.max(np.abs(t["result"] - np.asarray(f(state)).T)))
        _case(rep, t, law="qfunc", impl=f"qutip.qfunc ({kind})", size=K,
              throughput=201 * 201 / t["median_s"], unit="points/s",
              max_abs_diff_jqd=err)  # fmt: skip


def _points(t, y, p):  # module level: one observer, no recompile per call
    return y.z[0]


def bench_flow(rep, repeats, steps=10, K=40, alpha0=2.0):
    galerkin = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    R0 = galerkin.initial_state(jqd.fock.coherent_state(alpha0, K))
    law = hs.HusimiFlow(jqd.reference.kerr_symbol, galerkin)
    params = hs.FlowParams(1.0, 1.0)
    for n in (1000, 10000):
        z0 = jax.random.normal(jax.random.key(0), (n, 2)) + jnp.array([np.sqrt(2) * alpha0, 0.0])
        y0 = law.initial_state(z0, R0=R0)

        def run(y0=y0):
            sol = jqd.evolve(law, y0, params, dt=0.01, n_save=1, steps_per_save=steps,
                             observe=_points, checkpoint=False, monitor=False)  # fmt: skip
            return sol.y_final.z

        t = time_call(run, repeats)
        _case(rep, t, law="flow", impl="jqd HusimiFlow (Galerkin density)", size=n,
              throughput=n * steps / t["median_s"], unit="point-steps/s", cutoff=K,
              **cost(lambda y: run(y), y0))  # fmt: skip


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="galerkin,qfunc,flow")
    ap.add_argument("--repeats", type=int, default=5)
    add_device_arg(ap)
    a = ap.parse_args(argv)
    select_device(a.device)
    rep = Reporter("husimi_galerkin", argv=argv)
    groups = set(a.only.split(","))
    if "qfunc" in groups:
        bench_qfunc(rep, a.repeats)
    if "galerkin" in groups:
        bench_galerkin(rep, a.repeats)
    if "flow" in groups:
        bench_flow(rep, a.repeats)


if __name__ == "__main__":
    main()
