"""The `jqd` command: list, show, run, reproduce, sweep and fit experiments.

The grammar is `_parser()` (docs/cli.md renders it); `main` is the one place
that maps errors to exit codes (docs/internals/run.md#command).

Exit codes: 0 ok, 1 a claim failed, 2 a usage error, 3 --out locked by another
jqd command, 4 an internal error (its traceback in OUT/jqd-error.log), 5 a fit
that contradicts a quantum value, 130 interrupted (`_EXIT_CODES`, docs/cli.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

_HOST_FLAG = "--xla_force_host_platform_device_count"
# --quick runs compile faster with these, equal to round-off (docs/internals/run.md#cpu-emitter);
# XLA aborts on a flag it does not know, so only the jaxlib versions measured get them.
_QUICK_FLAGS = ("--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=1")
_EMITTER_JAXLIB = ("0.10.",)
# a compile-bound experiment's quick `run` (Experiment.compile_bound) compiles at -O0
# instead: about half the compile, for compute that is a small part of the run
_COMPILE_BOUND_LEVEL = "--xla_backend_optimization_level=0"
# runs side by side (reproduce --jobs > 1) already fill the cores: LLVM's code in one
# piece per program, not split over threads, costs less CPU (docs/internals/run.md#cpu-emitter)
_ONE_THREAD_CODEGEN = "--xla_cpu_parallel_codegen_split_count=1"


def _set_xla_flag(flag: str, keep=lambda value: True) -> None:
    """Put `flag` (NAME=VALUE) in XLA_FLAGS unless they set NAME to a value `keep`
    accepts (effective if the backend has not started)."""
    name = flag.split("=")[0]
    flags = os.environ.get("XLA_FLAGS", "")
    m = re.search(name + r"=?(\S*)", flags)
    if m and keep(m.group(1)):
        return
    flags = re.sub(name + r"=?\S*", "", flags).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()


def _faster_cpu_compile(parallel_runs: bool = False) -> None:
    """Add `_QUICK_FLAGS` to XLA_FLAGS, each unless XLA_FLAGS already sets it; with
    `parallel_runs` (reproduce's --jobs > 1) also `_ONE_THREAD_CODEGEN`."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        known = version("jaxlib").startswith(_EMITTER_JAXLIB)
    except PackageNotFoundError:
        known = False
    flags = _QUICK_FLAGS + ((_ONE_THREAD_CODEGEN,) if parallel_runs else ())
    for flag in flags if known else ():
        _set_xla_flag(flag)


def _cpu_only() -> bool:
    """Only the CPU can start: JAX_PLATFORMS names it alone, or no accelerator's JAX
    plugin (CUDA, ROCm) or libtpu is installed."""
    import importlib.util
    from importlib.metadata import entry_points

    if platforms := os.environ.get("JAX_PLATFORMS"):
        return platforms.strip() == "cpu"
    found = importlib.util.find_spec("jax_plugins") or importlib.util.find_spec("libtpu")
    return found is None and not entry_points(group="jax_plugins")


def _run_flags(exp, flags: str) -> str:
    """XLA_FLAGS `flags` as `exp`'s quick `run` uses them: on the CPU, the quick runs'
    -O1 becomes -O0 for a compile-bound experiment (another level named in XLA_FLAGS
    stays; an accelerator's kernels keep -O1: -O0 was measured on the CPU only)."""
    if not exp.compile_bound or not _cpu_only():
        return flags
    return re.sub(re.escape(_QUICK_FLAGS[1]) + r"(?!\S)", _COMPILE_BOUND_LEVEL, flags)


# -- the grammar -------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, then reported by `main`)."""

    def error(self, message):
        from .registry import UsageError

        raise UsageError(f"{message} (see {self.prog} --help)")


_NO_CACHE_HELP = (
    "do not use the persistent compilation cache (default: on, in $JQD_CACHE_DIR, else "
    "$XDG_CACHE_HOME/jqd/jax or ~/.cache/jqd/jax; JQD_NO_CACHE=1 also turns it off)"
)


def _command(sub, name, help, *, quick, out=None, seed=None, distributed=None, **kw):
    """A subcommand with the options every one has: --quick, --no-cache and, for those
    with one experiment (`out` given), NAME, --set and --out; --seed and --distributed
    (its help ending with `distributed`) where given."""
    p = sub.add_parser(name, help=help, epilog=_EXIT_CODES, **kw)
    if out is not None:
        p.add_argument("name")
        p.add_argument("--out", type=Path, default=None, help=f"output folder (default {out})")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config field (repeatable); type-checked",
        )
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--no-cache", action="store_true", help=_NO_CACHE_HELP)
    if seed is not None:
        p.add_argument("--seed", type=int, default=0, help=seed)
    if distributed is not None:
        p.add_argument(
            "--distributed",
            action="store_true",
            help=f"one {name} across several processes/hosts with jax.distributed (run the "
            "same command in each; JQD_COORDINATOR=host:port, JQD_NUM_PROCESSES, "
            f"JQD_PROCESS_ID, or JAX's cluster detection; the job must assemble within "
            f"JQD_DISTRIBUTED_TIMEOUT seconds, default 30){distributed}",
        )
    return p


