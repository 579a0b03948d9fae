"""Resumable, sharded parameter sweeps (`jqd sweep`): vmapped (the experiment's
`sweep` over chunks of the grid, one compiled program, sharded) or per-item (its
`run` once per item). The folder layout, resume and multi-process rules:
docs/internals/run.md#sweeps; the user's side: README.md and docs/cli.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _sweep_report
from .distributed import _barrier, _is_writer, _processes
from .experiment import Recorder, config_to_dict, dumps
from .registry import UsageError, did_you_mean, field_types
from .results import CompileTimer, environment, make_dirs, remove_empty_dirs
from .storage import (
    OutputLock,
    checkpoint_folder,
    code_fingerprint,
    reuse_problem,
    savez_atomic,
    write_text_atomic,
)
from .validate import cast_swept, check_sweep_items

__all__ = ["run_sweep", "parse_over", "grid_items", "sweep_mode", "SweepResult"]

_THROTTLE_ENV = "JQD_SWEEP_THROTTLE"  # seconds to pause after each chunk (tests)
MAX_ITEMS_PER_KEY = 10**6  # refused at parse time: a typo must not allocate or hang
MODES = ("vmapped", "per-item")
AUTO_BATCH_CAP = 256  # items per device when --batch auto
MEMORY_FRACTION = 0.5  # of the free device memory a chunk may take
ERROR_DTYPE = "<U400"  # per-item error message ("" when the item ran)
MAX_LISTED = 100  # failed claims listed in summary.json (all: results.nc's `__passed`)
FORMAT = 1  # of the sweep folder (in its manifest's spec)


# -- chunks -------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _chunk_paths(chunk_dir: Path, i: int) -> tuple[Path, Path]:
    return chunk_dir / f"chunk_{i:05d}.npz", chunk_dir / f"chunk_{i:05d}.json"


def write_chunk(chunk_dir: Path, i: int, start: int, stop: int, arrays: dict, spec_hash: str):
    """Atomically write chunk `i`: npz (temp + fsync + replace), then its sidecar."""
    npz, meta = _chunk_paths(chunk_dir, i)
    savez_atomic(npz, **arrays)
    info = {
        "chunk": i,
        "start": start,
        "stop": stop,
        "spec_hash": spec_hash,
        "sha256": _sha256(npz),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text_atomic(meta, json.dumps(info, indent=1))


def read_chunk(chunk_dir: Path, i: int, start: int, stop: int, spec_hash: str, expected: dict):
    """(arrays, "ok") if chunk `i` is complete, intact and holds `expected` (output ->
    (shape, dtype)) for items [start, stop); else (None, why not)."""
    npz, meta = _chunk_paths(chunk_dir, i)
    if not npz.exists() and not meta.exists():
        return None, "missing"
    if not npz.exists() or not meta.exists():
        return None, "partial (data or checksum file missing)"
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None, "unreadable checksum file"
    if info.get("spec_hash") != spec_hash or (info.get("start"), info.get("stop")) != (start, stop):
        return None, "written by a different sweep"
    if _sha256(npz) != info.get("sha256"):
        return None, "checksum mismatch (corrupt or partial)"
    try:
        with np.load(npz) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any read failure means recompute
        return None, f"unreadable ({type(err).__name__})"
    n = stop - start
    for name, (shape, dtype) in expected.items():
        a = arrays.get(name)
        if a is None or a.shape != (n, *shape) or str(a.dtype) != dtype:
            return None, f"unexpected contents for {name!r}"
    return arrays, "ok"


# -- the manifest: what is being swept, and by which code ---------------------------
def manifest_problem(out_dir: Path, spec: dict, code: dict) -> str | None:
    """Why the sweep already in `out_dir` must not be resumed by this one (None: resume)."""
    manifest = Path(out_dir) / "manifest.json"
    if not manifest.exists():
        if any((Path(out_dir) / "chunks").glob("chunk_*")):
            return (
                f"{out_dir} holds sweep chunks but no manifest.json, so what computed them "
                "is unknown"
            )
        return None
    return reuse_problem(manifest, {**spec, "code": code}, "sweep", "chunks")


def prepare_folder(out_dir: Path, manifest: dict, code: dict, fresh: bool) -> None:
    """Check what `out_dir` holds (refuse it, or discard it when `fresh`), write the manifest."""
    spec = {k: v for k, v in manifest.items() if k not in ("spec_hash", "n_items", "n_chunks")}
    problem = manifest_problem(out_dir, spec, code)
    if problem is not None:
        if not fresh:
            raise UsageError(
                f"{problem}; rerun with --fresh to discard it and start afresh, or choose "
                "another --out."
            )
        for p in [*out_dir.glob("chunks/*"), *out_dir.glob("items/*")]:
            p.unlink()
        for name in ("results.nc", "summary.json", "SUMMARY.md"):
            (out_dir / name).unlink(missing_ok=True)
    for d in ("chunks", "items"):
        (out_dir / d).mkdir(exist_ok=True)
    for leftover in [*out_dir.glob(".*.tmp*"), *out_dir.glob("*/.*.tmp*")]:
        leftover.unlink()  # temp files of an interrupted writer
    write_text_atomic(out_dir / "manifest.json", dumps({**manifest, "code": code}) + "\n")


@contextlib.contextmanager
def removed_if_unused(out_dir: Path, created: list[Path]):
    """On failure, remove the folders this sweep created if no chunk or item got written."""
    try:
        yield
    except BaseException:
        if created and not any(out_dir.glob("chunks/*_0*")) and not any(out_dir.glob("items/*_0*")):
            shutil.rmtree(out_dir, ignore_errors=True)
            remove_empty_dirs(created[1:])
        raise


# -- per-item records -----------------------------------------------------------------
def read_item(item_dir: Path, i: int, spec_hash: str) -> dict | None:
    """Item `i`'s record if its file is intact and belongs to this sweep."""
    try:
        record = json.loads((item_dir / f"item_{i:06d}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if (record.get("spec_hash"), record.get("index")) == (spec_hash, i) else None


# -- what may be swept, and the grid ----------------------------------------------
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


def sweepable_keys(exp) -> dict[str, str]:
    """key -> "vmapped" (a `sweep_keys` field) or "per-item" (any other int or float
    field but `not_sweepable`, and `seed`) for every key `jqd sweep` accepts."""
    out = {}
    for key, tp in field_types(exp.config).items():
        if key not in exp.not_sweepable and tp in (int, float):
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
    """`mode`, or vmapped when every key of `over` allows it, else per-item."""
    if not over:
        raise UsageError("give at least one --over key=start:stop:num.")
    if mode is not None and mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}.")
    keys = sweepable_keys(exp)
    for key in over:
        if key not in keys:
            if key not in field_types(exp.config):
                raise UsageError(
                    f"unknown key {key!r} for {exp.name}{did_you_mean(key, keys)}; sweepable "
                    f"keys: {', '.join(keys)}."
                )
            raise UsageError(
                f"{key} cannot be swept for {exp.name}: {why_not_sweepable(exp, key)}."
            )
    bad = next((k for k in over if keys[k] != "vmapped"), None)
    if mode == "vmapped" and bad is not None:
        raise UsageError(
            f"--mode vmapped: {bad} cannot be vmapped for {exp.name}: "
            f"{why_not_vmapped(exp, bad)}. Vmapped keys: {', '.join(exp.sweep_keys) or 'none'}."
        )
    return mode or ("vmapped" if bad is None else "per-item")


def grid_items(over: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Flattened Cartesian grid (first key slowest), one 1-D array per key."""
    mesh = np.meshgrid(*over.values(), indexing="ij")
    return {k: m.reshape(-1) for k, m in zip(over, mesh, strict=True)}


def _where(values: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


# -- several processes (jax.distributed: distributed.py); no-ops with one -----------
def _smallest(n: int) -> int:
    """The smallest of every process's `n`."""
    if _processes()[0] == 1:
        return n
    from jax.experimental import multihost_utils

    return int(np.min(multihost_utils.process_allgather(np.array([n], np.int64))))


def _agree(todo: list[int]) -> list[int]:
    """Process 0's list of chunks to compute, the same on every process."""
    if _processes()[0] == 1:
        return todo
    from jax.experimental import multihost_utils

    n = int(multihost_utils.broadcast_one_to_all(np.array([len(todo)]))[0])
    padded = np.full(max(n, 1), -1, np.int64)
    padded[: min(n, len(todo))] = todo[:n]
    return [int(i) for i in multihost_utils.broadcast_one_to_all(padded)[:n]]


# -- the vmapped mode's program and memory model -----------------------------------
def free_memory(device) -> int:
    """Bytes free on `device` (GPU: its allocator's limit minus use; CPU: MemAvailable)."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 8 * 2**30


def compile_batched(batched, example, mesh):
    """The sweep's program: `batched` per device under `shard_map` (why not plain jit,
    and check_vma=False: docs/internals/run.md#sweeps)."""
    import jax
    from jax.sharding import PartitionSpec

    from jqd._sharding import shard_batch

    spec = PartitionSpec(mesh.axis_names[0])
    per_device = jax.shard_map(batched, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)
    return jax.jit(per_device).lower(shard_batch(example, mesh)).compile()


def _program_bytes(compiled) -> int:
    m = compiled.memory_analysis()
    if m is None:
        return 0
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)


def _auto_batch(batched, items, n_items, mesh, dtype) -> dict:
    """The largest batch (<= AUTO_BATCH_CAP per device) whose program fits the budget."""
    n_dev = mesh.devices.size
    per_dev = max(1, min(AUTO_BATCH_CAP, math.ceil(n_items / n_dev)))
    budget = int(MEMORY_FRACTION * free_memory(mesh.devices.flat[0]))
    probe = {k: np.full((n_dev,), v[0], dtype) for k, v in items.items()}
    per_item = max(1, _program_bytes(compile_batched(batched, probe, mesh)))  # one item per device
    per_dev = max(1, min(per_dev, budget // per_item))
    return {
        "batch": per_dev * n_dev,
        "auto_batch": True,
        "memory_budget_bytes": budget,
        "probe_bytes_per_item": per_item,
    }


def _short(err: BaseException) -> str:
    """The jqd message inside a (possibly long) XLA runtime error."""
    text = str(err)
    m = re.search(r"(jqd[.\w]*\([^)]*\)[^\n]*)", text) or re.search(r"(jqd[^\n]*)", text)
    line = m.group(1) if m else (text.strip().splitlines() or [type(err).__name__])[0]
    return f"{type(err).__name__}: {line}"[:400]


def _run_chunk(compiled, chunk, n_real, mesh, expected, log) -> dict:
    """One chunk's outputs (the first `n_real` items) and per-item errors."""
    from jqd._sharding import gather_batch, shard_batch

    try:  # with several processes each places and computes its own rows
        out = gather_batch(compiled(shard_batch(chunk, mesh)))
        return {
            **{k: v[:n_real] for k, v in out.items()},
            "item_error": np.full(n_real, "", ERROR_DTYPE),
        }
    except Exception as err:  # noqa: BLE001 - find the failing items
        if _processes()[0] > 1:
            raise  # the processes would part ways: stop the job, say which chunk
        log(f"jqd: a chunk failed ({_short(err)}); recomputing its items one by one.")
    padded = len(next(iter(chunk.values())))
    arrays = {  # NaN (or 0) for the items that fail; "" for the errors of those that run
        k: np.full((n_real, *s), {"f": np.nan, "c": np.nan, "U": ""}.get(np.dtype(d).kind, 0), d)
        for k, (s, d) in expected.items()
    }
    for j in range(n_real):
        one = {k: np.full(padded, v[j], v.dtype) for k, v in chunk.items()}
        try:
            out = compiled(shard_batch(one, mesh))
        except Exception as err:  # noqa: BLE001 - recorded per item
            arrays["item_error"][j] = _short(err)
            continue
        for k, v in out.items():
            arrays[k][j] = np.asarray(v)[0]
    return arrays


def _vmapped(exp, batched, items, batch, mesh, out_dir, spec_hash, log, each) -> dict:
    """Compute the missing chunks; returns the results, per-item errors and timings."""
    import jax

    chunk_dir = out_dir / "chunks"
    n_items = len(next(iter(items.values())))
    n_dev = mesh.devices.size
    n_chunks = math.ceil(n_items / batch)
    padded = math.ceil(min(batch, n_items) / n_dev) * n_dev
    dtype = jax.numpy.result_type(float)
    example = {k: np.full((padded,), v[0], dtype) for k, v in items.items()}
    out_shape = jax.eval_shape(batched, example)
    if not isinstance(out_shape, dict) or not out_shape:
        raise TypeError(f"{exp.name}.sweep must return a non-empty dict of arrays.")
    outputs = {k: (tuple(s.shape[1:]), str(np.dtype(s.dtype))) for k, s in out_shape.items()}
    expected = {**outputs, "item_error": ((), ERROR_DTYPE)}
    bounds = [(i * batch, min((i + 1) * batch, n_items)) for i in range(n_chunks)]
    todo = []
    for i, (a, b) in enumerate(bounds):
        why = read_chunk(chunk_dir, i, a, b, spec_hash, expected)[1]
        if why != "ok":
            if why != "missing":
                log(f"jqd: chunk {i} is {why}; recomputing it.")
            todo.append(i)
    todo = _agree(todo)
    reused = [i for i in range(n_chunks) if i not in todo]
    if reused:
        log(f"jqd: resuming {out_dir}: {len(reused)}/{n_chunks} chunks already written.")
    stats = {"padded_batch": padded, "compile_time_s": 0.0, "compute_time_s": 0.0}

    def step(i, bar):
        start, end = bounds[i]
        pad = padded - (end - start)
        chunk = {
            k: np.concatenate([v[start:end], np.repeat(v[end - 1 : end], pad)]).astype(dtype)
            for k, v in items.items()
        }
        t1 = time.perf_counter()
        arrays = _run_chunk(compiled, chunk, end - start, mesh, expected, log)
        stats["compute_time_s"] += time.perf_counter() - t1
        if _is_writer():
            write_chunk(chunk_dir, i, start, end, arrays, spec_hash)
        return end - start

    if todo:
        t0 = time.perf_counter()
        compiled = compile_batched(batched, example, mesh)
        stats["compile_time_s"] = time.perf_counter() - t0
        stats["bytes_per_item"] = _program_bytes(compiled) / max(1, padded // n_dev)
        done = sum(bounds[i][1] - bounds[i][0] for i in reused)
        each(todo, n_items, done, step)
    _barrier("jqd-sweep-chunks")
    parts = []
    for i, (a, b) in enumerate(bounds):
        arrays, why = read_chunk(chunk_dir, i, a, b, spec_hash, expected)
        if arrays is None:
            raise RuntimeError(f"chunk {i} went bad after writing ({why}); rerun to redo it.")
        parts.append(arrays)
    results = {k: np.concatenate([p[k] for p in parts]) for k in expected}
    errors = results.pop("item_error")
    return {
        **stats,
        "results": results,
        "errors": list(errors),
        "outputs": {k: {"shape": list(s), "dtype": d} for k, (s, d) in outputs.items()},
        "todo": todo,
        "reused": reused,
        "n_done": sum(bounds[i][1] - bounds[i][0] for i in todo),
    }


# -- the per-item mode ---------------------------------------------------------------
def run_item(exp, config, item: dict, seed: int) -> dict:
    """One item: the experiment's run on `config` with `item`'s fields replaced."""
    import random

    types_ = field_types(exp.config)
    values = {k: cast_swept(k, v, types_.get(k, float)) for k, v in item.items()}
    cfg = dataclasses.replace(config, **{k: v for k, v in values.items() if k in types_})
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
        record["claims"] = [dataclasses.asdict(c) for c in rec.claims]
        scalars = {k: v for k, v in rec.metrics.items() if isinstance(v, int | float)}
        record["metrics"] = {k: float(v) for k, v in scalars.items()}
    record["wall_time_s"] = time.perf_counter() - t0
    record["compile_time_s"] = timer.seconds
    record["n_compilations"] = timer.count
    return record


def _per_item(exp, config, items, item_dir, spec_hash, seed, log, each) -> dict:
    """Run and write the missing items of this process (every process writes its own)."""
    n_items = len(next(iter(items.values())))
    n_proc, me = _processes()
    mine = [i for i in range(n_items) if i % n_proc == me]
    todo = [i for i in mine if read_item(item_dir, i, spec_hash) is None]
    if len(todo) < len(mine):
        log(f"jqd: resuming: {len(mine) - len(todo)}/{len(mine)} items already written.")
    spent = []

    def step(i, bar):
        record = run_item(exp, config, {k: v[i] for k, v in items.items()}, seed)
        spent.append(record["wall_time_s"])
        record = {**record, "index": i, "spec_hash": spec_hash}
        write_text_atomic(item_dir / f"item_{i:06d}.json", dumps(record))
        if record["error"]:
            bar.write(f"jqd: item {i} ({_where(record['values'])}) failed: {record['error']}")
        return 1

    each(todo, len(mine), len(mine) - len(todo), step)
    _barrier("jqd-sweep-items")
    records = [read_item(item_dir, i, spec_hash) for i in range(n_items)]
    if None in records:
        raise RuntimeError(f"item {records.index(None)} went bad after writing; rerun to redo it.")
    return {
        "records": records,
        "errors": [r["error"] for r in records],
        "todo": todo,
        "reused": sorted(set(range(n_items)) - set(todo)),
        "compile_time_s": sum(r["compile_time_s"] for r in records if r["index"] in todo),
        "compute_time_s": sum(spent, 0.0),
        "n_done": len(todo),
    }


# -- the entry point -----------------------------------------------------------------
@dataclasses.dataclass
class SweepResult:
    out_dir: Path
    n_items: int
    n_chunks: int
    chunks_computed: list[int]
    chunks_reused: list[int]
    summary: dict[str, Any]


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
    """Run (or resume) a sweep of `exp` from `config` over the grid product of `over`
    into `out_dir`; the arguments are `jqd sweep`'s options. `interrupt`, once set,
    raises KeyboardInterrupt before the next chunk or item (never inside XLA)."""
    import jax
    from tqdm.auto import tqdm

    from jqd._sharding import batch_mesh

    interrupt = threading.Event() if interrupt is None else interrupt
    mode = sweep_mode(exp, over, mode)
    if mode == "per-item" and checkpoint_folder(config) is not None:
        raise UsageError(
            f"checkpoint={config.checkpoint}: every item of a per-item sweep would resume "
            "from this one checkpoint folder; leave checkpoint unset (the sweep resumes item "
            "by item), or run each item with jqd run and its own folder."
        )
    if batch != "auto" and int(batch) < 1:
        raise UsageError(f"--batch must be >= 1 or auto; got {batch}.")
    check_sweep_items(exp, config, over)  # every item as `jqd run` checks its config
    if mode == "vmapped" and exp.sweep_config is not None:  # sizes for the whole range
        config = exp.sweep_config(config, over)
        check_sweep_items(exp, config, over)
    out_dir = Path(out_dir)
    items = grid_items(over)
    n_items = int(next(iter(items.values())).size)
    mesh = batch_mesh(devices)  # refuses a bad --devices in either mode
    if mode != "vmapped":
        mesh = None  # one item at a time, on the default device
    throttle = float(os.environ.get(_THROTTLE_ENV, "0") or 0)
    bar = dict(unit="item", desc=exp.name, disable=not progress, smoothing=0.1, dynamic_ncols=True)

    def each(todo, total: int, done: int, step) -> None:
        """`step(i, bar)` (returns the items it did) for each unit of `todo` under the
        progress bar, stopping between units (never inside one) once `interrupt` is set."""
        with tqdm(total=total, initial=done, **bar) as progress_bar:
            for i in todo:
                if interrupt.is_set():
                    raise KeyboardInterrupt
                progress_bar.update(step(i, progress_bar))
                if throttle:
                    interrupt.wait(throttle)

    auto = {}
    batched = jax.vmap(lambda values: exp.sweep(config, values))
    if mode == "vmapped" and batch == "auto":
        auto = _auto_batch(batched, items, n_items, mesh, jax.numpy.result_type(float))
        batch = _smallest(auto.pop("batch"))  # each process measured its own free memory
    batch = int(batch) if mode == "vmapped" else 1
    spec = {
        "format": FORMAT,
        "experiment": exp.name,
        "mode": mode,
        "quick": bool(quick),
        "config": config_to_dict(config),
        "over": {k: np.asarray(v).tolist() for k, v in over.items()},
        "batch": batch,
        **({"seed": int(seed)} if mode == "per-item" else {}),  # the items' runs use it
    }
    spec_hash = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    code = code_fingerprint(exp)
    n_chunks = math.ceil(n_items / batch)
    created = make_dirs(out_dir) if _is_writer() else []
    lock = OutputLock(out_dir) if _is_writer() else contextlib.nullcontext()
    with removed_if_unused(out_dir, created), lock:
        t_start = time.perf_counter()
        if _is_writer():
            manifest = {"spec_hash": spec_hash, "n_items": n_items, "n_chunks": n_chunks, **spec}
            prepare_folder(out_dir, manifest, code, fresh)
        _barrier("jqd-sweep-prepared")
        if mode == "vmapped":
            got = _vmapped(exp, batched, items, batch, mesh, out_dir, spec_hash, log, each)
            results, errors = got.pop("results"), got["errors"]
            dataset = _sweep_report.vmapped_dataset(exp, config, over, results, errors)
        else:
            got = _per_item(exp, config, items, out_dir / "items", spec_hash, seed, log, each)
            dataset = _sweep_report.per_item_dataset(exp, config, over, got.pop("records"))
        failed = [
            f"item {i} ({_where({k: v[i] for k, v in items.items()})}): {e}"
            for i, e in enumerate(got.pop("errors"))
            if e
        ]
        failing = _sweep_report.failing_claims(dataset, items)
        wall = time.perf_counter() - t_start
        n_done = got.pop("n_done")
        summary = {
            "experiment": exp.name,
            "kind": "sweep",
            **spec,
            "spec_hash": spec_hash,
            "code": code,
            "n_items": n_items,
            "n_chunks": n_chunks,
            "devices_used": mesh.devices.size if mesh is not None else 1,
            "processes": _processes()[0],
            "chunks_computed": got.pop("todo"),
            "chunks_reused": got.pop("reused"),
            "wall_time_s": wall,
            "items_per_s": (n_done / got["compute_time_s"]) if got["compute_time_s"] else None,
            "claims": _sweep_report.claim_counts(dataset),
            "items_failed": failed,
            # as `run`'s: every item ran and passed every claim it made
            "passed": not failed and not failing,
            "n_claims_failed": len(failing),
            "claims_failed": failing[:MAX_LISTED],
            "results": "results.nc",
            "environment": environment(),
            "machine": platform.processor() or platform.machine(),
            **auto,
            **got,
        }
        if _is_writer():
            _sweep_report.write_results(
                exp, config, out_dir, dataset, over, mode, failed, wall, summary
            )
    s = summary
    return SweepResult(out_dir, n_items, n_chunks, s["chunks_computed"], s["chunks_reused"], s)
