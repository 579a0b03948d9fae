"""Adversarial audit battery for issue 12, "No silent wrong answers".

The must-hold: 0 silent wrong answers and 0 hangs on adversarial inputs of
every class, for every law, under eager, jit, vmap and grad; at least 85% of
bad inputs get an error naming the argument and the fix.

`CASES` is a list of `BadCase`. Each starts from a valid problem of
`tests/helpers.LAW_CASES` (or a valid `jqd` command line) and perturbs ONE
thing; `run()` makes the call, and `names` are the argument names a good error
message mentions. The classes (`BadCase.klass`):

- "traced": a bad state or constant under `jax.jit`, `jax.vmap` (one bad
  member in a batch of two) or `jax.grad` (the bad constants scaled by the
  differentiated scalar, so they are traced);
- "scalar": a bad dt, t0, n_save, steps_per_save or key, a constant of lower
  precision than the state, or an observable that returns NaN (eager);
- "stability": a step far above the law's stable bound (eager or traced);
- "monitor": a run that leaves the law's range of validity mid-run;
- "hang": inputs that could run for ever (event counts, substeps, adaptive
  tolerances and spans, step counts);
- "cli": the `jqd` command with a bad --set value or --out; the contract is
  exit code 2 and one `jqd: error: ...` line on stderr.

The outcomes (`classify_exception`, `classify_result`):

- "named": raised ValueError, TypeError or RuntimeError (`jqd.BreakdownError`
  and equinox's in-graph errors included) whose message names one of `names`
  (as a whole identifier, e.g. "H" in "params.H") and a fix (a word of
  `FIX_HINTS`). For "cli": exit code 2 and one stderr line that names the
  key (in the message itself, not only in the echoed "[with --set ...]") and
  a fix.
- "error": raised one of those, but its message names no argument or no fix
  (`Outcome.detail` says which).
- "silent": returned normally (for "cli": an exit code other than 2): for a
  bad input, a silent wrong answer.
- "hang": no result within the timeout.
- "crash": anything else: an exception from inside JAX, NumPy, equinox or
  diffrax without our message (e.g. a `TracerArrayConversionError`), another
  exception type, a worker that died (killed for memory, segfault); for "cli",
  exit code 4 (an internal error; an exception escaping `jqdlab.cli.main`
  before issue 51).

Run it: `python tests/adversarial/battery.py [--only SUBSTRING ...]
[--timeout SECONDS] [--report PATH]`, which runs every case in a worker
subprocess (restarted after a hang or a crash; see `run_battery`), or
`pytest -m slow tests/test_adversarial.py`. Like the test suite, the battery
runs in float64 (importing this module enables `jax_enable_x64`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)  # before helpers builds any array

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from bad_inputs import at  # noqa: E402
from helpers import BAD_INPUTS, LAW_CASES, build  # noqa: E402

import jqd  # noqa: E402
from jqd import copy as jcopy  # noqa: E402
from jqd import dqm  # noqa: E402
from jqd import husimi as hs  # noqa: E402

JQD_DIR = Path(jqd.__file__).resolve().parent
DEFAULT_TIMEOUT = 30.0  # seconds per case, compilation included
MEMORY_LIMIT = 8 << 30  # address-space limit of the worker (bytes)

OUTCOMES = ("named", "error", "silent", "hang", "crash")
CLASSES = ("traced", "scalar", "stability", "monitor", "hang", "cli")
FAMILIES = ("schrodinger", "dqm", "husimi", "copy", "core")

# Words that say what to do (matched as whole words, case-insensitive).
FIX_HINTS = (
    "use",
    "reduce",
    "pass",
    "must",
    "increase",
    "normalize",
    "cast",
    "raise",
    "lower",
    "refine",
    "enlarge",
    "divide",
    "give",
    "need",
    "needs",
    "shorten",
    "coarsen",
    "widen",
    "leave",
    "build",
    "rerun",
    "try",
    "check",
    "choose",
    "keep",
    "continue",
    "fewer",
    "smaller",
    "larger",
    "split",
    "instead",
    "avoid",
    "provide",
    "specify",
)
_HINT = re.compile(r"\b(" + "|".join(FIX_HINTS) + r")\b", re.IGNORECASE)
# equinox's in-graph error, as it appears inside a JaxRuntimeError's text
_EQX_MESSAGE = re.compile(r"EquinoxRuntimeError: (.*?)(?:\n+-{5,}|\Z)", re.S)
_ECHO = re.compile(r"\s*\[with --set [^\]]*\]")
_ACCEPTED = (ValueError, TypeError, RuntimeError, FloatingPointError)
_JAX_INTERNAL = tuple(
    getattr(jax.errors, name)
    for name in (
        "JAXTypeError",
        "JAXIndexError",
        "ConcretizationTypeError",
        "TracerArrayConversionError",
        "TracerBoolConversionError",
        "TracerIntegerConversionError",
        "UnexpectedTracerError",
        "KeyReuseError",
    )
    if hasattr(jax.errors, name)
)


@dataclasses.dataclass(frozen=True)
class BadCase:
    """One adversarial call.

    Attributes:
        id: unique, "<law or experiment>/<what>@<transform>".
        law_family: "schrodinger", "dqm", "husimi", "copy" or "core".
        klass: one of `CLASSES`.
        run: makes the call; returns its result (a `CliResult` for "cli").
        names: argument names a good message mentions (any one suffices).
        law: the `LAW_CASES` id (or experiment) the case starts from.
        what: the one thing perturbed, in words.
        timeout: seconds before the case counts as a hang (None: default).
    """

    id: str
    law_family: str
    klass: str
    run: Callable[[], Any]
    names: tuple[str, ...]
    law: str = ""
    what: str = ""
    timeout: float | None = None


@dataclasses.dataclass
class Outcome:
    """What one case did: `outcome` is one of `OUTCOMES`; `message` the
    error message (the in-graph text for equinox errors) or a summary of
    the returned value; `detail` why it is not "named"."""

    id: str
    law_family: str
    klass: str
    outcome: str
    message: str
    detail: str = ""
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class CliResult:
    """What `jqdlab.cli.main` did: its exit code and its stderr."""

    rc: int
    stderr: str


# -- classification -------------------------------------------------------------------


def message_of(exc: BaseException) -> tuple[str, bool]:
    """(the user-facing message, whether it came from an equinox in-graph check)."""
    text = str(exc)
    found = _EQX_MESSAGE.findall(text)
    if found:
        return found[-1].strip(), True
    if "EquinoxRuntimeError" in type(exc).__name__:
        return re.split(r"\n+-{5,}", text)[0].strip(), True
    return text.strip(), False


def names_any(message: str, names: Iterable[str]) -> bool:
    """True if one of `names` appears in `message` as a whole identifier."""
    for name in names:
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message):
            return True
    return False


def has_fix(message: str) -> bool:
    return _HINT.search(message) is not None


def _origin(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename}:{f.lineno}"


def _raised_in_jqd(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(JQD_DIR)


def _judge(message: str, names) -> tuple[str, str]:
    named, fix = names_any(message, names), has_fix(message)
    if named and fix:
        return "named", ""
    if named:
        return "error", "no fix given"
    if fix:
        return "error", f"does not name {' / '.join(names)}"
    return "error", f"names neither {' / '.join(names)} nor a fix"


def classify_exception(exc: BaseException, names) -> tuple[str, str, str]:
    """(outcome, message, detail) of a raised exception."""
    message, in_graph = message_of(exc)
    kind = type(exc).__name__
    if not in_graph and (
        isinstance(exc, _JAX_INTERNAL) or not isinstance(exc, _ACCEPTED) or not _raised_in_jqd(exc)
    ):
        return "crash", f"{kind}: {message}", f"raised at {_origin(exc)}"
    outcome, detail = _judge(message, names)
    return outcome, f"{kind}: {message}", detail


def _inexact(x) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)


def classify_result(case: BadCase, result, caught=()) -> tuple[str, str, str]:
    """(outcome, message, detail) of a call that returned."""
    if isinstance(result, CliResult):
        lines = result.stderr.strip().splitlines()
        line = lines[0] if lines else ""
        if result.rc == 4:  # an internal error: what escaped `main` before issue 51
            return "crash", f"exit code 4: {result.stderr.strip()[:300]}", ""
        if result.rc != 2:
            return "silent", f"exit code {result.rc}: {result.stderr.strip()[:300]}", ""
        if len(lines) != 1 or not line.startswith("jqd: error: "):
            return "error", result.stderr.strip(), "not one `jqd: error:` line"
        # the command echoes the setting that failed ("[with --set key=value]");
        # the message itself must name the key for the fix to be about it
        core = _ECHO.sub("", line)
        outcome, detail = _judge(core, case.names)
        if outcome != "named" and _judge(line, case.names)[0] == "named":
            detail = "the key appears only in the echoed [with --set ...]"
        return outcome, line, detail
    tree = getattr(result, "y_final", result)
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(tree) if _inexact(x)]
    finite = all(np.all(np.isfinite(x)) for x in leaves)
    parts = ["returned normally", "finite result" if finite else "result holds NaN/Inf"]
    stats = getattr(result, "stats", None)
    if isinstance(stats, dict) and "breakdown_code" in stats:
        code = np.asarray(stats["breakdown_code"])
        if np.any(code != 0):
            parts.append(f"breakdown_code {code.tolist()} flagged but not raised")
    for w in caught:
        parts.append(f"warned {w.category.__name__}: {str(w.message)[:120]}")
    return "silent", "; ".join(parts), ""


# -- running cases ----------------------------------------------------------------------


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds):
    """Raise `_Timeout` after `seconds` (main thread, POSIX; else no limit).
    It fires only between Python bytecodes: a compiled XLA loop is not
    interrupted, which is why `run_battery` uses a subprocess."""
    usable = (
        seconds
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_case(case: BadCase, timeout: float | None = None) -> Outcome:
    """Run one case in this process and classify what it did."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _alarm(timeout):
                result = case.run()
                if not isinstance(result, CliResult):
                    result = jax.block_until_ready(result)
        except _Timeout:
            verdict = ("hang", f"no result after {timeout:g} s", "")
        except Exception as exc:  # noqa: BLE001 - classifying every failure is the point
            verdict = classify_exception(exc, case.names)
            if case.klass == "cli":
                verdict = ("crash", verdict[1], "exception escaped jqdlab.cli.main")
        else:
            verdict = classify_result(case, result, [w for w in caught if _relevant(w)])
    seconds = round(time.perf_counter() - t0, 2)
    return Outcome(case.id, case.law_family, case.klass, *verdict, seconds=seconds)


