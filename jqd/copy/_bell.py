"""Bell's jump process on a finite basis (physics §3.5, §5.3): N independent
members jump b → a at Bell's rate T_ab(t) = max(0, 2 Im(ψ_a* H_ab ψ_b))/(ħ|ψ_b|²),
ψ(t) = e^{−iHt/ħ}ψ0 evolved alongside; equivariant, and the single-member limit
of the copy process."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .._guards import Check, finite
from .._law import AbstractLaw, half_steps
from .._steppers import ExponentialMidpoint
from ._coupling import canonical, half_uniforms, layout
from ._kinetics import check_members, check_params, hamiltonian_guards, member_guards, sampled

GUIDING = "|ψ|² of the guiding state (jqd.SchrodingerBasis)"  # differentiable instead


class BellState(eqx.Module):
    """State of `BellJumps`: guiding amplitudes `psi` (P,) complex (any norm) and
    each member's beable `a` (N,) int32."""

    psi: Array
    a: Array


def bell_rates(psi, H, hbar=1.0):
    """T[a, b]: Bell's rate of jumps b → a, max(0, 2 Im(ψ_a* H_ab ψ_b))/(ħ|ψ_b|²);
    zero diagonal, zero column where ψ_b = 0."""
    J = 2.0 * jnp.imag(jnp.conj(psi)[:, None] * H * psi[None, :]) / hbar
    rho = jnp.real(psi) ** 2 + jnp.imag(psi) ** 2
    occupied = rho > 0
    T = jnp.maximum(J, 0.0) / jnp.where(occupied, rho, 1.0)[None, :]
    T = jnp.where(occupied[None, :], T, 0.0)
    return T * (1.0 - jnp.eye(psi.shape[0], dtype=T.dtype))


def bell_generator(psi, H, hbar=1.0):
    """Q = T − diag(Σ_a T_ab): dP/dt = Q P for P(a, t) (columns sum to zero)."""
    T = bell_rates(psi, H, hbar)
    return T - jnp.diag(jnp.sum(T, axis=0))


def _jump(cum, a, u):
    """Each member's class after a step: the first b with u < cum[b, a]."""
    return jnp.sum(u[None, :] >= cum[:-1, a], axis=0).astype(a.dtype)


def _stay(cum, a):
    """(lo, hi): the interval of u in which a member of class a stays."""
    below = jnp.where(a > 0, cum[jnp.maximum(a - 1, 0), a], 0.0)
    return below, cum[a, a]


class BellJumps(AbstractLaw):
    """Bell's jump process of N members on `n_states` P basis states. State
    `BellState(psi, a)`, params `MatrixParams(H, hbar)`. One step: ψ by two exact
    half steps; each member draws its class from column a_I of exp(dt Q(t + dt/2))
    (exponential midpoint, weak order 2)."""

    n_states: int = eqx.field(static=True)
    stochastic = True
    scheme = ExponentialMidpoint()  # the jump kernel at t + dt/2: weak order 2
    coupling = "shared uniforms"  # jqd/copy/_coupling.py

    def _half_propagator(self, params, dt, dtype):
        E, V = jnp.linalg.eigh(jnp.asarray(params.H).astype(dtype))
        phase = jnp.exp(-0.5j * E * dt / params.hbar).astype(dtype)
        return (V * phase[None, :]) @ jnp.conj(V).T

    def _kernel(self, psi, params, dt):
        """(ψ(t + dt) by two exact half steps, cum): cum[:, b] the cumulative
        column b of exp(dt Q(t + dt/2))."""
        dtype = psi.dtype
        U = self._half_propagator(params, dt, dtype)
        psi_mid = U @ psi
        H = jnp.asarray(params.H).astype(dtype)
        Q = bell_generator(psi_mid, H, params.hbar)
        K = jax.scipy.linalg.expm(dt * Q)  # K[a, b] = P(a at t + dt | b at t)
        return U @ psi_mid, jnp.cumsum(jnp.real(K), axis=0)  # column b ends at 1

    def step(self, t, y: BellState, params, dt, key: PRNGKeyArray):
        self, y, params, dt = sampled(self, y, params, dt, GUIDING)
        psi1, cum = self._kernel(y.psi, params, dt)
        u = jax.random.uniform(key, y.a.shape, dtype=cum.dtype)
        return BellState(psi=psi1, a=_jump(cum, y.a, u))

    def sample_axes(self, y):
        """The members are independent given ψ: they are the samples."""
        return BellState(psi=None, a=0)

    def coupled_step(self, fine, t, y, y_fine, params, dt, key):
        """The dt step's uniforms split into the half steps' (`half_uniforms`,
        in the canonical coordinates of each member's column)."""
        self, y, params, dt = sampled(self, y, params, dt, GUIDING)
        fine, y_fine = sampled(fine, y_fine, params, dt, GUIDING)[:2]
        psi1, cum = self._kernel(y.psi, params, dt)
        u = jax.random.uniform(key, y.a.shape, dtype=cum.dtype)
        lo, hi = _stay(cum, y.a)
        c1, c2 = half_uniforms(jax.random.fold_in(key, 1), canonical(u, lo, hi), 1.0 - (hi - lo))

        def step(s, y, c):
            psi_f, cum_f = fine._kernel(y.psi, params, dt / 2)
            return BellState(psi_f, _jump(cum_f, y.a, layout(c, *_stay(cum_f, y.a))))

        y_fine = half_steps(step, y_fine, t, dt, jnp.stack([c1, c2]))
        return BellState(psi=psi1, a=_jump(cum, y.a, u)), y_fine

    def check(self, y, params, dt=None):
        if not isinstance(y, BellState):
            raise ValueError(
                "y0 must be a jqd.copy.BellState(psi, a): psi the (P,) guiding "
                "amplitudes, a the (N,) int32 classes of the members."
            )
        P = self.n_states
        if jnp.shape(y.psi) != (P,):
            raise ValueError(
                f"y0.psi must have shape ({P},); got {jnp.shape(y.psi)}. For a batch of "
                "ensembles use jax.vmap."
            )
        if not jnp.issubdtype(jnp.asarray(y.psi).dtype, jnp.complexfloating):
            raise ValueError(
                f"y0.psi must be complex; got {jnp.asarray(y.psi).dtype}. Use psi + 0j."
            )
        check_members(y.a, P)
        check_params(params, P)

    def checks(self, y, params, dt=None) -> list[Check]:
        rho = jnp.sum(jnp.abs(jnp.asarray(y.psi)) ** 2)
        nonzero = Check(
            rho > 0,
            "y0.psi is zero: Bell's rates |ψ_b|⁻² are undefined. Give the guiding ψ a "
            "nonzero norm (e.g. the state the members were drawn from).",
            rho,
        )
        return (
            member_guards(y.a, self.n_states)
            + finite(y.psi, "y0.psi")
            + [nonzero]
            + hamiltonian_guards(params)
        )
