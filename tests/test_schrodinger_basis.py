"""Finite-basis Schrödinger against closed forms and exact diagonalization, float64."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jqd
from jqd.observables import Expect


@pytest.mark.slow  # 8 s; kerr-revival claims the same closed form
def test_kerr_mean_a_matches_closed_form_over_a_revival():
    alpha0, U = 2.5, 1.0
    cutoff = jqd.fock.coherent_cutoff(alpha0, tol=1e-22)  # chosen automatically
    law = jqd.SchrodingerBasis()
    params = jqd.MatrixParams(jqd.fock.kerr_hamiltonian(cutoff, U))
    psi0 = jqd.fock.coherent_state(alpha0, cutoff)
    T = 2 * math.pi / U
    sol = jqd.evolve(
        law, psi0, params, dt=T / 400, n_save=400, observe=Expect(jqd.fock.destroy(cutoff))
    )
    exact = jqd.reference.kerr_mean_a(sol.ts, alpha0, U)
    err = float(jnp.max(jnp.abs(sol.observables - exact)))
    assert err < 1e-10, err
    # the adaptive path through diffrax uses the same vector field and observable
    ts = jnp.linspace(0.0, T, 41)
    sol_a = jqd.evolve_adaptive(
        law, psi0, params, ts, observe=Expect(jqd.fock.destroy(cutoff)), rtol=1e-12, atol=1e-13
    )
    err_a = float(jnp.max(jnp.abs(sol_a.observables - jqd.reference.kerr_mean_a(ts, alpha0, U))))
    assert err_a < 1e-9, err_a


def test_kerr_cat_state_at_half_revival():
    """physics §4: at Ut = π the state is (e^{−iπ/4}|iα0⟩ + e^{iπ/4}|−iα0⟩)/√2."""
    alpha0, cutoff = 2.0, 40
    psi = jqd.reference.propagate(
        jqd.fock.kerr_hamiltonian(cutoff),
        jqd.fock.coherent_state(alpha0, cutoff),
        jnp.array([math.pi]),
    )[0]
    cat = (
        jnp.exp(-1j * math.pi / 4) * jqd.fock.coherent_state(1j * alpha0, cutoff)
        + jnp.exp(1j * math.pi / 4) * jqd.fock.coherent_state(-1j * alpha0, cutoff)
    ) / math.sqrt(2)
    assert abs(abs(jnp.vdot(cat, psi)) - 1.0) < 1e-12


def test_coherent_state_cutoff_is_checked():
    with pytest.raises(ValueError, match="cutoff"):
        jqd.fock.coherent_state(3.0, 12)
    assert jqd.fock.coherent_cutoff(3.0, 1e-14) > 30
    # traced alpha (an outer jit): the same check, in-graph
    in_jit = jax.jit(lambda a: jqd.fock.coherent_state(a, 12))
    assert np.isfinite(np.asarray(in_jit(0.5))).all()
    with pytest.raises(Exception, match="truncates"):
        jax.block_until_ready(in_jit(3.0))
    # float32 (JAX's default without x64): a sufficient cutoff was refused with
    # "use cutoff >= 23" for cutoff = 40 (issue 54); now the precision is named
    with jax.enable_x64(False), pytest.raises(ValueError, match=r"in float32 .*jax_enable_x64"):
        jqd.fock.coherent_state(3.0, 40)


def test_bose_hubbard_dimer_sector_equals_full_fock_space():
    N, J, U = 8, 1.0, 0.3
    model = jqd.fock.BoseHubbard(2, N)
    law = jqd.SchrodingerBasis()
    psi_sector = model.state((N, 0))
    n1_sector = Expect(model.number(0))
    sol_s = jqd.evolve(
        law,
        psi_sector,
        jqd.MatrixParams(model.hamiltonian(J, U)),
        dt=0.05,
        n_save=100,
        observe=n1_sector,
    )

    cut = (N + 1, N + 1)
    a0, a1 = jqd.fock.destroy(cut, 0), jqd.fock.destroy(cut, 1)
    n0, n1 = jqd.fock.number(cut, 0), jqd.fock.number(cut, 1)
    H_full = -J * (a0.T @ a1 + a1.T @ a0) + 0.5 * U * (n0 @ n0 - n0 + n1 @ n1 - n1)
    psi_full = jqd.fock.fock_state(cut, (N, 0))
    sol_f = jqd.evolve(
        law, psi_full, jqd.MatrixParams(H_full), dt=0.05, n_save=100, observe=Expect(n0)
    )
    err = float(jnp.max(jnp.abs(sol_s.observables - sol_f.observables)))
    assert err < 1e-10, err
    assert float(jnp.ptp(sol_s.observables.real)) > 1.0  # populations actually move


def test_fixed_step_matches_exact_propagator_and_scipy_expm():
    H = jqd.fock.random_hermitian(jax.random.key(0), 12)
    psi0 = jqd.normalize(jnp.arange(1.0, 13.0).astype(complex))
    ts = jnp.linspace(0.0, 3.0, 7)
    exact = jqd.reference.propagate(H, psi0, ts)
    sol = jqd.evolve(jqd.SchrodingerBasis(), psi0, jqd.MatrixParams(H), dt=0.5, n_save=6)
    np.testing.assert_allclose(sol.observables, exact, atol=1e-12)
    np.testing.assert_allclose(
        exact[-1], scipy.linalg.expm(-1j * 3.0 * np.asarray(H)) @ np.asarray(psi0), atol=1e-12
    )


def _rotating_field():
    """H(t) = (Δ/2)σz + (Ω/2)(σx cos ωt + σy sin ωt) from ψ0 = |↑⟩, and its
    closed form ψ(t) = e^{−iωtσz/2} e^{−iH_rot t} ψ0, H_rot = ((Δ−ω)/2)σz +
    (Ω/2)σx (the rotating frame): `(H, psi0, exact)`, `exact(t)` in NumPy."""
    sx = jnp.array([[0, 1], [1, 0]], complex)
    sy = jnp.array([[0, -1j], [1j, 0]])
    sz = jnp.array([[1, 0], [0, -1]], complex)

    def H(t, p):
        return 0.5 * 1.3 * sz + 0.5 * 0.7 * (sx * jnp.cos(1.1 * t) + sy * jnp.sin(1.1 * t))

    psi0 = jnp.array([1.0, 0.0], complex)
    H_rot = np.asarray(0.5 * (1.3 - 1.1) * sz + 0.5 * 0.7 * sx)

    def exact(t):
        t = float(t)
        U = scipy.linalg.expm(-0.5j * 1.1 * t * np.asarray(sz))
        return U @ scipy.linalg.expm(-1j * t * H_rot) @ np.asarray(psi0)

    return H, psi0, exact


@pytest.mark.slow
def test_time_dependent_hamiltonian_rotating_frame():
    """The rotating-field closed form (`_rotating_field`) by the adaptive
    solver, and by the fixed-step midpoint exponential at order 2."""
    H, psi0, exact_at = _rotating_field()
    law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True)
    params = jqd.MatrixParams(H=H(0.0, None))
    ts = jnp.linspace(0.0, 6.0, 13)
    exact = jnp.stack([jnp.asarray(exact_at(t)) for t in ts])
    sol = jqd.evolve_adaptive(law, psi0, params, ts, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(sol.observables, exact, atol=1e-9)
    # fixed-step midpoint exponential: second order
    errs = []
    for n in (50, 100, 200):
        s = jqd.evolve(law, psi0, params, dt=6.0 / n, n_save=1, steps_per_save=n)
        errs.append(float(jnp.linalg.norm(s.y_final - exact[-1])))
    slope = np.polyfit(np.log([6.0 / n for n in (50, 100, 200)]), np.log(errs), 1)[0]
    assert abs(slope - 2.0) < 0.2, (slope, errs)


class _RowsSwapped(jqd.schemes.CommutatorFree4):  # mutant: exponentials in reverse order
    exponents = jqd.schemes.CommutatorFree4.exponents[::-1]


class _NodesSwapped(jqd.schemes.CommutatorFree4):  # mutant: each row on the other node
    nodes = jqd.schemes.CommutatorFree4.nodes[::-1]


@pytest.mark.parametrize(
    "scheme, order",
    [
        (jqd.schemes.ExponentialMidpoint(), 2),
        (jqd.schemes.CommutatorFree4(), 4),
        (_RowsSwapped(), None),
        (_NodesSwapped(), None),
    ],
    ids=["midpoint", "cf4", "mutant-rows-swapped", "mutant-nodes-swapped"],
)
def test_time_dependent_schemes_converge_at_their_order(scheme, order):
    """The error at T = 6 against the closed form halves by 2^order per
    halving of dt (dt = 0.24 … 0.03: the asymptotic range, slopes 1.9999 and
    3.9985 measured); a mutant of CF4's coefficients falls to order 2."""
    H, psi0, exact_at = _rotating_field()
    exact = exact_at(6.0)
    law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True, scheme=scheme)
    errs = []
    for n in (25, 50, 100, 200):
        s = jqd.evolve(
            law, psi0, jqd.MatrixParams(H(0.0, None)), dt=6.0 / n, n_save=1, steps_per_save=n
        )
        errs.append(float(jnp.linalg.norm(s.y_final - exact)))
    slopes = np.diff(np.log(errs)) / np.log(0.5)
    if order is None:
        assert np.all(slopes < 2.5), (slopes, errs)
    else:
        assert law.order == order
        np.testing.assert_allclose(slopes, order, atol=0.1, err_msg=str(errs))


