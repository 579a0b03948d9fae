"""Are `jqd fit`'s standard errors honest? Fit finite-ensemble data of many
seeds and look at z = (fitted − quantum value)/stderr: for honest errors z is
close to N(0, 1), so RMS z ≈ 1 and about 95 % of the seeds lie within 2
standard errors (the acceptance of issue 16 on one seed is a 95 % event).

    python benchmarks/fit_calibration.py [--seeds 20] [--only dqm-fit-D]

Each case runs `jqd.run.fit.problem` + `solve` (what `jqd fit --data ensemble
--seed S` runs) in one process, so the fit compiles once per case. Prints one
JSON line per seed and a markdown table; the recorded one is in
benchmarks/results_fit.md. Not a speed benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, markdown_table, versions  # noqa: E402

# (experiment, free keys, --quick, --set overrides): the acceptance cases' data
CASES = [
    ("dqm-fit-D", ("D",), False, {}),
    ("dqm-fit-D", ("D", "mass"), False, {}),
    ("copy-fit-qr", ("q", "r"), False, {}),
    ("husimi-kerr", ("C",), True, {"fit_grid": 20, "cutoff": 18, "n_grid": 16}),
]


def calibrate(name, free, quick, overrides, seeds):
    import dataclasses

    from jqd.run import registry
    from jqd.run.fit import problem, solve, spec_of

    exp = registry.load(name)
    config = exp.config.quick() if quick else exp.config()
    config = dataclasses.replace(config, **overrides)
    spec = spec_of(exp)
    start = {k: float(v) for k, v in spec.start(config).items() if k in free}
    truth = spec.truth(config)
    rows = []
    for seed in seeds:
        t0 = time.perf_counter()
        prob = problem(exp, config, free, start, "ensemble", seed)
        res = solve(prob, max_iter=100)
        z = {k: (float(res.value[k]) - truth[k]) / float(res.stderr[k]) for k in free}
        row = {"experiment": name, "free": ",".join(free), "seed": seed, "z": z,
               "value": {k: float(res.value[k]) for k in free},
               "stderr": {k: float(res.stderr[k]) for k in free},
               "converged": bool(res.converged), "wall_s": time.perf_counter() - t0}  # fmt: skip
        print("JSON " + json.dumps(row), flush=True)
        rows.append(row)
    return rows


def summarize(rows):
    out = []
    for key in rows[0]["z"]:
        z = [r["z"][key] for r in rows]
        n = len(z)
        rms = math.sqrt(sum(v * v for v in z) / n)
        within = sum(abs(v) < 2 for v in z)
        # RMS z of n draws of N(0, 1): 95 % interval of sqrt(chi2_n / n)
        lo, hi = _rms_interval(n)
        out.append({"case": f"{rows[0]['experiment']} ({rows[0]['free']})", "param": key,
                    "seeds": str(n), "mean": f"{sum(z) / n:+.2f}", "rms": f"{rms:.2f}",
                    "rms95": f"[{lo:.2f}, {hi:.2f}]", "within2": f"{within}/{n}",
                    "max": f"{max(abs(v) for v in z):.2f}",
                    "conv": str(sum(r["converged"] for r in rows))})  # fmt: skip
    return out


def _rms_interval(n):
    from scipy.stats import chi2

    return math.sqrt(chi2.ppf(0.025, n) / n), math.sqrt(chi2.ppf(0.975, n) / n)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--only", action="append", default=[], help="experiment name(s)")
    p.add_argument("--free", action="append", default=[], help="free keys, e.g. D,mass")
    args = p.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    header = {"bench": "fit_calibration", "machine": machine(), "versions": versions(),
              "load_start": os.getloadavg()}  # fmt: skip
    print("JSON " + json.dumps(header), flush=True)
    table = []
    for name, free, quick, overrides in CASES:
        if (args.only and name not in args.only) or (args.free and ",".join(free) not in args.free):
            continue
        rows = calibrate(name, free, quick, overrides, range(args.seeds))
        table += summarize(rows)
    cols = [("case", "case"), ("param", "constant"), ("seeds", "seeds"), ("mean", "mean z"),
            ("rms", "RMS z"), ("rms95", "RMS z, 95 % range for N(0,1)"),
            ("within2", "|z| < 2"), ("max", "max |z|"), ("conv", "converged")]  # fmt: skip
    print(markdown_table(table, cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
