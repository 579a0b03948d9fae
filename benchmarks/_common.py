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

Devices and the projected GPU time (every script):
- ``add_device_arg(parser)`` gives ``--device cpu|gpu`` (default cpu) and
  ``select_device(name)`` makes it JAX's default device before anything is
  computed; ``--device gpu`` without a GPU prints why on stderr and runs on
  the CPU (the header records ``device_requested`` and ``device_fallback``).
- ``cost(f, *args)`` is XLA's cost analysis of the compiled program
  (``jax.jit(f).lower(*args).compile().cost_analysis()``: flops and bytes
  accessed) with the projected H100 time, the larger of flops / 34e12 (fp64;
  67e12 fp32) and bytes / 3.35e12 B/s. XLA counts a loop body once, whatever
  its trip count: ``cost`` reads the trip counts XLA proved
  (``known_trip_count`` in the optimized HLO) and multiplies by the product
  along the deepest nest (``loop_scale``; an upper estimate when work sits
  outside the innermost loop), or by ``scale=`` when given. Custom calls
  (LAPACK eigh, ...) are not counted by XLA. Each case records these fields
  next to its CPU time, for a GPU run to check the projection.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
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


H100 = {"fp64_flops": 34e12, "fp32_flops": 67e12, "bytes_per_s": 3.35e12}
_SELECTED: dict = {}  # what select_device chose, for the header


def add_device_arg(parser) -> None:
    parser.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where to run (default cpu); gpu without a GPU says so and runs on the CPU",
    )


def select_device(name: str = "cpu") -> dict:
    """Make the first `name` device JAX's default device (call it before any
    computation). Returns {device_requested, device, device_fallback}."""
    if name not in ("cpu", "gpu"):
        raise ValueError(f"--device must be cpu or gpu; got {name!r}.")
    if name == "cpu" and "jax" not in sys.modules:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")  # do not start CUDA for a CPU run
    import jax

    fallback = False
    if name == "gpu":
        try:
            devs = jax.devices("gpu")
        except RuntimeError as err:  # no GPU backend: CPU-only jaxlib, no device or driver
            devs, why = [], " ".join(str(err).split())[:200]
        else:
            why = "JAX lists no GPU device"
        if not devs:
            print(
                f"no GPU: {why}. Install on a GPU machine with `pip install -e '.[cuda12]'` "
                "(README, 'Installing for a GPU'). Running on the CPU instead; the records "
                "say device_requested=gpu, device_fallback=true.",
                file=sys.stderr,
                flush=True,
            )
            fallback = True
        dev = devs[0] if devs else jax.devices("cpu")[0]
    else:
        dev = jax.devices("cpu")[0]
    jax.config.update("jax_default_device", dev)
    _SELECTED.update(device_requested=name, device=_describe(dev), device_fallback=fallback)
    return dict(_SELECTED)


def _describe(d) -> str:
    import jax

    kind = getattr(d, "device_kind", d.platform)
    return f"{d.platform}:{kind} x{len(jax.devices(d.platform))}"


def device() -> str:
    import jax

    if _SELECTED:
        return _SELECTED["device"]
    return _describe(jax.devices()[0])


_COMP = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$")
_REFS = re.compile(
    r"\b(body|condition|calls|to_apply|true_computation|false_computation)=%?([\w.\-]+)"
)
_BRANCHES = re.compile(r"branch_computations=\{([^}]*)\}")
_TRIP = re.compile(r'"known_trip_count":\{"n":"(\d+)"\}')


def loop_scale(hlo_text: str) -> dict:
    """Loop trip counts of an optimized HLO module: `scale` is the largest
    product of known trip counts along a nest of while loops, `trips` the
    known counts, `unknown` the loops XLA could not count (their body is
    counted once)."""
    comps: dict[str, list[str]] = {}
    entry, current = None, None
    for line in hlo_text.splitlines():
        if not line.startswith(" "):
            m = _COMP.match(line)
            if m:
                current = m.group(1)
                comps[current] = []
                if line.startswith("ENTRY"):
                    entry = current
            continue
        if current is not None:
            comps[current].append(line)
    trips, unknown = [], 0
    scale = {entry: 1} if entry else {}
    stack = [entry] if entry else []
    while stack:
        name = stack.pop()
        for line in comps.get(name, []):
            m_trip = _TRIP.search(line) if " while(" in line else None
            if " while(" in line:
                if m_trip:
                    trips.append(int(m_trip.group(1)))
                else:
                    unknown += 1
            refs = [(k, v) for k, v in _REFS.findall(line)]
            for group in _BRANCHES.findall(line):
                refs += [("branch", b.strip().lstrip("%")) for b in group.split(",") if b.strip()]
            for kind, ref in refs:
                factor = int(m_trip.group(1)) if m_trip and kind in ("body", "condition") else 1
                value = scale[name] * factor
                if ref in comps and value > scale.get(ref, 0):
                    scale[ref] = value
                    stack.append(ref)
    return {"scale": max(scale.values(), default=1), "trips": trips, "unknown": unknown}


def cost(fn, *args, scale: float | None = None, **kwargs) -> dict:
    """XLA's cost analysis of `fn` compiled for `args` and the projected H100
    time (module docstring). `fn`: a `jax.jit` function, a compiled
    `jax.stages.Compiled`, or a plain function (jitted here)."""
    import jax

    if hasattr(fn, "cost_analysis") and hasattr(fn, "as_text"):
        compiled = fn
    else:
        jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
        compiled = jitted.lower(*args, **kwargs).compile()
    ca = compiled.cost_analysis()
    if isinstance(ca, list | tuple):  # older JAX: one dict per program
        ca = ca[0] if ca else {}
    ca = ca or {}
    flops = float(ca.get("flops", math.nan))
    nbytes = float(ca.get("bytes accessed", math.nan))
    text = compiled.as_text() or ""
    loops = loop_scale(text)
    k = float(scale) if scale is not None else float(loops["scale"])
    fp64 = bool(re.search(r"\b(?:f64|c128)\[", text))
    t_flops = max(flops, 0.0) * k / H100["fp64_flops" if fp64 else "fp32_flops"]
    t_bytes = max(nbytes, 0.0) * k / H100["bytes_per_s"]
    return {
        "xla_flops": flops,
        "xla_bytes_accessed": nbytes,
        "loop_scale": k,
        "loop_trips": loops["trips"][:8],
        "loops_uncounted": loops["unknown"],
        "precision": "fp64" if fp64 else "fp32",
        "h100_projected_s": max(t_flops, t_bytes),
        "h100_bound": "compute" if t_flops > t_bytes else "memory",
    }


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
            "device_requested": _SELECTED.get("device_requested", "cpu"),
            "device_fallback": _SELECTED.get("device_fallback", False),
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
            ran = max(int(calls), MIN_REPEATS) + 1  # time_call's repeats and its warm-up call
            res[k][1].append((time.process_time() - c0) / ran)
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
