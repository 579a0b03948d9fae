"""Mutants of the Husimi Fokker-Planck operator (F65-66) for the Galerkin
claims of husimi-kerr and husimi-bose-hubbard. husimi-kerr's diffusion mutants
are registered on its C ≠ 1 moment claim (E_Q[α²], which the diffusion moves at
first order; the L1 claim fails under them as well).

Seam: `jqd.husimi._fp_terms.fp_terms(poly) -> (liouville, diffusion)`, the
two superoperators built from the anti-Wick symbol's derivatives (the
documented test hook of the Galerkin law)."""

from __future__ import annotations

from mutation import Mutant, fp_terms_scaled


def _f69_as_printed(monkeypatch):
    """The Bose-Hubbard symbol with the printed F69 on-site term (U/2)(|α|⁴ − 3|α|²)
    instead of (U/2)(|α|⁴ − 4|α|²): (U/2)|α_j|² added per mode, U/2 read off the
    |α_j|⁴ coefficient, in the symbol the Galerkin law is built from."""
    import jqd.husimi._galerkin as galerkin
    from jqd.husimi._symbols import Polynomial

    correct = galerkin.anti_wick_symbol

    def mutated(hamiltonian, n_modes):
        poly = correct(hamiltonian, n_modes)
        d = poly.as_dict()
        for j in range(n_modes):
            quartic = tuple(2 * (i == j) for i in range(n_modes))
            quadratic = tuple(int(i == j) for i in range(n_modes))
            half_U = d.get((quartic, quartic), 0)
            d[(quadratic, quadratic)] = d.get((quadratic, quadratic), 0) + half_U
        return Polynomial.from_dict(n_modes, d)

    monkeypatch.setattr(galerkin, "anti_wick_symbol", mutated)


def _kerr_mean_a_without_hbar(monkeypatch):
    """jqd.reference.kerr_mean_a with ħ dropped (e^{−iUt} for e^{−iUt/ħ})."""
    import jqd.reference

    correct = jqd.reference.kerr_mean_a
    monkeypatch.setattr(
        jqd.reference, "kerr_mean_a", lambda t, alpha0, U=1.0, hbar=1.0: correct(t, alpha0, U)
    )


def _hopping_symbol_doubled(monkeypatch):
    """The Galerkin law's symbol with its hopping terms α_i*α_j (i ≠ j) doubled: the
    drift no longer commutes with the on-site part of H."""
    import jqd.husimi._galerkin as galerkin
    from jqd.husimi._symbols import Polynomial

    correct = galerkin.anti_wick_symbol

    def mutated(hamiltonian, n_modes):
        poly = correct(hamiltonian, n_modes)
        hop = lambda p, q: sum(p) == sum(q) == 1 and p != q
        d = {(p, q): (2 * c if hop(p, q) else c) for (p, q), c in poly.coeffs}
        return Polynomial.from_dict(n_modes, d)

    monkeypatch.setattr(galerkin, "anti_wick_symbol", mutated)


_BUGS = {
    "liouville-dropped": ("Liouville (drift) term −∇·(ρ J∇H) left out", (0.0, 1.0)),
    "diffusion-doubled": ("D = C[H'', J] instead of (C/2)[H'', J]", (1.0, 2.0)),
    "diffusion-sign": ("D = −(C/2)[H'', J]", (1.0, -1.0)),
    "diffusion-up-5-percent": ("D = 1.05 (C/2)[H'', J]", (1.0, 1.05)),
}
_KERR_MOMENT = "E_Q[α²] at C"  # husimi-kerr's C ≠ 1 moment claim

MUTANTS = [
    Mutant(experiment, name, _BUGS[name][0], fp_terms_scaled(*_BUGS[name][1]), caught_by)
    for experiment, name, caught_by in (
        ("husimi-kerr", "liouville-dropped", "L1 distance to exact Husimi"),
        ("husimi-kerr", "diffusion-doubled", _KERR_MOMENT),
        ("husimi-kerr", "diffusion-sign", _KERR_MOMENT),
        ("husimi-kerr", "diffusion-up-5-percent", _KERR_MOMENT),
        ("husimi-bose-hubbard", "liouville-dropped", "site populations"),
        ("husimi-bose-hubbard", "diffusion-doubled", "site populations"),
        ("husimi-bose-hubbard", "diffusion-sign", "site populations"),
    )
] + [
    Mutant(
        "husimi-bose-hubbard",
        "f69-as-printed",
        "on-site symbol (U/2)(|α|⁴ − 3|α|²) as printed in F69 (the ordering gives −4)",
        _f69_as_printed,
        "site Husimi marginals",
    ),
    Mutant(
        "husimi-bose-hubbard",
        "hopping-symbol-doubled",
        "hopping part of the Galerkin law's symbol −2J(α1*α2 + c.c.) instead of −J(…)",
        _hopping_symbol_doubled,
        "<H> drift",
    ),
    Mutant(
        "husimi-kerr",
        "kerr-mean-a-without-hbar",
        "the Kerr reference ⟨a(t)⟩ with ħ dropped: α0 exp[|α0|²(e^{−iUt} − 1)]",
        _kerr_mean_a_without_hbar,
        "<a(t)> at ħ",
    ),
]
