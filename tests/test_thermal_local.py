"""Local quantum Hamiltonians, sectors and ensembles (physics §7.6, §7.7).

The law contract (jit == eager, vmap == loop, float32, grads) runs from
tests/cases_thermal_local.py; here: physics against independent references.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd.thermal import (
    LocalParams,
    LocalTerm,
    beta_canonical,
    beta_microcanonical,
    boson_number,
    canonical_average,
    canonical_energy,
    diagonal_ensemble,
    effective_dimension,
    eth_diagonal_fluctuation,
    eth_diagonal_variance,
    eth_offdiagonal_variance,
    gap_ratio,
    local_operator,
    microcanonical_average,
    mixed_field_ising,
    random_field_heisenberg,
    reflection_sector,
    spin_boson,
    sz_sector,
    temporal_variance,
)

X = np.array([[0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0, -1j], [1j, 0.0]])
Z = np.diag([1.0, -1.0])


def _op_at(ops: dict, dims):
    """Kronecker product with `ops[site]` at its site and identities elsewhere."""
    out = np.ones((1, 1))
    for s, d in enumerate(dims):
        out = np.kron(out, ops.get(s, np.eye(d)))
    return out


def _random_state(D, seed=0):
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=D) + 1j * rng.normal(size=D)
    return jnp.asarray(psi / np.linalg.norm(psi))


def _mfi_numpy(L, J, hx, hz, periodic=False):
    dims = (2,) * L
    bonds = [(i, i + 1) for i in range(L - 1)] + ([(L - 1, 0)] if periodic else [])
    H = sum(J * _op_at({i: Z, j: Z}, dims) for i, j in bonds)
    H = H + sum(hx * _op_at({i: X}, dims) + hz * _op_at({i: Z}, dims) for i in range(L))
    return H


# -- dense() against an independent Kronecker-product construction -------------------


def test_dense_mixed_field_ising_matches_kron():
    for boundary in ("open", "periodic"):
        law, params = mixed_field_ising(5, boundary=boundary)
        H = np.asarray(law.dense(params))
        ref = _mfi_numpy(5, 1.0, 0.9045084971874737, 0.8090169943749475, boundary == "periodic")
        np.testing.assert_allclose(H, ref, atol=1e-13)
        np.testing.assert_allclose(H, H.conj().T, atol=0)


def test_dense_heisenberg_and_spin_boson_match_kron():
    L = 5
    law, params = random_field_heisenberg(L, W=2.0, key=jax.random.key(3))
    h = np.array([float(params.couplings[f"h{i}"]) for i in range(L)])
    assert np.all(np.abs(h) <= 2.0)
    dims = (2,) * L
    ref = sum(
        _op_at({i: P, (i + 1) % L: P}, dims).real / 4 for i in range(L) for P in (X, Y, Z)
    ) + sum(h[i] / 2 * _op_at({i: Z}, dims) for i in range(L))
    np.testing.assert_allclose(np.asarray(law.dense(params)), ref, atol=1e-13)

    L, nb = 3, 4
    law, params = spin_boson(L, n_max=nb - 1, omega=1.5, g=0.5)
    dims = (2,) * L + (nb,)
    a = np.diag(np.sqrt(np.arange(1.0, nb)), 1)
    ref = np.kron(_mfi_numpy(L, 1.0, 0.9045084971874737, 0.8090169943749475), np.eye(nb))
    ref = ref + 1.5 * _op_at({L: a.T @ a}, dims)
    ref = ref + sum(0.5 / np.sqrt(L) * _op_at({i: X, L: a + a.T}, dims) for i in range(L))
    np.testing.assert_allclose(np.asarray(law.dense(params)), ref, atol=1e-13)
    np.testing.assert_allclose(law.sparse(params).toarray(), ref, atol=1e-13)
    n_op = local_operator(dims, (L,), a.T @ a)
    np.testing.assert_allclose(n_op, _op_at({L: a.T @ a}, dims), atol=0)
    np.testing.assert_allclose(
        local_operator(dims, (2, 0), np.kron(X, Z)), _op_at({2: X, 0: Z}, dims)
    )


# -- step against exact propagation ---------------------------------------------------


def _compare_with_propagate(L, dt, n_steps, tol, psi0=None):
    law, params = mixed_field_ising(L)
    psi0 = _random_state(law.size) if psi0 is None else psi0
    sol = jqd.evolve(law, psi0, params, dt=dt, n_save=n_steps)
    ref = jqd.reference.propagate(law.dense(params), psi0, sol.ts)
    err = float(np.max(np.abs(np.asarray(sol.observables) - np.asarray(ref))))
    assert err < tol, err
    return law, params, sol


def test_step_matches_exact_propagation_and_conserves():
    # 1e-12: 4 steps at ~1e-15 truncation each plus eigh round-off (D = 64)
    _compare_with_propagate(6, 0.7, 4, 1e-12)
    # a product state over a longer time (dt = 1.8: aτ = 27.5, most of the 64 terms)
    psi0 = jnp.zeros(64, complex).at[5].set(1.0)
    law, params, sol = _compare_with_propagate(6, 1.8, 4, 1e-12, psi0)
    states = np.asarray(sol.observables)
    H = np.asarray(law.dense(params))
    norm = np.sum(np.abs(states) ** 2, axis=1)
    E = np.real(np.einsum("ti,ij,tj->t", states.conj(), H, states))
    assert np.max(np.abs(norm - 1)) < 1e-12
    assert np.max(np.abs(E - E[0])) < 1e-11
    # H is real: conj ∘ U(t) ∘ conj = U(−t), so evolving the conjugate undoes the run
    back = jqd.evolve(law, jnp.conj(sol.y_final), params, dt=1.8, n_save=4)
    np.testing.assert_allclose(np.asarray(jnp.conj(back.y_final)), np.asarray(psi0), atol=1e-12)
    np.testing.assert_allclose(float(law.energy(0.0, sol.y_final, params)), E[0], atol=1e-11)


@pytest.mark.slow
def test_step_matches_exact_propagation_L12():
    # the must-hold: L = 12 (D = 4096), 10 steps of dt = 0.5, to 1e-10
    _compare_with_propagate(12, 0.5, 10, 1e-10)


@pytest.mark.slow
def test_negative_dt_inverts_the_step_and_user_bounds_agree():
    law, params = mixed_field_ising(6)
    psi0 = _random_state(law.size, 1)
    step = eqx.filter_jit(law.step)
    fwd = step(0.0, psi0, params, 0.9)
    np.testing.assert_allclose(np.asarray(step(0.0, fwd, params, -0.9)), psi0, atol=1e-13)
    E = np.linalg.eigvalsh(np.asarray(law.dense(params)))
    tight, _ = mixed_field_ising(6, bounds=(E[0] - 1e-6, E[-1] + 1e-6))
    a = jqd.evolve(law, psi0, params, dt=0.5, n_save=3).y_final
    b = jqd.evolve(tight, psi0, params, dt=0.5, n_save=3).y_final
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-13)


# -- sectors -------------------------------------------------------------------------


def test_reflection_sectors_commute_and_rebuild_the_spectrum():
    law, params = mixed_field_ising(8)
    H = np.asarray(law.dense(params))
    Pp, Pm = reflection_sector(law.dims, +1), reflection_sector(law.dims, -1)
    assert Pp.shape == (256, 136) and Pm.shape == (256, 120)
    P = np.hstack([Pp, Pm])
    np.testing.assert_allclose(P.T @ P, np.eye(256), atol=1e-14)  # complete, orthonormal
    for Q in (Pp, Pm):  # H maps each sector into itself
        np.testing.assert_allclose(H @ Q, Q @ (Q.T @ H @ Q), atol=1e-12)
    E = np.linalg.eigvalsh(H)
    Es = np.sort(np.r_[np.linalg.eigvalsh(Pp.T @ H @ Pp), np.linalg.eigvalsh(Pm.T @ H @ Pm)])
    np.testing.assert_allclose(Es, E, atol=1e-12)
    assert reflection_sector((2,) * 12).shape == (4096, 2080)


def test_sz_sectors_are_blocks_of_heisenberg():
    L = 8
    law, params = random_field_heisenberg(L, W=1.0, key=jax.random.key(0))
    H = np.asarray(law.dense(params))
    blocks = [sz_sector(L, s) for s in np.arange(-L / 2, L / 2 + 1)]
    assert [len(b) for b in blocks] == [1, 8, 28, 56, 70, 56, 28, 8, 1]
    assert np.array_equal(np.sort(np.concatenate(blocks)), np.arange(2**L))
    Es = np.sort(np.concatenate([np.linalg.eigvalsh(H[np.ix_(b, b)]) for b in blocks]))
    np.testing.assert_allclose(Es, np.linalg.eigvalsh(H), atol=1e-12)
    up = sz_sector(L, L / 2)
    assert up.tolist() == [0]  # |↑...↑⟩ is index 0


# -- spin-boson ----------------------------------------------------------------------


def test_spin_boson_warns_when_the_top_level_is_populated():
    law, params = spin_boson(3, n_max=4)
    chain = _random_state(8, 2).reshape(8, 1)
    low = (chain * jnp.zeros((1, 5)).at[0, 2].set(1.0)).reshape(-1)
    top = (chain * jnp.zeros((1, 5)).at[0, 4].set(1e-3)).reshape(-1) + low * np.sqrt(1 - 1e-6)
    np.testing.assert_allclose(np.asarray(boson_number(law, low)), 2.0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(law.truncation_weight(top)), [1e-6], rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", jqd.AccuracyWarning)
        law.check(low, params)  # nothing in the top level (n = 4)
    bad = (chain * jnp.zeros((1, 5)).at[0, 4].set(1.0)).reshape(-1)
    with pytest.warns(jqd.AccuracyWarning, match="top level"):
        law.check(bad, params)


@pytest.mark.slow
def test_spin_boson_uncoupled_mode_keeps_its_number():
    law, params = spin_boson(3, n_max=4, g=0.0)
    chain = _random_state(8, 2).reshape(8, 1)
    psi0 = (chain * jnp.zeros((1, 5)).at[0, 2].set(1.0)).reshape(-1)
    sol = jqd.evolve(law, psi0, params, dt=0.5, n_save=3, observe=lambda t, y, p: y)
    np.testing.assert_allclose(np.asarray(boson_number(law, sol.observables)), 2.0, atol=1e-12)


# -- bad input -----------------------------------------------------------------------


@pytest.mark.slow
def test_bad_input_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match="not Hermitian"):
        LocalTerm((0,), np.array([[0.0, 1.0], [0.0, 0.0]]), "h")
    law, params = mixed_field_ising(6)
    psi0 = _random_state(law.size)
    with pytest.raises(ValueError, match="max_terms"):
        jqd.evolve(law, psi0, params, dt=5.0, n_save=1)
    narrow, small = mixed_field_ising(3, bounds=(-1.0, 1.0))  # L = 3: a 1 s compile, not 5
    with pytest.raises(ValueError, match="bounds .* miss the spectrum"):
        jqd.evolve(narrow, _random_state(narrow.size), small, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="lacks"):
        jqd.evolve(law, psi0, LocalParams(couplings={"J": 1.0}), dt=0.1, n_save=1)
    vector = LocalParams(couplings={**params.couplings, "hx": np.array([0.9, 1.0])})
    with pytest.raises(ValueError, match=r"couplings\['hx'\] must be a scalar"):
        jqd.evolve(law, psi0, vector, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="shape"):
        jqd.evolve(law, psi0[:10], params, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="not symmetric under reflection"):
        reflection_sector((2, 2, 3))
    with pytest.raises(ValueError, match="sz"):
        sz_sector(4, 0.5)


@pytest.mark.slow
def test_bounds_guard_holds_under_jit():
    narrow, params = mixed_field_ising(6, bounds=(-1.0, 1.0))
    psi0 = _random_state(narrow.size)
    run = jax.jit(lambda p: jqd.evolve(narrow, psi0, p, dt=0.1, n_save=1).y_final)
    with pytest.raises(Exception, match="miss the spectrum"):
        jax.block_until_ready(run(params))


# -- ensembles -----------------------------------------------------------------------


def test_gap_ratio_poisson_and_refusals():
    rng = np.random.default_rng(0)
    E = np.sort(rng.uniform(0, 1, 40000))  # Poisson levels
    # ⟨r⟩ = 2 ln 2 − 1; the standard error of a mean of 4e4 correlated r's is ~2e-3
    assert abs(gap_ratio(E) - 0.38629) < 0.01
    with pytest.raises(ValueError, match="resolve sectors|Resolve sectors"):
        gap_ratio(np.repeat(E[:100], 2))
    with pytest.raises(ValueError, match="fewer than 5"):
        gap_ratio(E[:3])


@pytest.mark.slow
def test_gap_ratio_goe():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3000, 3000))
    E = np.linalg.eigvalsh((A + A.T) / 2)
    assert abs(gap_ratio(E, fraction=0.5) - 0.5307) < 0.01


def test_canonical_averages_of_a_two_level_system():
    E = np.array([-0.5, 0.5])
    O = np.array([1.0, -1.0])
    for beta in (0.0, 0.3, 2.0, 50.0, -1.0):
        assert abs(float(canonical_average(E, O, beta)) - np.tanh(beta / 2)) < 1e-14
    assert abs(float(canonical_average(E, O, 1e5)) - 1.0) < 1e-14  # no overflow


def test_beta_canonical_inverts_the_canonical_energy():
    rng = np.random.default_rng(2)
    E = np.sort(rng.normal(size=500))
    for beta in (-2.0, -0.1, 0.0, 0.4, 3.0):
        E0 = float(canonical_energy(E, beta))
        assert abs(beta_canonical(E, E0) - beta) < 1e-9
    with pytest.raises(ValueError, match="outside"):
        beta_canonical(E, E[-1] + 1.0)


def test_beta_microcanonical_of_an_exponential_density():
    # levels E_n = ln(n)/b have counting function N(E) = e^{bE}: d ln g/dE = b
    b = 0.7
    E = np.log(np.arange(1, 200001)) / b
    E0 = float(np.log(1e5) / b)
    assert abs(beta_microcanonical(E, E0, 0.05) / b - 1) < 0.01
    with pytest.raises(ValueError, match="outside the spectrum"):
        beta_microcanonical(E, -1.0, 0.05)
    with pytest.raises(ValueError, match="fewer than 5"):
        beta_microcanonical(E, E[1], 1e-6)


def test_window_averages_and_eth_statistics():
    rng = np.random.default_rng(3)
    D = 4000
    E = np.sort(rng.normal(size=D))
    sigma = 0.05
    O_diag = 0.1 * E + sigma * rng.normal(size=D)  # smooth part + independent noise
    win = (-0.5, 0.5)
    n_in = np.sum((E >= -0.5) & (E <= 0.5))
    # ⟨(ΔO)²⟩/2 = σ² (the smooth part's slope adds (0.1 ΔE)² ~ 1e-8); rel. error ~ √(2/n)
    assert abs(eth_diagonal_variance(E, O_diag, win) / sigma**2 - 1) < 4 * np.sqrt(2 / n_in)
    # ⟨|ΔO|⟩ = √2 σ √(2/π) = 2σ/√π
    assert abs(eth_diagonal_fluctuation(E, O_diag, win) / (2 * sigma / np.sqrt(np.pi)) - 1) < 0.05
    assert abs(microcanonical_average(E, O_diag, 0.0, 1.0)) < 3 * sigma / np.sqrt(n_in) + 0.01
    v = 0.02**2
    A = rng.normal(size=(D, D)) * np.sqrt(v)
    O_eig = (A + A.T) / np.sqrt(2)  # off-diagonal variance v
    assert abs(eth_offdiagonal_variance(E, O_eig, 0.0, 0.4) / v - 1) < 0.03
    with pytest.raises(ValueError, match="fewer than 5"):
        eth_diagonal_fluctuation(E, O_diag, (0.0, 1e-6))
    with pytest.raises(ValueError, match="outside the spectrum"):
        microcanonical_average(E, O_diag, 10.0, 1.0)


def test_diagonal_ensemble_effective_dimension_temporal_variance():
    # two levels, |ψ⟩ = (|0⟩ + |1⟩)/√2, O = σx in the eigenbasis: ⟨O(t)⟩ = cos(Δt)
    E = np.array([0.0, 1.3])
    c = np.array([1.0, 1.0]) / np.sqrt(2)
    O_eig = X
    assert float(diagonal_ensemble(np.abs(c) ** 2, np.diag(O_eig))) == 0.0
    assert float(effective_dimension(np.abs(c) ** 2)) == pytest.approx(2.0, abs=1e-14)
    t = np.linspace(0, 2 * np.pi / 1.3, 2001)[:-1]
    assert float(temporal_variance(E, c, O_eig)) == pytest.approx(np.var(np.cos(1.3 * t)), 1e-12)
    # for a random state, σ_t² ≤ Tr(ρ_D O ρ_D O) ≤ ‖O‖²/d_eff (Short 2011)
    rng = np.random.default_rng(4)
    E = np.sort(rng.normal(size=60))
    c = rng.normal(size=60) + 1j * rng.normal(size=60)
    c = c / np.linalg.norm(c)
    A = rng.normal(size=(60, 60))
    O = (A + A.T) / 2
    bound = np.max(np.abs(np.linalg.eigvalsh(O))) ** 2 / float(effective_dimension(np.abs(c) ** 2))
    assert float(temporal_variance(E, c, O)) <= bound


def test_gap_ratio_of_the_mixed_field_ising_sector():
    # physics, small: the even sector of L = 10 (D = 528) is already GOE-like
    law, params = mixed_field_ising(10)
    P = reflection_sector(law.dims)
    H = P.T @ np.asarray(law.dense(params)) @ P
    r = gap_ratio(np.linalg.eigvalsh(H), fraction=0.5)
    assert abs(r - 0.5307) < 0.04, r
