"""Two ground-state blocks collide and fuse: does the harmonic solid
thermalize? (physics §7.2-§7.4; paper T §1-2, fig. 1)

A chain of 2·n_block atoms between two walls (`jqd.thermal.Lattice`, fixed
ends), cut in the middle: each half (one wall, one free end) is in its own
ground state and moves at ±v towards the other; at t = 0 the middle spring is
restored (`jqd.thermal.joined_blocks`). The dense Gaussian state (the blocks'
ground state correlates the joined chain's modes) is evolved exactly with
`jqd.thermal.HarmonicLattice(covariance="dense")` through `jqd.evolve`, one
exact step of dt per save, for n_save saves. Measured at every save: atom
variances, ⟨H⟩ and Var H, mode occupations n_k and symplectic (incoherent)
occupations ν_k, ⟨KE⟩ and ⟨PE⟩, and two local observables at the junction
(the squared stretch of the junction bond, the kinetic energy of its right
atom), whose time averages are compared with the generalized Gibbs ensemble
(GGE) built from the conserved mode energies, and with the Gibbs state of
the same energy.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, experiment_config, panel

GOLDEN = (1 + math.sqrt(5)) / 2
KS_C_1PCT = 1.63  # two-sample Kolmogorov-Smirnov: critical D = 1.63 √(2/M) at the 1 % level


@experiment_config(
    quick=dict(n_block=8, n_save=10000),
    limits={
        "n_block": ">= 2",
        "mass": "> 0",
        "spring": "> 0",
        "hbar": "> 0",
        "velocity": ">= 0",
        "dt": "> 0",
        "n_save": ">= 10",
        "mass_check": "> 0",
    },
)
class Config:
    """Units: spacing a = 1, mass m, spring κ (sound speed 1); times in √(m/κ).

    Attributes:
        n_block: atoms per block (the fused chain has 2·n_block atoms).
        mass: atom mass m.
        spring: spring constant κ.
        hbar: ħ in units of a²√(mκ) (0.02: ground widths ≈ 0.1 a).
        velocity: speed v of each block towards the other (sound speed 1).
        dt: time between saves (one exact mode rotation; any dt is exact).
        n_save: saved times; the record covers t in [0, n_save·dt].
        mass_check: atom mass of a second, short run (the check at m ≠ 1,
            with the same ħ, v and springs) against a NumPy reference.
        check_saves: saves of that run (t up to check_saves·dt).
    """

    n_block: int = 16
    mass: float = 1.0
    spring: float = 1.0
    hbar: float = 0.02
    velocity: float = 0.1
    dt: float = 0.9
    n_save: int = 20000
    mass_check: float = 2.5
    check_saves: int = 50


def ks_distance(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic sup_x |F_a(x) − F_b(x)|."""
    a, b = np.sort(np.asarray(a)), np.sort(np.asarray(b))
    x = np.concatenate([a, b])
    Fa = np.searchsorted(a, x, side="right") / len(a)
    Fb = np.searchsorted(b, x, side="right") / len(b)
    return float(np.max(np.abs(Fa - Fb)))


def gibbs_temperature(omega, hbar, energy) -> float:
    """T with Σ_k (ħω_k/2) coth(ħω_k/2T) = energy (bisection in log T)."""
    e0 = float(np.sum(hbar * omega / 2))
    if energy <= e0:
        return 0.0
    f = lambda T: np.sum(hbar * omega / 2 / np.tanh(hbar * omega / (2 * T))) - energy  # noqa: E731
    lo, hi = 1e-12, 1.0
    while f(hi) < 0:
        hi *= 2
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return math.sqrt(lo * hi)


