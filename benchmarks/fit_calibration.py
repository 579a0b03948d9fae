"""Are `jqd fit`'s standard errors honest? Fit finite-ensemble data of many
seeds and look at z = (fitted − quantum value)/stderr: for honest errors z is
close to N(0, 1), so RMS z ≈ 1 and about 95 % of the seeds lie within 2
standard errors.

    python benchmarks/fit_calibration.py --case dqm-fit-D:D [--seeds 20]
        [--jsonl FILE]      # one JSON line per seed, appended; seeds already there are skipped
    python benchmarks/fit_calibration.py --summary FILE [FILE ...]   # the table only

Each case runs `jqdlab.fit.problem` (the data of `jqd fit --data ensemble
--seed S`) for every seed and `solve` on `--chunk` seeds at once (`calibrate`). Each seed's line holds what any covariance
estimator needs: the value, the weighted residuals r = (model − data)/stderr
and their Jacobian J at the fit (natural units, sorted keys), χ² and dof.
The summary recomputes every seed's standard error from (r, J) with the
library's own `jqd.covariance_from` for each estimator it
offers (the one `jqd fit` reports, `jqdlab.fit.COVARIANCE`, first), so the
table reads what `jqd fit` prints whatever estimator the seeds were run under. Recorded:
benchmarks/results_fit.md §2. Not a speed benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, markdown_table, versions  # noqa: E402

# case -> (experiment, free keys, --quick, --set overrides): the acceptance cases' data
CASES = {
    "dqm-fit-D:D": ("dqm-fit-D", ("D",), False, {}),
    "dqm-fit-D:D,mass": ("dqm-fit-D", ("D", "mass"), False, {}),
    "copy-fit-qr:q,r": ("copy-fit-qr", ("q", "r"), False, {}),
    "husimi-kerr:C": ("husimi-kerr", ("C",), True, {"fit_grid": 20, "cutoff": 18, "n_grid": 16}),
    "husimi-kerr:C,U": (
        "husimi-kerr", ("C", "U"), True, {"fit_grid": 20, "cutoff": 18, "n_grid": 16},
    ),
}  # fmt: skip


def calibrate(case, seeds, jsonl: Path | None, chunk: int = 10, starts=None, sets=None):
    """Fit `case` to the ensemble data of each seed; the seeds' data sets are
    fitted `chunk` at a time by one compiled `jqd.fit` (one after another inside
    it, `batched="sequential"`, as `jqd fit --bootstrap` fits its replicas), so
    the fit compiles once, not once per seed. The batch stops when every seed's
    Gauss-Newton step is below 1e-3 of its standard error, as `jqd fit` does for
    one: each seed's optimum is `jqd fit --data ensemble --seed S`'s to far
    inside its error bar."""
    import dataclasses

    from jqd import covariance_from
    from jqdlab import registry
    from jqdlab.fit import COVARIANCE, problem, profile_likelihood, solve, spec_of

    name, free, quick, overrides = CASES[case]
    sets = {k: v for k, v in (sets or {}).items()}  # --set KEY=VALUE beyond the case's own
    label = _label(case, sets)
    done = {r["seed"] for r in _read(jsonl) if _label(r["case"], r.get("set")) == label}
    exp = registry.load(name)
    config = exp.config.quick() if quick else exp.config()
    config = dataclasses.replace(config, **overrides)
    fields = {f.name: f for f in dataclasses.fields(config)}
    config = dataclasses.replace(
        config, **{k: type(getattr(config, k))(float(v)) for k, v in sets.items() if k in fields}
    )
    spec = spec_of(exp)
    start = {k: float(v) for k, v in spec.start(config).items() if k in free}
    start.update(starts or {})  # --start KEY=VALUE, as `jqd fit --start`
    truth = {k: float(v) for k, v in spec.truth(config).items() if k in free}
    todo = [s for s in seeds if s not in done]
    keys = sorted(free)  # the flattened order of r's Jacobian
    for i in range(0, len(todo), max(chunk, 1)):
        batch = todo[i : i + max(chunk, 1)]
        t0 = time.perf_counter()
        probs = [problem(exp, config, free, start, "ensemble", seed) for seed in batch]
        t_data = time.perf_counter() - t0
        packed = [p.packed() for p in probs]
        data = {k: tuple(np.stack([d[k][j] for d in packed]) for j in range(2)) for k in packed[0]}
        if chunk == 0:  # one `jqd fit` per seed (unbatched)
            res = _stacked(solve(probs[0], max_iter=100))
        else:
            theta0 = {k: np.full(len(batch), start[k]) for k in free}
            res = solve(probs[0], theta0=theta0, data=data, max_iter=100)
        wall = time.perf_counter() - t0
        # the profile likelihood of each seed (`jqd fit`'s z): the signed root at the
        # quantum value at scale 1 (z at another estimator's factor s is this / s), and
        # the 1σ interval at the reported estimator's factor
        flats = np.stack([np.asarray(res.value[k], float) for k in keys], 1)
        scales = [
            covariance_from(res.residuals[j], res.jacobian[j], flats[j], "known", COVARIANCE)[
                "scale"
            ]
            for j in range(len(batch))
        ]
        t1 = time.perf_counter()
        prof = profile_likelihood(
            probs[0].residuals, res.value, data, scale=np.asarray(scales), at=truth, batched=True
        )
        t_prof = time.perf_counter() - t1
        for j, seed in enumerate(batch):
            row = {"case": case, "set": sets, "seed": seed, "keys": keys, "truth": truth,
                   "value": {k: float(res.value[k][j]) for k in free},
                   "stderr_run": {k: float(res.stderr[k][j]) for k in free},
                   "chi2": float(res.chi2[j]), "dof": int(res.dof),
                   "r": np.asarray(res.residuals[j], float).tolist(),
                   "J": np.asarray(res.jacobian[j], float).tolist(),
                   "converged": bool(res.converged), "iterations": int(res.iterations),
                   "profile": {"z_unscaled": {k: float(prof["z"][k][j] * scales[j]) for k in free},
                               "scale": float(scales[j]), "method": COVARIANCE,
                               "lower": {k: float(prof["lower"][k][j]) for k in free},
                               "upper": {k: float(prof["upper"][k][j]) for k in free}},
                   "batch_profile_s": t_prof, "profile_evaluations": prof["evaluations"],
                   "batch": len(batch), "batch_wall_s": wall, "batch_data_s": t_data,
                   "load": os.getloadavg()[0]}  # fmt: skip
            line = json.dumps(row)
            print("JSON " + line[:300], flush=True)
            if jsonl is not None:
                with open(jsonl, "a") as f:
                    f.write(line + "\n")


def _label(case, sets):
    """A case and its extra --set values, as the table names it."""
    return case + "".join(f" {k}={v}" for k, v in sorted((sets or {}).items()))


def _stacked(res):
    """An unbatched FitResult with a leading axis of 1 (as a batch of one)."""
    import dataclasses

    one = lambda x: np.asarray(x)[None]
    return dataclasses.replace(
        res, value={k: one(v) for k, v in res.value.items()},
        stderr={k: one(v) for k, v in res.stderr.items()}, chi2=one(res.chi2),
        residuals=one(res.residuals), jacobian=one(res.jacobian),
    )  # fmt: skip


def _order(label):
    case = label.split(" ")[0]
    return (list(CASES).index(case) if case in CASES else len(CASES), label)


def _read(path):
    if path is None or not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def z_scores(rows, method):
    """z = (fitted − truth)/stderr per key, stderr from (r, J) by `method`; for
    "profile", the signed root of the profile likelihood ratio at the truth with
    the reported estimator's factor (what `jqd fit` decides on)."""
    from jqd import covariance_from

    out = {k: [] for k in rows[0]["keys"]}
    for row in rows:
        if method == "profile":
            for k in row["keys"]:
                out[k].append(row["profile"]["z_unscaled"][k] / row["profile"]["scale"])
            continue
        flat = np.array([row["value"][k] for k in row["keys"]])
        c = covariance_from(np.array(row["r"]), np.array(row["J"]), flat, "known", method)
        for i, k in enumerate(row["keys"]):
            out[k].append((row["value"][k] - row["truth"][k]) / c["stderr"][i])
    return out