def test_driven_plain_call_steps_by_chebyshev_and_refuses_an_outgrown_spectrum():
    """A plain call sizes Chebyshev steps from H(t) over the run: the same
    states as an eigendecomposition per exponential (propagator Eigen) to the
    series' 1e-12 tail per step; a run started later (t0) where H(t) has
    widened past those terms is stopped by the monitor, naming the fix."""
    d = 8
    H0 = jqd.fock.kerr_hamiltonian(d)
    X = jqd.fock.destroy(d) + jqd.fock.create(d)
    H = lambda t, p: p.H * (1.0 + (t / 4.0) ** 4) + 0.3 * jnp.cos(t) * X
    psi0 = jqd.fock.coherent_state(1.0, d, check=False)
    psi0 = psi0 / jnp.linalg.norm(psi0)
    args = dict(dt=0.05, n_save=4, steps_per_save=10)
    law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True, scheme="cf4")
    fast_law = law.specialize(jqd.MatrixParams(H0), 0.05, 40)[0]
    assert fast_law.terms is not None and fast_law.band == (-1, 0, 1)
    fast = jqd.evolve(law, psi0, jqd.MatrixParams(H0), **args)
    eigen = jqd.SchrodingerBasis(
        hamiltonian=H, time_dependent=True, scheme="cf4", propagator=jqd.schemes.Eigen()
    )
    ref = jqd.evolve(eigen, psi0, jqd.MatrixParams(H0), **args)
    np.testing.assert_allclose(fast.observables, ref.observables, atol=1e-11)
    with pytest.raises(ValueError, match=r"Chebyshev\(terms=K\)") as err:
        jqd.evolve(law, psi0, jqd.MatrixParams(H0), t0=20.0, **args)
    assert isinstance(err.value, jqd.BreakdownError)