def chain_second_moments(n_block, mass, spring, hbar, velocity, ts):
    """⟨u_j²⟩(t) = Var u_j + ⟨u_j⟩² of the joined blocks, independently of
    jqd.thermal: K of the walled chain by hand, the cut chain's ground state
    ⟨uuᵀ⟩ = (ħ/2)(mκK_cut)^{−1/2}, ⟨ppᵀ⟩ = (ħ/2)(mκK_cut)^{1/2}, ⟨p_j⟩ = ±mv,
    propagated by S(t) = expm(t [[0, 1/m], [−κK, 0]]) (scipy)."""
    import scipy.linalg as sla

    N = 2 * n_block
    K = 2 * np.eye(N) - np.eye(N, k=1) - np.eye(N, k=-1)  # walls at both ends
    cut = K.copy()
    cut[n_block - 1, n_block] = cut[n_block, n_block - 1] = 0.0
    cut[n_block - 1, n_block - 1] -= 1.0
    cut[n_block, n_block] -= 1.0
    lam, V = np.linalg.eigh(mass * spring * cut)
    cov = np.zeros((2 * N, 2 * N))
    cov[:N, :N] = (V / np.sqrt(lam)) @ V.T * hbar / 2
    cov[N:, N:] = (V * np.sqrt(lam)) @ V.T * hbar / 2
    mean = np.concatenate([np.zeros(N), np.where(np.arange(N) < n_block, 1, -1) * mass * velocity])
    A = np.block([[np.zeros((N, N)), np.eye(N) / mass], [-spring * K, np.zeros((N, N))]])
    out = []
    for t in ts:
        S = sla.expm(t * A)[:N]
        out.append(np.einsum("ij,jk,ik->i", S, cov, S) + (S @ mean) ** 2)
    return np.asarray(out)