def _relevant(w) -> bool:
    return not issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)


_TAG = "@@adversarial "
_BOOT = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
    "sys.path.insert(0, {tests!r}); from adversarial.battery import _worker; _worker(sys.argv[1:])"
)
_STARTUP_TIMEOUT = 180.0  # importing jax and jqd on a loaded machine


def _worker(ids: list[str]) -> None:
    """Subprocess side of `run_battery`: run `ids` in order, one JSON line
    (tagged) when each starts and when it ends."""
    by_id = {c.id: c for c in CASES}
    out = sys.stdout
    for i, case_id in enumerate(ids):
        print(_TAG + json.dumps({"event": "start", "id": case_id}), file=out, flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = run_case(by_id[case_id])
        done = {"event": "done", "outcome": dataclasses.asdict(outcome)}
        print(_TAG + json.dumps(done), file=out, flush=True)
        if (i + 1) % 10 == 0:
            jax.clear_caches()  # bound the worker's memory


def _worker_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "JQD_TRACEBACK"}
    env["JAX_ENABLE_X64"] = "1"
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        if line.startswith(_TAG):
            lines.put(line[len(_TAG) :])
    lines.put(None)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker we started, and its process group (it leads one)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _last_line(path: Path) -> str:
    lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
    return lines[-1].strip() if lines else "(no output)"


