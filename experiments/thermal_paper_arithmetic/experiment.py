"""The arithmetic of paper T §3, recomputed (physics §7.8).

Printed statements, each recomputed from its closed form and checked
independently: photons per atom in a solid at room temperature (the paper:
"many more photons ... than the number of atoms N"), the photons' share of
the thermal energy ("very small") and their wavelength ("much longer than
interparticle separations"), the Klein-Gordon norm as printed and corrected,
and the Einstein-Hopf drag on an oscillator moving through Planck radiation
(the paper: no net force if Planckian). Errata recorded as findings, not
claims (an identity and a dimensional argument cannot fail): the printed KG
norm is identically 0; the recoil time τ_r = E/(κv) is not a time; h_PE ≈
h_KE τ_r/τ_coll contradicts ∫h_PE = 1; h_KE ≈ A exp(−(γkT − E)²) has no
energy scale (the packet width is missing). Paper arithmetic in fixed SI
units: ħ is the SI constant, not a parameter.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import claim_max_error, experiment_config, panel

AMU = 1.66053906660e-27  # kg
ANGSTROM, PICOSECOND = 1e-10, 1e-12
H_SI = 6.62607015e-34  # J s (exact)
E_CHARGE = 1.602176634e-19  # C (exact): 1 eV in J
WIEN_B = 2.897771955e-3  # m K, CODATA 2018 Wien wavelength displacement constant (10 digits)
ATM = 101325.0  # Pa


@experiment_config(
    quick={},
    limits={
        "temperature": "> 0",
        "atom_density": "> 0",
        "alpha": "> 0",
        "omega": "> 0",
        "x_min": "> 0",
        "x_max": "> 0",
        "mass_amu": "> 0",
        "epsilon": "> 0",
        "sigma": "> 0",
        "pressure": "> 0",
        "packet_width": "> 0",
    },
)
class Config:
    """Inputs of the four checks (SI unless stated).

    Attributes:
        temperature: T for the photon count (K).
        atom_density: atoms per m³ of the solid compared with (copper:
            8.96 g/cm³ × N_A / 63.546 g/mol = 8.49e28 m⁻³).
        alpha, k, omega: amplitude, wavenumber and frequency of the plane
            wave A = α e^{i(kx − ωt)} (units with μ₀ = 1).
        n_samples: points (x, t) at which the norm densities are evaluated.
        x_min, x_max, n_x: grid of x = hν/kT for the Einstein-Hopf factor.
        mass_amu: atom mass for τ_r (argon: 39.948).
        epsilon, sigma: Lennard-Jones constants (J, m) giving the shell
            stiffness κ = V''(r_min) = 72 ε/(2^{1/3} σ²) (argon).
        pressure: gas pressure (Pa) for the collision time τ_coll of the
            h_PE erratum (argon at 1 atm).
        packet_width: d (m) of the thermal packets for the h_KE erratum
            (argon's thermal wavelength h/√(2πmkT) at 300 K).
    """

    temperature: float = 300.0
    atom_density: float = 8.49e28
    alpha: float = 0.7
    k: float = 2.0
    omega: float = 1.3
    n_samples: int = 64
    x_min: float = 1e-4
    x_max: float = 40.0
    n_x: int = 4001
    mass_amu: float = 39.948
    epsilon: float = 1.65e-21
    sigma: float = 3.40e-10
    pressure: float = ATM
    packet_width: float = 1.6e-11


def _simpson(f, a, b, n):
    """Composite Simpson rule with n (even) intervals (numpy, float64)."""
    x = np.linspace(a, b, n + 1)
    w = np.ones(n + 1)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return (b - a) / (3 * n) * np.sum(w * f(x))


def photon_energy_density(temperature):
    """Blackbody energy density u = (π²/15)(kT)⁴/(ħc)³ (J m⁻³): the mode
    integral (1/π²)(kT)⁴/(ħc)³ ∫x³/(eˣ − 1)dx with ∫ = π⁴/15. SI."""
    kT = 1.380649e-23 * temperature
    return np.pi**2 / 15 * kT**4 / (1.054571817e-34 * 299792458.0) ** 3


def log_planck_per_wavelength(lam, temperature):
    """ln of Planck's spectral energy density per unit wavelength,
    8πhc λ⁻⁵/(e^{hc/λkT} − 1) (SI, λ in m), up to its constant."""
    x = H_SI * 299792458.0 / (lam * 1.380649e-23 * temperature)
    return -5 * jnp.log(lam) - jnp.log(jnp.expm1(x))


def _photon_energy_and_wavelength(config, rec, n_gamma):
    """T §2-3: photons hold a 'very small' fraction of the energy and have
    wavelengths 'much longer than interparticle separations'."""
    from scipy.optimize import brentq

    T = config.temperature
    kT = 1.380649e-23 * T
    u = photon_energy_density(T)

    def integrand(x):
        x = np.where(x == 0, 1e-300, x)
        return x**3 / np.expm1(x)

    quad = _simpson(integrand, 0.0, 60.0, 20000) * kT**4 / (1.054571817e-34 * 299792458.0) ** 3
    claim_max_error(
        rec,
        "photon energy density closed form",
        "physics §7.8: u = (π²/15)(kT)⁴/(ħc)³ equals the mode integral "
        "(1/π²)(kT)⁴/(ħc)³ ∫x³/(eˣ−1)dx (Simpson, 20000 intervals on [0, 60]); relative",
        quad / np.pi**2,
        u,
        tolerance=1e-10,
        relative=True,
    )
    # the material's thermal energy: Dulong-Petit 3 n kT (classical harmonic solid)
    # The verdict on T's "very small" (a 12-decade margin no plausible bug closes):
    # a finding, not a claim.
    share = u / (u + 3 * config.atom_density * kT)
    mean_energy = u / n_gamma / kT
    rec.metric("photon_energy_density_J_per_m3", u)
    rec.metric("photon_energy_share", share)
    rec.metric("mean_photon_energy_over_kT", mean_energy)
    rec.metric(
        "mean_photon_energy_minus_pi4_over_30zeta3",
        mean_energy - np.pi**4 / 30 / 1.2020569031595942,
    )

    # Planck's peak per unit wavelength: root of d ln ρ_λ/d ln λ (autodiff), brentq
    slope = jax.jit(jax.grad(lambda ll: log_planck_per_wavelength(jnp.exp(ll), T)))
    ln_peak = brentq(
        lambda ll: float(slope(ll)), np.log(1e-2 * WIEN_B / T), np.log(1e2 * WIEN_B / T), xtol=1e-14
    )
    lam_peak = float(np.exp(ln_peak))
    claim_max_error(
        rec,
        "Planck peak wavelength λ_max T = Wien's b",
        "physics §7.8: argmax of Planck's ρ_λ ∝ λ⁻⁵/(e^{hc/λkT} − 1) (root of its autodiff "
        "log-derivative, brentq) times T vs CODATA b = 2.897771955e-3 m K; relative",
        lam_peak * T,
        WIEN_B,
        tolerance=1e-9,
        relative=True,
    )
    # The verdict on T's "much longer than interparticle separations": a finding.
    spacing = config.atom_density ** (-1 / 3)
    rec.metric("photon_wavelength_over_atomic_spacing", lam_peak / spacing)
    rec.metric("planck_peak_wavelength_m", lam_peak)
    rec.metric("atomic_spacing_m", spacing)
    return share, lam_peak / spacing


def _photons(config, rec):
    T = config.temperature
    n_gamma = float(jqd.reference.photon_number_density(T))
    # independent check of the closed form: the mode integral by quadrature
    kT, hbar, c = 1.380649e-23 * T, 1.054571817e-34, 299792458.0  # SI (exact since 2019)

    def integrand(x):
        x = np.where(x == 0, 1e-300, x)
        return x**2 / np.expm1(x)

    quad = _simpson(integrand, 0.0, 60.0, 20000) * (kT / (hbar * c)) ** 3 / np.pi**2
    claim_max_error(
        rec,
        "photon density closed form",
        "physics §7.8: n_γ = (2ζ(3)/π²)(kT/ħc)³ equals the mode integral "
        "(1/π²)(kT/ħc)³ ∫x²/(eˣ−1)dx (Simpson, 20000 intervals on [0, 60]); relative",
        n_gamma,
        quad,
        tolerance=1e-10,
        relative=True,
    )
    per_atom = n_gamma / config.atom_density
    rec.claim(
        f"photons per atom at {T:g} K",
        f"physics §7.8: n_γ/n_atoms at {T:g} K (copper, n = {config.atom_density:.3g} m⁻³) "
        "is <= 1; the paper's 'many more photons than atoms' is refuted",
        measured=per_atom,
        tolerance=1.0,
    )
    # temperature at which photons would match atoms: n_γ ∝ T³
    t_equal = T * (config.atom_density / n_gamma) ** (1 / 3)
    rec.metric("photon_density_per_m3", n_gamma)
    rec.metric("photons_per_atom", per_atom)
    rec.metric("temperature_photons_equal_atoms_K", t_equal)
    return n_gamma, per_atom, t_equal


@functools.partial(jax.jit, static_argnames="n_samples")
def plane_wave_samples(alpha, k, omega, n_samples: int):
    """A = α e^{i(kx − ωt)} and Ȧ (forward-mode autodiff in t) at `n_samples`
    uniform (x, t) in [−5, 5]², and Ȧ of the printed e^{ikω} (one program)."""
    xs, ts = jax.random.uniform(jax.random.key(0), (2, n_samples), minval=-5.0, maxval=5.0)

    def wave(x, t):
        return alpha * jnp.exp(1j * (k * x - omega * t))

    def a_and_dot(x, t):  # Ȧ by forward-mode autodiff in t
        return jax.jvp(lambda s: wave(x, s), (t,), (jnp.ones_like(t),))

    a, a_dot = jax.vmap(a_and_dot)(xs, ts)
    # the printed plane wave e^{ikω} has no time dependence: Ȧ = 0, so even the
    # corrected density is 0 for it (a second misprint)
    _, frozen_dot = jax.jvp(
        lambda s: alpha * jnp.exp(1j * k * omega) + 0 * s, (jnp.asarray(0.0),), (1.0,)
    )
    return a, a_dot, frozen_dot


def _norms(config, rec):
    alpha, omega = config.alpha, config.omega
    a, a_dot, frozen_dot = plane_wave_samples(alpha, config.k, omega, config.n_samples)
    printed = jqd.reference.klein_gordon_norm_density(a, a_dot, form="printed")
    corrected = jqd.reference.klein_gordon_norm_density(a, a_dot, form="corrected")
    exact = alpha**2 * omega / 2
    # The printed density is identically 0 (an identity, not a claim): a finding.
    claim_max_error(
        rec,
        "corrected KG norm = α²ω/2",
        "physics §7.8: (1/4)Im(AȦ* − ȦA*) = α²ω/2 (μ₀ = 1) with Ȧ by autodiff; max relative error",
        corrected,
        exact,
        tolerance=1e-12,
        relative=True,
    )
    rec.metric("printed_kg_norm_max_abs", float(np.max(np.abs(np.asarray(printed)))))
    rec.metric("corrected_kg_norm_mean", float(jnp.mean(corrected)))
    rec.metric("corrected_kg_norm_exact", exact)
    rec.metric("printed_plane_wave_time_derivative", float(np.abs(frozen_dot)))
    return printed, corrected, exact


@jax.jit
def _bose_slope(x):
    """d/d ln x of −ln(eˣ − 1) by autodiff, at every x (one program)."""
    return jax.vmap(jax.grad(lambda lx: -jnp.log(jnp.expm1(jnp.exp(lx)))))(jnp.log(x))


def _einstein_hopf(config, rec):
    x = jnp.linspace(config.x_min, config.x_max, config.n_x)
    # d ln ρ / d ln ν of ln ρ = 3 ln x − ln(eˣ − 1) (ν³ times Bose-Einstein): 3 plus the
    # autodiff of the rest, added outside the program (inside, XLA would fuse the
    # product and this sum into one rounding); the same bits as the eager autodiff of
    # the whole ln ρ. NumPy for 1 − slope/3, as XLA divides by 3: a multiply by 1/3.
    slope = 3 + np.asarray(_bose_slope(x))
    f_auto = 1 - slope * (1 / 3)
    f_ref = jqd.reference.einstein_hopf_drag_factor(x)
    claim_max_error(
        rec,
        "Einstein-Hopf factor: autodiff = closed form",
        "physics §7.8: 1 − (1/3) d ln ρ/d ln ν (autodiff of Planck's ln ρ) equals "
        "x/(3(1 − e^{−x})); max relative difference",
        f_auto,
        f_ref,
        tolerance=1e-12,
        relative=True,
    )
    rec.claim(
        "Einstein-Hopf factor >= 0.3",
        f"physics §7.8: min over x = hν/kT in [{config.x_min:g}, {config.x_max:g}] of the drag "
        "factor f (F = −σ(v/c)ρf) on a Planck spectrum (jqd.reference); the drag never "
        "vanishes (limit 1/3 at x → 0), refuting 'no net force' for a moving oscillator",
        measured=float(np.min(np.asarray(f_ref))),
        tolerance=0.3,
        op=">=",
    )
    rec.metric("einstein_hopf_factor_min", float(np.min(np.asarray(f_ref))))
    rec.metric("einstein_hopf_factor_at_x1", float(jqd.reference.einstein_hopf_drag_factor(1.0)))
    return np.asarray(x), np.asarray(f_auto)


def _recoil_time(config, rec):
    """τ_r = E/(κv) and π√(μ/κ) in SI and in (Å, ps, amu) units, both
    converted back to seconds as if they were times."""
    kT = 1.380649e-23 * config.temperature
    m = config.mass_amu * AMU
    E = 1.5 * kT
    v = np.sqrt(8 * kT / (np.pi * m))
    kappa = 72 * config.epsilon / (2 ** (1 / 3) * config.sigma**2)
    energy_unit = AMU * ANGSTROM**2 / PICOSECOND**2  # J
    units = {
        "SI": (E, kappa, v, m, 1.0),
        "Å-ps-amu": (
            E / energy_unit,
            kappa / (AMU / PICOSECOND**2),
            v / (ANGSTROM / PICOSECOND),
            m / AMU,
            PICOSECOND,
        ),
    }
    tau_r, contact = {}, {}
    for name, (e, kap, vel, mass, seconds) in units.items():
        tau_r[name] = e / (kap * vel) * seconds
        contact[name] = float(jqd.reference.harmonic_contact_time(mass / 2, kap)) * seconds
    # A dimensional argument (it cannot fail): findings, not claims.
    rec.metric("tau_r_unit_log10_ratio", float(abs(np.log10(tau_r["SI"] / tau_r["Å-ps-amu"]))))
    rec.metric(
        "contact_time_unit_relative_difference",
        float(abs(contact["SI"] / contact["Å-ps-amu"] - 1)),
    )
    for name in units:
        tag = "SI" if name == "SI" else "AA_ps_amu"
        rec.metric(f"tau_r_as_seconds_{tag}", tau_r[name])
        rec.metric(f"contact_time_s_{tag}", contact[name])
    rec.metric("kappa_N_per_m", kappa)
    rec.metric("v_th_m_per_s", v)
    return tau_r, contact


def _gas_errata(config, rec, contact_s):
    """T §2's time-averaged energy distributions of a gas, checked numerically.

    h_PE ≈ h_KE τ_r/τ_coll with ∫h_KE = 1 gives ∫h_PE = τ_r/τ_coll, not the
    printed ∫h_PE = 1 (the fraction of time in contact is τ_c/τ_coll; the rest
    of the time PE = 0). h_KE ≈ A exp(−(γkT − E)²) has a dimensionful
    exponent: its width in units of kT depends on the energy unit (J vs eV);
    a packet's energy spread ΔE (packet_energy_spread, with its width d) is
    the missing scale."""
    T = config.temperature
    kT = 1.380649e-23 * T
    m = config.mass_amu * AMU
    v = np.sqrt(8 * kT / (np.pi * m))
    n = config.pressure / kT
    tau_coll = 1 / (np.sqrt(2) * n * np.pi * config.sigma**2 * v)  # hard-sphere mean free time
    ratio = contact_s / tau_coll
    e = np.linspace(0.0, 20.0, 20001) * kT  # J
    h_ke = np.exp(-(((e - 1.5 * kT) / (kT)) ** 2))  # any normalized h_KE (unit width here)
    h_ke /= _trapezoid(h_ke, e)
    rec.metric("tau_coll_s", tau_coll)
    rec.metric("hPE_printed_norm", _trapezoid(h_ke * ratio, e))
    widths = {}
    for name, unit in (("J", 1.0), ("eV", E_CHARGE)):
        x = np.linspace(0.0, 60.0, 120001)  # E in the unit; the printed form, γ = 3/2
        h = np.exp(-((1.5 * kT / unit - x) ** 2))
        h /= _trapezoid(h, x)
        mean = _trapezoid(x * h, x)
        widths[name] = float(np.sqrt(_trapezoid((x - mean) ** 2 * h, x))) * unit / kT
        rec.metric(f"hKE_printed_std_over_kT_{name}", widths[name])
    spread = float(jqd.reference.packet_energy_spread(0.0, config.packet_width, m, 1.054571817e-34))
    rec.metric("packet_energy_spread_over_kT", spread / kT)
    return ratio, widths


def _trapezoid(y, x):
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt

    n_gamma, per_atom, t_equal = _photons(config, rec)
    _photon_energy_and_wavelength(config, rec, n_gamma)
    printed, corrected, exact = _norms(config, rec)
    x, f = _einstein_hopf(config, rec)
    tau_r, contact = _recoil_time(config, rec)
    _gas_errata(config, rec, contact["SI"])

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    # n ∝ T³: T/2 to 1e8 K shows both 300 K and t_equal on a log axis of < 20 decades
    T = np.geomspace(config.temperature / 2, max(1e8, 2 * t_equal), 200)
    n_of_T = jax.jit(jqd.reference.photon_number_density)(T)  # one program for the curve
    axes[0].loglog(T, np.asarray(n_of_T) / config.atom_density)
    axes[0].axhline(1.0, color="r", ls="--", label="one photon per atom")
    axes[0].axvline(config.temperature, color="k", ls=":", label=f"{config.temperature:g} K")
    panel(
        axes[0],
        "T (K)",
        "photons per atom (copper)",
        f"{per_atom:.1e} photons/atom at {config.temperature:g} K",
    )
    axes[0].legend()
    axes[1].semilogx(x, f, label="Planck (autodiff)")
    axes[1].axhline(1 / 3, color="k", ls=":", label="Rayleigh-Jeans 1/3")
    axes[1].axhline(0.3, color="r", ls="--", label="claim >= 0.3")
    panel(axes[1], "x = hν/kT", "Einstein-Hopf factor 1 − ⅓ d ln ρ/d ln ν")
    axes[1].set_ylim(0, 2)
    axes[1].legend()
    axes[1].set_title("drag never vanishes")
    labels = ["printed KG", "corrected KG", "α²ω/2"]
    vals = [float(np.max(np.abs(np.asarray(printed)))), float(jnp.mean(corrected)), exact]
    bars = axes[2].bar(labels, vals, color=["C3", "C0", "0.6"])
    axes[2].bar_label(bars, fmt="%.3g", fontsize=9)  # the printed KG bar is 0: say so
    axes[2].set_ylabel("Klein-Gordon norm")
    axes[2].set_title(
        f"τ_r 'in s': SI {tau_r['SI']:.1e}, Å-ps {tau_r['Å-ps-amu']:.1e} (not a time)",
        fontsize=9,
    )
    fig.suptitle(
        f"Paper T §3 recomputed: {per_atom:.0e} photons per atom at {config.temperature:g} K "
        f"(≪ 1; equal only at {t_equal:.1e} K),\nprinted KG norm 0 (corrected α²ω/2), "
        f"Einstein-Hopf drag factor ≥ {min(f):.3f}, E/(κv) unit-dependent"
    )
    rec.figure(fig, "paper_arithmetic.png")


EXPERIMENT = Experiment(
    description=(
        "Paper T §2-3 recomputed: photons per atom, photon energy share and wavelength, "
        "KG norm, Einstein-Hopf drag; errata τ_r, h_PE, h_KE"
    ),
    physics="§7.8",
)
