"""Write benchmarks/RESULTS.md from the records in benchmarks/data/*.jsonl.

    python benchmarks/report.py                 # regenerate RESULTS.md
    python benchmarks/report.py --check         # exit 1 if RESULTS.md is not what the data give
    python benchmarks/report.py --from-vs-peers RUN.jsonl
        # put the rows of a saved `bench_vs_peers.py --json RUN.jsonl` run into
        # data/peers.jsonl (replacing the same cases), then regenerate

RESULTS.md holds the current numbers only, one short table per area; the
dated history is results_log.md and the full tables are the results_*.md
files. Each line of data/AREA.jsonl is one row of AREA's table (file order
is row order), so adding a row is adding one record. Every record has
`area` and `case`; a measured row (`status` "measured", the default) or a
projection (`status` "projection") also needs `date`, `machine`,
`versions`, `load` and `source` (the command and the results file); write
"not recorded" where the run did not record a value. A peer row whose
`ratio` is below 2 needs the measured `reason`. `status` "not measured yet"
marks a row the issues ask for, with no numbers. The area's fields, the
per-area commands and an example record are in data/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "RESULTS.md"

MEASURED = ("date", "machine", "versions", "load", "source")
STATUSES = ("measured", "projection", "not measured yet")
NOT_MEASURED = "not measured yet"
GOAL = 2.0  # issue 16's and 56's goal: jqd's plain call ≥ 2× the fastest tuned peer


class RecordError(ValueError):
    """A record that cannot be a row: names the file, line, case and field."""


# ---------------------------------------------------------------- numbers


def fmt_s(x) -> str:
    """A time as the benchmark scripts print it (`_common.fmt_s`)."""
    if x is None:
        return "not recorded"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def fmt_sig(x) -> str:
    """A time to three figures: 0.174 s, 36.8 ms, 3025 s."""
    if x is None:
        return "–"
    if x >= 1:
        return f"{x:.4g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} µs"


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_rate(x) -> str:
    """1.17·10⁶ for 1.17e6."""
    if x is None:
        return "–"
    mantissa, _, exponent = f"{x:.3g}".partition("e+")
    return f"{mantissa}·10{str(int(exponent)).translate(SUPERSCRIPT)}" if exponent else mantissa


def fmt_x(x) -> str:
    return "–" if x is None else f"{x:.2f}×" if x < 10 else f"{x:.3g}×"


def fmt_gb(x) -> str:
    return "–" if x is None else f"{x:.3g} GB"


# ---------------------------------------------------------------- areas


def _peer_status(r):
    if r.get("ratio") is None:
        return ""
    return "≥ 2×" if r["ratio"] >= GOAL else "below 2×: " + r["reason"]


def _gpu_time(r):
    if r.get("status") == "projection":
        return f"≈ {fmt_sig(r['projected_s'])} (H100 projection)"
    first = r.get("first_s")
    return fmt_sig(r["gpu_s"]) + (f" (first call {fmt_sig(first)})" if first else "")


AREAS = {
    "peers": dict(
        title="Against QuTiP and dynamiqs (CPU)",
        intro=(
            "jqd's plain call (`jqd.evolve` as a user types it) against the fastest *tuned* peer "
            "(jitted dynamiqs, QuTiP's best method and layout), every row at error ≤ 1e-8 against "
            "the exact answer, candidates alternating in one process. Cold first call: the plain "
            "call's first call in a fresh process, compile included. Per-candidate tables: "
            "[results_vs_peers.md](results_vs_peers.md)."
        ),
        required=("jqd_plain_s", "peer_tuned", "peer_tuned_s", "ratio"),
        columns=[
            ("case", lambda r: r["case"]),
            ("size", lambda r: r.get("size", "")),
            ("jqd plain", lambda r: fmt_s(r["jqd_plain_s"])),
            ("jqd cold first call", lambda r: fmt_s(r.get("jqd_first_s"))),
            ("jqd tuned", lambda r: fmt_s(r.get("jqd_tuned_s"))),
            ("fastest tuned peer", lambda r: f"{fmt_s(r['peer_tuned_s'])} ({r['peer_tuned']})"),
            ("peer / jqd plain", lambda r: fmt_x(r["ratio"])),
            ("status", _peer_status),
        ],
        check_ratio=("peer_tuned_s", "jqd_plain_s"),
        goal=True,
    ),
    "ensembles": dict(
        title="Ensembles",
        intro=(
            "Paths (particles, members) per second through `jqd.evolve`, plain and jitted, "
            "against the same algorithm written in NumPy where one was timed, and SDE paths "
            "against diffrax under `vmap`, a hand-written `lax.scan` and pychastic (one core): "
            "[results_nelson.md](results_nelson.md), [results_paths.md](results_paths.md), "
            "[results_copy_process.md](results_copy_process.md)."
        ),
        required=("unit",),
        columns=[
            ("case", lambda r: r["case"]),
            ("size", lambda r: r.get("size", "")),
            ("unit", lambda r: r.get("unit", "")),
            ("jqd plain", lambda r: fmt_rate(r.get("jqd_plain"))),
            ("jqd jitted", lambda r: fmt_rate(r.get("jqd_tuned"))),
            (
                "peer",
                lambda r: (
                    f"{fmt_rate(r['peer_rate'])} ({r['peer']})" if r.get("peer") else "none timed"
                ),
            ),
            ("jqd plain / peer", lambda r: fmt_x(r.get("ratio"))),
        ],
        check_ratio=("jqd_plain", "peer_rate"),
    ),
    "scaling": dict(
        title="Scaling across processes (`jax.distributed`, CPU)",
        intro=(
            "The same work in 1, 2 and 4 localhost processes joined by `jax.distributed` (one "
            "CPU device and one core each): strong scaling (the total fixed, efficiency "
            "T1 / (P·TP)) and weak scaling (the work per process fixed, efficiency T1 / TP). "
            "CPU-time efficiency: the CPU seconds per unit of work of one process over those of "
            "all P together (1: the split added no work). On the 2-core machine 4 processes "
            "share 2 cores, so 0.5 is the ideal efficiency there: "
            "[results_scaling.md](results_scaling.md)."
        ),
        required=("scaling", "processes", "time_s", "efficiency"),
        choices={"scaling": ("strong", "weak")},
        columns=[
            ("case", lambda r: r["case"]),
            ("size", lambda r: r.get("size", "")),
            ("scaling", lambda r: r["scaling"]),
            ("processes", lambda r: str(r["processes"])),
            ("time", lambda r: fmt_sig(r["time_s"])),
            ("rate", lambda r: f"{fmt_rate(r.get('rate'))} {r.get('unit', '')}".strip()),
            ("speed-up", lambda r: fmt_x(r.get("speedup"))),
            ("efficiency", lambda r: f"{r['efficiency']:.2f}"),
            (
                "CPU-time efficiency",
                lambda r: "–" if r.get("cpu_efficiency") is None else f"{r['cpu_efficiency']:.2f}",
            ),
        ],
        check_ratio=("speedup", "processes", "efficiency"),
    ),
    "grids": dict(
        title="Grids: split-step Fourier against SciPy",
        intro=(
            "The same algorithm in SciPy (pocketfft, the same precomputed phases and merged kicks), "
            "CPU time per call, final states equal to ≤ 2e-14: "
            "[results_splitstep.md](results_splitstep.md)."
        ),
        required=("jqd_plain_s", "peer_s", "ratio"),
        columns=[
            ("case", lambda r: r["case"]),
            ("jqd plain", lambda r: fmt_sig(r["jqd_plain_s"])),
            ("jqd jitted", lambda r: fmt_sig(r.get("jqd_tuned_s"))),
            ("SciPy (best)", lambda r: fmt_sig(r["peer_s"])),
            ("SciPy / jqd plain", lambda r: fmt_x(r["ratio"])),
        ],
        check_ratio=("peer_s", "jqd_plain_s"),
    ),
    "gpu": dict(
        title="On a GPU",
        intro=(
            "A standard run (100 steps saved 10 times, plain call) on a lent NVIDIA H200 against "
            "the 2-core CPU's CPU seconds at the CPU's largest size, and H100 projections "
            "(XLA's cost analysis, not a run) marked as such: [results_gpu.md](results_gpu.md)."
        ),
        required=(),
        columns=[
            ("case", lambda r: r["case"]),
            ("size", lambda r: r.get("size", "")),
            ("GPU", _gpu_time),
            ("2-core CPU (CPU s)", lambda r: fmt_sig(r.get("cpu_s"))),
            ("CPU / GPU", lambda r: fmt_x(r.get("speedup"))),
        ],
    ),
    "largest": dict(
        title="Largest runs",
        intro=(
            "The largest run measured per law family on the 2-core CPU: "
            "[results_largest.md](results_largest.md) (the ladder and its extrapolations)."
        ),
        required=(),
        columns=[
            ("family", lambda r: r["case"]),
            ("run", lambda r: r.get("size", "")),
            ("wall", lambda r: fmt_sig(r.get("wall_s"))),
            ("CPU", lambda r: fmt_sig(r.get("cpu_s"))),
            ("peak memory", lambda r: fmt_gb(r.get("peak_gb"))),
        ],
    ),
    "reproduce": dict(
        title="Reproduce and test times",
        intro=(
            "Wall time of the whole quick reproduction and of the test suite: "
            "[results_lean.md](results_lean.md), [results_compile.md](results_compile.md)."
        ),
        required=("wall_s",),
        columns=[
            ("run", lambda r: r["case"]),
            ("what", lambda r: r.get("size", "")),
            ("wall", lambda r: fmt_sig(r["wall_s"])),
            ("result", lambda r: r.get("claims") or "–"),
            (
                "programs",
                lambda r: "not recorded" if r.get("programs") is None else str(r["programs"]),
            ),
        ],
    ),
}


# ---------------------------------------------------------------- records


def validate(rec: dict, where: str = "record") -> dict:
    """Check one record; raise RecordError naming the missing or bad field."""
    for field in ("area", "case"):
        if not rec.get(field):
            raise RecordError(f"{where}: no '{field}' (every record needs area and case)")
    area, case = rec["area"], rec["case"]
    if area not in AREAS:
        raise RecordError(f"{where} ({case}): unknown area {area!r}; one of {', '.join(AREAS)}")
    status = rec.get("status", "measured")
    if status not in STATUSES:
        raise RecordError(f"{where} ({case}): status {status!r}; one of {', '.join(STATUSES)}")
    if status == NOT_MEASURED:
        return rec
    spec = AREAS[area]
    for field in MEASURED:
        if not rec.get(field):
            raise RecordError(
                f"{where} ({case}): no '{field}': a {status} row needs "
                f'{", ".join(MEASURED)} (write "not recorded" where the run did not record it)'
            )
    if status == "projection":
        if rec.get("projected_s") is None:
            raise RecordError(f"{where} ({case}): a projection needs 'projected_s'")
        return rec
    for field in spec["required"]:
        if rec.get(field) is None:
            raise RecordError(f"{where} ({case}): no '{field}' (area {area} needs it)")
    for field, allowed in spec.get("choices", {}).items():
        if rec[field] not in allowed:
            raise RecordError(
                f"{where} ({case}): {field} {rec[field]!r}; one of {', '.join(allowed)}"
            )
    check = spec.get("check_ratio", ())
    ratio = rec.get(check[2] if len(check) > 2 else "ratio")
    if ratio is not None and check and rec.get(check[1]):
        num, den = (rec.get(k) for k in check[:2])
        if num is not None and abs(num / den - ratio) > 0.05 * ratio:
            raise RecordError(
                f"{where} ({case}): '{check[2] if len(check) > 2 else 'ratio'}' {ratio} does "
                f"not match {check[0]} / {check[1]} = {num / den:.3g}"
            )
    if spec.get("goal") and ratio is not None and ratio < GOAL and not rec.get("reason"):
        raise RecordError(
            f"{where} ({case}): ratio {ratio} is below {GOAL:g}× and the record has no "
            "'reason' (the measured reason it stays below)"
        )
    return rec


def load(data: Path = DATA) -> dict[str, list[dict]]:
    """{area: [records in file order]} from data/AREA.jsonl, each validated."""
    out = {}
    for area in AREAS:
        path = data / f"{area}.jsonl"
        rows = []
        if path.exists():
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{i}"
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise RecordError(f"{where}: not JSON ({e})") from None
                if rec.get("area", area) != area:
                    raise RecordError(f"{where}: area {rec['area']!r} in {path.name}")
                rows.append(validate({"area": area, **rec}, where))
        out[area] = rows
    return out


# ---------------------------------------------------------------- markdown


def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


RUN = ("machine", "versions", "source")


def table(area: str, rows: list[dict]) -> list[str]:
    """The area's table with a 'measured' column (date and a run letter),
    then the runs' legend: machine, versions and command once per run, and
    the load there too where all of the run's rows share it (else per row)."""
    spec = AREAS[area]
    cols = spec["columns"]
    measured = [r for r in rows if r.get("status") != NOT_MEASURED]
    runs: dict[tuple, str] = {}
    loads: dict[tuple, set] = {}
    for r in measured:
        key = tuple(r[k] for k in RUN)
        runs.setdefault(key, chr(ord("a") + len(runs)))
        loads.setdefault(key, set()).add(r["load"])
    lines = [
        "| " + " | ".join([t for t, _ in cols] + ["measured"]) + " |",
        "|" + "---|" * (len(cols) + 1),
    ]
    notes = []
    for r in rows:
        status = r.get("status", "measured")
        if status == NOT_MEASURED:
            cells = [r["case"], r.get("size", "")] + [""] * (len(cols) - 2)
            cells[-1] = "**not measured yet**"
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " | – |")
            continue
        key = tuple(r[k] for k in RUN)
        when = r["date"] + ("" if status == "measured" else ", projection")
        if len(loads[key]) > 1:
            when += f", load {r['load']}"
        lines.append(
            "| " + " | ".join(_cell(f(r)) for _, f in cols) + f" | {_cell(when)} ({runs[key]}) |"
        )
        if r.get("note"):
            notes.append(f"{r['case']}: {r['note']}.")
        if r.get("reason") and not spec.get("goal"):
            why = f"Below 2×: {r['reason']}."
            notes += [] if why in notes else [why]
    legend = []
    for key, letter in runs.items():
        machine, versions, source = key
        load = f" Load: {next(iter(loads[key]))}." if len(loads[key]) == 1 else ""
        legend.append(f"({letter}) {machine}; {versions}.{load} {source}.")
    return lines + [""] + [f"- {x}" for x in legend + notes]


