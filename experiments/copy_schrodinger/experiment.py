"""Mean-field copy dynamics with q = 1/2, r = −1/2 is the Schrödinger equation (physics §5).

Random Hermitian H (jqd.fock.random_hermitian) of several sizes; the mean-field
law on (ρ_a, φ_a) integrated with diffrax Dopri8 (rtol 1e-12) is compared with
the exact propagator over several periods of the fastest beat. The printed S39
sign is checked through the exact count-level copy process run with the rule
as printed (`jqd.copy.copy_gillespie(..., rule="printed")`, ħ ≠ 1): over a
short time its n/N moves against the exact change of |ψ|².
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import error_panel, experiment_config, panel


@experiment_config(
    quick=dict(sizes=(8,), periods=3.0, n_save=30, s39_replicates=2),
    limits={
        "periods": "> 0",
        "rtol": "> 0, < 1",
        "s39_P": ">= 2",
        "s39_t": "> 0",
        "s39_hbar": "> 0",
        "s39_replicates": ">= 2",
    },
)
class Config:
    """Attributes:
    sizes: numbers of beable values P (random H of each size).
    periods: horizon in periods 2π/(E_max − E_min) of the fastest beat.
    n_save: save times in the horizon.
    seed: PRNG seed for H and ψ0.
    rtol: Dopri8 relative tolerance (atol = rtol/100).
    s39_P: beable values of the printed-rule process check (H, ψ0 as above).
    s39_N: members of that process (occupations round(N|ψ0|²)).
    s39_t: its horizon (short: the slope is a first-order statement).
    s39_hbar: ħ of that check (≠ 1, so a rate that drops ħ shows).
    s39_replicates: further runs of that process (keys seed + 2, seed + 3, ...)
        for the standard error of its slope (the claim is the first run's).
    """

    sizes: tuple[int, ...] = (2, 8, 64)
    periods: float = 5.0
    n_save: int = 60
    seed: int = 0
    rtol: float = 1e-12
    s39_P: int = 8
    s39_N: int = 10**6
    s39_t: float = 0.02
    s39_hbar: float = 0.6
    s39_replicates: int = 8


def _problem(P, seed):
    k1, k2, k3 = jax.random.split(jax.random.key(seed + 100 * P), 3)
    H = jqd.fock.random_hermitian(k1, P)
    psi0 = jax.random.normal(k2, (P,)) + 1j * jax.random.normal(k3, (P,))
    return H, psi0 / jnp.linalg.norm(psi0)


def printed_rule_slope(config: Config, key) -> tuple[float, dict]:
    """The exact copy process with the S39 rule as printed, from
    n = round(N|ψ0|²), φ = −arg ψ0, at ħ = `s39_hbar`, saved 4 times in
    (0, s39_t]: the least-squares slope of its change n/N − n(0)/N on the
    exact change |ψ(t)|² − n(0)/N (all classes and saves). −1: it moves
    the populations against quantum mechanics (S32's flux reversed)."""
    H, psi0 = _problem(config.s39_P, config.seed)
    N, hbar = config.s39_N, config.s39_hbar
    ts = np.linspace(0.0, config.s39_t, 5)  # host values (equal to jnp.linspace's)
    exact = np.abs(np.asarray(jqd.reference.propagate(H, psi0, ts, hbar=hbar))) ** 2
    n0 = np.round(N * np.abs(np.asarray(psi0)) ** 2)
    y0 = jqd.copy.CountState(n=jnp.asarray(n0), phi=-jnp.angle(psi0))
    params = jqd.copy.MatrixParams(H=H, hbar=hbar)
    sol = jqd.copy.copy_gillespie(y0, params, ts, key, rule="printed")
    f = np.asarray(sol.observables.n) / n0.sum()
    d_process, d_exact = f[1:] - f[0], exact[1:] - f[0]
    slope = float(np.sum(d_process * d_exact) / np.sum(d_exact**2))
    info = {
        "events": int(sol.stats["n_events"]),
        "max_abs_exact_change": float(np.max(np.abs(d_exact))),
    }
    return slope, info


def run(config: Config, rec: Recorder) -> None:
    import diffrax
    import matplotlib.pyplot as plt
    import xarray as xr

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    worst_rho, worst_psi = 0.0, 0.0
    errors = {}  # the mean field's errors per save, for the figure
    for P in config.sizes:
        H, psi0 = _problem(P, config.seed)
        E = np.linalg.eigvalsh(np.asarray(H))
        period = 2 * np.pi / (E[-1] - E[0])
        ts = jnp.linspace(0.0, config.periods * period, config.n_save + 1)
        exact = jqd.reference.propagate(H, psi0, ts)
        params = jqd.copy.MeanFieldParams.from_hamiltonian(H)
        sol = jqd.evolve_adaptive(
            jqd.copy.MeanField(),
            jqd.copy.state_from_psi(psi0),
            params,
            ts,
            solver=diffrax.Dopri8(),
            rtol=config.rtol,
            atol=config.rtol / 100,
            max_steps=500_000,
        )
        rho = np.asarray(sol.observables.rho)
        rho_exact = np.abs(np.asarray(exact)) ** 2
        psi = np.asarray(jax.vmap(jqd.copy.psi_from_state)(sol.observables))
        err_rho = np.max(np.abs(rho - rho_exact), axis=1)
        err_psi = np.max(np.abs(psi - np.asarray(exact)), axis=1)
        worst_rho, worst_psi = max(worst_rho, err_rho.max()), max(worst_psi, err_psi.max())
        rec.metric(f"max_rho_error_P{P}", float(err_rho.max()))
        rec.metric(f"max_psi_error_P{P}", float(err_psi.max()))
        rec.metric(f"dopri8_steps_P{P}", int(sol.stats["n_steps"]))
        rec.metric(f"min_rho_exact_P{P}", float(rho_exact.min()))
        # S39 sign: instantaneous flux of the printed rule vs exact dρ/dt.
        y0 = jqd.copy.state_from_psi(psi0)
        exact_flux = np.asarray(2 * jnp.imag(jnp.conj(psi0) * (H @ psi0)))
        s39 = np.asarray(jqd.copy.copy_flux(y0, params, "s39"))
        moving = np.abs(exact_flux) > 1e-6
        rec.metric(
            f"s39_fraction_opposite_sign_P{P}",
            float(np.mean(np.sign(s39[moving]) == -np.sign(exact_flux[moving]))),
        )
        rec.metric(f"s39_plus_exact_flux_max_P{P}", float(np.max(np.abs(s39 + exact_flux))))
        t = np.asarray(ts) / period
        errors[f"P = {P}: max|ρ − |ψ|²|"] = err_rho
        errors[f"P = {P}: max|ψ_mf − ψ|"] = err_psi
        if P == config.sizes[min(1, len(config.sizes) - 1)]:
            for a in range(min(P, 4)):
                axes[0].plot(t, rho_exact[:, a], "-", color=f"C{a}", alpha=0.4, lw=3)
                axes[0].plot(t, rho[:, a], "o", color=f"C{a}", ms=3, label=f"ρ_{a}")
            axes[0].set_title(f"P = {P}: mean field (dots) on exact |ψ_a|² (lines)")
            axes[1].bar(np.arange(P) - 0.2, exact_flux, 0.4, label="exact dρ_a/dt (S32)")
            axes[1].bar(np.arange(P) + 0.2, s39, 0.4, label="printed S39 rule")
            axes[1].set_title(f"P = {P}: the printed S39 rule has the wrong sign")
        rec.arrays(
            xr.Dataset(
                {"rho_meanfield": (("t", "a"), rho), "rho_exact": (("t", "a"), rho_exact)},
                coords={"t": np.asarray(ts), "a": np.arange(P)},
            ),
            f"populations_P{P}.nc",
        )
    rec.claim(
        "ρ_a = |ψ_a|²",
        "physics §5 (S32-S38): q = 1/2, r = −1/2 is Schrödinger; "
        f"max|ρ − |ψ|²| over {config.periods:g} periods, P = {config.sizes}",
        measured=worst_rho,
        tolerance=1e-10,
    )
    rec.claim(
        "ψ = √ρ e^{−iφ}",
        "physics §5: H_aa = ħω_a, H_ab = ħR e^{iδ}; max|√ρ e^{−iφ} − ψ|",
        measured=worst_psi,
        tolerance=1e-9,
    )
    # S39 as printed, run as the exact stochastic process (not the mean-field
    # flux identity above): its n/N must move against the exact |ψ|² change.
    slope, info = printed_rule_slope(config, jax.random.key(config.seed + 1))
    # its sampling error: the SD of the slope over independent runs (the claim is one run);
    # the same compiled program, another key
    more = [
        printed_rule_slope(config, jax.random.key(config.seed + 2 + i))[0]
        for i in range(config.s39_replicates)
    ]
    slope_se = float(np.std([slope, *more], ddof=1))
    rec.metric("s39_process_slope", slope)
    rec.metric("s39_process_slope_replicates", more)
    rec.metric("s39_process_slope_sd", slope_se)
    rec.metric("s39_process_events", info["events"])
    rec.metric("s39_process_max_exact_change", info["max_abs_exact_change"])
    rec.claim(
        f"printed S39 sign is opposite (exact copy process, ħ = {config.s39_hbar:g})",
        "physics §5: the copy process with the S39 rule as printed moves n/N against "
        "|ψ(t)|² (iħψ̇ = Hψ); |slope + 1|, slope of its change on the exact change over "
        f"t ≤ {config.s39_t:g}, N = {config.s39_N:g}, P = {config.s39_P}",
        measured=abs(slope + 1.0),
        tolerance=0.1,
        se=slope_se,
        step_error="exact sampler",
    )
    panel(axes[0], "t  (periods of the fastest beat)", "ρ_a")
    axes[0].legend()
    panel(axes[1], "beable value a", "dρ_a/dt at t = 0  (1/time, ħ = 1)")
    axes[1].legend()
    # t in periods of the fastest beat: one axis for every P
    error_panel(axes[2], t, errors, tolerance=1e-10, styles=("-", "--"))
    panel(axes[2], "t  (periods of the fastest beat)", "error")
    lo, hi = axes[2].get_ylim()
    axes[2].set_ylim(lo, hi * 1e4)  # room for the legend above the curves
    axes[2].legend(fontsize=8, ncol=2, loc="upper left")
    axes[2].set_title("Mean field vs exact")
    fig.suptitle(
        f"Copy mean field (q=1/2, r=−1/2) reproduces Schrödinger: max|ρ−|ψ|²| = "
        f"{worst_rho:.1e}; printed S39 sign is reversed (process slope {slope:.3f} ± "
        f"{slope_se:.3f}, SD over {len(more) + 1} runs)"
    )
    rec.figure(fig, "copy_schrodinger.png")


EXPERIMENT = Experiment(
    description="Mean-field copy dynamics (q=1/2, r=-1/2) vs exact Schrödinger; S39 sign",
    physics="§5.1-5.2",
    compile_bound=True,
)
