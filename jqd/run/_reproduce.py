"""`jqd reproduce`'s worker: one experiment in its own process (`jqd.run.cli`)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from ._progress import PREFIX


def reproduce_one(name: str, out: Path, args) -> dict:
    """Run one experiment in its own process: a crash or hang cannot take the
    others down. Its progress lines (`jqd> `) are forwarded to stderr as they come."""
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
    if name in getattr(args, "animated", ()):  # --animate, for those that have one
        cmd.append("--animate")
    if getattr(args, "no_cache", False):
        cmd.append("--no-cache")
    t1 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        proc.kill()

    timer = threading.Timer(args.timeout, kill)
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(proc.stdout), daemon=True)
    timer.start()
    reader.start()
    stderr = []
    try:
        for line in proc.stderr:
            stderr.append(line)
            if line.startswith(PREFIX):
                print(line, end="", file=sys.stderr, flush=True)
        rc = proc.wait()
        reader.join()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = "".join(stdout) + "".join(stderr)
    if timed_out.is_set():
        log, rc = log + f"\ntimed out after {args.timeout:g} s", None
    (exp_out / "log.txt").write_text(log)
    if rc in (0, 1) and summary_path.exists():
        entry = {"name": name, "summary": json.loads(summary_path.read_text())}
        s = entry["summary"]
        status = "all claims pass" if s["passed"] else "CLAIM FAILED"
        hits = f", {s['n_cache_hits']} from the cache" if s.get("n_cache_hits") else ""
        status += f" (compile {s['compile_time_s']:.1f} s, {s['n_compilations']} programs{hits})"
    else:
        tail = [ln for ln in log.strip().splitlines() if ln.strip()][-1:] or ["no output"]
        why = "timed out" if rc is None else f"exit code {rc}"
        entry = {"name": name, "error": f"{why}: {tail[0]} (see {name}/log.txt)"}
        status = f"ERROR ({why})"
    print(f"  {name}: {status} in {time.perf_counter() - t1:.1f} s", flush=True)
    return entry
