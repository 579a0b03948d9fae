"""Smolin's phase-alignment model (S42-S53, physics §5.5): members with fixed
beables, phases φ_I and momenta π_I, and the Hamiltonian (S45)

    H = Σ_I [ ½ π_I² + π_I Ω_I(φ, n) + (f²/2) Σ_{J∈a_I} sin²(φ_I − φ_J) ],

Ω_I the S40 phase velocity. Hamilton's equations by automatic differentiation
of H (S46 as printed drops a factor 2 and the sum over J), in O(N + P²) through
class sums: Σ_{I,J∈a} sin²(φ_I − φ_J) = ½(n_a² − |C_a|²), C_a = Σ_{J∈a} e^{2iφ_J}.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _guards, _steppers
from .._law import AbstractLaw
from ..interop import as_array
from ._kinetics import (
    MemberState,
    _member_sums,
    _rates,
    hamiltonian_guards,
    member_guards,
    member_phase_velocity,
)


class AlignmentState(eqx.Module):
    """Member phases `phi` (N,) and momenta `pi` (N,)."""

    phi: Array
    pi: Array


class AlignmentParams(eqx.Module):
    """`H` (P×P Hermitian) gives ω, R, δ as in the copy process; `f` is the
    alignment frequency (1/time)."""

    H: Array = eqx.field(converter=lambda H: as_array(H, "AlignmentParams.H"))
    f: float | Array = 1.0
    hbar: float | Array = 1.0


def alignment_order(phi, beables, n_states: int):
    """(R1, R2), each (P,): |Σ_{J∈a} e^{iφ_J}|/n_a and |Σ_{J∈a} e^{2iφ_J}|/n_a."""

    def mod(k):
        n, c, s = _member_sums(MemberState(a=beables, phi=k * phi), n_states)
        return jnp.sqrt(c**2 + s**2) / jnp.maximum(n, 1.0)

    return mod(1), mod(2)


class PhaseAlignment(AbstractLaw):
    """Hamiltonian phase-alignment model (S42-S53), stepped by RK4. State
    `AlignmentState(phi, pi)`, params `AlignmentParams(H, f, hbar)`, `beables`
    (N,) int32 each member's fixed class, `n_states` P; energy: H of S45."""

    beables: Array
    n_states: int = eqx.field(static=True)
    scheme = _steppers.RK4()

    def _omega(self, phi, params):  # Ω_I, the S40 phase velocity of each member
        R, delta, omega = _rates(params, phi.dtype)
        n, zc, zs = _member_sums(MemberState(a=self.beables, phi=phi), self.n_states)
        return member_phase_velocity(phi, self.beables, n, zc, zs, R, delta, omega)

    def _potential(self, phi, params):
        n, c2, s2 = _member_sums(MemberState(a=self.beables, phi=2 * phi), self.n_states)
        # (f²/2) Σ_I Σ_{J∈a_I} sin² = (f²/4) Σ_a (n_a² − |C_a|²)
        return 0.25 * params.f**2 * jnp.sum(n**2 - c2**2 - s2**2)

    def hamiltonian(self, y: AlignmentState, params: AlignmentParams):
        """H of S45 (conserved)."""
        return (
            0.5 * jnp.sum(y.pi**2)
            + jnp.sum(y.pi * self._omega(y.phi, params))
            + self._potential(y.phi, params)
        )

    def vector_field(self, t, y: AlignmentState, params: AlignmentParams):
        def h_phi(phi):
            return jnp.sum(y.pi * self._omega(phi, params)) + self._potential(phi, params)

        omega_I = self._omega(y.phi, params)
        dpi = -jax.grad(h_phi)(y.phi)
        return AlignmentState(phi=y.pi + omega_I, pi=dpi)

    def step(self, t, y, params, dt, key=None):
        return _steppers.rk4(lambda s, z: self.vector_field(s, z, params), t, y, dt)

    def energy(self, t, y, params):
        return self.hamiltonian(y, params)

    def order_parameters(self, y: AlignmentState):
        """(R1, R2) per class; see `alignment_order`."""
        return alignment_order(y.phi, self.beables, self.n_states)

    def check(self, y, params, dt=None):
        if not isinstance(y, AlignmentState):
            raise ValueError("y0 must be a jqd.copy.AlignmentState(phi, pi).")
        shape = jnp.shape(self.beables)
        if len(shape) != 1 or jnp.shape(y.phi) != shape or jnp.shape(y.pi) != shape:
            raise ValueError(
                "y0.phi, y0.pi and the law's beables must be 1-D of equal length; got "
                f"{jnp.shape(y.phi)}, {jnp.shape(y.pi)}, {shape}."
            )
        if shape[0] < 1:
            raise ValueError("the law has no members (beables is empty); give it at least one.")
        if not jnp.issubdtype(jnp.asarray(self.beables).dtype, jnp.integer):
            raise ValueError(f"beables must be integers; got {jnp.asarray(self.beables).dtype}.")
        if jnp.shape(params.H) != (self.n_states, self.n_states):
            raise ValueError(
                f"params.H must be ({self.n_states}, {self.n_states}); got {jnp.shape(params.H)}."
            )

    def checks(self, y, params, dt=None):
        """Beables in [0, P), a Hermitian H and the RK4 step bound (why:
        docs/internals/copy.md#alignment)."""
        out = member_guards(self.beables, self.n_states, "beables") + hamiltonian_guards(params)
        if dt is None:
            return out
        n_max = jnp.max(jnp.bincount(jnp.asarray(self.beables), length=self.n_states))
        hbar = getattr(params, "hbar", 1.0)
        rate = jnp.abs(params.f) * jnp.sqrt(2.0 * n_max) + 2 * jnp.max(jnp.abs(params.H)) / hbar
        safe = _steppers.RK4_LIMIT / rate
        return out + [
            _guards.Check(
                rate * dt <= _steppers.RK4_LIMIT,
                "dt = {dt} is too large for RK4 on this alignment model (fastest frequency "
                "f√(2 n_max) + 2 max|H|/ħ): use dt <= {safe}.",
                {"dt": dt, "safe": safe},
            )
        ]