def test_driven_band_read_by_a_plain_call_is_guarded():
    """An entry of H(t) outside the diagonals a plain call read (here one
    switched on after the sampled span, reached by t0) stops the run with the
    fix; with Chebyshev terms given, H(t) is multiplied as it is and the run
    agrees with an eigendecomposition per exponential."""
    d = 8
    X = jqd.fock.destroy(d) + jqd.fock.create(d)
    far = jnp.eye(d, k=3) + jnp.eye(d, k=-3)
    H = lambda t, p: p.H + 0.3 * jnp.cos(t) * X + jnp.where(t > 3.0, 0.2, 0.0) * far
    psi0 = jqd.fock.fock_state(d, 2)
    params = jqd.MatrixParams(jqd.fock.number(d))
    args = dict(dt=0.05, n_save=4, steps_per_save=10, t0=5.0)
    law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True)
    with pytest.raises(ValueError, match="outside the diagonals") as err:
        jqd.evolve(law, psi0, params, **args)
    assert "Chebyshev(terms=K)" in str(err.value)
    given = jqd.SchrodingerBasis(
        hamiltonian=H, time_dependent=True, propagator=jqd.schemes.Chebyshev(24)
    )
    eigen = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True, propagator="eigen")
    np.testing.assert_allclose(
        jqd.evolve(given, psi0, params, **args).observables,
        jqd.evolve(eigen, psi0, params, **args).observables,
        atol=1e-11,
    )


def test_scheme_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match="cf4"):
        jqd.SchrodingerBasis(time_dependent=True, scheme="rk4")
    with pytest.raises(TypeError, match="CommutatorFree4"):
        jqd.SchrodingerBasis(time_dependent=True, scheme=jqd.schemes.RK4())
    # the propagator likewise, by name or object, its field named
    with pytest.raises(ValueError, match="propagator 'step' is not one of .*'eigen', 'chebyshev'"):
        jqd.SchrodingerBasis(propagator="step")
    with pytest.raises(TypeError, match="propagator must be one of .*Chebyshev"):
        jqd.SchrodingerBasis(propagator=jqd.schemes.Exact())
    with pytest.raises(ValueError, match="Chebyshev terms must be an int >= 2"):
        jqd.SchrodingerBasis(propagator=jqd.schemes.Chebyshev(terms=1))
    law = jqd.SchrodingerBasis(propagator="chebyshev")
    assert law.propagator == jqd.schemes.Chebyshev() and law.terms is None and law.order is None
    # its terms are read from a concrete H; a traced one needs them given
    H, psi = jqd.fock.kerr_hamiltonian(6), jqd.fock.coherent_state(0.5, 6, check=False)
    run = lambda H: jqd.evolve(law, psi, jqd.MatrixParams(H), dt=0.1, n_save=2).y_final
    assert bool(jnp.all(jnp.isfinite(run(H))))
    with pytest.raises(ValueError, match=r"traced H needs terms=K .*specialize"):
        jax.jit(run)(H)


