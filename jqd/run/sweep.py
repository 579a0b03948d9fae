"""Resumable, sharded parameter sweeps (`jqd sweep`).

A sweep evaluates an experiment's vmappable `sweep(config, values)` over the
Cartesian grid of the `--over` values. The flattened grid is cut into chunks
of `batch` items; each chunk is padded to the batch size (one compilation for
all chunks), split across the devices of a 1-D mesh (`jqd.shard_batch`), and
written atomically as it finishes:

    OUT/manifest.json            what is being swept (a hash identifies it), and by
                                 which code (jqd's version, sha256 of jqd's and of
                                 the experiment's sources)
    OUT/chunks/chunk_00012.npz   arrays of items [12*batch, 13*batch)
    OUT/chunks/chunk_00012.json  its item range and the npz's sha256
    OUT/results.nc               the assembled xarray.Dataset (when complete)
    OUT/summary.json             config, versions, devices, timings
    OUT/.lock                    held while a sweep writes OUT

A chunk counts as done only when its npz and its sidecar exist and the
sha256 matches, so a partial or corrupt chunk is recomputed, never read.
Rerunning the same command after an interruption (SIGINT, SIGTERM, SIGKILL)
recomputes only the missing chunks. A folder holding another sweep, chunks
computed by other code, or a corrupt manifest is refused (`--fresh` discards
it). Before anything is computed, every item is validated as `jqd run`
validates its config, and the experiment's `sweep_config` fixes the size
parameters (e.g. a Fock cutoff) for the largest swept values. Every chunk is computed by the same
compiled program on the same shapes, so the results are bitwise identical to
an uninterrupted run on the same devices.
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

from ._store import FORMAT as FORMAT
from ._store import OutputLock as OutputLock
from ._store import SweepLocked as SweepLocked
from ._store import code_fingerprint, manifest_problem
from ._store import read_chunk as read_chunk
from ._store import write_chunk as write_chunk
from .experiment import config_to_dict, dumps
from .registry import UsageError, field_types
from .results import environment, make_dirs, remove_empty_dirs, write_text_atomic
from .validate import check_sweep_items

_THROTTLE_ENV = "JQD_SWEEP_THROTTLE"  # seconds to pause after each chunk (tests)


# -- the swept grid ---------------------------------------------------------------
MAX_ITEMS_PER_KEY = 10**6  # refused at parse time: a typo must not allocate or hang


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


def why_not_sweepable(exp, key: str) -> str:
    """Why config field `key` of `exp` is not one of its `sweep_keys`."""
    if key in exp.sweep_why_not:
        return exp.sweep_why_not[key]
    if field_types(exp.config).get(key) is int:
        return "an integer fixes array shapes (one compiled program runs every item); use --set"
    return f"{exp.name}'s sweep function does not read it, so sweeping it changes nothing"


def check_over(exp, over: dict[str, np.ndarray]) -> None:
    if exp.sweep is None:
        raise UsageError(f"{exp.name} defines no sweep function; it cannot be swept.")
    if not over:
        raise UsageError("give at least one --over key=start:stop:num.")
    types_ = field_types(exp.config)
    sweepable = ", ".join(exp.sweep_keys)
    for key in over:
        if key not in types_:
            raise UsageError(f"unknown key {key!r} for {exp.name}; sweepable keys: {sweepable}.")
        if key not in exp.sweep_keys:
            raise UsageError(
                f"{key} cannot be swept for {exp.name}: {why_not_sweepable(exp, key)}. "
                f"Sweepable keys: {sweepable}."
            )


def grid_items(over: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Flattened Cartesian grid (first key slowest), one 1-D array per key."""
    mesh = np.meshgrid(*over.values(), indexing="ij")
    return {k: m.reshape(-1) for k, m in zip(over, mesh, strict=True)}


# -- the sweep ------------------------------------------------------------------------
@dataclasses.dataclass
class SweepResult:
    out_dir: Path
    n_items: int
    n_chunks: int
    chunks_computed: list[int]
    chunks_reused: list[int]
    summary: dict[str, Any]


