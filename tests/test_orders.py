"""Each shared scheme's measured convergence order against its declared order.

Deterministic schemes are run on the harmonic oscillator (exact solution
known); the stochastic ones on the Ornstein-Uhlenbeck process
dX = −aX dt + σ dW, whose schemes are linear in (X, dW), so the mean and
variance after n steps follow exactly from the one-step coefficients
(X_{k+1} = A X_k + B ξ): weak errors without Monte-Carlo noise.
Declared orders: Strang 2, Yoshida 4, RK4 4, Heun 2, Euler 1, Euler-Maruyama
weak 1, stochastic Heun weak 2 (additive noise).

Then every law of the contract table (`helpers.LAW_CASES`, tests/cases_*.py)
against the order its `LawCase` declares: strong order by self-convergence
for deterministic laws, exactness (one step = two half steps) where the order
is None, weak order where a stochastic case gives an observable with a
closed-form mean (`helpers.WeakReference`), and otherwise a stated reason.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import LAW_CASES, build

from jqd import _steppers
from jqd.schemes import EulerMaruyama, StochasticHeun, Yoshida4
from jqd.stats import loglog_slope

IDS = sorted(LAW_CASES)

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
_yoshida = lambda f, t, y, dt: Yoshida4().compose(
    lambda y, h: _steppers.strang(_kick, _drift, y, h), y, dt
)
_rk4_scan = lambda f, t, y, dt: _steppers.rk4(f, t, y, dt, scan_stages=True)

DETERMINISTIC = {
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
    "euler_maruyama": (EulerMaruyama().step, 1),
    "stochastic_heun": (StochasticHeun().step, 2),
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


# -- every law's declared order, on its contract problem (tests/cases_*.py) ---------------

# Reasons, per contract line, why its order cannot be checked here. (A new
# line says so itself, with `LawCase(skip={"order": reason})`, or gives a
# stochastic law a `WeakReference`; these lines predate both.)
NOT_CHECKED = {
    # deterministic, order None, but not exact in dt
    "thermal-gas-2d": "order None: Störmer-Verlet, but U'' jumps where a contact starts or "
    "ends, so the error follows no clean order (tests/cases_thermal_classical.py); not exact "
    "either (one step = two half steps only while no pair is in contact, as in this problem)",
    "husimi-grid-project": "order None: RK4 followed by a non-smooth map (clipping) every "
    "step: no clean order in dt (tests/cases_husimi_grid.py), and not exact",
    "husimi-grid-none": "order None: RK4 followed by a non-smooth map (the L1 indicator "
    "`removed`) every step: no clean order in dt (tests/cases_husimi_grid.py), and not exact",
    "husimi-fb-amplifier": "order None: one step is a Picard sweep of the path iteration, not "
    "a time step (dt unused)",
    "husimi-fb-kerr": "order None: one step is a Picard sweep of the path iteration, not a "
    "time step (dt unused)",
    # stochastic, exact in dt: in distribution only
    "copy-gillespie-counts": "stochastic and exact in dt (event-driven): one step and two "
    "half steps draw different events from one key, so they agree in distribution only",
    "copy-gillespie-members": "stochastic and exact in dt (event-driven): one step and two "
    "half steps draw different events from one key, so they agree in distribution only",
    "copy-members-faithful": "stochastic and exact in dt (thinning): one step and two half "
    "steps draw different events from one key, so they agree in distribution only",
    "copy-members-faithful-mobius": "stochastic and exact in dt (thinning): one step and two "
    "half steps draw different events from one key, so they agree in distribution only",
    # stochastic with a declared weak order, no closed-form mean on the contract problem
    "bell-jumps": "weak order 2 with no closed-form mean on the contract problem; the law's "
    "own transition kernel converges at order 2, noise free, in tests/test_nelson_two_time.py"
    "::test_bell_jumps_kernel_weak_order_two (slow)",
    "copy-counts-tau-leap": "weak order 1 with no closed-form mean at finite N; the "
    "large-N bias falls as dt² in tests/test_copy_process.py::test_tau_leap_bias_is_second_order",
    "copy-members-tau-leap": "weak order 1 with no closed-form mean at finite N; the count "
    "level's bias (same scheme) is measured in tests/test_copy_process.py",
    "dqm-nelson-heun": "weak order 2 with no closed-form mean on the contract problem (ψ on "
    "a grid, 32 particles not drawn from |ψ0|²); tests/test_dqm_nelson.py checks exact "
    "Gaussian moments at one dt, not the order",
    "dqm-nelson-euler": "weak order 1 with no closed-form mean on the contract problem (ψ on "
    "a grid, 32 particles not drawn from |ψ0|²); tests/test_dqm_nelson.py checks exact "
    "Gaussian moments at one dt, not the order",
}

# ~25 s each on 2 cores; the same schemes are order-tested in the default run
# through dqm-madelung (RK4 on the same fluid stencils as dqm-canonical) and
# husimi-flow-analytic (the flow law with an analytic density)
SLOW_ORDER_CASES = {"dqm-canonical", "husimi-flow-galerkin"}


def _leaves(y):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(y)]


def _max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(_leaves(a), _leaves(b), strict=True))


@eqx.filter_jit
def _run(law, y0, params, dt, n, key):
    """`law.step` n times from t = 0 (step i at t = i dt), as `jqd.evolve`
    steps, with dt and n traced: one compile per law for every (dt, n) a
    check needs, where `evolve` compiles once per number of steps (which is
    static there). A stochastic step i draws from `fold_in(key, i)`."""
    stepper = law.prepare(params, dt)

    def body(i, y):
        k = None if key is None else jax.random.fold_in(key, i)
        return stepper.step(i * dt, y, params, dt, k)

    return jax.lax.fori_loop(0, n, body, y0)


def _final(case, y0, dt, n, key=None):
    real = jnp.finfo(jax.tree_util.tree_leaves(y0)[0].dtype).dtype
    return _run(case.law, y0, case.params, jnp.asarray(dt, real), jnp.asarray(n), key)


def _check_strong_order(case):
    """Errors at dt, dt/2, dt/4 against dt/32 over the same 8 steps of dt:
    a clear error slope, within ±0.35 of the declared order."""
    finals = {k: _final(case, case.y0, case.dt / k, 8 * k) for k in (1, 2, 4, 32)}
    errs = [_max_diff(finals[k], finals[32]) for k in (1, 2, 4)]
    dts = np.array([case.dt, case.dt / 2, case.dt / 4])
    assert min(errs) > 0, errs
    slope = loglog_slope(dts, errs)
    assert abs(slope - case.order) < 0.35, (slope, errs)


def _check_exact_step(case):
    """order None: one step of dt equals two steps of dt/2 to round-off."""
    one = _final(case, case.y0, case.dt, 1)
    two = _final(case, case.y0, case.dt / 2, 2)
    scale = max(float(np.max(np.abs(x))) for x in _leaves(one))
    diff = _max_diff(one, two)
    assert diff <= 1e-10 * max(scale, 1.0), diff


def _check_weak_order(case):
    """The ensemble mean of the case's `WeakReference` observable at its
    steps (dt, dt/2, ...) against its closed form: each error resolved
    (> 4 Monte-Carlo standard errors) and the slope of log error vs log dt
    >= order − 0.3."""
    ref = case.weak
    errs = []
    for i, dt in enumerate(ref.dts):
        n = round(ref.t / dt)
        assert abs(n * dt - ref.t) < 1e-9 * ref.t, f"t = {ref.t} is not a multiple of dt = {dt}"
        values = np.asarray(ref.values(_final(case, ref.y0, dt, n, jax.random.key(i))))
        err = np.abs(values.mean(0) - np.asarray(ref.exact(ref.t, case.params)))
        se = values.std(0) / np.sqrt(len(values))
        assert err.max() > 4 * se.max(), f"dt = {dt}: error {err} not resolved (SE {se})"
        errs.append(err.max())
    slope = loglog_slope(np.asarray(ref.dts), errs)
    assert slope >= case.order - 0.3, (slope, errs)


@pytest.mark.parametrize(
    "case_id",
    [pytest.param(i, marks=pytest.mark.slow) if i in SLOW_ORDER_CASES else i for i in IDS],
)
def test_law_declared_order(case_id):
    """Each law's `step` against its declared order on its contract problem:
    deterministic laws converge at it (or, order None, are exact in dt);
    stochastic laws with a closed-form mean reach it in the weak sense; the
    rest say why not (`NOT_CHECKED` or the case's `skip["order"]`)."""
    case = build(case_id)
    reason = case.skip.get("order", NOT_CHECKED.get(case_id))
    if reason is not None:
        pytest.skip(reason)
    if case.law.stochastic:
        if case.weak is None:
            pytest.fail(
                f"{case_id}: a stochastic law needs LawCase(weak=WeakReference(...)) "
                'or skip={"order": "why its weak order cannot be checked"}'
            )
        _check_weak_order(case)
    elif case.order is None:
        _check_exact_step(case)
    else:
        _check_strong_order(case)
