"""husimi-bose-hubbard: the Husimi Fokker-Planck equation for the Bose-Hubbard
dimer (4-D phase space) against exact diagonalization: site populations,
single-site Husimi marginals, the fitted C, and the fact that hopping
contributes no diffusion."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_fitted_C, claim_max_error, experiment_config, panel


@experiment_config(
    quick=dict(fit=False, beta1=1.0, beta2_im=0.6, max_total=8, n_save=6, n_grid=31),
    limits={
        "t_max": "> 0",
    },
)
class Config:
    """Bose-Hubbard dimer, Husimi Fokker-Planck vs exact diagonalization (ħ = 1).

    Attributes:
        J: hopping amplitude (energy units) of −J(a1† a2 + h.c.).
        U: on-site interaction (energy units) of (U/2) Σ_i a_i†² a_i².
        beta1: coherent amplitude of site 1 in the initial product state (real).
        beta2_im: imaginary part of site 2's coherent amplitude (β2 = i·beta2_im).
        max_total: Fock truncation: total boson number N <= max_total.
        t_max: end of the adaptive (Dopri8) run (1/J units when J = 1; > 0).
        n_save: saved times in [0, t_max].
        n_grid: points per axis of the site Husimi marginals' grid (Re α, Im α
            in [−4.5, 4.5]).
        fit_max_total: Fock truncation of the small dimer the C fit uses.
        fit_C0: starting value of C for the fit (quantum mechanics is C = 1).
        fit: run the C fit (compile-heavy: off in quick()).
    """

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
    fit: bool = True


def run(config: Config, rec: Recorder) -> None:
    hs = jqd.husimi
    c = config
    # The start must fit the truncation Σn <= max_total: the weight |β1⟩|iβ2⟩ puts
    # beyond it is a Poisson(|β1|² + |β2|²) tail. (The law's monitor does not refuse a
    # full top shell at C = 1 here: for this number-conserving H the truncation of the
    # dynamics is exact, only the start's can be wrong.)
    from scipy.stats import poisson

    mean_n = c.beta1**2 + c.beta2_im**2
    cut = float(poisson.sf(c.max_total, mean_n))
    if not cut <= 1e-3:
        raise ValueError(
            f"max_total={c.max_total} cuts {cut:.2g} of the start's weight (Σn of "
            f"|β1⟩|iβ2⟩ is Poisson({mean_n:g})); raise max_total (at most 1e-3 may be cut)."
        )
    H = hs.bose_hubbard(2, c.J, c.U)
    rec.metric("truncation_exact", hs.truncation_check(H).exact)
    # hopping contributes no diffusion: D of the hopping-only symbol is identically 0
    zs = np.random.default_rng(0).normal(size=(64, 4)) * 2
    d_hop = hs.diffusion_structure(hs.anti_wick_symbol(hs.bose_hubbard(2, c.J, 0.0)), zs)["max_abs"]
    rec.claim(
        "max |D| of the hopping term",
        "physics §4: hopping Hessian commutes with J, no diffusion",
        d_hop,
        0.0,
    )
    symbols = (hs.anti_wick_symbol(H), hs.anti_wick_symbol(hs.bose_hubbard(2, 0.0, c.U)))
    full_D, on_D = jax.jit(  # one program for both
        lambda z: tuple(jax.vmap(hs.diffusion_matrix(s))(z) for s in symbols)
    )(zs)
    claim_max_error(
        rec,
        "D(full) − D(on-site only)",
        "physics §4: only the on-site terms diffuse",
        full_D,
        on_D,
        1e-12,
    )
    # max|D| (diffusion_structure's "max_abs") of the matrices above: max is exact
    rec.metric("max_abs_D_full", float(np.max(np.abs(np.asarray(full_D)))))
    rec.metric("max_abs_D_onsite", float(np.max(np.abs(np.asarray(on_D)))))

    law = hs.HusimiGalerkin(H, max_total=c.max_total)
    basis = law.basis
    psi0 = hs.coherent_product([c.beta1, 1j * c.beta2_im], basis)
    # The Fokker-Planck operator L(C) of F65-66 itself (law.vector_field), integrated
    # adaptively: not the unitary split, which at C = 1 is e^{-iH_P t} by construction.
    sol = jqd.evolve_adaptive(
        law,
        law.initial_state(psi0),
        hs.GalerkinParams(1.0),
        np.linspace(0.0, c.t_max, c.n_save + 1),  # = jnp.linspace, with no program
        solver=diffrax.Dopri8(),
        rtol=1e-12,
        atol=1e-14,
        on_breakdown="flag",  # a state leaving the Fock basis shows up in the claims below
        observe={
            "R": lambda t, y, p: y,
            "pop": lambda t, y, p: law.populations(y),
            "E": law.energy,
        },
    )
    ts = np.asarray(sol.ts)
    rec.metric("fock_truncation_time", float(sol.stats["breakdown_time"]))
    index = {tuple(o): i for i, o in enumerate(basis)}
    psi0_host = np.asarray(psi0)  # indexed per sector below: NumPy, no program per shape
    psi_t = np.zeros((len(ts), len(basis)), complex)
    H_exact = np.zeros((len(basis), len(basis)), complex)  # block diagonal in N, from jqd.fock
    for N in range(c.max_total + 1):
        bh = jqd.fock.BoseHubbard(2, N)
        idx = np.array([index[tuple(o)] for o in bh.basis])
        H_N = np.asarray(bh.hamiltonian(c.J, c.U))
        H_exact[np.ix_(idx, idx)] = H_N
        psi_t[:, idx] = np.asarray(jqd.reference.propagate(H_N, psi0_host[idx], ts))
    pops_exact = np.einsum("tn,nj->tj", np.abs(psi_t) ** 2, basis)
    pops = np.asarray(sol.observables["pop"])
    claim_max_error(
        rec,
        "site populations vs exact diagonalization",
        "physics §4: the Fokker-Planck equation (F65-66) at C = 1 is exact for Bose-Hubbard",
        pops,
        pops_exact,
        tolerance=1e-8,
    )
    E = np.asarray(sol.observables["E"])
    claim_max_error(rec, "<H> drift", "physics §4: <H> conserved", E, E[0], 1e-10)
    g = np.linspace(-4.5, 4.5, c.n_grid)
    h = g[1] - g[0]
    X, Y = np.meshgrid(g, g, indexing="ij")
    al = (X + 1j * Y)[..., None]
    marg_err = 0.0
    snaps = {}
    R_saved = np.asarray(sol.observables["R"])  # indexed on the host: no program per index
    for i in (0, len(ts) // 2, len(ts) - 1):
        for mode in (0, 1):
            rg, rb = hs.reduced_density_matrix(R_saved[i], basis, (mode,))
            re_, _ = hs.reduced_density_matrix(psi_t[i], basis, (mode,))
            qg, qe = (
                np.asarray(hs.husimi(rg, al, basis=rb)),
                np.asarray(hs.husimi(re_, al, basis=rb)),
            )
            marg_err = max(marg_err, float(np.sum(np.abs(qg - qe)) * h * h))
            snaps[(i, mode)] = qg
    rec.claim("site Husimi marginals (L1) vs exact diagonalization", "physics §4", marg_err, 1e-8)

    # Closure: P L(1) P = −i[H_P, ·] (H_P from the operator matrix), on the run's states
    closure = np.array(
        # C as an array: traced, one program for both values (a Python float is static)
        [
            [float(hs.galerkin_closure_error(law, R, np.asarray(C))) for R in R_saved]
            for C in (1.0, 0.5)
        ]
    )
    rec.claim(
        "closure ‖P L(1) P R + i[H_P, R]‖ / ‖[H_P, R]‖, every save",
        "physics §4 (F64): for a truncating H the projected L(1) is the quantum Liouvillian",
        float(closure[0].max()),
        1e-13,
    )
    rec.claim(
        "closure at C = 0.5 (the check has power)",
        "physics §4: L(C) − L(1) = (C − 1) × diffusion ≠ 0",
        float(closure[1].min()),
        0.1,
        op=">=",
    )

    # Instantaneous least squares on the exact states: dR/dt = a·Liouville(R) + b·Diffusion(R),
    # with dR/dt = −i[H, R] from the exact-diagonalization Hamiltonian (jqd.fock.BoseHubbard)
    @jax.jit  # one program for the exact data, not one per eager op
    def exact_data(psi_t, H_exact):
        R_ex = jnp.einsum("tm,tn->tmn", psi_t, psi_t.conj())
        return R_ex, -1j * (H_exact @ R_ex - R_ex @ H_exact)

    coef = np.asarray(hs.fp_coefficients(law, *exact_data(psi_t, H_exact)))
    claim_max_error(
        rec,
        "least-squares (Liouville, diffusion) coefficients on exact data, max |coef − 1|",
        "physics §4: dR/dt of exact evolution = drift term + C · diffusion term with C = 1",
        coef,
        1.0,
        tolerance=1e-8,
    )
    rec.metric("ls_coefficients", coef)
    rec.metric("closure_C1", closure[0])
    rec.metric("closure_C05", closure[1])

    fit_C = float("nan")
    if c.fit:
        # C fit from exact Husimi data on a small dimer
        flaw = hs.HusimiGalerkin(
            H, max_total=c.fit_max_total, scheme=jqd.schemes.Exact()
        )  # over L(C) itself
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
        fit_C = claim_fitted_C(rec, flaw, fpsi, fal, data, dt=fdt, steps_per_save=sps, C0=c.fit_C0)

    import matplotlib.pyplot as plt
    import xarray as xr

    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.4), constrained_layout=True)
    ax = axes[0]
    for j, col in ((0, "C0"), (1, "C3")):
        # exact only at the saved times: dots joined by thin lines, not a smooth curve
        ax.plot(ts, pops_exact[:, j], ".-", lw=0.8, color=col, label=f"exact ED ⟨n_{j + 1}⟩")
        ax.plot(ts, pops[:, j], "o", color=col, ms=8, mfc="none", label=f"Husimi FP ⟨n_{j + 1}⟩")
    panel(ax, "t (1/J)", "site population", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_title(f"populations at the {len(ts)} saved times")
    for k, (i, mode) in enumerate(((len(ts) // 2, 0), (len(ts) - 1, 0))):
        ax = axes[k + 1]
        im = ax.imshow(snaps[(i, mode)].T, origin="lower", extent=[g[0], g[-1]] * 2, cmap="magma")
        panel(ax, "Re α_1", "Im α_1", f"site-1 Husimi marginal (FP), t = {ts[i]:.2f}")
        fig.colorbar(im, ax=ax, label="Q_H marginal")
    fig.suptitle(
        f"Bose-Hubbard dimer: Husimi FP = exact diagonalization (populations err {np.max(np.abs(pops - pops_exact)):.1e});\n"
        + (f"fitted C = {fit_C:.6f}" if c.fit else "C fit not run (fit=False, as in quick mode)")
        + f"; hopping max|D| = {d_hop:g}"
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
    description="Husimi Fokker-Planck (Galerkin) for the Bose-Hubbard dimer vs exact diagonalization; C fit",
    physics="§4.2-4.4",
    compile_bound=True,
)
