"""Benchmark: Husimi Galerkin law (jqd) vs exact density-matrix evolution
(QuTiP / dynamiqs mesolve without dissipation), and Husimi evaluation on 201²
points (jqd.husimi.husimi vs qutip.qfunc).

Run:  .venv-bench/bin/python benchmarks/bench_husimi_galerkin.py
(peers are skipped when qutip / dynamiqs are not importable). CPU, float64.
Timings are the best of `repeat` runs after one warm-up (compile excluded).
"""

from __future__ import annotations

import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jqd  # noqa: E402
from jqd import husimi as hs  # noqa: E402


def best(f, repeat=1):
    f()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


def bench_galerkin(rows, T=1.0, n_steps=100):
    """jqd: `n_steps` saves of one step each (exact at C = 1: one unitary per save;
    second-order Strang at C = 0.9), the same 101 saved states as the peers."""
    dt = T / n_steps
    cases = [("Kerr", hs.kerr(1.0), dict(cutoffs=K), K) for K in (16, 32, 64)]
    cases += [("BH dimer", hs.bose_hubbard(2, 1.0, 0.6), dict(max_total=N), N) for N in (10, 20)]
    for name, H, kw, size in cases:
        law = hs.HusimiGalerkin(H, **kw)
        if name == "Kerr":
            psi0 = jqd.fock.coherent_state(min(2.0, np.sqrt(size) / 3), size, tol=1e-6)
        else:
            psi0 = hs.coherent_product([1.0, 0.5j], law.basis)
        R0 = law.initial_state(psi0)
        for C in (1.0, 0.9):
            run = lambda: jqd.evolve(
                law,
                R0,
                hs.GalerkinParams(C),
                dt=dt,
                n_save=n_steps,
                steps_per_save=1,
                checkpoint=False,
            ).y_final.block_until_ready()
            t = best(run, repeat=5)
            rows.append((f"jqd Galerkin {name} C={C}", law.dim, n_steps / t, t))
        Hm = np.asarray(law.H)
        rho0 = np.asarray(R0)
        tlist = np.linspace(0, T, n_steps + 1)
        try:
            import qutip

            if law.dim > 32:  # 15 s at d = 66 in an earlier run; minutes at d = 64
                raise ImportError
            Hq, rq = qutip.Qobj(Hm), qutip.Qobj(rho0)
            t = best(
                lambda: qutip.mesolve(Hq, rq, tlist, [], options={"atol": 1e-10, "rtol": 1e-8}),
                repeat=2,
            )
            rows.append((f"qutip mesolve {name}", law.dim, n_steps / t, t))
        except ImportError:
            rows.append((f"qutip mesolve {name}", law.dim, float("nan"), float("nan")))
        try:
            import dynamiqs as dq

            dq.set_precision("double")
            Hd, rd, tl = jnp.asarray(Hm), jnp.asarray(rho0), jnp.asarray(tlist)
            t = best(
                lambda: dq.mesolve(Hd, [], rd, tl).states.to_jax().block_until_ready(), repeat=5
            )
            rows.append((f"dynamiqs mesolve {name}", law.dim, n_steps / t, t))
        except ImportError:
            rows.append((f"dynamiqs mesolve {name}", law.dim, float("nan"), float("nan")))


def bench_qfunc(rows, K=36):
    psi = jqd.reference.kerr_state(0.7, 2.0, K)
    x = np.linspace(-6, 6, 201)
    X, Y = np.meshgrid(x, x, indexing="ij")
    al = jnp.asarray(X + 1j * Y)[..., None]
    rho = jnp.outer(psi, jnp.conj(psi))
    fk = jax.jit(lambda s: hs.husimi(s, al))
    fr = jax.jit(lambda s: hs.husimi(s, al))
    rows.append(
        ("jqd husimi (ket)", K, 201 * 201 / (t := best(lambda: fk(psi).block_until_ready())), t)
    )
    rows.append(
        (
            "jqd husimi (density matrix)",
            K,
            201 * 201 / (t := best(lambda: fr(rho).block_until_ready())),
            t,
        )
    )
    try:
        import qutip

        q = qutip.Qobj(np.asarray(psi))
        t = best(lambda: qutip.qfunc(q, x, x, g=2))  # g = 2: α = x + i y
        rows.append(("qutip.qfunc (ket)", K, 201 * 201 / t, t))
        qr = qutip.Qobj(np.asarray(rho))
        t = best(lambda: qutip.qfunc(qr, x, x, g=2))
        rows.append(("qutip.qfunc (density matrix)", K, 201 * 201 / t, t))
        Qq = qutip.qfunc(q, x, x, g=2)  # g=2: α = (x + i y)
        Qj = np.asarray(fk(psi)).T  # qutip: rows = y (imag), columns = x (real)
        rows.append(("max |jqd − qutip.qfunc|", K, float(np.max(np.abs(Qq - Qj))), float("nan")))
    except ImportError:
        rows.append(("qutip.qfunc", K, float("nan"), float("nan")))


class _Rows(list):
    def append(self, row):
        super().append(row)
        name, size, rate, t = row
        print(f"{name:40s} {size:6d} {rate:14.4g} {t:10.4g}", flush=True)


if __name__ == "__main__":
    rows: list = _Rows()
    import os

    print(f"load average before: {os.getloadavg()}", flush=True)
    print(f"{'case':40s} {'size':>6s} {'rate':>14s} {'seconds':>10s}", flush=True)
    bench_qfunc(rows)
    bench_galerkin(rows)
    print(f"load average after: {os.getloadavg()}", flush=True)
