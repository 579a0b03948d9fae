"""Sweep throughput of kerr-revival: batch size, sharding, and the Husimi routine.

    .venv/bin/python benchmarks/bench_sweep.py [--devices 4] [--max-batch 4096]
        [--out benchmarks/results_sweep.md] [--device gpu]

1. items/s of the vmapped kerr-revival sweep function (what `jqd sweep` runs
   per chunk) vs batch size 1..4096 on one device, compile excluded;
2. the same at large batch sharded over 1, 2, 4 forced host devices;
3. the whole `jqd sweep` engine (chunk files, checksums, NetCDF) at a few
   batch sizes, to show its overhead over the bare compute;
4. the vectorized Husimi Q routine of the kerr-revival experiment vs
   `qutip.qfunc` on a 201x201 grid, if /work/main/.venv-bench (qutip) exists.

Table 1 also gives XLA's cost analysis of each batch program per item and
the projected H100 items/s (`_common.cost`). `--device gpu` runs on the GPUs
(`--devices` then counts real devices; without a GPU it says so and runs on
the forced host devices as usual).
"""

from __future__ import annotations

import argparse
import os
import sys

_parser = argparse.ArgumentParser()
_parser.add_argument("--devices", type=int, default=4)
_parser.add_argument("--max-batch", type=int, default=4096)
_parser.add_argument("--n-save", type=int, default=100)
_parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results_sweep.md"))
sys.path.insert(0, os.path.dirname(__file__))
from _common import add_device_arg, cost, machine, select_device, time_call, time_compile, versions  # noqa: E402, I001

add_device_arg(_parser)
ARGS = _parser.parse_args()
# forced host devices (the CPU platform only: on GPUs, --devices counts real ones)
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={ARGS.devices}"
).strip()
select_device(ARGS.device)

import dataclasses  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402

import jqd  # noqa: E402
from jqdlab.registry import load  # noqa: E402
from jqdlab.sweep import run_sweep  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def throughput(fn, batch, mesh, with_cost=False):
    """items/s of one compiled batch call, from its fastest timed call (the
    least disturbed by other jobs on a shared machine), and the compile time;
    with `with_cost`, also XLA's cost analysis of the batch program
    (`_common.cost`: flops, bytes, projected H100 time)."""
    x = {"U": np.linspace(0.5, 2.0, batch)}
    x = jqd.shard_batch(x, mesh)
    compiled, compile_s = time_compile(jax.jit(fn), x)
    timing = time_call(lambda: compiled(x), repeats=7)
    if with_cost:
        return batch / timing["min_s"], compile_s, cost(compiled)
    return batch / timing["min_s"], compile_s


