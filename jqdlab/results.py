"""Run records: compile-time accounting (`CompileTimer`), `jqd> NAME  12.3 s  stage` progress
lines (`Progress`; docs/internals/run.md#progress), environment, summary JSON, and
`jqd reproduce`'s runs and REPORT.md."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .experiment import Recorder, _brief, _differences, config_to_dict, dumps
from .registry import UsageError
from .storage import (
    OutputLock,
    code_fingerprint,
    prepare_checkpoint,
    reuse_problem,
    write_text_atomic,
)
from .validate import check_config

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
    """Time JAX spends tracing, lowering and compiling while active, as the union of
    the events' spans (internals/run.md#progress); a context manager."""

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


def git_revision() -> str | None:
    def git(*args):
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=5)

    try:
        rev = git("rev-parse", "HEAD")
        if rev.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return rev.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    import jax

    import jqd

    devices = jax.devices()
    return {
        "jqd": jqd.__version__,
        "jax": jax.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "device_kind": devices[0].device_kind if devices else None,
        "x64": bool(jax.config.read("jax_enable_x64")),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),  # they change results at round-off
        "git_revision": git_revision(),
        "hostname": platform.node(),
    }


def make_dirs(path: Path) -> list[Path]:
    """Create the folder `path` (and missing parents); returns those it created,
    deepest first. A path that is a file or lies under one, an unwritable
    parent, or any OS refusal is a usage error naming `--out`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path} is a file, not a folder; give a folder path.")
    created, probe = [], path
    while not probe.exists() and probe.parent != probe:
        created.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(
            f"--out {path}: {probe} is a file, so no folder can be made under it; "
            "choose another --out."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(
            f"--out {path}: {probe} is not writable by this user; choose a writable folder."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {path}: cannot create it ({err.strerror or err}).") from None
    return created


def remove_empty_dirs(created: list[Path]) -> None:
    """Remove the folders `make_dirs` created, deepest first, if they are empty."""
    for d in created:
        try:
            d.rmdir()
        except OSError:
            return


def run_experiment(
    exp,
    config,
    out_dir: Path,
    seed: int = 0,
    quick: bool = False,
    animate: bool = False,
    progress: bool = False,
    fresh: bool = False,
) -> dict:
    """Validate `config`, run `exp` in this process and write `out_dir`/summary.json
    (a stale one is removed first; a failed run leaves no empty folder it made).
    `out_dir` is locked while the run writes it (`OutputLock`); a checkpoint folder
    the config names must hold this run's key (`storage.prepare_checkpoint`; `fresh`
    empties one that does not)."""
    import random

    import jax
    import numpy as np

    check_config(exp, config)
    out_dir = Path(out_dir)
    created = make_dirs(out_dir)
    try:
        with OutputLock(out_dir, "run"):
            prepare_checkpoint(exp, config, seed, fresh)
            for stale in ("summary.json", "jqd-error.log"):
                (out_dir / stale).unlink(missing_ok=True)
            random.seed(seed)
            np.random.seed(seed % 2**32)
            rec = Recorder(out_dir, seed=seed, physics=exp.physics)
            rec.animate = bool(animate)
            code = code_fingerprint(exp)  # the code that runs (`jqd reproduce --resume`)
            started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            t0, cpu0 = time.perf_counter(), time.process_time()
            timer = CompileTimer()
            with timer, Progress(exp.name, progress, timer) as say:
                rec.progress_hook = say
                exp.run(config, rec)
            rec.progress_hook = None
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            cache = jax.config.jax_compilation_cache_dir  # the persistent cache JAX uses now
            summary = {
                "experiment": exp.name,
                "description": exp.description,
                "quick": quick,
                "seed": seed,
                "animate": bool(animate),
                "config": config_to_dict(config),
                "code": code,
                "started_utc": started,
                "wall_time_s": wall,
                "cpu_time_s": cpu,  # this process's, all its threads, over the same span
                **timer.as_dict(),
                "compile_cache": str(cache)
                if cache and jax.config.jax_enable_compilation_cache
                else None,
                "environment": environment(),
                **rec.summary(),
            }
            write_text_atomic(out_dir / "summary.json", dumps(summary) + "\n")
    except BaseException:
        remove_empty_dirs(created)
        raise
    return summary


def _cell(text) -> str:
    """One Markdown table cell: a `|` would end the cell and a newline the row."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _totals(rows: list[dict]) -> tuple[float, float | None, float]:
    """(run, CPU, compile) seconds summed over summaries; CPU None if one lacks it."""
    cpus = [s.get("cpu_time_s") for s in rows]
    cpu = None if None in cpus else sum(cpus)
    return sum(s["wall_time_s"] for s in rows), cpu, sum(s.get("compile_time_s", 0.0) for s in rows)


