"""The shared integrators: time bookkeeping, keys, checkpointing, adaptive path."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd


class _Decay(jqd.AbstractLaw):
    """dy/dt = −k y, exact step (a linear ODE with a closed form)."""

    def step(self, t, y, params, dt, key=None):
        return y * jnp.exp(-params.k * dt)

    def vector_field(self, t, y, params):
        return -params.k * y


class _K(eqx.Module):
    k: float = 0.7


class _Brownian(jqd.AbstractLaw):
    """dX = √(2D) dW: Euler-Maruyama is exact in distribution."""

    stochastic = True

    def step(self, t, y, params, dt, key):
        return y + jnp.sqrt(2 * params.k * dt) * jax.random.normal(key, y.shape, y.dtype)


class _FieldDecay(jqd.AbstractLaw):
    """dy/dt = −k y with k a field of the law (traced when the law is mapped over)."""

    k: jax.Array

    def step(self, t, y, params, dt, key=None):
        return y * jnp.exp(-self.k * dt)


def test_vmap_over_a_law_field_alone():
    """Only the law is traced (y0, params concrete): evolve stays in-graph."""
    ks = jnp.array([0.5, 1.0])
    run = lambda k: jqd.evolve(_FieldDecay(k), jnp.ones(2), None, dt=0.1, n_save=3).y_final
    np.testing.assert_allclose(jax.vmap(run)(ks), np.exp(-0.3 * np.asarray(ks))[:, None] * [1, 1])


class _Clock(jqd.AbstractLaw):
    """Records the time each step starts at."""

    def step(self, t, y, params, dt, key=None):
        return jnp.concatenate([y[1:], jnp.atleast_1d(t)])


def test_times_are_computed_not_accumulated():
    dt = 0.1
    sol = jqd.evolve(_Clock(), jnp.zeros(7), None, dt=dt, n_save=1000, steps_per_save=7, t0=0.3)
    assert sol.ts.shape == (1001,)
    # the last seven step start times, t0 + i*dt exactly as computed
    i = np.arange(7000 - 7, 7000)
    ulp = np.spacing(700.0)
    np.testing.assert_allclose(np.asarray(sol.y_final), 0.3 + i * dt, rtol=0, atol=2 * ulp)
    # accumulating t += dt instead would drift by far more than two ulps
    accumulated = np.cumsum(np.full(7000, dt)) + 0.3
    assert abs(accumulated[-8] - (0.3 + 6993 * dt)) > 10 * ulp
    assert abs(float(sol.ts[-1]) - (0.3 + 7000 * dt)) <= 2 * ulp
    assert int(sol.stats["n_steps"]) == 7000


def test_fixed_and_adaptive_agree_with_closed_form():
    ts_fixed = jqd.evolve(
        _Decay(), jnp.array([1.0, 2.0]), _K(), dt=0.01, n_save=50, steps_per_save=10
    )
    exact = jnp.exp(-0.7 * ts_fixed.ts)[:, None] * jnp.array([1.0, 2.0])
    np.testing.assert_allclose(ts_fixed.observables, exact, rtol=1e-13)
    sol = jqd.evolve_adaptive(_Decay(), jnp.array([1.0, 2.0]), _K(), ts_fixed.ts)
    np.testing.assert_allclose(sol.observables, exact, rtol=1e-9)
    assert int(sol.stats["num_accepted_steps"]) > 0
    np.testing.assert_allclose(sol.y_final, exact[-1], rtol=1e-9)


def test_adaptive_new_tolerance_does_not_recompile():
    """rtol, atol and dt0 are values of the program, not part of it: a new
    tolerance runs the compiled program again (issue 56: a recompile of ~2 s
    per tolerance), and still sets the accuracy."""
    y0, ts, exact = jnp.array([1.0, 2.0]), jnp.linspace(0.0, 2.0, 5), None
    exact = jnp.exp(-0.7 * ts)[:, None] * y0
    loose = jqd.evolve_adaptive(_Decay(), y0, _K(), ts, rtol=1e-4, atol=1e-6, dt0=0.1)
    counted = []
    listener = lambda event, duration, **kw: counted.append(event)  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        tight = jqd.evolve_adaptive(_Decay(), y0, _K(), ts, rtol=1e-11, atol=1e-13, dt0=0.05)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert "/jax/core/compile/backend_compile_duration" not in counted
    err = lambda sol: float(jnp.max(jnp.abs(sol.observables - exact)))
    assert err(tight) < 1e-9 < err(loose)
    assert int(tight.stats["n_steps"]) > int(loose.stats["n_steps"])


class _Shift(jqd.AbstractLaw):
    """dy/dt = −k (y − c): a Python float on the law, traced like params'."""

    c: float = 0.5

    def step(self, t, y, params, dt, key=None):
        return self.c + (y - self.c) * jnp.exp(-params.k * dt)

    def vector_field(self, t, y, params):
        return -params.k * (y - self.c)


