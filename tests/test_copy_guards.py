"""No silent wrong answers from the copy-dynamics family (issue 12).

Each test is one class of bad input found by an adversarial user: value
checks that vanished under tracing (ħ < 0 under vmap, counts, frequencies),
tau-leap probabilities above 1 rescaled silently, float32 counts above 2^24,
zero members, a mean-field RK4 step too large for the law's stiffness, an
event-driven run that would not end, and the fit/lattice helpers' scalars.
Each bad input raises eagerly (ValueError, with the value and the fix) and,
for guards, under jit/vmap (in-graph); valid runs are unaffected.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _guards
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
    MeanFieldState,
    MemberState,
    PhaseAlignment,
    StiffnessError,
    TauLeapError,
    copy_gillespie,
    fit_qr,
    gillespie_state,
    lattice_evolve_psi,
    lattice_gaussian,
    members_from_counts,
    ring_params,
    state_from_psi,
)

# Every class of bad input for this family; run with -m slow (the default run keeps
# the law-independent cases in tests/test_guards.py and the per-law eager contract).
pytestmark = pytest.mark.slow

P = 3
H = jqd.fock.random_hermitian(jax.random.key(5), P)
PSI0 = jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j]) / jnp.linalg.norm(
    jnp.array([0.6, 0.5 + 0.3j, 0.4 - 0.2j])
)
COUNTS = CountState(n=jnp.array([40.0, 30.0, 30.0]), phi=jnp.zeros(P))
TS = jnp.linspace(0.0, 0.4, 3)


def _mf(y0=None, params=None, dt=0.1, **kwargs):
    y0 = state_from_psi(PSI0) if y0 is None else y0
    params = MeanFieldParams.from_hamiltonian(H) if params is None else params
    return jqd.evolve(MeanField(), y0, params, dt=dt, n_save=1, **kwargs)


def _tau(y0=COUNTS, dt=0.02, law=None, params=None, **kwargs):
    law = CopyCountsTauLeap(P) if law is None else law
    params = MatrixParams(H=H) if params is None else params
    kwargs.setdefault("n_save", 1)
    return jqd.evolve(law, y0, params, dt=dt, key=jax.random.key(0), **kwargs)


# -- ħ and the state's values under tracing -----------------------------------------


@pytest.mark.parametrize("law", ["meanfield", "tau-leap", "alignment"])
def test_negative_hbar_refused_inside_vmap(law):
    """ħ = [1, −1] under vmap: the negative member used to run (backwards)."""
    if law == "meanfield":
        p = MeanFieldParams.from_hamiltonian(H)
        run = lambda hb: _mf(params=MeanFieldParams(p.R, p.delta, p.omega, hbar=hb)).y_final.rho
    elif law == "tau-leap":
        run = lambda hb: _tau(params=MatrixParams(H=H, hbar=hb)).y_final.n
    else:
        beables = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 2)
        run = lambda hb: (
            jqd.evolve(
                PhaseAlignment(beables=beables, n_states=P),
                AlignmentState(jnp.zeros(6), jnp.zeros(6)),
                AlignmentParams(H=H, hbar=hb),
                dt=0.05,
                n_save=1,
            ).y_final.phi
        )
    with pytest.raises(ValueError, match="params.hbar must be positive; got -1"):
        run(-1.0)
    with pytest.raises(RuntimeError, match="params.hbar must be positive"):
        jax.block_until_ready(jax.vmap(run)(jnp.array([1.0, -1.0])))


def test_meanfield_frequencies_checked_in_graph():
    y0 = state_from_psi(PSI0)
    doubled = MeanFieldState(2 * y0.rho, y0.phi)
    with pytest.raises(ValueError, match=r"y0.rho must sum to 1 .* sum − 1 = 1"):
        _mf(doubled)
    with pytest.raises(RuntimeError, match="y0.rho must sum to 1"):
        jax.block_until_ready(jax.jit(lambda y: _mf(y).y_final.rho)(doubled))
    node = MeanFieldState(jnp.array([0.5, 0.5, 0.0]), y0.phi)
    with pytest.raises(ValueError, match="has zeros .* singular"):
        _mf(node)
    p = MeanFieldParams.from_hamiltonian(H)
    with pytest.raises(ValueError, match="params.R must be symmetric and >= 0"):
        _mf(params=MeanFieldParams(p.R.at[0, 1].set(-1.0), p.delta, p.omega))


def test_meanfield_stiffness_bound_names_the_largest_safe_dt():
    """ρ_1 = 1e-4 makes the (ρ, φ) law stiff (its phase turns at R√(ρ_0/ρ_1)):
    RK4 at dt = 0.03 was accepted and off by 0.019 in ρ at t = 1; now refused
    with the largest safe dt 0.025, eagerly and under jit."""
    Hs = jnp.array([[0.0, 1.0], [1.0, 0.0]], complex)
    y0 = state_from_psi(jnp.array([jnp.sqrt(1 - 1e-4), 1e-2 + 0j]))
    params = MeanFieldParams.from_hamiltonian(Hs)
    run = lambda dt: _mf(y0, params, dt=dt).y_final.rho
    with pytest.raises(ValueError, match=r"Λ = 99\.99 .* Use dt <= 0\.025"):
        run(0.03)
    with pytest.raises(RuntimeError, match="too large for the mean-field copy law"):
        jax.block_until_ready(jax.jit(run)(0.03))
    _guards.enforce(MeanField().checks(y0, params, 0.02))  # below the bound: accepted
    # without the t0 guard the monitor stops the run, with the class and the safe dt
    with pytest.raises(StiffnessError, match="too stiff") as err:
        _mf(y0, params, dt=0.03, check=False)
    assert err.value.where == pytest.approx((1.0, 0.025), rel=1e-3)


# -- tau-leaping --------------------------------------------------------------------


def _overflowing():
    """Class 0 holds one member that copies into class 1 at the full rate."""
    Hc = jnp.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], complex)
    y = CountState(n=jnp.array([1.0, 1000.0, 1000.0]), phi=jnp.array([0.0, np.pi / 2, -np.pi / 2]))
    return y, MatrixParams(H=Hc)


def test_tau_leap_probability_above_one_refused_with_safe_dt():
    """Σ_a p_ba = 3.16 at dt = 0.05 was rescaled to 1 under jit, silently."""
    y, params = _overflowing()
    with pytest.raises(ValueError, match=r"probability 3\.16 > 1 .* Use dt <= 0\.00279"):
        _tau(y, dt=0.05, params=params)
    with pytest.raises(RuntimeError, match="move probability"):
        jax.block_until_ready(jax.jit(lambda y: _tau(y, dt=0.05, params=params).y_final.n)(y))
    members = members_from_counts(y)
    with pytest.raises(ValueError, match=r"Use dt <= 0\.00279"):
        _tau(members, dt=0.05, law=CopyMembersTauLeap(P), params=params)


def test_tau_leap_overflow_during_a_run_is_a_breakdown():
    """A step whose probabilities exceed 1 is not taken: the monitor stops the
    run at that save, naming the class and the largest safe dt."""
    y, params = _overflowing()
    with pytest.raises(TauLeapError, match="probabilities exceeded 1") as err:
        _tau(y, dt=0.05, params=params, n_save=3, check=False)
    assert err.value.time == pytest.approx(0.05)
    assert err.value.where == pytest.approx((0.0, 0.0158), abs=1e-4)


def test_tau_leap_overflow_flagged_under_jit_at_member_level():
    y, params = _overflowing()
    law = CopyMembersTauLeap(P)
    flag = lambda y: _tau(y, 0.05, law, params, n_save=3, check=False, on_breakdown="flag").stats
    stats = jax.jit(flag)(members_from_counts(y))
    assert int(stats["breakdown_code"]) == 2 and int(stats["breakdown_index"]) == 1
    assert np.asarray(stats["breakdown_where"]) == pytest.approx((0.0, 0.0158), abs=1e-4)


def test_counts_checked_in_graph():
    with pytest.raises(ValueError, match=r"y0.n must hold nonnegative integers .*got 1\.5"):
        _tau(CountState(n=jnp.array([1.5, 1.0, 1.0]), phi=jnp.zeros(P)))
    with pytest.raises(RuntimeError, match="nonnegative integers"):
        jax.block_until_ready(
            jax.jit(lambda n: _tau(CountState(n=n, phi=jnp.zeros(P))).y_final.n)(
                jnp.array([-1.0, 3.0, 3.0])
            )
        )


def test_zero_members_refused():
    """N = 0 gave NaN frequencies n/N."""
    empty = CountState(n=jnp.zeros(P), phi=jnp.zeros(P))
    with pytest.raises(ValueError, match=r"y0.n has no members \(N = Σn = 0\)"):
        _tau(empty)
    with pytest.raises(ValueError, match="no members"):
        copy_gillespie(empty, MatrixParams(H=H), TS, jax.random.key(0))
    no_members = MemberState(a=jnp.zeros(0, jnp.int32), phi=jnp.zeros(0))
    with pytest.raises(ValueError, match="y0.a has no members"):
        _tau(no_members, law=CopyMembersTauLeap(P))


def test_float32_counts_above_2_24_refused():
    """float32 counts of N = 2^25 + 3 cannot step by one member."""
    n32 = CountState(
        n=jnp.array([2.0**24, 2.0**24, 3.0], jnp.float32), phi=jnp.zeros(P, jnp.float32)
    )
    p32 = MatrixParams(H=H.astype(jnp.complex64), hbar=jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"N = 3\.355e\+07 members, more than float32 counts"):
        _tau(n32, dt=1e-4, params=p32)
    big = jax.ShapeDtypeStruct((2**24 + 1,), jnp.int32)
    phi = jax.ShapeDtypeStruct((2**24 + 1,), jnp.float32)
    with pytest.raises(ValueError, match="float32 phases count class occupations exactly"):
        jax.eval_shape(
            lambda a, f: _tau(MemberState(a, f), 1e-4, CopyMembersTauLeap(P), p32).y_final, big, phi
        )


def test_member_beables_checked_in_graph():
    bad = MemberState(a=jnp.array([0, 1, 3], jnp.int32), phi=jnp.zeros(3))
    with pytest.raises(ValueError, match=r"y0.a must lie in \[0, 3\); got 3"):
        _tau(bad, law=CopyMembersTauLeap(P))
    with pytest.raises(RuntimeError, match=r"y0.a must lie in \[0, 3\)"):
        jax.block_until_ready(jax.jit(lambda y: _tau(y, law=CopyMembersTauLeap(P)).y_final.a)(bad))


# -- the event-driven process -----------------------------------------------------------


def test_gillespie_run_that_would_not_end_is_refused_with_the_estimate():
    """N = 1e9 ran for ~10 minutes (Ctrl-C ignored); now refused at once with
    the expected number of candidates and the opt-in."""
    huge = CountState(n=jnp.array([4e8, 3e8, 3e8]), phi=jnp.zeros(P))
    with pytest.raises(ValueError, match=r"~2\.\d+e\+08 thinning candidates .* max_events="):
        copy_gillespie(huge, MatrixParams(H=H), TS, jax.random.key(0))
    # an explicit budget opts in; a small one refuses a small run
    with pytest.raises(ValueError, match="max_events = 5"):
        copy_gillespie(COUNTS, MatrixParams(H=H), TS, jax.random.key(0), max_events=5)
    small = copy_gillespie(COUNTS, MatrixParams(H=H), TS, jax.random.key(0), max_events=None)
    assert float(small.observables.n[-1].sum()) == 100.0


def test_gillespie_budget_checked_under_jit():
    run = jax.jit(
        lambda n: (
            copy_gillespie(
                CountState(n, jnp.zeros(P)), MatrixParams(H=H), TS, jax.random.key(0)
            ).y_final.n
        )
    )
    with pytest.raises(RuntimeError, match="max_events"):
        jax.block_until_ready(run(jnp.array([4e8, 3e8, 3e8])))


@pytest.mark.parametrize(
    "n, dt, law_kwargs, match",
    [
        ([4e11, 3e11, 3e11], 0.2, {}, "thinning candidates"),
        ([40.0, 30.0, 30.0], 1e9, {}, "thinning candidates"),
        ([40.0, 30.0, 30.0], 0.2, {"max_substep": 1e-12}, "phase substeps per step"),
    ],
    ids=["N-1e12", "dt-1e9", "max_substep-1e-12"],
)
def test_gillespie_step_that_would_not_end_is_refused(n, dt, law_kwargs, match):
    """Through plain jqd.evolve these hung (no result after 30 s, Ctrl-C ignored)."""
    law = CopyGillespie(P, **law_kwargs)
    y0 = gillespie_state(CountState(n=jnp.array(n), phi=jnp.zeros(P)))
    with pytest.raises(ValueError, match=match + ".*max_events_per_step"):
        jqd.evolve(law, y0, MatrixParams(H=H), dt=dt, n_save=1, key=jax.random.key(0))


def test_alignment_step_too_large_for_rk4_refused():
    """dt = 2 (f = 2, 4 members a class): the energy grew 6.3 -> 1720 in 4 steps."""
    beables = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 4)
    law = PhaseAlignment(beables=beables, n_states=P)
    y0 = AlignmentState(0.3 * jnp.sin(jnp.arange(12.0)), jnp.zeros(12))
    params = AlignmentParams(H=H, f=jnp.asarray(2.0))
    with pytest.raises(ValueError, match=r"too large for RK4 .* use dt <= 0\.\d+"):
        jqd.evolve(law, y0, params, dt=2.0, n_save=1)
    jqd.evolve(law, y0, params, dt=0.05, n_save=1)


def test_gillespie_step_cap_is_a_breakdown_not_a_frozen_state():
    law = CopyGillespie(P, max_steps=5)
    run = lambda **kw: jqd.evolve(
        law,
        gillespie_state(COUNTS),
        MatrixParams(H=H),
        dt=0.2,
        n_save=2,
        key=jax.random.key(0),
        **kw,
    )
    with pytest.raises(jqd.copy.StepCapError, match="max_steps"):
        run()
    flagged = run(on_breakdown="flag")
    assert int(flagged.stats["breakdown_code"]) == 2 and int(flagged.stats["breakdown_index"]) == 1


# -- alignment, lattice, fit ----------------------------------------------------------


def test_alignment_hamiltonian_checked_in_graph():
    beables = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 2)
    law = PhaseAlignment(beables=beables, n_states=P)
    y0 = AlignmentState(jnp.zeros(6), jnp.zeros(6))
    run = lambda Hm: jqd.evolve(law, y0, AlignmentParams(H=Hm), dt=0.05, n_save=1).y_final.phi
    bad = H.at[0, 1].set(5.0)
    with pytest.raises(ValueError, match="params.H is not Hermitian"):
        run(bad)
    with pytest.raises(RuntimeError, match="params.H is not Hermitian"):
        jax.block_until_ready(jax.jit(run)(bad))
    with pytest.raises(ValueError, match=r"beables must lie in \[0, 3\)"):
        jqd.evolve(
            PhaseAlignment(beables=beables.at[0].set(7), n_states=P),
            y0,
            AlignmentParams(H=H),
            dt=0.05,
            n_save=1,
        )


def test_lattice_and_fit_scalars_named():
    with pytest.raises(ValueError, match="hbar must be positive; got -1"):
        ring_params(16, 0.5, hbar=-1.0)
    with pytest.raises(ValueError, match="a must be positive"):
        lattice_gaussian(16, 0.5, a=0.0)
    with pytest.raises(ValueError, match="dt must be positive"):
        lattice_evolve_psi(lattice_gaussian(16, 0.5), 0.5, jnp.array([0.0, 0.1]), dt=0.0)
    with pytest.raises(ValueError, match="psi0 has a zero component"):
        fit_qr(H, jnp.array([1.0, 0.0, 0.0]) + 0j, jnp.linspace(0, 0.5, 3), dt=0.025)


def test_valid_copy_runs_unaffected():
    tau = _tau(n_save=2)
    assert int(tau.stats["breakdown_code"]) == 0
    np.testing.assert_array_equal(np.asarray(tau.observables.n).sum(-1), 100.0)
    mf = _mf()
    assert int(mf.stats["breakdown_code"]) == 0
    assert float(mf.y_final.rho.sum()) == pytest.approx(1.0, abs=1e-12)
