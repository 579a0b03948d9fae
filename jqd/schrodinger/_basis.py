"""Schrödinger's equation in a finite basis: iħ dc/dt = H(t) c."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards
from .._checks import hbar_of
from .._law import AbstractLaw
from ..interop import as_array


class MatrixParams(eqx.Module):
    """A Hamiltonian matrix given directly: `H` (energy units) and `hbar`.

    `H` may be a QuTiP `Qobj` or a dynamiqs `QArray` (see `jqd.interop`)."""

    H: Array = eqx.field(converter=lambda H: as_array(H, "MatrixParams.H"))
    hbar: float | Array = 1.0


def _matrix_from_params(t, params):
    return params.H


@jax.custom_jvp
def expm_hermitian(H, s):
    """exp(−i s H) for Hermitian H and real s, via the eigendecomposition.

    Differentiable also for degenerate spectra (where jax's eigh derivative
    divides by zero): the derivative uses the Daleckii-Krein divided
    differences of f(E) = e^{−isE} in the stable closed form
    (f(E_i) − f(E_j))/(E_i − E_j) = −i s e^{−is(E_i+E_j)/2} sinc(s(E_i−E_j)/2).
    """
    E, V = jnp.linalg.eigh(H)
    phases = jnp.exp(-1j * E * s)
    V = V.astype(jnp.result_type(V.dtype, phases.dtype))
    return (V * phases[..., None, :]) @ jnp.conj(jnp.swapaxes(V, -1, -2))


@expm_hermitian.defjvp
def _expm_hermitian_jvp(primals, tangents):
    H, s = primals
    dH, ds = tangents
    E, V = jnp.linalg.eigh(H)
    phases = jnp.exp(-1j * E * s)
    V = V.astype(jnp.result_type(V.dtype, phases.dtype))
    Vh = jnp.conj(jnp.swapaxes(V, -1, -2))
    U = (V * phases[..., None, :]) @ Vh
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
    """iħ dc/dt = H(t, params) c for a Hermitian matrix H in a finite basis.

    State: complex vector `c` of length `dim`, `Σ|c|² = 1`.

    `step` applies the exponential propagator exp(−iH dt/ħ) from the
    eigendecomposition of H at the step midpoint: exact for time-independent H
    (then computed once per run, in `prepare`), second order otherwise. For
    time-dependent H use `jqd.evolve_adaptive`, which integrates
    `vector_field` to a tolerance.

    Validated against: closed forms for the Kerr mode and harmonic oscillator,
    and exact diagonalization (`jqd.reference.propagate`).

    Attributes:
        hamiltonian: `H(t, params) -> (dim, dim)` Hermitian matrix in energy
            units; default reads `params.H` (use `MatrixParams`).
        time_dependent: whether H depends on t.

    ħ is read from `params.hbar` (default 1).
    """

    hamiltonian: Callable = eqx.field(static=True, default=_matrix_from_params)
    time_dependent: bool = eqx.field(static=True, default=False)

    @property
    def order(self) -> int | None:
        """Exact (None) for a static H; the midpoint exponential is order 2."""
        return 2 if self.time_dependent else None

    def step(self, t, y, params, dt, key=None):
        H = self.hamiltonian(t + dt / 2, params)
        return unitary_step(H, dt, hbar_of(params)).astype(y.dtype) @ y

    def prepare(self, params, dt):
        if self.time_dependent:
            return self
        return _FixedPropagator(unitary_step(self.hamiltonian(0.0, params), dt, hbar_of(params)))

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
        if jnp.ndim(y) != 1:
            raise ValueError(
                f"psi0 must be a vector (dim,); got shape {jnp.shape(y)}. For a batch use jax.vmap."
            )
        if not jnp.iscomplexobj(y):
            raise ValueError("psi0 must be complex (e.g. psi0.astype(jnp.complex128)).")
        H = self.hamiltonian(0.0, params)
        if H.shape != (y.shape[0], y.shape[0]):
            raise ValueError(f"H has shape {H.shape} but psi0 has dimension {y.shape[0]}.")

    def guards(self, y, params, dt=None):
        xp = jnp if _guards.is_traced(y) else np
        return _guards.normalized(xp.sum(xp.abs(y) ** 2), "psi0") + _guards.hermitian(
            self.hamiltonian(0.0, params), "H"
        )


class _FixedPropagator(AbstractLaw):
    """One precomputed unitary applied per step."""

    U: Array

    def step(self, t, y, params, dt, key=None):
        return self.U.astype(y.dtype) @ y