def test_both_integrators_reuse_the_program_for_new_values():
    """One entry pattern: floats (the law's, params', dt, t0, the save times)
    become arrays before `eqx.filter_jit`, so new values run the compiled
    program again, for `evolve` and `evolve_adaptive` alike."""
    y0, ts, later = jnp.array([1.0, 2.0]), jnp.linspace(0.0, 2.0, 5), jnp.linspace(1.0, 5.0, 5)
    jqd.evolve(_Shift(), y0, _K(), dt=0.1, n_save=4)
    jqd.evolve_adaptive(_Shift(), y0, _K(), ts)
    counted = []
    listener = lambda event, duration, **kw: counted.append(event)  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        a = jqd.evolve(_Shift(c=-1.0), y0, _K(k=0.3), dt=0.2, n_save=4, t0=1.0)
        b = jqd.evolve_adaptive(_Shift(c=-1.0), y0, _K(k=0.3), later)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert "/jax/core/compile/backend_compile_duration" not in counted
    exact = lambda t: -1.0 + (y0 + 1.0) * jnp.exp(-0.3 * (t - 1.0))  # noqa: E731
    np.testing.assert_allclose(a.y_final, exact(1.8), rtol=1e-12)
    np.testing.assert_allclose(b.y_final, exact(5.0), rtol=1e-8)


@pytest.mark.slow
def test_adaptive_max_steps_named():
    """A plain call that runs out of solver steps names max_steps and the fix (diffrax's
    own in-graph error is kept for traced calls); solver_failed records it."""
    ts = jnp.array([0.0, 50.0])
    with pytest.raises(RuntimeError, match=r"max_steps = 3 steps before t = 50\. Raise max_steps"):
        jqd.evolve_adaptive(_Decay(), jnp.array([1.0, 2.0]), _K(), ts, max_steps=3)
    sol = jqd.evolve_adaptive(_Decay(), jnp.array([1.0, 2.0]), _K(), ts)
    assert int(sol.stats["solver_failed"]) == 0
    traced = jax.jit(lambda y: jqd.evolve_adaptive(_Decay(), y, _K(), ts, max_steps=3).y_final)
    with pytest.raises(Exception, match="maximum number of solver steps"):
        traced(jnp.array([1.0, 2.0])).block_until_ready()


class _Stable(jqd.AbstractLaw):
    """dy/dt = −k y by explicit Euler, stable only for k dt < 2 (its check)."""

    def step(self, t, y, params, dt, key=None):
        return y - params.k * dt * y

    def checks(self, y, params, dt=None):
        return [jqd.Check(params.k * dt < 2, "dt is too large: k dt must stay below 2.")]


def test_failed_value_check_skips_the_run():
    """A plain call checks values inside its one program; a failed check skips the run
    (it used to run every step with dt = 0): 4e7 steps of 1e4 elements, refused in
    seconds, not the minutes they take."""
    import time

    y0, t = jnp.ones(10_000), time.perf_counter()
    with pytest.raises(ValueError, match="dt is too large"):
        jqd.evolve(_Stable(), y0, _K(k=0.7), dt=3.0, n_save=4, steps_per_save=10**7)
    assert time.perf_counter() - t < 20
    sol = jqd.evolve(_Stable(), y0, _K(k=0.7), dt=0.1, n_save=2, steps_per_save=5)
    np.testing.assert_allclose(sol.y_final, 0.93**10 * np.ones(10_000), rtol=1e-13)


