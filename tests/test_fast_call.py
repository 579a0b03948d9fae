"""The user's plain call (issue 16, item 4): one compiled program per shape,
value checks fused into it, every save of a time-independent H from one
eigendecomposition, and derivatives that stay finite for repeated
eigenvalues."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.test_util import check_grads

import jqd
from jqd._eigen import eigen_states


@contextlib.contextmanager
def count_compiles():
    """Counts XLA backend compilations (and jaxpr traces) while active."""
    seen = {"compile": 0, "trace": 0}

    def listen(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            seen["compile"] += 1
        elif name == "/jax/core/compile/jaxpr_trace_duration":
            seen["trace"] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def _problem(d=10, seed=0):
    H = jqd.fock.random_hermitian(jax.random.key(seed), d)
    psi = jnp.ones(d, complex) / np.sqrt(d)
    return H, psi


def test_new_values_do_not_recompile():
    law = jqd.SchrodingerBasis()
    H, psi = _problem()
    run = lambda H, psi, n: jqd.evolve(law, psi, jqd.MatrixParams(H), dt=0.05, n_save=n)
    run(H, psi, 20)
    H2, _ = _problem(seed=1)
    psi2 = jnp.roll(psi, 1) * 1j
    with count_compiles() as seen:
        a = run(H2, psi2, 20)  # new values, same shapes: the same program
    assert seen == {"compile": 0, "trace": 0}
    exact = jqd.reference.propagate(H2, psi2, a.ts)
    np.testing.assert_allclose(a.observables, exact, atol=1e-12)


def test_fused_checks_still_name_the_argument_and_value():
    law = jqd.SchrodingerBasis()
    H, psi = _problem()
    with pytest.raises(ValueError, match=r"psi0 is not normalized \(norm - 1 = 3"):
        jqd.evolve(law, 2 * psi, jqd.MatrixParams(H), dt=0.1, n_save=3)
    with pytest.raises(ValueError, match="H is not Hermitian"):
        jqd.evolve(law, psi, jqd.MatrixParams(H + jnp.triu(H, 1)), dt=0.1, n_save=3)
    with pytest.raises(ValueError, match="NaN or Inf"):
        jqd.evolve(law, psi, jqd.MatrixParams(H.at[0, 0].set(jnp.nan)), dt=0.1, n_save=3)
    with pytest.raises(ValueError, match="dt must be positive"):
        jqd.evolve(law, psi, jqd.MatrixParams(H), dt=-0.1, n_save=3)


def test_eigen_saves_equal_stepped_saves_with_observables_and_monitor():
    H, psi = _problem(d=12)
    n_op = jnp.diag(jnp.arange(12.0))
    observe = {"n": lambda t, y, p: jnp.real(jnp.vdot(y, n_op @ y)), "t": lambda t, y, p: t}
    # a monitor that fails from t > 0.32: the run stops there on both paths
    monitor = lambda t, y, p: (t <= 0.32, 2, jnp.atleast_1d(t))
    sols = [
        jqd.evolve(
            jqd.SchrodingerBasis(propagator=m),
            psi,
            jqd.MatrixParams(H),
            dt=0.05,
            n_save=10,
            observe=observe,
            monitor=monitor,
            on_breakdown="flag",
        )
        for m in (None, jqd.schemes.Eigen(stepped=True))
    ]
    a, b = sols
    assert int(a.stats["breakdown_index"]) == int(b.stats["breakdown_index"]) == 7
    np.testing.assert_allclose(a.observables["n"], b.observables["n"], atol=1e-12)
    np.testing.assert_allclose(a.y_final, b.y_final, atol=1e-12)
    # later saves repeat the save where the monitor failed
    np.testing.assert_allclose(a.observables["n"][7:], a.observables["n"][7], atol=1e-14)


def test_degenerate_spectrum_gradients_are_finite_and_exact():
    d = 10
    H = jqd.fock.kerr_hamiltonian(d, 1.0)  # E_0 = E_1 = 0
    psi = jqd.fock.coherent_state(0.8, d, check=False)
    s = jnp.linspace(0.0, 2.0, 4)
    # central differences of size eps = 1e-6 (the check's truncation error is ~eps² |f'''|)
    jeig = jax.jit(eigen_states)  # one compiled program per transformation, not per operation
    check_grads(jeig, (H, psi, s), 1, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6, eps=1e-6)
    # against the derivative of scipy's expm along a Hermitian direction (finite differences)
    dH = jqd.fock.random_hermitian(jax.random.key(3), d)
    _, tangent = jax.jvp(lambda H: jeig(H, psi, s), (H.astype(complex),), (dH,))
    f = lambda H: np.stack([scipy.linalg.expm(-1j * np.asarray(H) * x) @ psi for x in s])
    fd = (f(H + 1e-6 * dH) - f(H - 1e-6 * dH)) / 2e-6
    np.testing.assert_allclose(tangent, fd, atol=1e-8)


@pytest.mark.slow
def test_evolve_and_propagate_gradients_with_repeated_eigenvalues():
    d = 10
    psi = jqd.fock.coherent_state(0.8, d, check=False)
    s = jnp.linspace(0.0, 2.0, 4)
    # jqd.reference.propagate and the eigen path of evolve: finite, equal to the expm path
    loss = lambda U: (
        jnp.abs(
            jqd.reference.propagate(jqd.fock.kerr_hamiltonian(d, U), psi, s)[-1] @ jnp.conj(psi)
        )
        ** 2
    )
    g_ref = jax.grad(loss)(1.0)

    def via(propagator):
        def f(U):
            sol = jqd.evolve(
                jqd.SchrodingerBasis(propagator=propagator),
                psi,
                jqd.MatrixParams(jqd.fock.kerr_hamiltonian(d, U)),
                dt=2.0 / 3,
                n_save=3,
            )
            return jnp.abs(sol.y_final @ jnp.conj(psi)) ** 2

        return jax.grad(f)(1.0)

    assert np.isfinite(g_ref)
    np.testing.assert_allclose(via("eigen"), g_ref, rtol=1e-10)
    np.testing.assert_allclose(via(jqd.schemes.Eigen(stepped=True)), g_ref, rtol=1e-9)


def test_husimi_plain_call_compiles_once():
    psi = jqd.fock.coherent_state(0.8, 12)
    x = np.linspace(-2, 2, 9)
    alphas = x[:, None] + 1j * x[None, :]
    jqd.husimi.husimi(psi, alphas)
    psi2, alphas2 = jnp.roll(psi, 1), alphas + 0.1
    with count_compiles() as seen:
        q = jqd.husimi.husimi(psi2, alphas2)
    assert seen == {"compile": 0, "trace": 0}
    v = jqd.husimi.coherent_amplitudes(alphas2[..., None], np.arange(12)[:, None])
    direct = jnp.abs(v.conj() @ psi2) ** 2 / np.pi
    np.testing.assert_allclose(q, direct, atol=1e-14)


def test_husimi_on_a_tensor_grid_takes_two_matrix_products():
    psi = jqd.reference.kerr_state(jnp.asarray(0.7), 1.5, 18, 1.0)
    x, y = np.linspace(-4, 4, 15), np.linspace(-3, 5, 11)  # 165 points >= 8 x 18 levels
    basis = np.arange(18)[:, None]
    direct = lambda al: (
        jnp.abs(jqd.husimi.coherent_amplitudes(al[..., None], basis).conj() @ psi) ** 2 / np.pi
    )
    rows = y[:, None] * 1j + x[None, :]  # α_ij = x_j + i y_i (np.meshgrid's layout)
    off_grid = rows.copy()
    off_grid[2, 3] += 1e-3  # not a tensor grid: Horner's scheme
    for alphas in (rows, rows.T, off_grid):
        np.testing.assert_allclose(jqd.husimi.husimi(psi, alphas), direct(alphas), atol=1e-14)
