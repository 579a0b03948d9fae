"""Mutants of the eigenstate-thermalization experiments (thermal-eth-spectrum,
thermal-equilibration, thermal-planck-mode): plausible physics bugs their quick
claims must catch (see tests/mutation.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from mutation import Mutant

import jqd


def _longitudinal_field_dropped(monkeypatch):
    """mixed_field_ising builds H without its h_z Σσᶻ term: the transverse-field
    chain, integrable and spin-flip symmetric (an unresolved symmetry)."""
    orig = jqd.thermal.mixed_field_ising

    def bad(L, **kwargs):
        kwargs["hz"] = 0.0
        return orig(L, **kwargs)

    monkeypatch.setattr(jqd.thermal, "mixed_field_ising", bad)


def _chebyshev_truncated_early(monkeypatch):
    """The Chebyshev series of exp(−iH dt) cut where its tail is 1e-6 instead of
    1e-15: the step is no longer unitary to round-off."""
    monkeypatch.setattr(jqd.thermal._local, "CHEB_TOL", 1e-6)
    monkeypatch.setattr(jqd.thermal._chebyshev, "CHEB_TOL", 1e-6)


def _fermi_dirac_for_bose(monkeypatch):
    """bose_einstein written with the Fermi-Dirac sign, 1/(e^{ħω/T} + 1)."""

    def bad(omega, temperature, hbar=1.0):
        return 1.0 / (jnp.exp(hbar * jnp.asarray(omega) / temperature) + 1.0)

    monkeypatch.setattr(jqd.reference, "bose_einstein", bad)


def _gap_ratio_without_min_max(monkeypatch):
    """Spacing ratio s_{n+1}/s_n of consecutive gaps instead of
    min(s_n, s_{n+1})/max(s_n, s_{n+1}): heavy-tailed, no longer in [0, 1]."""

    def bad(E, *, fraction=1.0, degeneracy_tol=1e-8):
        E = np.sort(np.asarray(E, float))
        cut = int(round(E.size * (1 - fraction) / 2))
        s = np.diff(E[cut : E.size - cut])
        return float(np.mean(s[1:] / s[:-1]))

    monkeypatch.setattr(jqd.thermal, "gap_ratio", bad)


def _step_without_hbar(monkeypatch):
    """SchrodingerLocal steps exp(−iH dt) instead of exp(−iH dt/ħ) (ħ dropped:
    right at ħ = 1 only)."""
    law = jqd.thermal._local.SchrodingerLocal
    orig = law._scaled

    def bad(self, params, dt, rdtype):
        c, a, tau = orig(self, params, dt, rdtype)
        return c, a, tau * params.hbar

    monkeypatch.setattr(law, "_scaled", bad)


def _boltzmann_sign_flipped(monkeypatch):
    """Canonical averages with e^{+βE}: the weights of the negative temperature."""
    orig = jqd.thermal.canonical_average
    monkeypatch.setattr(jqd.thermal, "canonical_average", lambda E, O, beta: orig(E, O, -beta))


MUTANTS = [
    Mutant(
        experiment="thermal-eth-spectrum",
        name="longitudinal-field-dropped",
        bug="mixed-field Ising chain built without h_z Σσᶻ (integrable transverse-field chain)",
        apply=_longitudinal_field_dropped,
        caught_by="<r> mixed-field Ising",
    ),
    Mutant(
        experiment="thermal-equilibration",
        name="chebyshev-truncated-early",
        bug="Chebyshev series of exp(−iH dt) cut at a tail of 1e-6 instead of 1e-15",
        apply=_chebyshev_truncated_early,
        caught_by="|c_n|^2 fixed",
    ),
    Mutant(
        experiment="thermal-planck-mode",
        name="fermi-dirac-for-bose",
        bug="Bose-Einstein occupation with the Fermi-Dirac sign, 1/(e^{ħω/T} + 1)",
        apply=_fermi_dirac_for_bose,
        caught_by="incoherent n_DE",
    ),
    Mutant(
        experiment="thermal-eth-spectrum",
        name="gap-ratio-without-min-max",
        bug="spacing ratio s_{n+1}/s_n instead of min/max of consecutive gaps",
        apply=_gap_ratio_without_min_max,
        caught_by="random-field Heisenberg",
    ),
    Mutant(
        experiment="thermal-planck-mode",
        name="boltzmann-sign-flipped",
        bug="canonical average with weights e^{+βE}",
        apply=_boltzmann_sign_flipped,
        caught_by="n_DE within 15 % of canonical",
    ),
    Mutant(
        experiment="thermal-planck-mode",
        name="chebyshev-truncated-early",
        bug="Chebyshev series of exp(−iH dt) cut at a tail of 1e-6 instead of 1e-15",
        apply=_chebyshev_truncated_early,
        caught_by="harmonic matter: <a^dag a>(t)",
    ),
    Mutant(
        experiment="thermal-planck-mode",
        name="step-without-hbar",
        bug="SchrodingerLocal step exp(−iH dt) instead of exp(−iH dt/ħ) (ħ dropped)",
        apply=_step_without_hbar,
        caught_by="harmonic matter at hbar",
    ),
]