def test_stochastic_keys_reproducible_and_distinct():
    law = _Brownian()
    y0 = jnp.zeros(20000)
    with pytest.raises(ValueError, match="key"):
        jqd.evolve(law, y0, _K(k=0.5), dt=0.01, n_save=4)
    a = jqd.evolve(law, y0, _K(k=0.5), dt=0.01, n_save=4, steps_per_save=25, key=jax.random.key(1))
    b = jqd.evolve(law, y0, _K(k=0.5), dt=0.01, n_save=4, steps_per_save=25, key=jax.random.key(1))
    c = jqd.evolve(law, y0, _K(k=0.5), dt=0.01, n_save=4, steps_per_save=25, key=jax.random.key(2))
    np.testing.assert_array_equal(a.y_final, b.y_final)
    assert not np.allclose(a.y_final, c.y_final)
    # Var X(t) = 2 D t: within 4 standard errors at every save
    var = jnp.var(a.observables, axis=1)
    expected = 2 * 0.5 * a.ts
    se = expected * np.sqrt(2 / 20000)
    assert np.all(np.abs(var - expected) <= 4 * se + 1e-15)
    # adaptive integration refuses stochastic laws
    with pytest.raises(ValueError, match="stochastic"):
        jqd.evolve_adaptive(law, y0, _K(), jnp.linspace(0, 1, 3))


def test_checkpointing_changes_nothing_but_memory():
    law = _Decay()

    def f(k, checkpoint):
        sol = jqd.evolve(
            law,
            jnp.array([1.0]),
            _K(k=k),
            dt=0.01,
            n_save=10,
            steps_per_save=10,
            checkpoint=checkpoint,
        )
        return sol.observables.sum()

    g1 = jax.grad(f)(0.7, True)
    g2 = jax.grad(f)(0.7, False)
    np.testing.assert_allclose(g1, g2, rtol=1e-14)
    ts = 0.1 * jnp.arange(11)
    np.testing.assert_allclose(g1, jnp.sum(-ts * jnp.exp(-0.7 * ts)), rtol=1e-12)


def test_observe_accepts_dicts_and_rejects_bad_arguments():
    sol = jqd.evolve(
        _Decay(),
        jnp.array([1.0]),
        _K(),
        dt=0.1,
        n_save=3,
        observe={"y": lambda t, y, p: y, "t": lambda t, y, p: t},
    )
    np.testing.assert_allclose(sol.observables["t"], sol.ts)
    with pytest.raises(TypeError, match="jqd law"):
        jqd.evolve(lambda t, y: y, jnp.array([1.0]), _K(), dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="on_breakdown"):
        jqd.evolve(_Decay(), jnp.array([1.0]), _K(), dt=0.1, n_save=1, on_breakdown="maybe")
    with pytest.raises(ValueError, match="increasing"):
        jqd.evolve_adaptive(_Decay(), jnp.array([1.0]), _K(), jnp.array([1.0, 0.5]))
    with pytest.raises(NotImplementedError, match="not an ODE"):
        jqd.evolve_adaptive(_Clock(), jnp.zeros(2), None, jnp.array([0.0, 1.0]))


def test_new_dt_or_t0_does_not_recompile():
    traces = {"n": 0}

    class _Counting(jqd.AbstractLaw):
        def step(self, t, y, params, dt, key=None):
            traces["n"] += 1  # runs only while tracing
            return y * jnp.exp(-params.k * dt)

    law = _Counting()
    a = jqd.evolve(law, jnp.array([1.0]), _K(), dt=0.1, n_save=3, t0=0.0)
    n = traces["n"]
    b = jqd.evolve(law, jnp.array([1.0]), _K(), dt=0.2, n_save=3, t0=1.0)
    assert traces["n"] == n
    jqd.evolve(law, jnp.array([1.0]), _K(k=0.9), dt=0.2, n_save=3)  # a new Python-float param
    assert traces["n"] == n
    np.testing.assert_allclose(b.ts, 1.0 + 0.2 * np.arange(4))
    np.testing.assert_allclose(a.y_final, np.exp(-0.7 * 0.3))


