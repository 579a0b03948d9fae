"""`jqd fit` acceptance (issue 16): recover (C), (C, U), (q, r), (D), (D, m) from
exact data (to 1e-4 relative) and from finite-ensemble data (an acceptable fit,
exit 0 or 3; its |z| from the profile likelihood, the one `jqd fit` decides on,
is shown: one seed within 2σ decides nothing, benchmarks/fit_calibration.py
checks the errors over many), each case one `jqd fit` process (wall time
includes start-up, data and compilation).

    python benchmarks/fit_acceptance.py [--device cpu|gpu] [--only NAME] [--out DIR]

Prints one JSON line per case and a markdown table (benchmarks/results_fit.md
holds the recorded one). Not a speed comparison: no peer exists; `--device gpu`
runs the same command on a GPU (JAX_PLATFORMS=cuda) when there is one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import add_device_arg, machine, markdown_table, versions  # noqa: E402

KERR = ["--quick", "--set", "fit_grid=20"]
CASES = [  # (experiment, --free, --data, extra arguments)
    ("husimi-kerr", "C", "reference", KERR),
    ("husimi-kerr", "C", "ensemble", KERR),
    ("husimi-kerr", "C,U", "reference", KERR),
    ("husimi-kerr", "C,U", "ensemble", KERR),
    ("copy-fit-qr", "q,r", "reference", []),
    ("copy-fit-qr", "q,r", "ensemble", []),
    ("dqm-fit-D", "D", "reference", []),
    ("dqm-fit-D", "D", "ensemble", []),
    ("dqm-fit-D", "D,mass", "reference", []),
    ("dqm-fit-D", "D,mass", "ensemble", []),
]


def run_case(name, free, data, extra, out: Path, env) -> dict:
    folder = out / f"{name}-{free.replace(',', '_')}-{data}"
    cmd = [sys.executable, "-m", "jqdlab.cli", "fit", name, "--free", free, "--data", data,
           "--out", str(folder), "--no-progress", *extra]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    row = {"experiment": name, "free": free, "data": data, "args": " ".join(extra),
           "exit": proc.returncode, "process_wall_s": wall, "load": os.getloadavg()}  # fmt: skip
    summary = folder / "summary.json"
    if proc.returncode in (0, 1, 3) and summary.exists():
        s = json.loads(summary.read_text())
        row.update({k: s[k] for k in ("value", "stderr", "truth", "iterations", "converged",
                                      "acceptable", "wall_time_s", "compile_time_s", "chi2",
                                      "dof", "p_value", "relative_misfit", "problems",
                                      "consistent")})  # fmt: skip
        row["relative_error"] = s.get("relative_error")
        row["error_over_stderr"] = s.get("error_over_stderr")
        row["z"] = {k: q.get("z") for k, q in (s.get("quantum") or {}).items()}
        row["profile"] = s.get("profile")
        if data == "reference":
            row["accepted"] = bool(
                max(s["relative_error"].values()) < 1e-4 and proc.returncode == 0
            )
        else:
            row["accepted"] = bool(s["acceptable"] and proc.returncode in (0, 3))
    else:
        row["error"] = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        row["accepted"] = False
    return row


def table(rows) -> str:
    lines = []
    for r in rows:
        if "value" not in r:
            lines.append({"case": f"{r['experiment']} ({r['free']}), {r['data']}",
                          "param": "-", "truth": "-", "fitted": r.get("error", "?"),
                          "stderr": "-", "err": "-", "wall": f"{r['process_wall_s']:.0f}",
                          "iters": "-", "ok": "no"})  # fmt: skip
            continue
        for i, k in enumerate(r["free"].split(",")):
            prof = r.get("profile")
            err = (
                f"{r['relative_error'][k]:.1e} rel."
                if r["data"] == "reference"
                else f"{abs(r['z'][k]):.2f} σ (profile −{prof['lower'][k]:.2g} "
                f"+{prof['upper'][k]:.2g})"
            )
            lines.append({
                "case": f"{r['experiment']} ({r['free']}), {r['data']}" if i == 0 else "",
                "param": k, "truth": f"{r['truth'][k]:g}", "fitted": f"{r['value'][k]:.9g}",
                "stderr": f"{r['stderr'][k]:.2g}", "err": err,
                "wall": f"{r['wall_time_s']:.0f} ({r['compile_time_s']:.0f})" if i == 0 else "",
                "iters": str(r["iterations"]) if i == 0 else "",
                "ok": ("yes" if r["accepted"] else "NO") if i == 0 else "",
            })  # fmt: skip
    cols = [("case", "case, data"), ("param", "constant"), ("truth", "quantum value"),
            ("fitted", "fitted"), ("stderr", "stderr"),
            ("err", "|error| (exact: relative; ensemble: \\|z\\| of the profile likelihood)"),
            ("wall", "fit wall s (compile)"), ("iters", "L-BFGS iterations"),
            ("ok", "accepted")]  # fmt: skip
    return markdown_table(lines, cols)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_device_arg(p)
    p.add_argument("--only", action="append", default=[], help="experiment name(s)")
    p.add_argument("--out", type=Path, default=Path("/tmp/jqd-fit-acceptance"))
    args = p.parse_args()
    env = dict(os.environ)
    if args.device == "gpu":
        import jax

        if any(d.platform == "gpu" for d in jax.devices()):
            env["JAX_PLATFORMS"] = "cuda"
        else:
            print("--device gpu: no GPU visible to JAX; running on the CPU", file=sys.stderr)
    header = {"bench": "fit_acceptance", "machine": machine(), "versions": versions(),
              "device": args.device, "load_start": os.getloadavg()}  # fmt: skip
    print("JSON " + json.dumps(header), flush=True)
    rows = []
    for name, free, data, extra in CASES:
        if args.only and name not in args.only:
            continue
        row = run_case(name, free, data, extra, args.out, env)
        rows.append(row)
        print("JSON " + json.dumps(row, default=str), flush=True)
    print(table(rows))
    return 0 if all(r["accepted"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
