"""Start-up cost: `import jqd`, the first `jqd.evolve` access, and the `jqd`
command before it does anything (issue 16: `import jqd` 1.24 s with diffrax
and optax loaded eagerly; every `jqd` command 3-5 s).

Each candidate is a fresh Python process (wall time of the whole process,
`subprocess.run`, and its CPU time, user + system, which a loaded machine
inflates far less than the wall time), candidates alternating within each
round (>= 7 rounds; median and min reported), BLAS/OpenMP threads pinned to 1. `--baseline DIR`
adds the same candidates run from another source tree (e.g. a `git archive`
of an earlier commit), put first on PYTHONPATH, for before/after numbers.

    python benchmarks/bench_startup.py [--rounds 9] [--baseline /tmp/jqd-old]
        [--device gpu]

Candidates: `import jqd`; `import jqd; jqd.evolve` (the integrators and
their imports); `import jqd; jqd.evolve_adaptive; jqd.fit` (where diffrax and
optax load now); `import qutip` (the peer, for scale); `python -c pass` (the
interpreter alone); `jqd list`; `jqd run kerr-revival --help`. No XLA program
is compiled, so there is no cost analysis to record; `--device gpu` runs the
candidates with JAX's GPU backend allowed (CPU otherwise: `JAX_PLATFORMS=cpu`).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Reporter, add_device_arg, markdown_table, select_device  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

CANDIDATES = {
    "python -c pass": [PY, "-c", "pass"],
    "import jqd": [PY, "-c", "import jqd"],
    "import jqd; jqd.evolve": [PY, "-c", "import jqd; jqd.evolve"],
    "jqd.evolve_adaptive; jqd.fit": [PY, "-c", "import jqd; jqd.evolve_adaptive; jqd.fit"],
    "import qutip": [PY, "-c", "import qutip"],
    "jqd list": [PY, "-m", "jqdlab.cli", "list"],
    "jqd run kerr-revival --help": [PY, "-m", "jqdlab.cli", "run", "kerr-revival", "--help"],
}


def env_for(tree: Path | None, device: str) -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        env[var] = "1"
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    if tree is not None:
        env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
        env["JQD_EXPERIMENTS"] = str(tree / "experiments")
    return env


def once(cmd, env, cwd) -> tuple[float, float]:
    """(wall s, CPU s: user + system of the child) of one fresh process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()[-500:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--baseline", type=Path, default=None, help="a source tree to compare")
    ap.add_argument("--json", default=None)
    add_device_arg(ap)
    args = ap.parse_args(argv)
    select_device(args.device)
    rep = Reporter("startup", args.json, argv)
    trees = {"this checkout": None}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    cands = {}
    for label, tree in trees.items():
        for name, cmd in CANDIDATES.items():
            if "qutip" in name or name == "python -c pass":
                if label != "this checkout":
                    continue  # tree-independent
            cands[(label, name)] = (cmd, env_for(tree, args.device), str(tree or REPO))
    for cmd, env, cwd in cands.values():  # warm the file cache and .pyc files
        once(cmd, env, cwd)
    times = {k: [] for k in cands}
    for _ in range(max(args.rounds, 7)):
        for k, (cmd, env, cwd) in cands.items():
            times[k].append(once(cmd, env, cwd))
    rows = []
    for (label, name), ts in times.items():
        wall = [w for w, _ in ts]
        cpu = [c for _, c in ts]
        med, cmed = statistics.median(wall), statistics.median(cpu)
        rep.case(
            tree=label, impl=name, median_s=med, min_s=min(wall), cpu_median_s=cmed, rounds=len(ts)
        )
        rows.append(
            dict(
                what=name,
                tree=label,
                median=f"{med:.2f}",
                min=f"{min(wall):.2f}",
                cpu=f"{cmed:.2f}",
            )
        )
    load = [round(x, 2) for x in os.getloadavg()]
    print()
    print(
        markdown_table(
            rows,
            [
                ("what", "command"),
                ("tree", "tree"),
                ("median", "wall median (s)"),
                ("min", "wall min (s)"),
                ("cpu", "CPU median (s)"),
            ],
        )
    )
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
