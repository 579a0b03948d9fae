"""Calibration runs that fixed copy-factorization's tolerances (README "How the
tolerances were fixed"); not part of `jqd run`. Usage, from the repository root:

    python experiments/copy_factorization/calibrate.py linear        # seeds 3, 4
    python experiments/copy_factorization/calibrate.py noise SEED DT # key sets 2-9
    python experiments/copy_factorization/calibrate.py reversal      # seeds 3, 4

`linear`: the mean-field claims' RK4 error and the cross family's relative
second-order remainder at ε = 1e-3, 2e-3. `noise`: per key set (B = 128,
N = 1e4) the signed finite-N statistics of the six process claims.
"""

import dataclasses
import pathlib
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import experiment as ex  # noqa: E402


def linear():
    for seed in (3, 4):
        cfg = dataclasses.replace(ex.Config.quick(), seed=seed)
        H, psi0 = ex.problem(cfg)
        ts = np.linspace(0, cfg.t_end, cfg.n_save + 1)
        rho = np.abs(ex.exact_path(H, psi0, cfg.hbar, ts)[0]) ** 2
        d1 = ex.first_order(H, psi0, cfg.hbar, cfg.t_end, cfg.n_save)
        rates = [(0, 0, 0, 0), (1e-3, 0, 0, 0), (2e-3, 0, 0, 0), (0, 1.0, 0, 0), (0, 0, 4.0, 0)]
        rates += [(0, 0, 0, 1.0)]
        r, _ = ex.meanfield_runs(cfg, H, psi0, np.array(rates, float))
        print(
            f"seed {seed}: max|ρ − |ψ|²| at ε = 0, κ = 1, s = 4, s' = 1:",
            [float(np.max(np.abs(r[i] - rho))) for i in (0, 3, 4, 5)],
        )
        for i, e in ((1, 1e-3), (2, 2e-3)):
            rel = np.max(np.abs(r[i] - rho - e * d1)) / (e * np.max(np.abs(d1)))
            print(f"  ε = {e:g}: relative remainder {rel:.3g}")
        d1f = ex.first_order(H, psi0, cfg.hbar, cfg.t_end, cfg.n_save, M=16000)
        print("  quadrature M = 8000 vs 16000:", np.max(np.abs(d1 - d1f)) / np.max(np.abs(d1)))


def reversal():
    """The time-reversal and second-harmonic claims' values on seeds 3 and 4, and the
    cross and harmonic remainders at ε = 2e-3 (second order: they should double)."""
    for seed in (3, 4):
        for e in (1e-3, 2e-3):
            cfg = dataclasses.replace(ex.Config.quick(), seed=seed, eps_linear=e)
            H, psi0 = ex.problem(cfg)
            rates = np.array(ex._cases(cfg, e) + [(x, 0, 0, 0) for x in cfg.eps_grid], float)
            etas = ex.harmonic_etas(cfg)
            rho, _, phi, harm = ex.meanfield_runs(cfg, H, psi0, rates, True, etas)
            out = ex.reversal_measurements(cfg, H, psi0, rates, rho, phi, harm)
            print(f"seed {seed}, ε = η = {e:g}:")
            for k, v in out.items():
                print(f"  {k}: {v}")


def noise(seed, dt):
    cfg = dataclasses.replace(ex.Config.quick(), process_dt=dt, seed=seed)
    H, psi0 = ex.problem(cfg)
    ts = np.linspace(0, cfg.t_end, cfg.n_save + 1)
    rho = np.abs(ex.exact_path(H, psi0, cfg.hbar, ts)[0]) ** 2
    S = np.sqrt(np.mean(ex.first_order(H, psi0, cfg.hbar, cfg.t_end, cfg.n_save)[1:] ** 2))
    lna = [
        ex.lna_msd(H, psi0, cfg.hbar, cfg.t_end, cfg.n_save, **kw)
        for kw in (
            {},
            {"kappa": cfg.kappa},
            {"exchange": cfg.exchange},
            {"ratio_exchange": cfg.ratio_exchange},
        )
    ]
    N, B, sets = cfg.N, cfg.batch, range(2, 10)
    es = np.sqrt(lna[0] / N) / S
    cases = np.array(ex._cases(cfg, es), float)
    keys = [jax.random.split(jax.random.key(k), B) for k in sets for _ in cases]
    rates = np.concatenate([np.repeat(c[None], B, 0) for _ in sets for c in cases])
    f = ex.process_runs(cfg, H, psi0, rates, np.full(len(rates), N), jnp.concatenate(keys))
    f = f.reshape(len(sets), len(cases), B, cfg.n_save + 1, 4)
    out = []
    for i in range(len(sets)):
        m = [ex.msd(f[i, j], rho) for j in range(len(cases))]
        shift = np.sqrt(np.mean(np.mean(f[i, 1] - f[i, 0], axis=0)[1:] ** 2))
        out.append(
            [
                m[0] * N / lna[0] - 1,
                shift / np.sqrt(lna[0] / N) - 1,
                m[2] * N / lna[1] - 1,
                m[3] * N / lna[2] - 1,
                m[4] * N / lna[3] - 1,
                np.log(m[4] / m[0]),
            ]
        )
    out = np.array(out)
    print(f"seed {seed}, dt {dt}: LNA N·MSD", np.round(lna, 4))
    print("columns factorized, ε*, gauge, exchange, in-class exchange, ln(MSD in-class/factorized)")
    print(np.round(out, 3))
    print("mean", np.round(out.mean(0), 4), "sd", np.round(out.std(0, ddof=1), 4))


if __name__ == "__main__":
    if sys.argv[1] == "linear":
        linear()
    elif sys.argv[1] == "reversal":
        reversal()
    else:
        noise(int(sys.argv[2]), float(sys.argv[3]))
