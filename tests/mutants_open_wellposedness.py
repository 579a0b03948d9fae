"""Mutant of husimi-wellposedness (physics §4.11).

Seam: `jqd.husimi._fp_terms.fp_terms(poly) -> (liouville, diffusion)`, the two
superoperators of the Galerkin law built from the anti-Wick symbol. With the
diffusion 5 % too strong the projected operator of a truncating H is no longer
−i[H_P, ·]: its Hermitian part (in tr(R†S)) is nonzero and the control
abscissae (Kerr, Bose-Hubbard) move off 0. Doubled (the ½ of (C/2)[H'', J]
dropped), the runs from the vacuum already move apart as the cutoff is refined
at t = 0.05; dropped (Liouville transport only), the cutoff-12 and -18 runs
stay within L¹ distance 2 of each other up to t = 0.2."""

from __future__ import annotations

from mutation import Mutant, fp_terms_scaled

MUTANTS = [
    Mutant(
        experiment="husimi-wellposedness",
        name="diffusion-up-5-percent",
        bug="the Galerkin law's diffusion term D = (C/2)[H'', J] 5 % too strong (fp_terms)",
        apply=fp_terms_scaled(diffusion=1.05),
        caught_by="controls (Kerr, Bose-Hubbard dimer)",
    ),
    Mutant(
        experiment="husimi-wellposedness",
        name="diffusion-doubled",
        bug="the ½ of D = (C/2)[H'', J] dropped: the Galerkin law's diffusion doubled (fp_terms)",
        apply=fp_terms_scaled(diffusion=2.0),
        caught_by="(b') from the vacuum, refining the cutoff converges",
    ),
    Mutant(
        experiment="husimi-wellposedness",
        name="diffusion-dropped",
        bug="the diffusion term of the truncated equation lost: Liouville transport only (fp_terms)",
        apply=fp_terms_scaled(diffusion=0.0),
        caught_by="(b') from the vacuum, cutoffs K=12 and 18 diverge",
    ),
]
