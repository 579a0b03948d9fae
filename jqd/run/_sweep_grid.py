"""What a sweep may sweep, and its grid: `--over` parsing, the choice of mode,
the Cartesian grid, and the labelled dataset of a vmapped sweep."""

from __future__ import annotations

import json

import numpy as np

from .experiment import config_to_dict
from .registry import UsageError, field_types

MAX_ITEMS_PER_KEY = 10**6  # refused at parse time: a typo must not allocate or hang
MODES = ("vmapped", "per-item")


def parse_over(text: str) -> tuple[str, np.ndarray]:
    """`key=start:stop:num` (inclusive linspace) or `key=v1,v2,...`."""
    if "=" not in text:
        raise UsageError(f"--over expects key=start:stop:num or key=v1,v2,...; got {text!r}.")
    key, spec = (s.strip() for s in text.split("=", 1))
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1:
                raise ValueError
            values = None if num > MAX_ITEMS_PER_KEY else np.linspace(start, stop, num)
        else:
            values = np.array([float(v) for v in spec.split(",") if v.strip()])
            if values.size == 0:
                raise ValueError
    except ValueError:
        raise UsageError(
            f"--over {text!r}: expected {key}=start:stop:num (num >= 1 points, both ends "
            f"included) or {key}=v1,v2,..."
        ) from None
    if values is None:
        raise UsageError(
            f"--over {text!r}: {num} points exceeds the limit of {MAX_ITEMS_PER_KEY} per swept "
            "key; sweep fewer points (or split the range into several sweeps)."
        )
    if not np.all(np.isfinite(values)):
        raise UsageError(f"--over {text!r}: values must be finite.")
    return key, values


def _numeric(tp) -> bool:
    return tp is float or tp is int


def sweepable_keys(exp) -> dict[str, str]:
    """key -> mode ("vmapped" or "per-item") for every key `jqd sweep` accepts.

    The vmapped mode takes the experiment's `sweep_keys`; the per-item mode
    every other int or float config field (and `seed`, the run's seed, even
    without such a field) except those in `not_sweepable`."""
    out = {}
    for key, tp in field_types(exp.config).items():
        if key in exp.not_sweepable or not _numeric(tp):
            continue
        out[key] = "vmapped" if key in exp.sweep_keys else "per-item"
    out.setdefault("seed", "per-item")
    return out


def why_not_sweepable(exp, key: str) -> str:
    """Why config field `key` of `exp` cannot be swept at all."""
    if key in exp.not_sweepable:
        return exp.not_sweepable[key]
    import typing

    tp = field_types(exp.config).get(key)
    if tp is bool:
        return "a switch, not a number: run both settings with --set"
    if tp is tuple or typing.get_origin(tp) in (tuple, list):
        return "a list of values the experiment already runs through; set it with --set"
    return f"a {getattr(tp, '__name__', tp)} field, not a number: set it with --set"


def why_not_vmapped(exp, key: str) -> str:
    if key in exp.sweep_why_not:
        return exp.sweep_why_not[key]
    if exp.sweep is None:
        return f"{exp.name} defines no vmapped sweep function"
    if field_types(exp.config).get(key) is int:
        return "an integer fixes array shapes (one compiled program runs every item)"
    return f"{exp.name}'s sweep function does not read it"


def sweep_mode(exp, over: dict, mode: str | None = None) -> str:
    """The mode for sweeping `over`: vmapped when every key is a `sweep_keys`
    field (unless `mode` says otherwise), else per-item; UsageError if a key
    cannot be swept or `mode` cannot take it."""
    if not over:
        raise UsageError("give at least one --over key=start:stop:num.")
    if mode is not None and mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}.")
    keys = sweepable_keys(exp)
    types_ = field_types(exp.config)
    for key in over:
        if key not in keys:
            if key not in types_:
                raise UsageError(
                    f"unknown key {key!r} for {exp.name}; sweepable keys: {', '.join(keys)}."
                )
            raise UsageError(
                f"{key} cannot be swept for {exp.name}: {why_not_sweepable(exp, key)}."
            )
    vmappable = [k for k in over if keys[k] == "vmapped"]
    if mode == "vmapped" and len(vmappable) < len(over):
        bad = next(k for k in over if k not in vmappable)
        raise UsageError(
            f"--mode vmapped: {bad} cannot be vmapped for {exp.name}: "
            f"{why_not_vmapped(exp, bad)}. Vmapped keys: {', '.join(exp.sweep_keys) or 'none'}."
        )
    if mode is None:
        mode = "vmapped" if len(vmappable) == len(over) else "per-item"
    return mode


def check_over(exp, over) -> None:
    """Refuse keys `exp` cannot sweep (any mode)."""
    sweep_mode(exp, over)


def grid_items(over: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Flattened Cartesian grid (first key slowest), one 1-D array per key."""
    mesh = np.meshgrid(*over.values(), indexing="ij")
    return {k: m.reshape(-1) for k, m in zip(over, mesh, strict=True)}


def to_dataset(exp, config, over, results):
    """Labelled arrays: dims = swept keys (grid order) then the outputs' own axes."""
    import xarray as xr

    grid_shape = tuple(len(v) for v in over.values())
    coords = {k: np.asarray(v) for k, v in over.items()}
    extra = {}
    if exp.sweep_coords is not None:
        extra = {k: np.asarray(v) for k, v in exp.sweep_coords(config).items()}
    coords.update(extra)
    data_vars = {}
    for name, arr in results.items():
        trailing = arr.shape[1:]
        dims, used = [], set()
        for j, size in enumerate(trailing):
            match = next(
                (k for k, v in extra.items() if k not in used and v.shape == (size,)), None
            )
            if match is None:
                match = f"{name}_dim{j}"
            used.add(match)
            dims.append(match)
        data_vars[name] = (tuple(over) + tuple(dims), arr.reshape(grid_shape + trailing))
    ds = xr.Dataset(
        data_vars,
        coords={k: v for k, v in coords.items() if any(k in d[0] for d in data_vars.values())},
    )
    ds.attrs["experiment"] = exp.name
    ds.attrs["mode"] = "vmapped"
    ds.attrs["config"] = json.dumps(config_to_dict(config), sort_keys=True)
    return ds
