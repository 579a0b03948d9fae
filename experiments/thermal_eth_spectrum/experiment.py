"""Level statistics and eigenstate thermalization of the mixed-field Ising chain
(physics §7.7), with a many-body-localized and an integrable control.

Exact diagonalization of `jqd.thermal.mixed_field_ising` in its even reflection
sector (`jqd.thermal.reflection_sector`), of `random_field_heisenberg` in the
Sᶻ = 0 sector (`sz_sector`), and of the transverse-field chain (h_z = 0, free
fermions) in its reflection-even, spin-flip-even sector. Statistics come from
`jqd.thermal.gap_ratio`, `eth_diagonal_fluctuation`, `eth_diagonal_variance`,
`microcanonical_average`, `beta_canonical`, `beta_microcanonical`.
"""

from __future__ import annotations

import math

import jax
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
)

SX = np.array([[0.0, 1.0], [1.0, 0.0]])


# |⟨r⟩ − Poisson| bounds of the W = 8 claim at a 0.1 % false-alarm rate, from
# disorder seeds 100-1099 (quick: L = 10, 16 realizations) and 100-215 (default:
# L = 12, 10 realizations), never seed 0 (README: calibration)
MBL_TOL_QUICK = 0.033
MBL_TOL_FULL = 0.02


@experiment_config(
    quick=dict(
        # L = 12 gap ratio (eigenvalues only) and L = 12 control (flip-even sector,
        # D = 1056) stay; the eigenvector work of the chaotic chain stops at L = 10.
        L_unresolved=10,
        eth_sizes=(8, 10),
        L_mbl=10,
        n_disorder=16,
        mbl_tolerance=MBL_TOL_QUICK,
    ),
    limits={
        "L": ">= 8",
        "L_unresolved": ">= 6",
        "L_mbl": ">= 6",
        "W": ">= 0",
        "mbl_tolerance": "> 0",
        "fraction": "> 0, <= 1",
        "eth_window": "> 0",
        "smoothing": "> 0",
    },
)
class Config:
    """ETH spectrum (ħ = 1; energies in units of the Ising coupling J = 1).

    Attributes:
        L: chain length of the chaotic gap-ratio claim (even reflection sector).
        L_unresolved: chain length of the unresolved-parity control (both
            reflection sectors merged, i.e. the full spectrum).
        eth_sizes: chain lengths of the ETH scaling (eigenvectors needed; the
            largest also gives the variance ratio, plateau and temperatures).
        control_sizes: chain lengths of the integrable (h_z = 0) control.
        L_mbl: length of the random-field Heisenberg chain (Sᶻ = 0 sector).
        W: disorder strength of the Heisenberg chain (fields in [−W, W]).
        n_disorder: disorder realizations averaged for the MBL gap ratio.
        mbl_tolerance: bound on |⟨r⟩ − (2 ln 2 − 1)| of that average, set from
            separate seeds at a 0.1 % false-alarm rate (README: calibration).
        fraction: central fraction of the sorted levels used for ⟨r⟩.
        eth_window: the ETH window is |E| ≤ eth_window · L (infinite temperature).
        beta: inverse temperature whose canonical energy is E0 (plateau, β's).
        widths: microcanonical window widths of the plateau claim.
        smoothing: Gaussian width of the level density in β_micro = d ln g/dE.
        seed: disorder seed (also `jqd run --seed`).
    """

    L: int = 12
    L_unresolved: int = 12
    eth_sizes: tuple[int, ...] = (8, 10, 12)
    control_sizes: tuple[int, ...] = (8, 10, 12)
    L_mbl: int = 12
    W: float = 8.0
    n_disorder: int = 10
    mbl_tolerance: float = MBL_TOL_FULL
    fraction: float = 0.5
    eth_window: float = 0.1
    beta: float = 0.3
    widths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    smoothing: float = 1.0
    seed: int = 0


# -- exact diagonalization helpers ------------------------------------------------------
def apply_error(law, params, H, seed=0) -> float:
    """max |H v − law.apply(v)| for a random v: the sparse build is the law's H."""
    v = np.random.default_rng(seed).normal(size=H.shape[0]) + 0j
    return float(np.max(np.abs(H @ v - np.asarray(law.apply(v, params)))))