def width_ratio_bound(y0, U, omega, mass, ground_var) -> float:
    """An upper bound on max_j sup_t Var x_j(t)/ground for every t, not only the
    sampled ones. With φ_k = ω_k t, Var x_j(t) = Σ_kl U_jk U_jl [cos φ_k cos φ_l
    Σqq_kl + sin φ_k sin φ_l Σpp_kl/(m²ω_kω_l) + (cos·sin cross terms)]; writing the
    products as ½[cos(φ_k − φ_l) ± cos(φ_k + φ_l)] and bounding every cosine with
    k ≠ l (and the cos 2φ_k terms) by 1 gives the triangle-inequality bound."""
    N = len(omega)
    M = np.asarray(y0.cov.matrix)
    qq, qp, pp = M[:N, :N], M[:N, N:], M[N:, N:]
    pp = pp / (mass**2 * np.outer(omega, omega))
    qp = qp / (mass * omega[None, :])
    out = 0.0
    for j in range(N):
        P = np.outer(U[j], U[j])
        A, B = 0.5 * P * (qq + pp), 0.5 * P * (qq - pp)
        const = np.trace(A)
        osc = np.abs(A - np.diag(np.diag(A))).sum() + np.abs(B).sum() + 2 * np.abs(P * qp).sum()
        out = max(out, (const + osc) / ground_var[j])
    return float(out)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    T = jqd.thermal
    n = config.n_block
    N = 2 * n
    lattice = T.Lattice((N,), "fixed")
    law = T.HarmonicLattice(lattice, covariance="dense")
    modal = T.HarmonicLattice(lattice, covariance="mode")  # for GGE / Gibbs states
    params = T.LatticeParams(mass=config.mass, spring=config.spring, pinning=0.0, hbar=config.hbar)
    m, hb = config.mass, config.hbar
    U, lam = lattice.modes()
    omega = np.sqrt(config.spring * lam / m)
    ground_var = hb / (2 * m) * (U**2 / omega[None, :]).sum(1)  # closed form, fused chain
    bonds = lattice.bonds()
    junction = int(np.nonzero((bonds[:, 0] == n - 1) & (bonds[:, 1] == n))[0][0])

    def watch(t, y, p):
        mean_x = lattice.to_atoms(y.q)
        mean_p = lattice.to_atoms(y.p)
        C = T.atom_covariance(law, y)
        pp = lattice.to_atoms(lattice.to_atoms(y.cov.matrix[N:, N:]).T)  # Cov(p_i, p_j)
        return {
            "var": jnp.diagonal(C),
            "E": law.energy(t, y, p),
            "varH": T.energy_variance(law, p, y),
            "n": T.mode_occupation(law, p, y),
            "nu": T.symplectic_occupation(law, p, y),
            "KE": T.kinetic_energy(law, p, y),
            "PE": T.potential_energy(law, p, y),
            "bond2": T.bond_variance(law, y)[junction] + (mean_x[n] - mean_x[n - 1]) ** 2,
            "ke_atom": (pp[n, n] + mean_p[n] ** 2) / (2 * m),
        }

    y0 = T.joined_blocks(law, params, n, config.velocity)
    sol = jqd.evolve(
        law, y0, params, dt=config.dt, n_save=config.n_save, observe=watch, checkpoint=False
    )
    ts = np.asarray(sol.ts)
    obs = {k: np.asarray(v) for k, v in sol.observables.items()}

    # 1. localization: atom widths over the fused chain's ground widths
    ratio = obs["var"] / ground_var[None, :]
    rec.claim(
        "localization persists: max Var x_j / ground <= 2.5",
        "physics §7.2: after the collision every atom's variance stays within 2.5x its "
        "ground-state value (fused chain, closed form (ħ/2m) Σ_k U_jk²/ω_k), max over j and t",
        measured=float(ratio.max()),
        tolerance=2.5,
    )

    rec.metric("width_ratio_sup_bound", width_ratio_bound(y0, U, omega, m, ground_var))

    # 1b. the same evolution at m ≠ 1 (the momenta ±mv, ω = √(κλ/m)) against NumPy
    mc = config.mass_check
    params_c = T.LatticeParams(mass=mc, spring=config.spring, pinning=0.0, hbar=hb)
    sol_c = jqd.evolve(
        law, T.joined_blocks(law, params_c, n, config.velocity), params_c, dt=config.dt,
        n_save=config.check_saves, checkpoint=False,
        observe=lambda t, y, p: T.atom_variance(law, y) + lattice.to_atoms(y.q) ** 2,
    )  # fmt: skip
    claim_max_error(
        rec,
        f"⟨u_j²⟩(t) at m = {mc:g}, ħ = {hb:g}",
        f"physics §7.2: Var u_j + ⟨u_j⟩² of every atom at t ≤ {config.check_saves * config.dt:g} "
        "(momenta ±mv) against the NumPy reference: the cut chain's ground state "
        "(ħ/2)(mκK_cut)^{∓1/2} propagated by expm(t[[0, 1/m], [−κK, 0]]) (max relative error)",
        np.asarray(sol_c.observables),
        chain_second_moments(n, mc, config.spring, hb, config.velocity, np.asarray(sol_c.ts)),
        tolerance=1e-10,
        relative=True,
    )

    # 2. the energy spread is conserved
    dH = np.sqrt(obs["varH"])
    dE_err = claim_max_error(
        rec,
        "energy spread conserved",
        "physics §7.2: ΔE(t) = √Var H(t) stays ΔE(0), max relative change",
        dH,
        dH[0],
        tolerance=1e-10,
        relative=True,
    )
    Eh = obs["E"]
    rec.metric("energy_relative_drift", float(np.max(np.abs(Eh / Eh[0] - 1))))
    rec.metric("delta_E_over_E_above_ground", float(dH[0] / (Eh[0] - np.sum(hb * omega / 2))))

    # 3. no thermalization: occupations and the incoherent fraction fixed
    occ, nu = obs["n"], obs["nu"]
    frac = (nu * omega).sum(1) / (occ * omega).sum(1)  # incoherent share of excitation energy
    occ_err = float(np.max(np.abs(occ - occ[0])) / np.max(occ[0]))
    frac_err = float(np.max(np.abs(frac - frac[0])))
    rec.claim(
        "no thermalization: occupations and incoherent fraction fixed",
        "physics §7.3: max_k,t |n_k(t) − n_k(0)| / max n_k and |f(t) − f(0)|, "
        "f = Σ ω_k ν_k / Σ ω_k n_k (ν_k: symplectic occupation), whichever is larger",
        measured=max(occ_err, frac_err),
        tolerance=1e-10,
    )
    rec.metric("incoherent_fraction", float(frac[0]))

    # 4. h_KE = h_PE (no free centre of mass between walls)
    # samples a golden ratio of slowest periods apart: ≥ the longest correlation time, and
    # the slowest mode's phase advances by the golden angle (no aliasing)
    every = max(1, round(GOLDEN * 2 * math.pi / (omega.min() * config.dt)))
    pick = np.arange(0, len(ts), every)
    M = len(pick)
    ks = ks_distance(obs["KE"][pick], obs["PE"][pick])
    rec.claim(
        "h_KE = h_PE: KS(<KE>, <PE>) <= 1.63 sqrt(2/M)",
        f"physics §7.2: time-averaged distributions of ⟨KE⟩(t) and ⟨PE⟩(t), M = {M} samples "
        f"{every * config.dt:.4g} apart (1.618 slowest periods); bound "
        f"{KS_C_1PCT * math.sqrt(2 / M):.3g}",
        measured=ks,
        tolerance=KS_C_1PCT * math.sqrt(2 / M),
    )
    rec.metric("ks_M", M)
    rec.metric("ks_all_saves", ks_distance(obs["KE"], obs["PE"]))

    # 5. local observables: time average vs GGE (and vs Gibbs at the same energy)
    Ek = np.asarray(T.mode_energies(law, params, y0))
    zero, qq, pp = jax.device_put((np.zeros(N), Ek / (m * omega**2), m * Ek))
    gge = T.GaussianState(zero, zero, T.ModeCovariance(qq=qq, qp=zero, pp=pp))
    temp = gibbs_temperature(omega, hb, float(Ek.sum()))
    gibbs = T.thermal_state(modal, params, temp)

    def local(state):
        """(junction bond ⟨stretch²⟩, ⟨p²⟩/2m of atom n) of a mean-zero mode state."""
        pp = np.asarray(state.cov.pp)
        return (
            float(np.asarray(T.bond_variance(modal, state))[junction]),
            float((U[n] ** 2 * pp).sum() / (2 * m)),
        )

    avg = (obs["bond2"].mean(), obs["ke_atom"].mean())
    gge_val, gibbs_val = local(gge), local(gibbs)
    gge_err = claim_max_error(
        rec,
        "local GGE",
        "physics §7.3: time averages of the junction bond's ⟨stretch²⟩ and of atom n's "
        "⟨KE⟩ match the generalized Gibbs ensemble of the conserved mode energies "
        "(max relative error)",
        avg,
        gge_val,
        tolerance=1e-3,
        relative=True,
        metric="gge_error",
    )
    gibbs_dev = max(abs(g / b - 1) for g, b in zip(gge_val, gibbs_val, strict=True))
    rec.metric("gibbs_temperature", temp)
    rec.metric("gge_vs_gibbs_local_relative", gibbs_dev)
    E_gibbs = hb * omega / 2 / np.tanh(hb * omega / (2 * temp)) if temp > 0 else hb * omega / 2
    rec.metric("mode_energy_max_over_gibbs", float(np.max(Ek / E_gibbs)))
    rec.metric("mode_energy_min_over_gibbs", float(np.min(Ek / E_gibbs)))
    rec.metric("max_width_ratio", float(ratio.max()))
    rec.metric("occupation_error", occ_err)
    rec.metric("incoherent_fraction_error", frac_err)

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0, 0]
    ax.plot(ts[1:], ratio.max(1)[1:], lw=0.6)
    ax.axhline(2.5, color="r", ls="--", label="claim 2.5")
    panel(ax, "t (√(m/κ))", "max_j Var x_j / ground")
    ax.set_xscale("log")
    ax.set_title(f"localization persists: max ratio {ratio.max():.2f}", fontsize=9)
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    bins = np.linspace(
        min(obs["KE"].min(), obs["PE"].min()), max(obs["KE"].max(), obs["PE"].max()), 60
    )
    ax.hist(obs["KE"], bins, density=True, histtype="step", label="h_KE (all saves)")
    ax.hist(obs["PE"], bins, density=True, histtype="step", label="h_PE (all saves)")
    ax.set_xlabel("energy (κa²)")
    ax.set_title(
        f"h_KE = h_PE: KS = {ks:.3f} (M = {M}, bound {KS_C_1PCT * math.sqrt(2 / M):.3f})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    k = np.arange(N)
    floor = 1e-8  # modes left exactly in their ground state (n_k ≈ 1e-16) are drawn here
    n_gibbs = 1 / np.expm1(hb * omega / temp) if temp > 0 else 0 * omega
    ax.semilogy(k, np.maximum(occ[0], floor), "o", ms=5, label="n_k(0)")
    ax.semilogy(k, np.maximum(occ[-1], floor), "x", ms=7, label="n_k(t_max)")
    ax.semilogy(k, n_gibbs, "k-", label=f"Bose-Einstein, same energy (T = {temp:.3g})")
    panel(ax, "mode k (by frequency)", f"occupation n_k (floor {floor:g})")
    ax.set_title(
        f"no thermalization: n_k fixed to {occ_err:.0e}, incoherent fraction "
        f"{frac[0]:.3f} fixed to {frac_err:.0e}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    run_avg = np.cumsum(obs["bond2"]) / np.arange(1, len(ts) + 1)
    ax.plot(ts, run_avg / gge_val[0], label="running ⟨stretch²⟩ junction / GGE")
    ax.axhline(1.0, color="k", lw=1)
    ax.axhline(gibbs_val[0] / gge_val[0], color="r", ls="--", label="Gibbs / GGE")
    ax.set_xscale("log")
    panel(ax, "t (√(m/κ))", "junction ⟨stretch²⟩ / GGE value")
    ax.set_title(
        f"local GGE: time average = GGE to {gge_err:.1e}; Gibbs off by {gibbs_dev:.0%}", fontsize=9
    )
    ax.legend(fontsize=8)
    fig.suptitle(
        f"Fused blocks (2×{n} atoms, v = ±{config.velocity:g}): localized, ΔE conserved "
        f"({dE_err:.0e}), dephased to the GGE ({gge_err:.0e}), not thermalized"
    )
    fig.tight_layout()
    rec.figure(fig, "block_collision.png")

    ds = xr.Dataset(
        {
            "width_ratio": (("t", "atom"), ratio),
            "energy_spread": (("t",), dH),
            "occupation": (("t", "mode"), occ),
            "symplectic_occupation": (("t", "mode"), nu),
            "kinetic": (("t",), obs["KE"]),
            "potential": (("t",), obs["PE"]),
            "junction_stretch2": (("t",), obs["bond2"]),
            "junction_atom_ke": (("t",), obs["ke_atom"]),
            "mode_energy": (("mode",), Ek),
            "mode_energy_gibbs": (("mode",), E_gibbs),
        },
        coords={"t": ts, "atom": np.arange(N), "mode": k, "omega": ("mode", omega)},
        attrs={
            "hbar": hb,
            "velocity": config.velocity,
            "gge_junction": gge_val,
            "gibbs_junction": gibbs_val,
        },
    )
    rec.arrays(ds, "block_collision.nc")


EXPERIMENT = Experiment(
    description="Two ground-state blocks fuse at ±v: localized, ΔE and mode occupations "
    "conserved, h_KE = h_PE, local GGE (no thermalization)",
    physics="§7.2, §7.3, §7.4",
    compile_bound=True,
)
