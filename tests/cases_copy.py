"""Law-contract lines for the copy-dynamics family and the ring lattice (see helpers.py)."""

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase, StepReference

import jqd
from jqd.copy import (
    AlignmentParams,
    AlignmentState,
    CopyCountsTauLeap,
    CopyGillespie,
    CopyMembersTauLeap,
    CountState,
    MatrixParams,
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


# The tau-leaps' weak-order problem (`StepReference`): two members, one in
# class 0 and one in class 1, class 2 empty; H couples 0 and 1 only, with
# H_01 = i and H_11 = 1: the class-1 member copies class 0 at the rate
# λ = 2 sin⁺(φ_0 − φ_1 + π/2) = 2 cos t (the relative phase turns at 1 rad
# per unit time); f = the fraction in class 0, t = 0.32, dt = 0.16, 0.08,
# 0.04 (λ dt = 0.32-0.08; the hazard guard allows dt <= 0.177).
# Why so small: at fixed N the leap's weak error comes from the jumps, O((λ dt)²)
# per member and step (a move with probability λ dt where the exact process
# has 1 − e^{−λ dt}; the midpoint predictor corrects the mean field, not
# this), and the coupling's noise from the same members (those one run moves
# and the other does not), with a variance of the order of the bias itself:
# d/SE ~ √(|d| × replicates), largest for the fewest members and the largest
# λ dt the guard allows. The leap's own law here (λ held at 2, noise free)
# gives d = 0.0155, 0.0072, 0.0035: slope 1.08 in this dt range.
_LEAP_H = jnp.array([[0.0, 1.0j, 0.0], [-1.0j, 1.0, 0.0], [0.0, 0.0, 0.0]])
_LEAP_DTS = (0.16, 0.08, 0.04)


def _refused(y, value):
    """value, or NaN where a leap was refused (its classes stored as −1 − a)."""
    return jnp.where(jnp.any(y < 0), jnp.nan, value)


def _counts_step():
    return StepReference(
        y0=CountState(n=jnp.array([1.0, 1.0, 0.0]), phi=jnp.zeros(P)),
        values=lambda y: _refused(y.n, y.n[:1] / jnp.sum(y.n)),
        t=0.32,
        dts=_LEAP_DTS,
        replicates=2**14,
        params=MatrixParams(H=_LEAP_H),
    )


def _members_step():
    return StepReference(
        y0=MemberState(a=jnp.array([0, 1], jnp.int32), phi=jnp.zeros(2)),
        values=lambda y: _refused(y.a, jnp.mean(y.a == 0, keepdims=True, dtype=jnp.float64)),
        t=0.32,
        dts=_LEAP_DTS,
        replicates=2**14,
        params=MatrixParams(H=_LEAP_H),
    )


def _counts_tau():
    return LawCase(
        CopyCountsTauLeap(P),
        _counts0(),
        MatrixParams(H=_H()),
        dt=0.02,
        order=1,
        skip={"grads": INTEGER_COUNTS},
        step=_counts_step,
    )


def _members_tau():
    y0 = MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 20), phi=jnp.zeros(3 * 20))
    return LawCase(
        CopyMembersTauLeap(P),
        y0,
        MatrixParams(H=_H()),
        dt=0.02,
        order=1,
        skip={"grads": INTEGER_COUNTS},
        step=_members_step,
    )


def _gillespie_counts():
    return LawCase(
        CopyGillespie(P),
        gillespie_state(_counts0()),
        MatrixParams(H=_H()),
        dt=0.1,
        order=None,
        skip={"grads": INTEGER_COUNTS},
    )


def _gillespie_members():
    y0 = MemberState(a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), 10), phi=jnp.zeros(30))
    return LawCase(
        CopyGillespie(P),
        gillespie_state(y0, P),
        MatrixParams(H=_H()),
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


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
BAD = {
    "copy-meanfield": BadInputs(
        bad.rho(bad.times(2)),
        "rho summing to 2",
        ("rho", "y0"),
        bad.at(lambda p: p.R, lambda R: R.at[0, 1].add(0.3)),
        "R not symmetric",
        ("R",),
    ),
    "copy-alignment": BadInputs(
        bad.at(lambda y: y.phi, bad.nan_first),
        "NaN phase",
        ("phi", "y0"),
        *bad.NON_HERMITIAN_H,
    ),
    "copy-counts-tau-leap": BadInputs(
        bad.at(lambda y: y.n, lambda n: n + 0.5),
        "non-integer counts",
        ("n", "y0"),
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
    "copy-members-tau-leap": BadInputs(
        *bad.MEMBER_CLASS_7,
        bad.hbar(-1.0),
        "hbar = -1",
        ("hbar",),
        no_grad=True,
    ),
    "copy-gillespie-counts": BadInputs(
        bad.at(lambda y: y.n, lambda n: n.at[0].set(-5.0)),
        "negative count",
        ("n", "y0"),
        bad.matrix_H(bad.nan_first),
        "NaN in H",
        ("H",),
        no_grad=True,
    ),
    "copy-gillespie-members": BadInputs(
        *bad.MEMBER_CLASS_7,
        *bad.NON_HERMITIAN_H,
        no_grad=True,
    ),
    "schrodinger-ring": BadInputs(
        bad.whole(bad.times(2)),
        "psi0 doubled",
        bad.PSI,
        bad.at(lambda p: p.potential, bad.nan_first),
        "NaN on-site potential",
        ("potential",),
    ),
    "schrodinger-ring-free": BadInputs(
        bad.whole(bad.nan_first), "NaN in psi0", bad.PSI, bad.hbar(-0.8), "hbar = -0.8", ("hbar",)
    ),
}
