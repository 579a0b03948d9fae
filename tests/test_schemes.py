"""`jqd.schemes`: each scheme object's declared `order` against its measured
order (strong on the harmonic oscillator, weak on the Ornstein-Uhlenbeck
process from exact moments of the linear recursion, as in tests/test_orders.py,
which checks the scheme functions), and how laws take them (`scheme_named`,
`check_scheme`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _steppers
from jqd.schemes import (
    RK4,
    AbstractScheme,
    EulerMaruyama,
    Midpoint,
    StochasticHeun,
    Strang,
    Yoshida4,
)
from jqd.stats import loglog_slope

OMEGA, T = 1.3, 2.0
Y0 = jnp.array([1.0, 0.3])
NS = np.array([20, 40, 80, 160])
ALL = (Strang, Yoshida4, RK4, Midpoint, EulerMaruyama, StochasticHeun)


def _oscillator(t, y):
    return jnp.array([y[1], -(OMEGA**2) * y[0]])


def _verlet(y, h):  # kick(h/2) drift(h) kick(h/2): symmetric, order 2
    kick = lambda y, h: jnp.array([y[0], y[1] - h * OMEGA**2 * y[0]])
    drift = lambda y, h: jnp.array([y[0] + h * y[1], y[1]])
    return _steppers.strang(kick, drift, y, h)


def _exact(t):
    c, s = np.cos(OMEGA * t), np.sin(OMEGA * t)
    return np.array([Y0[0] * c + Y0[1] / OMEGA * s, -Y0[0] * OMEGA * s + Y0[1] * c])


def _strong_error(scheme, n):
    if isinstance(scheme, jqd.schemes.AbstractSplitting):
        step = jax.jit(lambda t, y, dt: scheme.compose(_verlet, y, dt))
    else:
        step = jax.jit(lambda t, y, dt: scheme.step(_oscillator, t, y, dt))
    y, dt = Y0, T / n
    for i in range(n):
        y = step(i * dt, y, dt)
    return float(np.max(np.abs(np.asarray(y) - _exact(T))))


def _weak_error(scheme, n, a=0.8, sigma=0.6, x0=1.5):
    """|mean − exact| + |var − exact| of X_T for dX = −aX dt + σ dW."""
    dt = T / n
    drift = lambda t, x: -a * x
    A = float(scheme.step(drift, 0.0, jnp.array(1.0), dt, jnp.array(0.0)))
    B = float(scheme.step(drift, 0.0, jnp.array(0.0), dt, jnp.array(1.0)))
    mean, var = x0, 0.0
    for _ in range(n):
        mean, var = A * mean, A**2 * var + B**2 * sigma**2 * dt
    exact_var = sigma**2 / (2 * a) * (1 - np.exp(-2 * a * T))
    return abs(mean - x0 * np.exp(-a * T)) + abs(var - exact_var)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_declared_order_is_measured(cls):
    scheme = cls()
    stochastic = isinstance(scheme, jqd.schemes.AbstractSDEScheme)
    error = _weak_error if stochastic else _strong_error
    errs = [error(scheme, int(n)) for n in NS]
    assert abs(loglog_slope(T / NS, errs) - scheme.order) < 0.2, errs


def test_splittings_compose_their_weights():
    """Strang: the symmetric step once (dt itself); Yoshida4: three sub-steps
    of its weights; the weights sum to one."""
    for cls, expected in ((Strang, [0.1]), (Yoshida4, [w * 0.1 for w in Yoshida4.weights])):
        calls = []
        cls().compose(lambda y, h, calls=calls: calls.append(h) or y, Y0, 0.1)
        assert calls == expected
    for cls in (Strang, Yoshida4):
        assert abs(sum(cls.weights) - 1) < 1e-15
    assert Yoshida4.weights == _steppers.YOSHIDA_WEIGHTS


def test_names_and_checks():
    names = [n for cls in ALL for n in cls.names]
    assert len(names) == len(set(names)), names
    allowed = (Strang, Yoshida4)
    assert _steppers.scheme_named("verlet", allowed) == Strang()
    assert _steppers.scheme_named(Yoshida4(), allowed) == Yoshida4()
    with pytest.raises(ValueError, match=r"'rk4' is not one of .*Strang\(\).*'yoshida4'"):
        _steppers.scheme_named("rk4", allowed)
    _steppers.check_scheme(Yoshida4(), allowed)
    with pytest.raises(TypeError, match=r"integrator must be one of .*got RK4\(\)"):
        _steppers.check_scheme(RK4(), allowed, "integrator")
    # no arrays: equal and hashable, so a law holds its scheme as a static field
    # (one compiled program per scheme class, however the scheme was given)
    assert all(isinstance(cls(), AbstractScheme) and hash(cls()) == hash(cls()) for cls in ALL)
    structure = lambda scheme: jax.tree_util.tree_structure(
        jqd.SchrodingerGrid(jqd.Grid(8, 1.0), scheme=scheme)
    )
    assert structure("yoshida4") == structure(Yoshida4()) != structure(Strang())