def summary(data: dict[str, list[dict]]) -> str:
    """One sentence: how fast, against whom, on what (computed from the rows)."""
    peers = [r for r in data["peers"] if r.get("status", "measured") == "measured"]
    ahead = [r for r in peers if r["ratio"] >= GOAL]
    todo = [r for r in data["peers"] if r.get("status") == NOT_MEASURED]
    issues = sorted({str(r["issue"]) for r in todo if r.get("issue")})
    gpu = [r["speedup"] for r in data["gpu"] if r.get("speedup")]
    text = (
        f"**On 2 CPU cores, jqd's plain call is ≥ 2× the fastest tuned peer (QuTiP, dynamiqs) "
        f"in {len(ahead)} of {len(peers)} measured cases"
    )
    if ahead:
        text += (
            f" ({fmt_x(min(r['ratio'] for r in ahead))} to {fmt_x(max(r['ratio'] for r in ahead))})"
        )
    text += f"; the {len(peers) - len(ahead)} below 2× say why"
    if todo:
        asked = f" (issue {', '.join(issues)})" if issues else ""
        text += f"; {len(todo)} cases asked for{asked} are not measured yet"
    text += "."
    if gpu:
        text += (
            f" On an NVIDIA H200 a standard run is {min(gpu):.3g}× to {max(gpu):.3g}× faster "
            "than the 2-core CPU's CPU seconds."
        )
    return text + "**"


