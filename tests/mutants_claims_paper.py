"""Mutants of thermal-paper-arithmetic's photon energy and wavelength claims
(paper T §2-3, physics §7.8; issue 26). Seams: the experiment's own
`photon_energy_density` (closed form) and `log_planck_per_wavelength`
(Planck's law per unit wavelength), looked up at call time by its `run`."""

from __future__ import annotations

import sys

import jax.numpy as jnp
import numpy as np
from mutation import Mutant


def _experiment_module():
    from jqdlab import registry

    registry.load("thermal-paper-arithmetic")
    return sys.modules["jqd_experiments.thermal_paper_arithmetic"]


def _energy_density_without_pi2(monkeypatch):
    # u = (π⁴/15)(kT)⁴/(ħc)³: the integral ∫x³/(eˣ − 1) = π⁴/15 without the 1/π² of
    # the mode density ω²/(π²c³).
    module = _experiment_module()
    correct = module.photon_energy_density
    monkeypatch.setattr(module, "photon_energy_density", lambda t: np.pi**2 * correct(t))


def _planck_per_frequency(monkeypatch):
    # Planck's per-frequency density ν³/(e^x − 1) ∝ λ⁻³/(e^x − 1) used as the
    # per-wavelength one (the Jacobian |dν/dλ| = c/λ² dropped).
    module = _experiment_module()
    correct = module.log_planck_per_wavelength
    monkeypatch.setattr(
        module,
        "log_planck_per_wavelength",
        lambda lam, t: correct(lam, t) + 2 * jnp.log(lam),
    )


MUTANTS = [
    Mutant(
        "thermal-paper-arithmetic",
        "energy-density-times-pi2",
        "photon energy density (π⁴/15)(kT)⁴/(ħc)³ instead of (π²/15)(kT)⁴/(ħc)³",
        _energy_density_without_pi2,
        "photon energy density closed form",
    ),
    Mutant(
        "thermal-paper-arithmetic",
        "planck-per-frequency",
        "Planck's ρ_ν (∝ λ⁻³/(e^x − 1)) maximised as if it were ρ_λ (∝ λ⁻⁵/(e^x − 1))",
        _planck_per_frequency,
        "Planck peak wavelength",
    ),
]