_EXIT_CODES = (
    "Exit codes: 0 ok; 1 a claim failed (sweep: or an item failed; fit: not an acceptable "
    "fit); 2 a usage error (a bad command line, config, --out, a folder that cannot be "
    "resumed, a distributed job that does not assemble or agree); 3 --out is locked by "
    "another jqd command; 4 an internal error (one line here, the traceback in "
    "OUT/jqd-error.log; reproduce: an experiment did not finish); 5 (fit) an acceptable fit "
    "that contradicts a quantum value; 130 interrupted."
)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="jqd",
        description="Run, sweep and reproduce jqd experiments.",
        epilog=_EXIT_CODES,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ls = sub.add_parser("list", help="the experiments, one line each (`jqd show NAME`: its keys)")
    ls.add_argument(
        "--json",
        action="store_true",
        help="every experiment's config keys (type, default, quick value, meaning, range) and "
        "sweepable keys with their mode, as JSON (imports them: a few seconds)",
    )
    ls.add_argument(
        "--markdown",
        action="store_true",
        help="the experiments as a Markdown table (name, question, vmapped sweep keys): "
        "experiments/README.md's",
    )
    sh = sub.add_parser("show", help="an experiment's description and config keys (--set KEY=...)")
    sh.add_argument("name")
    animate = "also write the experiment's animation (MP4, or GIF without imageio-ffmpeg)"

    r = _command(
        sub,
        "run",
        "run one experiment",
        quick="the quick config (seconds on CPU)",
        out="jqd-out/NAME",
        seed="seed for all randomness (default 0)",
        distributed="; the experiment splits its work (one that does not runs whole in each), "
        "process 0 writes --out",
    )
    r.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (and no progress lines on stderr)",
    )
    r.add_argument(
        "--animate", action="store_true", help=f"{animate}, if it has one ([animates] in list)"
    )
    r.add_argument(
        "--fresh",
        action="store_true",
        help="discard what the config's checkpoint folder (--set checkpoint=DIR) holds if it "
        "cannot be resumed (written with another config, seed, process count or code) and "
        "start afresh",
    )

    g = _command(
        sub,
        "reproduce",
        "run every experiment and write REPORT.md",
        quick="quick configs (< 5 min in all on CPU)",
        seed="passed to every run (default 0)",
    )
    g.add_argument(
        "--out",
        type=Path,
        default=Path("jqd-out/reproduce"),
        help="output folder for REPORT.md and one subfolder per experiment "
        "(default jqd-out/reproduce)",
    )
    g.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these experiments (repeatable)",
    )
    g.add_argument("--animate", action="store_true", help=f"passed to every run: {animate}")
    g.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per experiment (default 900)"
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="experiments run at once, each in its own process (default: 2, or 1 on a single core)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="reuse each finished result in --out made with the same code, config, seed, "
        "--quick/--animate and versions (its summary.json's record); run the others, "
        "saying why",
    )

    s = _command(
        sub,
        "sweep",
        "a resumable, sharded parameter sweep of one experiment",
        quick="start from the quick config",
        out="jqd-out/NAME-sweep",
        seed="the per-item runs' seed (default 0)",
        distributed="",
    )
    s.add_argument(
        "--over",
        action="append",
        default=[],
        metavar="KEY=START:STOP:NUM",
        help="swept config field (any int or float key `jqd list --json` marks sweepable, "
        "and seed): inclusive linspace, or KEY=v1,v2,... (repeatable; several make a grid)",
    )
    s.add_argument(
        "--mode",
        choices=("vmapped", "per-item"),
        default=None,
        help="vmapped: the experiment's batched sweep function over its vmapped keys (one "
        "compiled program, sharded); per-item: its run once per item (any key, sizes "
        "included). Default: vmapped when every key allows it",
    )
    s.add_argument(
        "--devices",
        type=int,
        default=None,
        help="devices to shard over (default: all; on CPU, forced host devices)",
    )
    s.add_argument(
        "--batch",
        type=_batch,
        default="auto",
        help="items per vmapped chunk, or auto (default): the largest batch, up to 256 per "
        "device, whose compiled program fits half the free device memory",
    )
    s.add_argument(
        "--fresh",
        action="store_true",
        help="discard what --out holds if it cannot be resumed (a different sweep, chunks "
        "computed by other code, a corrupt manifest) and start afresh",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")

    f = _command(
        sub,
        "fit",
        "recover an experiment's constants by gradient descent through its law",
        quick="start from the quick config",
        out="jqd-out/NAME-fit",
        description="Fit constants (config keys) of an experiment's law to data by weighted "
        "least squares through its sweep function (jqd.fit, L-BFGS), with standard errors "
        "from the Gauss-Newton Hessian, widened by sqrt(chi2/dof) when that is > 1; each "
        "constant with a quantum value is compared with it (exact data: to 1e-4 relative). "
        "Exit codes: 0 an acceptable fit consistent with the quantum values, 1 not converged "
        "or not acceptable (not identifiable, or chi2 improbable with the data's errors), 2 "
        "usage error, 3 --out locked, 4 internal error, 5 an acceptable fit inconsistent with "
        "a quantum value (a result).",
    )
    f.add_argument(
        "--free",
        action="append",
        default=[],
        metavar="KEY[,KEY...]",
        help="constants to fit (repeatable; several at once), e.g. --free C or --free q,r",
    )
    f.add_argument(
        "--data",
        default="reference",
        metavar="reference|ensemble|FILE",
        help="reference (default): the experiment's exact data at the quantum values; "
        "ensemble: a finite ensemble of its stochastic process (size by --set, noise by "
        "--seed) with standard errors; FILE: a NetCDF file with variables named like the "
        "sweep's outputs (coordinates checked) and optional <name>_stderr",
    )
    f.add_argument(
        "--start",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="starting value of a freed key (default: the experiment's fit start)",
    )
    f.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the ensemble data and the bootstrap (default 0); also sets the "
        "experiment's own seed field, as jqd run --seed does",
    )
    f.add_argument("--max-iter", type=int, default=100, help="L-BFGS iterations at most")
    f.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="also refit B residual-bootstrap replicas (one compiled fit) and report their "
        "spread beside the Hessian standard errors",
    )
    f.add_argument(
        "--full-hessian",
        action="store_true",
        help="also report standard errors from the full Hessian of the loss (one more compile)",
    )
    f.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    f.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def _batch(text: str):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or auto; got {text!r}") from None