def render(data: dict[str, list[dict]]) -> str:
    out = [
        "# Benchmark results",
        "",
        "<!-- Generated by `python benchmarks/report.py` from benchmarks/data/*.jsonl: "
        "edit the data, then rerun it. -->",
        "",
        summary(data),
        "",
        "Current numbers only: one row per measurement, with its date; the letter points to the "
        "run's machine, versions, load and command under each table. How the numbers came about, "
        "dated: [results_log.md](results_log.md). Records and the command per area: "
        "[data/README.md](data/README.md).",
    ]
    for area, spec in AREAS.items():
        if not data.get(area):
            continue
        out += ["", f"## {spec['title']}", "", spec["intro"], "", *table(area, data[area])]
    out += [
        "",
        "## More",
        "",
        "Full tables per area, with their commands and dated updates: "
        + ", ".join(f"[{p.name}]({p.name})" for p in sorted(HERE.glob("results_*.md"))),
        "",
    ]
    return "\n".join(out)


def write(data_dir: Path = DATA, out: Path = RESULTS) -> str:
    text = render(load(data_dir))
    out.write_text(text)
    return text


# ---------------------------------------------------------------- bench_vs_peers runs


def _sig(x, n=4):
    return None if x is None else float(f"{x:.{n}g}")


def peer_records(header: dict, results: list, existing: dict | None = None) -> list[dict]:
    """Peer rows from a `bench_vs_peers.py` run: `header` its JSON header,
    `results` its [(candidate records, summary)] per case. A case already in
    `existing` ({case: record}) keeps its size."""
    import _vs_peers_report as R

    existing = existing or {}
    m, v = header["machine"], header["versions"]
    out = []
    for recs, s in results:
        if "jqd_plain_s" not in s or "peer_tuned_s" not in s:
            continue
        plain = next((r for r in recs if r.get("impl") == s.get("jqd_plain")), {})
        rec = {
            "area": "peers",
            "case": s["case"],
            "size": existing.get(s["case"], {}).get("size", ""),
            "jqd_plain_s": _sig(s["jqd_plain_s"]),
            "jqd_first_s": _sig(plain.get("first_s")),
            "jqd_tuned_s": _sig(s.get("jqd_tuned_s")),
            "peer_tuned": s["peer_tuned"],
            "peer_tuned_s": _sig(s["peer_tuned_s"]),
            "ratio": _sig(s["ratio_plain"], 3),
            "date": header["time_utc"],
            "machine": f"{m['cpu']}, {m['cores']} cores, device {header['device']}",
            "versions": ", ".join(f"{k} {val}" for k, val in v.items()),
            "load": f"1-min load {m['loadavg_at_start'][0]} at start",
            "source": f"`python {' '.join(header['argv'])}`; `results_vs_peers.md`",
        }
        if rec["ratio"] < GOAL:
            line = R.shortfalls([(recs, s)])
            rec["reason"] = line[0].split(": ", 1)[1] if line else "not recorded"
        out.append(rec)
    return out


