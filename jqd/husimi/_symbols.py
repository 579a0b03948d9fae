"""Bosonic operator polynomials and their phase-space symbols (SPEC §4).

Users write a Hamiltonian as a polynomial in the ladder operators of N modes,

    H = 0.5 * U * ad(0) * ad(0) * a(0) * a(0)          # Kerr
    H = -J * (ad(0) * a(1) + ad(1) * a(0)) + ...         # hopping

and jqd reorders it (canonical commutation relations [a_j, a_k†] = δ_jk) into
anti-normal order (every a to the left of every a†, e.g. a a†) or normal order
(every a† to the left, e.g. a† a). The anti-Wick symbol replaces a_j → α_j,
a_j† → α_j* in the anti-normally ordered form; it is the function whose
Husimi average is the quantum expectation, ⟨H⟩ = ∫ H(z) ρ(z) dz.

Coordinates (SPEC §4): α_j = (Q_j + i P_j)/√2, z = (Q_1..Q_N, P_1..P_N),
J = [[0, I], [−I, 0]]. Hamiltonians are in units of ħ (frequencies): the
symbol H(z) is a frequency and the drift J∇H is dz/dt.

The drift and the commutator diffusion D = (C/2)[H'', J] are computed from the
JAX symbol by autodiff (`drift`, `diffusion_matrix`); nothing is hand-coded per
model.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Ops",
    "a",
    "ad",
    "num",
    "normal_order",
    "anti_normal_order",
    "Polynomial",
    "anti_wick_symbol",
    "wick_symbol",
    "symplectic_J",
    "drift",
    "diffusion_matrix",
    "TruncationReport",
    "truncation_check",
    "kerr",
    "bose_hubbard",
    "anharmonic_oscillator",
    "parametric",
    "phi4_mode",
    "harmonic",
]

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
        """Dense matrix of the operator on the Fock states `basis` (occupations,
        shape `(dim, n_modes)`), truncated to that set (exact when no word
        leaves the set on its way)."""
        basis = np.asarray(basis, dtype=int)
        index = {tuple(o): i for i, o in enumerate(basis)}
        dim = len(basis)
        out = np.zeros((dim, dim), dtype=complex)
        for word, c in self.terms.items():
            for col, occ in enumerate(basis):
                occ = list(occ)
                amp = 1.0
                for m, d in reversed(word):  # rightmost acts first
                    if m >= len(occ):
                        raise ValueError(
                            f"operator acts on mode {m} but basis has {len(occ)} modes."
                        )
                    if d:
                        occ[m] += 1
                        amp *= math.sqrt(occ[m])
                    else:
                        if occ[m] == 0:
                            amp = 0.0
                            break
                        amp *= math.sqrt(occ[m])
                        occ[m] -= 1
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
    """Reorder every word with [a_j, a_k†] = δ_jk.

    Anti-normal (`anti=True`): annihilators left of creators (a a†); a pair
    a_j† a_k becomes a_k a_j† − δ_jk. Normal: creators left (a† a); a pair
    a_j a_k† becomes a_k† a_j + δ_jk. Letters of one kind are then sorted by
    mode (they commute), giving a canonical word.
    """
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


# ---------------------------------------------------------------------------
# Polynomials in (α, α*)


@dataclasses.dataclass(frozen=True)
class Polynomial:
    """A polynomial Σ c_pq Π_j α_j^{p_j} α_j*^{q_j} in N complex variables.

    Calling it on real `z = (Q_1..Q_N, P_1..P_N)` (shape `(..., 2N)`) returns
    its value with α = (Q + iP)/√2: real for a Hermitian operator's symbol.
    Fixed structure: hashable, usable as a static field.

    Attributes:
        n_modes: N.
        coeffs: tuple of `((p, q), c)` with p, q tuples of N exponents.
    """

    n_modes: int
    coeffs: tuple

    @staticmethod
    def from_dict(n_modes: int, d: dict) -> Polynomial:
        items = tuple(sorted((k, complex(v)) for k, v in d.items() if complex(v) != 0))
        return Polynomial(n_modes, items)

    def as_dict(self) -> dict:
        return dict(self.coeffs)

    @property
    def degree(self) -> int:
        return max((sum(p) + sum(q) for (p, q), _ in self.coeffs), default=0)

    def is_real(self, tol: float = 1e-12) -> bool:
        d = self.as_dict()
        return all(abs(c - np.conj(d.get((q, p), 0))) <= tol for (p, q), c in d.items())

    def conjugate_variables(self) -> Polynomial:
        """The polynomial with α ↔ α* swapped (complex conjugate coefficients
        not applied)."""
        return Polynomial.from_dict(self.n_modes, {(q, p): c for (p, q), c in self.coeffs})

    def d_alpha(self, j: int, conj: bool = False) -> Polynomial:
        """Exact derivative ∂/∂α_j (or ∂/∂α_j* with `conj=True`), treating α,
        α* as independent (Wirtinger)."""
        out: dict = {}
        for (p, q), c in self.coeffs:
            e = q if conj else p
            if e[j] == 0:
                continue
            e2 = list(e)
            e2[j] -= 1
            key = (p, tuple(e2)) if conj else (tuple(e2), q)
            out[key] = out.get(key, 0) + c * e[j]
        return Polynomial.from_dict(self.n_modes, out)

    def evaluate(self, alpha, alpha_conj=None):
        """Value at complex `alpha` (shape `(..., N)`); `alpha_conj` defaults to
        conj(alpha)."""
        alpha = jnp.asarray(alpha)
        ac = jnp.conj(alpha) if alpha_conj is None else jnp.asarray(alpha_conj)
        out = jnp.zeros(alpha.shape[:-1], dtype=jnp.result_type(alpha.dtype, jnp.complex64))
        for (p, q), c in self.coeffs:
            term = jnp.asarray(c, out.dtype)
            for j in range(self.n_modes):
                if p[j]:
                    term = term * alpha[..., j] ** p[j]
                if q[j]:
                    term = term * ac[..., j] ** q[j]
            out = out + term
        return out

    def __call__(self, z):
        """Real value at z = (Q, P), shape `(..., 2N)` (the real part; the
        symbol of a Hermitian operator is real)."""
        z = jnp.asarray(z)
        if z.shape[-1] != 2 * self.n_modes:
            raise ValueError(
                f"z must have last axis 2N = {2 * self.n_modes} (Q_1..Q_N, P_1..P_N); "
                f"got shape {z.shape}."
            )
        N = self.n_modes
        alpha = jax.lax.complex(z[..., :N], z[..., N:]) / np.sqrt(2.0)
        return jnp.real(self.evaluate(alpha)).astype(z.dtype)


def _symbol(ops: Ops, n_modes: int | None, anti: bool) -> Polynomial:
    ops = Ops._lift(ops)
    N = ops.n_modes if n_modes is None else int(n_modes)
    if N < ops.n_modes:
        raise ValueError(f"n_modes={N} but the operator acts on {ops.n_modes} modes.")
    N = max(N, 1)
    ordered = _order(ops, anti=anti)
    out: dict = {}
    for word, c in ordered.terms.items():
        p, q = [0] * N, [0] * N
        for m, d in word:
            (q if d else p)[m] += 1
        key = (tuple(p), tuple(q))
        out[key] = out.get(key, 0) + c
    return Polynomial.from_dict(N, out)


def anti_wick_symbol(ops: Ops, n_modes: int | None = None) -> Polynomial:
    """Anti-Wick (anti-normal, Husimi) symbol of `ops`: reorder to a..a a†..a†
    and replace a → α, a† → α*. ⟨ops⟩ = ∫ symbol(z) ρ(z) dz (SPEC §4).

    Example: a†²a² = a²a†² − 4 a a† + 2, so the Kerr symbol of (U/2)a†²a² is
    (U/2)(|α|⁴ − 4|α|² + 2).
    """
    return _symbol(ops, n_modes, anti=True)


def wick_symbol(ops: Ops, n_modes: int | None = None) -> Polynomial:
    """Wick (normal-order, Glauber-Sudarshan P) symbol: a†..a† a..a with
    a → α, a† → α*."""
    return _symbol(ops, n_modes, anti=False)


# ---------------------------------------------------------------------------
# Drift and diffusion by autodiff


def symplectic_J(n_modes: int, dtype=float) -> jnp.ndarray:
    """J = [[0, I], [−I, 0]] on z = (Q, P)."""
    eye = jnp.eye(n_modes, dtype=dtype)
    zero = jnp.zeros_like(eye)
    return jnp.block([[zero, eye], [-eye, zero]])


def drift(H: Callable) -> Callable:
    """z ↦ J ∇H(z), the Hamiltonian drift (autodiff of the symbol)."""

    def f(z):
        z = jnp.asarray(z)
        return symplectic_J(z.shape[-1] // 2, z.dtype) @ jax.grad(H)(z)

    return f


def diffusion_matrix(H: Callable, C=1.0) -> Callable:
    """z ↦ D(z) = (C/2)(H'' J − J H''), the commutator diffusion (SPEC §4),
    with the Hessian H'' from `jax.hessian`."""

    def f(z):
        z = jnp.asarray(z)
        Jm = symplectic_J(z.shape[-1] // 2, z.dtype)
        Hz = jax.hessian(H)(z)
        return 0.5 * C * (Hz @ Jm - Jm @ Hz)

    return f


@dataclasses.dataclass(frozen=True)
class TruncationReport:
    """Whether the Fokker-Planck form is exact for a Hamiltonian (F64).

    Attributes:
        exact: every third derivative of the anti-Wick symbol in the α's alone
            (and in the α*'s alone) vanishes.
        offending: the monomials `((p, q), c)` with Σp ≥ 3 or Σq ≥ 3.
        message: a sentence for the user.
    """

    exact: bool
    offending: tuple
    message: str

    def __bool__(self) -> bool:
        return self.exact


def truncation_check(H: Ops | Polynomial, n_modes: int | None = None) -> TruncationReport:
    """Tell whether the Husimi Fokker-Planck equation is exact for `H` (F64).

    The exact Husimi evolution is a Moyal-type series; its terms beyond second
    order carry third and higher derivatives of the anti-Wick symbol in the
    α's alone or the α*'s alone. They vanish exactly when no monomial of the
    symbol has degree ≥ 3 in α or in α* (free fields, density-density quartic
    couplings such as Kerr and Bose-Hubbard). Otherwise (φ⁴, a³ + h.c.,
    cubic parametric terms, ...) the equation is the Fokker-Planck truncation
    of F §V D, a different theory.
    """
    poly = H if isinstance(H, Polynomial) else anti_wick_symbol(H, n_modes)
    bad = tuple(((p, q), c) for (p, q), c in poly.coeffs if sum(p) >= 3 or sum(q) >= 3)
    if not bad:
        msg = "exact: the Fokker-Planck equation with C = 1 is the exact Husimi evolution."
    else:
        shown = ", ".join(f"α^{p} α*^{q}" for (p, q), _ in bad[:4])
        msg = (
            f"not exact: {len(bad)} monomial(s) of degree >= 3 in α or α* ({shown}"
            f"{', ...' if len(bad) > 4 else ''}); the equation is the Fokker-Planck "
            "truncation (F §V D), which departs from quantum evolution."
        )
    return TruncationReport(exact=not bad, offending=bad, message=msg)


# ---------------------------------------------------------------------------
# Model Hamiltonians (as operator polynomials; symbols come from the ordering)


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
