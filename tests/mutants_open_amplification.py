"""Mutants of husimi-amplification (exact linear Husimi Fokker-Planck solver)."""

from __future__ import annotations

from mutation import Mutant


def _diffusion_sign(monkeypatch):
    # the linear solver reads drift and D from this name at call time
    import jqd.husimi._linear_fp as lf

    orig = lf.drift_and_diffusion

    def bad(hamiltonian, z, args, C):
        v, D = orig(hamiltonian, z, args, C)
        return v, -D

    monkeypatch.setattr(lf, "drift_and_diffusion", bad)


def _diffusion_doubled(monkeypatch):
    import jqd.husimi._linear_fp as lf

    orig = lf.drift_and_diffusion

    def bad(hamiltonian, z, args, C):
        v, D = orig(hamiltonian, z, args, C)
        return v, 2.0 * D

    monkeypatch.setattr(lf, "drift_and_diffusion", bad)


MUTANTS = [
    Mutant(
        "husimi-amplification",
        "diffusion-sign",
        "D = −(C/2)[H'', J]: forward diffusion along the amplified quadrature",
        _diffusion_sign,
        caught_by="Kerr(Ut=0.15) then cat: FP marginal vs Fock-space squeezing",
    ),
    Mutant(
        "husimi-amplification",
        "diffusion-doubled",
        "D = C[H'', J] (twice the commutator diffusion)",
        _diffusion_doubled,
        caught_by="qubit (|0>+|1>)/√2: FP marginal vs Fock-space squeezing",
    ),
]
