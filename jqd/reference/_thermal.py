"""Closed forms for the thermalization family (physics §7): mode occupations
and level statistics (§7.7), classical gases and free packets (§7.3, §7.5),
Gaussian states of harmonic systems (§7.4), the paper's arithmetic (§7.8).
The derivations are in those sections; nothing here calls a law."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from .._guards import arguments, is_traced

#: ⟨r⟩ of a Poisson spectrum: 2 ln 2 − 1 (exact).
GAP_RATIO_POISSON = 2.0 * math.log(2.0) - 1.0
#: ⟨r⟩ of the GOE, large-N limit, 0.5307(1) (Atas et al. 2013, numerical).
GAP_RATIO_GOE = 0.5307
#: ⟨r⟩ of the 3×3 GOE Wigner-like surmise: 4 − 2√3 = 0.53590 (exact for 3×3 only).
GAP_RATIO_GOE_SURMISE = 4.0 - 2.0 * math.sqrt(3.0)


def bose_einstein(omega, temperature, hbar=1.0):
    """Mean occupation 1/(exp(ħω/T) − 1) of a mode ω at temperature T (k_B = 1;
    `expm1` keeps ħω/T → 0 precise). ω and T must be >= 0, ħ > 0."""
    values = dict(omega=omega, temperature=temperature, hbar=hbar)
    arguments("jqd.reference.bose_einstein", ("omega", "temperature"), **values)
    return _bose_einstein(_guards.to_device(omega), temperature, hbar)


@jax.jit  # one program per shape, not one per op (experiments call it with floats)
def _bose_einstein(omega, temperature, hbar):
    return 1.0 / jnp.expm1(hbar * omega / temperature)


def rayleigh_jeans(omega, temperature, hbar=1.0):
    """Classical (equipartition) occupation T/(ħω) of a mode ω at temperature T
    (ω and T >= 0, ħ > 0)."""
    values = dict(omega=omega, temperature=temperature, hbar=hbar)
    arguments("jqd.reference.rayleigh_jeans", ("omega", "temperature"), **values)
    return _rayleigh_jeans(_guards.to_device(omega), temperature, hbar)


@jax.jit  # one program per shape, not one per op
def _rayleigh_jeans(omega, temperature, hbar):
    return temperature / (hbar * omega)


def gap_ratio_density(r, ensemble: str = "goe"):
    """Density of the min/max gap ratio r ∈ [0, 1] (physics §7.7): ensemble
    "poisson" 2/(1+r)², or "goe" the 3×3 Wigner-like surmise (mean
    `GAP_RATIO_GOE_SURMISE`, not the large-N `GAP_RATIO_GOE`)."""
    if not is_traced(r) and not np.all((np.asarray(r) >= 0) & (np.asarray(r) <= 1)):
        raise ValueError(
            "jqd.reference.gap_ratio_density: r must lie in [0, 1] (a min/max gap ratio); got "
            f"values in [{np.min(r):.4g}, {np.max(r):.4g}]. Use r = min(s_n, s_n-1)/max(...)."
        )
    r = jnp.asarray(r)
    if ensemble == "poisson":
        return 2.0 / (1.0 + r) ** 2
    if ensemble == "goe":
        return (27.0 / 4.0) * (r + r**2) / (1.0 + r + r**2) ** 2.5
    raise ValueError(f"ensemble must be 'poisson' or 'goe'; got {ensemble!r}.")


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(160)
_SURFACE = {1: 2.0, 2: 2.0 * math.pi, 3: 4.0 * math.pi}


def packet_energy_spread(p0, width, mass=1.0, hbar=1.0, dim=3):
    """ΔE of a free Gaussian packet ψ ∝ exp(−|x|²/2d² + i p0·x/ħ) in `dim`
    dimensions: √(p0²σ_p² + (dim/2)σ_p⁴)/m with σ_p² = ħ²/2d² (physics §7.3).
    `p0` is the magnitude of the mean momentum, `width` is d (> 0)."""
    dim = _guards.count(dim, "dim")
    arguments(
        "jqd.reference.packet_energy_spread", real=("p0",), p0=p0, width=width, mass=mass, hbar=hbar
    )
    sp2 = hbar**2 / (2.0 * width**2)
    return jnp.sqrt(p0**2 * sp2 + 0.5 * dim * sp2**2) / mass


def dilute_gas_potential_energy(density, temperature, kappa, sigma, dim=2):
    """Second-virial ⟨PE⟩ per particle of the soft-sphere gas U = κ(σ−r)²/2
    (r < σ) at number density n and temperature T (k_B = 1; physics §7.5).

    why the quadrature is exact: docs/internals/basis.md#virial"""
    if dim not in _SURFACE:
        raise ValueError(f"dim must be 1, 2 or 3; got {dim!r}.")
    values = dict(density=density, temperature=temperature, kappa=kappa, sigma=sigma)
    arguments("jqd.reference.dilute_gas_potential_energy", ("density",), **values)
    return _virial_energy(density, temperature, kappa, sigma, dim)


