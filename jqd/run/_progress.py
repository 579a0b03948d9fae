"""Compile-time accounting and progress lines for `jqd run` / `jqd reproduce`.

`CompileTimer` listens to JAX's monitoring events while active:

- `/jax/core/compile/jaxpr_trace_duration` (tracing a top-level jit),
  `/jax/core/compile/jaxpr_to_mlir_module_duration` (lowering) and
  `/jax/core/compile/backend_compile_duration` (XLA compile, or loading the
  program from the persistent cache) give spans; `seconds` is the wall time
  covered by their union (an eager op compiled while a function traces would
  otherwise count twice), `seconds_by_stage` the sum per stage;
- `count` is the number of backend compile events (programs compiled or
  loaded from the persistent cache), `cache_hits` how many of them the cache
  supplied (`/jax/compilation_cache/cache_hits`).

`Progress` prints one line per stage on stderr,
`jqd> NAME  12.3 s  stage`, and, when nothing was said for `interval`
seconds, a heartbeat with the compile time so far and what is compiling now.
`jqd reproduce` forwards its workers' `jqd> ` lines. `JQD_PROGRESS=0`
silences them; `JQD_PROGRESS_INTERVAL` sets the heartbeat (default 20 s).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

PREFIX = "jqd> "
TRACE, LOWER, BACKEND = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_STAGES = {TRACE: "trace", LOWER: "lower", BACKEND: "backend"}
_CACHE_HIT = "/jax/compilation_cache/cache_hits"


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, -float("inf")
    for a, b in sorted(spans):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


class CompileTimer:
    """Time JAX spends tracing, lowering and compiling while active (see the
    module docstring); a context manager."""

    def __init__(self):
        self._spans: list[tuple[float, float]] = []
        self.seconds_by_stage = {"trace": 0.0, "lower": 0.0, "backend": 0.0}
        self.count = 0
        self.cache_hits = 0
        self.current: tuple[str, float] | None = None  # (function, start) compiling now
        self._lock = threading.Lock()

    @property
    def seconds(self) -> float:
        with self._lock:
            return _union_length(self._spans)

    def _on_duration(self, event, duration, **kwargs):
        stage = _STAGES.get(event)
        if stage is None:
            return
        end = time.time()
        with self._lock:
            self._spans.append((end - float(duration), end))
            self.seconds_by_stage[stage] += float(duration)
            if stage == "backend":
                self.count += 1
            self.current = None

    def _on_event(self, event, **kwargs):
        if event == _CACHE_HIT:
            with self._lock:
                self.cache_hits += 1

    def _on_scalar(self, event, value, **kwargs):
        if event in _STAGES:  # JAX records the start time as a scalar
            self.current = (str(kwargs.get("fun_name", "?")), float(value))

    def describe(self) -> str:
        """'compile 12.3 s, 40 programs (3 cached); compiling f for 5 s'."""
        text = f"compile {self.seconds:.1f} s, {self.count} programs"
        if self.cache_hits:
            text += f" ({self.cache_hits} from the cache)"
        current = self.current
        if current is not None and time.time() - current[1] > 2:
            text += f"; compiling {current[0]} for {time.time() - current[1]:.0f} s"
        return text

    def as_dict(self) -> dict:
        return {
            "compile_time_s": self.seconds,
            "n_compilations": self.count,
            "n_cache_hits": self.cache_hits,
            "compile_time_by_stage_s": dict(self.seconds_by_stage),
        }

    def __enter__(self):
        import jax.monitoring as m

        m.register_event_duration_secs_listener(self._on_duration)
        m.register_event_listener(self._on_event)
        if hasattr(m, "register_scalar_listener"):
            m.register_scalar_listener(self._on_scalar)
        return self

    def __exit__(self, *exc):
        import jax.monitoring as m

        for name, fn in (
            ("unregister_event_duration_listener", self._on_duration),
            ("unregister_event_listener", self._on_event),
            ("unregister_scalar_listener", self._on_scalar),
        ):
            with contextlib.suppress(Exception):
                getattr(m, name)(fn)
        return False


class Progress:
    """Stage lines `jqd> NAME  12.3 s  stage` on stderr, with a heartbeat."""

    def __init__(self, name: str, enabled: bool = True, timer: CompileTimer | None = None):
        self.name = name
        off = os.environ.get("JQD_PROGRESS", "1").strip().lower() in {"0", "false", "no", "off"}
        self.enabled = bool(enabled) and not off
        self.timer = timer
        self.t0 = time.perf_counter()
        self._last = self.t0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.interval = float(os.environ.get("JQD_PROGRESS_INTERVAL", "20"))
        except ValueError:
            self.interval = 20.0

    def __call__(self, stage: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        self._last = now
        line = f"{PREFIX}{self.name}  {now - self.t0:6.1f} s  {' '.join(str(stage).split())}"
        with contextlib.suppress(OSError, ValueError):  # a closed stderr never fails a run
            print(line, file=sys.stderr, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(min(self.interval, 1.0)):
            if time.perf_counter() - self._last >= self.interval:
                what = self.timer.describe() if self.timer is not None else ""
                self(f"running ({what})" if what else "running")

    def __enter__(self):
        if self.enabled and self.interval > 0:
            self._thread = threading.Thread(target=self._beat, daemon=True, name="jqd-progress")
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        return False
