"""Mutants of the Husimi Fokker-Planck operator (F65-66) for the Galerkin
claims of husimi-kerr and husimi-bose-hubbard.

Seam: `jqd.husimi._fp_terms.fp_terms(poly) -> (liouville, diffusion)`, the
two superoperators built from the anti-Wick symbol's derivatives (the
documented test hook of the Galerkin law)."""

from __future__ import annotations

from mutation import Mutant

import jqd.husimi._fp_terms as fp_module


def _fp_terms_scaled(liouville: float, diffusion: float):
    def apply(monkeypatch):
        correct = fp_module.fp_terms

        def mutated(poly):
            liou, diff = correct(poly)
            return (
                {k: liouville * v for k, v in liou.items()},
                {k: diffusion * v for k, v in diff.items()},
            )

        monkeypatch.setattr(fp_module, "fp_terms", mutated)

    return apply


MUTANTS = [
    Mutant(
        experiment,
        name,
        bug,
        _fp_terms_scaled(*scales),
        caught_by,
    )
    for experiment, caught_by in (
        ("husimi-kerr", "L1 distance to exact Husimi"),
        ("husimi-bose-hubbard", "site populations"),
    )
    for name, bug, scales in (
        ("liouville-dropped", "Liouville (drift) term −∇·(ρ J∇H) left out", (0.0, 1.0)),
        ("diffusion-doubled", "D = C[H'', J] instead of (C/2)[H'', J]", (1.0, 2.0)),
        ("diffusion-sign", "D = −(C/2)[H'', J]", (1.0, -1.0)),
    )
]
