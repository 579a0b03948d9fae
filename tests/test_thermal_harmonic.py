"""Harmonic lattices and Gaussian states (physics §7.4), validated in float64.

- the exact mode rotation against the dense matrix exponential of the 2N×2N
  generator (N = 32; chain and 2-D periodic lattice with a free mode; both
  covariance kinds) to 1e-12;
- against a two-atom `jqd.SchrodingerGrid` wave on a 2-D grid (springs to two
  walls and to each other, pinning) to 1e-8: the grid's Yoshida-4 time error
  (2.8e-9 at dt = 0.01, /16 at dt/2) is the budget;
- `gaussian_energy_variance` against ⟨H²⟩ − ⟨H⟩² in truncated Fock space;
- Var X_cm of an evolved product state against d²/2N + ħ²t²/(2Nm²d²);
- mode energies, Var H and Σ + iħJ/2 ≥ 0 conserved; observables vs dense
  algebra; bad input refused naming the argument.
The law contract (jit, vmap, float32, grads) runs from tests/cases_thermal_harmonic.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from jax.test_util import check_grads

import jqd
from jqd.thermal import (
    DenseCovariance,
    GaussianState,
    HarmonicLattice,
    Lattice,
    LatticeParams,
    ModeCovariance,
    atom_covariance,
    atom_variance,
    bond_variance,
    cm_variance,
    displace,
    energy_variance,
    ground_state,
    joined_blocks,
    kinetic_energy,
    local_energy,
    mode_energies,
    mode_occupation,
    potential_energy,
    product_state,
    symplectic_occupation,
    thermal_state,
    wigner_sample,
)

PARAMS = LatticeParams(mass=1.3, spring=0.7, pinning=0.2, hbar=0.9)


def _blocks_matrix(state, n):
    if isinstance(state.cov, DenseCovariance):
        return np.asarray(state.cov.matrix)
    c = state.cov
    return np.block([[np.diag(c.qq), np.diag(c.qp)], [np.diag(c.qp), np.diag(c.pp)]])


def _expm_reference(lat, params, state, t):
    """Means and covariance at t from expm of the atom-basis generator, in the mode basis."""
    n = lat.n_sites
    K = lat.stiffness()
    m, k, g = float(params.mass), float(params.spring), float(params.pinning)
    G = np.block([[np.zeros((n, n)), np.eye(n) / m], [-(k * K + g * np.eye(n)), np.zeros((n, n))]])
    U, _ = lat.modes()
    R = sl.block_diag(U, U)
    S = R.T @ sl.expm(G * t) @ R
    mu = S @ np.concatenate([state.q, state.p])
    return mu, S @ _blocks_matrix(state, n) @ S.T


def _correlated_state(law, params):
    """A displaced state; for dense, per-atom widths correlate the modes."""
    n = law.n_modes
    x = np.arange(n)
    width = 0.8 + 0.3 * np.sin(x) if law.covariance == "dense" else 0.9
    y = product_state(law, params, 0.3 * np.cos(0.7 * x), width, 0.2 * np.sin(1.3 * x))
    return displace(law, y, 0.1, -0.05)


SLOW = pytest.mark.slow
CHAIN, SQUARE = (Lattice((32,), "fixed"), 0.2), (Lattice((4, 8), "periodic"), 0.0)


@pytest.mark.parametrize(
    "kind,lattice,pinning",
    [
        pytest.param("dense", *CHAIN, id="chain-fixed-dense"),
        pytest.param("mode", *SQUARE, id="square-periodic-free-cm-mode"),
        pytest.param("mode", *CHAIN, id="chain-fixed-mode", marks=SLOW),
        pytest.param("dense", *SQUARE, id="square-periodic-free-cm-dense", marks=SLOW),
    ],
)
def test_mode_rotation_matches_dense_expm(kind, lattice, pinning):
    law = HarmonicLattice(lattice, covariance=kind)
    params = LatticeParams(mass=1.3, spring=0.7, pinning=pinning, hbar=0.9)
    y0 = _correlated_state(law, params)
    dt, steps = 0.37, 20
    y = jqd.evolve(law, y0, params, dt=dt, n_save=1, steps_per_save=steps).y_final
    mu, cov = _expm_reference(lattice, params, y0, dt * steps)
    scale = max(1.0, np.abs(mu).max())
    assert np.abs(np.concatenate([y.q, y.p]) - mu).max() <= 1e-12 * scale
    assert np.abs(_blocks_matrix(y, lattice.n_sites) - cov).max() <= 1e-12 * max(
        1.0, np.abs(cov).max()
    )


@pytest.mark.slow
def test_one_large_step_equals_many_small_steps():
    """Exact for any dt: one step of 7.4 equals 20 steps of 0.37 (and a free mode drifts)."""
    law = HarmonicLattice(Lattice((16,), "periodic"))
    params = LatticeParams(1.0, 1.0, 0.0, 1.0)
    y0 = _correlated_state(law, params)
    a = jqd.evolve(law, y0, params, dt=7.4, n_save=1).y_final
    b = jqd.evolve(law, y0, params, dt=0.37, n_save=1, steps_per_save=20).y_final
    for x, z in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(x, z, rtol=0, atol=1e-12)
    # the k = 0 mode is free: Q0 += P0 t/m, Var Q0 grows as qq + t² pp/m²
    assert abs(a.q[0] - (y0.q[0] + 7.4 * y0.p[0])) < 1e-12
    assert abs(a.cov.qq[0] - (y0.cov.qq[0] + 7.4**2 * y0.cov.pp[0])) < 1e-12


def _grid_two_atoms(n=64, L=12.0, dt=0.01, T=1.0):
    m, k, g, h = 1.0, 0.8, 0.3, 1.0
    d, R, P0 = 0.9, np.array([0.4, -0.3]), np.array([0.5, 0.2])

    def V(x, t, a):
        x1, x2 = x  # walls at both ends: K = [[2, -1], [-1, 2]], plus pinning
        return 0.5 * k * (x1**2 + (x1 - x2) ** 2 + x2**2) + 0.5 * g * (x1**2 + x2**2)

    grid = jqd.Grid((n, n), (L, L))
    x1, x2 = grid.mesh()
    psi = jnp.exp(
        -((x1 - R[0]) ** 2 + (x2 - R[1]) ** 2) / (2 * d * d) + 1j * (P0[0] * x1 + P0[1] * x2) / h
    )
    psi = jqd.normalize(psi, grid)
    law = jqd.SchrodingerGrid(grid, potential=V, scheme=jqd.schemes.Yoshida4())
    psi_t = jqd.evolve(
        law,
        psi,
        jqd.SchrodingerParams(hbar=h, mass=m),
        dt=dt,
        n_save=1,
        steps_per_save=round(T / dt),
    ).y_final
    rho = jnp.abs(psi_t) ** 2
    xs = (x1, x2)
    mean = np.array([grid.integrate(rho * x) for x in xs])
    cov = np.array(
        [
            [grid.integrate(rho * (a - mean[i]) * (b - mean[j])) for j, b in enumerate(xs)]
            for i, a in enumerate(xs)
        ]
    )
    return (m, k, g, h, d, R, P0, T), mean, cov


@pytest.mark.parametrize("kind", ["mode", pytest.param("dense", marks=SLOW)])
def test_two_atoms_match_schrodinger_grid(kind):
    (m, k, g, h, d, R, P0, T), mean, cov = _grid_two_atoms()
    lat = Lattice((2,), "fixed")
    law = HarmonicLattice(lat, covariance=kind)
    params = LatticeParams(m, k, g, h)
    y0 = product_state(law, params, R, d, P0)
    y = jqd.evolve(law, y0, params, dt=T / 3, n_save=1, steps_per_save=3).y_final
    assert np.abs(np.asarray(lat.to_atoms(y.q)) - mean).max() <= 1e-8
    assert np.abs(np.asarray(atom_covariance(law, y)) - cov).max() <= 1e-8


# -- energy variance against Fock space --------------------------------------------


def _fock_gaussian(cut=28, hbar=1.0):
    """Quadratures z = (x1, x2, p1, p2) (sparse) and a displaced, squeezed,
    mode-mixed two-mode state exp(−iG/ħ)|0⟩ in truncated Fock space."""
    a1 = sp.csr_matrix(np.diag(np.sqrt(np.arange(1, cut)), 1))
    eye = sp.identity(cut, format="csr")
    a = [sp.kron(a1, eye, format="csr"), sp.kron(eye, a1, format="csr")]
    x = [np.sqrt(hbar / 2) * (ai + ai.T) for ai in a]
    p = [1j * np.sqrt(hbar / 2) * (ai.T - ai) for ai in a]
    z = x + p
    B = np.array(
        [
            [0.3, 0.1, 0.05, 0.0],
            [0.1, 0.15, 0.0, 0.1],
            [0.05, 0.0, 0.1, 0.02],
            [0.0, 0.1, 0.02, 0.2],
        ]
    )
    c = np.array([0.4, -0.3, 0.2, 0.1])
    gen = sum(0.5 * B[i, j] * (z[i] @ z[j]) for i in range(4) for j in range(4))
    gen = gen + sum(c[i] * z[i] for i in range(4))
    e0 = np.zeros(cut * cut, complex)
    e0[0] = 1.0
    return z, spl.expm_multiply(-1j * gen / hbar, e0)


def test_gaussian_energy_variance_matches_fock_space():
    """Truncation is invisible: the state has < 1e-9 amplitude in the top 8 levels."""
    hbar, cut = 1.0, 40
    z, psi = _fock_gaussian(cut, hbar)
    A = np.array(
        [[1.1, 0.2, 0.1, 0.0], [0.2, 0.8, 0.0, -0.1], [0.1, 0.0, 0.9, 0.15], [0.0, -0.1, 0.15, 1.2]]
    )
    zpsi = [zi @ psi for zi in z]
    mu = np.array([np.vdot(psi, v).real for v in zpsi])
    dz = [v - m * psi for v, m in zip(zpsi, mu, strict=True)]
    Sigma = np.array([[np.vdot(dz[i], dz[j]).real for j in range(4)] for i in range(4)])
    Hpsi = sum(0.5 * A[i, j] * (z[i] @ zpsi[j]) for i in range(4) for j in range(4))
    var_fock = np.vdot(Hpsi, Hpsi).real - np.vdot(psi, Hpsi).real ** 2
    levels = np.abs(psi.reshape(cut, cut))
    assert max(levels[-8:].max(), levels[:, -8:].max()) < 1e-9
    var = float(jqd.reference.gaussian_energy_variance(A, Sigma, mu, hbar))
    assert var > 0.1
    assert abs(var - var_fock) <= 1e-10 * var_fock


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mode", "dense"])
def test_lattice_energy_variance_matches_reference(kind):
    law = HarmonicLattice(Lattice((6,), "fixed"), covariance=kind)
    y = displace(law, thermal_state(law, PARAMS, 0.7), 0.2 * np.arange(6), 0.1)
    y = jqd.evolve(law, y, PARAMS, dt=0.3, n_save=1, steps_per_save=2).y_final
    m = float(PARAMS.mass)
    A = np.diag(np.concatenate([m * np.asarray(law.omega_squared(PARAMS)), np.full(6, 1 / m)]))
    ref = jqd.reference.gaussian_energy_variance(
        A, _blocks_matrix(y, 6), np.concatenate([y.q, y.p]), float(PARAMS.hbar)
    )
    assert abs(float(energy_variance(law, PARAMS, y)) - float(ref)) <= 1e-12 * float(ref)


def test_fock_mode_atom_variance_matches_fock_space():
    """⟨n|Q²|n⟩ − ⟨0|Q²|0⟩ = nħ/(mω), times U_jk² at atom j."""
    m, w, h, n = 1.7, 0.6, 0.8, 3
    a = np.asarray(jqd.fock.destroy(10))
    Q = np.sqrt(h / (2 * m * w)) * (a + a.T)
    added = (Q @ Q)[n, n] - (Q @ Q)[0, 0]
    U = Lattice((5,), "fixed").modes()[0]
    ref = jqd.reference.fock_mode_atom_variance(U[2, 1], n, m, w, h)
    assert abs(U[2, 1] ** 2 * added - ref) <= 1e-14


# -- centre of mass, conservation, symplecticity -----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mode", "dense"])
def test_product_state_cm_variance_formula(kind):
    n, m, d, h = 12, 1.4, 0.7, 0.9
    law = HarmonicLattice(Lattice((n,), "periodic"), covariance=kind)
    params = LatticeParams(m, 0.8, 0.0, h)
    y0 = product_state(law, params, 0.1 * np.sin(np.arange(n)), d, 0.3)
    sol = jqd.evolve(
        law,
        y0,
        params,
        dt=0.5,
        n_save=6,
        steps_per_save=3,
        observe=lambda t, y, p: cm_variance(law, p, y),
    )
    ref = jqd.reference.product_state_cm_variance(n, m, d, np.asarray(sol.ts), h)
    np.testing.assert_allclose(np.asarray(sol.observables), ref, rtol=1e-12, atol=0)


def _symplectic_min_eig(state, hbar):
    M = _blocks_matrix(state, state.q.shape[0])
    n = M.shape[0] // 2
    J = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    return np.linalg.eigvalsh(M + 0.5j * hbar * J)[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mode", "dense"])
def test_conserved_mode_energies_energy_variance_and_uncertainty(kind):
    law = HarmonicLattice(Lattice((3, 4), "fixed"), covariance=kind)
    y0 = _correlated_state(law, PARAMS)
    obs = {
        "E": lambda t, y, p: mode_energies(law, p, y),
        "varH": lambda t, y, p: energy_variance(law, p, y),
        "H": lambda t, y, p: law.energy(t, y, p),
    }
    sol = jqd.evolve(law, y0, PARAMS, dt=0.45, n_save=5, steps_per_save=4, observe=obs)
    for key in obs:
        v = np.asarray(sol.observables[key])
        assert np.abs(v - v[0]).max() <= 1e-13 * np.abs(v[0]).max(), key
    H = kinetic_energy(law, PARAMS, sol.y_final) + potential_energy(law, PARAMS, sol.y_final)
    assert abs(float(H) - float(sol.observables["H"][0])) <= 1e-13
    # a pure state stays pure and physical: Σ + iħJ/2 ≥ 0 with a zero eigenvalue
    low0 = _symplectic_min_eig(y0, 0.9)
    low = _symplectic_min_eig(sol.y_final, 0.9)
    assert abs(low0) < 1e-13 and abs(low) < 1e-12
    if kind == "mode":
        np.testing.assert_allclose(symplectic_occupation(law, PARAMS, sol.y_final), 0.0, atol=1e-12)


@pytest.mark.slow
def test_thermal_state_occupations_and_equipartition():
    law = HarmonicLattice(Lattice((8,), "fixed"))
    T = 1.3
    y = thermal_state(law, PARAMS, T)
    w = np.asarray(law.frequencies(PARAMS))
    n_be = 1 / np.expm1(0.9 * w / T)
    np.testing.assert_allclose(mode_occupation(law, PARAMS, y), n_be, rtol=1e-13)
    np.testing.assert_allclose(symplectic_occupation(law, PARAMS, y), n_be, rtol=1e-12)
    # virial: ⟨KE⟩ = ⟨PE⟩ in any stationary state of an oscillator
    assert abs(float(kinetic_energy(law, PARAMS, y) - potential_energy(law, PARAMS, y))) < 1e-13
    g = ground_state(law, PARAMS)
    np.testing.assert_allclose(mode_occupation(law, PARAMS, g), 0.0, atol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize(
    "lattice", [Lattice((7,), "periodic"), Lattice((3, 4), "fixed"), Lattice((3, 3, 4), "periodic")]
)
def test_atom_and_bond_variances_match_dense_algebra(lattice):
    law_m = HarmonicLattice(lattice)
    law_d = HarmonicLattice(lattice, covariance="dense")
    params = LatticeParams(1.0, 1.0, 0.5, 1.0)
    ym, yd = thermal_state(law_m, params, 0.8), thermal_state(law_d, params, 0.8)
    U, _ = lattice.modes()
    C = U @ np.diag(ym.cov.qq) @ U.T
    b = lattice.bonds()
    bond = C[b[:, 0], b[:, 0]] + C[b[:, 1], b[:, 1]] - 2 * C[b[:, 0], b[:, 1]]
    for law, y in ((law_m, ym), (law_d, yd)):
        np.testing.assert_allclose(atom_variance(law, y), np.diag(C), rtol=1e-12)
        np.testing.assert_allclose(bond_variance(law, y), bond, rtol=1e-12)
        np.testing.assert_allclose(cm_variance(law, params, y), C.mean(), rtol=1e-12)


@pytest.mark.slow
def test_general_stiffness_matches_regular_lattice():
    reg = Lattice((9,), "periodic")
    gen = Lattice.from_stiffness(reg.stiffness())
    params = LatticeParams(1.0, 1.2, 0.3, 1.0)
    out = []
    for lat in (reg, gen):
        law = HarmonicLattice(lat)
        y = product_state(law, params, 0.2 * np.arange(9.0), 0.8, 0.1)
        y = jqd.evolve(law, y, params, dt=0.3, n_save=1, steps_per_save=5).y_final
        out.append(
            (
                np.asarray(lat.to_atoms(y.q)),
                np.asarray(atom_variance(law, y)),
                np.asarray(bond_variance(law, y)),
            )
        )
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.slow
def test_joined_blocks_meaning():
    law = HarmonicLattice(Lattice((10,), "fixed"), covariance="dense")
    params = LatticeParams(1.0, 1.0, 0.0, 1.0)
    y = joined_blocks(law, params, 4, 0.3)
    p_atoms = np.asarray(law.lattice.to_atoms(y.p))
    np.testing.assert_allclose(p_atoms, [0.3] * 4 + [-0.3] * 6, atol=1e-14)
    C = np.asarray(atom_covariance(law, y))
    assert np.abs(C[:4, 4:]).max() < 1e-14  # the blocks are uncorrelated
    # the left block alone: 4 atoms, wall at the left, free at the cut
    K = np.diag([2.0, 2, 2, 1]) - np.eye(4, k=1) - np.eye(4, k=-1)
    lam, V = np.linalg.eigh(K)
    np.testing.assert_allclose(C[:4, :4], V @ np.diag(0.5 / np.sqrt(lam)) @ V.T, atol=1e-13)


@pytest.mark.slow
def test_wigner_samples_have_the_state_moments():
    law = HarmonicLattice(Lattice((4,), "fixed"), covariance="dense")
    y = _correlated_state(law, PARAMS)
    x, p = wigner_sample(jax.random.key(1), law, y, 40_000)
    C = np.cov(np.asarray(x).T)
    se = 5 * np.sqrt(2 / 40_000) * np.abs(np.asarray(atom_covariance(law, y))).max()
    assert np.abs(C - np.asarray(atom_covariance(law, y))).max() < se


@pytest.mark.slow
def test_gradients_through_an_observable():
    law = HarmonicLattice(Lattice((6,), "fixed"))

    def f(spring, pinning, mass):
        params = LatticeParams(mass, spring, pinning, 1.0)
        y = displace(law, thermal_state(law, params, 0.5), 0.3, 0.0)
        y = jqd.evolve(law, y, params, dt=0.4, n_save=1, steps_per_save=3).y_final
        return jnp.sum(atom_variance(law, y)) + jnp.sum(law.lattice.to_atoms(y.q) ** 2)

    check_grads(f, (0.9, 0.3, 1.2), order=1, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6)


# -- bad input -----------------------------------------------------------------------


def _run(law, y, params, dt=0.1):
    return jqd.evolve(law, y, params, dt=dt, n_save=1)


@pytest.mark.parametrize(
    "params,match",
    [
        (LatticeParams(mass=-1.0), "params.mass"),
        (LatticeParams(spring=0.0), "params.spring"),
        (LatticeParams(pinning=-1.0), r"mode 0 has ω² = .* < 0.*params.pinning"),
    ],
)
def test_bad_params_name_the_argument(params, match):
    law = HarmonicLattice(Lattice((5,), "fixed"))
    y = ground_state(law, LatticeParams())
    with pytest.raises(ValueError, match=match):
        _run(law, y, params)


@pytest.mark.slow
@pytest.mark.parametrize(
    "params,match",
    [
        (LatticeParams(mass=-1.0), "params.mass"),
        (LatticeParams(spring=0.0), "params.spring"),
        (LatticeParams(pinning=-1.0), r"has ω² = \? < 0"),
    ],
)
def test_bad_params_refused_under_jit(params, match):
    """The same guards, staged in-graph when the params are traced."""
    law = HarmonicLattice(Lattice((5,), "fixed"))
    y = ground_state(law, LatticeParams())
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(jax.jit(lambda p: _run(law, y, p).y_final)(params))


def test_thermal_state_with_a_free_mode_is_refused():
    law = HarmonicLattice(Lattice((6,), "periodic"))
    with pytest.raises(ValueError, match=r"mode 0 is free.*pinning > 0"):
        thermal_state(law, LatticeParams(), 1.0)
    with pytest.raises(ValueError, match="temperature"):
        thermal_state(law, LatticeParams(pinning=0.1), -1.0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mode", "dense"])
def test_unphysical_covariance_is_refused(kind):
    law = HarmonicLattice(Lattice((4,), "fixed"), covariance=kind)
    y = ground_state(law, LatticeParams())
    squeezed = jax.tree_util.tree_map(lambda x: 0.5 * x, y.cov)  # Var Q Var P = ħ²/16
    bad = GaussianState(y.q, y.p, squeezed)
    with pytest.raises(ValueError, match=r"y0.cov violates Σ \+ iħJ/2 ≥ 0"):
        _run(law, bad, LatticeParams())
    with pytest.raises(Exception, match=r"violates Σ \+ iħJ/2"):
        jax.block_until_ready(
            jax.jit(lambda c: _run(law, GaussianState(y.q, y.p, c), LatticeParams()).y_final)(
                squeezed
            )
        )


def test_wrong_shapes_and_kinds_are_refused():
    law = HarmonicLattice(Lattice((4,), "fixed"))
    y = ground_state(law, LatticeParams())
    with pytest.raises(ValueError, match=r"y0.q must have shape \(4,\)"):
        _run(law, GaussianState(jnp.zeros(5), y.p, y.cov), LatticeParams())
    with pytest.raises(ValueError, match="y0.cov must be a ModeCovariance"):
        _run(law, GaussianState(y.q, y.p, DenseCovariance(jnp.eye(8))), LatticeParams())
    with pytest.raises(ValueError, match=r"y0.cov.qq must have shape"):
        _run(
            law,
            GaussianState(y.q, y.p, ModeCovariance(jnp.ones(3), y.cov.qp, y.cov.pp)),
            LatticeParams(),
        )
    with pytest.raises(ValueError, match="params.spring must be a scalar"):
        _run(law, y, LatticeParams(spring=jnp.ones(4)))
    with pytest.raises(ValueError, match="width must be a scalar"):
        product_state(law, LatticeParams(), 0.0, jnp.ones(4))
    with pytest.raises(ValueError, match="positions must be a scalar or have shape"):
        product_state(law, LatticeParams(), jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match="boundary must be one of"):
        Lattice((4,), "open")
    with pytest.raises(ValueError, match="covariance must be one of"):
        HarmonicLattice(Lattice((4,)), covariance="full")


def test_dense_covariance_over_the_memory_estimate_is_refused():
    with pytest.raises(ValueError, match=r"needs about 0.0671 GB.*use covariance='mode'"):
        HarmonicLattice(Lattice((1024,), "fixed"), covariance="dense", max_bytes=1e6)
    HarmonicLattice(Lattice((1024,), "fixed"), covariance="mode", max_bytes=1e6)  # fine


@pytest.mark.slow
def test_float32_stays_float32():
    law = HarmonicLattice(Lattice((8,), "periodic"))
    params = LatticeParams(1.0, 1.0, 0.0, 1.0)
    y = product_state(law, params, 0.1, 0.8, dtype=jnp.float32)
    out = jqd.evolve(law, y, params, dt=0.3, n_save=2).y_final
    assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(out))
    assert atom_variance(law, out).dtype == jnp.float32


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (3, 4, 5), (300,)])
def test_lattice_modes_diagonalize_the_stiffness(shape, boundary):
    """U orthogonal, K = U diag(λ) Uᵀ, and the fast transforms (dense 1-D
    matmul for short axes, FFT / odd-extension FFT for the 300-atom axis)
    equal x @ U."""
    lat = Lattice(shape, boundary)
    U, lam = lat.modes()
    n = lat.n_sites
    assert np.abs(U.T @ U - np.eye(n)).max() < 1e-12
    assert np.abs(U @ np.diag(lam) @ U.T - lat.stiffness()).max() < 1e-12
    np.testing.assert_allclose(lat.eigenvalues(), lam, atol=1e-13)
    x = np.random.default_rng(0).normal(size=(2, n))
    np.testing.assert_allclose(lat.to_modes(x), x @ U, atol=1e-12)
    np.testing.assert_allclose(lat.to_atoms(x), x @ U.T, atol=1e-12)


@pytest.mark.parametrize("n", [7, 13, 20])
def test_general_stiffness_free_mode_is_exactly_free(n):
    # eigh returns the centre-of-mass eigenvalue of a free chain as ±1e-16: it
    # must become an exact zero mode (N = 13, 20 used to be refused as unstable).
    K = np.diag(np.r_[1.0, 2.0 * np.ones(n - 2), 1.0]) - np.eye(n, k=1) - np.eye(n, k=-1)
    law = HarmonicLattice(Lattice.from_stiffness(K))
    params = LatticeParams(mass=1.0, spring=1.0, pinning=0.0, hbar=1.0)
    assert law.omega_squared(params)[0] == 0.0
    state = product_state(law, params, np.arange(n, dtype=float), 0.1)
    t = 0.3
    final = jqd.evolve(law, state, params, dt=0.1, n_save=3).y_final
    expected = jqd.reference.product_state_cm_variance(n, 1.0, 0.1, t, 1.0)
    assert abs(cm_variance(law, params, final) - expected) <= 1e-12 * expected
    assert np.isnan(mode_occupation(law, params, final)[0])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mode", pytest.param("dense", marks=pytest.mark.slow)])
def test_local_energies_sum_to_the_energy_and_match_wigner_samples(kind):
    law = HarmonicLattice(Lattice((3, 4), "fixed"), covariance=kind)
    y = _correlated_state(law, PARAMS)
    eps = np.asarray(local_energy(law, PARAMS, y))
    H = float(kinetic_energy(law, PARAMS, y) + potential_energy(law, PARAMS, y))
    assert abs(eps.sum() - H) <= 1e-13 * abs(H)
    # independent: the Wigner function gives quadratic moments exactly; 4e5 draws
    u, p = (np.asarray(a) for a in wigner_sample(jax.random.key(3), law, y, 400_000))
    A = PARAMS.spring * law.lattice.stiffness() + PARAMS.pinning * np.eye(law.n_modes)
    samples = p**2 / (2 * PARAMS.mass) + 0.5 * u * (u @ A)
    se = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - eps) <= 5 * se)
    # a thermal state of a periodic lattice is uniform
    ring = HarmonicLattice(Lattice((6,), "periodic"), covariance=kind)
    eps_ring = np.asarray(local_energy(ring, PARAMS, thermal_state(ring, PARAMS, 0.7)))
    np.testing.assert_allclose(eps_ring, eps_ring.mean(), rtol=1e-13)