def run_battery(
    cases: list[BadCase],
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[Outcome], None] | None = None,
    log: Path | None = None,
) -> list[Outcome]:
    """Run `cases` in a worker subprocess; a case with no result after its
    timeout is a "hang" (the worker is killed and a new one goes on with the
    next case), a worker that dies mid-case is a "crash". The worker's
    address space is limited to `MEMORY_LIMIT`; its stderr goes to `log`."""
    by_id = {c.id: c for c in cases}
    pending = [c.id for c in cases]
    done: dict[str, Outcome] = {}
    log = Path(log or Path(tempfile.gettempdir()) / "jqd_adversarial_worker.log")
    workdir = Path(tempfile.mkdtemp(prefix="jqd_adversarial_"))

    def record(case_id, outcome, message, detail=""):
        c = by_id[case_id]
        done[case_id] = Outcome(case_id, c.law_family, c.klass, outcome, message, detail)
        if progress:
            progress(done[case_id])

    log.write_text("")
    failed_starts = 0
    try:
        while pending:
            before = len(done)
            with open(log, "a") as err:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        _BOOT.format(limit=MEMORY_LIMIT, tests=str(TESTS)),
                        *pending,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    env=_worker_env(),
                    cwd=workdir,
                    start_new_session=True,
                )
            lines: queue.Queue = queue.Queue()
            pump = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
            pump.start()
            current, deadline = None, time.monotonic() + _STARTUP_TIMEOUT
            while True:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    _kill(proc)
                    if current is not None:
                        limit = by_id[current].timeout or timeout
                        record(current, "hang", f"no result after {limit:g} s (worker killed)")
                    break
                if line is None:
                    rc = proc.wait()
                    if current is not None:
                        record(current, "crash", f"worker died (exit code {rc}) in this case")
                    break
                event = json.loads(line)
                if event["event"] == "start":
                    current = event["id"]
                    deadline = time.monotonic() + (by_id[current].timeout or timeout)
                else:
                    outcome = Outcome(**event["outcome"])
                    done[outcome.id] = outcome
                    if progress:
                        progress(outcome)
                    current, deadline = None, time.monotonic() + timeout
            # the worker is gone (exited or killed): its pipe is at EOF once the
            # pump has read it out; close it here, not in the garbage collector
            # (an unclosed pipe is a ResourceWarning, an error under pytest)
            pump.join(timeout=30)
            if not pump.is_alive():
                proc.stdout.close()
            pending = [i for i in pending if i not in done]
            if pending and len(done) == before:  # the worker did not even start
                failed_starts += 1
                if failed_starts > 2:
                    why = _last_line(log)
                    for case_id in pending:
                        record(case_id, "crash", f"worker did not start: {why} (see {log})")
                    pending = []
                time.sleep(10.0)  # e.g. a module being rewritten while we import it
            else:
                failed_starts = 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return [done[c.id] for c in cases]


# -- building blocks of the cases -------------------------------------------------------


def _family(law_id: str) -> str:
    head = law_id.split("-")[0]
    return "copy" if head == "bell" else head  # Bell's jump process lives in jqd.copy


def _evolve(c, y0=None, params=None, **kwargs):
    """`jqd.evolve` of the valid problem `c`, with y0/params/kwargs replaced."""
    args = {"dt": c.dt, "n_save": c.n_save, "steps_per_save": c.steps_per_save, "key": c.key}
    args.update(kwargs)
    y0 = c.y0 if y0 is None else y0
    return jqd.evolve(c.law, y0, c.params if params is None else params, **args)


def _adaptive(c, ts, **kwargs):
    return jqd.evolve_adaptive(c.law, c.y0, c.params, jnp.asarray(ts, float), **kwargs)


def _stack(good, bad):
    """A batch of two: the valid tree, then the bad one."""
    return jax.tree_util.tree_map(
        lambda a, b: jnp.stack([jnp.asarray(a), jnp.asarray(b)]), good, bad
    )


def _scale(tree, s):
    """Every inexact leaf times the traced scalar s (so it is traced under grad)."""
    return jax.tree_util.tree_map(
        lambda x: x * s if _inexact(jnp.asarray(x)) and not isinstance(x, bool) else x, tree
    )


def _loss(tree):
    leaves = [jnp.sum(jnp.real(x)) for x in jax.tree_util.tree_leaves(tree) if _inexact(x)]
    return sum(leaves, jnp.zeros(()))


def _state_at_jit(law_id, bad):
    def run():
        c = build(law_id)
        return jax.jit(lambda y, p: _evolve(c, y, p))(bad(c.y0), c.params)

    return run


def _state_at_vmap(law_id, bad):
    def run():
        c = build(law_id)
        return jax.vmap(lambda y: _evolve(c, y0=y))(_stack(c.y0, bad(c.y0)))

    return run


def _params_at_vmap(law_id, bad):
    def run():
        c = build(law_id)
        return jax.vmap(lambda p: _evolve(c, params=p))(_stack(c.params, bad(c.params)))

    return run


def _params_at_grad(law_id, bad):
    def run():
        c = build(law_id)
        p = bad(c.params)
        return jax.grad(lambda s: _loss(_evolve(c, params=_scale(p, s)).y_final))(1.0)

    return run


def _params_at_jit(law_id, bad):
    def run():
        c = build(law_id)
        return jax.jit(lambda p: _evolve(c, params=p))(bad(c.params))

    return run