# -- commands ---------------------------------------------------------------------
def cmd_list(args) -> int:
    from .describe import listing, listing_json, listing_markdown
    from .experiment import dumps
    from .registry import UsageError

    if args.json and args.markdown:
        raise UsageError("give --json or --markdown, not both.")
    if args.markdown:
        print(listing_markdown())
    else:  # --json imports every experiment (seconds): keys, types, sweep modes
        print(dumps(listing_json()) if args.json else listing())
    return 0


def cmd_show(args) -> int:
    from .describe import show

    print(show(args.name))
    return 0


def _experiment(args, seed, suffix: str = ""):
    """(experiment, config with --set applied, --out or its default) of a one-experiment
    command."""
    from .registry import apply_overrides, base_config, load

    exp = load(args.name)
    args.out = args.out or Path("jqd-out") / f"{exp.name}{suffix}"  # (for an error's log)
    config = apply_overrides(exp, base_config(exp, args.quick, seed), args.overrides)
    return exp, config, args.out


# options that change nothing the processes compute, or that `_agree` compares
# resolved (the experiment's name, the config, the grid)
_LOCAL_OPTIONS = {"out", "started", "json", "no_progress", "no_cache", "name", "overrides", "over"}


def _agree(args, exp, config, **parsed) -> None:
    """With --distributed, stop unless every process was given this same job."""
    if not getattr(args, "distributed", False):
        return
    from .distributed import agree
    from .experiment import config_to_dict
    from .storage import checkpoint_view, code_fingerprint

    spec = {k: v for k, v in vars(args).items() if k not in _LOCAL_OPTIONS}
    agree(
        {
            **spec,
            **parsed,
            "experiment": exp.name,
            "config": config_to_dict(config),
            "code": code_fingerprint(exp),
            # all resume from the folder process 0 writes: it must be shared
            "checkpoint folder": checkpoint_view(config),
        }
    )


