"""Mutants of dqm-algebra (Zakir Z2-Z5, Z21, Z35-Z44, Z55): plausible bugs in the
(ψ, ψ*) and (ρ, S) algebras of observables, the Fick uncertainty product and the
localization energy that its quick claims must catch."""

from __future__ import annotations

from mutation import Mutant, scaled


def _bracket_sign(monkeypatch):
    """Z27 with δA/δS δB/δρ − δB/δS δA/δρ: the opposite sign convention of the bracket
    (`jqd.dqm._algebra.bracket_density`, which `poisson_bracket(s)` call)."""
    import jqd.dqm._algebra as alg

    good = alg.bracket_density
    monkeypatch.setattr(alg, "bracket_density", lambda dA, dB: -good(dA, dB))


def _p2_without_diffusion_momentum(monkeypatch):
    """⟨p²⟩ = ∫ρ(∂S)²: the diffusion momentum (m u)² of Z25 dropped
    (`jqd.dqm.momentum_square`, looked up by the experiment at call time)."""
    import jqd.dqm
    from jqd.dqm._state import frame_gradient

    def momentum_square(grid, y, params, axis=0, *, kind="spectral", floor=None):
        g = frame_gradient(grid, y.S, y.momentum, y.chirp, kind)[axis]
        return grid.integrate(y.rho * g**2)

    monkeypatch.setattr(jqd.dqm, "momentum_square", momentum_square)


def _diffusion_without_mass(monkeypatch):
    """D = ħ/2 instead of ħ/2m (`DQMParams.diffusion`): the Fick velocity m times
    too large at m ≠ 1."""
    from jqd.dqm import DQMParams

    monkeypatch.setattr(
        DQMParams, "diffusion", lambda self: self.hbar / 2 if self.D is None else self.D
    )


def _momentum_as_velocity(monkeypatch):
    """p̄ = ∫ρ∇S/m, the mean drift velocity (Z10) for the momentum (Z41), at the
    quick config's m (`jqd.dqm.momentum_mean`, looked up at call time)."""
    import jqd.dqm
    from jqdlab import registry

    mass = registry.load("dqm-algebra").config.quick().mass
    monkeypatch.setattr(jqd.dqm, "momentum_mean", scaled(jqd.dqm.momentum_mean, 1 / mass))


def _hamiltonian_without_quantum_term(monkeypatch):
    """H = ∫ρ[(∇S)²/2m + V], the classical Hamilton function: the diffusion energy
    (m D²/2)∫ρ(∇ln ρ)² of Z25-Z26 dropped (`jqd.dqm._functional.fisher_energy`, which
    `law_functional`, hence `jqd.dqm.hamiltonian`, looks up)."""
    import jqd.dqm._functional as fn

    monkeypatch.setattr(fn, "fisher_energy", scaled(fn.fisher_energy, 0.0))


def _uncertainty_without_4(monkeypatch):
    """⟨(m u)²⟩ = (mD)²∫(∂√ρ)², the 4 of ρu² = 4D²(∂√ρ)² dropped
    (`jqd.dqm.UncertaintyProduct.__call__`)."""
    from jqd.dqm import UncertaintyProduct

    monkeypatch.setattr(UncertaintyProduct, "__call__", scaled(UncertaintyProduct.__call__, 0.25))


def _quantum_potential_x2(monkeypatch):
    """Q = −(ħ²/m)∇²√ρ/√ρ (the 1/2 of ħ²/2m dropped) where `quantum_potential` reads
    δF/δρ (`jqd.dqm._functional.fisher_derivative`)."""
    import jqd.dqm._functional as fn

    monkeypatch.setattr(fn, "fisher_derivative", scaled(fn.fisher_derivative, 2.0))


def _fick_without_half(monkeypatch):
    """u = −(ħ/m)∇ρ/ρ (the 1/2 of D = ħ/2m dropped) in the diffusion momentum
    (`jqd.dqm._algebra.osmotic_momentum_square`, read by `localization_energy` and
    `momentum_square`): ∫ρ(m u)² four times too large."""
    import jqd.dqm._algebra as alg

    monkeypatch.setattr(alg, "osmotic_momentum_square", scaled(alg.osmotic_momentum_square, 4.0))


def _patch_both(monkeypatch, name, fn):
    """Replace `name` in `jqd.dqm._algebra` (where the library's own calls look it up)
    and in `jqd.dqm` (where the experiment does)."""
    import jqd.dqm
    import jqd.dqm._algebra as alg

    monkeypatch.setattr(alg, name, fn)
    monkeypatch.setattr(jqd.dqm, name, fn)


def _wirtinger_without_half(monkeypatch):
    """δ/δψ* = δ/δψ₁ + iδ/δψ₂ (and δ/δψ likewise): the ½ of the Wirtinger derivative
    dropped (`jqd.dqm.wirtinger_derivatives`)."""
    import jqd.dqm._algebra as alg

    good = alg.wirtinger_derivatives

    def wirtinger_derivatives(grid, functional, psi):
        d_psi, d_conj = good(grid, functional, psi)
        return 2 * d_psi, 2 * d_conj

    _patch_both(monkeypatch, "wirtinger_derivatives", wirtinger_derivatives)


