"""Kerr mode: collapse and revival of ⟨a(t)⟩, and Husimi snapshots of the state.

H = (U/2) a†² a² on one Fock mode truncated at `cutoff`, started in the
coherent state |α0⟩ and evolved with `jqd.SchrodingerBasis` through
`jqd.evolve`; compared with the closed forms of physics §4.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import FIXES_SAVED_TIMES, claim_max_error, experiment_config, panel


@experiment_config(
    quick=dict(n_save=100, husimi_points=60),
    limits={
        "alpha0": "> 0",
        "U": "> 0",
        "t_max": "> 0",
        "cutoff": ">= 0",
        "husimi_points": ">= 2",
        "husimi_extent": "> 0",
        "check_hbar": "> 0",
    },
)
class Config:
    """Kerr collapse/revival (ħ = 1, dimensionless α).

    Attributes:
        alpha0: coherent amplitude of the initial state (real).
        U: Kerr strength (frequency units); the revival period is 2π/U.
        t_max: end of the ⟨a(t)⟩ record (default: one revival period for U = 1).
        n_save: saved times in [0, t_max] (one exact step between saves).
        cutoff: Fock cutoff; 0 picks it from α0 so the truncated tail is < 1e-20.
        husimi_points: grid points per axis of the Husimi snapshots (even by
            default: jqd.reference.kerr_husimi returns NaN at exactly α = 0).
        husimi_extent: the snapshots cover Re α, Im α in [-extent, extent].
        check_hbar: ⟨a(t)⟩ is also evolved at this ħ (H = (U/2)a†²a² in energy
            units, e^{−iHt/ħ}) against the closed form at the same ħ: in Fock
            units ħ enters only through U/ħ, which ħ = 1 cannot check.
    """

    alpha0: float = 2.0
    U: float = 1.0
    t_max: float = 2 * math.pi
    n_save: int = 400
    cutoff: int = 0
    husimi_points: int = 120
    husimi_extent: float = 4.0
    check_hbar: float = 0.5


def cutoff_of(config: Config) -> int:
    if config.cutoff > 0:
        return config.cutoff
    return jqd.fock.coherent_cutoff(config.alpha0, tol=1e-20) + 4


# -- config validation (`jqd run` and every `jqd sweep` item) -------------------------
MAX_CUTOFF = 1024  # Fock levels: a dense cutoff² complex matrix is 16 MiB (one per sweep item)


@functools.lru_cache(maxsize=4096)
def _needed_cutoff(alpha0: float, tol: float) -> int:
    """`coherent_cutoff`, called only where its search is short (|α0|² <= MAX_CUTOFF)."""
    return jqd.fock.coherent_cutoff(alpha0, tol=tol)


@functools.lru_cache(maxsize=1)
def max_alpha0() -> float:
    """The largest α0 whose derived cutoff (cutoff=0) fits in MAX_CUTOFF levels."""
    lo, hi = 0.0, math.sqrt(MAX_CUTOFF)
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _needed_cutoff(mid, 1e-20) + 4 <= MAX_CUTOFF else (lo, mid)
    return lo


def validate(config: Config) -> None:
    """The Fock cutoff must hold |α0⟩ and fit in MAX_CUTOFF levels; refuses quickly
    (no cutoff search for a huge α0)."""
    mean = float(config.alpha0) ** 2
    if config.cutoff > MAX_CUTOFF:
        raise ValueError(
            f"cutoff={config.cutoff} is above the limit of {MAX_CUTOFF} Fock levels (a dense "
            f"cutoff² complex Hamiltonian and step per item); use cutoff <= {MAX_CUTOFF}."
        )
    if config.cutoff == 0:
        if mean > MAX_CUTOFF:
            estimate = mean + 9.5 * math.sqrt(mean)  # Poisson tail 1e-20 ~ 9.5 σ above the mean
            raise ValueError(
                f"alpha0={config.alpha0:g} needs a Fock cutoff of ~{estimate:.2g} levels (|α0|² "
                f"+ 9.5|α0|); the limit is {MAX_CUTOFF} levels, which holds alpha0 <= "
                f"{max_alpha0():.4g}."
            )
        need = _needed_cutoff(float(config.alpha0), 1e-20) + 4
        if need > MAX_CUTOFF:
            raise ValueError(
                f"alpha0={config.alpha0:g} needs a Fock cutoff of {need} levels; the limit is "
                f"{MAX_CUTOFF} levels, which holds alpha0 <= {max_alpha0():.4g}."
            )
        return
    if mean > MAX_CUTOFF:
        need_text = f"~{mean + 6.4 * math.sqrt(mean):.2g}"
    else:
        need = _needed_cutoff(float(config.alpha0), 1e-10)
        if config.cutoff >= need:
            return
        need_text = str(need)
    raise ValueError(
        f"cutoff={config.cutoff} truncates the coherent state |alpha0={config.alpha0:g}⟩ (more "
        f"than 1e-10 of its probability lost); it needs cutoff >= {need_text}, or cutoff=0 to "
        "derive it from alpha0."
    )


def sweep_config(config: Config, over) -> Config:
    """One cutoff for the whole sweep: the one the largest swept |α0| needs."""
    if config.cutoff > 0:
        return config  # given: checked against every swept alpha0 by `validate`
    largest = max((abs(float(v)) for v in over.get("alpha0", [config.alpha0])), default=0.0)
    return replace(config, cutoff=cutoff_of(replace(config, alpha0=largest)))


def sweep(config: Config, values):
    """⟨a(t)⟩ at t in [0, t_max] for one (U, α0); vmappable over `values`."""
    U = values.get("U", config.U)
    alpha0 = values.get("alpha0", config.alpha0)
    cutoff = cutoff_of(config)
    H = jqd.fock.kerr_hamiltonian(cutoff, U)
    psi0 = jqd.fock.coherent_state(jnp.asarray(alpha0, complex), cutoff, check=False)
    a = jqd.fock.destroy(cutoff, dtype=complex)
    sol = jqd.evolve(
        jqd.SchrodingerBasis(),
        psi0,
        jqd.MatrixParams(H=H),
        dt=config.t_max / config.n_save,
        n_save=config.n_save,
        observe=jqd.observables.Expect(a),
        checkpoint=False,
    )
    exact = jqd.reference.kerr_mean_a(sol.ts, alpha0, U)
    return {"mean_a": sol.observables, "max_error": jnp.max(jnp.abs(sol.observables - exact))}


def sweep_coords(config: Config):
    return {"t": np.linspace(0.0, config.t_max, config.n_save + 1)}


# The closed form and H each as one program (eager: five each); the same bits (measured
# on CPU). Looked up at call time, so a patched jqd function is the one traced.
_kerr_mean_a = jax.jit(lambda t, a0, U, hbar: jqd.reference.kerr_mean_a(t, a0, U, hbar))
_kerr_hamiltonian = jax.jit(
    lambda cutoff, U: jqd.fock.kerr_hamiltonian(cutoff, U), static_argnums=0
)


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    if config.alpha0 <= 0 or config.U <= 0:
        raise ValueError("alpha0 and U must be positive (e.g. --set alpha0=2 --set U=1).")
    cutoff = cutoff_of(config)
    jqd.fock.coherent_state(config.alpha0, cutoff)  # raises if the cutoff truncates |α0⟩
    out = jax.jit(lambda U: sweep(config, {"U": U}))(jnp.asarray(config.U))
    mean_a = np.asarray(out["mean_a"])
    ts = sweep_coords(config)["t"]
    ts_dev = jax.device_put(ts)
    exact = np.asarray(_kerr_mean_a(ts_dev, config.alpha0, config.U, 1.0))
    err = claim_max_error(
        rec,
        "<a(t)> vs closed form",
        "physics §4: <a(t)> = α0 exp[|α0|²(e^{-iUt} - 1)]",
        mean_a,
        exact,
        tolerance=1e-10,
        metric="max_abs_error_mean_a",
    )
    rec.metric("cutoff", cutoff)

    # the same ⟨a(t)⟩ at ħ ≠ 1: e^{−iHt/ħ} (H in energy units) vs the closed form at ħ
    hb = config.check_hbar
    U = config.U
    psi0 = jqd.fock.coherent_state(config.alpha0, cutoff)
    H = _kerr_hamiltonian(cutoff, U)
    sol_h = jqd.evolve(
        jqd.SchrodingerBasis(),
        psi0,
        jqd.MatrixParams(H=H, hbar=hb),
        dt=config.t_max / config.n_save,
        n_save=config.n_save,
        observe=jqd.observables.Expect(jqd.fock.destroy(cutoff, dtype=complex)),
        checkpoint=False,
    )
    claim_max_error(
        rec,
        f"<a(t)> at ħ = {hb:g} vs closed form",
        "physics §4: <a(t)> = α0 exp[|α0|²(e^{-iUt/ħ} - 1)], H = (U/2)a†²a² in energy units",
        np.asarray(sol_h.observables),
        np.asarray(_kerr_mean_a(sol_h.ts, config.alpha0, U, hb)),
        tolerance=1e-10,
        metric="max_abs_error_mean_a_check_hbar",
    )

    # Snapshots at Ut = 0, π/2, π, 2π: the evolved state, then its Husimi function.
    snap = jqd.evolve(
        jqd.SchrodingerBasis(), psi0, jqd.MatrixParams(H=H), dt=math.pi / (2 * U), n_save=4
    )
    pick = [0, 1, 2, 4]
    snap_t = np.asarray(snap.ts)[pick]
    states = np.asarray(snap.observables)[pick]
    x = np.linspace(-config.husimi_extent, config.husimi_extent, config.husimi_points)
    alpha = x[None, :] + 1j * x[:, None]  # rows: Im α, columns: Re α
    Q = np.asarray(jax.vmap(jqd.husimi.husimi, (0, None))(states, alpha))
    n_max = int(4 * (config.alpha0 + np.sqrt(2) * config.husimi_extent) ** 2 + 40)
    exact_q = jax.jit(
        jax.vmap(lambda t: jqd.reference.kerr_husimi(alpha, t, config.alpha0, U, n_max=n_max))
    )
    Q_exact = np.asarray(exact_q(snap_t))
    q_err = claim_max_error(
        rec,
        "Husimi snapshots vs exact Q_H",
        "physics §4: exact Q_H(α,t) at Ut = 0, π/2, π, 2π",
        Q,
        Q_exact,
        tolerance=1e-10,
        metric="husimi_max_abs_error",
    )
    cat = np.asarray(jqd.reference.kerr_cat_state(config.alpha0, cutoff))
    cat_inf = 1 - abs(np.vdot(cat, states[2])) ** 2
    rec.claim(
        "cat state at Ut = π",
        "physics §4: ψ(π/U) = (e^{-iπ/4}|iα0⟩ + e^{iπ/4}|-iα0⟩)/√2",
        measured=cat_inf,
        tolerance=1e-10,
    )
    revival_inf = 1 - abs(np.vdot(states[0], states[3])) ** 2
    rec.claim(
        "full revival at Ut = 2π",
        "physics §4: ψ(2π/U) = ψ(0)",
        measured=revival_inf,
        tolerance=1e-12,
    )
    rec.metric("cat_infidelity", cat_inf)
    rec.metric("revival_infidelity", revival_inf)

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(U * ts / np.pi, mean_a.real, label="Re⟨a⟩ jqd.evolve", lw=2)
    ax.plot(U * ts / np.pi, mean_a.imag, label="Im⟨a⟩ jqd.evolve", lw=2)
    ax.plot(U * ts / np.pi, exact.real, "k--", lw=1, label="Re⟨a⟩ closed form")
    ax.plot(U * ts / np.pi, exact.imag, "k:", lw=1, label="Im⟨a⟩ closed form")
    panel(
        ax,
        "U t / π  (dimensionless)",
        "⟨a(t)⟩  (dimensionless amplitude)",
        f"Kerr collapse and revival, α0 = {config.alpha0:g}: "
        f"max |error| = {err:.1e} (claim < 1e-10)",
        ncol=2,
    )
    rec.figure(fig, "mean_a.png")

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), sharey=True)
    labels = ["0", "π/(2U)", "π/U", "2π/U"]
    for axq, q, lab in zip(axes, Q, labels, strict=True):
        im = axq.imshow(q, origin="lower", extent=[x[0], x[-1], x[0], x[-1]], cmap="viridis")
        axq.set_title(f"t = {lab}")
        axq.set_xlabel("Re α")
    axes[0].set_ylabel("Im α")
    fig.colorbar(im, ax=axes, label="Q(α) = ⟨α|ρ|α⟩/π")
    fig.suptitle(
        f"Husimi Q of the Kerr state (from jqd.evolve) vs exact Q_H: "
        f"max |error| = {q_err:.1e} (claim < 1e-10)"
    )
    rec.figure(fig, "husimi_snapshots.png")

    ds = xr.Dataset(
        {
            "mean_a": (("t",), mean_a, {"long_name": "<a(t)> from jqd.evolve"}),
            "mean_a_exact": (("t",), exact, {"long_name": "<a(t)> closed form"}),
            "husimi": (("t_snapshot", "im_alpha", "re_alpha"), Q, {"long_name": "Q(α)"}),
            "husimi_exact": (("t_snapshot", "im_alpha", "re_alpha"), Q_exact),
        },
        coords={
            "t": ("t", ts, {"units": "1/U (ħ = 1)"}),
            "t_snapshot": snap_t,
            "im_alpha": x,
            "re_alpha": x,
        },
        attrs={"alpha0": config.alpha0, "U": U, "cutoff": cutoff},
    )
    rec.arrays(ds, "kerr_revival.nc")


EXPERIMENT = Experiment(
    description="Kerr mode collapse/revival of <a(t)> and Husimi snapshots vs closed forms "
    "(physics §4); sweepable over U and alpha0",
    physics="§1.2, §4.6",
    sweep_keys=("U", "alpha0"),
    sweep_why_not={
        "t_max": FIXES_SAVED_TIMES,
        "husimi_extent": "only jqd run's Husimi snapshots use it; the sweep computes <a(t)>",
    },
    sweep_claims={"max_error": ("<=", 1e-10)},  # the run's "<a(t)> vs closed form"
    compile_bound=True,
)