def _eager(law_id, **kwargs):
    return lambda: _evolve(build(law_id), **kwargs)


def _dt_at_jit(law_id, dt, **kwargs):
    def run():
        c = build(law_id)
        return jax.jit(lambda h: _evolve(c, dt=h, **kwargs))(jnp.asarray(dt))

    return run


def _with_params(law_id, change):
    return lambda: _evolve(build(law_id), params=change(build(law_id).params))


# -- the per-law perturbations ----------------------------------------------------------

MADELUNG_FIX = ("grid", "SchrodingerGrid", "box")

# Bad scalars of `evolve`, rotated over the laws (each law gets one).
SCALARS = (
    ("dt-inf", {"dt": math.inf}, ("dt",)),
    ("dt-zero", {"dt": 0.0}, ("dt",)),
    ("dt-negative", {"dt": -0.05}, ("dt",)),
    ("dt-nan", {"dt": math.nan}, ("dt",)),
    ("t0-nan", {"t0": math.nan}, ("t0",)),
    ("t0-inf", {"t0": math.inf}, ("t0",)),
    ("n_save-2.5", {"n_save": 2.5}, ("n_save",)),
    ("n_save-negative", {"n_save": -3}, ("n_save",)),
    ("steps_per_save-zero", {"steps_per_save": 0}, ("steps_per_save",)),
    ("dt-string", {"dt": "0.01"}, ("dt",)),
    ("dt-complex", {"dt": 0.01 + 0.01j}, ("dt",)),
    ("dt-vector", {"dt": np.array([0.01, 0.02])}, ("dt",)),
)


def _law_cases() -> list[BadCase]:
    out = []
    for i, (law_id, spec) in enumerate(BAD_INPUTS.items()):  # tests/cases_*.py's BAD
        fam = _family(law_id)
        out.append(
            BadCase(
                f"{law_id}/state@jit",
                fam,
                "traced",
                _state_at_jit(law_id, spec.state),
                spec.state_names,
                law_id,
                spec.state_what,
            )
        )
        out.append(
            BadCase(
                f"{law_id}/param@vmap",
                fam,
                "traced",
                _params_at_vmap(law_id, spec.param),
                spec.param_names,
                law_id,
                spec.param_what,
            )
        )
        if spec.no_grad:  # integer counts: no gradient; a batch of states instead
            out.append(
                BadCase(
                    f"{law_id}/state@vmap",
                    fam,
                    "traced",
                    _state_at_vmap(law_id, spec.state),
                    spec.state_names,
                    law_id,
                    spec.state_what,
                )
            )
        else:
            out.append(
                BadCase(
                    f"{law_id}/param@grad",
                    fam,
                    "traced",
                    _params_at_grad(law_id, spec.param),
                    spec.param_names,
                    law_id,
                    spec.param_what,
                )
            )
        name, kwargs, names = SCALARS[i % len(SCALARS)]
        out.append(
            BadCase(
                f"{law_id}/{name}",
                fam,
                "scalar",
                _eager(law_id, **kwargs),
                names,
                law_id,
                f"evolve({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})",
            )
        )
    return out


# -- scalar extras: precision, NaN observables, missing key, traced-only checks -----------


def _f32(x):
    return jnp.asarray(x).astype(jnp.complex64 if jnp.iscomplexobj(x) else jnp.float32)


def _nan_obs(t, y, params):
    empty = jax.tree_util.tree_leaves(y)[0].ravel()[:0]
    return jnp.sum(jnp.abs(empty)) / jnp.sum(jnp.abs(empty) ** 2)


def _madelung_with_D():
    c = build("dqm-madelung")
    p = eqx.tree_at(lambda p: p.D, c.params, jnp.asarray(0.3), is_leaf=lambda x: x is None)
    return jax.jit(lambda p: _evolve(c, params=p))(p)


def _scalar_extras() -> list[BadCase]:
    precision = [
        ("schrodinger-basis", lambda p: p.H, ("H",)),
        ("schrodinger-grid-strang", lambda p: p.potential, ("potential",)),
        ("dqm-madelung", lambda p: p.mass, ("mass",)),
        ("husimi-galerkin-split", lambda p: p.C, ("C",)),
        ("husimi-grid-fock", lambda p: p.C, ("C",)),
        ("copy-meanfield", lambda p: p.R, ("R",)),
        ("copy-counts-tau-leap", lambda p: p.H, ("H",)),
    ]
    out = [
        BadCase(
            f"{law_id}/single-precision-{names[0]}",
            _family(law_id),
            "scalar",
            _with_params(law_id, at(where, _f32)),
            names,
            law_id,
            f"{names[0]} in single precision, state in double",
        )
        for law_id, where, names in precision
    ]
    observe = ("observe", "observable")
    for law_id in (
        "schrodinger-basis",
        "dqm-madelung",
        "dqm-nelson-heun",
        "husimi-flow-analytic",
        "copy-gillespie-counts",
    ):
        out.append(
            BadCase(
                f"{law_id}/nan-observable",
                _family(law_id),
                "scalar",
                _eager(law_id, observe=_nan_obs),
                observe,
                law_id,
                "observe returns NaN (a mean over no element)",
            )
        )
    for law_id in ("dqm-nelson-heun", "copy-counts-tau-leap"):
        out.append(
            BadCase(
                f"{law_id}/key-missing",
                _family(law_id),
                "scalar",
                _eager(law_id, key=None),
                ("key",),
                law_id,
                "stochastic law without key",
            )
        )
    out.append(
        BadCase(
            "dqm-madelung/D-not-hbar-over-2m@jit",
            "dqm",
            "traced",
            _madelung_with_D,
            ("D",),
            "dqm-madelung",
            "Madelung with D = 0.3 != hbar/2m, under jit",
        )
    )
    return out


# -- stability: a step far above the stable bound -------------------------------------------


