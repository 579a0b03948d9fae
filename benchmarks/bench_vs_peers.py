"""jqd vs QuTiP and dynamiqs at matched accuracy: each side's plain call and
each side's tuned call, in one process, candidates alternating.

Cases (float64; `_vs_peers_cases.py` builds them):
  kerr-64, kerr-256   Kerr mode, 201 saves on [0, π]
  bh-sector-41        Bose-Hubbard dimer N = 40 sector, 101 saves on [0, 10]
  bh-full-1681        the same dimer on the full two-mode space (banded H)
  kerr-sweep-256      256 Kerr problems in one batched call per side
  husimi-201x201      Husimi Q of a Kerr state on a 201² grid (vs qutip.qfunc / QFunc)
  grad-fidelity-kerr-64  d|⟨φ|ψ_U(T)⟩|²/dU (vs dynamiqs's grad; QuTiP has none)
  ising-8, ising-10, ising-12  closed transverse-field Ising chain (issue 56), n spins
                      (d = 2^n), ⟨σz_i⟩ of every site at 101 saves on [0, 5]
  jc-driven-80        Jaynes-Cummings with a lab-frame drive, 1000 saves (issue 56)
  fft-grid-64 … fft-grid-4096   V = 2x² on FFT grids, split step vs SciPy (dense QuTiP/dynamiqs
                      where it fits; issue 56)
  qfunc-nbar-10 … qfunc-nbar-200  Husimi Q of |√n̄⟩ on a 100² grid vs qutip.qfunc (issue 56)
  grad-hessian-100    ∇F and jax.hessian of a fidelity, cutoff 100, vs dynamiqs' HigherOrder
  modes-125-20001     dynamiqs #785: three coupled modes of 5 levels, 20,001 saves (issue 56)

Protocol: every candidate must reach error <= 1e-8 against the exact answer
(closed forms or NumPy eigendecompositions); adaptive peers run down
rtol = atol in 1e-8, 1e-10, ... and are timed at the loosest that meets it.
Then all accurate candidates of a case are timed round-robin (the order
rotates each round) for >= 7 rounds of `--calls` calls each (slow ones: one
call per round); the median wall and CPU time per call are reported.
BLAS/OpenMP and XLA's CPU threads are pinned to 1 for every library
(OMP/OPENBLAS/MKL_NUM_THREADS=1, XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1); the load average is recorded before and
after each case. Ratios: (faster peer's tuned time) / (jqd's time), for
jqd's plain and tuned calls.

Usage:
  python benchmarks/bench_vs_peers.py                 # full (tens of minutes)
  python benchmarks/bench_vs_peers.py --quick         # seconds: tiny sizes, 2 rounds
  python benchmarks/bench_vs_peers.py --cases kerr-64 bh-sector-41 --rounds 9
  python benchmarks/bench_vs_peers.py --device gpu    # falls back to the CPU without a GPU
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
XLA_THREADS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
GRID_SIZES = (64, 256, 1024, 4096)
NBARS = (10, 50, 100, 200)
CASES = [
    "kerr-64",
    "kerr-256",
    "bh-sector-41",
    "bh-full-1681",
    "kerr-sweep-256",
    "husimi-201x201",
    "grad-fidelity-kerr-64",
    "ising-8",
    "ising-10",
    "ising-12",
    "jc-driven-80",
    *(f"fft-grid-{n}" for n in GRID_SIZES),
    *(f"qfunc-nbar-{n}" for n in NBARS),
    "grad-hessian-100",
    "modes-125-20001",
]


def build(name, quick):
    import _vs_peers_cases as C

    full = {
        "kerr-64": lambda: C.kerr(64, 3.0, 200),
        "kerr-256": lambda: C.kerr(256, 8.0, 200),
        "bh-sector-41": lambda: C.bh_sector(40, 100),
        "bh-full-1681": lambda: C.bh_full(40, 100),
        "kerr-sweep-256": lambda: C.kerr_sweep(64, 3.0, 200, 256),
        "husimi-201x201": lambda: C.husimi(40, 3.0, 201),
        "grad-fidelity-kerr-64": lambda: C.fidelity_gradient(64, 3.0),
        "ising-8": lambda: C.ising(8),
        "ising-10": lambda: C.ising(10),
        "ising-12": lambda: C.ising(12),
        "jc-driven-80": lambda: C.jc_driven(40, 1000),
        **{f"fft-grid-{n}": (lambda n=n: C.fft_grid(n)) for n in GRID_SIZES},
        **{f"qfunc-nbar-{n}": (lambda n=n: C.qfunc_coherent(n)) for n in NBARS},
        "grad-hessian-100": lambda: C.grad_hessian(100),
        "modes-125-20001": lambda: C.modes_785(),
    }
    small = {
        "kerr-64": lambda: C.kerr(16, 1.0, 20),
        "kerr-256": lambda: C.kerr(24, 1.5, 20),
        "bh-sector-41": lambda: C.bh_sector(6, 10),
        "bh-full-1681": lambda: C.bh_full(6, 10),
        "kerr-sweep-256": lambda: C.kerr_sweep(16, 1.0, 10, 4),
        "husimi-201x201": lambda: C.husimi(16, 1.0, 21),
        "grad-fidelity-kerr-64": lambda: C.fidelity_gradient(16, 1.0),
        "ising-8": lambda: C.ising(4, 20),
        "ising-10": lambda: C.ising(5, 20),
        "ising-12": lambda: C.ising(6, 20),
        "jc-driven-80": lambda: C.jc_driven(6, 50, T=5.0),
        **{f"fft-grid-{n}": (lambda n=n: C.fft_grid(min(n, 128))) for n in GRID_SIZES},
        **{f"qfunc-nbar-{n}": (lambda n=n: C.qfunc_coherent(n // 5, 20)) for n in NBARS},
        "grad-hessian-100": lambda: C.grad_hessian(30),
        "modes-125-20001": lambda: C.modes_785(3, 5.0),
    }
    return (small if quick else full)[name]()


def block(x):
    import jax

    return jax.block_until_ready(x)


def choose_tolerance(cand, error, args):
    """(call, tol, error, first call s, ladder notes) or None if none reaches 1e-8."""
    import _vs_peers_cases as C

    ladder = (C.LADDER[:3] if args.quick else C.LADDER) if cand.adaptive else [None]
    notes = []
    for tol in ladder:
        try:
            fn = cand.make(tol)
            t0 = time.perf_counter()
            res = block(fn())
            first = time.perf_counter() - t0
            err = error(res)
        except Exception as e:  # a peer failing is a result, not a crash
            notes.append(f"tol={tol}: {type(e).__name__}: {str(e)[:100]}")
            return None, notes
        notes.append(f"tol={tol}: error {err:.1e}, first call {first:.3g} s")
        if err <= C.TARGET or cand.kind == "floor":  # a floor computes something else
            return (fn, tol, err, first), notes
        if cand.extra.get("timed_above_target") and tol == ladder[-1]:
            # a peer with no tolerance to tighten that misses 1e-8: timed at its own
            # error (the 'error' column shows it) so that the row has its time
            notes.append("timed at its own error (above 1e-8; nothing to tighten)")
            return (fn, tol, err, first), notes
        if first > args.max_call_s:
            notes.append("ladder stopped: call too slow")
            break
    return None, notes


def time_round_robin(calls: dict, args):
    """{name: {"wall": [...], "cpu": [...]}} over rounds, the order rotating."""
    names = list(calls)
    out = {k: {"wall": [], "cpu": []} for k in names}
    steady = {}
    for k in names:  # one steady-state call each, to size the repeats
        t0 = time.perf_counter()
        block(calls[k]())
        steady[k] = time.perf_counter() - t0
    rounds = {
        k: args.rounds
        if steady[k] * args.rounds <= args.max_case_s
        else max(3, int(args.max_case_s // max(steady[k], 1e-9)))
        for k in names
    }
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for k in order:
            if r >= rounds[k]:
                continue
            n = 1 if steady[k] > args.slow_s else args.calls
            for _ in range(n):
                w0, c0 = time.perf_counter(), time.process_time()
                block(calls[k]())
                out[k]["cpu"].append(time.process_time() - c0)
                out[k]["wall"].append(time.perf_counter() - w0)
    return out, rounds


def run_case(rep, name, args, cost):
    case = build(name, args.quick)
    print(f"\n== {name}: {case['desc']}", flush=True)
    load0 = os.getloadavg()
    chosen, rows = {}, {}
    for cname, cand in case["candidates"].items():
        if args.skip_slow_plain and cand.kind == "plain" and cand.side != "jqd" and cand.adaptive:
            rows[cname] = dict(note="skipped (--skip-slow-plain)")
            continue
        found, notes = choose_tolerance(cand, case["error"], args)
        rows[cname] = dict(ladder=notes)
        if found is None:
            rows[cname]["note"] = "did not reach 1e-8: " + "; ".join(notes)
            print(f"  {cname:26s} {rows[cname]['note'][:150]}", flush=True)
            continue
        fn, tol, err, first = found
        chosen[cname] = fn
        rows[cname].update(tol=tol, error=err, first_s=first)
    times, rounds = time_round_robin(chosen, args)
    load1 = os.getloadavg()
    recs = []
    for cname, cand in case["candidates"].items():
        r = dict(
            case=name, impl=cname, side=cand.side, kind=cand.kind, call=cand.what, **rows[cname]
        )
        if cname in times:
            w, c = times[cname]["wall"], times[cname]["cpu"]
            r.update(
                median_s=statistics.median(w),
                cpu_median_s=statistics.median(c),
                min_s=min(w),
                n_calls=len(w),
                rounds=rounds[cname],
                compile_s=max(r["first_s"] - statistics.median(w), 0.0),
            )
            if cand.cost is not None and not args.no_cost:
                try:
                    f, fargs = cand.cost()
                    r.update(cost(f, *fargs))
                except Exception as e:  # noqa: BLE001
                    r["cost_error"] = f"{type(e).__name__}: {str(e)[:100]}"
        r.update(load_before=[round(x, 2) for x in load0], load_after=[round(x, 2) for x in load1])
        recs.append(rep.case(bench="vs_peers", law="SchrodingerBasis", **r))
        if "median_s" in r:
            print(
                f"  {cname:26s} wall {r['median_s'] * 1e3:9.3f} ms  cpu {r['cpu_median_s'] * 1e3:9.3f} ms"
                f"  error {r['error']:.1e}  first {r['first_s']:.3g} s  tol {r['tol']}",
                flush=True,
            )
    summ = summarize(name, case, recs)
    rep.case(bench="vs_peers", impl="summary", **summ)
    return recs, summ


def summarize(name, case, recs):
    timed = [r for r in recs if "median_s" in r]

    def best(side_kind):
        c = [r for r in timed if side_kind(r)]
        return min(c, key=lambda r: r["median_s"]) if c else None

    peer_tuned = best(lambda r: r["side"] != "jqd" and r["kind"] == "tuned")
    peer_plain = best(lambda r: r["side"] != "jqd" and r["kind"] == "plain")
    jp = best(lambda r: r["impl"] == "jqd plain")
    jt = best(lambda r: r["impl"] == "jqd tuned")
    s = dict(case=name, desc=case["desc"])
    for key, r in (
        ("peer_tuned", peer_tuned),
        ("peer_plain", peer_plain),
        ("jqd_plain", jp),
        ("jqd_tuned", jt),
    ):
        if r:
            s[key] = r["impl"]
            s[key + "_s"] = r["median_s"]
            s[key + "_cpu_s"] = r["cpu_median_s"]
    if peer_tuned and jp:
        s["ratio_plain"] = peer_tuned["median_s"] / jp["median_s"]
        s["ratio_plain_cpu"] = peer_tuned["cpu_median_s"] / jp["cpu_median_s"]
    if peer_tuned and jt:
        s["ratio_tuned"] = peer_tuned["median_s"] / jt["median_s"]
        s["ratio_tuned_cpu"] = peer_tuned["cpu_median_s"] / jt["cpu_median_s"]
    if peer_plain and jp:
        s["ratio_plain_vs_peer_plain"] = peer_plain["median_s"] / jp["median_s"]
    return s


def check_cost(rep, args):
    """The plain call with and without its input checks (Kerr d = 64, 201
    saves; BH sector d = 41, 101 saves), alternating: the checks' cost."""
    import jqd

    out = {}
    d, n = (16, 20) if args.quick else (64, 200)
    H, psi = jqd.fock.kerr_hamiltonian(d, 1.0), jqd.fock.coherent_state(3.0 if d == 64 else 1.0, d)
    bh = jqd.fock.BoseHubbard(2, 6 if args.quick else 40)
    Hb, pb = bh.hamiltonian(1.0, 0.1), bh.state((bh.n_particles, 0))
    law = jqd.SchrodingerBasis()
    calls = {}
    for label, (Hm, p, k) in {
        f"kerr-{d}": (H, psi, n),
        f"bh-sector-{bh.dim}": (Hb, pb, n // 2),
    }.items():
        for check in (True, False):
            calls[(label, check)] = lambda Hm=Hm, p=p, k=k, check=check: (
                jqd.evolve(law, p, jqd.MatrixParams(Hm), dt=0.01, n_save=k, check=check).observables
            )
    named = {f"{a} check={c}": f for (a, c), f in calls.items()}
    times, _ = time_round_robin(
        named, argparse.Namespace(**{**vars(args), "calls": max(args.calls, 10)})
    )
    for label in {a for a, _ in calls}:
        on, off = times[f"{label} check=True"], times[f"{label} check=False"]
        rec = {
            "case": label,
            "with_checks_s": statistics.median(on["wall"]),
            "without_checks_s": statistics.median(off["wall"]),
            "with_checks_cpu_s": statistics.median(on["cpu"]),
            "without_checks_cpu_s": statistics.median(off["cpu"]),
        }
        rec["check_cost_s"] = rec["with_checks_s"] - rec["without_checks_s"]
        rec["check_cost_cpu_s"] = rec["with_checks_cpu_s"] - rec["without_checks_cpu_s"]
        out[label] = rep.case(bench="vs_peers", impl="check cost", **rec)
        print(
            f"  checks, {label}: {rec['check_cost_s'] * 1e3:.3f} ms wall, "
            f"{rec['check_cost_cpu_s'] * 1e3:.3f} ms CPU per plain call",
            flush=True,
        )
    return out


def from_json(args):
    """The markdown of a saved run (`--json FILE`), rebuilt without timing."""
    import json
    import types

    import _vs_peers_report as R

    lines = [json.loads(x) for x in Path(args.from_json).read_text().splitlines() if x.strip()]
    header = next(x for x in lines if x.get("kind") == "header")
    threads = next(x for x in lines if x.get("impl") == "threads")
    threads = {k: threads[k] for k in (*THREADS, "XLA_FLAGS")}
    checks = {x["case"]: x for x in lines if x.get("impl") == "check cost"}
    results = []
    for s in (x for x in lines if x.get("impl") == "summary"):
        recs = [x for x in lines if x.get("case") == s["case"] and "side" in x]
        results.append((recs, s))
    rep = types.SimpleNamespace(header=header)
    runs = header["argv"]
    args.rounds = int(runs[runs.index("--rounds") + 1]) if "--rounds" in runs else 7
    args.calls = int(runs[runs.index("--calls") + 1]) if "--calls" in runs else 5
    total = float("nan")
    md = args.md or str(HERE / "results_vs_peers.md")
    Path(md).write_text(
        R.report(rep, results, threads, total, args, checks) + R.kept_sections(Path(md))
    )
    print(f"wrote {md}")
    if args.update_results:
        R.update_results_md(HERE / "RESULTS.md", rep, results, threads, checks)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 2 rounds (seconds)")
    ap.add_argument(
        "--cases",
        nargs="+",
        default=None,
        choices=CASES,
        help="default: all (quick: kerr-64, bh-full-1681, husimi-201x201)",
    )
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 7, quick 2)")
    ap.add_argument("--calls", type=int, default=None, help="calls per round (default 5, quick 1)")
    ap.add_argument("--max-call-s", type=float, default=60.0, help="stop a ladder past this")
    ap.add_argument("--max-case-s", type=float, default=120.0, help="time budget per candidate")
    ap.add_argument("--slow-s", type=float, default=1.0, help="one call per round above this")
    ap.add_argument(
        "--skip-slow-plain",
        action="store_true",
        help="skip the peers' adaptive plain calls (QuTiP adams)",
    )
    ap.add_argument("--no-cost", action="store_true", help="skip XLA's cost analysis")
    ap.add_argument("--json", help="also append the JSON lines to this file")
    ap.add_argument(
        "--md",
        default=None,
        help="write the markdown report here "
        "(default benchmarks/results_vs_peers.md for a full run)",
    )
    ap.add_argument("--from-json", help="rebuild the markdown from a saved --json run (no timing)")
    ap.add_argument(
        "--update-results",
        action="store_true",
        help="replace section 1 of benchmarks/RESULTS.md with this run's summary",
    )
    sys.path.insert(0, str(HERE))
    from _common import add_device_arg

    add_device_arg(ap)
    args = ap.parse_args(argv)
    args.cases = args.cases or (
        ["kerr-64", "bh-full-1681", "husimi-201x201"] if args.quick else CASES
    )
    if args.from_json:
        return from_json(args)
    args.rounds = args.rounds or (2 if args.quick else 7)
    args.calls = args.calls or (1 if args.quick else 5)
    if args.quick:
        args.max_call_s, args.max_case_s = min(args.max_call_s, 10.0), min(args.max_case_s, 10.0)
    for k, v in THREADS.items():
        os.environ.setdefault(k, v)
    if args.device == "cpu" and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_THREADS).strip()
    from _common import Reporter, cost, select_device

    select_device(args.device)
    import jax

    jax.config.update("jax_enable_x64", True)
    import dynamiqs as dq

    dq.set_precision("double")
    rep = Reporter("vs_peers", args.json)
    threads = {k: os.environ.get(k) for k in (*THREADS, "XLA_FLAGS")}
    rep.case(bench="vs_peers", impl="threads", **threads)
    t0 = time.perf_counter()
    print("\n== the plain call's input checks", flush=True)
    checks = check_cost(rep, args)
    results = [run_case(rep, name, args, cost) for name in args.cases]
    total = time.perf_counter() - t0
    import _vs_peers_report as R

    print("\n" + R.summary_table([s for _, s in results]))
    print(f"\ntotal wall time {total:.0f} s")
    full = not args.quick and set(args.cases) == set(CASES)  # a subset would overwrite the rest
    md = args.md or (str(HERE / "results_vs_peers.md") if full else None)
    if md:
        Path(md).write_text(
            R.report(rep, results, threads, total, args, checks) + R.kept_sections(Path(md))
        )
        print(f"wrote {md}")
    if args.update_results:
        R.update_results_md(HERE / "RESULTS.md", rep, results, threads, checks)
    return results


if __name__ == "__main__":
    main()