def cmd_run(args) -> int:
    from .describe import animated
    from .distributed import _is_writer
    from .experiment import dumps
    from .results import run_experiment

    exp, config, out = _experiment(args, args.seed)
    _agree(args, exp, config)
    from jax._src.xla_bridge import backends_are_initialized

    if args.quick and not backends_are_initialized():  # (XLA reads its flags as it starts)
        os.environ["XLA_FLAGS"] = _run_flags(exp, os.environ.get("XLA_FLAGS", ""))
    discard = contextlib.nullcontext()  # only process 0 writes OUT; the others' copy is dropped
    if args.distributed and not _is_writer():
        import tempfile

        discard = tempfile.TemporaryDirectory(prefix="jqd-run-")
    if args.animate and not exp.animates:
        print(
            f"jqd: {exp.name} has no animation; --animate does nothing here (those with one: "
            f"{', '.join(animated()) or 'none'}).",
            file=sys.stderr,
        )
    # with --json stdout holds the JSON alone: anything the experiment prints goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    with discard as tmp, quiet:
        summary = run_experiment(
            exp,
            config,
            Path(tmp) if tmp else out,
            seed=args.seed,
            quick=args.quick,
            animate=args.animate and exp.animates,
            progress=not args.json,
            fresh=args.fresh,
        )
    if args.json:
        print(dumps(summary))
        return 0 if summary["passed"] else 1
    hits = f", {summary['n_cache_hits']} from the cache" if summary["n_cache_hits"] else ""
    print(
        f"{exp.name}: run {summary['wall_time_s']:.1f} s (of which compile "
        f"{summary['compile_time_s']:.1f} s, {summary['n_compilations']} programs{hits}); "
        f"{time.perf_counter() - args.started:.1f} s with start-up; results in {out}"
    )
    for c in summary["claims"]:
        mark = "PASS" if c["passed"] else "FAIL"
        errors = "" if c.get("se") is None else f" ± {c['se']:.2g}"
        step = c.get("step_error")
        if step is not None:
            errors += f", step error {step}" if isinstance(step, str) else f", step {step:.2g}"
        why = f" [{c['reason']}]" if c.get("reason") else ""
        print(
            f"  [{mark}] {c['name']}: {c['measured']:.3g}{errors} {c['op']} {c['tolerance']:.3g}"
            f"{why}  ({c['statement']})"
        )
    for a in summary.get("animations", []):
        print(f"  animation: {out / a}")
    return 0 if summary["passed"] else 1


