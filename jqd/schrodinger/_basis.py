"""Schrödinger's equation in a finite basis, iħ dc/dt = H(t) c (physics §1.2),
and the storage a plain `jqd.evolve` call picks for a concrete H."""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array

from .. import _guards, _sparse, _steppers
from .._checks import hbar_of
from .._eigen import diagonal_states, eigen_states
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ..interop import as_array

SCHEMES = (_steppers.ExponentialMidpoint, _steppers.CommutatorFree4)
PROPAGATORS = (_steppers.Eigen, _steppers.Chebyshev)


class ChebyshevOrderError(BreakdownError, ValueError):
    """H(t) outgrew the Chebyshev series a time-dependent run was sized for."""


CHEBYSHEV_REASON = Reason(
    ChebyshevOrderError,
    "the spectrum of H(t) widened beyond what the Chebyshev steps were sized for "
    "(the dropped tail per step, in parentheses, exceeds 1e-12)",
    "Pass propagator=jqd.schemes.Chebyshev(terms=K) to SchrodingerBasis with more terms "
    "(about h dt/ħ + 20, h the half-width of H(t)'s spectrum), a smaller dt, or "
    "propagator=jqd.schemes.Eigen() (an eigendecomposition per exponential).",
)


class BandError(BreakdownError, ValueError):
    """H(t) left the diagonals a plain call read from it."""


BAND_REASON = Reason(
    BandError,
    "H(t) has entries outside the diagonals read from it at 17 times of the run "
    "(in parentheses: the Chebyshev tail and the relative weight outside them)",
    "Pass propagator=jqd.schemes.Chebyshev(terms=K) (about h dt/ħ + 20 terms) to "
    "SchrodingerBasis: a law given its terms multiplies by H(t) as it is, without reading "
    "its diagonals.",
)


class MatrixParams(eqx.Module):
    """A Hamiltonian matrix `H` (energy units; dense, QuTiP `Qobj`, dynamiqs
    `QArray`, `jqd.fock.DiaMatrix` or `BCOO`) and `hbar`."""

    H: Array = eqx.field(converter=lambda H: as_array(H, "MatrixParams.H"))
    hbar: float | Array = 1.0


def _matrix_from_params(t, params):
    return params.H


def _expm_parts(H, s):
    """(E, V, V†, exp(−i s H)) of Hermitian H."""
    E, V = jnp.linalg.eigh(H)
    phases = jnp.exp(-1j * E * s)
    V = V.astype(jnp.result_type(V.dtype, phases.dtype))
    Vh = jnp.conj(jnp.swapaxes(V, -1, -2))
    return E, V, Vh, (V * phases[..., None, :]) @ Vh


@jax.custom_jvp
def expm_hermitian(H, s):
    """exp(−i s H) for Hermitian H and real s, via the eigendecomposition;
    differentiable also for degenerate spectra (Daleckii-Krein divided
    differences: docs/internals/basis.md#eigen)."""
    return _expm_parts(H, s)[3]


@expm_hermitian.defjvp
def _expm_hermitian_jvp(primals, tangents):
    H, s = primals
    dH, ds = tangents
    dH = 0.5 * (dH + jnp.conj(jnp.swapaxes(dH, -1, -2)))  # eigh reads (H + H†)/2
    E, V, Vh, U = _expm_parts(H, s)
    Ei, Ej = E[..., :, None], E[..., None, :]
    # jnp.sinc(x) = sin(πx)/(πx)
    F = -1j * s * jnp.exp(-0.5j * s * (Ei + Ej)) * jnp.sinc(s * (Ei - Ej) / (2 * jnp.pi))
    dU = V @ (F * (Vh @ dH.astype(V.dtype) @ V)) @ Vh
    dU = dU + (-1j * ds) * (H.astype(V.dtype) @ U)
    return U, dU


def unitary_step(H, dt, hbar):
    """exp(−i H dt/ħ) for Hermitian H (differentiable in H, dt and ħ)."""
    return expm_hermitian(H, jnp.asarray(dt / hbar, jnp.finfo(H.dtype).dtype))