@functools.partial(jax.jit, static_argnames="dim")  # one program, not one per op
def _virial_energy(density, temperature, kappa, sigma, dim):
    top = jnp.minimum(sigma, 12.0 * jnp.sqrt(temperature / kappa))
    s = 0.5 * top * (jnp.asarray(_NODES) + 1.0)
    w = 0.5 * top * jnp.asarray(_WEIGHTS)
    u = 0.5 * kappa * s**2
    integrand = u * jnp.exp(-u / temperature) * (sigma - s) ** (dim - 1)
    return 0.5 * density * _SURFACE[dim] * jnp.sum(w * integrand)


def harmonic_contact_time(mu, kappa):
    """Duration π√(μ/κ) of a contact of two harmonic soft spheres (reduced mass μ)."""
    arguments("jqd.reference.harmonic_contact_time", mu=mu, kappa=kappa)
    return math.pi * jnp.sqrt(mu / kappa)


def gaussian_energy_variance(A, Sigma, mu, hbar=1.0):
    """Var H of a Gaussian state for H = ½ zᵀAz, z = (x..., p...) (2n,).

    Args:
        A: (2n, 2n) real symmetric Hamiltonian matrix.
        Sigma: (2n, 2n) symmetrized covariance ½⟨{δz_i, δz_j}⟩.
        mu: (2n,) mean ⟨z⟩.
        hbar: ħ.

    Returns ½Tr(AΣAΣ) + (ħ²/8)Tr(AJAJ) + μᵀAΣAμ (physics §7.4).
    """
    A, Sigma, mu = jnp.asarray(A), jnp.asarray(Sigma), jnp.asarray(mu)
    arguments("jqd.reference.gaussian_energy_variance", hbar=hbar)
    n2 = A.shape[-1] if A.ndim == 2 else 0
    if n2 % 2 or n2 == 0 or A.shape != (n2, n2) or Sigma.shape != A.shape or mu.shape != (n2,):
        raise ValueError(
            "jqd.reference.gaussian_energy_variance: A and Sigma must be (2n, 2n) and mu (2n,) "
            f"over z = (x..., p...); got A {A.shape}, Sigma {Sigma.shape}, mu {mu.shape}."
        )
    if jnp.iscomplexobj(A) or jnp.iscomplexobj(Sigma):
        raise ValueError(
            "jqd.reference.gaussian_energy_variance: A and Sigma must be real; got "
            f"{A.dtype} and {Sigma.dtype}."
        )
    caller = "jqd.reference.gaussian_energy_variance"
    checks = _guards.hermitian(A, "A") + _guards.hermitian(Sigma, "Sigma")
    A = _guards.enforce(checks, A, caller=caller)  # an asymmetric part would count
    n = n2 // 2
    eye, zero = jnp.eye(n, dtype=A.dtype), jnp.zeros((n, n), A.dtype)
    J = jnp.block([[zero, eye], [-eye, zero]])
    AS, AJ = A @ Sigma, A @ J
    return 0.5 * jnp.trace(AS @ AS) + hbar**2 / 8 * jnp.trace(AJ @ AJ) + mu @ A @ Sigma @ A @ mu


def product_state_cm_variance(n, mass, width, t, hbar=1.0):
    """Var X_cm(t) = d²/2N + ħ²t²/(2N m² d²) for Ψ ∝ Π_j exp(−(x_j − R_j)²/2d²)
    of N atoms of mass m whose centre of mass is free (physics §7.3)."""
    arguments("jqd.reference.product_state_cm_variance", n=n, mass=mass, width=width, hbar=hbar)
    return width**2 / (2 * n) + (hbar * t) ** 2 / (2 * n * mass**2 * width**2)


