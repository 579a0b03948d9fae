"""Model Hamiltonians as operator polynomials (physics §4); their symbols come
from the ordering routine (`anti_wick_symbol`), never typed in by hand."""

from __future__ import annotations

import numpy as np

from ._ops import Ops, a, ad, num

__all__ = ["harmonic", "kerr", "bose_hubbard", "anharmonic_oscillator", "parametric", "phi4_mode"]


def harmonic(omega=1.0, n_modes: int = 1) -> Ops:
    """Σ_j ω_j a_j† a_j (free field in its mode basis)."""
    om = np.broadcast_to(np.asarray(omega, dtype=float), (n_modes,))
    return sum((float(w) * num(j) for j, w in enumerate(om)), Ops())


def kerr(U=1.0, mode: int = 0) -> Ops:
    """Kerr mode (U/2) a†² a²."""
    return 0.5 * U * ad(mode) * ad(mode) * a(mode) * a(mode)


def bose_hubbard(n_sites: int, J=1.0, U=1.0, mu=None, periodic: bool = False) -> Ops:
    """Bose-Hubbard chain −J Σ_<ij>(a_i† a_j + h.c.) + (U/2) Σ_i a_i†² a_i² − Σ μ_i n_i
    (`n_sites = 2` is the dimer; same convention as `jqd.fock.BoseHubbard`)."""
    if n_sites < 2:
        raise ValueError(f"n_sites must be >= 2; got {n_sites}.")
    bonds = [(i, i + 1) for i in range(n_sites - 1)]
    if periodic and n_sites > 2:
        bonds.append((n_sites - 1, 0))
    H = Ops()
    for i, j in bonds:
        H = H - J * (ad(i) * a(j) + ad(j) * a(i))
    for i in range(n_sites):
        H = H + kerr(U, i)
    if mu is not None:
        mu = np.broadcast_to(np.asarray(mu, dtype=float), (n_sites,))
        for i in range(n_sites):
            H = H - float(mu[i]) * num(i)
    return H


def anharmonic_oscillator(omega=1.0, chi=0.1, mode: int = 0) -> Ops:
    """ω n + χ n² (a number-conserving anharmonic oscillator; truncating)."""
    n = num(mode)
    return omega * n + chi * n * n


def parametric(kappa=0.5, omega=0.0, mode: int = 0) -> Ops:
    """ω a†a + (κ/2)(a² + a†²): a degenerate parametric (squeezing) term."""
    return omega * num(mode) + 0.5 * kappa * (a(mode) * a(mode) + ad(mode) * ad(mode))


def phi4_mode(omega=1.0, lam=0.1, mode: int = 0) -> Ops:
    """φ⁴ mode ω a†a + (λ/4) x⁴ with x = (a + a†)/√2 (non-truncating)."""
    x = (a(mode) + ad(mode)) / np.sqrt(2.0)
    return omega * num(mode) + 0.25 * lam * x**4
