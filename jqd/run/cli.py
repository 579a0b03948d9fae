"""The `jqd` command: list, run, reproduce and sweep experiments.

    jqd list
    jqd run NAME [--quick] [--set key=value ...] [--out DIR] [--json] [--seed N]
    jqd reproduce [--quick] [--out DIR] [--only NAME ...] [--jobs J] [--timeout S]
    jqd sweep NAME --over key=start:stop:num [--over ...] [--devices N] [--batch B]
              [--out DIR] [--quick] [--set key=value ...] [--fresh]

Experiments are validations in float64: the command enables `jax_enable_x64`
before anything runs. `--devices N` on a CPU-only machine needs N host
devices, which XLA creates only if `XLA_FLAGS` holds
`--xla_force_host_platform_device_count=N` when the backend starts; the
command sets it itself before JAX initializes.

Exit codes: 0 success (all claims passed), 1 a claim failed or an experiment
crashed, 2 a usage error (one line on stderr), 3 the output folder is locked
by another running sweep, 130 interrupted (a sweep resumes when rerun).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

_HOST_FLAG = "--xla_force_host_platform_device_count"


def _force_host_devices(n: int) -> None:
    """Ask XLA for at least `n` CPU devices (effective if the backend has not started)."""
    flags = os.environ.get("XLA_FLAGS", "")
    m = re.search(_HOST_FLAG + r"=(\d+)", flags)
    if m and int(m.group(1)) >= n:
        return
    flags = re.sub(_HOST_FLAG + r"=\d+", "", flags).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {_HOST_FLAG}={n}".strip()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jqd",
        description="Run, sweep and reproduce jqd experiments.",
        epilog="Exit codes: 0 ok, 1 a claim failed, 2 usage error, 3 output locked, "
        "130 interrupted.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="list the experiments with one-line descriptions")

    r = sub.add_parser("run", help="run one experiment")
    r.add_argument("name")
    r.add_argument("--quick", action="store_true", help="the quick config (seconds on CPU)")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field (repeatable); type-checked",
    )
    r.add_argument("--out", type=Path, default=None, help="output folder (default jqd-out/NAME)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    r.add_argument("--seed", type=int, default=0, help="seed for all randomness (default 0)")

    g = sub.add_parser("reproduce", help="run every experiment and write REPORT.md")
    g.add_argument("--quick", action="store_true", help="quick configs (< 5 min in all on CPU)")
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
    g.add_argument("--seed", type=int, default=0, help="passed to every run (default 0)")
    g.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per experiment (default 900)"
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="experiments run at once, each in its own process (default: 2, or 1 on a single core)",
    )

    s = sub.add_parser("sweep", help="a resumable, sharded parameter sweep of one experiment")
    s.add_argument("name")
    s.add_argument(
        "--over",
        action="append",
        default=[],
        metavar="KEY=START:STOP:NUM",
        help="swept float field: inclusive linspace, or KEY=v1,v2,... (repeatable; "
        "several make a grid)",
    )
    s.add_argument(
        "--devices",
        type=int,
        default=None,
        help="devices to shard over (default: all; on CPU, forced host devices)",
    )
    s.add_argument("--batch", type=int, default=256, help="items per vmapped chunk (default 256)")
    s.add_argument(
        "--out", type=Path, default=None, help="output folder (default jqd-out/NAME-sweep)"
    )
    s.add_argument("--quick", action="store_true", help="start from the quick config")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument(
        "--fresh", action="store_true", help="discard a different sweep already in --out"
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _base_config(exp, quick: bool, seed: int | None):
    import dataclasses

    config = exp.config.quick() if quick else exp.config()
    if seed is not None and "seed" in {f.name for f in dataclasses.fields(config)}:
        config = dataclasses.replace(config, seed=seed)
    return config


# -- commands ---------------------------------------------------------------------
def cmd_list(args) -> int:
    from .registry import discover, experiments_dir, load

    found = discover()
    if not found:
        print(f"no experiments found in {experiments_dir()}")
        return 0
    width = max(len(n) for n in found)
    for name in found:
        try:
            exp = load(name)
            desc = exp.description + (f"  [physics {exp.physics}]" if exp.physics else "")
        except Exception as err:  # noqa: BLE001 - list the rest anyway
            desc = f"(failed to load: {type(err).__name__}: {err})"
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_run(args) -> int:
    from .registry import apply_overrides, load
    from .results import run_experiment

    exp = load(args.name)
    config = apply_overrides(exp, _base_config(exp, args.quick, args.seed), args.overrides)
    out = args.out if args.out is not None else Path("jqd-out") / exp.name
    if args.json:  # keep stdout for the JSON alone: anything the experiment prints -> stderr
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):
            summary = run_experiment(exp, config, out, seed=args.seed, quick=args.quick)
    else:
        summary = run_experiment(exp, config, out, seed=args.seed, quick=args.quick)
    if args.json:
        from .experiment import dumps

        print(dumps(summary))
    else:
        print(
            f"{exp.name}: {summary['wall_time_s']:.1f} s (compile "
            f"{summary['compile_time_s']:.1f} s); results in {out}"
        )
        for c in summary["claims"]:
            mark = "PASS" if c["passed"] else "FAIL"
            print(
                f"  [{mark}] {c['name']}: {c['measured']:.3g} {c['op']} {c['tolerance']:.3g}"
                f"  ({c['statement']})"
            )
    return 0 if summary["passed"] else 1


def _reproduce_one(name: str, out: Path, args) -> dict:
    """Run one experiment in its own process: a crash or hang cannot take the others down."""
    exp_out = out / name
    exp_out.mkdir(parents=True, exist_ok=True)
    summary_path = exp_out / "summary.json"
    if summary_path.exists():
        summary_path.unlink()
    cmd = [
        sys.executable,
        "-m",
        "jqd.run.cli",
        "run",
        name,
        "--out",
        str(exp_out),
        "--seed",
        str(args.seed),
    ] + (["--quick"] if args.quick else [])
    t1 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        log, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as err:
        log = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        log, rc = log + f"\ntimed out after {args.timeout:g} s", None
    (exp_out / "log.txt").write_text(log)
    if rc in (0, 1) and summary_path.exists():
        entry = {"name": name, "summary": json.loads(summary_path.read_text())}
        status = "all claims pass" if entry["summary"]["passed"] else "CLAIM FAILED"
    else:
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        why = "timed out" if rc is None else f"exit code {rc}"
        entry = {"name": name, "error": f"{why}: {tail[0]} (see {name}/log.txt)"}
        status = f"ERROR ({why})"
    print(f"  {name}: {status} in {time.perf_counter() - t1:.1f} s", flush=True)
    return entry


def cmd_reproduce(args) -> int:
    from .registry import UsageError, discover
    from .results import environment, write_report

    found = discover()
    names = list(found)
    if args.only:
        unknown = [n for n in args.only if n.replace("_", "-") not in found]
        if unknown:
            raise UsageError(
                f"unknown experiment(s) {', '.join(unknown)}; available: {', '.join(found)}."
            )
        names = [n.replace("_", "-") for n in args.only]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = max(1, args.jobs)
    print(f"jqd reproduce: {len(names)} experiment(s), {jobs} at a time, into {out}", flush=True)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        entries = list(pool.map(lambda n: _reproduce_one(n, out, args), names))
    report = write_report(out, entries, args.quick, environment(), time.perf_counter() - t0)
    ok = all("summary" in e and e["summary"]["passed"] for e in entries)
    print(
        f"wrote {report} ({'all passed' if ok else 'FAILURES'}; {time.perf_counter() - t0:.1f} s)"
    )
    return 0 if ok else 1


def cmd_sweep(args) -> int:
    import jax

    from .registry import UsageError, apply_overrides, load
    from .sweep import parse_over, run_sweep

    exp = load(args.name)
    config = apply_overrides(exp, _base_config(exp, args.quick, None), args.overrides)
    over = {}
    for text in args.over:
        key, values = parse_over(text)
        if key in over:
            raise UsageError(f"--over {key} given twice.")
        over[key] = values
    if args.devices is not None:
        available = len(jax.devices())
        if not 1 <= args.devices <= available:
            raise UsageError(
                f"--devices {args.devices}: {available} {jax.default_backend()} device(s) "
                "available (on CPU the command forces host devices itself unless JAX was "
                "started earlier; set XLA_FLAGS=--xla_force_host_platform_device_count=N)."
            )
    out = args.out if args.out is not None else Path("jqd-out") / f"{exp.name}-sweep"

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
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
        )
    except KeyboardInterrupt:
        done = len(list((Path(out) / "chunks").glob("chunk_*.json")))
        print(
            f"\njqd: interrupted; {done} chunk(s) are saved in {out}. Rerun the same "
            "command to resume.",
            file=sys.stderr,
        )
        return 130
    s = res.summary
    print(
        f"{exp.name} sweep: {res.n_items} items in {res.n_chunks} chunks "
        f"({len(res.chunks_computed)} computed, {len(res.chunks_reused)} reused) on "
        f"{s['devices_used']} device(s); compile {s['compile_time_s']:.2f} s, wall "
        f"{s['wall_time_s']:.2f} s; results in {out}/results.nc"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "devices", None) is not None and args.devices > 1:
        _force_host_devices(args.devices)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import jax

    jax.config.update("jax_enable_x64", True)  # experiments are float64 validations

    from .registry import UsageError
    from .sweep import SweepLocked

    commands = {"list": cmd_list, "run": cmd_run, "reproduce": cmd_reproduce, "sweep": cmd_sweep}
    try:
        return commands[args.command](args)
    except UsageError as err:
        print(f"jqd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except SweepLocked as err:
        print(f"jqd {args.command}: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\njqd: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
