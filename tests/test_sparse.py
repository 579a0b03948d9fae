"""Sparse and banded Hamiltonians (issue 16, item 4): diagonal storage and
BCOO, the automatic choice by density, and Chebyshev propagation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.experimental import sparse as jsparse

import jqd
from jqd import _sparse


def _full_dimer(cutoff, J=1.0, U=0.1):
    """Two-mode Bose-Hubbard H on the full Fock space (cutoff per mode): offsets
    0 and ±(cutoff − 1)."""
    a = np.asarray(jqd.fock.destroy((cutoff, cutoff), 0))
    b = np.asarray(jqd.fock.destroy((cutoff, cutoff), 1))
    na, nb, eye = a.T @ a, b.T @ b, np.eye(cutoff**2)
    return -J * (a.T @ b + b.T @ a) + 0.5 * U * (na @ (na - eye) + nb @ (nb - eye))


def test_diagonal_storage_is_the_matrix():
    rng = np.random.default_rng(0)
    H = np.triu(rng.normal(size=(9, 9)), -2) * (np.abs(np.subtract.outer(range(9), range(9))) != 1)
    D = _sparse.DiaMatrix.from_dense(jnp.asarray(H))
    assert D.offsets == (-2, 0, 2, 3, 4, 5, 6, 7, 8)
    y = rng.normal(size=9) + 1j * rng.normal(size=9)

    @jax.jit  # one program for every operation checked
    def ops(D, y):
        sym = D + D.adjoint()
        return (
            D.todense(),
            D @ y,
            D.apply_rows(jnp.stack([y, 2 * y])),
            D.adjoint().todense(),
            (2.0 * D - D.adjoint()).todense(),
            _sparse.hermitian_residual(sym)[0],
            _sparse.hermitian_residual(D)[0],
        )

    dense, hy, rows, adj, combo, dev_sym, dev = ops(D, y)
    np.testing.assert_array_equal(dense, H)
    np.testing.assert_allclose(hy, H @ y, atol=1e-14)
    np.testing.assert_allclose(rows, np.stack([H @ y, 2 * H @ y]), atol=1e-13)
    np.testing.assert_array_equal(adj, H.T)
    np.testing.assert_allclose(combo, 2 * H - H.T, atol=1e-15)
    assert float(dev_sym) == 0.0 and float(dev) > 0.1


def test_storage_chosen_by_density():
    n = np.arange(200.0)
    assert _sparse.structure(np.diag(n))[0] == "diagonal"
    assert _sparse.structure(np.asarray(jqd.fock.tight_binding(200)) + np.diag(n))[0] == "dia"
    rng = np.random.default_rng(1)
    scattered = np.diag(n) + (rng.random((200, 200)) < 0.01)
    assert _sparse.structure(scattered + scattered.T)[0] == "bcoo"
    assert _sparse.structure(rng.normal(size=(200, 200)))[0] == "dense"
    assert _sparse.structure(np.asarray(jqd.fock.tight_binding(50)))[0] == "dense"  # small: dense
    assert isinstance(_sparse.as_operator(scattered + scattered.T), jsparse.BCOO)


@pytest.mark.parametrize("kind", ["dia", pytest.param("bcoo", marks=pytest.mark.slow)])
def test_chebyshev_step_equals_expm(kind):
    H = _full_dimer(6)
    Hc = H + 1j * 0.1 * (np.eye(36, k=6) - np.eye(36, k=-6))  # complex: the complex path
    y = np.zeros(36, complex)
    y[6 * 5] = 1.0  # |5, 0⟩
    make = _sparse.DiaMatrix.from_dense if kind == "dia" else jsparse.BCOO.fromdense
    ops = [make(jnp.asarray(M)) for M in (H, Hc)]
    Ks = []
    for M in (H, Hc):
        lo, hi = _sparse.gershgorin_numpy(M)
        Ks.append(_sparse.chebyshev_order(0.5 * (hi - lo) * 0.7))
    step = jax.jit(lambda ops, y: [_sparse.chebyshev_step(op, y, 0.7, K) for op, K in zip(ops, Ks)])
    for out, M in zip(step(ops, jnp.asarray(y)), (H, Hc)):
        np.testing.assert_allclose(out, scipy.linalg.expm(-0.7j * M) @ y, atol=1e-13)


@pytest.mark.slow
def test_plain_evolve_picks_banded_chebyshev_and_matches_the_sector():
    c = 12  # d = 144: above the dense threshold
    H = jnp.asarray(_full_dimer(c))
    psi = jqd.fock.fock_state((c, c), (c - 1, 0))
    law = jqd.SchrodingerBasis()
    run_law, run_params = law.specialize(jqd.MatrixParams(H), 0.1, 30)
    assert isinstance(run_params.H, _sparse.DiaMatrix) and run_law.terms >= 4
    sol = jqd.evolve(law, psi, jqd.MatrixParams(H), dt=0.1, n_save=30)
    bh = jqd.fock.BoseHubbard(2, c - 1)
    exact = jqd.reference.propagate(bh.hamiltonian(1.0, 0.1), bh.state((c - 1, 0)), sol.ts)
    idx = [k * c + (c - 1 - k) for k in bh.basis[:, 0]]
    np.testing.assert_allclose(sol.observables[:, idx], exact, atol=1e-12)
    assert float(jnp.max(jnp.abs(jnp.delete(sol.observables, np.array(idx), axis=1)))) < 1e-14
    # under a user's jax.jit H is traced and its structure unknown: `specialize` on the
    # concrete params outside it (docs/internals/basis.md#structure) gives the jitted
    # call the same banded form and bits; a traced H that outgrows the static
    # Chebyshev order is refused in-graph
    users = jax.jit(lambda p, y: jqd.evolve(run_law, y, p, dt=0.1, n_save=30).y_final)
    np.testing.assert_array_equal(users(run_params, psi), sol.y_final)
    wider = jqd.MatrixParams(_sparse.DiaMatrix(run_params.H.offsets, 4 * run_params.H.data))
    with pytest.raises(Exception, match=r"Chebyshev\(terms=.*\) is too low"):
        jax.block_until_ready(users(wider, psi))


def _transfer_problem():
    c = 5
    H0 = jnp.asarray(_full_dimer(c, U=0.0))
    K1 = jnp.asarray(_full_dimer(c, J=0.0, U=2.0))  # the interaction alone
    D0, D1 = _sparse.DiaMatrix.from_dense(H0), _sparse.DiaMatrix.from_dense(K1)
    psi = jqd.fock.fock_state((c, c), (c - 1, 0))
    target = jqd.fock.fock_state((c, c), (0, c - 1))

    def transfer(U, sparse):
        H = D0 + (0.5 * U) * D1 if sparse else H0 + 0.5 * U * K1
        law = jqd.SchrodingerBasis(propagator=jqd.schemes.Chebyshev(24) if sparse else None)
        y = jqd.evolve(law, psi, jqd.MatrixParams(H), dt=0.25, n_save=8).y_final
        return jnp.abs(jnp.vdot(target, y)) ** 2

    return transfer, psi, D0


@pytest.mark.slow
def test_sparse_h_under_jit():
    transfer, psi, D0 = _transfer_problem()
    a = jax.jit(lambda U: transfer(U, True))(0.3)
    np.testing.assert_allclose(a, transfer(0.3, False), atol=1e-13)
    with pytest.raises(ValueError, match=r"Chebyshev\(terms=3\) is too low"):
        law = jqd.SchrodingerBasis(propagator=jqd.schemes.Chebyshev(3))
        jqd.evolve(law, psi, jqd.MatrixParams(D0), dt=0.25, n_save=2)


@pytest.mark.slow
def test_sparse_h_under_vmap_and_grad():
    transfer, _, _ = _transfer_problem()
    g_sparse = jax.jit(jax.grad(lambda U: transfer(U, True)))(0.3)
    g_dense = jax.grad(lambda U: transfer(U, False))(0.3)
    np.testing.assert_allclose(g_sparse, g_dense, rtol=1e-9)
    Us = jnp.array([0.1, 0.3])
    sparse = jax.vmap(lambda U: transfer(U, True))(Us)
    np.testing.assert_allclose(sparse, jax.vmap(lambda U: transfer(U, False))(Us), atol=1e-12)