def merge(path: Path, records: list[dict]) -> None:
    """Replace the records of the same case in data file `path`; append new ones."""
    old = (
        [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    )
    new = {r["case"]: r for r in records}
    rows = [new.pop(r["case"], r) for r in old] + list(new.values())
    for i, r in enumerate(rows, 1):
        validate(r, f"{path.name}:{i}")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def update_peers(header: dict, results: list, results_md: Path = RESULTS) -> None:
    """Put a `bench_vs_peers.py` run's rows into data/peers.jsonl and regenerate."""
    path = DATA / "peers.jsonl"
    existing = {r["case"]: r for r in load()["peers"]}
    merge(path, peer_records(header, results, existing))
    write(DATA, results_md)
    print(f"wrote {path} and {results_md}")


def from_vs_peers(run: Path) -> None:
    lines = [json.loads(x) for x in run.read_text().splitlines() if x.strip()]
    header = next(x for x in lines if x.get("kind") == "header")
    results = [
        ([x for x in lines if x.get("case") == s["case"] and "side" in x], s)
        for s in lines
        if s.get("impl") == "summary"
    ]
    update_peers(header, results)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if RESULTS.md differs")
    ap.add_argument("--from-vs-peers", type=Path, help="a saved bench_vs_peers.py --json run")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    try:
        if args.from_vs_peers:
            from_vs_peers(args.from_vs_peers)
            return 0
        text = render(load())
    except RecordError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    if args.check:
        if RESULTS.read_text() != text:
            print(
                "RESULTS.md differs from the data: run python benchmarks/report.py", file=sys.stderr
            )
            return 1
        return 0
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
