"""The per-item sweep mode: any experiment, its `run` executed once per item.

`jqd sweep NAME --over KEY=...` uses this mode when a swept key is not one of
the experiment's vmapped `sweep_keys` (or with `--per-item`). Each item is the
experiment's own `run` on the config with the swept fields replaced, in this
process, with figures and arrays skipped (`Recorder.record_files = False`):
what it keeps are the item's claims (measured value, tolerance, pass) and its
scalar metrics. Items may change sizes (cutoffs, grids, particle numbers):
each runs with its own shapes. An item whose run raises is recorded with its
error and the sweep goes on.

    OUT/manifest.json          what is swept and by which code (as the vmapped mode)
    OUT/items/item_00012.json  one finished item, written atomically
    OUT/results.nc             claims and metrics against the swept keys (when complete)
    OUT/claims.png, SUMMARY.md the claims drawn against the swept keys; pass counts
    OUT/summary.json           config, versions, timings, pass counts

Resuming recomputes only the items with no intact file. Under
`jax.distributed` (several processes, `jqd sweep --distributed`), process p
computes the items i with i % n == p and process 0 assembles the results.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .experiment import Recorder, dumps
from .registry import field_types
from .results import CompileTimer, write_text_atomic
from .validate import cast_swept


def _scalar_metrics(metrics: dict) -> dict[str, float]:
    out = {}
    for name, v in metrics.items():
        if isinstance(v, bool | int | float) and not isinstance(v, complex):
            out[name] = float(v)
    return out


def run_item(exp, config, item: dict, seed: int) -> dict:
    """One item: the experiment's run on `config` with `item`'s fields replaced."""
    import random

    types_ = field_types(exp.config)
    values = {k: cast_swept(k, v, types_.get(k, float)) for k, v in item.items()}
    fields = {k: v for k, v in values.items() if k in types_}
    cfg = dataclasses.replace(config, **fields)
    seed = int(values.get("seed", seed))
    record = {"values": values, "claims": [], "metrics": {}, "error": None}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="jqd-item-") as tmp, CompileTimer() as timer:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        rec = Recorder(tmp, seed=seed, physics=exp.physics)
        rec.record_files = False
        try:
            exp.run(cfg, rec)
        except Exception as err:  # noqa: BLE001 - recorded; the sweep goes on
            record["error"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
        record["claims"] = [c.to_dict() for c in rec.claims]
        record["metrics"] = _scalar_metrics(rec.metrics)
    record["wall_time_s"] = time.perf_counter() - t0
    record["compile_time_s"] = timer.seconds
    record["n_compilations"] = timer.count
    return record


def item_path(item_dir: Path, i: int) -> Path:
    return item_dir / f"item_{i:06d}.json"


def read_item(item_dir: Path, i: int, spec_hash: str) -> dict | None:
    """Item `i`'s record if its file is intact and belongs to this sweep."""
    try:
        record = json.loads(item_path(item_dir, i).read_text())
    except (OSError, ValueError):
        return None
    if record.get("spec_hash") != spec_hash or record.get("index") != i:
        return None
    return record


def write_item(item_dir: Path, i: int, spec_hash: str, record: dict) -> None:
    write_text_atomic(item_path(item_dir, i), dumps({**record, "index": i, "spec_hash": spec_hash}))


def compute_items(
    exp, config, items, todo, item_dir, spec_hash, seed, interrupt, bar, pause
) -> float:
    """Run and write the items `todo` (stopping between items when `interrupt`
    is set); returns the seconds spent computing."""
    spent = 0.0
    for i in todo:
        if interrupt.is_set():
            raise KeyboardInterrupt
        item = {k: v[i] for k, v in items.items()}
        record = run_item(exp, config, item, seed)
        spent += record["wall_time_s"]
        write_item(item_dir, i, spec_hash, record)
        bar.update(1)
        if record["error"]:
            bar.write(f"jqd: item {i} ({where(record['values'])}) failed: {record['error']}")
        pause()
    return spent


def where(values: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


def slug(name: str, taken: set) -> str:
    """A NetCDF variable name for a claim or metric name."""
    s = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    s = "_".join(p for p in s.split("_") if p)[:60] or "claim"
    base, k = s, 2
    while s in taken:
        s, k = f"{base}_{k}", k + 1
    taken.add(s)
    return s


def _typed(values, tp):
    values = np.asarray(values)
    return values.astype(np.int64) if tp is int or tp is None else values


def assemble(exp, config, over, records: list[dict]):
    """`xarray.Dataset` of every claim (measured, tolerance, passed) and scalar
    metric against the swept keys, and the claim table for the report."""
    import xarray as xr

    shape = tuple(len(v) for v in over.values())
    dims = tuple(over)
    types_ = field_types(exp.config)
    claims: dict[str, dict] = {}
    for r in records:
        for c in r["claims"]:
            claims.setdefault(c["name"], {"statement": c["statement"], "op": c["op"]})
    metric_names = sorted({m for r in records for m in r["metrics"]})
    taken: set = set()
    data, table = {}, []
    for name, info in claims.items():
        key = slug(name, taken)
        arr = {f: np.full(len(records), np.nan) for f in ("measured", "tolerance")}
        passed = np.zeros(len(records), bool)
        for j, r in enumerate(records):
            c = next((c for c in r["claims"] if c["name"] == name), None)
            if c is not None:
                arr["measured"][j], arr["tolerance"][j] = c["measured"], c["tolerance"]
                passed[j] = c["passed"]
        attrs = {"claim": name, "statement": info["statement"], "op": info["op"]}
        data[key] = (dims, arr["measured"].reshape(shape), attrs)
        data[f"{key}__tolerance"] = (dims, arr["tolerance"].reshape(shape), attrs)
        data[f"{key}__passed"] = (dims, passed.reshape(shape), attrs)
        table.append({"var": key, **attrs, "passed": int(passed.sum()), "n": len(records)})
    for name in metric_names:
        vals = np.array([r["metrics"].get(name, np.nan) for r in records], float)
        data[f"metric_{slug(name, taken)}"] = (dims, vals.reshape(shape), {"metric": name})
    for field in ("wall_time_s", "compile_time_s"):
        vals = np.array([r.get(field, np.nan) for r in records], float)
        data[field] = (dims, vals.reshape(shape))
    errors = np.array([r["error"] or "" for r in records], dtype=object)
    data["item_error"] = (dims, errors.reshape(shape).astype(str))
    ds = xr.Dataset(
        {k: xr.Variable(v[0], v[1], v[2] if len(v) > 2 else None) for k, v in data.items()},
        coords={k: _typed(v, types_.get(k)) for k, v in over.items()},
    )
    ds.attrs["experiment"] = exp.name
    ds.attrs["mode"] = "per-item"
    ds.attrs["config"] = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    return ds, table
