"""Where an experiment's compiled programs come from (issue 25, item 3).

    python benchmarks/programs_by_site.py NAME [--top 25] [--out DIR]

Runs `jqd run NAME --quick --no-cache` in this process with JAX's compile
log on, and attributes every compiled program to the innermost stack frame
in jqd/ (outside jqdlab) or experiments/: a library helper that compiles one
program per operation shows up as many programs at one site. Prints the
total (the same count as `summary.json`'s `n_compilations`, give or take the
programs of the run's own bookkeeping) and the top sites, library and
experiment, with the compiled function names.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import traceback

import jax


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", default=None, help="the run's output folder (default: a temp one)")
    args = parser.parse_args()
    records: list[tuple[str, str]] = []

    class Sites(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            if not message.startswith("Compiling "):
                return
            site = "(jax or the runner)"
            for frame in reversed(traceback.extract_stack()):
                path = frame.filename.replace(os.sep, "/")
                inside = ("/jqd/" in path and "/jqdlab/" not in path) or "/experiments/" in path
                if inside:
                    short = path.rsplit("/jqd/" if "/jqd/" in path else "/experiments/", 1)[-1]
                    site = f"{short}:{frame.lineno} {frame.name}"
                    break
            records.append((message.split()[1], site))

    jax.config.update("jax_log_compiles", True)
    handler = Sites(logging.DEBUG)
    for logger_name in ("jax._src.interpreters.pxla", "jax._src.dispatch"):
        logger = logging.getLogger(logger_name)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    from jqdlab import cli

    out = args.out or os.path.join(os.environ.get("TMPDIR", "/tmp"), f"programs-{args.name}")
    try:
        cli.main(["run", args.name, "--quick", "--no-cache", "--out", out])
    except SystemExit:
        pass
    print(f"{len(records)} programs compiled")
    for site, n in collections.Counter(s for _, s in records).most_common(args.top):
        names = collections.Counter(f for f, s in records if s == site).most_common(3)
        print(f"{n:5d}  {site}  ({', '.join(f'{f} x{k}' for f, k in names)})")


if __name__ == "__main__":
    main()