def main():
    exp = load("kerr-revival")
    config = dataclasses.replace(exp.config.quick(), n_save=ARGS.n_save)
    fn = jax.vmap(lambda v: exp.sweep(config, v))
    lines = []
    add = lines.append
    add("# Sweep throughput: kerr-revival")
    add("")
    mach, vers = machine(), versions()
    add(
        f"- machine: {mach['cpu']}, {mach['cores']} CPU cores, {mach['platform']}; load "
        f"average {mach['loadavg_at_start'][0]} at start (a shared machine: absolute "
        "numbers are pessimistic)"
    )
    add(
        "- versions: "
        + ", ".join(f"{k} {v}" for k, v in vers.items())
        + f"; backend {jax.default_backend()}, {len(jax.devices())} "
        + ("forced host devices" if jax.default_backend() == "cpu" else "devices")
        + ", float64"
    )
    add(
        f"- item: one U value; kerr-revival quick config with n_save={config.n_save} "
        f"(cutoff {exp.sweep.__globals__['cutoff_of'](config)}, one exact step per save, "
        "<a(t)> observed at every save, max error vs closed form)"
    )
    add(
        f"- command: `.venv/bin/python benchmarks/bench_sweep.py --devices {ARGS.devices} "
        f"--max-batch {ARGS.max_batch} --n-save {ARGS.n_save} --device {ARGS.device}`"
    )
    add("")
    add("## 1. Throughput vs batch size (one device, compile excluded, best call)")
    add("")
    add(
        "| batch | items/s | compile (s) | XLA flops/item | XLA bytes/item | H100 projected "
        "items/s |"
    )
    add("|---|---|---|---|---|---|")
    mesh1 = jqd.batch_mesh(1)
    batches = [b for b in (1, 4, 16, 64, 256, 1024, 4096) if b <= ARGS.max_batch]
    single = {}
    for b in batches:
        rate, comp, xla = throughput(fn, b, mesh1, with_cost=True)
        single[b] = rate
        k = xla["loop_scale"] / b
        add(
            f"| {b} | {rate:,.0f} | {comp:.2f} | {xla['xla_flops'] * k:,.0f} | "
            f"{xla['xla_bytes_accessed'] * k:,.0f} | {b / xla['h100_projected_s']:,.0f} |"
        )
        print(lines[-1], flush=True)
        print("JSON " + json.dumps({"bench": "sweep", "batch": b, "items_per_s": rate, **xla}))
    best = max(single.values())
    sat = min(b for b, r in single.items() if r >= 0.8 * best)
    add("")
    add(f"Throughput reaches 80 % of its best ({best:,.0f} items/s) at batch {sat}.")
    add("")
    add("## 2. Sharded over forced host devices (compile excluded, best call)")
    add("")
    add("| batch | devices | items/s | speed-up vs 1 device |")
    add("|---|---|---|---|")
    for b in [b for b in (1024, 4096) if b <= ARGS.max_batch]:
        base = None
        for d in (1, 2, 4):
            if d > len(jax.devices()):
                continue
            rate, _ = throughput(fn, b, jqd.batch_mesh(d))
            base = base or rate
            add(f"| {b} | {d} | {rate:,.0f} | {rate / base:.2f} |")
            print(lines[-1], flush=True)
    add("")
    add(
        f"This machine has {os.cpu_count()} cores: forced host devices share them, so "
        "sharding over more devices than cores cannot add throughput; on CPU it checks the "
        "sharded path (results are bitwise equal to one device, tests/test_sweep.py), on GPUs "
        "it splits the batch across real devices."
    )
    add("")
    add("## 3. The whole `jqd sweep` engine (chunk files, sha256, NetCDF), 4096 items")
    add("")
    add("| batch | devices | chunks | compile (s) | compute items/s | wall (s) | wall items/s |")
    add("|---|---|---|---|---|---|---|")
    n_items = min(4096, ARGS.max_batch * 4)
    for b, d in [(64, 1), (512, 1), (4096, 1), (4096, min(4, len(jax.devices())))]:
        if b > ARGS.max_batch:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            res = run_sweep(
                exp,
                config,
                {"U": np.linspace(0.5, 2.0, n_items)},
                tmp,
                batch=b,
                devices=d,
                progress=False,
                log=lambda *a: None,
            )
        s = res.summary
        add(
            f"| {b} | {d} | {res.n_chunks} | {s['compile_time_s']:.2f} | "
            f"{s['items_per_s']:,.0f} | {s['wall_time_s']:.2f} | "
            f"{n_items / s['wall_time_s']:,.0f} |"
        )
        print(lines[-1], flush=True)
    add("")
    add("## 4. Husimi Q on a 201x201 grid (kerr-revival's vectorized routine vs qutip.qfunc)")
    add("")
    add_husimi(add, exp)
    Path(ARGS.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {ARGS.out}")


def add_husimi(add, exp):
    husimi_fock = jax.jit(jqd.husimi.husimi)
    alpha0, U, cutoff = 2.0, 1.0, 40
    psi = np.asarray(jqd.reference.kerr_state(np.pi / 2, alpha0, cutoff, U))
    x = np.linspace(-5, 5, 201)
    alpha = x[None, :] + 1j * x[:, None]
    jax.block_until_ready(husimi_fock(psi, alpha))  # compile
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        Q = jax.block_until_ready(husimi_fock(psi, alpha))
        reps += 1
    ours = (time.perf_counter() - t0) / reps
    exact = np.asarray(jqd.reference.kerr_husimi(alpha, np.pi / 2, alpha0, U))
    n_nan = int(np.isnan(exact).sum())  # kerr_husimi returns NaN at exactly α = 0
    exact_err = np.nanmax(np.abs(np.asarray(Q) - exact))
    add(
        f"- state: Kerr-evolved |α0 = 2⟩ at Ut = π/2, cutoff {cutoff}; grid Re α, Im α in "
        "[-5, 5], 201x201"
    )
    add(
        f"- jqd (jit, float64): {ours * 1e3:.2f} ms per evaluation; max |Q − exact Q_H| = "
        f"{exact_err:.1e} (over the {exact.size - n_nan} grid points where "
        f"jqd.reference.kerr_husimi is finite; it returns NaN at α = 0)"
    )
    bench_py = REPO / ".venv-bench" / "bin" / "python"
    if not bench_py.exists():
        add(
            "- qutip.qfunc: not measured: `.venv-bench` (with qutip) does not exist yet on "
            "this machine; rerun this script once it does."
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "psi.npy", psi)
        code = f"""
import json, time, numpy as np, qutip
psi = qutip.Qobj(np.load({str(Path(tmp) / "psi.npy")!r}).reshape(-1, 1))
x = np.linspace(-5, 5, 201)
qutip.qfunc(psi, x, x, g=2)
reps, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 1.0:
    Q = qutip.qfunc(psi, x, x, g=2); reps += 1
np.save({str(Path(tmp) / "Q.npy")!r}, Q)
print(json.dumps({{"t": (time.perf_counter() - t0) / reps, "v": qutip.__version__}}))
"""
        proc = subprocess.run([str(bench_py), "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            add(f"- qutip.qfunc: failed to run ({proc.stderr.strip().splitlines()[-1:]}).")
            return
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        Qq = np.load(Path(tmp) / "Q.npy")
    diff = np.max(np.abs(Qq - np.asarray(Q)))
    add(
        f"- qutip {info['v']} qfunc (g = 2 so that α = x + i y): {info['t'] * 1e3:.2f} ms per "
        f"evaluation; max |Q_qutip − Q_jqd| = {diff:.1e}; jqd is "
        f"{info['t'] / ours:.1f}x faster"
    )


if __name__ == "__main__":
    sys.exit(main())
