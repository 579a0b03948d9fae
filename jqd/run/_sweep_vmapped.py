"""The vmapped sweep mode's engine: chunks of items through one compiled,
batched, sharded program (see `jqd.run.sweep`).

An item whose computation raises (an input guard, a breakdown monitor) would
stop its whole chunk; then the chunk is recomputed item by item (each item
repeated over the padded batch, so the same compiled program runs), the failing
items get NaN outputs and their error message, and the sweep goes on.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np

from . import _distributed, _sweep_memory
from ._store import read_chunk, write_chunk

ERROR = "item_error"  # per-item error message ("" when the item ran)
ERROR_DTYPE = "<U400"


def _short(err: BaseException) -> str:
    """The jqd message inside a (possibly long) XLA runtime error."""
    text = str(err)
    m = re.search(r"(jqd[.\w]*\([^)]*\)[^\n]*)", text) or re.search(r"(jqd[^\n]*)", text)
    line = m.group(1) if m else (text.strip().splitlines() or [type(err).__name__])[0]
    return f"{type(err).__name__}: {line}"[:400]


def _fill(dtype, shape):
    kind = np.dtype(dtype).kind
    return np.full(shape, np.nan if kind in "fc" else 0, dtype)


def _run_chunk(compiled, chunk, n_real, mesh, expected, log) -> dict:
    """One chunk's outputs (the first `n_real` items) and per-item errors."""
    from .._sharding import shard_batch

    try:
        out = compiled(_distributed.put(chunk, mesh, shard_batch))
        arrays = {k: _distributed.gather(v)[:n_real] for k, v in out.items()}
        arrays[ERROR] = np.full(n_real, "", ERROR_DTYPE)
        return arrays
    except Exception as err:  # noqa: BLE001 - find the failing items
        if _distributed.count() > 1:
            raise  # the processes would part ways: stop the job, say which chunk
        log(f"jqd: a chunk failed ({_short(err)}); recomputing its items one by one.")
    padded = len(next(iter(chunk.values())))
    arrays = {k: _fill(d, (n_real, *s)) for k, (s, d) in expected.items() if k != ERROR}
    arrays[ERROR] = np.full(n_real, "", ERROR_DTYPE)
    for j in range(n_real):
        one = {k: np.full(padded, v[j], v.dtype) for k, v in chunk.items()}
        try:
            out = compiled(shard_batch(one, mesh))
        except Exception as err:  # noqa: BLE001 - recorded per item
            arrays[ERROR][j] = _short(err)
            continue
        for k, v in out.items():
            arrays[k][j] = np.asarray(v)[0]
    return arrays


def compute(exp, config, items, n_items, batch, mesh, chunk_dir, spec_hash, ctx) -> dict:
    """Compute the missing chunks; returns results and timings."""
    import jax

    n_dev = mesh.devices.size
    n_chunks = math.ceil(n_items / batch)
    padded = math.ceil(min(batch, n_items) / n_dev) * n_dev
    dtype = jax.numpy.result_type(float)
    batched = jax.vmap(lambda values: exp.sweep(config, values))
    example = {k: np.full((padded,), v[0], dtype) for k, v in items.items()}
    out_shape = jax.eval_shape(batched, example)
    if not isinstance(out_shape, dict) or not out_shape:
        raise TypeError(f"{exp.name}.sweep must return a non-empty dict of arrays.")
    expected = {k: (tuple(s.shape[1:]), str(np.dtype(s.dtype))) for k, s in out_shape.items()}
    expected[ERROR] = ((), ERROR_DTYPE)
    bounds = [(i * batch, min((i + 1) * batch, n_items)) for i in range(n_chunks)]
    todo = []
    for i, (a, b) in enumerate(bounds):
        arrays, why = read_chunk(chunk_dir, i, a, b, spec_hash, expected)
        if arrays is None:
            if why != "missing":
                ctx["log"](f"jqd: chunk {i} is {why}; recomputing it.")
            todo.append(i)
    todo = _distributed.agree(todo)
    reused = [i for i in range(n_chunks) if i not in todo]
    if reused:
        ctx["log"](
            f"jqd: resuming {chunk_dir.parent}: {len(reused)}/{n_chunks} chunks already written."
        )
    compile_s = compute_s = 0.0
    if todo:
        t0 = time.perf_counter()
        compiled = _sweep_memory.compile_batched(batched, example, mesh)
        compile_s = time.perf_counter() - t0
        ctx["bytes_per_item"] = _sweep_memory.program_bytes(compiled) / max(1, padded // n_dev)
        done = sum(b - a for i, (a, b) in enumerate(bounds) if i in reused)
        with ctx["bar"](n_items, done, "item") as bar:
            for i in todo:
                if ctx["interrupt"].is_set():  # stop between chunks, never inside one
                    raise KeyboardInterrupt
                start, end = bounds[i]
                pad = padded - (end - start)
                chunk = {
                    k: np.concatenate([v[start:end], np.repeat(v[end - 1 : end], pad)]).astype(
                        dtype
                    )
                    for k, v in items.items()
                }
                t1 = time.perf_counter()
                arrays = _run_chunk(compiled, chunk, end - start, mesh, expected, ctx["log"])
                compute_s += time.perf_counter() - t1
                if _distributed.is_writer():
                    write_chunk(chunk_dir, i, start, end, arrays, spec_hash)
                bar.update(end - start)
                ctx["pause"]()
    _distributed.barrier("jqd-sweep-chunks")
    parts = []
    for i, (a, b) in enumerate(bounds):
        arrays, why = read_chunk(chunk_dir, i, a, b, spec_hash, expected)
        if arrays is None:
            raise RuntimeError(f"chunk {i} went bad after writing ({why}); rerun to redo it.")
        parts.append(arrays)
    results = {k: np.concatenate([p[k] for p in parts]) for k in expected}
    errors = results.pop(ERROR)
    del expected[ERROR]
    n_done = sum(bounds[i][1] - bounds[i][0] for i in todo)
    return {
        "results": results,
        "errors": errors,
        "expected": expected,
        "todo": todo,
        "reused": reused,
        "n_chunks": n_chunks,
        "padded_batch": padded,
        "compile_time_s": compile_s,
        "compute_time_s": compute_s,
        "items_per_s": (n_done / compute_s) if compute_s else None,
    }
