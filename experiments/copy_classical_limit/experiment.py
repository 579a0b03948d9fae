"""Copy dynamics on a ring: continuum limit ā → 0 and classical limit ħ → 0 (S56-S62).

Nearest-neighbour copy rates R = ħ/(2mā²) (S56, with δ = π) make the
mean-field copy law the tight-binding Schrödinger equation. (1) A free
Gaussian on the ring vs the continuum density of physics §1 as ā → 0: the
measured order in ā. (2) In V = x²/2 + x⁴/4, a Gaussian packet of FIXED
(ħ-independent) width started at rest at x0, vs the Hamilton-Jacobi ensemble
of the same initial density and momentum field (S60-S61): the centre and
variance differences vanish as ħ² (the quantum potential's ħ²; nothing in the
initial condition scales with ħ), ā = ħ/16 so ā p/ħ ≪ 1 as S62 asks. (3) The dense mean-field law
itself is run on the coarsest ring and compared with the split-step form.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_exponent, claim_max_error, experiment_config, panel


@experiment_config(
    quick=dict(abars=(0.4, 0.2, 0.1, 0.05), hbars=(0.1, 0.05, 0.025), dt=2e-3),
    limits={
        "box": "> 0",
        "t_spread": "> 0",
        "hbar": "> 0",
        "mass": "> 0",
        "abars": "> 0",
        "hbars": "> 0",
        "width": "> 0",
        "t_classical": "> 0",
        "box_classical": "> 0",
        "dt": "> 0",
    },
)
class Config:
    """Attributes:
    box: ring length L (a = 1 units for part 1).
    t_spread: time of the spreading comparison.
    p0: packet momentum in part 1.
    hbar: ħ of part 1 (≠ 1, so that a lost ħ in the rates R = ħ/2mā² shows).
    mass: m of part 1 (≠ 1 likewise).
    abars: lattice spacings ā for part 1.
    hbars: ħ values for part 2.
    x0: start of the packet in part 2.
    width: Gaussian parameter a of the part-2 packet, ψ ∝ e^{−(x−x0)²/2a²}
        (ħ-independent; position variance a²/2).
    n_quad: Gauss-Hermite nodes of the HJ ensemble.
    t_classical: horizon of part 2 (half a small-oscillation period: π).
    box_classical: ring length in part 2.
    sites_per_hbar: ā = ħ / sites_per_hbar in part 2.
    dt: split-step time step in part 2.
    """

    box: float = 32.0
    t_spread: float = 2.0
    p0: float = 0.7
    hbar: float = 0.7
    mass: float = 1.3
    abars: tuple[float, ...] = (0.4, 0.2, 0.1, 0.05, 0.025)
    hbars: tuple[float, ...] = (0.1, 0.05, 0.025, 0.0125)
    x0: float = 1.0
    width: float = 0.35
    n_quad: int = 40
    t_classical: float = float(np.pi)
    box_classical: float = 8.0
    sites_per_hbar: int = 16
    dt: float = 1e-3


def _sites(P: int, ab: float) -> np.ndarray:
    """`jqd.copy.ring_positions(P, ab)` in NumPy: the same IEEE operations, no program per P."""
    return (-0.5 * P + np.arange(P, dtype=float)) * ab


@functools.partial(jax.jit, static_argnums=(2, 3))  # one program, not one per op
def _copy_start(psi0, split, P: int, ab: float):
    """The mean-field state of ψ0, the ring's `MeanFieldParams` and |split|²."""
    return jqd.copy.state_from_psi(psi0), jqd.copy.ring_params(P, ab), jnp.abs(split) ** 2


