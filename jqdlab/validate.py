"""Config validation shared by `jqd run`, `sweep` and `fit`: a bad value is refused,
in one line, before anything runs (the rules: docs/internals/run.md#validation)."""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import types
import typing

import numpy as np

from .experiment import _OPS, RUN_LENGTH_KEYS, TIME_STEP_KEYS, parse_limits
from .registry import UsageError, _type_name, field_types, find, parse_override, source_config

_HOOK_ITEMS = 4096  # sweep grids up to this size have the validate hook run on every item
# The run budget for a config's run-length keys (`check_run_length`): jqd.evolve's 1e8 steps
# (jqd._evolve.RUN_BUDGET_STEPS; not imported, which would start JAX) over the ~1e5 steps of
# the longest default run (docs/internals/core.md#budget): 1000 times a default run's length.
RUN_BUDGET_STEPS = 10**8
LONGEST_DEFAULT_STEPS = 10**5


def _leaves(value):
    """The scalars of a (nested) tuple/list field."""
    if isinstance(value, tuple | list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _leaf_type(tp):
    """The element type of `tuple[X, ...]` / `tuple[X, Y]` when all agree."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        inner = {_leaf_type(a) for a in args if a is not Ellipsis}
        return inner.pop() if len(inner) == 1 else None
    return tp


def _show(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):g}"
    return repr(v) if isinstance(v, str) else str(v)


def field_range(exp, name: str, tp) -> str | None:
    """The range `check_field` holds field `name` to, e.g. "> 0", or None: the
    experiment's `limits`, else ">= 1" for an int field (a count or a size) but `seed`."""
    text = exp.limits.get(name)
    if text is None and name != "seed" and _leaf_type(tp) is int:
        text = ">= 1"  # counts and sizes
    return text


def check_source(name: str, overrides=()) -> None:
    """`jqd run/sweep/fit NAME --set ...` checked from the source, before JAX starts: the
    experiment exists and each value has its field's type and range (`check_field`).
    The `validate` hook and the Config's own checks wait for the import."""
    src = source_config(find(name))
    if src is None:
        return
    exp_name, types_, defaults, limits = src
    exp = types.SimpleNamespace(name=exp_name, limits=limits)
    for item in overrides:
        key, value = parse_override(exp_name, types_, item)
        if key in defaults:  # (a default not written as a literal waits for the import)
            check_field(exp, key, value, types_[key], defaults[key])


_KINDS = {bool: (bool, np.bool_), int: numbers.Integral, float: numbers.Real, str: str}


def _has_type(value, tp) -> bool:
    """`value` fits field type `tp` (bool, int, float, str or tuples of them; a float
    field takes ints, an int field no bools); other annotations are not checked."""
    leaf, is_tuple = _leaf_type(tp), typing.get_origin(tp) is tuple
    if leaf not in _KINDS:
        return True
    if is_tuple != isinstance(value, tuple | list):
        return False
    return all(
        isinstance(v, _KINDS[leaf]) and (leaf is bool or not isinstance(v, bool))
        for v in _leaves(value)
    )


def check_field(exp, name: str, value, tp, default) -> None:
    """Type, finiteness and range of one field's value (UsageError if bad): a
    Python-API config is checked as the `--set` parser checks the command line."""
    if not _has_type(value, tp):
        raise UsageError(
            f"{name}={_show(value)} is a {type(value).__name__}; {exp.name}'s {name} is "
            f"{_type_name(tp)} (default {_show(default)})."
        )
    text = field_range(exp, name, tp)
    for v in _leaves(value):
        if not isinstance(v, numbers.Complex) or isinstance(v, bool | np.bool_):
            continue
        if not np.isfinite(complex(v)):
            raise UsageError(
                f"{name}={_show(v)} is not finite; give a finite number (default {_show(default)})."
            )
        for op, bound in parse_limits(text) if text and isinstance(v, numbers.Real) else ():
            if not _OPS[op](v, bound):
                each = " (each value)" if isinstance(value, tuple | list) else ""
                raise UsageError(
                    f"{name}={_show(v)} is out of range: {exp.name} needs {name} {text}{each} "
                    f"(default {_show(default)})."
                )


def _run_hook(exp, config) -> None:
    if exp.validate is None:
        return
    try:
        exp.validate(config)
    except UsageError:
        raise
    except (ValueError, TypeError) as err:
        raise UsageError(f"{exp.name}: {' '.join(str(err).split())}") from None


def check_config(exp, config, swept=()) -> None:
    """Refuse a config `exp` cannot run (UsageError naming the field and the fix);
    the fields in `swept` are left to `check_sweep_items`, and so is the hook."""
    if not isinstance(config, exp.config):
        raise UsageError(f"{exp.name} needs a {exp.config.__name__}; got {type(config).__name__}.")
    default = exp.config()
    for name, tp in field_types(exp.config).items():
        if name not in swept:
            check_field(exp, name, getattr(config, name), tp, getattr(default, name))
    if not swept:
        check_run_length(exp, config)
        _run_hook(exp, config)


def run_length(exp, config) -> dict[str, float]:
    """Key -> how many times longer its value makes `config`'s run than the default
    config's: value / default for a run-length key (`RUN_LENGTH_KEYS`), default / value
    for a time step (`TIME_STEP_KEYS`); the run is their product times as long."""
    types_, default = field_types(exp.config), exp.config()
    factors = {}
    for key, tp in types_.items():
        longer = RUN_LENGTH_KEYS.match(key) or (key == "n_save" and "steps_per_save" in types_)
        if tp not in (int, float) or not (longer or TIME_STEP_KEYS.match(key)):
            continue
        v, v0 = getattr(config, key), getattr(default, key)
        if not all(isinstance(x, numbers.Real) and 0 < x < math.inf for x in (v, v0)):
            continue  # (a value out of range is check_field's to refuse)
        factors[key] = v / v0 if longer else v0 / v
    return factors


def _run_budget() -> tuple[float | None, str]:
    """(how many times a default run's length a run may be, or None: no bound; where the
    bound comes from), from `JQD_MAX_STEPS` as jqd.evolve reads it."""
    env = os.environ.get("JQD_MAX_STEPS", "").strip()
    if env.lower() == "none":
        return None, ""
    steps, why = RUN_BUDGET_STEPS, "jqd.evolve's {:.3g} steps"
    if env:
        try:
            steps, why = int(float(env)), "JQD_MAX_STEPS = {:.3g} steps"
        except ValueError:
            raise UsageError(f"JQD_MAX_STEPS must be an integer or 'none'; got {env!r}.") from None
    return steps / LONGEST_DEFAULT_STEPS, why.format(steps)


def budget_scale() -> float:
    """The run budget over its default (1; `JQD_MAX_STEPS=N`: N / 1e8; `none`: inf):
    an experiment's own bound on a run's cost (its `validate` hook) scales with it, so
    the one setting that lifts `check_run_length` lifts that bound too."""
    limit, _ = _run_budget()
    return math.inf if limit is None else limit * LONGEST_DEFAULT_STEPS / RUN_BUDGET_STEPS


def check_run_length(exp, config, where: str = "") -> None:
    """Refuse a config whose times and step counts (`run_length`) make its run longer than
    the run budget allows, before it runs (UsageError naming the keys, their bounds and
    the fix; `where` prefixes the message)."""
    limit, budget = _run_budget()
    factors = run_length(exp, config)
    total = math.prod(factors.values())
    if limit is None or total <= limit:
        return
    default = exp.config()
    longer = [k for k, f in factors.items() if f > 1]
    fixes = []
    for key in longer:
        value, grows = getattr(config, key), not TIME_STEP_KEYS.match(key)
        bound = value * limit / total if grows else value * total / limit
        if isinstance(value, int):
            bound = math.floor(bound) if grows else math.ceil(bound)
        fixes.append(f"{key} {'<=' if grows else '>='} {_show(bound)}")
    said = ", ".join(f"{k}={_show(getattr(config, k))}" for k in longer)
    was = ", ".join(f"{k} = {_show(getattr(default, k))}" for k in longer)
    raise UsageError(
        f"{where}{said} would make {exp.name}'s run {total:.3g} times as long as its default "
        f"({was}), past the run budget of {limit:g} times the default's length ({budget} "
        f"over the ~{LONGEST_DEFAULT_STEPS:.0e} of the longest default run; "
        f"docs/internals/run.md#validation): use {' or '.join(fixes)}, or raise the budget "
        "with JQD_MAX_STEPS=N (or none)."
    )


def cast_swept(key: str, value, tp):
    """A swept value as its field's type: an `int` field takes integers only."""
    if tp is int:
        if not float(value).is_integer():
            raise UsageError(f"--over {key}: {key} is an integer field; got {float(value):g}.")
        return int(value)
    return float(value)


def check_sweep_items(exp, config, over: dict[str, np.ndarray]) -> None:
    """Validate a sweep's items as `run` validates its config: each distinct swept value
    once, the `validate` hook on every item up to `_HOOK_ITEMS` (larger grids:
    docs/internals/run.md#sweeps)."""
    check_config(exp, config, swept=over)
    types_, default = field_types(exp.config), exp.config()
    over = {k: v for k, v in over.items() if k in types_}  # `seed` may be the run's seed only
    for key, values in over.items():
        for v in np.unique(values):
            value = cast_swept(key, v, types_[key])  # its message names --over KEY already
            try:
                check_field(exp, key, value, types_[key], getattr(default, key))
            except UsageError as err:
                raise UsageError(f"--over {key}: {err}") from None
    # the longest item: each swept key at the end that lengthens the run most
    factors = run_length(exp, config)
    longest = {
        k: cast_swept(k, (np.min if TIME_STEP_KEYS.match(k) else np.max)(v), types_[k])
        for k, v in over.items()
    }
    swept = ", ".join(f"--over {k}" for k in over if k in factors)
    check_run_length(exp, dataclasses.replace(config, **longest), f"{swept}: " if swept else "")
    if exp.validate is None or not over:
        return
    if math.prod(len(v) for v in over.values()) <= _HOOK_ITEMS:
        grids = [dict(over)]
    else:
        ends = {k: np.unique([np.min(v), np.max(v)]) for k, v in over.items()}
        grids = [{**ends, k: np.unique(v)} for k, v in over.items()]
    seen = set()
    for grid in grids:
        mesh = np.meshgrid(*grid.values(), indexing="ij")
        for values in zip(*(m.reshape(-1) for m in mesh), strict=True):
            item = {k: cast_swept(k, v, types_[k]) for k, v in zip(grid, values, strict=True)}
            if tuple(item.items()) in seen:
                continue
            seen.add(tuple(item.items()))
            try:
                _run_hook(exp, dataclasses.replace(config, **item))
            except UsageError as err:
                where = ", ".join(f"{k}={v:g}" for k, v in item.items())
                raise UsageError(f"sweep item {where}: {err}") from None


def steps_fit(config, interval: float, keys, interval_name: str) -> None:
    """Refuse time steps (config fields `keys`) longer than the save interval
    (they would round to zero steps per save), naming the field and the fix."""
    for key in keys:
        dt = getattr(config, key)
        if round(interval / dt) < 1:
            raise ValueError(
                f"{key}={dt:g} is longer than the save interval {interval_name} = "
                f"{interval:g}; use {key} <= {interval:g} (or fewer saves)."
            )
