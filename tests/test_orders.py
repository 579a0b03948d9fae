"""Each shared scheme's measured convergence order against its declared order.

Deterministic schemes are run on the harmonic oscillator (exact solution
known); the stochastic ones on the Ornstein-Uhlenbeck process
dX = −aX dt + σ dW, whose schemes are linear in (X, dW), so the mean and
variance after n steps follow exactly from the one-step coefficients
(X_{k+1} = A X_k + B ξ): weak errors without Monte-Carlo noise.
Declared orders: Strang 2, Yoshida 4, RK4 4, Heun 2, Euler 1, Euler-Maruyama
weak 1, stochastic Heun weak 2 (additive noise).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jqd import _steppers
from jqd.stats import loglog_slope

OMEGA, T = 1.3, 2.0
Y0 = jnp.array([1.0, 0.3])


def _oscillator(t, y):
    return jnp.array([y[1], -(OMEGA**2) * y[0]])


def _exact(t):
    c, s = np.cos(OMEGA * t), np.sin(OMEGA * t)
    return np.array([Y0[0] * c + Y0[1] / OMEGA * s, -Y0[0] * OMEGA * s + Y0[1] * c])


def _kick(y, h):  # flow of the potential part
    return jnp.array([y[0], y[1] - h * OMEGA**2 * y[0]])


def _drift(y, h):  # flow of the kinetic part
    return jnp.array([y[0] + h * y[1], y[1]])


_strang = lambda f, t, y, dt: _steppers.strang(_kick, _drift, y, dt)
_yoshida = lambda f, t, y, dt: _steppers.yoshida4(
    lambda y, h: _steppers.strang(_kick, _drift, y, h), y, dt
)
_rk4_scan = lambda f, t, y, dt: _steppers.rk4(f, t, y, dt, scan_stages=True)

DETERMINISTIC = {
    "euler": (_steppers.euler, 1),
    "heun": (_steppers.heun, 2),
    "rk4": (_steppers.rk4, 4),
    "rk4-scan-stages": (_rk4_scan, 4),
    "strang": (_strang, 2),
    "yoshida4": (_yoshida, 4),
}


def _error(scheme, n):
    dt = T / n
    y = Y0
    step = jax.jit(lambda t, y, dt: scheme(_oscillator, t, y, dt))  # one compile, not n eager steps
    for i in range(n):
        y = step(i * dt, y, dt)
    return float(np.max(np.abs(np.asarray(y) - _exact(T))))


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_deterministic_order(name):
    scheme, order = DETERMINISTIC[name]
    ns = np.array([20, 40, 80, 160])
    errs = [_error(scheme, int(n)) for n in ns]
    assert abs(loglog_slope(T / ns, errs) - order) < 0.2


A_OU, SIGMA = 0.8, 0.6
X0 = 1.5


def _ou_moments(scheme, n):
    """Mean and variance of X_T under the scheme, exactly (linear recursion)."""
    dt = T / n
    drift = lambda t, x: -A_OU * x
    A = float(scheme(drift, 0.0, jnp.array(1.0), dt, jnp.array(0.0)))
    B = float(scheme(drift, 0.0, jnp.array(0.0), dt, jnp.array(1.0)))
    # noise enters as σ dW with dW ~ N(0, dt)
    mean, var = X0, 0.0
    for _ in range(n):
        mean, var = A * mean, A**2 * var + B**2 * SIGMA**2 * dt
    return mean, var


def _ou_exact():
    mean = X0 * np.exp(-A_OU * T)
    var = SIGMA**2 / (2 * A_OU) * (1 - np.exp(-2 * A_OU * T))
    return mean, var


STOCHASTIC = {
    "euler_maruyama": (_steppers.euler_maruyama, 1),
    "stochastic_heun": (_steppers.stochastic_heun, 2),
}


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_weak_order(name):
    scheme, order = STOCHASTIC[name]
    ns = np.array([20, 40, 80, 160])
    m_ex, v_ex = _ou_exact()
    errs = []
    for n in ns:
        m, v = _ou_moments(scheme, int(n))
        errs.append(abs(m - m_ex) + abs(v - v_ex))
    assert abs(loglog_slope(T / ns, errs) - order) < 0.2


def test_rk4_aux_is_the_rk4_combination():
    """has_aux returns dt/6 (a1 + 2 a2 + 2 a3 + a4) of the auxiliary rates:
    for aux = the rate itself it equals the increment."""
    f = lambda t, y: (_oscillator(t, y), _oscillator(t, y))
    y1, aux = _steppers.rk4(f, 0.0, Y0, 0.1, has_aux=True)
    np.testing.assert_allclose(aux, y1 - Y0, rtol=1e-14)
    y2, aux2 = _steppers.rk4(f, 0.0, Y0, 0.1, has_aux=True, scan_stages=True)
    np.testing.assert_allclose(y2, y1, rtol=1e-14)
    np.testing.assert_allclose(aux2, aux, rtol=1e-14)


def _law_cases_with_order():
    from helpers import LAW_CASES, build

    return [
        i for i in sorted(LAW_CASES) if build(i).order is not None and not build(i).law.stochastic
    ]


# ~25 s each on 2 cores; the same schemes are order-tested in the default run
# through dqm-madelung (RK4 on the same fluid stencils as dqm-canonical) and
# husimi-flow-analytic (the flow law with an analytic density)
SLOW_ORDER_CASES = {"dqm-canonical", "husimi-flow-galerkin"}


@pytest.mark.parametrize(
    "case_id",
    [
        pytest.param(i, marks=pytest.mark.slow) if i in SLOW_ORDER_CASES else i
        for i in _law_cases_with_order()
    ],
)
def test_law_declared_order(case_id):
    """Each deterministic law's `step` converges at its declared order on its
    contract problem: errors at dt, dt/2, dt/4 against dt/32 over the same time
    span (a clear error slope; within ±0.35 of the declared order)."""
    import jax
    from helpers import build

    import jqd

    case = build(case_id)
    span = case.dt * 8
    finals = {}
    for k in (1, 2, 4, 32):
        sol = jqd.evolve(
            case.law, case.y0, case.params, dt=case.dt / k, n_save=1, steps_per_save=8 * k
        )
        finals[k] = [np.asarray(x) for x in jax.tree_util.tree_leaves(sol.y_final)]
    errs = [
        max(float(np.max(np.abs(a - b))) for a, b in zip(finals[k], finals[32], strict=True))
        for k in (1, 2, 4)
    ]
    dts = np.array([case.dt, case.dt / 2, case.dt / 4])
    assert span > 0 and min(errs) > 0
    assert abs(loglog_slope(dts, errs) - case.order) < 0.35, errs
