"""Spectral and thermal reference values for the thermalization family (physics §7.7).

Closed forms only; nothing here calls a law.

**Mode occupations.** A harmonic mode of angular frequency ω in equilibrium at
temperature T (k_B = 1) holds on average

    Bose-Einstein (Planck):  n_BE(ω, T) = 1 / (exp(ħω/T) − 1),
    Rayleigh-Jeans:          n_RJ(ω, T) = T / (ħω),

the quantum and classical (equipartition, energy T per mode) answers. They
agree for T ≫ ħω, n_RJ − n_BE → 1/2; at T ≲ ħω the classical value is larger
by far (n_BE ~ e^{−ħω/T}).

**Level-spacing ratio.** For sorted levels E_n with gaps s_n = E_{n+1} − E_n,
r_n = min(s_n, s_{n−1}) / max(s_n, s_{n−1}) ∈ [0, 1] needs no unfolding
(Oganesyan & Huse 2007). Its mean is
  - Poisson (uncorrelated levels, integrable or localized): P(r) = 2/(1+r)²,
    ⟨r⟩ = 2 ln 2 − 1 = 0.38629;
  - GOE (time-reversal-symmetric chaos), large-N limit: ⟨r⟩ = 0.5307(1), a
    numerical value (Atas, Bogomolny, Giraud, Roux, PRL 110, 084101 (2013),
    Table I). The 3×3 "Wigner-like surmise" of the same paper,
    P_W(r) = (27/4)(r + r²)/(1 + r + r²)^{5/2} on [0, 1], gives
    ⟨r⟩_W = 4 − 2√3 = 0.53590, 1 % above the large-N value. Finite chaotic
    spectra are compared with the large-N value, `GAP_RATIO_GOE`.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .._guards import arguments, is_traced

#: ⟨r⟩ of a Poisson spectrum: 2 ln 2 − 1 (exact).
GAP_RATIO_POISSON = 2.0 * math.log(2.0) - 1.0
#: ⟨r⟩ of the GOE, large-N limit, 0.5307(1) (Atas et al. 2013, numerical).
GAP_RATIO_GOE = 0.5307
#: ⟨r⟩ of the 3×3 GOE Wigner-like surmise: 4 − 2√3 = 0.53590 (exact for 3×3 only).
GAP_RATIO_GOE_SURMISE = 4.0 - 2.0 * math.sqrt(3.0)


def bose_einstein(omega, temperature, hbar=1.0):
    """Mean occupation 1/(exp(ħω/T) − 1) of a mode ω at temperature T (k_B = 1).

    Written with `expm1` so ħω/T → 0 keeps full precision (→ T/ħω − 1/2).
    ω and T must be >= 0, ħ > 0."""
    arguments(
        "jqd.reference.bose_einstein",
        ("omega", "temperature"),
        omega=omega,
        temperature=temperature,
        hbar=hbar,
    )
    omega = jnp.asarray(omega)
    return 1.0 / jnp.expm1(hbar * omega / temperature)


def rayleigh_jeans(omega, temperature, hbar=1.0):
    """Classical (equipartition) occupation T/(ħω) of a mode ω at temperature T
    (ω and T >= 0, ħ > 0)."""
    arguments(
        "jqd.reference.rayleigh_jeans",
        ("omega", "temperature"),
        omega=omega,
        temperature=temperature,
        hbar=hbar,
    )
    return temperature / (hbar * jnp.asarray(omega))


def gap_ratio_density(r, ensemble: str = "goe"):
    """Density of the min/max gap ratio r ∈ [0, 1].

    ensemble "poisson": 2/(1+r)² (exact); "goe": the Wigner-like surmise
    (27/4)(r + r²)/(1 + r + r²)^{5/2} (exact for 3×3 GOE matrices; its mean is
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