def cmd_reproduce(args) -> int:
    """Run the experiments (each in its own process: `results.reproduce_one`) and
    rewrite REPORT.md as each finishes, the others marked pending, so an interrupted
    reproduction leaves the report of those that finished. `--resume` reuses a
    finished result in OUT/NAME whose summary.json records the same experiment,
    config, quick and animate flags, seed, code and versions (`results.stored_result`)
    and reruns the others, saying why. REPORT.md is a function of the results it
    lists (their recorded times included), so a resumed reproduction's is the one
    any reproduction leaving those results writes (docs/internals/run.md)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from jqdlab.cli import main as run  # by its module's name, not __main__, for the forks

    from .describe import animated
    from .registry import UsageError, discover, load
    from .results import (
        make_dirs,
        reproduce_one,
        reuse_key,
        runs_environment,
        stored_result,
        write_report,
    )
    from .storage import OutputLock

    if not args.timeout > 0:
        raise UsageError(f"--timeout must be > 0 seconds; got {args.timeout:g}.")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1; got {args.jobs}.")

    found = discover()
    unknown = [n for n in args.only if n.replace("_", "-") not in found]
    if unknown:
        from .registry import did_you_mean

        said = ", ".join(n + did_you_mean(n.replace("_", "-"), found) for n in unknown)
        raise UsageError(f"unknown experiment(s) {said}; available: {', '.join(found)}.")
    names = [n.replace("_", "-") for n in args.only] or list(found)
    # (read here, not in the worker threads: ast.parse is not thread-safe on Python 3.11)
    args.animated = set(animated()) if args.animate else set()
    out = Path(args.out)
    make_dirs(out)
    t0 = time.perf_counter()
    jobs = args.jobs

    with OutputLock(out, "reproduce"):  # two reproduce runs would mix their summaries
        env = runs_environment()  # (for the reports and the reuse check)
        done: dict[str, dict] = {}
        if args.resume:
            for name in names:
                run_env = env
                try:
                    key = reuse_key(name, args.quick, args.seed, name in args.animated)
                    if args.quick:  # (the flags its run will use)
                        run_env = env | {"xla_flags": _run_flags(load(name), env["xla_flags"])}
                except Exception:  # noqa: BLE001 - its run says what is wrong with it
                    key = None
                summary, why = stored_result(out / name, key, run_env)
                if summary is not None:
                    done[name] = {"name": name, "summary": summary}
                    print(f"  {name}: reused (same code, config, seed and versions)")
                else:
                    print(f"  {name}: to run ({why})")
        todo = [n for n in names if n not in done]

        def report():
            entries = [done.get(n, {"name": n, "pending": True}) for n in names]
            return entries, write_report(out, entries, args.quick, env)

        entries, path = report()  # (an earlier one's REPORT.md would be stale)
        print(
            f"jqd reproduce: {len(todo)} experiment(s)"
            + (f" to run ({len(done)} reused)" if args.resume else "")
            + f", {jobs} at a time, into {out}",
            flush=True,
        )
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            running = {pool.submit(reproduce_one, n, out, args, run): n for n in todo}
            for future in as_completed(running):
                done[running[future]] = future.result()
                entries, path = report()
    ok = all("summary" in e and e["summary"]["passed"] for e in entries)
    print(f"wrote {path} ({'all passed' if ok else 'FAILURES'}; {time.perf_counter() - t0:.1f} s)")
    if any("error" in e for e in entries):
        return 4  # an experiment did not finish (crash, timeout, lock): NAME/log.txt
    return 0 if ok else 1


def cmd_sweep(args) -> int:
    from .registry import UsageError
    from .sweep import parse_over, run_sweep

    exp, config, out = _experiment(args, None, "-sweep")
    over = {}
    for text in args.over:
        key, values = parse_over(text)
        if key in over:
            raise UsageError(f"--over {key} given twice.")
        over[key] = values
    _agree(args, exp, config, over={k: v.tolist() for k, v in over.items()})

    # The first SIGINT/SIGTERM asks the sweep to stop after the chunk in flight
    # (interrupting a running XLA computation can hang the exit); a second one
    # stops at once. One sent to the process group reaches a --distributed
    # process twice (from the sender and from its `jqd` parent): within a
    # second, it counts once.
    stop = threading.Event()
    first = []

    def on_signal(signum, frame):
        if stop.is_set():
            if time.monotonic() - first[0] > 1.0:
                raise KeyboardInterrupt
            return
        first.append(time.monotonic())
        stop.set()
        print("\njqd: stopping after the chunk in progress (again to stop now).", file=sys.stderr)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        res = run_sweep(
            exp,
            config,
            over,
            out,
            batch=args.batch,
            devices=args.devices,
            quick=args.quick,
            fresh=args.fresh,
            progress=not args.no_progress,
            interrupt=stop,
            mode=args.mode,
            seed=args.seed,
        )
    except KeyboardInterrupt:
        done = len(list((Path(out) / "chunks").glob("chunk_*.json")))
        done += len(list((Path(out) / "items").glob("item_*.json")))
        saved = f"{done} chunk(s)/item(s) are saved in {out}" if done else "nothing was saved yet"
        print(f"\njqd: interrupted; {saved}. Rerun the same command to resume.", file=sys.stderr)
        return 130
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    s = res.summary
    unit = "chunks" if s["mode"] == "vmapped" else "items"
    print(
        f"{exp.name} sweep ({s['mode']}): {res.n_items} items "
        f"({len(res.chunks_computed)} {unit} computed, {len(res.chunks_reused)} reused) on "
        f"{s['devices_used']} device(s) x {s['processes']} process(es); compile "
        f"{s['compile_time_s']:.2f} s, wall {s['wall_time_s']:.2f} s; results in "
        f"{out}/results.nc, {out}/SUMMARY.md"
    )
    for claim, c in s["claims"].items():
        mark = "PASS" if c["passed"] == c["items"] else "FAIL"
        print(f"  [{mark}] {c['passed']}/{c['items']} items: {claim}")
    shown = 10
    for line in [*s["items_failed"], *s["claims_failed"]][:shown]:
        print(f"  failed: {line}")
    more = len(s["items_failed"]) + s["n_claims_failed"] - shown
    if more > 0:
        print(f"  ... and {more} more: {out}/SUMMARY.md")
    return 0 if s["passed"] else 1


def cmd_fit(args) -> int:
    """`jqd fit`; exit status as docs/cli.md says (usage errors raise)."""
    from .experiment import dumps
    from .fit import EXIT_INCONSISTENT, parse_free, parse_start, run_fit, spec_of, summary_text
    from .registry import UsageError
    from .results import make_dirs
    from .storage import OutputLock
    from .validate import check_config

    exp, config, out = _experiment(args, args.seed, "-fit")
    spec = spec_of(exp)
    check_config(exp, config)
    free = parse_free(exp, spec, args.free)
    start = parse_start(exp, spec, config, free, args.start)
    if args.max_iter < 1:
        raise UsageError(f"--max-iter must be >= 1; got {args.max_iter}.")
    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap must be >= 0; got {args.bootstrap}.")
    make_dirs(out)
    with OutputLock(out, "fit"):
        s = run_fit(exp, config, free, start, out, args)
    print(dumps(s) if args.json else summary_text(s, out))
    if not s["acceptable"]:
        return 1
    return EXIT_INCONSISTENT if s["consistent"] is False else 0


def _one_line(err: BaseException, overrides=()) -> str:
    """`jqd: error: ...` on one line; for a ValueError/TypeError raised by jqd's
    checks (not a UsageError), where it was raised."""
    from .registry import UsageError

    text = " ".join(str(err).split()) or type(err).__name__
    if not isinstance(err, UsageError):
        tb = traceback.extract_tb(err.__traceback__)
        if tb:
            where = Path(tb[-1].filename)
            short = "/".join(where.parts[-2:])
            text += (
                f" ({type(err).__name__} in {tb[-1].name}, {short}:{tb[-1].lineno}; "
                "JQD_TRACEBACK=1 shows the traceback)"
            )
    if overrides and not isinstance(err, UsageError):
        text += f" [with --set {' '.join(overrides)}]"
    return f"jqd: error: {text}"


def _internal_error(err: BaseException, args) -> int:
    """An error jqd did not foresee (a bug, of jqd or of the experiment): its traceback
    to OUT/jqd-error.log (else a temporary file), one line on stderr; exit code 4."""
    import tempfile

    text = "".join(traceback.format_exception(err))
    if os.environ.get("JQD_TRACEBACK"):
        print(text, end="", file=sys.stderr)
    name, index = "jqd-error.log", _process_index()
    if index:  # a --distributed job's processes share OUT
        name = f"jqd-error-process{index}.log"
    out = getattr(args, "out", None)
    paths = [Path(out) / name] if out else []
    paths.append(Path(tempfile.gettempdir()) / f"jqd-error-{os.getpid()}.log")
    log = "(it could not be written)"
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        except OSError:
            continue
        log = path
        break
    tb = traceback.extract_tb(err.__traceback__)
    at = f" (in {tb[-1].name}, {'/'.join(Path(tb[-1].filename).parts[-2:])}:{tb[-1].lineno})"
    message = " ".join(str(err).split())[:300]
    print(
        f"jqd: internal error: {type(err).__name__}: {message}{at if tb else ''}; a bug, not "
        f"a usage error: the traceback is in {log}.",
        file=sys.stderr,
    )
    return 4


def _process_index() -> int:
    """This process's index in a --distributed job (0 outside one)."""
    jax = sys.modules.get("jax")
    if jax is None or not jax.distributed.is_initialized():
        return 0
    try:
        return jax.process_index()
    except Exception:  # noqa: BLE001 - no backend: that is the error being reported
        return int(os.environ.get("JQD_PROCESS_ID", "0") or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the command; the one place errors become exit codes (`_EXIT_CODES`)."""
    code = _main(argv)
    if os.environ.get("_JQD_JOB_REPORT_FD"):  # a --distributed command's child: its code
        from .distributed import report

        report(b"x" + bytes([code & 255]))
    return code


def _main(argv: list[str] | None) -> int:
    from .describe import experiment_help
    from .registry import UsageError

    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if (name := experiment_help(argv)) is not None:  # the generic help, then its keys
            with contextlib.suppress(SystemExit):
                _parser().parse_args([argv[0], "--help"])
            argv = ["show", name]
        args = _parser().parse_args(argv)
        if args.command in ("run", "sweep", "fit", "show"):  # from the sources, before JAX
            from .validate import check_source

            check_source(args.name, getattr(args, "overrides", ()))
        if getattr(args, "distributed", False):
            from .distributed import _REPORT, supervise

            if _REPORT not in os.environ:  # this process watches; a child does the work
                return supervise(argv)
    except UsageError as err:
        print(_one_line(err), file=sys.stderr)
        return 2
    args.started = started  # `run`'s time with start-up (docs/cli.md)
    if getattr(args, "devices", None) is not None and args.devices > 1:
        _set_xla_flag(
            f"{_HOST_FLAG}={args.devices}", keep=lambda n: n.isdigit() and int(n) >= args.devices
        )
    if getattr(args, "quick", False):
        _faster_cpu_compile(args.command == "reproduce" and args.jobs > 1)
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .storage import SweepLocked

    commands = {
        "list": cmd_list,
        "show": cmd_show,
        "run": cmd_run,
        "reproduce": cmd_reproduce,
        "sweep": cmd_sweep,
        "fit": cmd_fit,
    }
    overrides = list(getattr(args, "overrides", None) or [])
    try:
        if args.command != "list":  # `list` reads sources only: no JAX start-up
            import jax

            jax.config.update("jax_enable_x64", True)  # experiments are float64 validations
        if args.command in ("run", "sweep", "fit"):  # `reproduce` passes --no-cache to its runs
            from ._compile_cache import configure

            configure(enabled=not getattr(args, "no_cache", False))  # may name a bad JQD_CACHE_*
        if getattr(args, "distributed", False):  # before JAX starts its backend
            from .distributed import initialize

            initialize()
        return commands[args.command](args)
    # UsageError and jqd's argument checks; FloatingPointError: jqd.fit's non-finite model
    except (ValueError, TypeError, FloatingPointError) as err:
        if os.environ.get("JQD_TRACEBACK") and not isinstance(err, UsageError):
            traceback.print_exception(err)
        print(_one_line(err, overrides), file=sys.stderr)
        return 2
    except SweepLocked as err:
        print(f"jqd: {' '.join(str(err).split())}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\njqd: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `jqd list | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit flush
        return 141
    except Exception as err:  # noqa: BLE001 - the rest: exit code 4, the traceback kept
        # Arithmetic or memory failures of a run whose values the user changed
        # come from those values: say so in one line (a usage error).
        out_of_memory = "RESOURCE_EXHAUSTED" in str(err) or isinstance(err, MemoryError)
        arithmetic = isinstance(err, ZeroDivisionError | OverflowError)
        if overrides and (out_of_memory or arithmetic) and not os.environ.get("JQD_TRACEBACK"):
            what = "ran out of memory" if out_of_memory else f"failed ({type(err).__name__}: {err})"
            print(
                f"jqd: error: the run {what} with --set {' '.join(overrides)}: a value is "
                "outside the range this experiment supports; choose smaller sizes or a step "
                "below the save interval (JQD_TRACEBACK=1 shows the traceback).",
                file=sys.stderr,
            )
            return 2
        return _internal_error(err, args)


if __name__ == "__main__":
    sys.exit(main())