class SchrodingerBasis(AbstractLaw):
    """iħ dc/dt = H(t, params) c for a Hermitian matrix H in a finite basis
    (physics §1.2); state: complex vector, Σ|c|² = 1; ħ from `params.hbar`.

    A static H (`propagator=None`) is solved exactly by the cheapest of:
    phases for a diagonal H; one eigendecomposition for all saves of a dense
    H; Chebyshev steps with sparse products for a sparse or banded H (chosen
    by a plain `jqd.evolve` call for a concrete H where cheaper; under your
    own `jit`/`vmap` pass `law.specialize(params, dt, n_steps)` made outside
    it, docs/internals/basis.md#structure). A time-dependent H is stepped by
    `scheme`: the exponential midpoint rule (order 2) or
    `jqd.schemes.CommutatorFree4()` (order 4, two exponentials per step).

    Attributes:
        hamiltonian: `H(t, params) -> (dim, dim)` in energy units (dense,
            `DiaMatrix` or `BCOO`); default reads `params.H` (`MatrixParams`).
        time_dependent: whether H depends on t.
        scheme: `jqd.schemes.ExponentialMidpoint()` (default, order 2) or
            `CommutatorFree4()` (order 4; "cf4"); used where H depends on t.
        propagator: how each exponential is applied: None (default: chosen
            from H as above), `jqd.schemes.Eigen()` (eigendecomposition;
            `stepped=True`: one exponential per step for a static H) or
            `jqd.schemes.Chebyshev(terms=K)` (K terms per step; None: sized
            from the concrete H and dt; a dropped tail > 1e-12 is refused);
            or their names ("eigen", "chebyshev").
        band: the diagonals of a time-dependent dense H(t), set by a plain
            call that read them from H at 17 times: H(t) is then multiplied
            in diagonal storage (the monitor stops a run where H(t) has
            entries outside them).
    """

    hamiltonian: Callable = eqx.field(static=True, default=_matrix_from_params)
    time_dependent: bool = eqx.field(static=True, default=False)
    propagator: _steppers.AbstractPropagator | None = _steppers.scheme_field(
        None, PROPAGATORS, "propagator"
    )
    scheme: _steppers.AbstractExponential = _steppers.scheme_field(
        _steppers.ExponentialMidpoint(), SCHEMES
    )
    band: tuple[int, ...] | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        _steppers.check_scheme(self.scheme, SCHEMES)
        if hasattr(self.hamiltonian, "shape") or not callable(self.hamiltonian):
            # a QuTiP Qobj is callable too (Qobj(ket)), so a matrix is told by its shape
            raise TypeError(
                "hamiltonian must be a function H(t, params) -> (dim, dim); got a "
                f"{type(self.hamiltonian).__name__}. A fixed matrix (array, QuTiP Qobj, dynamiqs "
                "QArray) goes in params: jqd.SchrodingerBasis() with jqd.MatrixParams(H)."
            )
        if self.propagator is not None:
            _steppers.check_scheme(self.propagator, PROPAGATORS, "propagator")

    @property
    def order(self) -> int | None:
        """Exact (None) for a static H; the scheme's order for H(t)."""
        return self.scheme.order if self.time_dependent else None

    def step(self, t, y, params, dt, key=None):
        def propagate(H, y, h):
            if self.terms is not None:
                s = jnp.asarray(h / hbar_of(params), jnp.finfo(y.dtype).dtype)
                return _sparse.chebyshev_step(H, y, s, self.terms)
            return unitary_step(_sparse.todense(H), h, hbar_of(params)).astype(y.dtype) @ y

        return self.scheme.compose(propagate, lambda t: self._matrix(t, params), t, y, dt)

    def _matrix(self, t, params):
        """H(t), in diagonal storage where a plain call read its `band`."""
        H = self.hamiltonian(t, params)
        return H if self.band is None else _sparse.DiaMatrix.from_dense(H, self.band)

    def prepare(self, params, dt):
        if self.time_dependent:
            return self
        H = self.hamiltonian(0.0, params)
        if _diagonal(H) and not self._stepped:
            s = jnp.asarray(dt / hbar_of(params), jnp.finfo(H.dtype).dtype)
            return _FixedPropagator(jnp.exp(-1j * s * jnp.real(H.diagonal())), diagonal=True)
        if self.terms is not None:
            s = jnp.asarray(dt / hbar_of(params), jnp.finfo(H.dtype).dtype)
            c, h, coef = _sparse.chebyshev_coefficients(H, s, self.terms)
            return _ChebyshevPropagator(H, s, c, h, coef)
        return _FixedPropagator(unitary_step(_sparse.todense(H), dt, hbar_of(params)))

    def exact_saves(self, y0, params, offsets):
        """Every save at once for a time-independent H, or None where the
        saves are stepped (time-dependent H, `Eigen(stepped=True)`, Chebyshev)."""
        if self.time_dependent or self._stepped:
            return None
        H = self.hamiltonian(0.0, params)
        s = offsets / jnp.asarray(hbar_of(params), offsets.dtype)
        if _diagonal(H):
            return diagonal_states(jnp.real(H.diagonal()), y0, s).astype(y0.dtype)
        if self.terms is not None:
            return None
        return eigen_states(_sparse.todense(H), y0, s).astype(y0.dtype)

    def specialize(self, params, dt, n_steps: int):
        """(law, params) for a plain call: a concrete `MatrixParams.H` stored as
        its nonzeros call for (docs/internals/basis.md#structure); for H(t),
        Chebyshev steps sized from H at 17 times of the run."""
        if self.time_dependent:
            return self._specialize_driven(params, dt, n_steps), params
        if (
            isinstance(self.propagator, _steppers.Eigen)
            or self.hamiltonian is not _matrix_from_params
            or not isinstance(params, MatrixParams)
            or _guards.is_traced(params, dt)
        ):
            return self, params
        H, hbar = params.H, params.hbar
        if not (np.ndim(hbar) == 0 and float(hbar) > 0 and np.isfinite(float(hbar))):
            return self, params  # the value checks name a bad ħ
        s = float(dt) / float(hbar)
        terms = lambda lo, hi: self.terms or _sparse.chebyshev_order(0.5 * (hi - lo) * s)
        if _sparse.is_sparse(H):
            if self.terms is not None or _diagonal(H):
                return self, params
            return self._with_terms(terms(*(float(x) for x in _sparse.gershgorin(H)))), params
        if not hasattr(H, "shape") or len(H.shape) != 2:
            return self, params  # check names the problem
        kind, offsets, nnz, lo, hi, op = _pattern(H)
        if kind == "diagonal":
            return self, MatrixParams(op, hbar)
        if kind == "dense":
            if not isinstance(self.propagator, _steppers.Chebyshev) or self.terms is not None:
                return self, params
            return self._with_terms(terms(*_sparse.gershgorin_numpy(np.asarray(H)))), params
        K = terms(lo, hi)
        d = H.shape[0]
        stored = len(offsets) * d if kind == "dia" else 3 * nnz
        if self.propagator is None and n_steps * K * 6 * stored > 12 * d**3:
            return self, params  # the eigendecomposition is cheaper
        return (self if self.terms == K else self._with_terms(K)), MatrixParams(op, hbar)

    @property
    def terms(self) -> int | None:
        """The Chebyshev terms per step (a `Chebyshev` propagator's), or None."""
        return self.propagator.terms if isinstance(self.propagator, _steppers.Chebyshev) else None

    @property
    def _stepped(self) -> bool:
        return isinstance(self.propagator, _steppers.Eigen) and self.propagator.stepped

    def _with_terms(self, K: int) -> SchrodingerBasis:
        return dataclasses.replace(self, propagator=_steppers.Chebyshev(K))

    def _specialize_driven(self, params, dt, n_steps):
        """A time-dependent H is stepped by Chebyshev series (K products with H
        instead of an eigendecomposition per exponential), K sized from the
        widest spectrum of H(t) at 17 times of [0, n_steps dt]; the monitor
        checks the dropped tail at every save."""
        if (
            isinstance(self.propagator, _steppers.Eigen)
            or self.terms is not None
            or _guards.is_traced(params, dt)
        ):
            return self
        try:
            hbar = float(hbar_of(params))
            samples = [self.hamiltonian(t, params) for t in np.linspace(0.0, n_steps * dt, 17)]
            widths = [float(0.5 * (hi - lo)) for lo, hi in map(_sparse.gershgorin, samples)]
        except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
            return self  # H not concrete here, or malformed: the value checks name it
        if not (hbar > 0 and np.all(np.isfinite(widths))):
            return self
        s = self.scheme.span * float(dt) / hbar
        K = _sparse.chebyshev_order(max(widths) * s)
        band = None
        if not any(map(_sparse.is_sparse, samples)):  # dense H(t): its diagonals over the run
            _, offsets, nnz = _sparse.structure(sum(np.abs(np.asarray(H)) for H in samples))
            d = samples[0].shape[0]  # (no size floor: every step multiplies by H(t) K times)
            if len(offsets) <= _sparse.DIA_MAX_DIAGONALS and len(offsets) * d <= 4 * max(nnz, d):
                band = offsets
        return dataclasses.replace(self, propagator=_steppers.Chebyshev(K), band=band)

    breakdowns = {2: CHEBYSHEV_REASON, 3: BAND_REASON}

    def monitor(self, t, y, params, dt=None):
        """For H(t) stepped by Chebyshev series: the dropped tail at H(t) ≤
        1e-12 (code 2) and, where a `band` was read, no weight of H(t)
        outside it (code 3: ‖outside‖/‖H‖ ≤ 1e-14); where = (tail, outside)."""
        if dt is None or not self.time_dependent or self.terms is None:
            return True, 0, jnp.zeros((0,))
        H = self.hamiltonian(t, params)
        outside = jnp.zeros((), jnp.finfo(y.dtype).dtype)
        if self.band is not None:
            i = jnp.arange(H.shape[0])
            inside = jnp.isin(i[None, :] - i[:, None], jnp.asarray(self.band))
            weight = jnp.abs(H) ** 2
            total = jnp.maximum(jnp.sum(weight), jnp.finfo(outside.dtype).tiny)
            outside = jnp.sqrt(jnp.sum(jnp.where(inside, 0, weight)) / total)
            H = _sparse.DiaMatrix.from_dense(H, self.band)
        if self.terms is None:
            return True, 0, jnp.zeros((0,))
        s = self.scheme.span * dt / hbar_of(params)
        tail = _sparse.chebyshev_tail(H, s, self.terms)
        band_ok, tail_ok = outside <= 1e-14, tail <= 1e-12
        code = jnp.where(band_ok, jnp.where(tail_ok, 0, 2), 3)
        return band_ok & tail_ok, code, jnp.stack([tail, outside])

    def vector_field(self, t, y, params):
        H = self.hamiltonian(t, params)
        return (-1j / hbar_of(params)) * (H.astype(y.dtype) @ y)

    def density(self, y):
        """Populations |c_n|²."""
        return jnp.abs(y) ** 2

    def energy(self, t, y, params):
        H = self.hamiltonian(t, params)
        return jnp.real(jnp.vdot(y, H.astype(y.dtype) @ y))

    def check(self, y, params, dt=None):
        if np.ndim(y) != 1:
            raise ValueError(
                f"psi0 must be a vector (dim,); got shape {jnp.shape(y)}. For a batch use jax.vmap."
            )
        if not np.issubdtype(_guards._dtype_of(y), np.complexfloating):
            raise ValueError("psi0 must be complex (e.g. psi0.astype(jnp.complex128)).")
        H = self.hamiltonian(0.0, params)
        if H.shape != (y.shape[0], y.shape[0]):
            raise ValueError(f"H has shape {H.shape} but psi0 has dimension {y.shape[0]}.")
        chebyshev = isinstance(self.propagator, _steppers.Chebyshev)
        if chebyshev and self.terms is None and _guards.is_traced(H):
            raise ValueError(
                "propagator=jqd.schemes.Chebyshev() with a traced H needs terms=K (the "
                "number of Chebyshev terms per step cannot be read from a traced H's "
                "values): Chebyshev(terms=K), or law.specialize(params, dt, n_steps) "
                "outside the transform."
            )

    def checks(self, y, params, dt=None):
        H = self.hamiltonian(0.0, params)
        out = _guards.normalized(jnp.sum(jnp.abs(y) ** 2), "psi0")
        if not _sparse.is_sparse(H):
            out += _guards.hermitian(H, "H")
        else:
            dev, scale = _sparse.hermitian_residual(H)
            rel = dev / jnp.maximum(scale, 1e-300)
            out += [
                _guards.Check(_sparse.all_finite(H), "H contains NaN or Inf.", None),
                _guards.Check(
                    rel <= 1e-10,
                    "H is not Hermitian: max|H - H^†| / max|H| = {value} > 1e-10.",
                    rel,
                ),
            ]
        if dt is not None and self.terms is not None:
            span = self.scheme.span if self.time_dependent else 1.0
            s = jnp.asarray(span * dt / hbar_of(params), jnp.finfo(y.dtype).dtype)
            tail = _sparse.chebyshev_tail(H, s, self.terms)
            out.append(
                _guards.Check(
                    tail <= 1e-12,
                    f"Chebyshev(terms={self.terms}) is too low for dt: the dropped Chebyshev "
                    "tail per step is {value} > 1e-12. Raise terms (about h dt/ħ + 20, h the "
                    "half-width of H's spectrum) or reduce dt.",
                    tail,
                )
            )
        return out


