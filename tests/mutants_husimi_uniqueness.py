"""Mutants of husimi-uniqueness (physics §4.3-§4.4; F57-F59, F64, F73-F75, F §III).
Seams: `jqd.husimi.mode_length_scales` and `holomorphic_tensor` (looked up at call
time), `jqd.husimi._uniqueness` (`su2_structure_constants`, `_quartic_vertex`,
`time_reversal`, `diffusion_constraints`), and the experiment's own
`lattice_symbol` and `MAXITER`."""

from __future__ import annotations

import sys

import numpy as np
from mutation import Mutant

EXP = "husimi-uniqueness"


def _module():
    from jqdlab import registry

    registry.load(EXP)
    return sys.modules["jqd_experiments.husimi_uniqueness"]


def _length_power(monkeypatch):
    """ℓ_k = κ/ω_k for √(κ/ω_k) (F59 without its square root)."""
    import jqd.husimi

    monkeypatch.setattr(jqd.husimi, "mode_length_scales", lambda omega, kappa=1.0: kappa / omega)


def _momentum_scale_inverted(monkeypatch):
    """P = p/(ℓκ) for ℓp/κ (F46): the momentum rescaled the wrong way."""
    module = _module()

    def lattice_symbol(z, ell, K):
        n = K.shape[0]
        phi, pi = ell * z[:n], z[n:] * ell
        return 0.5 * pi @ pi + 0.5 * phi @ (K @ phi)

    monkeypatch.setattr(module, "lattice_symbol", lattice_symbol)


def _optimizer_stopped_early(monkeypatch):
    """The optimizers stop after 3 iterations (a minimum reported without converging)."""
    monkeypatch.setattr(_module(), "MAXITER", 3)


def _structure_constants_symmetric(monkeypatch):
    """f^{abc} = |ε_abc| (symmetric) for the antisymmetric Levi-Civita symbol."""
    import jqd.husimi._uniqueness as u

    good = u.su2_structure_constants
    monkeypatch.setattr(u, "su2_structure_constants", lambda: np.abs(good()))


def _wirtinger_conjugate(monkeypatch):
    """∂/∂α_j* read for ∂/∂α_j (the exponents of α and α* swapped)."""
    import jqd.husimi
    from jqd.husimi import Polynomial

    good = jqd.husimi.holomorphic_tensor

    def holomorphic_tensor(poly, order, alpha=None):
        swapped = Polynomial(poly.n_modes, tuple(((q, p), c) for (p, q), c in poly.coeffs))
        return good(swapped, order, alpha)

    monkeypatch.setattr(jqd.husimi, "holomorphic_tensor", holomorphic_tensor)


def _quartic_without_half(monkeypatch):
    """The quartic vertex g²∫(ε A_x A_y)² (the ½ of ½F² dropped)."""
    import jqd.husimi._uniqueness as u

    good = u._quartic_vertex
    monkeypatch.setattr(u, "_quartic_vertex", lambda *args: 2 * good(*args))


def _energy_constraint_symmetric(monkeypatch):
    """C5 imposed as T = Tᵀ (a symmetric map) instead of ⟨S, T[S]⟩ = 0 (antisymmetric)."""
    import jqd.husimi
    import jqd.husimi._uniqueness as u

    good = u.diffusion_constraints

    def diffusion_constraints(n_modes):
        out = good(n_modes)
        d = len(out["basis"])
        out["C5"] = np.eye(d * d) - np.eye(d * d)[u._transpose_perm(d)]
        return out

    monkeypatch.setattr(jqd.husimi, "diffusion_constraints", diffusion_constraints)


def _time_reversal_identity(monkeypatch):
    """Time reversal R = I (P not flipped): C4 then forces T = −T."""
    import jqd.husimi._uniqueness as u

    monkeypatch.setattr(u, "time_reversal", lambda n_modes: np.eye(2 * n_modes))


def _reference_jsj(monkeypatch):
    """The unique form compared with S ↦ JSJ (symmetric, a plausible misreading of the
    symplectic form) instead of the commutator [S, J]."""
    import jqd.husimi
    import jqd.husimi._uniqueness as u

    good = u.diffusion_constraints

    def diffusion_constraints(n_modes):
        out = good(n_modes)
        N = n_modes
        J = np.block([[np.zeros((N, N)), np.eye(N)], [-np.eye(N), np.zeros((N, N))]])
        out["commutator"] = u._as_map(out["basis"], lambda S: J @ S @ J)
        return out

    monkeypatch.setattr(jqd.husimi, "diffusion_constraints", diffusion_constraints)


MUTANTS = [
    Mutant(
        EXP,
        "length-scale-power",
        "C7 length scales ℓ_k = κ/ω_k for √(κ/ω_k) (F59)",
        _length_power,
        caught_by="C7 momentum modes",
    ),
    Mutant(
        EXP,
        "momentum-scale-inverted",
        "scaled momentum P = p/(ℓκ) for ℓp/κ (F46) in the lattice symbol",
        _momentum_scale_inverted,
        caught_by="min over ℓ_i of ‖D‖_F = closed form",
    ),
    Mutant(
        EXP,
        "optimizer-stopped-early",
        "the ℓ_i optimizers stop after 3 iterations",
        _optimizer_stopped_early,
        caught_by="gradient at the minimum",
    ),
    Mutant(
        EXP,
        "structure-constants-symmetric",
        "SU(2) structure constants |ε_abc| (symmetric) for ε_abc",
        _structure_constants_symmetric,
        caught_by="F73-F75 cubic vertex",
    ),
    Mutant(
        EXP,
        "wirtinger-conjugate",
        "holomorphic derivatives taken in α* (exponents of α and α* swapped)",
        _wirtinger_conjugate,
        caught_by="F73-F75 cubic vertex",
    ),
    Mutant(
        EXP,
        "quartic-without-half",
        "quartic gauge vertex g²∫(εA_xA_y)² (the ½ of ½F² dropped)",
        _quartic_without_half,
        caught_by="F73-F75 quartic vertex",
    ),
    Mutant(
        EXP,
        "energy-constraint-symmetric",
        "C5 imposed as T = Tᵀ instead of ⟨S, T[S]⟩ = 0",
        _energy_constraint_symmetric,
        caught_by="§III constraint chain dimensions",
    ),
    Mutant(
        EXP,
        "time-reversal-identity",
        "time reversal R = I (P not flipped) in C4",
        _time_reversal_identity,
        caught_by="§III constraint chain dimensions",
    ),
    Mutant(
        EXP,
        "reference-jsj",
        "unique form compared with S ↦ JSJ instead of [S, J]",
        _reference_jsj,
        caught_by="§III unique form spanned by [H'', J]",
    ),
]
