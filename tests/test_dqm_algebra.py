"""The (ρ, S) algebra of observables (physics §2.6; Z27, Z35-Z44, Z55):
canonical brackets, brackets = commutators on a non-Gaussian state, Z41's
momentum density, the localization energy = ⟨Q⟩ and its closed form; jit equals
eager, vmap equals the loop, gradients against closed forms.
The experiment with every check is experiments/dqm_algebra/."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import dqm
from jqd.dqm import DQMParams, MadelungState

HBAR, MASS = 0.7, 1.3
PARAMS = DQMParams(hbar=HBAR, mass=MASS, potential={"k": 1.0})
V = lambda x, t, a: 0.5 * a["k"] * x[0] ** 2
GRID = jqd.Grid(128, 20.0)


def _state(a=0.8, x0=0.4, p=0.6, b=0.5, d=0.0):
    """√ρ ∝ g(x − x0 − d/2) + g(x − x0 + d/2), g = e^{−x²/2a²}; S_total = p x + b x²/2
    + 0.1 x³ e^{−x²/4} (the cubic part periodic)."""
    x = GRID.mesh()[0]
    amp = jnp.exp(-((x - x0 - d / 2) ** 2) / (2 * a**2)) + jnp.exp(
        -((x - x0 + d / 2) ** 2) / (2 * a**2)
    )
    rho = amp**2 / GRID.integrate(amp**2)
    S = 0.1 * x**3 * jnp.exp(-(x**2) / 4)
    return MadelungState(rho, S, jnp.asarray([p]), jnp.asarray([b]))


def _functionals(law):
    return (
        lambda y: dqm.position_moment(GRID, y, 1),
        lambda y: dqm.momentum_mean(GRID, y),
        lambda y: dqm.position_moment(GRID, y, 2),
        lambda y: dqm.momentum_square(GRID, y, PARAMS),
        lambda y: dqm.hamiltonian(law, y, PARAMS),
    )


def _operators():
    x = GRID.mesh()[0]
    p = lambda f: -1j * HBAR * GRID.gradient(f)[0]
    return (
        lambda f: x * f,
        p,
        lambda f: x**2 * f,
        lambda f: p(p(f)),
        lambda f: p(p(f)) / (2 * MASS) + V((x,), 0.0, PARAMS.potential) * f,
    )


def test_canonical_brackets_and_antisymmetry():
    """{x̄, p̄} = 1, {x̄, x̄} = 0, {A, B} = −{B, A}; the matrix equals the pairwise calls."""
    law = dqm.CanonicalDQM(GRID, V, derivative="spectral")
    fs = _functionals(law)
    y = _state(d=1.5)
    M = np.asarray(dqm.poisson_brackets(GRID, fs, y))
    assert M[0, 1] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(M, -M.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(M), 0, atol=1e-12)
    assert float(dqm.poisson_bracket(GRID, fs[3], fs[4], y)) == pytest.approx(M[3, 4], abs=1e-12)


def test_brackets_equal_commutators_and_values_equal_expectations():
    """Z37-Z38 on a two-packet state with a chirp and a cubic phase, ħ = 0.7, m = 1.3."""
    law = dqm.CanonicalDQM(GRID, V, derivative="spectral")
    fs = _functionals(law)
    y = _state(d=1.5)
    psi = dqm.state_to_psi(GRID, y, HBAR)
    applied = [op(psi) for op in _operators()]
    inner = lambda f, g: GRID.integrate(jnp.conj(f) * g)
    comm = np.array([[2 / HBAR * float(jnp.imag(inner(a, b))) for b in applied] for a in applied])
    np.testing.assert_allclose(dqm.poisson_brackets(GRID, fs, y), comm, atol=1e-9)
    values = [float(f(y)) for f in fs]
    expect = [float(jnp.real(inner(psi, a))) for a in applied]
    np.testing.assert_allclose(values, expect, atol=1e-10)


def test_momentum_density_is_psi_star_p_psi():
    """Z41: ρ(mv + imu) = ψ*(ħ/i)∇ψ pointwise; ∫ρu = 0."""
    y = _state(d=1.0)
    psi = dqm.state_to_psi(GRID, y, HBAR)
    flux = jnp.conj(psi) * _operators()[1](psi)
    density = dqm.momentum_density(GRID, y, PARAMS)
    assert float(jnp.max(jnp.abs(density - flux))) < 1e-10
    assert abs(float(jnp.imag(GRID.integrate(density)))) < 1e-12


@pytest.mark.parametrize("a", [0.6, 1.0, 1.7])
def test_localization_energy_closed_form_and_quantum_potential(a):
    """Z55: Ū_u = ħ²/4ma² for ρ ∝ e^{−x²/a²}, = ⟨Q⟩ (spectral and 8th order)."""
    y = _state(a=a, x0=0.0, d=0.0)
    U = float(dqm.localization_energy(GRID, y, PARAMS))
    assert U == pytest.approx(HBAR**2 / (4 * MASS * a**2), rel=1e-9)
    assert float(dqm.quantum_potential_mean(GRID, y, PARAMS)) == pytest.approx(U, rel=1e-9)
    assert float(dqm.quantum_potential_mean(GRID, y, PARAMS, kind="fd8")) == pytest.approx(
        U, rel=1e-5
    )
    # ⟨p²⟩ = 2m Ū_u + ∫ρ(∂S)²: the osmotic part is the localization energy
    osm = float(dqm.osmotic_momentum_square(GRID, y, PARAMS))
    assert osm == pytest.approx(2 * MASS * U, rel=1e-12)


def test_jit_equals_eager():
    law = dqm.CanonicalDQM(GRID, V, derivative="spectral")
    fs = _functionals(law)
    y = _state(d=1.0)
    f = lambda y: (dqm.poisson_brackets(GRID, fs, y), dqm.localization_energy(GRID, y, PARAMS))
    eager, jitted = f(y), jax.jit(f)(y)
    np.testing.assert_allclose(jitted[0], eager[0], atol=1e-13)
    np.testing.assert_allclose(jitted[1], eager[1], rtol=1e-13)


def test_vmap_equals_loop():
    law = dqm.CanonicalDQM(GRID, V, derivative="spectral")
    ys = [_state(a=a, d=d) for a, d in ((0.7, 0.0), (0.9, 1.0), (1.2, 2.0))]
    batch = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *ys)
    f = lambda y: jnp.stack(
        [
            dqm.poisson_bracket(GRID, _functionals(law)[3], _functionals(law)[4], y),
            dqm.momentum_square(GRID, y, PARAMS),
            dqm.localization_energy(GRID, y, PARAMS),
        ]
    )
    np.testing.assert_allclose(jax.vmap(f)(batch), np.stack([f(y) for y in ys]), rtol=1e-12)


def test_gradients_against_closed_forms():
    """∂Ū_u/∂ħ = ħ/2ma² and ∂Ū_u/∂a = −ħ²/2ma³ (the state differentiated through)."""
    a = 0.9
    y = _state(a=a, x0=0.0, d=0.0)
    dU_dhbar = jax.grad(lambda h: dqm.localization_energy(GRID, y, DQMParams(hbar=h, mass=MASS)))(
        HBAR
    )
    assert float(dU_dhbar) == pytest.approx(HBAR / (2 * MASS * a**2), rel=1e-9)
    dU_da = jax.grad(lambda a: dqm.localization_energy(GRID, _state(a=a, x0=0.0), PARAMS))(a)
    assert float(dU_da) == pytest.approx(-(HBAR**2) / (2 * MASS * a**3), rel=1e-8)


def test_float32_stays_float32():
    y = jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), _state())
    assert dqm.localization_energy(GRID, y, PARAMS).dtype == jnp.float32
    assert dqm.poisson_bracket(GRID, _functionals(None)[0], _functionals(None)[1], y).dtype == (
        jnp.float32
    )