def _diagonal(H) -> bool:
    return isinstance(H, _sparse.DiaMatrix) and H.offsets == (0,)


# The nonzero pattern of a concrete jax.Array H (immutable), per object: the entry
# goes with H (weakref.finalize), so an id is never reused while it exists. NumPy H
# (mutable) are re-read each call.
_PATTERNS: dict[int, tuple] = {}


def _pattern(H):
    """(kind, offsets, nnz, lo, hi, sparse operator or None) of a concrete dense H."""
    cacheable = isinstance(H, jax.Array)
    if cacheable and id(H) in _PATTERNS:
        return _PATTERNS[id(H)]
    Hn = np.asarray(H)
    kind, offsets, nnz = _sparse.structure(Hn)
    lo = hi = float("nan")
    op = None
    if kind in ("dia", "bcoo"):
        lo, hi = _sparse.gershgorin_numpy(Hn)
    if kind in ("diagonal", "dia"):
        op = _sparse.DiaMatrix.from_dense(jnp.asarray(H), offsets)
    elif kind == "bcoo":
        op = jsparse.BCOO.fromdense(jnp.asarray(H))
    info = (kind, offsets, nnz, lo, hi, op)
    if cacheable:
        _PATTERNS[id(H)] = info
        weakref.finalize(H, _PATTERNS.pop, id(H), None)
    return info


class _FixedPropagator(AbstractLaw):
    """One precomputed unitary applied per step (or its diagonal: phases)."""

    U: Array
    diagonal: bool = eqx.field(static=True, default=False)

    def step(self, t, y, params, dt, key=None):
        U = self.U.astype(y.dtype)
        return U * y if self.diagonal else U @ y


class _ChebyshevPropagator(AbstractLaw):
    """e^{−iH dt/ħ} per step by a Chebyshev series whose coefficients were
    computed once (`jqd._sparse.chebyshev_coefficients`)."""

    H: Any
    s: Array
    c: Array
    h: Array
    coef: Array

    def step(self, t, y, params, dt, key=None):
        return _sparse.chebyshev_apply(self.H, y, self.s, self.c, self.h, self.coef)