def _stability_cases() -> list[BadCase]:
    eager = [
        ("schrodinger-grid-strang", 5.0),
        ("schrodinger-ring", 10.0),
        ("dqm-madelung", 0.5),
        ("dqm-nelson-heun", 2.0),
        ("husimi-galerkin-split", 20.0),
        ("husimi-flow-analytic", 5.0),
        ("husimi-grid-fock", 1.0),
        ("copy-meanfield", 5.0),
        ("copy-alignment", 2.0),
        ("copy-members-tau-leap", 5.0),
    ]
    traced = [
        ("schrodinger-grid-yoshida4", 5.0),
        ("dqm-canonical", 0.5),
        ("dqm-bohm-rk4", 2.0),
        ("husimi-grid-none", 0.5),
        ("copy-counts-tau-leap", 5.0),
    ]
    out = [
        BadCase(
            f"{law_id}/dt-{dt:g}",
            _family(law_id),
            "stability",
            _eager(law_id, dt=dt),
            ("dt",),
            law_id,
            f"dt = {dt:g}, far above the stable step",
        )
        for law_id, dt in eager
    ]
    out += [
        BadCase(
            f"{law_id}/dt-{dt:g}@jit",
            _family(law_id),
            "stability",
            _dt_at_jit(law_id, dt),
            ("dt",),
            law_id,
            f"dt = {dt:g} (traced), far above the stable step",
        )
        for law_id, dt in traced
    ]
    return out


# -- monitor: runs that leave the law's range of validity mid-run ---------------------------


def _wall(x, t, a):
    """A steep step V = 400 at x > 8: V dt/ħ wraps there for dt = 0.02."""
    return 400.0 / (1.0 + jnp.exp(-4.0 * (x[0] - 8.0)))


def _wall_grid():
    """A packet moving into `_wall` (tests/test_guards.py): valid at t0,
    V dt/ħ ≈ 8 where it arrives at t ≈ 4."""
    grid = jqd.Grid(512, 40.0)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=3.0, x0=-5.0)
    return grid, psi0


def _grid_wall():
    grid, psi0 = _wall_grid()
    law = jqd.SchrodingerGrid(grid, potential=_wall)
    return jqd.evolve(law, psi0, jqd.SchrodingerParams(), dt=0.02, n_save=20, steps_per_save=25)


def _grid_growing_potential():
    """V = ½x²(1 + w t) with w = 200: V dt/ħ grows past π over the packet."""
    grid = jqd.Grid(64, 20.0)
    law = jqd.SchrodingerGrid(
        grid, potential=lambda x, t, w: 0.5 * x[0] ** 2 * (1 + w * t), time_dependent=True
    )
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0)
    params = jqd.SchrodingerParams(potential=jnp.asarray(200.0))
    return jqd.evolve(law, psi0, params, dt=0.01, n_save=10, steps_per_save=10)


def _ring_wall():
    n, spacing = 128, 40.0 / 128
    x = jcopy.ring_positions(n, spacing)
    psi0 = jcopy.lattice_gaussian(n, spacing, a=1.0, p0=3.0, x0=-5.0)
    params = jqd.SchrodingerParams(potential=_wall((x,), 0.0, None))
    law = jqd.SchrodingerRing(n, spacing)
    return jqd.evolve(law, psi0, params, dt=0.1, n_save=20, steps_per_save=5)


def _ensemble_wall(cls, scheme):
    def run():
        grid, psi0 = _wall_grid()
        law = cls(jqd.SchrodingerGrid(grid, potential=_wall), scheme=scheme)
        x = -5.0 + 0.5 * jax.random.normal(jax.random.key(1), (32, 1))
        y0 = dqm.EnsembleState(psi0, x)
        key = jax.random.key(2) if law.stochastic else None
        params = jqd.SchrodingerParams()
        return jqd.evolve(law, y0, params, dt=0.02, n_save=20, steps_per_save=25, key=key)

    return run


def _colliding_packets(cls, D, jit=False):
    """Two packets running into each other: interference nodes form in the
    bulk, where the (ρ, S) picture breaks down (the box is wide enough that
    their spreading tails stay far from its edge)."""

    def run():
        grid = jqd.Grid(256, 32.0)
        x = grid.axes()[0]
        psi = jnp.exp(-((x + 2.5) ** 2) / 2 + 2j * x) + jnp.exp(-((x - 2.5) ** 2) / 2 - 2j * x)
        psi = psi / jnp.sqrt(grid.integrate(jnp.abs(psi) ** 2))
        y0 = dqm.state_from_psi(grid, psi)
        params = dqm.DQMParams(
            hbar=jnp.asarray(1.0), mass=jnp.asarray(1.0), D=None if D is None else jnp.asarray(D)
        )
        law = cls(grid)
        run = lambda p: jqd.evolve(law, y0, p, dt=0.005, n_save=10, steps_per_save=20)  # noqa: E731
        return jax.jit(run)(params) if jit else run(params)

    return run


def _galerkin_truncation():
    """A strong q⁴ term pushes weight into the top Fock level of a 10-level
    basis (the exact `expm` step: the split step's own dt bound is not the
    point here)."""
    law = hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.5), cutoffs=10, scheme=jqd.schemes.Exact())
    R0 = law.initial_state(jqd.fock.coherent_state(1.0, 10, tol=1e-6))
    return jqd.evolve(law, R0, hs.GalerkinParams(jnp.asarray(1.0)), dt=0.05, n_save=20)


def _flow_leaves_blob():
    """Points carried away from a fixed density's support reach ρ < zero_floor."""
    c = build("husimi-flow-analytic")
    law = hs.HusimiFlow(jqd.reference.kerr_symbol, c.law.source.log_density, zero_floor=1e-2)
    y0 = law.initial_state(jnp.array([[0.9, 0.0], [1.0, 0.2], [0.8, -0.2]]))
    return jqd.evolve(law, y0, c.params, dt=0.05, n_save=20, steps_per_save=5)


