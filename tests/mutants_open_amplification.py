"""Mutants of husimi-amplification: the exact linear Husimi Fokker-Planck solver
(seam `jqd.husimi._linear_fp.drift_and_diffusion`) and the Galerkin operator L(1)
of its Kerr stage (seam `jqd.husimi._fp_terms.fp_terms`)."""

from __future__ import annotations

from mutation import Mutant, fp_terms_scaled


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
    Mutant(
        "husimi-amplification",
        "kerr-stage-diffusion-doubled",
        "the Kerr stage's Galerkin diffusion D = C[H'', J] (fp_terms)",
        fp_terms_scaled(1.0, 2.0),
        caught_by="Kerr(Ut=0.15) then cat: FP marginal vs Fock-space squeezing",
    ),
    Mutant(
        "husimi-amplification",
        "kerr-stage-liouville-dropped",
        "the Kerr stage's Galerkin Liouville (drift) term left out (fp_terms)",
        fp_terms_scaled(0.0, 1.0),
        caught_by="Kerr(Ut=0.15) then cat: FP marginal vs Fock-space squeezing",
    ),
]
