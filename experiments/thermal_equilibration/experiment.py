"""Equilibration without changing eigenstate weights (physics §7.7).

A product state of the mixed-field Ising chain (`jqd.thermal.mixed_field_ising`)
is evolved by `jqd.evolve` with the Chebyshev `SchrodingerLocal` law; its
eigenstate weights |c_n|² (exact diagonalization in the even reflection sector)
stay fixed while ⟨O(t)⟩ relaxes to the diagonal ensemble, which ETH makes equal to
the microcanonical value. Energy-filtered versions of the state show the
temporal fluctuations shrinking as the energy spread ΔE grows.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import (
    claim_exponent,
    claim_max_error,
    experiment_config,
    panel,
    sparse_hamiltonian,
    tensor_power,
)

SX = np.array([[0.0, 1.0], [1.0, 0.0]])


@experiment_config(
    quick=dict(L=10, n_save=40),
    limits={
        "L": ">= 6, <= 14",
        "dt": "> 0",
        "width": "> 0",
    },
)
class Config:
    """Equilibration of a product state (ħ = 1, energies in units of J = 1).

    Attributes:
        L: chain length (open mixed-field Ising chain, J = 1, h_x = 0.9045, h_z = 0.8090).
        theta: every spin starts as cos(θ/2)|↑⟩ + sin(θ/2)|↓⟩ (angle from +z in the
            x-z plane); θ = −1.3 gives β ≈ 0.31 (L = 10, 12).
        dt: Chebyshev step of `jqd.evolve` (one step per save).
        n_save: number of saves (t_max = dt · n_save).
        width: microcanonical window width (|E − E0| ≤ width/2).
        narrow: the filtered state of the O_DE = O_mc claim has ΔE · narrow.
        filters: shell widths σ, as fractions of the product state's ΔE, of the
            typical states c_n ∝ ξ_n exp(−(E_n − E0)²/4σ²) (ξ_n normal, from `seed`)
            used for σ_t² vs ΔE.
        seed: seed of the random amplitudes ξ_n (also `jqd run --seed`).
    """

    L: int = 12
    theta: float = -1.3
    dt: float = 0.25
    n_save: int = 80
    width: float = 1.0
    narrow: float = 0.1
    filters: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8)
    seed: int = 0


def smooth(E, O_diag, sigma):
    """LOCAL: the smooth part Ō(E_n) of O_nn, a Gaussian (std sigma) kernel average
    over the levels (defined at every level, unlike a fixed-count window at the edges)."""
    K = np.exp(-((E[:, None] - E[None, :]) ** 2) / (2 * sigma**2))
    return (K @ O_diag) / K.sum(axis=1)


def central_pair(L):
    """O = (σˣ_{L/2−1} + σˣ_{L/2})/2: local, reflection-symmetric, ‖O‖ = 1."""

    def at(site):
        return sp.kron(sp.kron(sp.identity(2**site), SX), sp.identity(2 ** (L - site - 1)))

    return ((at(L // 2 - 1) + at(L // 2)) / 2).tocsr()


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    L = config.L
    law, params = jqd.thermal.mixed_field_ising(L)
    P = sp.csr_matrix(jqd.thermal.reflection_sector((2,) * L))
    E, V = np.linalg.eigh((P.T @ sparse_hamiltonian(law, params) @ P).toarray())
    B = P @ V  # eigenvectors in the full space (D, D_s)
    O = central_pair(L)
    O_eig = V.T @ ((P.T @ O @ P) @ V)
    O_diag = np.diag(O_eig)

    spin = np.array([math.cos(config.theta / 2), math.sin(config.theta / 2)])  # tilted by θ
    psi0 = tensor_power(spin, L)
    c0 = B.T @ psi0
    leak = abs(1 - float(c0 @ c0))  # the product state is reflection-even
    sol = jqd.evolve(
        law,
        jnp.asarray(psi0, complex),
        params,
        dt=config.dt,
        n_save=config.n_save,
        checkpoint=False,
    )
    psi_t = np.asarray(sol.observables)
    ts = np.asarray(sol.ts)
    c_t = psi_t @ B  # c_n(t) = ⟨n|ψ(t)⟩
    drift = claim_max_error(
        rec,
        "|c_n|^2 fixed under jqd.evolve",
        "physics §7.7: unitary evolution keeps the eigenstate weights (T §2)",
        np.abs(c_t) ** 2,
        c0**2,
        tolerance=1e-12,
    )

    c2 = c0**2
    E0 = float(c2 @ E)
    dE = float(np.sqrt(c2 @ (E - E0) ** 2))
    O_t = np.real(np.einsum("ti,ti->t", psi_t.conj(), (O @ psi_t.T).T))
    O_de = float(jqd.thermal.diagonal_ensemble(c2, O_diag))
    O_mc = jqd.thermal.microcanonical_average(E, O_diag, E0, config.width)
    # ETH's smooth O(E) over the state's own energy distribution (no curvature error)
    O_eth = float(c2 @ smooth(E, O_diag, config.width / 2))
    rec.claim(
        "|O_DE - sum_n |c_n|^2 O(E_n)| (product state)",
        "physics §7.7: the diagonal ensemble depends only on the energy distribution (ETH)",
        measured=abs(O_de - O_eth),
        tolerance=0.03,
    )
    # a narrow energy distribution: the microcanonical ensemble at E0 itself
    cn = c0 * np.exp(-((E - E0) ** 2) / (4 * (config.narrow * dE) ** 2))
    cn = cn / np.linalg.norm(cn)
    E0n = float(cn**2 @ E)
    O_de_n = float(jqd.thermal.diagonal_ensemble(cn**2, O_diag))
    O_mc_n = jqd.thermal.microcanonical_average(E, O_diag, E0n, config.width)
    rec.claim(
        f"|O_DE - O_mc| (filtered state, dE x {config.narrow:g})",
        "physics §7.7: ETH makes the diagonal ensemble microcanonical",
        measured=abs(O_de_n - O_mc_n),
        tolerance=0.03,
    )
    d_eff = float(jqd.thermal.effective_dimension(c2))
    var_t = float(jqd.thermal.temporal_variance(E, c0, O_eig))
    rec.claim(
        "sigma_t^2 * d_eff (bound 1, ||O|| = 1)",
        "physics §7.7: sigma_t^2 <= ||O||^2/d_eff",
        measured=var_t * d_eff,
        tolerance=1.0,
    )

    # typical states of an energy shell: random amplitudes ξ_n times a Gaussian of
    # width σ about E0; a wider shell holds more eigenstates, d_eff ∝ σ g(E0)
    xi = np.random.default_rng(config.seed).normal(size=E.size)
    rows = []
    for f in config.filters:
        c = xi * np.exp(-((E - E0) ** 2) / (4 * (f * dE) ** 2))
        c = c / np.linalg.norm(c)
        q = c**2
        width = float(np.sqrt(q @ (E - q @ E) ** 2))
        rows.append(
            (
                width,
                float(jqd.thermal.temporal_variance(E, c, O_eig)),
                float(jqd.thermal.effective_dimension(q)),
            )
        )
    rows = np.array(rows)
    s = claim_exponent(
        rec,
        "slope of log sigma_t^2 vs log dE",
        "physics §7.7: d_eff grows with dE, sigma_t^2 falls",
        rows[:, 0],
        rows[:, 1],
        tolerance=-0.2,
    )
    worst = float(np.max(rows[:, 1] * rows[:, 2]))
    rec.claim(
        "max sigma_t^2 * d_eff over the shell states",
        "physics §7.7: sigma_t^2 <= ||O||^2/d_eff",
        measured=worst,
        tolerance=1.0,
    )

    beta = jqd.thermal.beta_canonical(E, E0)
    O_can = float(jqd.thermal.canonical_average(E, O_diag, beta))
    for name, value in {
        "E0": E0,
        "delta_E": dE,
        "beta_canonical": beta,
        "O_DE": O_de,
        "O_mc": O_mc,
        "product_abs_O_DE_minus_O_mc": abs(O_de - O_mc),
        "O_canonical": O_can,
        "d_eff": d_eff,
        "sigma_t2": var_t,
        "sector_leak": leak,
        "weight_drift": drift,
        "filtered_dE": rows[:, 0],
        "filtered_sigma2": rows[:, 1],
        "filtered_deff": rows[:, 2],
        "slope": s,
        "O_t_late_mean": float(O_t[len(O_t) // 2 :].mean()),
        "O_t_late_var": float(O_t[len(O_t) // 2 :].var()),
    }.items():
        rec.metric(name, value)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    axes[0].plot(ts, O_t, label="⟨O(t)⟩ (jqd.evolve)")
    axes[0].axhline(O_de, color="C1", label=f"diagonal ensemble {O_de:.3f}")
    axes[0].axhline(O_mc, color="k", ls="--", label=f"microcanonical {O_mc:.3f}")
    panel(axes[0], "t (1/J)", r"O = $(\sigma^x_{L/2-1} + \sigma^x_{L/2})/2$", legend=True)
    axes[1].loglog(rows[:, 0], rows[:, 1], "o-", label=f"$\\sigma_t^2$, slope {s:.2f}")
    axes[1].loglog(rows[:, 0], 1 / rows[:, 2], "s--", label=r"$1/d_\mathrm{eff}$ (bound)")
    axes[1].set_xticks(rows[:, 0], [f"{v:.2g}" for v in rows[:, 0]])  # no crowded minor labels
    axes[1].set_xticks([], minor=True)
    axes[1].set_xlabel("energy spread dE")
    axes[1].set_title(r"temporal fluctuations vs the $1/d_\mathrm{eff}$ bound")
    axes[1].legend(fontsize=8)
    fig.suptitle(
        f"L = {L}: $|c_n|^2$ drift {drift:.1e}; |O_DE − O_mc| = {abs(O_de - O_mc):.3f}; "
        f"$\\sigma_t^2 d_\\mathrm{{eff}}$ = {var_t * d_eff:.2f}; slope {s:.2f}"
    )
    rec.figure(fig, "equilibration.png")
    ds = xr.Dataset(
        {"O_t": (("t",), O_t), "c2": (("n",), c2), "O_diag": (("n",), O_diag)},
        coords={"t": ts, "E": ("n", E)},
        attrs={"E0": E0, "O_DE": O_de, "O_mc": O_mc},
    )
    rec.arrays(ds, "equilibration.nc")


EXPERIMENT = Experiment(
    description="fixed eigenstate weights, diagonal = microcanonical ensemble, temporal "
    "fluctuations ~ 1/d_eff (mixed-field Ising, physics §7.7)",
    physics="§7.7",
)
