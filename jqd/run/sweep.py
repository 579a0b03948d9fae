"""Resumable, sharded parameter sweeps (`jqd sweep`), in two modes.

**vmapped** (the keys are among the experiment's `sweep_keys`): its vmappable
`sweep(config, values)` over the Cartesian grid of the `--over` values. The
flattened grid is cut into chunks of `batch` items; each chunk is padded to
the batch size (one compilation for all chunks), split across the devices of
a 1-D mesh (`jqd.shard_batch`; under `jax.distributed`, the devices of every
process), and written atomically as it finishes. `batch="auto"` takes the
largest batch (up to 256 per device) whose memory, from XLA's memory analysis
of the compiled program (bytes per item), fits in half the free device memory.

**per-item** (any numeric config field, e.g. a cutoff or a particle number):
the experiment's own `run`, once per item (`jqd.run._sweep_items`).

    OUT/manifest.json            what is being swept (a hash identifies it), and by
                                 which code (jqd's version, sha256 of jqd's and of
                                 the experiment's sources)
    OUT/chunks/chunk_00012.npz   (vmapped) arrays of items [12*batch, 13*batch)
    OUT/chunks/chunk_00012.json  its item range and the npz's sha256
    OUT/items/item_000012.json   (per-item) one item's claims and metrics
    OUT/results.nc               the assembled xarray.Dataset (when complete)
    OUT/claims.png, SUMMARY.md   each claimed (or scalar) quantity against the keys
    OUT/summary.json             config, versions, devices, timings, pass counts
    OUT/.lock                    held while a sweep writes OUT

A chunk or item counts as done only when its files are intact, so a partial or
corrupt one is recomputed, never read. Rerunning the same command after an
interruption (SIGINT, SIGTERM, SIGKILL) recomputes only what is missing. A
folder holding another sweep, results of other code, or a corrupt manifest is
refused (`--fresh` discards it). Before anything is computed, every item is
validated as `jqd run` validates its config, and (vmapped) the experiment's
`sweep_config` fixes the size parameters for the largest swept values. Every
vmapped chunk is computed by the same compiled program on the same shapes, so
the results are bitwise identical to an uninterrupted run on the same devices.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _distributed, _sweep_items, _sweep_memory, _sweep_report, _sweep_vmapped
from ._store import FORMAT as FORMAT
from ._store import OutputLock as OutputLock
from ._store import SweepLocked as SweepLocked
from ._store import code_fingerprint, manifest_problem
from ._store import read_chunk as read_chunk
from ._store import write_chunk as write_chunk
from ._sweep_grid import check_over, grid_items, parse_over, sweep_mode, to_dataset
from ._sweep_grid import sweepable_keys as sweepable_keys
from ._sweep_grid import why_not_sweepable as why_not_sweepable
from .experiment import config_to_dict, dumps
from .results import environment, make_dirs, remove_empty_dirs, write_text_atomic
from .validate import check_sweep_items

__all__ = ["run_sweep", "parse_over", "grid_items", "check_over", "sweep_mode", "SweepResult"]

_THROTTLE_ENV = "JQD_SWEEP_THROTTLE"  # seconds to pause after each chunk (tests)


@dataclasses.dataclass
class SweepResult:
    out_dir: Path
    n_items: int
    n_chunks: int
    chunks_computed: list[int]
    chunks_reused: list[int]
    summary: dict[str, Any]


def sweep_spec(exp, config, over, batch, quick, mode="vmapped") -> tuple[dict, str]:
    spec = {
        "format": FORMAT,
        "experiment": exp.name,
        "mode": mode,
        "quick": bool(quick),
        "config": config_to_dict(config),
        "over": {k: np.asarray(v).tolist() for k, v in over.items()},
        "batch": int(batch),
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return spec, digest


@contextlib.contextmanager
def _removed_if_unused(out_dir: Path, created: list[Path]):
    """On failure, remove the folder this sweep created if nothing got written in it."""
    try:
        yield
    except BaseException:
        parts = [out_dir / "chunks", out_dir / "items"]
        if created and not any(any(d.glob("*_0*")) for d in parts):
            for p in [out_dir / "manifest.json", *out_dir.glob(".*")]:
                if p.is_file():
                    p.unlink()
            for d in parts:
                for p in d.glob(".*"):
                    p.unlink()
                with contextlib.suppress(OSError):
                    d.rmdir()
            remove_empty_dirs(created)
        raise


def _prepare_folder(out_dir, spec, spec_hash, code, n_items, n_chunks, fresh) -> None:
    """Check what `out_dir` holds (refuse or discard it), write the manifest."""
    from .registry import UsageError

    problem = manifest_problem(out_dir, spec_hash, code)
    if problem is not None:
        if not fresh:
            raise UsageError(
                f"{problem}; rerun with --fresh to discard it and start afresh, or choose "
                "another --out."
            )
        for d in ("chunks", "items"):
            for p in (out_dir / d).glob("*"):
                p.unlink()
        for name in ("results.nc", "summary.json", "SUMMARY.md"):
            (out_dir / name).unlink(missing_ok=True)
    for d in ("chunks", "items"):
        (out_dir / d).mkdir(exist_ok=True)
        for leftover in (out_dir / d).glob(".*.tmp*"):
            leftover.unlink()  # temp files of an interrupted writer
    for leftover in out_dir.glob(".*.tmp*"):
        leftover.unlink()
    manifest = {"spec_hash": spec_hash, "n_items": n_items, "n_chunks": n_chunks, **spec}
    write_text_atomic(out_dir / "manifest.json", dumps({**manifest, "code": code}) + "\n")


def _per_item(exp, config, items, n_items, item_dir, spec_hash, seed, ctx) -> dict:
    mine = [i for i in range(n_items) if i % _distributed.count() == _distributed.index()]
    todo = [i for i in mine if _sweep_items.read_item(item_dir, i, spec_hash) is None]
    if len(todo) < len(mine):
        ctx["log"](f"jqd: resuming: {len(mine) - len(todo)}/{len(mine)} items already written.")
    with ctx["bar"](len(mine), len(mine) - len(todo), "item") as bar:
        spent = _sweep_items.compute_items(
            exp, config, items, todo, item_dir, spec_hash, seed, ctx["interrupt"], bar, ctx["pause"]
        )
    _distributed.barrier("jqd-sweep-items")
    records = []
    for i in range(n_items):
        r = _sweep_items.read_item(item_dir, i, spec_hash)
        if r is None:
            raise RuntimeError(f"item {i} went bad after writing; rerun to redo it.")
        records.append(r)
    return {
        "records": records,
        "todo": todo,
        "reused": sorted(set(range(n_items)) - set(todo)),
        "n_chunks": n_items,
        "compile_time_s": sum(r["compile_time_s"] for r in records if r["index"] in todo),
        "compute_time_s": spent,
        "items_per_s": (len(todo) / spent) if spent else None,
    }


def run_sweep(
    exp,
    config,
    over: dict[str, np.ndarray],
    out_dir,
    *,
    batch: int | str = "auto",
    devices: int | None = None,
    quick: bool = False,
    fresh: bool = False,
    progress: bool = True,
    log=print,
    interrupt: threading.Event | None = None,
    mode: str | None = None,
    seed: int = 0,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring for both modes and the folder.

    Args:
        exp: the `Experiment`.
        config: the base config; swept fields are replaced item by item.
        over: swept field -> 1-D values; the grid is their Cartesian product.
        out_dir: output folder (created; locked while running).
        batch: items per vmapped chunk, or "auto" (memory model; see module doc).
        devices: how many devices to shard over (default: all of the backend's).
        fresh: discard what `out_dir` holds if it cannot be resumed.
        interrupt: when set (the command sets it on the first SIGINT/SIGTERM), the
            sweep raises KeyboardInterrupt before its next chunk or item: one in
            flight is finished and written, never cut inside XLA.
        mode: "vmapped", "per-item", or None (vmapped when every key allows it).
        seed: the per-item runs' seed (`jqd sweep --seed`; also sweepable as `seed`).
    """
    from .._sharding import batch_mesh
    from .registry import UsageError

    interrupt = threading.Event() if interrupt is None else interrupt
    mode = sweep_mode(exp, over, mode)
    if batch != "auto" and int(batch) < 1:
        raise UsageError(f"--batch must be >= 1 or auto; got {batch}.")
    check_sweep_items(exp, config, over)  # every item as `jqd run` checks its config
    if mode == "vmapped" and exp.sweep_config is not None:  # sizes for the whole range
        config = exp.sweep_config(config, over)
        check_sweep_items(exp, config, over)
    out_dir = Path(out_dir)
    items = grid_items(over)
    n_items = int(next(iter(items.values())).size)
    mesh = batch_mesh(devices) if mode == "vmapped" else None
    ctx: dict[str, Any] = {"log": log, "interrupt": interrupt}
    throttle = float(os.environ.get(_THROTTLE_ENV, "0") or 0)
    ctx["pause"] = (lambda: interrupt.wait(throttle)) if throttle else (lambda: None)
    ctx["bar"] = lambda total, initial, unit: _progress(exp.name, total, initial, unit, progress)
    if mode == "vmapped" and batch == "auto":
        import jax

        dtype = jax.numpy.result_type(float)
        batched = jax.vmap(lambda values: exp.sweep(config, values))
        batch, per_item, budget = _sweep_memory.auto_batch(batched, items, n_items, mesh, dtype)
        ctx.update(auto_batch=True, memory_budget_bytes=budget, probe_bytes_per_item=per_item)
    batch = int(batch) if mode == "vmapped" else 1
    spec, spec_hash = sweep_spec(exp, config, over, batch, quick, mode)
    code = code_fingerprint(exp)
    n_chunks = math.ceil(n_items / batch)
    created = make_dirs(out_dir) if _distributed.is_writer() else []
    lock = OutputLock(out_dir) if _distributed.is_writer() else contextlib.nullcontext()
    with _removed_if_unused(out_dir, created), lock:
        t_start = time.perf_counter()
        if _distributed.is_writer():
            _prepare_folder(out_dir, spec, spec_hash, code, n_items, n_chunks, fresh)
        _distributed.barrier("jqd-sweep-prepared")
        if mode == "vmapped":
            got = _sweep_vmapped.compute(
                exp, config, items, n_items, batch, mesh, out_dir / "chunks", spec_hash, ctx
            )
            dataset = to_dataset(exp, config, over, got["results"])
            shape = tuple(len(v) for v in over.values())
            dataset["item_error"] = (tuple(over), got["errors"].reshape(shape).astype(str))
            for out, (op, tol) in exp.sweep_claims.items():
                values = dataset[out].values
                dataset[f"{out}__tolerance"] = (tuple(over), np.full(values.shape, float(tol)))
                dataset[f"{out}__passed"] = (tuple(over), _sweep_report.passes(values, op, tol))
                dataset[out].attrs.update(op=op, claim=out)
            failed = [
                f"item {i} ({_sweep_items.where({k: v[i] for k, v in items.items()})}): {e}"
                for i, e in enumerate(got["errors"])
                if e
            ]
            claim_counts = _sweep_report.claim_counts(dataset, over)
        else:
            got = _per_item(exp, config, items, n_items, out_dir / "items", spec_hash, seed, ctx)
            dataset, _ = _sweep_items.assemble(exp, config, over, got["records"])
            failed = [
                f"item {r['index']} ({_sweep_items.where(r['values'])}): {r['error']}"
                for r in got["records"]
                if r["error"]
            ]
            claim_counts = _sweep_report.claim_counts(dataset, over)
        wall = time.perf_counter() - t_start
        summary = {
            "experiment": exp.name,
            "kind": "sweep",
            **spec,
            "spec_hash": spec_hash,
            "code": code,
            "n_items": n_items,
            "n_chunks": got["n_chunks"],
            "devices_used": mesh.devices.size if mesh is not None else 1,
            "processes": _distributed.count(),
            "chunks_computed": got["todo"],
            "chunks_reused": got["reused"],
            "wall_time_s": wall,
            "compile_time_s": got["compile_time_s"],
            "compute_time_s": got["compute_time_s"],
            "items_per_s": got["items_per_s"],
            "claims": claim_counts,
            "items_failed": failed,
            "results": "results.nc",
            "environment": environment(),
            "machine": platform.processor() or platform.machine(),
        }
        for k in (
            "padded_batch",
            "bytes_per_item",
            "auto_batch",
            "memory_budget_bytes",
            "probe_bytes_per_item",
        ):
            if k in got or k in ctx:
                summary[k] = got.get(k, ctx.get(k))
        if mode == "vmapped":
            summary["outputs"] = {
                k: {"shape": list(s), "dtype": d} for k, (s, d) in got["expected"].items()
            }
        if _distributed.is_writer():
            _sweep_report.write_results(exp, out_dir, dataset, over, mode, failed, wall, summary)
    return SweepResult(out_dir, n_items, got["n_chunks"], got["todo"], got["reused"], summary)


@contextlib.contextmanager
def _progress(name, total, initial, unit, enabled):
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=name,
        disable=not enabled,
        smoothing=0.1,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()