def _husimi_grid_near_edge(regularization, q0):
    def run():
        grid = hs.PhaseSpaceGrid(1, 32, 16.0)
        law = hs.HusimiGrid(grid, jqd.reference.kerr_symbol, regularization=regularization)
        Q, P = grid.mesh()
        rho = jnp.exp(-((Q - q0) ** 2 + P**2) / 2)
        rho = rho / grid.integrate(rho)
        if isinstance(law.regularization, hs.FockShells):
            rho = law.fock_project(rho)
            rho = rho / grid.integrate(rho)
        params = hs.HusimiGridParams(C=jnp.asarray(1.0), args=jnp.asarray(0.5))
        return jqd.evolve(
            law, law.initial_state(rho), params, dt=1e-3, n_save=10, steps_per_save=20
        )

    return run


def _meanfield_near_node():
    """A two-state Rabi flip from ψ0 = (1, i)/√2 (ρ = (½, ½)): ψ_2 passes
    through a node at t = π/4, where the r < 0 phase equation is singular."""
    H = jnp.array([[0.0, 1.0], [1.0, 0.0]], complex)
    psi0 = jnp.array([1.0, 1.0j]) / jnp.sqrt(2.0)
    params = jcopy.MeanFieldParams.from_hamiltonian(H)
    y0 = jcopy.state_from_psi(psi0)
    return jqd.evolve(jcopy.MeanField(), y0, params, dt=0.1, n_save=20, steps_per_save=2)


def _gillespie_capped(members, vmap=False):
    def run():
        c = build("copy-gillespie-members" if members else "copy-gillespie-counts")
        law = jcopy.CopyGillespie(3, max_steps=3)
        if not vmap:
            return jqd.evolve(law, c.y0, c.params, dt=c.dt, n_save=c.n_save, key=c.key)
        keys = jax.random.split(c.key, 2)
        return jax.vmap(lambda k: jqd.evolve(law, c.y0, c.params, dt=c.dt, n_save=2, key=k))(keys)

    return run


def _monitor_cases() -> list[BadCase]:
    dt = ("dt",)
    rows = [
        ("schrodinger-grid-strang", "wall", _grid_wall, dt, "packet reaches a steep wall"),
        (
            "schrodinger-grid-driven",
            "growing-potential",
            _grid_growing_potential,
            dt,
            "V(t) grows until V dt/ħ wraps",
        ),
        ("schrodinger-ring", "wall", _ring_wall, dt, "packet reaches a steep on-site wall"),
        (
            "dqm-madelung",
            "colliding-packets",
            _colliding_packets(dqm.Madelung, None),
            MADELUNG_FIX,
            "interference nodes form",
        ),
        (
            "dqm-canonical",
            "colliding-packets@jit",
            _colliding_packets(dqm.CanonicalDQM, 0.5, jit=True),
            MADELUNG_FIX,
            "interference nodes form (jit)",
        ),
        (
            "dqm-bohm-rk4",
            "wall",
            _ensemble_wall(dqm.BohmEnsemble, "rk4"),
            dt,
            "guiding wave reaches a wall its dt aliases",
        ),
        (
            "dqm-nelson-heun",
            "wall",
            _ensemble_wall(dqm.NelsonEnsemble, "heun"),
            dt,
            "guiding wave reaches a wall its dt aliases",
        ),
        (
            "husimi-galerkin-phi4",
            "fock-truncation",
            _galerkin_truncation,
            ("cutoffs", "max_total", "fock_tol"),
            "weight reaches the top Fock level",
        ),
        (
            "husimi-flow-analytic",
            "leaves-support",
            _flow_leaves_blob,
            ("dt", "zero_floor", "monitor"),
            "points reach rho < zero_floor",
        ),
        (
            "husimi-grid-project",
            "near-edge",
            _husimi_grid_near_edge(hs.Envelope(), 5.5),
            ("length", "points", "tol", "window"),
            "density next to the box edge",
        ),
        (
            "husimi-grid-fock",
            "top-shells",
            _husimi_grid_near_edge(hs.FockShells(7), 3.0),
            ("n_max",),
            "weight in the top Fock shells",
        ),
        (
            "copy-meanfield",
            "near-node",
            _meanfield_near_node,
            ("dt", "rho", "r"),
            "an occupation passes through 0 at t = π/4",
        ),
        (
            "copy-gillespie-counts",
            "max_steps",
            _gillespie_capped(False),
            ("max_steps",),
            "iteration cap 3",
        ),
        (
            "copy-gillespie-members",
            "max_steps@vmap",
            _gillespie_capped(True, vmap=True),
            ("max_steps",),
            "iteration cap 3, batch of keys",
        ),
    ]
    return [
        BadCase(f"{law_id}/{name}", _family(law_id), "monitor", run, names, law_id, what)
        for law_id, name, run, names, what in rows
    ]


# -- hang: inputs that could run for ever ---------------------------------------------------


def _gillespie_huge(n=None, dt=None, max_substep=None):
    def run():
        c = build("copy-gillespie-members" if max_substep else "copy-gillespie-counts")
        law = jcopy.CopyGillespie(3, **({"max_substep": max_substep} if max_substep else {}))
        y0 = c.y0
        if n is not None:
            y0 = jcopy.gillespie_state(jcopy.CountState(n=jnp.asarray(n), phi=jnp.zeros(3)))
        return jqd.evolve(law, y0, c.params, dt=dt or c.dt, n_save=2, key=c.key)

    return run