def test_bad_inputs_raise_clear_errors():
    law = jqd.SchrodingerBasis()
    H = jqd.fock.random_hermitian(jax.random.key(1), 4)
    psi0 = jqd.fock.fock_state(4, 0)
    with pytest.raises(ValueError, match="not Hermitian"):
        jqd.evolve(law, psi0, jqd.MatrixParams(H + 0.1j * jnp.eye(4)), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="not normalized"):
        jqd.evolve(law, 2 * psi0, jqd.MatrixParams(H), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="dimension"):
        jqd.evolve(law, jqd.fock.fock_state(5, 0), jqd.MatrixParams(H), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="vector"):
        jqd.evolve(law, jnp.eye(4, dtype=complex), jqd.MatrixParams(H), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="n_save"):
        jqd.evolve(law, psi0, jqd.MatrixParams(H), dt=0.1, n_save=0)


def _kerr_a_final(U, cutoff=24, alpha0=1.5, n=20):
    law = jqd.SchrodingerBasis(hamiltonian=lambda t, p: jqd.fock.kerr_hamiltonian(cutoff, p.U))
    sol = jqd.evolve(
        law,
        jqd.fock.coherent_state(alpha0, cutoff),
        _KerrParams(U=U),
        dt=0.05,
        n_save=n,
        observe=Expect(jqd.fock.destroy(cutoff)),
    )
    return sol.observables[-1]


class _KerrParams(eqx.Module):
    """A user-defined params module: the Hamiltonian is a function of U."""

    U: float
    hbar: float = 1.0


def test_vmap_over_1024_hamiltonians_equals_loop():
    keys = jax.random.split(jax.random.key(2), 1024)
    Hs = jax.vmap(lambda k: jqd.fock.random_hermitian(k, 6))(keys)
    psi0 = jqd.fock.fock_state(6, 0)
    law = jqd.SchrodingerBasis()
    pop0 = Expect(jqd.fock.number(6))

    def run(H):
        return jqd.evolve(
            law, psi0, jqd.MatrixParams(H), dt=0.1, n_save=10, observe=pop0
        ).observables

    batched = jax.jit(jax.vmap(run))(Hs)
    assert batched.shape == (1024, 11)
    loop = jnp.stack([run(Hs[i]) for i in (0, 17, 1023)])
    np.testing.assert_allclose(batched[jnp.array([0, 17, 1023])], loop, atol=1e-13)
    exact = jqd.reference.propagate(Hs[17], psi0, jnp.linspace(0, 1.0, 11))
    np.testing.assert_allclose(
        batched[17].real,
        jnp.einsum("ti,ij,tj->t", exact.conj(), jqd.fock.number(6), exact).real,
        atol=1e-12,
    )


def test_sharded_batch_equals_unsharded():
    assert jax.device_count() >= 4, "conftest forces 4 host devices"
    Us = jnp.linspace(0.5, 2.0, 8)
    f = jax.jit(jax.vmap(lambda U: _kerr_a_final(U)))
    plain = f(Us)
    sharded_U = jqd.shard_batch(Us, jqd.batch_mesh(4))
    assert len(sharded_U.sharding.device_set) == 4
    sharded = f(sharded_U)
    np.testing.assert_allclose(np.asarray(sharded), np.asarray(plain), atol=1e-14)
    padded, n = jqd.pad_batch(Us[:6], 4)
    assert padded.shape == (8,) and n == 6


def test_gradient_matches_central_difference():
    """d⟨n_1⟩(T)/dJ in a Bose-Hubbard dimer through 30 exact steps: 1e-6 relative.
    (jit == eager, vmap == loop, float32 and check_grads: tests/test_law_contract.py)"""
    model = jqd.fock.BoseHubbard(2, 6)
    law = jqd.SchrodingerBasis(hamiltonian=lambda t, p: model.hamiltonian(p.U, 0.4))
    psi0 = model.state((6, 0))

    def n1_final(J):
        sol = jqd.evolve(
            law, psi0, _KerrParams(U=J), dt=0.1, n_save=30, observe=Expect(model.number(0))
        )
        return jnp.real(sol.observables[-1])

    g = float(jax.grad(n1_final)(0.7))
    h = 1e-5
    fd = (float(n1_final(0.7 + h)) - float(n1_final(0.7 - h))) / (2 * h)
    assert abs(g - fd) < 1e-6 * abs(fd), (g, fd)
