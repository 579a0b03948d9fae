"""Bosonic operator polynomials (`Ops`, built from `a(j)`, `ad(j)`) and their
normal / anti-normal ordering with [a_j, a_k†] = δ_jk (physics §4.1); model
Hamiltonians built this way (their symbols are never typed in by hand).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# A ladder letter is (mode, dagger); a word is a tuple of letters read left to
# right as an operator product.
Letter = tuple[int, bool]
Word = tuple[Letter, ...]


class Ops:
    """A polynomial in bosonic ladder operators: `{word: coefficient}`.

    A word is a tuple of `(mode, dagger)` letters, an operator product read
    left to right. Build with `a(j)`, `ad(j)`, `+`, `-`, `*`, scalar `*`, `/`
    and integer powers. Coefficients are Python numbers (fixed structure, not
    differentiable parameters).
    """

    __slots__ = ("terms",)

    def __init__(self, terms: dict[Word, complex] | None = None):
        clean: dict[Word, complex] = {}
        for word, c in (terms or {}).items():
            c = complex(c)
            if c != 0:
                clean[tuple((int(m), bool(d)) for m, d in word)] = c
        self.terms = clean

    # ---- algebra -------------------------------------------------------
    @staticmethod
    def _lift(other) -> Ops:
        if isinstance(other, Ops):
            return other
        if isinstance(other, numbers.Number):
            return Ops({(): complex(other)})
        raise TypeError(f"cannot combine Ops with {type(other).__name__}.")

    def __add__(self, other) -> Ops:
        other = Ops._lift(other)
        out = dict(self.terms)
        for w, c in other.terms.items():
            out[w] = out.get(w, 0) + c
        return Ops(out)

    __radd__ = __add__

    def __neg__(self) -> Ops:
        return Ops({w: -c for w, c in self.terms.items()})

    def __sub__(self, other) -> Ops:
        return self + (-Ops._lift(other))

    def __rsub__(self, other) -> Ops:
        return Ops._lift(other) - self

    def __mul__(self, other) -> Ops:
        other = Ops._lift(other)
        out: dict[Word, complex] = {}
        for w1, c1 in self.terms.items():
            for w2, c2 in other.terms.items():
                out[w1 + w2] = out.get(w1 + w2, 0) + c1 * c2
        return Ops(out)

    def __rmul__(self, other) -> Ops:
        return Ops._lift(other) * self

    def __truediv__(self, other) -> Ops:
        if not isinstance(other, numbers.Number):
            raise TypeError("Ops can only be divided by a number.")
        return self * (1.0 / other)

    def __pow__(self, n: int) -> Ops:
        if not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"Ops power must be a non-negative integer; got {n!r}.")
        out = Ops({(): 1.0})
        for _ in range(int(n)):
            out = out * self
        return out

    def dag(self) -> Ops:
        """Hermitian conjugate."""
        return Ops(
            {tuple((m, not d) for m, d in reversed(w)): np.conj(c) for w, c in self.terms.items()}
        )

    @property
    def n_modes(self) -> int:
        modes = [m for w in self.terms for m, _ in w]
        return max(modes) + 1 if modes else 0

    @property
    def degree(self) -> int:
        return max((len(w) for w in self.terms), default=0)

    def is_hermitian(self, tol: float = 1e-12) -> bool:
        diff = anti_normal_order(self - self.dag())
        return all(abs(c) <= tol for c in diff.terms.values())

    def matrix(self, basis: np.ndarray) -> np.ndarray:
        """Dense matrix on the Fock states `basis` (dim, n_modes), truncated to
        that set (exact when no word leaves the set on its way)."""
        basis = np.asarray(basis, dtype=int)
        index = {tuple(o): i for i, o in enumerate(basis)}
        dim = len(basis)
        out = np.zeros((dim, dim), dtype=complex)
        for word, c in self.terms.items():
            if any(m >= basis.shape[1] for m, _ in word):
                raise ValueError(f"operator acts on modes >= {basis.shape[1]}, the basis's modes.")
            for col, occ in enumerate(basis):
                occ = list(occ)
                amp = 1.0
                for m, d in reversed(word):  # rightmost acts first: √(n + 1) or √n
                    amp *= math.sqrt(occ[m] + d)
                    occ[m] += 1 if d else -1
                    if amp == 0.0:
                        break
                if amp != 0.0:
                    row = index.get(tuple(occ))
                    if row is not None:
                        out[row, col] += c * amp
        return out

    def __repr__(self) -> str:
        def fmt(w):
            return " ".join(f"a{m}{'†' if d else ''}" for m, d in w) or "1"

        return " + ".join(f"({c:.4g}) {fmt(w)}" for w, c in self.terms.items()) or "0"


def a(j: int = 0) -> Ops:
    """Annihilation operator of mode `j`."""
    if j < 0:
        raise ValueError(f"mode index j must be >= 0; got {j}.")
    return Ops({((j, False),): 1.0})


def ad(j: int = 0) -> Ops:
    """Creation operator a_j† of mode `j`."""
    if j < 0:
        raise ValueError(f"mode index j must be >= 0; got {j}.")
    return Ops({((j, True),): 1.0})


def num(j: int = 0) -> Ops:
    """Number operator a_j† a_j."""
    return ad(j) * a(j)


def _order(ops: Ops, anti: bool) -> Ops:
    """Reorder every word with [a_j, a_k†] = δ_jk into anti-normal (a a†) or
    normal (a† a) order; letters of one kind then sorted by mode (canonical)."""
    ops = Ops._lift(ops)
    out: dict[Word, complex] = {}
    stack = list(ops.terms.items())
    # the letter kind that must come first
    first = False if anti else True
    while stack:
        word, c = stack.pop()
        for i in range(len(word) - 1):
            (m1, d1), (m2, d2) = word[i], word[i + 1]
            if d1 != first and d2 == first:  # out of order
                swapped = word[:i] + (word[i + 1], word[i]) + word[i + 2 :]
                stack.append((swapped, c))
                if m1 == m2:
                    # anti: a† a = a a† − 1 ; normal: a a† = a† a + 1
                    stack.append((word[:i] + word[i + 2 :], -c if anti else c))
                break
        else:
            head = sorted(l for l in word if l[1] == first)
            tail = sorted(l for l in word if l[1] != first)
            canon = tuple(head + tail)
            out[canon] = out.get(canon, 0) + c
    return Ops(out)


def anti_normal_order(ops: Ops) -> Ops:
    """`ops` rewritten in anti-normal order (all a_j to the left of all a_k†)."""
    return _order(ops, anti=True)


def normal_order(ops: Ops) -> Ops:
    """`ops` rewritten in normal order (all a_k† to the left of all a_j)."""
    return _order(ops, anti=False)


# ---- model Hamiltonians (physics §4)


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
