"""Galerkin solver of the Husimi Fokker-Planck equation vs exact quantum evolution.
(The generic law checks, jit/vmap/dtype/recompile/gradients/monitor/shapes, are in
tests/test_law_contract.py, cases in tests/cases_husimi.py.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jqd
from jqd import husimi as hs

SLOW = pytest.mark.slow

ALPHA0 = 2.0
K_KERR = 36  # Poisson(4) tail beyond 36 quanta < 1e-20


@pytest.fixture(scope="module")
def kerr_run():
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K_KERR)
    R0 = law.initial_state(jqd.fock.coherent_state(ALPHA0, K_KERR))
    n = 16
    sol = jqd.evolve(
        law,
        R0,
        hs.GalerkinParams(1.0),
        dt=2 * np.pi / n,
        n_save=n,
        observe={
            "R": lambda t, y, p: y,
            "a": lambda t, y, p: law.mean_a(y)[0],
            "E": law.energy,
            "norm": lambda t, y, p: law.norm(y),
        },
    )
    return law, R0, sol


def test_closure_is_exact_for_truncating_H():
    """P L P = −i[H_P, ·] at C = 1 (Kerr, Bose-Hubbard); not at C ≠ 1 or for φ⁴."""
    key = jax.random.key(0)
    for H, kw in [
        (hs.kerr(1.0), dict(cutoffs=20)),
        (hs.bose_hubbard(2, 0.7, 1.1), dict(max_total=7)),
    ]:
        law = hs.HusimiGalerkin(H, **kw)
        X = jax.random.normal(key, (law.dim, law.dim)) + 0j
        X = X + X.T
        assert hs.galerkin_closure_error(law, X, 1.0) < 1e-13
        assert hs.galerkin_closure_error(law, X, 0.5) > 0.1
        liou, diff = law.fp_parts(X)
        np.testing.assert_allclose(liou + 0.5 * diff, law.fp_operator(X, 0.5), atol=1e-12)
    law = hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.2), cutoffs=10)
    R = law.initial_state(jqd.fock.coherent_state(0.5, 10, tol=1e-6))
    assert not law.exact_fp and hs.galerkin_closure_error(law, R, 1.0) > 1e-3


@pytest.mark.slow
def test_kerr_husimi_L1_through_revival(kerr_run):
    law, R0, sol = kerr_run
    x = np.linspace(-7, 7, 160)  # even count: avoids α = 0 where kerr_husimi's log form is NaN
    h = x[1] - x[0]
    X, Y = np.meshgrid(x, x, indexing="ij")
    al = X + 1j * Y
    for t, R in zip(np.asarray(sol.ts), sol.observables["R"]):
        q = law.husimi(R, al[..., None])
        q_exact = jqd.reference.kerr_husimi(al, t, ALPHA0)
        assert np.sum(np.abs(q - q_exact)) * h * h < 1e-8, t


@pytest.mark.slow
def test_kerr_mean_energy_norm(kerr_run):
    law, R0, sol = kerr_run
    ts = np.asarray(sol.ts)
    err = np.max(np.abs(sol.observables["a"] - jqd.reference.kerr_mean_a(ts, ALPHA0)))
    assert err < 1e-10
    E = np.asarray(sol.observables["E"])
    assert np.max(np.abs(E - E[0])) < 1e-10
    # ⟨H⟩ read from the state equals the exact (U/2)|α0|⁴ for a coherent start
    assert abs(E[0] - 0.5 * ALPHA0**4) < 1e-10
    assert np.max(np.abs(np.asarray(sol.observables["norm"]) - 1)) < 1e-12
    # the cat at Ut = π (physics §4, jqd.reference.kerr_cat_state)
    cat = jqd.reference.kerr_cat_state(ALPHA0, K_KERR)
    R_pi = sol.observables["R"][8]
    assert abs(float(jnp.real(jnp.vdot(cat, R_pi @ cat))) - 1) < 1e-10


@pytest.mark.slow
def test_kerr_forward_back_and_time_reversal(kerr_run):
    law, R0, sol = kerr_run
    T, n = 2 * np.pi * 0.37, 8
    p = hs.GalerkinParams(1.0)
    fwd = jqd.evolve(law, R0, p, dt=T / n, n_save=1, steps_per_save=n).y_final
    # back: the same law stepped with negative dt
    back = fwd
    stepper = law.prepare(p, -T / n)
    for i in range(n):
        back = stepper.step(0.0, back, p, -T / n, None)
    assert float(jnp.max(jnp.abs(back - R0))) < 1e-10
    # time reversal P → −P is R → Rᵀ: evolving Rᵀ(T) forward returns Rᵀ(0)
    rev = jqd.evolve(law, fwd.T, p, dt=T / n, n_save=1, steps_per_save=n).y_final
    assert float(jnp.max(jnp.abs(rev - R0.T))) < 1e-10


@pytest.mark.slow
def test_expm_path_matches_exact_and_split_converges():
    """The exponential path (no splitting) reproduces exact Kerr at C = 1,
    and at C = 0.5 the split stepper converges to it at second order."""
    K, a0 = 22, 1.2
    law_e = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K, scheme=jqd.schemes.Exact())
    law_s = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    R0 = law_e.initial_state(jqd.fock.coherent_state(a0, K))
    T = 1.0
    sol = jqd.evolve(
        law_e,
        R0,
        hs.GalerkinParams(1.0),
        dt=T / 4,
        n_save=4,
        observe=lambda t, y, p: law_e.mean_a(y)[0],
    )
    assert np.max(np.abs(sol.observables - jqd.reference.kerr_mean_a(sol.ts, a0))) < 1e-10
    # the fast unitary split equals the exponential of L(1) itself at C = 1
    p1 = hs.GalerkinParams(1.0)
    y_e = jqd.evolve(law_e, R0, p1, dt=T, n_save=1).y_final
    y_s = jqd.evolve(law_s, R0, p1, dt=T / 4, n_save=1, steps_per_save=4).y_final
    assert float(jnp.max(jnp.abs(y_s - y_e))) < 1e-12
    p = hs.GalerkinParams(0.5)
    Tc = 0.2
    ref = jqd.evolve(law_e, R0, p, dt=Tc, n_save=1).y_final
    errs = []
    for n in (10, 20):
        y = jqd.evolve(law_s, R0, p, dt=Tc / n, n_save=1, steps_per_save=n).y_final
        errs.append(float(jnp.max(jnp.abs(y - ref))))
    assert 3.0 < errs[0] / errs[1] < 5.0, errs


@pytest.mark.parametrize(
    "name, law_kwargs, n_blocks",
    [
        # blocks: m - n = -9 ... 9 (slow: 7 s each; bose-hubbard, with blocks of
        # several sizes, stays in the default run)
        pytest.param("kerr", dict(hamiltonian=hs.kerr(0.7), cutoffs=9), 19, marks=SLOW),
        ("bose-hubbard", dict(hamiltonian=hs.bose_hubbard(2, 1.0, 0.6), max_total=4), 9),
        pytest.param(  # parity of m - n
            "phi4", dict(hamiltonian=hs.phi4_mode(1.0, 0.3), cutoffs=8), 2, marks=SLOW
        ),
    ],
)
@pytest.mark.slow
def test_expm_blocks_equal_the_dense_exponential(name, law_kwargs, n_blocks):
    """scheme=Exact() exponentiates L(C) one invariant block at a time: equal to
    scipy's expm of the dense superoperator (C ≠ 1, where the diffusion
    mismatch couples most); at least one block per value of the conserved
    quantity (the components can be finer: Kerr's vacuum is its own block). A
    wrong split (a dropped coupling) changes R."""
    import scipy.linalg

    law = hs.HusimiGalerkin(**law_kwargs, scheme=jqd.schemes.Exact())
    assert law.blocks.index.shape[0] >= n_blocks
    d = law.dim
    R0 = jnp.asarray(
        jax.random.normal(jax.random.key(3), (d, d))
        + 1j * jax.random.normal(jax.random.key(4), (d, d))
    )
    C, dt = 0.63, 0.21
    dense = scipy.linalg.expm(np.asarray(law.superoperator(C)) * dt)
    want = (dense @ np.asarray(R0).reshape(-1)).reshape(d, d)
    got = law.prepare(hs.GalerkinParams(C), dt).step(0.0, R0, None, dt)
    scale = np.max(np.abs(want))
    assert float(np.max(np.abs(np.asarray(got) - want))) < 1e-12 * scale
    # differentiable in C, and jit == eager
    f = lambda C: jnp.real(jnp.sum(law.prepare(hs.GalerkinParams(C), dt).step(0.0, R0, None, dt)))
    check_grads(f, (0.8,), order=1, modes=["rev"])
    assert np.allclose(jax.jit(f)(0.8), f(0.8), rtol=1e-13)


@pytest.mark.slow  # experiments/husimi_bose_hubbard checks the same physics (quick run)
@pytest.mark.parametrize("Nmax", [10, 20])
def test_bose_hubbard_dimer_vs_exact_diagonalization(Nmax):
    J, U = 1.0, 0.6
    betas = [1.5, 1.0j] if Nmax == 20 else [0.9, 0.6j]
    law = hs.HusimiGalerkin(hs.bose_hubbard(2, J, U), max_total=Nmax)
    basis = law.basis
    psi0 = hs.coherent_product(betas, basis)
    ts = np.linspace(0.0, 3.0, 7)
    sol = jqd.evolve(
        law,
        law.initial_state(psi0),
        hs.GalerkinParams(1.0),
        dt=ts[1],
        n_save=len(ts) - 1,
        observe={"R": lambda t, y, p: y, "pop": lambda t, y, p: law.populations(y)},
    )
    # exact: each particle-number sector of jqd.fock.BoseHubbard, by eigh
    index = {tuple(o): i for i, o in enumerate(basis)}
    psi_t = np.zeros((len(ts), len(basis)), complex)
    for N in range(Nmax + 1):
        bh = jqd.fock.BoseHubbard(2, N)
        idx = [index[tuple(o)] for o in bh.basis]
        psi_t[:, idx] = np.asarray(
            jqd.reference.propagate(bh.hamiltonian(J, U), psi0[np.array(idx)], ts)
        )
    pops = np.einsum("tn,nj->tj", np.abs(psi_t) ** 2, basis)
    assert np.max(np.abs(np.asarray(sol.observables["pop"]) - pops)) < 1e-8
    assert np.ptp(pops[:, 0]) > 0.3  # populations actually move
    g = np.linspace(-4, 4, 41)
    h = g[1] - g[0]
    X, Y = np.meshgrid(g, g, indexing="ij")
    al = (X + 1j * Y)[..., None]
    for i in range(len(ts)):
        for mode in (0, 1):
            red_g, rb = hs.reduced_density_matrix(sol.observables["R"][i], basis, (mode,))
            red_e, rb2 = hs.reduced_density_matrix(jnp.asarray(psi_t[i]), basis, (mode,))
            assert np.array_equal(rb, rb2)
            diff = hs.husimi(red_g, al, basis=rb) - hs.husimi(red_e, al, basis=rb)
            assert float(jnp.max(jnp.abs(diff))) < 1e-8
            assert float(jnp.sum(jnp.abs(diff))) * h * h < 1e-8


def _small():
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=8)
    R0 = law.initial_state(jqd.fock.coherent_state(0.6, 8, tol=1e-6))
    return law, R0


@pytest.mark.slow
def test_grads_at_C_1_and_vector_field():
    law, R0 = _small()

    def obs(C):
        sol = jqd.evolve(law, R0, hs.GalerkinParams(C), dt=0.05, n_save=2, check=False)
        return jnp.real(law.mean_a(sol.y_final)[0]) + law.husimi(sol.y_final, jnp.array(0.3 + 0.2j))

    # at exactly C = 1 (where the remainder vanishes) derivatives of every order are
    # those of the series: reverse-over-reverse equals forward-over-forward (a
    # run-time skip of the remainder there once got this Hessian wrong, 0.0167 vs 0.0286)
    check_grads(obs, (1.0,), order=1, modes=("rev", "fwd"), eps=1e-4)
    hess_rev = jax.grad(jax.grad(obs))(1.0)
    hess_fwd = jax.jacfwd(jax.jacfwd(obs))(1.0)
    np.testing.assert_allclose(hess_rev, hess_fwd, rtol=1e-10)
    # vector_field is linear in C: L(C) = L0 + C L1
    p1, p2 = hs.GalerkinParams(0.3), hs.GalerkinParams(1.3)
    f1, f2 = law.vector_field(0.0, R0, p1), law.vector_field(0.0, R0, p2)
    f0 = law.vector_field(0.0, R0, hs.GalerkinParams(0.0))
    np.testing.assert_allclose(f2 - f0, (1.3 / 0.3) * (f1 - f0), atol=1e-12)


def test_bad_inputs():
    law, R0 = _small()
    p = hs.GalerkinParams(1.0)
    with pytest.raises(ValueError, match="y0 must be the"):
        jqd.evolve(law, R0[:4, :4], p, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="trace 1"):
        jqd.evolve(law, 2 * R0, p, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="cutoffs= or max_total="):
        hs.HusimiGalerkin(hs.kerr(), cutoffs=4, max_total=4)
    with pytest.raises(ValueError, match="scheme 'rk4' is not one of"):
        hs.HusimiGalerkin(hs.kerr(), cutoffs=4, scheme="rk4")
    with pytest.raises(TypeError, match="scheme must be one of"):
        hs.HusimiGalerkin(hs.kerr(), cutoffs=4, scheme=jqd.schemes.RK4())


@pytest.mark.slow
def test_fock_truncation_monitor():
    """The top Fock level of the basis: n_j = cutoff_j − 1 (cutoffs) or Σn = max_total.
    The ill-posed φ⁴ truncation (λ = 0.2) drives weight to the top of a 10-level basis
    (2e-3 by t = 0.15): evolve raises FockTruncationError there."""
    law = hs.HusimiGalerkin(hs.bose_hubbard(2, 1.0, 0.5), max_total=3)
    assert [tuple(law.basis[i]) for i in law.top_index] == [(3, 0), (2, 1), (1, 2), (0, 3)]
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=(3, 1), n_modes=2)
    assert [tuple(law.basis[i]) for i in law.top_index] == [(2, 0)]
    law = hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.2), cutoffs=10)
    R0 = law.initial_state(jqd.fock.coherent_state(0.5, 10, tol=1e-6))
    p = hs.GalerkinParams(1.0)
    with pytest.raises(hs.FockTruncationError, match="top Fock level") as err:
        jqd.evolve(law, R0, p, dt=0.05, n_save=4)
    assert err.value.time == pytest.approx(0.15) and err.value.where[0] > law.fock_tol
    sol = jqd.evolve(law, R0, p, dt=0.05, n_save=4, on_breakdown="flag")
    assert int(sol.stats["breakdown_code"]) == 2 and int(sol.stats["breakdown_index"]) == 3
    # a looser tolerance lets it run on (the state is then unreliable, not invalid)
    loose = hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.2), cutoffs=10, fock_tol=0.1)
    assert int(jqd.evolve(loose, R0, p, dt=0.05, n_save=4).stats["breakdown_code"]) == 0


def test_max_total_N_holds_an_N_boson_state():
    """HusimiGalerkin(max_total=N) for an N-boson Bose-Hubbard state: all its weight
    sits in the top shell Σn = N from t = 0, yet at C = 1 the truncation is exact
    (H conserves Σn, P L(1) P = −i[H_P, ·]). Before: FockTruncationError at t = 0.
    It now runs (split and expm) and matches exact diagonalization of the N sector;
    at C ≠ 1 (the diffusion carries weight past Σn = N) the monitor still refuses."""
    N, J, U = 4, 1.0, 0.6
    H = hs.bose_hubbard(2, J, U)
    bh = jqd.fock.BoseHubbard(2, N)
    start = np.zeros(N + 1, complex)
    start[[i for i, o in enumerate(bh.basis) if tuple(o) == (N, 0)][0]] = 1.0
    ts = np.linspace(0.0, 1.0, 5)
    exact = np.asarray(jqd.reference.propagate(bh.hamiltonian(J, U), start, ts))
    want = np.einsum("tn,nj->tj", np.abs(exact) ** 2, np.asarray(bh.basis))
    for scheme in (jqd.schemes.Strang(), jqd.schemes.Exact()):
        law = hs.HusimiGalerkin(H, max_total=N, scheme=scheme)
        assert law.sealed and float(law.top_weight(law.initial_state(_embed(law, bh, start)))) == 1
        R0 = law.initial_state(_embed(law, bh, start))
        run = dict(dt=ts[1], n_save=len(ts) - 1, observe=lambda t, y, p: law.populations(y))
        sol = jqd.evolve(law, R0, hs.GalerkinParams(1.0), **run)
        assert np.max(np.abs(np.asarray(sol.observables) - want)) < 1e-10
        assert np.ptp(want[:, 0]) > 0.3  # the bosons actually hop
        with pytest.raises(hs.FockTruncationError, match="top Fock level"):
            jqd.evolve(law, R0, hs.GalerkinParams(1.2), **run)
    # not sealed: a per-mode cut with hopping, squeezing, a non-truncating H
    assert not hs.HusimiGalerkin(H, cutoffs=N + 1).sealed
    assert not hs.HusimiGalerkin(hs.parametric(1.0), cutoffs=6).sealed
    assert not hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.2), cutoffs=6).sealed
    assert hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=6).sealed


def _embed(law, bh, ket):
    """A ket on the N sector of jqd.fock.BoseHubbard placed on the law's basis."""
    index = {tuple(o): i for i, o in enumerate(law.basis)}
    out = np.zeros(law.dim, complex)
    out[[index[tuple(o)] for o in bh.basis]] = ket
    return jnp.asarray(out)


def _fit_setup(law, psi0, H_matrix, basis, grid_alphas, dt, sps, ns):
    rho = hs.exact_husimi_density(H_matrix, psi0, basis)
    z = hs.z_from_alphas(grid_alphas)
    ts = dt * sps * np.arange(1, ns + 1)
    data = jnp.stack(
        [
            jax.vmap(lambda x: rho(x, t))(z.reshape(-1, z.shape[-1])).reshape(z.shape[:-1])
            for t in ts
        ]
    )
    data = data * 2.0 ** basis.shape[1]  # ρ → Q_H
    return data


@pytest.mark.slow
def test_fit_C_kerr():
    K, a0 = 20, 1.2
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K, scheme=jqd.schemes.Exact())  # over L(C) itself
    basis = law.basis
    psi0 = jqd.fock.coherent_state(a0, K)
    x = np.linspace(-3.5, 3.5, 20)
    X, Y = np.meshgrid(x, x, indexing="ij")
    al = (X + 1j * Y)[..., None]
    dt, sps, ns = 0.02, 5, 3
    data = _fit_setup(law, psi0, hs.kerr(1.0).matrix(basis), basis, al, dt, sps, ns)
    res = hs.fit_C(
        law, law.initial_state(psi0), al, data, dt=dt, n_save=ns, steps_per_save=sps, C0=0.5
    )
    assert abs(res.C - 1.0) < 1e-4, res
    assert isinstance(res, jqd.FitResult) and res.converged and res.loss < 1e-14