class _ThresholdError(jqd.BreakdownError):
    """The toy law's breakdown."""


class _Growth(jqd.AbstractLaw):
    """dy/dt = k y, exact step; the monitor fails once y[0] > params.limit,
    reporting where (the index of the largest component)."""

    breakdowns = {2: jqd.Reason(_ThresholdError, "y[0] passed the limit", "Lower k.")}

    def step(self, t, y, params, dt, key=None):
        return y * jnp.exp(params.k * dt)

    def vector_field(self, t, y, params):
        return params.k * y

    def monitor(self, t, y, params, dt=None):
        ok = y[0] <= params.limit
        return ok, jnp.where(ok, 0, 2), jnp.argmax(y)[None].astype(y.dtype)


class _GrowthParams(eqx.Module):
    k: float = 1.0
    limit: float = 2.0


def test_monitor_stops_records_and_raises_with_time_and_place():
    y0 = jnp.array([1.0, 3.0])
    # saves every 0.1: e^0.6 = 1.82, e^0.7 = 2.01 > 2, so t = 0.7 fails first
    with pytest.raises(
        _ThresholdError, match=r"passed the limit at t = 0\.7 at \(1\)\. Lower k"
    ) as err:
        jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=20)
    assert err.value.code == 2 and err.value.time == pytest.approx(0.7)
    sol = err.value.solution
    assert isinstance(err.value, jqd.BreakdownError)
    flagged = jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=20, on_breakdown="flag")
    assert int(flagged.stats["breakdown_index"]) == 7
    assert float(flagged.stats["breakdown_time"]) == pytest.approx(0.7)
    # stopped in-graph: every later save repeats the state at the breakdown
    obs = np.asarray(flagged.observables)
    np.testing.assert_array_equal(obs[7:], np.broadcast_to(obs[7], obs[7:].shape))
    np.testing.assert_allclose(obs[7, 0], np.exp(0.7), rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(sol.observables), obs)


def test_monitor_under_jit_vmap_grad_and_adaptive():
    y0 = jnp.array([1.0, 3.0])
    run = lambda p, **kw: jqd.evolve(_Growth(), y0, p, dt=0.1, n_save=20, **kw)
    with pytest.raises(Exception, match="passed the limit"):
        jax.block_until_ready(jax.jit(lambda p: run(p).y_final)(_GrowthParams()))
    ks = _GrowthParams(k=jnp.array([0.01, 1.0]), limit=jnp.array([2.0, 2.0]))
    flagged = jax.jit(jax.vmap(lambda p: run(p, on_breakdown="flag")))(ks)
    np.testing.assert_array_equal(np.asarray(flagged.stats["breakdown_code"]), [0, 2])
    # flagged in the program, raised on the host with time, place and member
    with pytest.raises(_ThresholdError, match=r"at t = 0\.7 at \(1\) \(batch member 1\)"):
        flagged.raise_on_breakdown(_Growth())
    ok = jax.jit(lambda p: run(p, on_breakdown="flag"))(_GrowthParams(k=0.01))
    assert ok.raise_on_breakdown(_Growth()) is ok
    with pytest.raises(Exception, match="passed the limit"):
        jax.block_until_ready(jax.vmap(lambda p: run(p).y_final)(ks))
    loss = lambda k: jnp.sum(run(_GrowthParams(k=k)).y_final)
    with pytest.raises(Exception, match="passed the limit"):
        jax.block_until_ready(jax.grad(loss)(1.0))
    assert np.isfinite(float(jax.grad(loss)(0.01)))
    ts = jnp.linspace(0.0, 2.0, 21)
    with pytest.raises(_ThresholdError, match="at t = 0.7"):
        jqd.evolve_adaptive(_Growth(), y0, _GrowthParams(), ts)
    sol = jqd.evolve_adaptive(_Growth(), y0, _GrowthParams(), ts, on_breakdown="flag")
    assert int(sol.stats["breakdown_index"]) == 7


