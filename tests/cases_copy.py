"""Law-contract lines for the copy-dynamics family and the ring lattice (see helpers.py)."""

import jax
import jax.numpy as jnp
from helpers import LawCase

import jqd
from jqd.copy import (
    AlignmentParams,
    AlignmentState,
    CopyCountsTauLeap,
    CopyGillespie,
    CopyMembersTauLeap,
    CopyParams,
    CountState,
    MeanField,
    MeanFieldParams,
    MemberState,
    PhaseAlignment,
    gillespie_state,
    lattice_gaussian,
    ring_positions,
    state_from_psi,
)

P = 3
INTEGER_COUNTS = "integer copy counts: n(t) is piecewise constant in the params (no gradient)"


def _H():
    return jqd.fock.random_hermitian(jax.random.key(5), P)


def _meanfield():
    H = _H()
    psi0 = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
    psi0 = psi0 / jnp.linalg.norm(psi0)
    params = MeanFieldParams.from_hamiltonian(H, q=0.5, r=-0.5)
    return LawCase(MeanField(), state_from_psi(psi0), params, dt=0.1, order=4)


def _alignment():
    beables = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 4)
    phi0 = jnp.array([0.0, 1.0, -2.0])[beables] + 0.3 * jnp.sin(jnp.arange(12.0))
    y0 = AlignmentState(phi=phi0, pi=jnp.zeros_like(phi0))
    params = AlignmentParams(H=_H(), f=jnp.asarray(2.0))
    return LawCase(PhaseAlignment(beables=beables, n_states=P), y0, params, dt=0.05, order=4)


def _counts0():
    return CountState(n=jnp.array([40.0, 30.0, 30.0]), phi=jnp.zeros(P))


def _counts_tau():
    return LawCase(
        CopyCountsTauLeap(P),
        _counts0(),
        CopyParams(H=_H()),
        dt=0.02,
        order=1,
        skip={"grads": INTEGER_COUNTS},
    )


def _members_tau():
    y0 = MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 20), phi=jnp.zeros(3 * 20))
    return LawCase(
        CopyMembersTauLeap(P),
        y0,
        CopyParams(H=_H()),
        dt=0.02,
        order=1,
        skip={"grads": INTEGER_COUNTS},
    )


def _gillespie_counts():
    return LawCase(
        CopyGillespie(P),
        gillespie_state(_counts0()),
        CopyParams(H=_H()),
        dt=0.1,
        order=None,
        skip={"grads": INTEGER_COUNTS},
    )


def _gillespie_members():
    y0 = MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 10), phi=jnp.zeros(30))
    return LawCase(
        CopyGillespie(P),
        gillespie_state(y0, P),
        CopyParams(H=_H()),
        dt=0.1,
        order=None,
        skip={"grads": INTEGER_COUNTS},
    )


def _ring():
    n_sites, spacing = 32, 0.5
    x = ring_positions(n_sites, spacing)
    psi0 = lattice_gaussian(n_sites, spacing, a=1.0, p0=0.5)
    params = jqd.SchrodingerParams(hbar=1.0, mass=1.0, potential=0.5 * x**2)
    return LawCase(jqd.SchrodingerRing(n_sites, spacing), psi0, params, dt=0.05, order=2)


def _ring_free():
    psi0 = lattice_gaussian(24, 0.5, a=1.0, p0=0.5)
    params = jqd.SchrodingerParams(hbar=jnp.asarray(0.8), mass=jnp.asarray(1.2))
    return LawCase(jqd.SchrodingerRing(24, 0.5), psi0, params, dt=0.05, order=None)


CASES = {
    "copy-meanfield": _meanfield,
    "copy-alignment": _alignment,
    "copy-counts-tau-leap": _counts_tau,
    "copy-members-tau-leap": _members_tau,
    "copy-gillespie-counts": _gillespie_counts,
    "copy-gillespie-members": _gillespie_members,
    "schrodinger-ring": _ring,
    "schrodinger-ring-free": _ring_free,
}
