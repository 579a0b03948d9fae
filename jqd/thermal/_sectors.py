"""Symmetry sectors of local Hamiltonians (physics §7.6).

Level statistics are only meaningful within one symmetry sector: levels of
different sectors cross freely, and their union looks closer to Poisson.

- Reflection R: site i → L−1−i (ψ.reshape(dims) with its axes reversed). On
  product states it maps n ↦ R(n); a sector of parity p = ±1 is spanned by
  e_n for R(n) = n (p = +1 only) and (e_n + p e_{R(n)})/√2 for n < R(n).
  The open mixed-field Ising chain commutes with R; for L = 12 the even
  sector has D = (4096 + 64)/2 = 2080.
- Sᶻ_total = Σ σᶻ_i/2 with |↑⟩ = index 0: a product state n has
  Sᶻ = (L − 2·#↓)/2. The Heisenberg chain conserves it.
"""

from __future__ import annotations

import math

import numpy as np


def reflection_sector(dims, parity: int = 1) -> np.ndarray:
    """The (D, D_s) real isometry P onto the reflection sector of `parity`
    (+1 or −1): P.T @ H @ P is H's block when H commutes with the reflection.

    Raises ValueError when dims is not a palindrome (e.g. a chain with a
    boson mode at its end has no reflection symmetry)."""
    dims = tuple(int(d) for d in dims)
    if dims != dims[::-1]:
        raise ValueError(
            f"dims {dims} are not symmetric under reflection (site i -> L-1-i): there is no "
            "reflection sector. Use it for chains of equal sites only."
        )
    if parity not in (1, -1):
        raise ValueError(f"parity must be +1 or -1; got {parity!r}.")
    D = math.prod(dims)
    # R(n) for every product state n: reverse the order of the site digits
    r = np.arange(D).reshape(dims).transpose(tuple(range(len(dims)))[::-1]).reshape(-1)
    n = np.arange(D)
    fixed = n[r == n] if parity == 1 else n[:0]
    pairs = n[n < r]
    cols = len(fixed) + len(pairs)
    P = np.zeros((D, cols))
    P[fixed, np.arange(len(fixed))] = 1.0
    j = len(fixed) + np.arange(len(pairs))
    P[pairs, j] = 1 / math.sqrt(2)
    P[r[pairs], j] = parity / math.sqrt(2)
    return P


def sz_sector(L: int, sz) -> np.ndarray:
    """Indices (increasing) of the product states of L spins ½ with total
    Sᶻ = sz (|↑⟩ = index 0): H[np.ix_(idx, idx)] is the block of an Sᶻ-
    conserving H, and psi[idx] the state's components."""
    L = int(L)
    n_down = L / 2 - float(sz)
    if not (float(n_down).is_integer() and 0 <= n_down <= L):
        raise ValueError(f"sz must be one of -L/2, -L/2 + 1, ..., L/2 (L = {L}); got {sz!r}.")
    n = np.arange(2**L)
    downs = np.zeros(2**L, int)
    for b in range(L):
        downs += (n >> b) & 1
    return n[downs == int(n_down)]