def test_monitor_can_be_replaced_or_switched_off():
    y0 = jnp.array([1.0, 3.0])
    sol = jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=20, monitor=False)
    assert int(sol.stats["breakdown_code"]) == 0
    never = lambda t, y, p: (True, 0, jnp.zeros((0,)))
    sol = jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=20, monitor=never)
    np.testing.assert_allclose(sol.y_final, y0 * np.exp(2.0), rtol=1e-13)
    with pytest.raises(ValueError, match="on_breakdown"):
        jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=2, on_breakdown="maybe")
    with pytest.raises(TypeError, match="monitor"):
        jqd.evolve(_Growth(), y0, _GrowthParams(), dt=0.1, n_save=2, monitor="yes")


def test_nonfinite_is_a_breakdown_of_every_law():
    bad = jnp.array([1.0, jnp.inf])
    with pytest.raises(jqd.NonFiniteError, match=r"NaN or Inf at t = 0\b"):
        jqd.evolve(_Decay(), bad, _K(), dt=0.1, n_save=3, check=False)
    assert issubclass(jqd.NonFiniteError, jqd.BreakdownError)
    assert issubclass(jqd.NonFiniteError, FloatingPointError)


@pytest.mark.slow
def test_adaptive_forward_mode_chooses_forward_adjoint_or_names_it():
    """jax.jvp/jacfwd through evolve_adaptive raised JAX's custom_vjp TypeError
    (issue 27): with adjoint=None it now uses diffrax.ForwardMode and gives the
    exact derivative; an explicit reverse-only adjoint is named with the fix."""
    import diffrax

    def f(k, adjoint=None):
        ts = jnp.array([0.0, 1.0])
        return jqd.evolve_adaptive(_Decay(), jnp.array([1.0]), _K(k), ts, adjoint=adjoint).y_final[
            0
        ]

    k = jnp.asarray(0.7)
    exact = -np.exp(-0.7)  # d/dk exp(−k t) at t = 1
    assert np.isclose(float(jax.jvp(f, (k,), (1.0,))[1]), exact, rtol=1e-8)
    with pytest.raises(TypeError, match=r"adjoint=diffrax.ForwardMode\(\)"):
        jax.jvp(lambda k: f(k, diffrax.RecursiveCheckpointAdjoint()), (k,), (1.0,))


def test_run_budget_refuses_long_runs_with_the_opt_in(monkeypatch):
    """Steps × state elements past 1e13 (or steps past 1e8) are refused up
    front, naming max_steps and JQD_MAX_STEPS; JQD_MAX_STEPS (or max_steps=)
    raises the bound. The old bound (1e8 steps) let a 1e6-element state run
    1e8 steps (days)."""
    y0 = jnp.zeros(10**6)
    with pytest.raises(ValueError, match=r"1e13 / 1000000 state elements.*JQD_MAX_STEPS"):
        jqd.evolve(_Decay(), y0, _K(), dt=0.1, n_save=10**4, steps_per_save=10**4)
    with pytest.raises(ValueError, match="exceeds max_steps = 1e\\+08"):
        jqd.evolve(_Decay(), jnp.zeros(1), _K(), dt=0.1, n_save=10**5, steps_per_save=10**4)
    monkeypatch.setenv("JQD_MAX_STEPS", "1e3")
    with pytest.raises(ValueError, match=r"max_steps = 1e\+03 \(JQD_MAX_STEPS\)"):
        jqd.evolve(_Decay(), jnp.zeros(1), _K(), dt=0.1, n_save=2000)
    monkeypatch.setenv("JQD_MAX_STEPS", "abc")
    with pytest.raises(ValueError, match="JQD_MAX_STEPS must be an integer"):
        jqd.evolve(_Decay(), jnp.zeros(1), _K(), dt=0.1, n_save=2)
    monkeypatch.setenv("JQD_MAX_STEPS", "none")
    assert jqd.evolve(_Decay(), jnp.zeros(1), _K(), dt=0.1, n_save=2).ts.shape == (3,)


