"""Free Gaussian packet spreading in 1, 2 and 3 dimensions vs physics §1.

ψ(x, 0) = Π_i (πa²)^(−1/4) exp(−x_i²/2a² + i p0 x_i/ħ) on a periodic box,
evolved with `jqd.SchrodingerGrid` (V = 0: the split-step drift is exact) and
compared with ρ(x, t) = Π_i exp(−(x_i − v0 t)²/(a²(1+τ²)))/(√π a √(1+τ²)),
τ = ħt/(m a²).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import (
    FIXES_GRID,
    FIXES_SAVED_TIMES,
    claim_max_error,
    error_panel,
    experiment_config,
    panel,
)


@experiment_config(
    quick=dict(n_save=10, points=128),
    limits={
        "a": "> 0",
        "hbar": "> 0",
        "mass": "> 0",
        "t_final": "> 0",
        "box": "> 0",
        "dims": ">= 1, <= 3",
        "check_hbar": "> 0",
        "check_mass": "> 0",
    },
)
class Config:
    """Free spreading (units: lengths in a, times in m a²/ħ unless changed).

    Attributes:
        a: initial width parameter (ψ ∝ exp(−x²/2a²)).
        p0: initial momentum on every axis.
        hbar, mass: constants of the law.
        t_final: end time; the claim is checked here (issue: 5 m a²/ħ).
        n_save: saved times in (0, t_final] (one exact step each).
        points: grid points per axis in 1-D and 2-D.
        points_3d: grid points per axis in 3-D.
        box: box length per axis (the packet must not reach the boundary).
        dims: dimensions to run, e.g. (1, 2, 3).
        check_hbar, check_mass, check_p0: a second 1-D packet at these
            constants (ħ ≠ 1, m ≠ 1, p0 ≠ 0), checked against the same
            reference at every save: at ħ = m = 1, p0 = 0 a reference or law
            that drops ħ or m from τ = ħt/(ma²), or p0/m from the drift,
            cannot be told from the right one.
    """

    a: float = 1.0
    p0: float = 0.0
    hbar: float = 1.0
    mass: float = 1.0
    t_final: float = 5.0
    n_save: int = 50
    points: int = 256
    points_3d: int = 128
    box: float = 50.0
    dims: tuple[int, ...] = (1, 2, 3)
    check_hbar: float = 0.5
    check_mass: float = 1.7
    check_p0: float = 0.4


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    import xarray as xr

    if not all(d in (1, 2, 3) for d in config.dims):
        raise ValueError(f"dims must be chosen from 1, 2, 3; got {config.dims}.")
    params = jqd.SchrodingerParams(hbar=config.hbar, mass=config.mass)
    dt = config.t_final / config.n_save
    tau = config.hbar * config.t_final / (config.mass * config.a**2)
    widths, errors = {}, {}
    ts = None
    for d in config.dims:
        n = config.points_3d if d == 3 else config.points
        grid = jqd.Grid((n,) * d, config.box)
        law = jqd.SchrodingerGrid(grid)
        psi0 = jqd.reference.gaussian_packet(grid, a=config.a, p0=config.p0, hbar=config.hbar)

        def exact_density(t, grid=grid):
            rho = 1.0
            for x in grid.mesh():
                rho = rho * jqd.reference.free_gaussian_density(
                    x, t, a=config.a, p0=config.p0, hbar=config.hbar, mass=config.mass
                )
            return rho

        def observe(t, psi, params, grid=grid, law=law):
            rho = law.density(psi)
            x0 = grid.mesh()[0]
            mean = grid.integrate(x0 * rho)
            return {
                "max_err": jnp.max(jnp.abs(rho - exact_density(t))),
                "sigma_x": jnp.sqrt(grid.integrate((x0 - mean) ** 2 * rho)),
            }

        sol = jqd.evolve(
            law, psi0, params, dt=dt, n_save=config.n_save, observe=observe, checkpoint=False
        )
        ts = np.asarray(sol.ts)
        errors[d] = np.asarray(sol.observables["max_err"])
        widths[d] = np.asarray(sol.observables["sigma_x"])
        rec.claim(
            f"{d}-D density at t = {config.t_final:g}",
            f"physics §1 (Z16 with √): max |ρ − ρ_exact| at t = {config.t_final:g} "
            f"(τ = ħt/ma² = {tau:g}), {d}-D grid {n}^{d}",
            measured=errors[d][-1],
            tolerance=1e-10,
        )
        rec.metric(f"max_density_error_{d}d_all_times", float(errors[d].max()))

    tau_t = config.hbar * ts / (config.mass * config.a**2)
    sigma_exact = config.a * np.sqrt((1 + tau_t**2) / 2)
    claim_max_error(
        rec,
        "width σ_x(t)",
        "physics §1: σ_x(t) = a √((1 + τ²)/2), τ = ħt/(m a²)",
        [widths[d] for d in config.dims],
        sigma_exact,
        tolerance=1e-10,
        metric="max_width_error",
    )

    # the same 1-D run at ħ ≠ 1, m ≠ 1, p0 ≠ 0, against the same reference
    hb, ms, pc = config.check_hbar, config.check_mass, config.check_p0
    _, _, err_c = _one_dimension(config, config.a, pc, hb, ms)
    err_c = np.asarray(err_c)
    rec.claim(
        f"1-D density at ħ = {hb:g}, m = {ms:g}, p0 = {pc:g}, all saves",
        f"physics §1: max |ρ − ρ_exact| over t ∈ [0, {config.t_final:g}] "
        f"(τ = ħt/ma² up to {hb * config.t_final / (ms * config.a**2):.3g}, "
        f"centre p0 t/m up to {pc * config.t_final / ms:.3g}), 1-D grid {config.points}",
        measured=float(err_c.max()),
        tolerance=1e-10,
    )

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax.plot(ts, sigma_exact, "k-", lw=3, alpha=0.3, label="physics §1: a√((1+τ²)/2)")
    for d, m in zip(config.dims, "os^", strict=False):
        ax.plot(ts, widths[d], m, ms=4, mfc="none", label=f"jqd {d}-D")
    panel(ax, "t  (m a²/ħ)", "σ_x(t)  (a)")
    ax.legend()
    ax.set_title("Width of a free Gaussian packet")
    error_panel(ax2, ts, {f"{d}-D": errors[d] for d in config.dims}, tolerance=1e-10)
    panel(ax2, "t  (m a²/ħ)", r"max |ρ − ρ_exact|  ($1/a^d$)")
    ax2.legend()
    ax2.set_title("Density error vs exact")
    worst = max(errors[d][-1] for d in config.dims)
    fig.suptitle(
        f"Free spreading matches physics §1: max density error at t = "
        f"{config.t_final:g} is {worst:.1e} (< 1e-10) in "
        + ", ".join(f"{d}-D" for d in config.dims)
    )
    rec.figure(fig, "width_vs_time.png")

    ds = xr.Dataset(
        {f"sigma_x_{d}d": (("t",), widths[d], {"units": "a"}) for d in config.dims}
        | {f"max_density_error_{d}d": (("t",), errors[d]) for d in config.dims}
        | {"sigma_x_exact": (("t",), sigma_exact, {"units": "a"})},
        coords={"t": ("t", ts, {"units": "m a^2/hbar"})},
        attrs={"a": config.a, "p0": config.p0, "box": config.box},
    )
    rec.arrays(ds, "spreading.nc")


def _one_dimension(config: Config, a, p0, hbar, mass):
    """The 1-D run of a packet: saved times, σ_x(t), max |ρ − ρ_exact|(t)."""
    grid = jqd.Grid((config.points,), config.box)
    law = jqd.SchrodingerGrid(grid)
    psi0 = jqd.reference.gaussian_packet(grid, a=a, p0=p0, hbar=hbar)
    (x,) = grid.axes()

    def observe(t, psi, params):
        rho = law.density(psi)
        exact = jqd.reference.free_gaussian_density(x, t, a=a, p0=p0, hbar=hbar, mass=mass)
        mean = grid.integrate(x * rho)
        return {
            "max_err": jnp.max(jnp.abs(rho - exact)),
            "sigma_x": jnp.sqrt(grid.integrate((x - mean) ** 2 * rho)),
        }

    sol = jqd.evolve(
        law,
        psi0,
        jqd.SchrodingerParams(hbar=hbar, mass=mass),
        dt=config.t_final / config.n_save,
        n_save=config.n_save,
        observe=observe,
        checkpoint=False,
    )
    return sol.ts, sol.observables["sigma_x"], sol.observables["max_err"]


def sweep(config: Config, values):
    """The 1-D packet for one (a, p0, ħ, m): σ_x(t), the density error at t_final and
    the width error over all saves (both claims of `run`); vmappable."""
    a, p0 = values.get("a", config.a), values.get("p0", config.p0)
    hbar, mass = values.get("hbar", config.hbar), values.get("mass", config.mass)
    ts, sigma, err = _one_dimension(config, a, p0, hbar, mass)
    exact = a * jnp.sqrt((1 + (hbar * ts / (mass * a**2)) ** 2) / 2)
    return {
        "sigma_x": sigma,
        "density_error_1d": err[-1],
        "width_error_1d": jnp.max(jnp.abs(sigma - exact)),
    }


def sweep_coords(config: Config):
    return {"t": np.linspace(0.0, config.t_final, config.n_save + 1)}


EXPERIMENT = Experiment(
    description="Free Gaussian packet in 1-D/2-D/3-D vs the exact spreading law (physics §1)",
    physics="§1.4",
    sweep_keys=("a", "p0", "hbar", "mass"),
    sweep_why_not={
        "t_final": FIXES_SAVED_TIMES,
        "box": FIXES_GRID,
    },
    sweep_claims={"density_error_1d": ("<=", 1e-10), "width_error_1d": ("<=", 1e-10)},
    compile_bound=True,
)