def summarize(rows, methods):
    out = []
    for method in methods:
        # runs made before the profile lack it
        mine = [r for r in rows if "profile" in r] if method == "profile" else rows
        for key, z in (z_scores(mine, method) if mine else {}).items():
            z = np.asarray(z)
            n = len(z)
            lo, hi = _rms_interval(n)
            out.append({"case": _label(mine[0]["case"], mine[0].get("set")), "method": method, "param": key, "seeds": str(n),
                        "mean": f"{z.mean():+.2f}", "rms": f"{math.sqrt(np.mean(z**2)):.2f}",
                        "rms95": f"[{lo:.2f}, {hi:.2f}]",
                        "within2": f"{int(np.sum(np.abs(z) <= 2))}/{n}",
                        "cover": f"{100 * np.mean(np.abs(z) <= 2):.0f} %",
                        "max": f"{np.max(np.abs(z)):.2f}",
                        "chi2": f"{np.mean([r['chi2'] / r['dof'] for r in mine]):.2f}",
                        "conv": str(sum(r["converged"] for r in mine))})  # fmt: skip
    return out


def _rms_interval(n):
    """RMS z of n draws of N(0, 1): the 95 % interval of √(χ²_n / n)."""
    from scipy.stats import chi2

    return math.sqrt(chi2.ppf(0.025, n) / n), math.sqrt(chi2.ppf(0.975, n) / n)


