"""The `jqd` command line's grammar (argparse), for `jqd.run.cli`.

Imports nothing heavy (no JAX, no matplotlib): `jqd list` and `jqd --help`
answer in well under a second.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, then reported by `main`)."""

    def error(self, message):
        from .registry import UsageError

        raise UsageError(f"{message} (see {self.prog} --help)")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="jqd",
        description="Run, sweep and reproduce jqd experiments.",
        epilog="Exit codes: 0 ok, 1 a claim failed, 2 usage error, 3 output locked, "
        "130 interrupted.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("list", help="the experiments, one line each (`jqd show NAME`: its keys)")
    ls.add_argument(
        "--json",
        action="store_true",
        help="every experiment's config keys (type, default, quick value, meaning) and "
        "sweepable keys with their mode, as JSON (imports them: a few seconds)",
    )
    sh = sub.add_parser("show", help="an experiment's description and config keys (--set KEY=...)")
    sh.add_argument("name")

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
    r.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on stdout (and no progress lines on stderr)",
    )
    _no_cache(r)
    r.add_argument("--seed", type=int, default=0, help="seed for all randomness (default 0)")
    r.add_argument(
        "--animate",
        action="store_true",
        help="also write the experiment's animation (MP4, or GIF without imageio-ffmpeg), "
        "if it has one (`jqd list` marks those [animates])",
    )

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
        "--animate", action="store_true", help="passed to every run: write the animations too"
    )
    g.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per experiment (default 900)"
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="experiments run at once, each in its own process (default: 2, or 1 on a single core)",
    )

    _no_cache(g)

    s = sub.add_parser("sweep", help="a resumable, sharded parameter sweep of one experiment")
    s.add_argument("name")
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
    s.add_argument("--seed", type=int, default=0, help="the per-item runs' seed (default 0)")
    s.add_argument(
        "--distributed",
        action="store_true",
        help="one sweep across several processes/hosts with jax.distributed (run the same "
        "command in each; JQD_COORDINATOR=host:port, JQD_NUM_PROCESSES, JQD_PROCESS_ID, or "
        "JAX's cluster detection)",
    )
    s.add_argument(
        "--out", type=Path, default=None, help="output folder (default jqd-out/NAME-sweep)"
    )
    s.add_argument("--quick", action="store_true", help="start from the quick config")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument(
        "--fresh",
        action="store_true",
        help="discard what --out holds if it cannot be resumed (a different sweep, chunks "
        "computed by other code, a corrupt manifest) and start afresh",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    _no_cache(s)
    _fit_parser(sub)
    return p


def _batch(text: str):
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or auto; got {text!r}") from None


def _no_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="do not use the persistent compilation cache (default: on, in $JQD_CACHE_DIR, "
        "else $XDG_CACHE_HOME/jqd/jax or ~/.cache/jqd/jax; JQD_NO_CACHE=1 also turns it off)",
    )


def _fit_parser(sub) -> None:
    """`jqd fit`: recover constants through an experiment's sweep (`jqd.run.fit`)."""
    f = sub.add_parser(
        "fit",
        help="recover an experiment's constants by gradient descent through its law",
        description="Fit constants (config keys) of an experiment's law to data by weighted "
        "least squares through its sweep function (jqd.fit, L-BFGS), with standard errors "
        "from the Gauss-Newton Hessian. Exit codes: 0 an acceptable fit, 1 not converged or "
        "not acceptable (not identifiable, or chi2 improbable with the data's errors), 2 usage "
        "error.",
    )
    f.add_argument("name")
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
    f.add_argument("--quick", action="store_true", help="start from the quick config")
    f.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field of the model and the data (repeatable), e.g. "
        "--set n_particles=4000",
    )
    f.add_argument(
        "--out", type=Path, default=None, help="output folder (default jqd-out/NAME-fit)"
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
    f.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    _no_cache(f)