def _hang_cases() -> list[BadCase]:
    rows = [
        (
            "schrodinger-basis",
            "adaptive-span-1e9",
            lambda: _adaptive(build("schrodinger-basis"), [0.0, 1e9]),
            ("max_steps", "ts"),
            "evolve_adaptive over [0, 1e9]",
        ),
        (
            "schrodinger-ring",
            "adaptive-rtol-atol-0",
            lambda: _adaptive(build("schrodinger-ring"), [0.0, 1.0], rtol=0.0, atol=0.0),
            ("rtol", "atol"),
            "evolve_adaptive with rtol = atol = 0",
        ),
        (
            "schrodinger-basis",
            "steps_per_save-1e12",
            _eager("schrodinger-basis", n_save=1, steps_per_save=10**12),
            ("steps_per_save",),
            "10^12 steps per save (days of work)",
        ),
        (
            "dqm-madelung",
            "adaptive-rtol-atol-0",
            lambda: _adaptive(build("dqm-madelung"), [0.0, 1.0], rtol=0.0, atol=0.0),
            ("rtol", "atol"),
            "evolve_adaptive with rtol = atol = 0",
        ),
        (
            "husimi-galerkin-expm",
            "adaptive-span-1e9",
            lambda: _adaptive(build("husimi-galerkin-expm"), [0.0, 1e9]),
            ("max_steps", "ts"),
            "evolve_adaptive over [0, 1e9]",
        ),
        (
            "copy-gillespie-counts",
            "N-1e12",
            _gillespie_huge(n=[4e11, 3e11, 3e11]),
            ("n", "y0", "CopyCountsTauLeap", "max_steps"),
            "10^12 members: ~10^12 events per step",
        ),
        (
            "copy-gillespie-counts",
            "dt-1e9",
            _gillespie_huge(dt=1e9),
            ("dt", "max_steps"),
            "one step of 1e9 time units",
        ),
        (
            "copy-gillespie-members",
            "max_substep-1e-12",
            _gillespie_huge(max_substep=1e-12),
            ("max_substep",),
            "10^11 phase substeps per step",
        ),
        (
            "copy-meanfield",
            "adaptive-span-1e9",
            lambda: _adaptive(build("copy-meanfield"), [0.0, 1e9]),
            ("max_steps", "ts"),
            "evolve_adaptive over [0, 1e9]",
        ),
    ]
    # 100k adaptive steps of a 128-point fluid take ~25 s on one loaded core:
    # give them room, so that only a run that does not end counts as a hang
    slow = {"dqm-madelung/adaptive-rtol-atol-0": 90.0}
    return [
        BadCase(
            f"{law_id}/{name}",
            _family(law_id),
            "hang",
            run,
            names,
            law_id,
            what,
            slow.get(f"{law_id}/{name}"),
        )
        for law_id, name, run, names, what in rows
    ]


# -- cli: the `jqd` command -------------------------------------------------------------------


def _cli(argv: list[str]) -> Callable[[], CliResult]:
    """`jqd argv` in-process (stdout dropped, stderr kept); "{out}" in argv
    becomes a fresh folder path (a file path for "{file}")."""

    def run():
        from jqdlab.cli import main

        tmp = Path(tempfile.mkdtemp(prefix="jqd_adversarial_cli_"))
        try:
            (tmp / "a_file").write_text("x")
            args = [
                a.replace("{out}", str(tmp / "out")).replace("{file}", str(tmp / "a_file"))
                for a in argv
            ]
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    rc = main(args)
                except SystemExit as exit_:  # argparse
                    rc = exit_.code if isinstance(exit_.code, int) else 1
            return CliResult(int(rc or 0), err.getvalue())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return run


# experiment -> family (for the table)
_EXPERIMENT_FAMILY = {
    "spreading": "schrodinger",
    "kerr-revival": "husimi",
    "madelung-nodes": "dqm",
    "nelson-equivariance": "dqm",
    "quantum-statistics": "core",
}
CLI_CASES = (
    ("spreading", "hbar=-1", ("hbar",)),
    ("spreading", "dims=4", ("dims",)),
    ("dqm-spreading", "dt_fluid=10", ("dt_fluid",)),
    ("madelung-nodes", "n=3", ("n",)),
    ("nelson-equivariance", "dt=inf", ("dt",)),
    ("husimi-kerr", "U=nan", ("U",)),
    ("husimi-trajectories", "dt=0", ("dt",)),
    ("husimi-truncation", "length=-18", ("length",)),
    ("husimi-bose-hubbard", "max_total=0", ("max_total",)),
    ("copy-finite-N", "count_dt=1000", ("count_dt",)),
    ("copy-nodes", "N=-1", ("N",)),
    ("copy-phase-alignment", "H_scale=nan", ("H_scale",)),
    ("copy-fit-qr", "dt=-1", ("dt",)),
    ("copy-schrodinger", "rtol=0", ("rtol",)),
    ("quantum-statistics", "beta=-1", ("beta",)),
    ("kerr-revival", "n_save=2.5", ("n_save",)),
    ("kerr-revival", "n_save=1000000000", ("n_save",)),
)


def _cli_cases() -> list[BadCase]:
    out = []
    for exp, setting, names in CLI_CASES:
        fam = _EXPERIMENT_FAMILY.get(exp, exp.split("-")[0])
        argv = ["run", exp, "--quick", "--set", setting, "--out", "{out}"]
        out.append(
            BadCase(f"cli/{exp}/{setting}", fam, "cli", _cli(argv), names, exp, f"--set {setting}")
        )
    quick = ["run", "kerr-revival", "--quick", "--out"]
    out += [
        BadCase(
            "cli/kerr-revival/out-is-a-file",
            "core",
            "cli",
            _cli([*quick, "{file}"]),
            ("--out", "out"),
            "kerr-revival",
            "--out names a file",
        ),
        BadCase(
            "cli/kerr-revival/out-under-a-file",
            "core",
            "cli",
            _cli([*quick, "{file}/sub"]),
            ("--out", "out"),
            "kerr-revival",
            "--out under a file",
        ),
        BadCase(
            "cli/sweep/kerr-revival/U-1e8-items",
            "husimi",
            "cli",
            _cli(
                ["sweep", "kerr-revival", "--quick", "--over", "U=0.5:2:100000000"]
                + ["--out", "{out}", "--no-progress"]
            ),
            ("U", "--over", "over"),
            "kerr-revival",
            "a sweep of 10^8 items",
        ),
    ]
    return out