def sweep_spec(exp, config, over, batch, quick) -> tuple[dict, str]:
    spec = {
        "format": FORMAT,
        "experiment": exp.name,
        "quick": bool(quick),
        "config": config_to_dict(config),
        "over": {k: np.asarray(v).tolist() for k, v in over.items()},
        "batch": int(batch),
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return spec, digest


@contextlib.contextmanager
def _removed_if_unused(out_dir: Path, created: list[Path]):
    """On failure, remove the folder this sweep created if no chunk got written in it."""
    try:
        yield
    except BaseException:
        chunk_dir = out_dir / "chunks"
        if created and not any(chunk_dir.glob("chunk_*")):
            for p in [out_dir / "manifest.json", *chunk_dir.glob(".*"), *out_dir.glob(".*")]:
                if p.is_file():
                    p.unlink()
            with contextlib.suppress(OSError):
                chunk_dir.rmdir()
            remove_empty_dirs(created)
        raise


def run_sweep(
    exp,
    config,
    over: dict[str, np.ndarray],
    out_dir,
    *,
    batch: int = 256,
    devices: int | None = None,
    quick: bool = False,
    fresh: bool = False,
    progress: bool = True,
    log=print,
    interrupt: threading.Event | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring for the folder layout.

    Args:
        exp: the `Experiment` (must define `sweep`).
        config: the base config; swept fields are replaced item by item.
        over: swept field -> 1-D values; the grid is their Cartesian product.
        out_dir: output folder (created; locked while running).
        batch: items per chunk (one vmapped, sharded call each).
        devices: how many devices to shard over (default: all of the backend's).
        fresh: discard what `out_dir` holds if it cannot be resumed (another
            spec, other code, a corrupt manifest).
        interrupt: when set (the command sets it on the first SIGINT/SIGTERM), the
            sweep raises KeyboardInterrupt before its next chunk: a chunk in
            flight is finished and written, never cut inside XLA.
    """
    import jax

    from .._sharding import batch_mesh, shard_batch

    interrupt = threading.Event() if interrupt is None else interrupt
    check_over(exp, over)
    batch = int(batch)
    if batch < 1:
        raise UsageError(f"--batch must be >= 1; got {batch}.")
    check_sweep_items(exp, config, over)  # every item as `jqd run` checks its config
    if exp.sweep_config is not None:  # size parameters for the whole swept range
        config = exp.sweep_config(config, over)
        check_sweep_items(exp, config, over)
    out_dir = Path(out_dir)
    chunk_dir = out_dir / "chunks"
    spec, spec_hash = sweep_spec(exp, config, over, batch, quick)
    code = code_fingerprint(exp)
    items = grid_items(over)
    n_items = int(next(iter(items.values())).size)
    n_chunks = math.ceil(n_items / batch)
    created = make_dirs(out_dir)
    with _removed_if_unused(out_dir, created), OutputLock(out_dir):
        t_start = time.perf_counter()
        manifest = out_dir / "manifest.json"
        problem = manifest_problem(out_dir, spec_hash, code)
        if problem is not None:
            if not fresh:
                raise UsageError(
                    f"{problem}; rerun with --fresh to discard it and start afresh, or choose "
                    "another --out."
                )
            for p in list(chunk_dir.glob("*")) + [
                out_dir / "results.nc",
                out_dir / "summary.json",
            ]:
                if p.is_file():
                    p.unlink()
        chunk_dir.mkdir(exist_ok=True)
        for leftover in [*chunk_dir.glob(".*.tmp*"), *out_dir.glob(".*.tmp*")]:
            leftover.unlink()  # temp files of an interrupted writer
        write_text_atomic(
            manifest,
            dumps(
                {
                    "spec_hash": spec_hash,
                    "n_items": n_items,
                    "n_chunks": n_chunks,
                    **spec,
                    "code": code,
                }
            )
            + "\n",
        )

        mesh = batch_mesh(devices)
        n_dev = mesh.devices.size
        padded = math.ceil(min(batch, n_items) / n_dev) * n_dev
        dtype = jax.numpy.result_type(float)

        def one(values):
            return exp.sweep(config, values)

        batched = jax.vmap(one)
        example = {k: np.full((padded,), v[0], dtype) for k, v in items.items()}
        out_shape = jax.eval_shape(batched, example)
        if not isinstance(out_shape, dict) or not out_shape:
            raise TypeError(f"{exp.name}.sweep must return a non-empty dict of arrays.")
        expected = {k: (tuple(s.shape[1:]), str(np.dtype(s.dtype))) for k, s in out_shape.items()}

        todo, reused = [], []
        for i in range(n_chunks):
            start, stop = i * batch, min((i + 1) * batch, n_items)
            arrays, why = read_chunk(chunk_dir, i, start, stop, spec_hash, expected)
            if arrays is None:
                if why != "missing":
                    log(f"jqd: chunk {i} is {why}; recomputing it.")
                todo.append(i)
            else:
                reused.append(i)
        if reused:
            log(f"jqd: resuming {out_dir}: {len(reused)}/{n_chunks} chunks already written.")

        compile_s = 0.0
        compute_s = 0.0
        throttle = float(os.environ.get(_THROTTLE_ENV, "0") or 0)
        if todo:
            t0 = time.perf_counter()
            compiled = jax.jit(batched).lower(shard_batch(example, mesh)).compile()
            compile_s = time.perf_counter() - t0
            from tqdm.auto import tqdm

            done_items = sum(min((i + 1) * batch, n_items) - i * batch for i in reused)
            bar = tqdm(
                total=n_items,
                initial=done_items,
                unit="item",
                desc=exp.name,
                disable=not progress,
                smoothing=0.1,
                dynamic_ncols=True,
            )
            try:
                for i in todo:
                    if interrupt.is_set():  # stop between chunks, never inside one
                        raise KeyboardInterrupt
                    start, end = i * batch, min((i + 1) * batch, n_items)
                    chunk = {k: v[start:end] for k, v in items.items()}
                    pad = padded - (end - start)
                    chunk = {
                        k: np.concatenate([v, np.repeat(v[-1:], pad)]).astype(dtype)
                        for k, v in chunk.items()
                    }
                    t1 = time.perf_counter()
                    out = compiled(shard_batch(chunk, mesh))
                    arrays = {k: np.asarray(v)[: end - start] for k, v in out.items()}
                    compute_s += time.perf_counter() - t1
                    write_chunk(chunk_dir, i, start, end, arrays, spec_hash)
                    bar.update(end - start)
                    if throttle:  # (tests) a pause that a stop request cuts short
                        interrupt.wait(throttle)
            finally:
                bar.close()

        # Assemble from the files on disk (the same path for fresh and resumed runs).
        parts = []
        for i in range(n_chunks):
            start, stop = i * batch, min((i + 1) * batch, n_items)
            arrays, why = read_chunk(chunk_dir, i, start, stop, spec_hash, expected)
            if arrays is None:
                raise RuntimeError(f"chunk {i} went bad after writing ({why}); rerun to redo it.")
            parts.append(arrays)
        results = {k: np.concatenate([p[k] for p in parts]) for k in expected}
        dataset = to_dataset(exp, config, over, results)
        from .experiment import split_complex

        tmp = out_dir / f".results.nc.tmp{os.getpid()}"
        split_complex(dataset).to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, out_dir / "results.nc")
        wall = time.perf_counter() - t_start
        env = environment()
        summary = {
            "experiment": exp.name,
            "kind": "sweep",
            **spec,
            "spec_hash": spec_hash,
            "code": code,
            "n_items": n_items,
            "n_chunks": n_chunks,
            "devices_used": n_dev,
            "padded_batch": padded,
            "chunks_computed": todo,
            "chunks_reused": reused,
            "wall_time_s": wall,
            "compile_time_s": compile_s,
            "compute_time_s": compute_s,
            "items_per_s": (
                len(todo)
                and sum(min((i + 1) * batch, n_items) - i * batch for i in todo) / compute_s
            )
            or None,
            "outputs": {k: {"shape": list(s), "dtype": d} for k, (s, d) in expected.items()},
            "results": "results.nc",
            "environment": env,
            "machine": platform.processor() or platform.machine(),
        }
        write_text_atomic(out_dir / "summary.json", dumps(summary) + "\n")
    return SweepResult(out_dir, n_items, n_chunks, todo, reused, summary)


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
    ds.attrs["config"] = json.dumps(config_to_dict(config), sort_keys=True)
    return ds