def fock_mode_atom_variance(weight, n, mass, omega, hbar=1.0):
    """Variance of an atom's displacement added, over the ground state, by
    the Fock state |n⟩ of one normal mode: n ħ U_jk²/(mω_k)
    (derivation: docs/internals/basis.md#fock-mode).

    Args:
        weight: U_jk, the atom's entry of the normalized mode vector.
        n: the mode's occupation.
        mass: m > 0.
        omega: ω_k > 0.
        hbar: ħ > 0.
    """
    values = dict(n=n, mass=mass, omega=omega, hbar=hbar)
    arguments("jqd.reference.fock_mode_atom_variance", ("n",), **values)
    return n * hbar * weight**2 / (mass * omega)


HBAR_SI = 1.054571817e-34  # J s (CODATA 2018, exact by the 2019 SI)
K_B_SI = 1.380649e-23  # J/K (exact)
C_SI = 299792458.0  # m/s (exact)
ZETA3 = 1.2020569031595942  # Apéry's constant ζ(3)

_SPECTRA = ("planck", "rayleigh_jeans", "wien")


def photon_number_density(temperature, *, hbar=HBAR_SI, k_b=K_B_SI, c=C_SI):
    """Blackbody photon number density n = (2ζ(3)/π²)(kT/ħc)³ (physics §7.8).

    Args:
        temperature: T (K in SI; any unit with matching `k_b`).
        hbar: ħ (SI by default, giving m⁻³).
        k_b: Boltzmann's constant (SI by default).
        c: the speed of light (SI by default).
    """
    values = dict(temperature=temperature, hbar=hbar, k_b=k_b, c=c)
    arguments("jqd.reference.photon_number_density", ("temperature",), **values)
    t = jnp.asarray(temperature)
    return 2.0 * ZETA3 / np.pi**2 * (k_b * t / (hbar * c)) ** 3


def einstein_hopf_drag_factor(x, spectrum: str = "planck"):
    """f = 1 − (1/3) d ln ρ/d ln ν, the Einstein-Hopf drag per unit ρ
    (F = −σ (v/c) ρ f; physics §7.8), at x = hν/kT.

    `spectrum`: "planck" (x/(3(1 − e^{−x}))), "rayleigh_jeans" (1/3) or
    "wien" (x/3). x must be >= 0.
    """
    if spectrum not in _SPECTRA:
        raise ValueError(f"spectrum must be one of {_SPECTRA}; got {spectrum!r}.")
    arguments("jqd.reference.einstein_hopf_drag_factor", ("x",), x=x)
    return _drag_factor(x, spectrum)


@functools.partial(jax.jit, static_argnames="spectrum")  # one program, not one per op
def _drag_factor(x, spectrum):
    x = jnp.asarray(x)
    if spectrum == "rayleigh_jeans":
        return jnp.full_like(x, 1.0 / 3.0, dtype=jnp.result_type(x, float))
    if spectrum == "wien":
        return x / 3.0
    # x/(1 − e^{−x}) = x/(−expm1(−x)), finite (→ 1) at x → 0 via a safe branch.
    small = jnp.abs(x) < 1e-8
    xs = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 + x / 2, xs / (-jnp.expm1(-xs))) / 3.0


def klein_gordon_norm_density(a, a_dot, form: str = "corrected", mu0=1.0):
    """(1/4μ₀) Im(A Ȧ* − Ȧ A*) ("corrected") or the printed (1/4μ₀) Im(A Ȧ* − Ȧ* A)
    ("printed", identically 0) of a complex field `a` and its time derivative
    (paper T §3; physics §7.3). For A = α e^{i(kx−ωt)} the corrected form is
    α²ω/(2μ₀)."""
    arguments("jqd.reference.klein_gordon_norm_density", mu0=mu0)
    if not is_traced(a, a_dot) and jnp.shape(a) != jnp.shape(a_dot):
        raise ValueError(
            f"jqd.reference.klein_gordon_norm_density: a_dot must have the shape of a "
            f"{jnp.shape(a)} (its time derivative); got {jnp.shape(a_dot)}."
        )
    a, a_dot = jnp.asarray(a), jnp.asarray(a_dot)
    if form == "corrected":
        return jnp.imag(a * jnp.conj(a_dot) - a_dot * jnp.conj(a)) / (4 * mu0)
    if form == "printed":
        return jnp.imag(a * jnp.conj(a_dot) - jnp.conj(a_dot) * a) / (4 * mu0)
    raise ValueError(f"form must be 'corrected' or 'printed'; got {form!r}.")