def _seconds(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def _timing_table(entries: list[dict]) -> list[str]:
    """REPORT.md's timing table: run, compile, programs, cache hits and CPU per experiment."""
    rows = [e for e in entries if "summary" in e]
    if not rows:
        return []
    lines = [
        "Time per experiment (compile: JAX tracing + lowering + XLA compile or persistent-"
        "cache load; programs: compiled or loaded, of them from the cache):",
        "",
        "| experiment | run (s) | compile (s) | compile share | programs | from cache | CPU (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in rows:
        s = e["summary"]
        w, c = s["wall_time_s"], s.get("compile_time_s", 0.0)
        n, h = s.get("n_compilations", 0), s.get("n_cache_hits", 0)
        share = f"{c / w:.0%}" if w > 0 else "—"
        link = f"[{e['name']}]({e['name']}/summary.json)"  # (claim rows start "| NAME |")
        cpu = _seconds(s.get("cpu_time_s"))
        lines.append(f"| {link} | {w:.1f} | {c:.1f} | {share} | {n} | {h} | {cpu} |")
    tot_w, tot_cpu, tot_c = _totals([e["summary"] for e in rows])
    tot_n = sum(e["summary"].get("n_compilations", 0) for e in rows)
    tot_h = sum(e["summary"].get("n_cache_hits", 0) for e in rows)
    share = f"{tot_c / tot_w:.0%}" if tot_w > 0 else "—"
    lines.append(
        f"| **all ({len(rows)})** | {tot_w:.1f} | {tot_c:.1f} | {share} | {tot_n} | {tot_h} "
        f"| {_seconds(tot_cpu)} |"
    )
    lines += [
        "",
        "run: the experiment's own run in its process (compile and compute, JAX's device "
        "start at the first computation, figures and files), the `run` time `jqd run` "
        "prints; compile is part of it. CPU: that process's CPU time over the same span, "
        "all its threads (above run where XLA used several cores). Neither counts the "
        "process's start-up (Python, importing JAX and the experiment, checking the config: "
        "seconds) and exit, which the console's `in T s with start-up` per experiment "
        "includes. Every time here is the one recorded by the run that made the result "
        "(its summary.json; `--resume` keeps a reused result's), and the totals are their "
        "sums; the reproduction's elapsed time, --jobs experiments at a time, start-ups "
        "included, is the console's last line.",
    ]
    return lines


def _error_cell(value) -> str:
    """A claim's SE or step error in REPORT.md: — where it has none."""
    if value is None:
        return "—"
    return _cell(value) if isinstance(value, str) else f"{value:.2g}"


def write_report(
    out_dir: Path, entries: list[dict], quick: bool, env: dict, wall: float | None = None
) -> Path:
    """REPORT.md: one table row per claim, with links to each experiment's figures.

    `entries` holds, per experiment, `name` and either `summary` (the parsed
    summary.json), `error` (why it produced none) or `pending` (not run yet: a
    report written while the reproduction runs). The report is a function of
    these and `quick` and `env` alone: its times are the summaries' own (each
    the one recorded by the run that made it) and its totals their sums, so a
    report rewritten from the same results is the same bytes (`jqd reproduce
    --resume`). `wall` is not used (it was the reproduction's elapsed time,
    which the console prints).
    """
    out_dir = Path(out_dir)
    n_claims = sum(len(e.get("summary", {}).get("claims", [])) for e in entries)
    n_pass = sum(c["passed"] for e in entries for c in e.get("summary", {}).get("claims", []))
    n_fail_exp = sum("error" in e for e in entries)
    n_pending = sum(bool(e.get("pending")) for e in entries)
    pending = (
        f", {n_pending} not run yet (a reproduction running or interrupted: `--resume` runs them)"
        if n_pending
        else ""
    )
    tot_w, tot_cpu, tot_c = _totals([e["summary"] for e in entries if "summary" in e])
    share = f"{tot_c / tot_w:.0%}" if tot_w > 0 else "—"
    lines = [
        "# jqd reproduction report",
        "",
        f"- mode: {'quick' if quick else 'full'}; {len(entries)} experiments, "
        f"{n_pass}/{n_claims} claims passed, {n_fail_exp} experiments failed to run{pending}",
        f"- jqd {env.get('jqd')}, jax {env.get('jax')}, python {env.get('python')}, "
        f"backend {env.get('backend')} ({len(env.get('devices', []))} device(s): "
        f"{env.get('device_kind')}), x64 {env.get('x64')}",
        f"- git revision: {env.get('git_revision') or 'unknown'}; host {env.get('hostname')}",
        f"- time, summed over the experiments' runs: run {tot_w:.1f} s, CPU "
        f"{_seconds(tot_cpu)} s, compile {tot_c:.1f} s ({share} of run; see the note under "
        "the timing table)",
        "",
        "| experiment | claim | statement | measured | ± SE | step error | tolerance | result "
        "| run (s) | figures |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        name = e["name"]
        if "error" in e:
            err = _cell(" ".join(str(e["error"]).split())[:300])
            lines.append(f"| {name} | (did not run) | {err} | — | — | — | — | **ERROR** | — | — |")
            continue
        if e.get("pending"):
            lines.append(f"| {name} | (not run yet) | — | — | — | — | — | pending | — | — |")
            continue
        s = e["summary"]
        files = s.get("figures", []) + s.get("animations", [])
        figs = " ".join(f"[{f}]({name}/{f})" for f in files) or "—"
        claims = s.get("claims", []) or [None]
        for c in claims:
            if c is None:
                lines.append(
                    f"| {name} | (no claims) | — | — | — | — | — | — | {s['wall_time_s']:.1f} "
                    f"| {figs} |"
                )
                continue
            result = "pass" if c["passed"] else "**FAIL**"
            if c.get("reason"):
                result += f" ({_cell(c['reason'])})"
            lines.append(
                f"| {name} | {_cell(c['name'])} | {_cell(c['statement'])} | {c['measured']:.3g} | "
                f"{_error_cell(c.get('se'))} | {_error_cell(c.get('step_error'))} | "
                f"{c['op']} {c['tolerance']:.3g} | {result} | {s['wall_time_s']:.1f} | {figs} |"
            )
    lines += [
        "",
        "± SE: the sampling standard error of a claim that rests on an ensemble; step error: "
        "its value at dt minus at dt/2 on coupled noise (`jqd.Errors`, docs/errors.md), or "
        "why it has none; a claim fails when it is not converged in dt (a bound on an error: "
        "|step error| > |tolerance|; a lower bound: its value at dt/2 fails it). — : not an "
        "ensemble claim.",
    ]
    lines += ["", *_timing_table(entries)]
    problems = [
        f"- {e['name']}/{f}: " + "; ".join(p)
        for e in entries
        for f, p in e.get("summary", {}).get("figure_problems", {}).items()
    ]
    lines += ["", "Figure problems (jqdlab.figure_check): " + ("none" if not problems else "")]
    lines += problems
    lines += [
        "",
        "Each experiment's folder holds its `summary.json` (config, versions, device, "
        "timings, claims), figures (PNG; with `--animate`, animations: MP4 or GIF) and arrays "
        "(NetCDF, open with "
        "`xarray.open_dataset(path, engine='h5netcdf')`).",
        "",
    ]
    path = out_dir / "REPORT.md"
    write_text_atomic(path, "\n".join(lines))
    return path


# -- `jqd reproduce --resume`: which finished results may be reused -------------------
# what a result's summary.json "environment" must share with this process (what can
# change its numbers: versions, precision, device, XLA's flags); not host or git revision
_REUSE_ENV = ("jqd", "jax", "x64", "backend", "device_kind", "devices", "xla_flags")


def reuse_key(name: str, quick: bool, seed: int, animate: bool) -> dict:
    """What the result of `jqd reproduce`'s run of `name` depends on, as its
    summary.json records it: the experiment, quick flag, seed, animate flag, config
    and code (`storage.code_fingerprint`). Imports the experiment."""
    from .registry import base_config, load

    exp = load(name)
    return {
        "experiment": exp.name,
        "quick": bool(quick),
        "seed": int(seed),
        "animate": bool(animate),
        "config": config_to_dict(base_config(exp, quick, seed)),
        "code": code_fingerprint(exp),
    }


def stored_result(folder: Path, key: dict | None, env: dict) -> tuple[dict | None, str]:
    """(summary, "") if `folder`/summary.json is a finished run made with `key`
    and `env`'s versions and settings (`_REUSE_ENV`), else (None, why not)."""
    record = Path(folder) / "summary.json"
    if key is None:
        return None, "its code could not be read"
    if not record.is_file():
        return None, "no finished result"
    problem = reuse_problem(record, key, "result", "results")
    if problem is not None:
        return None, problem
    summary = json.loads(record.read_text())
    old = summary.get("environment") if isinstance(summary.get("environment"), dict) else {}
    changed = _differences({k: old.get(k) for k in _REUSE_ENV}, {k: env.get(k) for k in _REUSE_ENV})
    if changed:
        named = "; ".join(f"{k}: {_brief(a)} there, {_brief(b)} now" for k, a, b in changed)
        return None, f"{folder} holds a result made with other versions or settings ({named})"
    return summary, ""


# What every run imports (1.5-2 s per process): the fork server imports it once.
_PRELOAD = ["jax.numpy", "scipy.linalg", "scipy.optimize", "scipy.stats", "matplotlib.pyplot"]
_PRELOAD += ["xarray", "h5netcdf", "optax", "equinox", "jqd", "jqdlab.cli"]


def _fork_server():
    """Runs start as forks of one server process that has imported `_PRELOAD`
    but never started JAX's backend, so forking it is safe."""
    import multiprocessing

    forks = multiprocessing.get_context("forkserver")
    forks.set_forkserver_preload(_PRELOAD)
    return forks


def _environment_in_fork(x64: bool, pipe) -> None:
    import jax

    jax.config.update("jax_enable_x64", x64)  # as each run's `main` sets it
    pipe.send(environment())
    pipe.close()
    os._exit(0)


def runs_environment() -> dict:
    """`environment()` as `reproduce`'s runs see it, from a fork like theirs: the
    calling process never starts JAX's backend (on a GPU it would hold memory the
    runs need)."""
    import jax

    forks = _fork_server()
    reading, writing = forks.Pipe(duplex=False)
    x64 = bool(jax.config.read("jax_enable_x64"))
    proc = forks.Process(target=_environment_in_fork, args=(x64, writing), daemon=True)
    proc.start()
    writing.close()
    try:
        return reading.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(
            f"the process reading the environment exited ({proc.exitcode})"
        ) from None
    finally:
        reading.close()
        proc.join()


def _run_in_fork(main, argv: list[str], pipe) -> None:
    """`main(argv)` (the command line's) in a forked process, its output into
    `pipe`; exits without the interpreter's teardown (freeing JAX's programs:
    about 0.5 s)."""
    os.dup2(pipe.fileno(), 1)
    os.dup2(pipe.fileno(), 2)
    try:
        code = main(argv)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 4  # an internal error (main itself maps every other)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def reproduce_one(name: str, out: Path, args, main) -> dict:
    """Run one experiment (`main(["run", name, ...])`) in its own process: a
    crash or hang cannot take the others down. Its progress lines (`jqd> `) are forwarded to stderr as they come."""
    exp_out = out / name
    exp_out.mkdir(parents=True, exist_ok=True)
    summary_path = exp_out / "summary.json"
    summary_path.unlink(missing_ok=True)
    argv = ["run", name, "--out", str(exp_out)]
    flags = {"--quick": args.quick, "--animate": name in args.animated, "--no-cache": args.no_cache}
    argv += ["--seed", str(args.seed), *(flag for flag, on in flags.items() if on)]
    t1 = time.perf_counter()
    forks = _fork_server()
    reading, writing = forks.Pipe(duplex=False)
    proc = forks.Process(target=_run_in_fork, args=(main, argv, writing), daemon=True)
    proc.start()
    writing.close()
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        proc.kill()

    timer = threading.Timer(args.timeout, kill)
    timer.start()
    lines = []
    try:
        with open(reading.fileno(), errors="replace", closefd=False) as output:
            for line in output:
                lines.append(line)
                if line.startswith(PREFIX):
                    print(line, end="", file=sys.stderr, flush=True)
        proc.join()
    finally:
        timer.cancel()
        if proc.is_alive():
            proc.kill()
            proc.join()
        reading.close()
    rc = proc.exitcode
    log = "".join(lines)
    if timed_out.is_set():
        log, rc = log + f"\ntimed out after {args.timeout:g} s", None
    (exp_out / "log.txt").write_text(log)
    if rc in (0, 1) and summary_path.exists():
        entry = {"name": name, "summary": json.loads(summary_path.read_text())}
        s = entry["summary"]
        status = "all claims pass" if s["passed"] else "CLAIM FAILED"
        hits = f", {s['n_cache_hits']} from the cache" if s.get("n_cache_hits") else ""
        status += (
            f"; run {s['wall_time_s']:.1f} s (of which compile {s['compile_time_s']:.1f} s, "
            f"{s['n_compilations']} programs{hits}), CPU {s['cpu_time_s']:.1f} s"
        )
    else:
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        why = "timed out" if rc is None else f"exit code {rc}"
        entry = {"name": name, "error": f"{why}: {tail[0]} (see {name}/log.txt)"}
        status = f"ERROR ({why})"
        summary_path.unlink(missing_ok=True)  # (killed after writing it): not a result to reuse
    print(f"  {name}: {status}; in {time.perf_counter() - t1:.1f} s with start-up", flush=True)
    return entry