def run(config: Config, rec: Recorder) -> None:
    import diffrax
    import matplotlib.pyplot as plt
    import xarray as xr
    from scipy.integrate import solve_ivp

    cp = jqd.copy
    # (1) continuum limit
    # host-side arithmetic in NumPy: eager jnp would compile a program per op and shape
    errs = []
    hm = dict(hbar=config.hbar, mass=config.mass)
    t_spread = np.array([0.0, config.t_spread])
    sites = [_sites(int(round(config.box / ab)), ab) for ab in config.abars]
    # the closed form at every ring's sites in one call (elementwise: one program, not one per P)
    refs = np.split(
        np.asarray(
            jqd.reference.free_gaussian_density(
                np.concatenate(sites), config.t_spread, a=1.0, p0=config.p0, **hm
            )
        ),
        np.cumsum([len(x) for x in sites])[:-1],
    )
    for ab, x, ref in zip(config.abars, sites, refs, strict=True):
        psi0 = cp.lattice_gaussian(len(x), ab, a=1.0, p0=config.p0, hbar=config.hbar)
        psi = np.asarray(cp.lattice_evolve_psi(psi0, ab, t_spread, dt=config.t_spread, **hm))[-1]
        # × (1/ā), as XLA divides by a constant: the values stay those of the jnp form
        errs.append(float(np.max(np.abs(np.abs(psi) ** 2 * (1 / ab) - ref))))
    abars = np.array(config.abars)
    rec.metric("spreading_errors", dict(zip(map(str, config.abars), errs, strict=True)))
    order = claim_exponent(
        rec,
        "order in ā",
        "S56-S58 → continuum Schrödinger; tight-binding dispersion "
        f"(kā)²/12 ⇒ max|ρ_a/ā − ρ(x_a,t)| ∝ ā² (|order − 2|; ħ = {config.hbar:g}, "
        f"m = {config.mass:g}, p0 = {config.p0:g})",
        abars,
        errs,
        tolerance=0.1,
        exponent=2,
    )
    # (3) the copy law itself on the coarsest ring equals the Schrödinger form
    ab = config.abars[0]
    P = int(round(config.box / ab))
    psi0 = cp.lattice_gaussian(P, ab, a=1.0, p0=1.0)
    ts = np.array([0.0, config.t_spread])
    split = np.asarray(cp.lattice_evolve_psi(psi0, ab, ts, dt=config.t_spread))[-1]
    y0, ring, rho_split = _copy_start(psi0, split, P, ab)
    sol = jqd.evolve_adaptive(
        cp.MeanField(), y0, ring, ts, solver=diffrax.Dopri8(), rtol=1e-12, atol=1e-14
    )
    claim_max_error(
        rec,
        "copy law = tight binding",
        f"physics §5/S56: mean-field copy law on the ring (P = {P}) vs its Schrödinger form, max|Δρ|",
        sol.y_final.rho,
        rho_split,
        tolerance=1e-10,
    )
    # (2) classical limit at FIXED initial width: quantum vs the Hamilton-Jacobi ensemble
    V = lambda x: 0.5 * x**2 + 0.25 * (x**2) ** 2  # x⁴ as (x²)², as XLA's integer_pow forms it
    dV = lambda x: x + x**3
    T = config.t_classical
    n_save = 32
    ts = np.linspace(0.0, T, n_save + 1)
    newton = solve_ivp(
        lambda t, y: [y[1], -dV(y[0])],
        (0, T),
        [config.x0, 0.0],
        t_eval=ts,
        rtol=1e-12,
        atol=1e-12,
    ).y[0]
    steps = max(1, int(round(T / n_save / config.dt)))
    h = T / n_save / steps
    # HJ ensemble of the same initial density (x ~ N(x0, a²/2), Gauss-Hermite
    # nodes) and momentum field ∂S = 0, moved by the classical Hamiltonian of
    # the lattice, T(p) = (ħ²/mā²)(1 − cos(pā/ħ)) + V(x) (ħ-independent at
    # fixed ā/ħ), with velocity Verlet at the same dt: the classical limit of
    # the Strang step, so the time-stepping error cancels to O(ħ²).
    gq, wq = np.polynomial.hermite_e.hermegauss(config.n_quad)
    wq = wq / wq.sum()
    dev, dvar, means, hj_means = [], [], [], []
    for hb in config.hbars:
        ab = hb / config.sites_per_hbar
        P = int(round(config.box_classical / ab))
        xn = _sites(P, ab)
        psi0 = cp.lattice_gaussian(P, ab, a=config.width, x0=config.x0, hbar=hb)
        psi = cp.lattice_evolve_psi(psi0, ab, ts, hbar=hb, potential=V(xn), dt=h)
        rho = np.abs(np.asarray(psi)) ** 2
        mean = rho @ xn
        var = rho @ xn**2 - mean**2
        xs = config.x0 + config.width / np.sqrt(2) * gq
        ps = np.zeros_like(xs)
        m_hj, v_hj = [wq @ xs], [wq @ xs**2 - (wq @ xs) ** 2]
        for _ in range(n_save):
            for _ in range(steps):
                ps = ps - 0.5 * h * dV(xs)
                xs = xs + h * (hb / ab) * np.sin(ps * ab / hb)
                ps = ps - 0.5 * h * dV(xs)
            m_hj.append(wq @ xs)
            v_hj.append(wq @ xs**2 - (wq @ xs) ** 2)
        m_hj, v_hj = np.array(m_hj), np.array(v_hj)
        means.append(mean)
        hj_means.append(m_hj)
        dev.append(float(np.max(np.abs(mean - m_hj))))
        dvar.append(float(np.max(np.abs(var - v_hj))))
    hbars = np.array(config.hbars)
    rec.metric("centre_minus_hj", dict(zip(map(str, config.hbars), dev, strict=True)))
    rec.metric("variance_minus_hj", dict(zip(map(str, config.hbars), dvar, strict=True)))
    rec.metric(
        "centre_minus_newton",
        dict(
            zip(
                map(str, config.hbars),
                [float(np.max(np.abs(m - newton))) for m in means],
                strict=True,
            )
        ),
    )
    p_dev = claim_exponent(
        rec,
        "centre → HJ ensemble as ħ²",
        "S60-S61 at fixed initial width: the quantum potential is ħ² × (ħ-independent ρ) ⇒ "
        "max_t |⟨x⟩ − ⟨x⟩_HJ| ∝ ħ² (|order − 2|)",
        hbars,
        dev,
        tolerance=0.05,
        exponent=2,
    )
    p_var = claim_exponent(
        rec,
        "spreading correction as ħ²",
        "S60-S62 at fixed initial width: max_t |σ²(t) − σ²_HJ(t)| ∝ ħ² (|order − 2|)",
        hbars,
        dvar,
        tolerance=0.05,
        exponent=2,
    )
    rec.metric("order_centre_in_hbar", p_dev)
    rec.metric("order_variance_in_hbar", p_var)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    axes[0].loglog(abars, errs, "o-", label="measured")
    axes[0].loglog(abars, errs[-1] * (abars / abars[-1]) ** 2, "k--", label="∝ ā²")
    axes[0].set_xticks(abars, [f"{a:.3g}" for a in abars])  # < 1 decade: no crowded minor labels
    axes[0].set_xticks([], minor=True)
    panel(
        axes[0],
        "lattice spacing ā  (a)",
        f"max |ρ_a/ā − ρ(x_a, t={config.t_spread:g})|  (1/a)",
        f"Continuum limit: order {order:.2f}",
    )
    axes[0].legend()
    axes[1].plot(ts, newton, "k-", lw=3, alpha=0.3, label="Newton (point particle)")
    axes[1].plot(ts, hj_means[-1], "k--", label="HJ ensemble (ħ → 0)")
    # the centres differ by O(ħ²): to the eye one curve, so a style per ħ
    looks = ("-", "--", ":", "-.")
    for i, (hb, m) in enumerate(zip(config.hbars, means, strict=True)):
        axes[1].plot(
            ts, m, ls=looks[i % 4], lw=2.2 - 0.5 * (i % 3), label=f"⟨x⟩, ħ = {hb:g} (≈ one curve)"
        )
    panel(
        axes[1],
        "t  (1/ω, V = x²/2 + x⁴/4)",
        "⟨x⟩  (length)",
        f"Packet centre (width {config.width:g} fixed) vs classical",
    )
    axes[1].legend()
    axes[2].loglog(hbars, dev, "o-", label=f"max|⟨x⟩ − ⟨x⟩_HJ| (order {p_dev:.2f})")
    axes[2].loglog(hbars, dvar, "s-", label=f"max|σ² − σ²_HJ| (order {p_var:.2f})")
    axes[2].loglog(hbars, dev[-1] * (hbars / hbars[-1]) ** 2, "k:", label="∝ ħ²")
    axes[2].set_xticks(hbars, [f"{h:g}" for h in hbars])
    axes[2].set_xticks([], minor=True)
    panel(axes[2], "ħ  (action units)", "length", "Classical limit ħ → 0")
    axes[2].legend()
    fig.suptitle(
        f"Copy dynamics on a ring: continuum limit $O(\\bar{{a}}^{{{order:.2f}}})$; ħ → 0 recovers "
        f"the HJ ensemble (centre ∝ $\\hbar^{{{p_dev:.2f}}}$, variance ∝ $\\hbar^{{{p_var:.2f}}}$)"
    )
    rec.figure(fig, "classical_limit.png")
    rec.arrays(
        xr.Dataset(
            {
                "centre": (("hbar", "t"), np.array(means)),
                "centre_hj": (("hbar", "t"), np.array(hj_means)),
                "newton": (("t",), newton),
            },
            coords={"hbar": hbars, "t": ts},
        ),
        "classical_limit.nc",
    )


EXPERIMENT = Experiment(
    description="Copy rates R = ħ/2mā² on a ring: continuum limit ā → 0, classical limit ħ → 0",
    physics="§5.6",
)
