"""Copy dynamics on a ring: continuum limit ā → 0 and classical limit ħ → 0 (S56-S62).

Nearest-neighbour copy rates R = ħ/(2mā²) (S56, with δ = π) make the
mean-field copy law the tight-binding Schrödinger equation. (1) A free
Gaussian on the ring vs the continuum density of SPEC §1 as ā → 0: the
measured order in ā. (2) In V = x²/2 + x⁴/4, a coherent packet of width √ħ
started at rest at x0: its centre vs the Newton trajectory and its width as
ħ → 0 (ā = ħ/16, so ā p/ħ ≪ 1 as S62 asks). (3) The dense mean-field law
itself is run on the coarsest ring and compared with the split-step form.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

import jqd
from jqd.experiment import Experiment, Recorder
from jqd.stats import loglog_slope


@dataclass(frozen=True)
class Config:
    """Attributes:
    box: ring length L (a = 1 units for part 1).
    t_spread: time of the spreading comparison (m a²/ħ).
    p0: packet momentum in part 1.
    abars: lattice spacings ā for part 1.
    hbars: ħ values for part 2.
    x0: start of the packet in part 2.
    t_classical: horizon of part 2 (half a small-oscillation period: π).
    box_classical: ring length in part 2.
    sites_per_hbar: ā = ħ / sites_per_hbar in part 2.
    dt: split-step time step in part 2.
    """

    box: float = 32.0
    t_spread: float = 2.0
    p0: float = 1.0
    abars: tuple[float, ...] = (0.4, 0.2, 0.1, 0.05, 0.025)
    hbars: tuple[float, ...] = (0.1, 0.05, 0.025, 0.0125)
    x0: float = 1.0
    t_classical: float = float(np.pi)
    box_classical: float = 8.0
    sites_per_hbar: int = 16
    dt: float = 1e-3

    @classmethod
    def quick(cls) -> Config:
        return cls(abars=(0.4, 0.2, 0.1, 0.05), hbars=(0.1, 0.05, 0.025), dt=2e-3)


def run(config: Config, rec: Recorder) -> None:
    import diffrax
    import matplotlib.pyplot as plt
    import xarray as xr
    from scipy.integrate import solve_ivp

    cp = jqd.copy
    # (1) continuum limit
    errs = []
    for ab in config.abars:
        P = int(round(config.box / ab))
        psi0 = cp.lattice_gaussian(P, ab, a=1.0, p0=config.p0)
        psi = cp.lattice_evolve_psi(
            psi0, ab, jnp.array([0.0, config.t_spread]), dt=config.t_spread
        )[-1]
        ref = jqd.reference.free_gaussian_density(
            cp.ring_positions(P, ab), config.t_spread, a=1.0, p0=config.p0
        )
        errs.append(float(jnp.max(jnp.abs(jnp.abs(psi) ** 2 / ab - ref))))
    abars = np.array(config.abars)
    order = loglog_slope(abars, errs)
    rec.metric("spreading_errors", dict(zip(map(str, config.abars), errs, strict=True)))
    rec.claim(
        "order in ā",
        "S56-S58 → continuum Schrödinger; tight-binding dispersion "
        "(kā)²/12 ⇒ max|ρ_a/ā − ρ(x_a,t)| ∝ ā² (|order − 2|)",
        measured=abs(order - 2),
        tolerance=0.1,
    )
    # (3) the copy law itself on the coarsest ring equals the Schrödinger form
    ab = config.abars[0]
    P = int(round(config.box / ab))
    psi0 = cp.lattice_gaussian(P, ab, a=1.0, p0=config.p0)
    ts = jnp.array([0.0, config.t_spread])
    sol = jqd.evolve_adaptive(
        cp.MeanField(),
        cp.state_from_psi(psi0),
        cp.ring_params(P, ab),
        ts,
        solver=diffrax.Dopri8(),
        rtol=1e-12,
        atol=1e-14,
    )
    split = cp.lattice_evolve_psi(psi0, ab, ts, dt=config.t_spread)[-1]
    mf_err = float(jnp.max(jnp.abs(sol.y_final.rho - jnp.abs(split) ** 2)))
    rec.claim(
        "copy law = tight binding",
        f"SPEC §5/S56: mean-field copy law on the ring (P = {P}) vs its Schrödinger form, max|Δρ|",
        measured=mf_err,
        tolerance=1e-10,
    )
    # (2) classical limit
    V = lambda x: 0.5 * x**2 + 0.25 * x**4
    T = config.t_classical
    n_save = 32
    ts = np.linspace(0.0, T, n_save + 1)
    cl = solve_ivp(
        lambda t, y: [y[1], -(y[0] + y[0] ** 3)],
        (0, T),
        [config.x0, 0.0],
        t_eval=ts,
        rtol=1e-12,
        atol=1e-12,
    ).y[0]
    steps = max(1, int(round(T / n_save / config.dt)))
    dev, width, means = [], [], []
    for hb in config.hbars:
        ab = hb / config.sites_per_hbar
        P = int(round(config.box_classical / ab))
        x = cp.ring_positions(P, ab)
        psi0 = cp.lattice_gaussian(P, ab, a=np.sqrt(hb), x0=config.x0, hbar=hb)
        psi = cp.lattice_evolve_psi(psi0, ab, ts, hbar=hb, potential=V(x), dt=T / n_save / steps)
        rho = jnp.abs(psi) ** 2
        mean = rho @ x
        means.append(np.asarray(mean))
        dev.append(float(jnp.max(jnp.abs(mean - cl))))
        width.append(float(jnp.max(jnp.sqrt(rho @ x**2 - mean**2))))
    hbars = np.array(config.hbars)
    p_dev = loglog_slope(hbars, dev)
    p_width = loglog_slope(hbars, width)
    rec.metric("centre_deviation", dict(zip(map(str, config.hbars), dev, strict=True)))
    rec.metric("max_width", dict(zip(map(str, config.hbars), width, strict=True)))
    rec.metric("order_centre_in_hbar", p_dev)
    rec.metric("order_width_in_hbar", p_width)
    rec.claim(
        "centre → Newton",
        "S60-S61: ħ → 0 gives the Hamilton-Jacobi ensemble; max_t |⟨x⟩ − x_cl| ∝ ħ (|order − 1|)",
        measured=abs(p_dev - 1),
        tolerance=0.15,
    )
    rec.claim(
        "spreading → 0",
        "S62: width of the packet → 0 as ħ^(1/2) (|order − 1/2|)",
        measured=abs(p_width - 0.5),
        tolerance=0.1,
    )

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    axes[0].loglog(abars, errs, "o-", label="measured")
    axes[0].loglog(abars, errs[-1] * (abars / abars[-1]) ** 2, "k--", label="∝ ā²")
    axes[0].set_xlabel("lattice spacing ā  (a)")
    axes[0].set_ylabel(f"max |ρ_a/ā − ρ(x_a, t={config.t_spread:g})|  (1/a)")
    axes[0].set_title(f"Continuum limit: order {order:.2f}")
    axes[0].legend()
    axes[1].plot(ts, cl, "k-", lw=3, alpha=0.4, label="Newton")
    for hb, m in zip(config.hbars, means, strict=True):
        axes[1].plot(ts, m, label=f"⟨x⟩, ħ = {hb:g}")
    axes[1].set_xlabel("t  (1/ω, V = x²/2 + x⁴/4)")
    axes[1].set_ylabel("⟨x⟩  (length)")
    axes[1].set_title("Packet centre vs classical trajectory")
    axes[1].legend()
    axes[2].loglog(hbars, dev, "o-", label=f"max|⟨x⟩ − x_cl| (order {p_dev:.2f})")
    axes[2].loglog(hbars, width, "s-", label=f"max width (order {p_width:.2f})")
    axes[2].set_xlabel("ħ  (action units)")
    axes[2].set_ylabel("length")
    axes[2].set_title("Classical limit ħ → 0")
    axes[2].legend()
    fig.suptitle(
        f"Copy dynamics on a ring: continuum limit O(ā^{order:.2f}); ħ → 0 recovers "
        f"Newton (centre ∝ ħ^{p_dev:.2f}, width ∝ ħ^{p_width:.2f})"
    )
    rec.figure(fig, "classical_limit.png")
    rec.arrays(
        xr.Dataset(
            {"centre": (("hbar", "t"), np.array(means)), "classical": (("t",), cl)},
            coords={"hbar": hbars, "t": ts},
        ),
        "classical_limit.nc",
    )


EXPERIMENT = Experiment(
    name="copy-classical-limit",
    description="Copy rates R = ħ/2mā² on a ring: continuum limit ā → 0, classical limit ħ → 0",
    config=Config,
    run=run,
)
