"""husimi-bose-hubbard: the Husimi Fokker-Planck equation for the Bose-Hubbard
dimer (4-D phase space) against exact diagonalization: site populations,
single-site Husimi marginals, the fitted C, and the fact that hopping
contributes no diffusion."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.experiment import Experiment, Recorder


@dataclasses.dataclass(frozen=True)
class Config:
    J: float = 1.0
    U: float = 0.6
    beta1: float = 1.5
    beta2_im: float = 1.0
    max_total: int = 20
    t_max: float = 6.0
    n_save: int = 24
    n_grid: int = 61
    fit_max_total: int = 8
    fit_C0: float = 0.5
    fit: bool = True  # the C fit (compile-heavy: off in quick())

    @classmethod
    def quick(cls) -> Config:
        return cls(fit=False, beta1=1.0, beta2_im=0.6, max_total=8, n_save=6, n_grid=31)


def run(config: Config, rec: Recorder) -> None:
    hs = jqd.husimi
    c = config
    H = hs.bose_hubbard(2, c.J, c.U)
    rec.metric("truncation_exact", hs.truncation_check(H).exact)
    # hopping contributes no diffusion: D of the hopping-only symbol is identically 0
    zs = np.random.default_rng(0).normal(size=(64, 4)) * 2
    d_hop = hs.diffusion_structure(hs.anti_wick_symbol(hs.bose_hubbard(2, c.J, 0.0)), zs)["max_abs"]
    d_full = hs.diffusion_structure(hs.anti_wick_symbol(H), zs)["max_abs"]
    d_onsite = hs.diffusion_structure(hs.anti_wick_symbol(hs.bose_hubbard(2, 0.0, c.U)), zs)[
        "max_abs"
    ]
    rec.claim(
        "max |D| of the hopping term",
        "SPEC §4: hopping Hessian commutes with J, no diffusion",
        d_hop,
        0.0,
    )
    full_D = jax.jit(jax.vmap(hs.diffusion_matrix(hs.anti_wick_symbol(H))))(zs)
    on_D = jax.jit(
        jax.vmap(hs.diffusion_matrix(hs.anti_wick_symbol(hs.bose_hubbard(2, 0.0, c.U))))
    )(zs)
    rec.claim(
        "D(full) − D(on-site only)",
        "SPEC §4: only the on-site terms diffuse",
        float(jnp.max(jnp.abs(full_D - on_D))),
        1e-12,
    )
    rec.metric("max_abs_D_full", d_full)
    rec.metric("max_abs_D_onsite", d_onsite)

    law = hs.HusimiGalerkin(H, max_total=c.max_total)
    basis = law.basis
    psi0 = hs.coherent_product([c.beta1, 1j * c.beta2_im], basis)
    dt = c.t_max / c.n_save
    sol = jqd.evolve(
        law,
        law.initial_state(psi0),
        hs.GalerkinParams(1.0),
        dt=dt,
        n_save=c.n_save,
        observe={
            "R": lambda t, y, p: y,
            "pop": lambda t, y, p: law.populations(y),
            "E": law.energy,
        },
    )
    ts = np.asarray(sol.ts)
    index = {tuple(o): i for i, o in enumerate(basis)}
    psi_t = np.zeros((len(ts), len(basis)), complex)
    for N in range(c.max_total + 1):
        bh = jqd.fock.BoseHubbard(2, N)
        idx = np.array([index[tuple(o)] for o in bh.basis])
        psi_t[:, idx] = np.asarray(jqd.reference.propagate(bh.hamiltonian(c.J, c.U), psi0[idx], ts))
    pops_exact = np.einsum("tn,nj->tj", np.abs(psi_t) ** 2, basis)
    pops = np.asarray(sol.observables["pop"])
    rec.claim(
        "site populations vs exact diagonalization",
        "SPEC §4 (C = 1 exact for Bose-Hubbard)",
        float(np.max(np.abs(pops - pops_exact))),
        1e-8,
    )
    E = np.asarray(sol.observables["E"])
    rec.claim("<H> drift", "SPEC §4: <H> conserved", float(np.max(np.abs(E - E[0]))), 1e-10)
    g = np.linspace(-4.5, 4.5, c.n_grid)
    h = g[1] - g[0]
    X, Y = np.meshgrid(g, g, indexing="ij")
    al = (X + 1j * Y)[..., None]
    marg_err = 0.0
    snaps = {}
    for i in (0, len(ts) // 2, len(ts) - 1):
        for mode in (0, 1):
            rg, rb = hs.reduced_density_matrix(sol.observables["R"][i], basis, (mode,))
            re_, _ = hs.reduced_density_matrix(jnp.asarray(psi_t[i]), basis, (mode,))
            qg, qe = (
                np.asarray(hs.husimi(rg, al, basis=rb)),
                np.asarray(hs.husimi(re_, al, basis=rb)),
            )
            marg_err = max(marg_err, float(np.sum(np.abs(qg - qe)) * h * h))
            snaps[(i, mode)] = qg
    rec.claim("site Husimi marginals (L1) vs exact diagonalization", "SPEC §4", marg_err, 1e-8)

    fit_C = float("nan")
    if c.fit:
        # C fit from exact Husimi data on a small dimer
        flaw = hs.HusimiGalerkin(H, max_total=c.fit_max_total)
        fb = flaw.basis
        fpsi = hs.coherent_product([0.9, 0.5j], fb)
        rho = hs.exact_husimi_density(H.matrix(fb), fpsi, fb)
        q = np.linspace(-3, 3, 6)
        G = np.meshgrid(q, q, q, q, indexing="ij")
        z = np.stack([x.ravel() for x in G], 1)
        fal = np.asarray(hs.alphas_from_z(z))
        fdt, sps, ns = 0.02, 5, 3
        data = jnp.stack(
            [jax.vmap(lambda x: rho(x, fdt * sps * k))(z) * 4.0 for k in range(1, ns + 1)]
        )
        fit = hs.fit_C(
            flaw,
            flaw.initial_state(fpsi),
            fal,
            data,
            dt=fdt,
            n_save=ns,
            steps_per_save=sps,
            C0=c.fit_C0,
            max_iter=30,
        )
        rec.claim(
            "fitted C",
            "SPEC §4: quantum mechanics is C = 1 (|C − 1|)",
            abs(float(fit.C) - 1.0),
            1e-4,
        )
        rec.metric("C_fit", float(fit.C))
        fit_C = float(fit.C)
        rec.metric("C_fit_iterations", fit.iterations)

    import matplotlib.pyplot as plt
    import xarray as xr

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    ax = axes[0]
    for j, col in ((0, "C0"), (1, "C3")):
        ax.plot(ts, pops_exact[:, j], "-", color=col, label=f"exact ⟨n_{j + 1}⟩")
        ax.plot(ts, pops[:, j], "o", color=col, ms=4, mfc="none", label=f"Husimi FP ⟨n_{j + 1}⟩")
    ax.set_xlabel("t (1/J)")
    ax.set_ylabel("site population")
    ax.legend(fontsize=8)
    ax.set_title("populations")
    for k, (i, mode) in enumerate(((len(ts) // 2, 0), (len(ts) - 1, 0))):
        ax = axes[k + 1]
        im = ax.imshow(snaps[(i, mode)].T, origin="lower", extent=[g[0], g[-1]] * 2, cmap="magma")
        ax.set_xlabel("Re α_1")
        ax.set_ylabel("Im α_1")
        ax.set_title(f"site-1 Husimi marginal (FP), t = {ts[i]:.2f}")
        fig.colorbar(im, ax=ax, label="Q_H marginal")
    fig.suptitle(
        f"Bose-Hubbard dimer: Husimi FP = exact diagonalization (populations err {np.max(np.abs(pops - pops_exact)):.1e}); "
        f"fitted C = {fit_C:.6f}; hopping max|D| = {d_hop:g}"
    )
    rec.figure(fig, "dimer.png")
    rec.arrays(
        xr.Dataset(
            {"pop_fp": (("t", "site"), pops), "pop_exact": (("t", "site"), pops_exact)},
            coords={"t": ts, "site": [1, 2]},
        ),
        "dimer_populations.nc",
    )


EXPERIMENT = Experiment(
    name="husimi-bose-hubbard",
    description="Husimi Fokker-Planck (Galerkin) for the Bose-Hubbard dimer vs exact diagonalization; C fit",
    config=Config,
    run=run,
)
