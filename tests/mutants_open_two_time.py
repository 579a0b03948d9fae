"""Mutants of nelson-two-time: plausible physics bugs its quick claims must catch
(see tests/mutation.py)."""

from __future__ import annotations

from mutants_dqm import osmotic_without_mass
from mutation import Mutant, osmotic_scaled, scaled


def _osmotic_sign_flipped(monkeypatch):
    """u_N = −D∇ln ρ (Zakir's Fick velocity Z23) instead of +D∇ln ρ in the Nelson drift."""
    osmotic_scaled(monkeypatch, -1.0)


def _copy_rate_without_two(monkeypatch):
    """Copy rate R sin⁺ instead of 2R sin⁺ in the exact event-driven copy process."""
    import jqd.copy._gillespie as gil

    monkeypatch.setattr(gil, "transfer_rates", scaled(gil.transfer_rates, 0.5))


MUTANTS = [
    Mutant(
        "nelson-two-time",
        "osmotic-sign-flipped",
        "Nelson osmotic velocity −D∇ln ρ (the Fick velocity) instead of +D∇ln ρ",
        _osmotic_sign_flipped,
        caught_by="Nelson ground state: ⟨x(t)x(0)⟩",
    ),
    Mutant(
        "nelson-two-time",
        "osmotic-without-mass",
        "Nelson osmotic velocity (ħ/2)∇ln ρ instead of (ħ/2m)∇ln ρ (mass dropped)",
        osmotic_without_mass,
        caught_by="Nelson ground state at ħ = ",
    ),
    Mutant(
        "nelson-two-time",
        "copy-rate-without-two",
        "copy rate R sin⁺ instead of 2R sin⁺ (event-driven member process)",
        _copy_rate_without_two,
        caught_by="copy = Bell (site basis)",
    ),
]
