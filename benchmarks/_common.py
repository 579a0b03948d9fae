"""Shared timing helpers for the jqd benchmarks.

Conventions (every benchmark script follows them):
- a case is timed as: one warm-up call (its wall time minus the steady-state
  median is reported as ``compile_s`` for JIT-compiled code), then
  ``repeats`` (>= 5) timed calls; ``median_s`` is their median;
- every timed function blocks until its result is ready
  (``jax.block_until_ready``);
- each case prints one JSON line (prefix ``JSON ``) with: bench, law, impl,
  size, dtype, device, compile_s, median_s, min_s, throughput, unit, versions
  (the versions dict is printed once per run, in the header line, and
  referenced by hash in each case to keep lines short).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata

MIN_REPEATS = 5


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("jqd", "jax", "jaxlib", "numpy", "scipy", "qutip", "dynamiqs", "equinox"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def device() -> str:
    import jax

    d = jax.devices()[0]
    kind = getattr(d, "device_kind", d.platform)
    return f"{d.platform}:{kind} x{len(jax.devices())}"


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in load],
        "platform": platform.platform(),
    }


def _hash(d: dict) -> str:
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]


class Reporter:
    """Prints the header line and one JSON line per case; keeps the records."""

    def __init__(self, bench: str, json_path: str | None = None, argv=None):
        self.bench = bench
        self.records: list[dict] = []
        self.json_path = json_path
        self.versions = versions()
        self.header = {
            "bench": bench,
            "kind": "header",
            "argv": list(sys.argv if argv is None else argv),
            "versions": self.versions,
            "versions_id": _hash(self.versions),
            "machine": machine(),
            "device": device(),
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._emit(self.header)

    def _emit(self, rec: dict) -> None:
        line = json.dumps(rec, default=_jsonable)
        print("JSON " + line, flush=True)
        if self.json_path:
            with open(self.json_path, "a") as f:
                f.write(line + "\n")

    def case(self, **fields) -> dict:
        rec = {"bench": self.bench, "device": self.header["device"]}
        rec.update(fields)
        rec["versions_id"] = self.header["versions_id"]
        self.records.append(rec)
        self._emit(rec)
        return rec


def _jsonable(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def block(x):
    """Wait for JAX arrays in `x` (no-op for NumPy results)."""
    try:
        import jax

        return jax.block_until_ready(x)
    except ImportError:  # pragma: no cover
        return x


def time_call(fn: Callable[[], object], repeats: int = MIN_REPEATS, warmup: int = 1) -> dict:
    """Time `fn()` (which must return only once its work is done).

    Returns first_s (the first call: compile + run for JIT code), compile_s
    (first_s minus the median, >= 0), median_s, min_s, times, and the last
    result.
    """
    repeats = max(int(repeats), MIN_REPEATS)
    t = time.perf_counter()
    result = block(fn())
    first = time.perf_counter() - t
    for _ in range(warmup - 1):
        result = block(fn())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = block(fn())
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return {
        "first_s": first,
        "compile_s": max(first - med, 0.0),
        "median_s": med,
        "min_s": min(times),
        "times": times,
        "result": result,
    }


def alternate(timers: dict[str, Callable[[], object]], rounds: int, calls: int = 5) -> dict:
    """Time each candidate in turn, round-robin, so that a change of machine
    load falls on all of them alike. Each round times `calls` calls of every
    candidate (after one warm-up call) and keeps their median wall time and
    the CPU time per call. Returns {name: (median wall s, median CPU s per
    call)} over the rounds."""
    res = {k: ([], []) for k in timers}
    for _ in range(rounds):
        for k, fn in timers.items():
            c0 = time.process_time()
            res[k][0].append(time_call(fn, calls, warmup=1)["median_s"])
            res[k][1].append((time.process_time() - c0) / (calls + 1))
    return {k: (statistics.median(w), statistics.median(c)) for k, (w, c) in res.items()}


def time_compile(jitted, *args) -> tuple[Callable, float]:
    """AOT-compile a `jax.jit` function for `args`; returns (compiled, seconds)."""
    t = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - t


def fmt_s(x: float) -> str:
    if x != x:
        return "n/a"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} us"


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """rows -> markdown table; columns are (key, title)."""
    head = "| " + " | ".join(t for _, t in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(str(r.get(k, "")) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])