def test_save_budget_refuses_outputs_beyond_memory(monkeypatch):
    """The run budget counted steps, not memory: a 205 GB save request just
    computed. The saved output, (n_save + 1) × the state or `observe`'s output
    (by jax.eval_shape), is now bounded by half the device's memory or
    JQD_MAX_SAVE_BYTES, before anything runs, in evolve and evolve_adaptive
    alike (evolve_ensemble: tests/test_ensemble_stream.py)."""
    import time

    big = jnp.zeros(10**6)  # 8 MB a save: 10^6 saves are 8 TB
    start = time.perf_counter()
    with pytest.raises(
        ValueError, match=r"8e\+03 GB \(n_save \+ 1 = 1000001 saves of states of 8 MB"
    ):
        jqd.evolve(_Decay(), big, _K(), dt=0.1, n_save=10**6)
    outer = lambda t, y, p: y[:1000, None] * y[None, :1000]  # 8 MB an observable
    with pytest.raises(ValueError, match=r"saves of observables of 8 MB each.*JQD_MAX_SAVE_BYTES"):
        jqd.evolve(_Decay(), jnp.zeros(1000), _K(), dt=0.1, n_save=10**6, observe=outer)
    with pytest.raises(ValueError, match=r"len\(ts\) = 1000000 saves of states"):
        jqd.evolve_adaptive(_Decay(), big, _K(), jnp.linspace(0.0, 1.0, 10**6))
    assert time.perf_counter() - start < 5  # refused before compiling or running
    monkeypatch.setenv("JQD_MAX_SAVE_BYTES", "100")
    with pytest.raises(ValueError, match=r"budget 1e-07 GB \(JQD_MAX_SAVE_BYTES\)"):
        jqd.evolve(_Decay(), jnp.zeros(5), _K(), dt=0.1, n_save=2)
    scalar = lambda t, y, p: jnp.sum(y)  # an observe that keeps less passes
    assert jqd.evolve(_Decay(), jnp.zeros(5), _K(), dt=0.1, n_save=2, observe=scalar).ts.shape == (
        3,
    )
    monkeypatch.setenv("JQD_MAX_SAVE_BYTES", "lots")
    with pytest.raises(ValueError, match="JQD_MAX_SAVE_BYTES must be a number of bytes"):
        jqd.evolve(_Decay(), jnp.zeros(5), _K(), dt=0.1, n_save=2)
    monkeypatch.setenv("JQD_MAX_SAVE_BYTES", "none")
    assert jqd.evolve(_Decay(), jnp.zeros(5), _K(), dt=0.1, n_save=2).ts.shape == (3,)


def test_save_times_as_qutip_tlist():
    """`ts=` (QuTiP's tlist, dynamiqs' tsave; issue 54: `n_save=N` gives N + 1
    points, and those users were off by one): the run saves at exactly ts,
    the same run as n_save/steps_per_save/t0; what cannot be fixed-step saves
    is refused with the fix."""
    y0, ts = jnp.array([1.0, 2.0]), np.linspace(0.5, 2.5, 11)
    sol = jqd.evolve(_Decay(), y0, _K(), dt=0.05, ts=ts)
    np.testing.assert_allclose(sol.ts, ts, rtol=1e-14)
    same = jqd.evolve(_Decay(), y0, _K(), dt=0.05, n_save=10, steps_per_save=4, t0=0.5)
    np.testing.assert_array_equal(sol.observables, same.observables)
    with pytest.raises(ValueError, match=r"whole multiple of dt = 0.03: use dt = 0.02857"):
        jqd.evolve(_Decay(), y0, _K(), dt=0.03, ts=ts)
    with pytest.raises(ValueError, match="equally spaced .*evolve_adaptive"):
        jqd.evolve(_Decay(), y0, _K(), dt=0.05, ts=np.array([0.0, 0.1, 0.3]))
    with pytest.raises(TypeError, match="instead of n_save"):
        jqd.evolve(_Decay(), y0, _K(), dt=0.05, ts=ts, n_save=10)
    with pytest.raises(TypeError, match="n_save .* or ts"):
        jqd.evolve(_Decay(), y0, _K(), dt=0.05)
    traced = jax.jit(lambda t: jqd.evolve(_Decay(), y0, _K(), dt=0.05, ts=t).observables)
    with pytest.raises(TypeError, match="ts= and dt must be concrete"):
        traced(jnp.asarray(ts))