@pytest.mark.slow
def test_fit_C_dimer():
    H = hs.bose_hubbard(2, 1.0, 1.0)
    law = hs.HusimiGalerkin(H, max_total=8, scheme=jqd.schemes.Exact())  # over L(C) itself
    basis = law.basis
    psi0 = hs.coherent_product([0.9, 0.5j], basis)
    g = np.linspace(-3, 3, 6)
    G = np.meshgrid(g, g, g, g, indexing="ij")
    al = ((G[0] + 1j * G[2]) / np.sqrt(2))[..., None]
    al = np.concatenate([al, ((G[1] + 1j * G[3]) / np.sqrt(2))[..., None]], -1)
    dt, sps, ns = 0.02, 5, 3
    data = _fit_setup(law, psi0, H.matrix(basis), basis, al, dt, sps, ns)
    res = hs.fit_C(
        law, law.initial_state(psi0), al, data, dt=dt, n_save=ns, steps_per_save=sps, C0=0.5
    )
    assert abs(res.C - 1.0) < 1e-4, res


def test_fp_coefficients_on_exact_kerr_data():
    """dR/dt = a·Liouville + b·Diffusion on exact Kerr states gives (a, b) = (1, 1);
    with the exact derivative replaced by the commutator of a wrong H it does not."""
    K = 16
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K)
    psis = jnp.stack([jqd.reference.kerr_state(t, 1.1, K) for t in (0.3, 0.9, 2.0)])
    R = jnp.einsum("tm,tn->tmn", psis, psis.conj())
    H = jqd.fock.kerr_hamiltonian(K)
    coef = hs.fp_coefficients(law, R, -1j * (H @ R - R @ H))
    np.testing.assert_allclose(coef, [1.0, 1.0], atol=1e-10)
    H_bad = jnp.diag(0.5 * jnp.arange(K) ** 2.0)  # (U/2) n² instead of n(n − 1)
    bad = hs.fp_coefficients(law, R, -1j * (H_bad @ R - R @ H_bad))
    assert np.max(np.abs(bad - 1.0)) > 1e-2


