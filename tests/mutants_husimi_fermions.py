"""Mutants of husimi-fermions (physics §4.14): the fermionic Gaussian-operator
Q-function of the Hubbard dimer. Seams: the experiment's own `annihilators`
(Jordan-Wigner ED operators), `correspondence` (the first-order operators of
c_i†c_j Λ and Λ c_i†c_j), `compose` (products of correspondences: where the
diffusion comes from), `generator_coefficients` (G = (i/ħ)(L_H − R_H)),
`p_symbol` and `berezin_factors` (the contravariant symbol on Gr(2,4)) and
`christoffel_slope` (the curvature in the divergence of F's diffusion), looked
up at call time by its `run`."""

from __future__ import annotations

import sys

import numpy as np
from mutation import Mutant


def _module():
    from jqdlab import registry

    registry.load("husimi-fermions")
    return sys.modules["jqd_experiments.husimi_fermions"]


def _jw_string_dropped(monkeypatch):
    # c_j = 1⊗…⊗a⊗…⊗1 without the Z string: modes commute instead of anticommuting.
    module = _module()

    def annihilators(n_modes=module.M):
        a, one = np.array([[0.0, 1.0], [0.0, 0.0]]), np.eye(2)
        out = []
        for j in range(n_modes):
            m = np.ones((1, 1))
            for k in range(n_modes):
                m = np.kron(m, a if k == j else one)
            out.append(m)
        return out

    monkeypatch.setattr(module, "annihilators", annihilators)


def _diffusion_dropped(monkeypatch):
    # n_↑n_↓Λ as L_↓L_↑ without its second-order term a⊗b: a "mean-field" product.
    module = _module()
    correct = module.compose

    def compose(first, second, n):
        c, v, d = correct(first, second, n)
        return c, v, 0 * d

    monkeypatch.setattr(module, "compose", compose)


def _hole_factor_sign(monkeypatch):
    # Λ c_i†c_j with n_ik(δ_lj + n_lj) for n_ik(δ_lj − n_lj): the hole factor's sign.
    module = _module()
    correct = module.correspondence

    def correspondence(n, i, j, side):
        if side == "L":
            return correct(n, i, j, side)
        return n[i, j], (np.eye(module.M)[:, j] + n[:, j])[:, None] * n[i][None, :]

    monkeypatch.setattr(module, "correspondence", correspondence)


def _right_action_mean_field(monkeypatch):
    # Λ c_i†c_j → n_ij Λ (its first-order part dropped): only L_H diffuses.
    module = _module()
    correct = module.correspondence

    def correspondence(n, i, j, side):
        c0, a = correct(n, i, j, side)
        return (c0, a) if side == "L" else (c0, 0 * a)

    monkeypatch.setattr(module, "correspondence", correspondence)


def _generator_without_hbar(monkeypatch):
    # G = i(L_H − R_H) whatever ħ: H in place of H/ħ.
    module = _module()
    correct = module.generator_coefficients
    monkeypatch.setattr(
        module, "generator_coefficients", lambda n, h, U, hbar: correct(n, h, U, 1.0)
    )


def _q_symbol_as_p_symbol(monkeypatch):
    # F's equation on Gr(2,4) with the covariant (Q-) symbol Tr[HΛ(P)] in place of
    # the contravariant one: the Berezin transform skipped.
    module = _module()
    monkeypatch.setattr(module, "p_symbol", lambda H, c: np.array(H, complex))


def _berezin_factors_swapped(monkeypatch):
    # b_15 and b_20 exchanged: the one-body part divided by 1/10, the 20' part by 1/5.
    module = _module()
    correct = module.berezin_factors

    def berezin_factors(c):
        one, (b15, d15), (b20, d20) = correct(c)
        return [one, (b20, d15), (b15, d20)]

    monkeypatch.setattr(module, "berezin_factors", berezin_factors)


def _christoffel_slope_dropped(monkeypatch):
    # The divergence of D with the flat-space formula: ∂_eΓ = 0 on the curved Gr(2,4).
    module = _module()
    monkeypatch.setattr(module, "christoffel_slope", lambda gi, d2g: np.zeros((8,) * 4))


MUTANTS = [
    Mutant(
        "husimi-fermions",
        "jw-string-dropped",
        "Jordan-Wigner string dropped: c_j = a_j on its mode only (modes commute)",
        _jw_string_dropped,
        "fermionic anticommutators",
    ),
    Mutant(
        "husimi-fermions",
        "diffusion-dropped",
        "n_↑n_↓Λ → L_↓L_↑Λ without its second-order (diffusion) term",
        _diffusion_dropped,
        "Q(t) evolved with G: one-body density matrix",
    ),
    Mutant(
        "husimi-fermions",
        "hole-factor-sign",
        "Λc_i†c_j with n_ik(δ_lj + n_lj)∂_lk instead of n_ik(δ_lj − n_lj)∂_lk",
        _hole_factor_sign,
        "diffusion anticommutes",
    ),
    Mutant(
        "husimi-fermions",
        "right-action-mean-field",
        "Λc_i†c_j → n_ij Λ (first-order part of the right correspondence dropped)",
        _right_action_mean_field,
        "diffusion traceless",
    ),
    Mutant(
        "husimi-fermions",
        "generator-without-hbar",
        "G = i(L_H − R_H) instead of (i/ħ)(L_H − R_H)",
        _generator_without_hbar,
        "ħ = 0.7",
    ),
    Mutant(
        "husimi-fermions",
        "q-symbol-as-p-symbol",
        "F's equation on Gr(2,4) with the Q-symbol Tr[HΛ(P)] instead of the P-symbol",
        _q_symbol_as_p_symbol,
        "F's equation on Gr(2,4)",
    ),
    Mutant(
        "husimi-fermions",
        "berezin-factors-swapped",
        "P-symbol with the Berezin factors of 15 and 20' exchanged (1/10, 1/5)",
        _berezin_factors_swapped,
        "P-symbol on Gr(2,4)",
    ),
    Mutant(
        "husimi-fermions",
        "christoffel-slope-dropped",
        "divergence of D on Gr(2,4) by the flat formula (∂Γ = 0)",
        _christoffel_slope_dropped,
        "F's equation on Gr(2,4)",
    ),
]
