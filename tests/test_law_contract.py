"""The law contract, once, for every law in `helpers.LAW_CASES`.

jit == eager and vmap == loop with the breakdown monitor firing (one
jit∘vmap), float32 stays float32, new params, dt and t0 do not recompile, a
NaN constant is refused eagerly, a wrong-shape state gets a clear error;
slow: the monitor raises eagerly and under jit and vmap, a NaN constant is
refused under jit(vmap), gradients agree with finite differences. Family
tests validate physics only.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import LAW_CASES, build
from jax.test_util import check_grads

import jqd

IDS = sorted(LAW_CASES)
# a case's tests run on one xdist worker (`--dist loadgroup`): its plain-call
# program is compiled once, not once per worker
CASES = [pytest.param(i, id=i, marks=pytest.mark.xdist_group(i)) for i in IDS]


def _run(case, y0=None, params=None, **kwargs):
    kwargs.setdefault("n_save", case.n_save)
    kwargs.setdefault("steps_per_save", case.steps_per_save)
    kwargs.setdefault("dt", case.dt)
    return jqd.evolve(
        case.law,
        case.y0 if y0 is None else y0,
        case.params if params is None else params,
        key=case.key,
        **kwargs,
    )


def _inexact(tree):
    return [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]


def _assert_trees_close(a, b, rtol=1e-10, atol=1e-12):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def _skip(case, item):
    if item in case.skip:
        pytest.skip(case.skip[item])


@pytest.mark.parametrize("case_id", CASES)
def test_jit_vmap_equal_plain_calls_and_flag_breakdowns(case_id):
    """One `jit(vmap(...))` over three members, (params p0, p1 and a state
    with a NaN): the first two equal the plain calls at p0 and p1 (jit ==
    eager, vmap == loop), and the monitor flags the third at its first save
    (the monitor fires under jit and vmap). One compile for the three: a law
    that passes under jit∘vmap passes under each (the eager raise of a
    breakdown is law-independent: tests/test_evolve.py)."""
    case = build(case_id)
    _skip(case, "vmap")
    ps = [case.with_params(s) for s in (0.0, 1.0)]
    ones = [_run(case, params=p).y_final for p in ps]
    ys, members = [case.y0, case.y0], list(ps)
    monitored = "monitor" not in case.skip and _poisoned(case.y0) is not None
    if monitored:
        ys.append(_poisoned(case.y0))
        members.append(ps[0])
    stack = lambda *x: jnp.stack([jnp.asarray(a) for a in x])
    ys, members = (jax.tree_util.tree_map(stack, *t) for t in (ys, members))

    def run(y, p):
        sol = _run(case, y, p, check=False, on_breakdown="flag")
        return sol.y_final, sol.stats

    finals, stats = jax.jit(jax.vmap(run))(ys, members)
    for i, one in enumerate(ones):
        _assert_trees_close(jax.tree_util.tree_map(lambda x: x[i], finals), one)
    codes, where = ([0, 0, 1], [-1, -1, 0]) if monitored else ([0, 0], [-1, -1])
    np.testing.assert_array_equal(np.asarray(stats["breakdown_code"]), codes)
    np.testing.assert_array_equal(np.asarray(stats["breakdown_index"]), where)


def _to32(tree):
    def cast(x):
        x = jnp.asarray(x)
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            return x.astype(jnp.complex64)
        if jnp.issubdtype(x.dtype, jnp.floating):
            return x.astype(jnp.float32)
        return x

    return jax.tree_util.tree_map(cast, tree)


@pytest.mark.parametrize("case_id", CASES)
def test_float32_stays_float32(case_id):
    """Dtypes are fixed when the program is traced: `eval_shape` traces the plain
    call's program without compiling it (a fifth of the time)."""
    case = build(case_id)
    _skip(case, "float32")
    sol = jax.eval_shape(lambda y, p: _run(case, y, p), _to32(case.y0), _to32(case.params))
    for x in _inexact(sol.y_final):
        assert x.dtype in (jnp.float32, jnp.complex64), x.dtype
    assert sol.ts.dtype == jnp.float32


class _CompileCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.count += 1


@pytest.mark.parametrize("case_id", CASES)
def test_new_values_do_not_recompile(case_id):
    """New params, a new dt and a new start time (so a new end time) reuse the
    compiled program: `jqd.evolve` traces every float (`as_arrays`)."""
    case = build(case_id)
    jax.block_until_ready(_run(case, params=case.with_params(0.0)).y_final)
    counter = _CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        jax.block_until_ready(_run(case, params=case.with_params(1.0)).y_final)
        jax.block_until_ready(_run(case, dt=0.9 * case.dt, t0=0.25).y_final)
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    assert counter.count == 0