@pytest.mark.slow  # 7 s; the expm path against the exact result runs by default
def test_taylor_expm_against_scipy_and_in_parallel():
    """The block exponential (products only) equals scipy's expm over norms that
    need 0 … 9 squarings, is NaN past its squaring limit, and two independent
    batched exponentials in one program finish (with jaxlib 0.10's batched LU in
    their place a 2-thread CPU pool deadlocked; run in a subprocess with a timeout
    so a hang fails instead of stalling the suite)."""
    import subprocess
    import sys

    import scipy.linalg

    from jqd.husimi._galerkin_blocks import taylor_expm

    rng = np.random.default_rng(0)
    for scale in (1e-3, 0.5, 3.0, 40.0, 300.0):
        A = (rng.normal(size=(4, 12, 12)) + 1j * rng.normal(size=(4, 12, 12))) * scale / 12**0.5
        want = np.stack([scipy.linalg.expm(a) for a in A])
        got = np.asarray(taylor_expm(jnp.asarray(A)))
        assert np.max(np.abs(got - want)) < 1e-12 * np.max(np.abs(want)), scale
    assert np.isnan(np.asarray(taylor_expm(jnp.full((1, 2, 2), 1e9)))).all()
    code = (
        "import jax, jax.numpy as jnp\n"
        "jax.config.update('jax_enable_x64', True)\n"
        "from jqd.husimi._galerkin_blocks import taylor_expm\n"
        "a = 0.3 * jax.random.normal(jax.random.key(0), (2, 56, 29, 29)) + 0j\n"
        "f = jax.jit(lambda a, b: (taylor_expm(a), taylor_expm(b)))\n"
        "for i in range(10): jax.block_until_ready(f(a[0] * (1 + i / 1e3), a[1]))\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


def test_one_mode_too_large_for_the_concentration_sum_runs():
    """One mode with 150 levels: no full concentration sum and no smaller
    marginal; the width check is off (concentration 0) instead of crashing."""
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=150)
    R0 = law.initial_state(jqd.fock.coherent_state(0.6, 150, tol=1e-6))
    assert float(law.concentration(R0)) == 0.0
    sol = jqd.evolve(law, R0, hs.GalerkinParams(0.8), dt=1e-5, n_save=1)
    assert np.isfinite(np.asarray(sol.y_final)).all()
