"""The product beable space A ⊗ B of copy dynamics (physics §5.10): the helpers
that build H = H_A ⊗ 1 + 1 ⊗ H_B and read joint and marginal occupations back.
The dynamics on it are the class-space laws' own (their contract cases)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jqd.copy import (
    CopyCountsTauLeap,
    CountState,
    MatrixParams,
    joint_counts,
    marginal_counts,
    product_hamiltonian,
)

SX = np.array([[0.0, 1.0], [1.0, 0.0]])
SZ = np.diag([1.0, -1.0])
H_A, H_B = (
    0.6 * SX + 0.8 * SZ,
    np.diag([0.3, -0.1, 0.5]) + 0.2 * np.eye(3, k=1) + 0.2 * np.eye(3, k=-1),
)


def test_product_hamiltonian_is_the_kronecker_sum():
    H = product_hamiltonian(H_A, H_B)
    assert isinstance(H, np.ndarray)  # host inputs: no program compiled
    np.testing.assert_array_equal(H, np.kron(H_A, np.eye(3)) + np.kron(np.eye(2), H_B))
    # classes a = i·P_B + j: (0, 1) ↔ (1, 1) through H_A, (1, 0) ↔ (1, 2) never (H_B's 0-2 is 0)
    assert H[1, 4] == H_A[0, 1] and H[3, 5] == H_B[0, 2] == 0
    coupling = 0.1 * np.kron(SX, np.eye(3))
    np.testing.assert_array_equal(product_hamiltonian(H_A, H_B, coupling), H + coupling)
    assert isinstance(product_hamiltonian(jnp.asarray(H_A), H_B), jax.Array)


def test_product_hamiltonian_refuses_bad_shapes():
    with pytest.raises(ValueError, match="H_B must be a square matrix"):
        product_hamiltonian(H_A, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"coupling must have shape \(6, 6\)"):
        product_hamiltonian(H_A, H_B, np.eye(4))


def test_marginals_of_the_joint_counts():
    n = np.arange(12.0).reshape(2, 6)  # two states of P_A·P_B = 2·3 classes
    nA, nB = marginal_counts(n, 2, 3)
    np.testing.assert_array_equal(joint_counts(n, 2, 3)[1, 1, 2], n[1, 5])
    np.testing.assert_array_equal(nA, n.reshape(2, 2, 3).sum(-1))
    np.testing.assert_array_equal(nB, n.reshape(2, 2, 3).sum(-2))
    jitted = jax.jit(marginal_counts, static_argnums=(1, 2))(jnp.asarray(n), 2, 3)
    np.testing.assert_array_equal(np.asarray(jitted[1]), nB)
    with pytest.raises(ValueError, match="P_A·P_B = 6 classes"):
        marginal_counts(np.ones(5), 2, 3)


def test_count_process_on_the_product_space_keeps_every_member():
    """The class-space law runs on the product space unchanged: members are
    conserved and the marginals sum to N."""
    H = product_hamiltonian(H_A, H_B)
    y0 = CountState(n=jnp.full(6, 50.0), phi=jnp.linspace(0.0, 1.0, 6))
    law, params = CopyCountsTauLeap(6), MatrixParams(H=jnp.asarray(H, jnp.complex128))
    import jqd

    sol = jqd.evolve(law, y0, params, dt=0.01, n_save=2, steps_per_save=5, key=jax.random.key(0))
    nA, nB = marginal_counts(np.asarray(sol.y_final.n), 2, 3)
    assert nA.sum() == nB.sum() == 300.0