def _poisoned(tree):
    """tree with NaN in its first float leaf (an inexact array or a Python float);
    None if it has none."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    for i, x in enumerate(leaves):
        if isinstance(x, float):
            leaves[i] = float("nan")
        elif hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact):
            leaves[i] = jnp.asarray(x).at[(0,) * jnp.ndim(x)].set(jnp.nan)
        else:
            continue
        return jax.tree_util.tree_unflatten(treedef, leaves)
    return None


def _poisoned_case(case_id):
    """The case and its initial state with a NaN planted (skips where impossible)."""
    case = build(case_id)
    _skip(case, "monitor")
    bad = _poisoned(case.y0)
    if bad is None:
        pytest.skip("the state has no inexact leaf to poison")
    return case, bad


@pytest.mark.slow  # the raising path is law-independent (eqx.error_if): tests/test_evolve.py
@pytest.mark.parametrize("case_id", CASES)
def test_monitor_raises_eagerly_and_under_jit_and_vmap(case_id):
    case, bad = _poisoned_case(case_id)
    with pytest.raises(jqd.NonFiniteError, match="NaN or Inf"):
        _run(case, bad, check=False)
    with pytest.raises(Exception, match="NaN or Inf"):
        jax.block_until_ready(jax.jit(lambda y: _run(case, y, check=False).y_final)(bad))
    both = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), case.y0, bad)
    with pytest.raises(Exception, match="NaN or Inf"):
        jax.block_until_ready(jax.vmap(lambda y: _run(case, y, check=False).y_final)(both))


def _bad_params_case(case_id):
    case = build(case_id)
    bad = _poisoned(case.params)
    if bad is None:
        pytest.skip("params hold no float to poison")
    return case, bad


@pytest.mark.parametrize("case_id", CASES)
def test_bad_params_rejected_eagerly(case_id):
    """A NaN constant is refused before the run, naming it."""
    case, bad = _bad_params_case(case_id)
    with pytest.raises(ValueError, match="NaN or Inf|finite"):
        _run(case, params=bad)


@pytest.mark.slow  # one compile per law; the staging path is law-independent (test_guards.py)
@pytest.mark.parametrize("case_id", CASES)
def test_bad_params_rejected_under_jit_vmap(case_id):
    """... and still refused when the params are traced (checks staged in-graph)."""
    case, bad = _bad_params_case(case_id)
    good = jax.tree_util.tree_map(jnp.asarray, case.params)
    both = jax.tree_util.tree_map(
        lambda a, b: jnp.stack([jnp.asarray(a), jnp.asarray(b)]), good, bad
    )
    with pytest.raises(RuntimeError, match="NaN or Inf|finite"):
        jax.block_until_ready(jax.jit(jax.vmap(lambda p: _run(case, params=p).y_final))(both))


@pytest.mark.parametrize("case_id", CASES)
def test_wrong_shape_state_is_a_clear_error(case_id):
    case = build(case_id)
    _skip(case, "wrong_shape")
    doubled = jax.tree_util.tree_map(lambda x: jnp.stack([x, x]), case.y0)
    with pytest.raises((ValueError, TypeError)) as err:
        _run(case, doubled)
    assert "shape" in str(err.value) or "y0" in str(err.value) or "psi0" in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("case_id", CASES)
def test_gradients_match_finite_differences(case_id):
    case = build(case_id)
    _skip(case, "grads")
    # python floats (ħ, a drive frequency) become arrays so they are differentiated too
    params = jax.tree_util.tree_map(
        lambda x: jnp.asarray(x) if isinstance(x, float) else x, case.params
    )
    diff, static = eqx.partition(params, eqx.is_inexact_array)

    def f(diff):
        y = _run(case, params=eqx.combine(diff, static), check=False).y_final
        # weighted, as Σ|ψ|² is conserved by the unitary laws (its gradient is 0)
        return sum(
            jnp.sum(jnp.linspace(0.5, 1.5, x.size).reshape(x.shape) * jnp.abs(x) ** 2)
            for x in _inexact(y)
        )

    check_grads(f, (diff,), order=1, modes=("rev",), atol=1e-5, rtol=1e-5)


def _concrete_laws():
    found = set()
    for info in pkgutil.walk_packages(jqd.__path__, "jqd."):
        if ".run" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, jqd.AbstractLaw)
                and not inspect.isabstract(cls)
                and not cls.__name__.startswith("_")
                and cls.__module__.startswith("jqd.")
            ):
                found.add(cls)
    return found


def test_every_law_has_a_contract_case():
    covered = {type(build(i).law) for i in IDS}
    missing = sorted(c.__qualname__ for c in _concrete_laws() - covered)
    assert not missing, f"laws without a line in tests/cases_*.py: {missing}"