# Issue 27's rough edges, one module per area (each defines `cases()`); imported
# here, once BadCase and the runners above exist.
EDGE_MODULES = ("edges_api", "edges_laws", "edges_run", "edges_cli")


def _edge_cases() -> list[BadCase]:
    import importlib

    # run as a script this module is __main__: let the edge modules find it
    sys.modules.setdefault("adversarial.battery", sys.modules[__name__])
    return [
        c for name in EDGE_MODULES for c in importlib.import_module(f"adversarial.{name}").cases()
    ]


def all_cases() -> list[BadCase]:
    cases = (
        _law_cases()
        + _scalar_extras()
        + _stability_cases()
        + _monitor_cases()
        + _hang_cases()
        + _cli_cases()
        + _edge_cases()
    )
    ids = [c.id for c in cases]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise ValueError(f"duplicate case ids: {dupes}")
    return cases


CASES: list[BadCase] = all_cases()

# A cheap subset, one or two per family, for the default test run.
FAST = (
    "schrodinger-basis/state@jit",
    "schrodinger-basis/param@vmap",
    "schrodinger-basis/single-precision-H",
    "dqm-madelung/dt-0.5",
    "husimi-galerkin-split/single-precision-C",
    "copy-counts-tau-leap/key-missing",
    "cli/kerr-revival/out-is-a-file",
)


def uncovered_laws() -> list[str]:
    """`LAW_CASES` ids without bad inputs beside them (a `BAD` entry in
    their tests/cases_*.py; should be empty)."""
    return sorted(set(LAW_CASES) - set(BAD_INPUTS))


# -- the report ---------------------------------------------------------------------------------


def counts(outcomes: list[Outcome]) -> dict[tuple[str, str], Counter]:
    table: dict[tuple[str, str], Counter] = {}
    for o in outcomes:
        table.setdefault((o.law_family, o.klass), Counter())[o.outcome] += 1
    return table


def named_fraction(outcomes: list[Outcome]) -> float:
    return sum(o.outcome == "named" for o in outcomes) / max(len(outcomes), 1)


def _cell(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= n else text[: n - 1] + "…"
    return text.replace("|", "\\|")


def markdown_table(outcomes: list[Outcome]) -> str:
    """Per family and class: counts of each outcome."""
    table = counts(outcomes)
    head = "| family | class | " + " | ".join(OUTCOMES) + " | total |"
    rows = [head, "|" + "---|" * (len(OUTCOMES) + 3)]
    order = {f: i for i, f in enumerate(FAMILIES)}
    corder = {k: i for i, k in enumerate(CLASSES)}
    keys = sorted(table, key=lambda k: (order.get(k[0], 99), corder.get(k[1], 99)))
    for fam, klass in keys:
        c = table[(fam, klass)]
        cells = " | ".join(str(c[o]) for o in OUTCOMES)
        rows.append(f"| {fam} | {klass} | {cells} | {sum(c.values())} |")
    total = Counter(o.outcome for o in outcomes)
    cells = " | ".join(f"**{total[o]}**" for o in OUTCOMES)
    rows.append(f"| **all** | | {cells} | **{len(outcomes)}** |")
    return "\n".join(rows)


def failures_table(outcomes: list[Outcome]) -> str:
    rows = [
        "| case | class | outcome | detail | message (first 200 chars) |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.outcome != "named":
            rows.append(
                f"| `{o.id}` | {o.klass} | **{o.outcome}** | {_cell(o.detail, 80)} | "
                f"{_cell(o.message)} |"
            )
    return "\n".join(rows)


def markdown_report(outcomes: list[Outcome], note: str = "") -> str:
    total = Counter(o.outcome for o in outcomes)
    frac = named_fraction(outcomes)
    return "\n\n".join(
        [
            "# jqd adversarial audit (issue 12)",
            *([note] if note else []),
            f"{len(outcomes)} cases over {len({o.id.split('/')[0] for o in outcomes})} laws and "
            f"commands: **{total['named']} named** ({frac:.1%}; must-hold >= 85%), "
            f"{total['error']} error, **{total['silent']} silent**, **{total['hang']} hang** "
            f"(must-hold: 0 and 0), {total['crash']} crash.",
            markdown_table(outcomes),
            '## Every case that is not "named"',
            failures_table(outcomes),
        ]
    )


def _git_state() -> str:
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=TESTS.parent, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", "jqd"))
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return f"commit {head}" + (" with uncommitted changes under jqd/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", action="extend", default=None, help="case-id substrings (any)"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--report", type=Path, default=None, help="write the markdown report")
    parser.add_argument("--json", type=Path, default=None, help="write the outcomes as JSON")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or any(s in c.id for s in args.only)]
    print(f"{len(cases)} cases", flush=True)

    def progress(o: Outcome) -> None:
        print(f"{o.outcome:7s} {o.seconds:6.1f}s {o.id}: {_cell(o.message, 150)}", flush=True)

    t0 = time.time()
    outcomes = run_battery(cases, timeout=args.timeout, progress=progress)
    note = (
        f"Run {time.strftime('%Y-%m-%d %H:%M')} ({time.time() - t0:.0f} s; per-case timeout "
        f"{args.timeout:g} s) on {_git_state()}. Regenerate: "
        "`python tests/adversarial/battery.py --report PATH`."
    )
    report = markdown_report(outcomes, note)
    print(report)
    if args.report:
        args.report.write_text(report + "\n")
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(o) for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