def _wirtinger_swapped(monkeypatch):
    """δ/δψ* = ½(δ/δψ₁ − iδ/δψ₂) and δ/δψ = ½(δ/δψ₁ + iδ/δψ₂): the two Wirtinger
    derivatives exchanged (`jqd.dqm.wirtinger_derivatives`)."""
    import jqd.dqm._algebra as alg

    good = alg.wirtinger_derivatives

    def wirtinger_derivatives(grid, functional, psi):
        d_psi, d_conj = good(grid, functional, psi)
        return d_conj, d_psi

    _patch_both(monkeypatch, "wirtinger_derivatives", wirtinger_derivatives)


def _psi_bracket_ihbar_sign(monkeypatch):
    """Z3 with 1/(−iħ), i.e. {ψ, ψ*} = −δ/iħ (`jqd.dqm.psi_bracket_density`)."""
    import jqd.dqm._algebra as alg

    good = alg.psi_bracket_density
    _patch_both(monkeypatch, "psi_bracket_density", lambda dA, dB, hbar: -good(dA, dB, hbar))


def _schrodinger_kinetic_without_half(monkeypatch):
    """H[ψ, ψ*] = ∫(ħ²/m ∇ψ*·∇ψ + ψ*Vψ) (the 1/2 of ħ²/2m dropped) in Z2
    (`jqd.dqm.schrodinger_energy`)."""
    import jqd.dqm._algebra as alg

    good = alg.schrodinger_energy

    def schrodinger_energy(grid, psi, params, potential):
        # 2H − V-term = ∫(ħ²/m |∇ψ|² + V|ψ|²)
        return 2 * good(grid, psi, params, potential) - grid.integrate(potential * abs(psi) ** 2)

    _patch_both(monkeypatch, "schrodinger_energy", schrodinger_energy)


MUTANTS = [
    Mutant(
        "dqm-algebra",
        "wirtinger-without-half",
        "Wirtinger derivative δ/δψ* = δ/δψ₁ + iδ/δψ₂ (the ½ dropped)",
        _wirtinger_without_half,
        caught_by="Z2/Z5 δH/δψ* = Ĥψ",
    ),
    Mutant(
        "dqm-algebra",
        "wirtinger-swapped",
        "δ/δψ and δ/δψ* exchanged (δ/δψ* = ½(δ/δψ₁ − iδ/δψ₂))",
        _wirtinger_swapped,
        caught_by="Z5 ∂ψ/∂t = {ψ, H}",
    ),
    Mutant(
        "dqm-algebra",
        "psi-bracket-ihbar-sign",
        "(ψ, ψ*) bracket Z3 with 1/(−iħ) for 1/iħ",
        _psi_bracket_ihbar_sign,
        caught_by="Z3 (ψ, ψ*) bracket = commutator",
    ),
    Mutant(
        "dqm-algebra",
        "schrodinger-kinetic-without-half",
        "H[ψ, ψ*] = ∫(ħ²/m ∇ψ*·∇ψ + ψ*Vψ) (the 1/2 of ħ²/2m dropped, Z2)",
        _schrodinger_kinetic_without_half,
        caught_by="Z3 (ψ, ψ*) bracket = Z27 (ρ, S) bracket",
    ),
    Mutant(
        "dqm-algebra",
        "bracket-sign",
        "Poisson bracket Z27 with the opposite sign (δA/δS δB/δρ − δB/δS δA/δρ)",
        _bracket_sign,
        caught_by="Z38 bracket = commutator",
    ),
    Mutant(
        "dqm-algebra",
        "p2-without-diffusion-momentum",
        "⟨p²⟩ = ∫ρ(∇S)² without the diffusion momentum (m u)² of Z25",
        _p2_without_diffusion_momentum,
        caught_by="Z37 values",
    ),
    Mutant(
        "dqm-algebra",
        "diffusion-without-mass",
        "DQMParams.diffusion() = ħ/2 instead of ħ/2m (Fick velocity m-fold at m = 1.3)",
        _diffusion_without_mass,
        caught_by="Z41 momentum density",
    ),
    Mutant(
        "dqm-algebra",
        "momentum-as-velocity",
        "p̄ = ∫ρ∇S/m (the mean drift velocity) for ∫ρ∇S (Z41)",
        _momentum_as_velocity,
        caught_by="Z42-Z43 p̄ generates translations",
    ),
    Mutant(
        "dqm-algebra",
        "hamiltonian-without-quantum-term",
        "H = ∫ρ[(∇S)²/2m + V] (classical): the diffusion energy of Z25-Z26 dropped",
        _hamiltonian_without_quantum_term,
        caught_by="Z44 dA/dt = {A, H}",
    ),
    Mutant(
        "dqm-algebra",
        "uncertainty-without-4",
        "UncertaintyProduct with ⟨(m u)²⟩ = (mD)²∫(∂√ρ)² (the 4 dropped)",
        _uncertainty_without_4,
        caught_by="Z21 Gaussians",
    ),
    Mutant(
        "dqm-algebra",
        "quantum-potential-x2",
        "quantum potential Q = −(ħ²/m)∇²√ρ/√ρ (the 1/2 dropped)",
        _quantum_potential_x2,
        caught_by="Z55 Ū_u = ⟨Q⟩",
    ),
    Mutant(
        "dqm-algebra",
        "fick-without-half",
        "Fick velocity u = −(ħ/m)∇ρ/ρ in ∫ρ(m u)² (the 1/2 of D = ħ/2m dropped)",
        _fick_without_half,
        caught_by="Z55 Ū_u vs closed form",
    ),
]
