"""Mutants of nelson-fermions (antisymmetric Nelson diffusion, physics §3.6):
plausible bugs its quick claims must catch (see tests/mutation.py). Seams:
the experiment's own `coefficients` (the level-coefficient tensor of the
(anti)symmetrized state) and `guide_state` (the guiding grid ψ0 that drives
the particles), and the Nelson guidance velocities
(`tests/mutation.osmotic_scaled`)."""

from __future__ import annotations

import sys

from mutation import Mutant, osmotic_scaled


def _symmetric_as_antisymmetric(monkeypatch):
    """The state built for "antisymmetric" is the symmetrized one (a + where
    the determinant has a −)."""
    from jqdlab import registry

    registry.load("nelson-fermions")
    module = sys.modules["jqd_experiments.nelson_fermions"]
    correct = module.coefficients

    def coefficients(chi, kind):
        return correct(chi, "symmetric" if kind == "antisymmetric" else kind)

    monkeypatch.setattr(module, "coefficients", coefficients)


def _drift_symmetrized(monkeypatch):
    """The particles are drawn from |ψ_A|² but moved by the drift of the symmetric
    state: the guiding grid ψ0 is the symmetrized one, while the exact
    references (draw, occupations, exclusion) stay antisymmetric."""
    from jqdlab import registry

    registry.load("nelson-fermions")
    module = sys.modules["jqd_experiments.nelson_fermions"]
    correct = module.guide_state

    def guide_state(chi, kind, grid, hbar, mass):
        return correct(chi, "symmetric" if kind == "antisymmetric" else kind, grid, hbar, mass)

    monkeypatch.setattr(module, "guide_state", guide_state)


def _particles_frozen(monkeypatch):
    """The Nelson steps evolve the guiding ψ but the particles' new positions are
    dropped (an ensemble frozen at its exact t = 0 draw)."""
    import equinox as eqx

    from jqdlab import registry

    registry.load("nelson-fermions")
    module = sys.modules["jqd_experiments.nelson_fermions"]
    correct = module._advance

    def advance(law, y, *args):
        moved, count = correct(law, y, *args)
        return eqx.tree_at(lambda s: s.x, moved, y.x), 0 * count

    monkeypatch.setattr(module, "_advance", advance)


def _potential_half_dropped(monkeypatch):
    """The well V = kΣx_i² without its ½: the grid law, and the drift it gives the
    particles, evolve in a stiffer well than the exact states."""
    from jqdlab import registry

    registry.load("nelson-fermions")
    module = sys.modules["jqd_experiments.nelson_fermions"]
    monkeypatch.setattr(module, "_potential", lambda x, t, args: args["k"] * sum(xi**2 for xi in x))


def _osmotic_dropped(monkeypatch):
    """Nelson drift without u_N: Bohm velocity plus noise."""
    osmotic_scaled(monkeypatch, 0.0)


def _osmotic_without_mass(monkeypatch):
    """u_N = (ħ/2)∇ln ρ: the 1/m of D = ħ/2m dropped from the osmotic velocity."""
    osmotic_scaled(monkeypatch, lambda mass: mass)


MUTANTS = [
    Mutant(
        experiment="nelson-fermions",
        name="symmetric-as-antisymmetric",
        bug="the 'antisymmetric' state built with + (symmetrized) instead of the determinant's −",
        apply=_symmetric_as_antisymmetric,
        caught_by="double occupancy 2 particles antisymmetric",
    ),
    Mutant(
        experiment="nelson-fermions",
        name="drift-symmetrized",
        bug="the particles (drawn from |ψ_A|²) moved by the drift of the symmetrized state "
        "(guiding ψ0 symmetric; exact references antisymmetric)",
        apply=_drift_symmetrized,
        caught_by="exclusion 2 particles antisymmetric",
    ),
    Mutant(
        experiment="nelson-fermions",
        name="osmotic-dropped",
        bug="Nelson drift without the osmotic velocity u_N (Bohm velocity + noise)",
        apply=_osmotic_dropped,
        caught_by="node crossings (2 particles, antisymmetric)",
    ),
    Mutant(
        experiment="nelson-fermions",
        name="osmotic-without-mass",
        bug="Nelson osmotic velocity (ħ/2)∇ln ρ instead of (ħ/2m)∇ln ρ (mass dropped)",
        apply=_osmotic_without_mass,
        caught_by="equivariance at ħ = 0.6",
    ),
    Mutant(
        experiment="nelson-fermions",
        name="particles-frozen",
        bug="the Nelson steps' new positions dropped: the ensemble stays at its t = 0 draw "
        "while ψ evolves",
        apply=_particles_frozen,
        caught_by="equivariance 2 particles antisymmetric",
    ),
    Mutant(
        experiment="nelson-fermions",
        name="potential-half-dropped",
        bug="the grid law's well kΣx² instead of ½kΣx² (the particles follow that ψ)",
        apply=_potential_half_dropped,
        caught_by="guiding grid ψ = exact ψ(t)",
    ),
]
