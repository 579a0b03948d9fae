"""Phase-space symbols of operator polynomials, and the drift J∇H and commutator
diffusion D = (C/2)[H'', J] they define, by autodiff (physics §4.1-§4.3);
Hamiltonians in units of ħ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._guards import to_device
from ._ops import Ops, anti_normal_order, normal_order
from ._states import alphas_from_z


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

    def evaluate(self, alpha):
        """Value at complex `alpha` (shape `(..., N)`)."""
        alpha = jnp.asarray(alpha)
        ac = jnp.conj(alpha)
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
        return jnp.real(self.evaluate(alphas_from_z(z))).astype(z.dtype)


def _symbol(ops: Ops, n_modes: int | None, anti: bool) -> Polynomial:
    ops = Ops._lift(ops)
    N = ops.n_modes if n_modes is None else int(n_modes)
    if N < ops.n_modes:
        raise ValueError(f"n_modes={N} but the operator acts on {ops.n_modes} modes.")
    N = max(N, 1)
    ordered = anti_normal_order(ops) if anti else normal_order(ops)
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
    and replace a → α, a† → α*. ⟨ops⟩ = ∫ symbol(z) ρ(z) dz (physics §4).

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
    eye = np.eye(n_modes)  # built in NumPy: eagerly, jnp would compile a program per op
    zero = np.zeros_like(eye)
    return to_device(np.block([[zero, eye], [-eye, zero]]), dtype)


def drift_and_diffusion(hamiltonian: Callable, z, args, C):
    """(v, D) at one point z (shape (2N,)) for a symbol `hamiltonian(z, args)`:
    the drift v = J∇H and the diffusion D = (C/2)(H''J − JH''), by autodiff."""
    J = symplectic_J(z.shape[-1] // 2, z.dtype)
    g = jax.grad(hamiltonian)(z, args)
    h = jax.hessian(hamiltonian)(z, args)
    C = jnp.asarray(C, z.dtype)
    return J @ g, 0.5 * C * (h @ J - J @ h)


def drift(H: Callable) -> Callable:
    """z ↦ J ∇H(z), the Hamiltonian drift (autodiff of the symbol)."""
    return lambda z: drift_and_diffusion(lambda x, _: H(x), jnp.asarray(z), None, 1.0)[0]


def diffusion_matrix(H: Callable, C=1.0) -> Callable:
    """z ↦ D(z) = (C/2)(H'' J − J H''), the commutator diffusion (physics §4)."""
    return lambda z: drift_and_diffusion(lambda x, _: H(x), jnp.asarray(z), None, C)[1]


def check_types(y, params, state: type, params_type: type, build: str) -> None:
    """A path law's `check`: y0 and params of the law's own types."""
    if not isinstance(y, state):
        raise ValueError(f"y0 must be a jqd.husimi.{state.__name__}; build it with {build}.")
    if not isinstance(params, params_type):
        raise ValueError(
            f"params must be a jqd.husimi.{params_type.__name__}(C, args); "
            f"got {type(params).__name__}."
        )


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
    """Tell whether the Husimi Fokker-Planck equation is exact for `H` (F64,
    physics §4.4): no monomial of the symbol of degree ≥ 3 in α or in α*."""
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
