"""Closed forms behind the arithmetic of paper T §3 (physics §7.8).

Blackbody photon number density. Integrating the Bose-Einstein occupation
over the modes of a box, two polarizations, density of states ω²/(π²c³):

    n_γ = (1/π²c³) ∫₀^∞ ω² dω / (e^{ħω/kT} − 1) = (2ζ(3)/π²) (kT/ħc)³,

since ∫₀^∞ x²/(eˣ − 1) dx = Γ(3)ζ(3) = 2ζ(3). At 300 K: 5.5e14 m⁻³.

Einstein-Hopf drag (A. Einstein and L. Hopf, Ann. Phys. 33, 1105 (1910);
A. Einstein, Phys. Z. 18, 121 (1917), §"Berechnung der auf Moleküle
wirkenden Kraft"). An absorber with a narrow line at ν and integrated cross
section σ moves with velocity v ≪ c through isotropic radiation of spectral
energy density ρ(ν) (specific intensity I = cρ/4π). In its rest frame
I/ν³ is invariant and ν_lab = ν(1 + β cos θ) (β = v/c, θ from the direction
of motion to where the radiation comes from), so to first order in β the
intensity it absorbs from direction θ is I(ν) + β cos θ (ν dI/dν − 3I).
Each absorbed energy E carries momentum E/c along the ray; the re-emission
is symmetric in the rest frame and carries none. Integrating cos θ over the
sphere (∫cos²θ dΩ = 4π/3) gives the drag

    F = −σ β [ρ(ν) − (ν/3) dρ/dν]  =  −σ β ρ(ν) · f,
    f = 1 − (1/3) d ln ρ / d ln ν     (the Einstein-Hopf factor).

For Planck's ρ ∝ ν³/(eˣ − 1), x = hν/kT: f = x / (3(1 − e^{−x})), which
rises from 1/3 (Rayleigh-Jeans limit, x → 0) to x/3 (Wien limit): the drag
on a moving oscillator never vanishes in a Planck field. What vanishes is
the mean force on an oscillator at rest (isotropy); equilibrium is a balance
between this drag and the fluctuating impulses (Einstein 1917:
⟨Δ²⟩/τ = 2kT σβρf/v), which with classical oscillators (Einstein-Hopf 1910)
selects Rayleigh-Jeans, with quantized absorption Planck.

Klein-Gordon norm density of a complex field A (paper T §3; physics §7.3):
(1/4μ₀) Im(A Ȧ* − Ȧ A*); as printed, Im(A Ȧ* − Ȧ* A), it is identically
zero (the two products are the same number).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._guards import arguments, is_traced

__all__ = [
    "HBAR_SI",
    "K_B_SI",
    "C_SI",
    "ZETA3",
    "photon_number_density",
    "einstein_hopf_drag_factor",
    "klein_gordon_norm_density",
]

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
    arguments(
        "jqd.reference.photon_number_density",
        ("temperature",),
        temperature=temperature,
        hbar=hbar,
        k_b=k_b,
        c=c,
    )
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