COLS = [("case", "case"), ("method", "estimator"), ("param", "constant"), ("seeds", "seeds"),
        ("mean", "mean z"), ("rms", "RMS z"), ("rms95", "RMS z, 95 % range for N(0,1)"),
        ("within2", "\\|z\\| ≤ 2"), ("cover", "2σ coverage"), ("max", "max \\|z\\|"),
        ("chi2", "mean χ²/dof"), ("conv", "converged")]  # fmt: skip


# those of jqd.covariance_from, and the profile likelihood `jqd fit` decides on
ESTIMATORS = ("profile", "gauss-newton", "birge", "hc0", "hc3")


def main() -> int:
    from jqdlab.fit import COVARIANCE

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", action="append", default=[], choices=sorted(CASES))
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument(
        "--chunk",
        type=int,
        default=10,
        help="seeds fitted by one compiled fit (0: one jqd fit per seed)",
    )
    p.add_argument("--start", action="append", default=[], help="KEY=VALUE start of a freed key")
    p.add_argument("--set", action="append", default=[], help="KEY=VALUE config override")
    p.add_argument("--jsonl", type=Path, default=None, help="append one line per seed here")
    p.add_argument("--summary", nargs="+", type=Path, default=[], help="JSONL files to tabulate")
    p.add_argument(
        "--methods",
        default=",".join([COVARIANCE] + [m for m in ESTIMATORS if m != COVARIANCE]),
        help="estimators in the table",
    )
    args = p.parse_args()
    methods = args.methods.split(",")
    if args.case:
        import jax

        jax.config.update("jax_enable_x64", True)
        header = {"bench": "fit_calibration", "machine": machine(), "versions": versions(),
                  "load_start": os.getloadavg()}  # fmt: skip
        print("JSON " + json.dumps(header), flush=True)
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        for case in args.case:
            starts = {k: float(v) for k, v in (item.split("=") for item in args.start)}
            sets = dict(item.split("=", 1) for item in args.set)
            calibrate(case, seeds, args.jsonl, args.chunk, starts, sets)
    files = args.summary or ([args.jsonl] if args.jsonl else [])
    rows = [r for f in files for r in _read(f)]
    table = []
    for label in sorted({_label(r["case"], r.get("set")) for r in rows}, key=_order):
        table += summarize([r for r in rows if _label(r["case"], r.get("set")) == label], methods)
    if table:
        print(markdown_table(table, COLS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