def pauli_pair(L, op, j):
    """(op_j + op_{L−1−j})/2: reflection-symmetric, so it acts inside a sector."""

    def at(site):
        return sp.kron(
            sp.kron(sp.identity(2**site), sp.csr_matrix(op)), sp.identity(2 ** (L - site - 1))
        )

    return ((at(j) + at(L - 1 - j)) / 2).tocsr()


def sector(law, params, P, *, vectors=True):
    P = sp.csr_matrix(P)
    Hs = (P.T @ sparse_hamiltonian(law, params) @ P).toarray()
    return np.linalg.eigh(Hs) if vectors else (np.linalg.eigvalsh(Hs), None)


def in_eigenbasis(P, V, O):
    P = sp.csr_matrix(P)
    return V.T @ ((P.T @ O @ P) @ V)


def offdiagonal_variance_small_omega(E, O_eig, window, n_spacings=2.0):
    """LOCAL: mean O_mn² over pairs m ≠ n in `window` with |E_m − E_n| ≤ n_spacings
    mean level spacings (the ω → 0 limit of ETH's |f(E, ω)|², which the GOE ratio 2
    refers to; `jqd.thermal.eth_offdiagonal_variance` averages over every ω up to the
    window width, where |f|² has already fallen)."""
    sel = np.flatnonzero((E >= window[0]) & (E <= window[1]))
    Es = E[sel]
    omega = np.abs(Es[:, None] - Es[None, :])
    spacing = float(np.mean(np.diff(np.sort(Es))))
    mask = (omega > 0) & (omega <= n_spacings * spacing)
    return float(np.mean(np.abs(O_eig[np.ix_(sel, sel)][mask]) ** 2)), int(mask.sum() // 2)


# -- the parts of the run -----------------------------------------------------------------
def chaotic_gap_ratio(config):
    law, p = jqd.thermal.mixed_field_ising(config.L)
    E, _ = sector(law, p, jqd.thermal.reflection_sector((2,) * config.L), vectors=False)
    return jqd.thermal.gap_ratio(E, fraction=config.fraction), E.size


def unresolved_gap_ratio(config):
    L = config.L_unresolved
    law, p = jqd.thermal.mixed_field_ising(L)
    both = [
        sector(law, p, jqd.thermal.reflection_sector((2,) * L, s), vectors=False)[0]
        for s in (1, -1)
    ]
    return jqd.thermal.gap_ratio(np.concatenate(both), fraction=config.fraction)


def mbl_gap_ratio(config, key):
    L = config.L_mbl
    idx = jqd.thermal.sz_sector(L, 0)
    P = sp.identity(2**L, format="csr")[:, idx]
    rs = []
    for k in jax.random.split(key, config.n_disorder):
        law, p = jqd.thermal.random_field_heisenberg(L, W=config.W, key=k)
        E, _ = sector(law, p, P, vectors=False)
        rs.append(jqd.thermal.gap_ratio(E, fraction=config.fraction))
    return np.asarray(rs), idx.size


def chaotic_eth(config, L):
    """ETH data of one chaotic chain: fluctuation of the central pair, variance ratio
    averaged over the L/2 symmetric σˣ pairs, and the largest chain's eigensystem."""
    law, p = jqd.thermal.mixed_field_ising(L)
    P = jqd.thermal.reflection_sector((2,) * L)
    E, V = sector(law, p, P)
    window = (-config.eth_window * L, config.eth_window * L)
    ratios, fluct, pairs = [], None, 0
    for j in range(L // 2):
        Oe = in_eigenbasis(P, V, pauli_pair(L, SX, j))
        d = np.diag(Oe)
        off, pairs = offdiagonal_variance_small_omega(E, Oe, window)
        ratios.append(jqd.thermal.eth_diagonal_variance(E, d, window) / off)
        if j == L // 2 - 1:
            fluct = jqd.thermal.eth_diagonal_fluctuation(E, d, window)
            central = d
    return {
        "D": E.size,
        "fluct": fluct,
        "ratio": float(np.mean(ratios)),
        "ratios": ratios,
        "pairs": pairs,
        "E": E,
        "O_diag": central,
    }


def flip_reflection_sector(L):
    """LOCAL (the library has no spin-flip sector): the (D, D_s) isometry onto states
    even under both the reflection R and the spin flip F = Π σˣ (n → D − 1 − n);
    one normalized orbit sum per orbit of the group {1, R, F, RF}."""
    D = 2**L
    n = np.arange(D)
    r = np.arange(D).reshape((2,) * L).transpose(tuple(range(L))[::-1]).reshape(-1)
    orbits = np.sort(np.stack([n, r, D - 1 - n, r[D - 1 - n]], axis=1), axis=1)
    reps, col = np.unique(orbits[:, 0], return_inverse=True)
    size = 1 + np.sum(np.diff(orbits, axis=1) != 0, axis=1)  # distinct members of n's orbit
    P = sp.csr_matrix((1 / np.sqrt(size), (n, col)), shape=(D, reps.size))
    return P


def integrable_fluctuation(config, L):
    """h_z = 0: the transverse-field chain, in its reflection-even, flip-even sector."""
    law, p = jqd.thermal.mixed_field_ising(L, hz=0.0)
    P = flip_reflection_sector(L)
    E, V = sector(law, p, P)
    Os = P.T @ pauli_pair(L, SX, L // 2 - 1) @ P
    d = np.einsum("in,in->n", V, Os @ V)
    window = (-config.eth_window * L, config.eth_window * L)
    return E.size, jqd.thermal.eth_diagonal_fluctuation(E, d, window)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    ref = jqd.reference
    # the sparse H used throughout is the law's H
    law, p = jqd.thermal.mixed_field_ising(8)
    err = apply_error(law, p, sparse_hamiltonian(law, p))
    rec.claim(
        "sparse ED matrix = law.apply",
        "the ED Hamiltonian is the law's (L = 8)",
        measured=err,
        tolerance=1e-12,
    )

    r_chaos, n_chaos = chaotic_gap_ratio(config)
    claim_max_error(
        rec,
        f"<r> mixed-field Ising L = {config.L} (even sector) vs GOE",
        "physics §7.7: chaotic levels of one sector, <r> = 0.5307 (large-N GOE)",
        r_chaos,
        ref.GAP_RATIO_GOE,
        tolerance=0.015,
    )
    r_unres = unresolved_gap_ratio(config)
    rec.claim(
        f"<r> unresolved parity L = {config.L_unresolved}",
        "physics §7.7: two superposed sectors do not repel, <r> falls towards Poisson",
        measured=r_unres,
        tolerance=0.45,
    )
    r_mbl, d_mbl = mbl_gap_ratio(config, jax.random.key(config.seed))
    claim_max_error(
        rec,
        f"<r> random-field Heisenberg W = {config.W:g} vs Poisson",
        "physics §7.7: many-body-localized levels are uncorrelated, <r> = 2 ln 2 - 1 "
        f"(mean of {config.n_disorder} realizations; bound at a 0.1 % false-alarm rate "
        "over separate disorder seeds)",
        r_mbl.mean(),
        ref.GAP_RATIO_POISSON,
        tolerance=config.mbl_tolerance,
    )

    eth = [chaotic_eth(config, L) for L in config.eth_sizes]
    ctl = [integrable_fluctuation(config, L) for L in config.control_sizes]
    s_chaos = claim_exponent(
        rec,
        "ETH fluctuation slope vs D (chaotic)",
        "physics §7.7: eigenstate-to-eigenstate fluctuations fall as D^-1/2",
        [e["D"] for e in eth],
        [e["fluct"] for e in eth],
        tolerance=-0.25,
    )
    s_ctl = claim_exponent(
        rec,
        "fluctuation slope vs D (integrable control, h_z = 0)",
        "physics §7.7: no ETH in the free-fermion chain: fluctuations do not fall with D",
        [c[0] for c in ctl],
        [c[1] for c in ctl],
        tolerance=-0.15,
        op=">=",
    )
    big = eth[-1]
    claim_max_error(
        rec,
        f"diag/offdiag variance ratio vs 2 (L = {config.eth_sizes[-1]})",
        "physics §7.7: GOE-like ETH, Var(dO_nn) = 2 Var(O_mn) as omega -> 0",
        big["ratio"],
        2.0,
        tolerance=0.5,
    )

    E, O = big["E"], big["O_diag"]
    E0 = float(jqd.thermal.canonical_energy(E, config.beta))
    o_mc = [jqd.thermal.microcanonical_average(E, O, E0, w) for w in config.widths]
    plateau = float(np.max(o_mc) - np.min(o_mc))
    rec.claim(
        "microcanonical window plateau",
        "physics §7.7: O_mc insensitive to the window width",
        measured=plateau,
        tolerance=0.05,
    )
    b_can = jqd.thermal.beta_canonical(E, E0)
    b_mc = jqd.thermal.beta_microcanonical(E, E0, config.smoothing)
    claim_max_error(
        rec,
        "beta_micro vs beta_can",
        "physics §7.7: T^-1 = d ln g/dE equals the canonical beta",
        b_mc,
        b_can,
        tolerance=0.25,
        relative=True,
    )

    for name, value in {
        "r_chaotic": r_chaos,
        "levels_chaotic": n_chaos,
        "r_unresolved": r_unres,
        "r_mbl_mean": float(r_mbl.mean()),
        "r_mbl_sem": float(r_mbl.std(ddof=1) / math.sqrt(r_mbl.size)),
        "dim_mbl_sector": d_mbl,
        "fluct_chaotic": [e["fluct"] for e in eth],
        "dim_chaotic": [e["D"] for e in eth],
        "fluct_integrable": [c[1] for c in ctl],
        "dim_integrable": [c[0] for c in ctl],
        "slope_chaotic": s_chaos,
        "slope_integrable": s_ctl,
        "variance_ratio": big["ratio"],
        "variance_ratio_per_pair": big["ratios"],
        "offdiag_pairs": big["pairs"],
        "E0": E0,
        "O_mc_vs_width": o_mc,
        "beta_canonical": b_can,
        "beta_micro": b_mc,
        "sparse_vs_apply": err,
    }.items():
        rec.metric(name, value)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    axes[0].loglog(
        [e["D"] for e in eth],
        [e["fluct"] for e in eth],
        "o-",
        label=f"mixed-field Ising, slope {s_chaos:.2f}",
    )
    axes[0].loglog(
        [c[0] for c in ctl],
        [c[1] for c in ctl],
        "s--",
        label=f"transverse-field (integrable), slope {s_ctl:.2f}",
    )
    Ds = np.array([eth[0]["D"], eth[-1]["D"]], float)
    axes[0].loglog(Ds, eth[0]["fluct"] * (Ds / Ds[0]) ** -0.5, "k:", label="$D^{-1/2}$")
    panel(
        axes[0],
        "sector dimension D",
        r"mean $|O_{n+1,n+1} - O_{nn}|$ (central $\sigma^x$ pair)",
        "ETH: diagonal fluctuations vs sector size",
        legend=True,
    )
    axes[1].plot(E, O, ".", ms=2)
    axes[1].axvline(E0, color="k", lw=0.8, label=f"E0 (canonical energy at β = {config.beta:g})")
    axes[1].legend(fontsize=8, loc="lower right")
    panel(
        axes[1],
        "$E_n$",
        "$O_{nn}$",
        f"L = {config.eth_sizes[-1]}: O_mc plateau {plateau:.3f}, β_mc/β_can = {b_mc / b_can:.2f}",
    )
    fig.suptitle(
        f"⟨r⟩ = {r_chaos:.4f} (GOE 0.5307), unresolved {r_unres:.3f}, "
        f"MBL {r_mbl.mean():.4f} (Poisson 0.3863); ETH slope {s_chaos:.2f}, "
        f"ratio {big['ratio']:.2f}"
    )
    rec.figure(fig, "eth_spectrum.png")
    ds = xr.Dataset(
        {"O_diag": (("n",), O), "fluct_chaotic": (("size",), [e["fluct"] for e in eth])},
        coords={"E": ("n", E), "size": list(config.eth_sizes)},
        attrs={"r_chaotic": r_chaos, "r_mbl": float(r_mbl.mean())},
    )
    rec.arrays(ds, "eth_spectrum.nc")


EXPERIMENT = Experiment(
    description="level statistics (GOE vs Poisson) and ETH scaling of the mixed-field Ising "
    "chain, with MBL and integrable controls (physics §7.7)",
    physics="§7.7",
)
