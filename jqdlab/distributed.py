"""`--distributed`: one jqd command across several processes with `jax.distributed`.

The processes find each other through JQD_COORDINATOR (process 0's host:port),
JQD_NUM_PROCESSES and JQD_PROCESS_ID, all three or none (JAX's cluster
detection). JAX's runtime waits 300 s for a missing process and then aborts
the process from a thread of its own, and a process joining with an id
already in use aborts the others, so the `jqd` process runs the command in a
child (`supervise`) that reports when it starts joining, when it has joined
and when every process has agreed on the job (`agree`: what each was asked
to run, compared before any work): a job that has not assembled within
JQD_DISTRIBUTED_TIMEOUT seconds is stopped, and an abort still ends in one
`jqd: error:` line and an exit code. docs/internals/run.md#sweeps.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import time

from .registry import UsageError

JOB_VARS = ("JQD_COORDINATOR", "JQD_NUM_PROCESSES", "JQD_PROCESS_ID")
TIMEOUT_VAR = "JQD_DISTRIBUTED_TIMEOUT"
DEFAULT_TIMEOUT = 30.0  # seconds for the job to assemble (and for JAX's shutdown barrier)
_REPORT = "_JQD_JOB_REPORT_FD"  # set in the supervised child: its pipe to the parent
_HOW = (
    "set JQD_COORDINATOR=host:port (process 0's host and a free port), JQD_NUM_PROCESSES=N "
    "and JQD_PROCESS_ID=0..N-1 (its own in each process) in every process"
)


def job_env() -> dict | None:
    """The JQD_* job variables, checked; None when none is set (JAX detects the cluster)."""
    given = {k: os.environ.get(k, "").strip() for k in JOB_VARS}
    have = [k for k, v in given.items() if v]
    if not have:
        return None
    if len(have) < len(JOB_VARS):
        missing = [k for k in JOB_VARS if k not in have]
        raise UsageError(
            f"--distributed: {' and '.join(have)} set but not {' and '.join(missing)}; "
            f"{_HOW}, or none of them to let JAX detect the cluster (SLURM, Open MPI, ...)."
        )
    numbers = {}
    for k in ("JQD_NUM_PROCESSES", "JQD_PROCESS_ID"):
        try:
            numbers[k] = int(given[k])
        except ValueError:
            raise UsageError(
                f"--distributed: {k}={given[k]!r} is not an integer; {_HOW}."
            ) from None
    n, me = numbers["JQD_NUM_PROCESSES"], numbers["JQD_PROCESS_ID"]
    if n < 1:
        raise UsageError(f"--distributed: JQD_NUM_PROCESSES={n} must be >= 1; {_HOW}.")
    if not 0 <= me < n:
        raise UsageError(
            f"--distributed: JQD_PROCESS_ID={me} is outside 0..{n - 1} (JQD_NUM_PROCESSES={n}); "
            f"give each of the {n} processes its own id from 0 to {n - 1}."
        )
    host, _, port = given["JQD_COORDINATOR"].rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--distributed: JQD_COORDINATOR={given['JQD_COORDINATOR']!r} is not host:port; set "
            "it to process 0's host and a free port in every process, e.g. 127.0.0.1:12355."
        )
    return {"coordinator_address": given["JQD_COORDINATOR"], "num_processes": n, "process_id": me}


def join_timeout() -> float:
    """Seconds the job may take to assemble, and a process to answer (JQD_DISTRIBUTED_TIMEOUT)."""
    text = os.environ.get(TIMEOUT_VAR, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(
            f"{TIMEOUT_VAR}={text!r} must be a number of seconds > 0; unset it for "
            f"{DEFAULT_TIMEOUT:g} s."
        )
    return seconds


def _who(job: dict | None) -> str:
    if job is None:
        return "this process (placed by JAX's cluster detection)"
    return (
        f"this process (JQD_PROCESS_ID={job['process_id']} of JQD_NUM_PROCESSES="
        f"{job['num_processes']}, JQD_COORDINATOR={job['coordinator_address']})"
    )


# -- the jqd process: runs the command in a child and watches it join -----------------
def supervise(argv: list[str]) -> int:
    """Run `jqd argv` (a --distributed command) in a child process and return its
    exit code. The child reports on a pipe: b"j" joining, b"o" joined, b"a" the
    processes agreed on the job, b"x" and its exit code once its command has
    ended. A child still joining after `join_timeout()` s is killed (exit 2); one
    that JAX's runtime aborts (SIGABRT) ends with a named error: exit 2 before
    the processes agreed, 4 after (a peer was lost), or the code its command
    had already reported (JAX aborts a process whose peers do not meet it at
    its exit). SIGTERM is passed on; SIGINT from the terminal reaches the child
    itself."""
    job, timeout = job_env(), join_timeout()
    read, write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "jqdlab.cli", *argv],
        env={**os.environ, _REPORT: str(write)},
        pass_fds=(write,),
    )
    os.close(write)

    def forward(signum, frame):
        if child.poll() is None:
            child.send_signal(signum)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
    }
    try:
        reports = _watch(read, timeout)
        killed = reports.endswith(b"j")  # still joining after `timeout` s
        if killed:
            child.kill()
        rc = child.wait()
        os.set_blocking(read, False)
        with contextlib.suppress(OSError):
            reports += os.read(read, 64)
    finally:
        os.close(read)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if b"x" in reports:  # its command ended with this code; what came after is JAX's
        return reports[reports.index(b"x") + 1]
    if not killed and rc != -signal.SIGABRT:
        return rc if rc >= 0 else 128 - rc
    if b"o" not in reports:
        what = (
            f"waited {timeout:g} s for the others"
            if killed
            else "was stopped by JAX's runtime while joining (its message is above)"
        )
        _say(
            f"the job did not assemble: {_who(job)} {what}. Start exactly JQD_NUM_PROCESSES "
            "processes, each with its own JQD_PROCESS_ID from 0 to JQD_NUM_PROCESSES-1 and "
            "the same JQD_COORDINATOR: a process missing, two with the same id or a wrong "
            f"count stop the job ({TIMEOUT_VAR} sets the wait)."
        )
        return 2
    when = "during the job" if b"a" in reports else "before the processes compared their jobs"
    _say(
        f"JAX's runtime stopped {_who(job)} {when} (its message is above): another process "
        "of the job stopped (see its output) or became unreachable, or one more joined "
        "with a JQD_PROCESS_ID already in use."
    )
    return 4 if b"a" in reports else 2


def _say(text: str) -> None:
    print(f"jqd: error: --distributed: {text}", file=sys.stderr, flush=True)


def _watch(read: int, timeout: float) -> bytes:
    """The child's reports until it has joined (b"o"), has exited, or has been
    joining (b"j") for `timeout` s."""
    reports, deadline = b"", None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([read], [], [], wait)[0]:
            return reports
        data = os.read(read, 1)
        reports += data
        if data in (b"", b"o"):
            return reports
        if data == b"j":
            deadline = time.monotonic() + timeout


# -- the child: joins the job, then checks that every process runs the same thing ------
def report(what: bytes) -> None:
    """Tell the supervising jqd process how the job goes (nothing when unsupervised)."""
    fd = os.environ.get(_REPORT)
    with contextlib.suppress(OSError, ValueError):
        if fd is not None:
            os.write(int(fd), what)


def initialize() -> None:
    """Join the job (before any JAX computation). CPU processes talk through gloo."""
    import jax

    if jax.distributed.is_initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    job, timeout = job_env(), join_timeout()
    # JAX's own limits stay behind the supervisor's, which names the problem
    limits = dict(initialization_timeout=int(timeout) + 30, shutdown_timeout_seconds=int(timeout))
    report(b"j")
    try:
        jax.distributed.initialize(**(job or {}), **limits)
    except ValueError as err:
        if job is not None:
            raise
        raise UsageError(
            f"--distributed: JAX detected no cluster ({err}); {_HOW}, or run without --distributed."
        ) from None
    report(b"o")


def agree(spec: dict) -> None:
    """Stop (UsageError naming what differs) unless every process of the job was
    given the same `spec`: command, experiment, config, grid, seed, code... and
    process count. Before any work: every process gathers every process's spec."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils

    from .experiment import _brief, _differences, dumps

    n, me = jax.process_count(), jax.process_index()
    mine = json.loads(dumps({**spec, "processes": n}))
    if n > 1:
        blob = np.frombuffer(json.dumps(mine).encode(), np.uint8)
        try:
            sizes = multihost_utils.process_allgather(np.array([blob.size]))[:, 0]
            padded = np.zeros(int(sizes.max()), np.uint8)
            padded[: blob.size] = blob
            blobs = multihost_utils.process_allgather(padded)
        except Exception as err:  # noqa: BLE001 - a collective without a process
            raise UsageError(
                "--distributed: a process of the job stopped before the processes compared "
                f"what they were given (see its output) ({type(err).__name__})."
            ) from None
        for p in range(n):
            theirs = json.loads(bytes(blobs[p, : int(sizes[p])]).decode())
            differ = [
                f"{k}: {_brief(a)} in process {p}, {_brief(b)} in process {me}"
                for k, a, b in _differences(theirs, mine)
            ]
            if differ:
                raise UsageError(
                    "--distributed: the processes were not given the same job "
                    f"({'; '.join(differ)}); run the same command, with the same jqd code, "
                    "in every process."
                )
    report(b"a")


# -- the job's processes; no-ops with one ------------------------------------------
def _processes() -> tuple[int, int]:
    """(process count, this process's index)."""
    import jax

    return jax.process_count(), jax.process_index()


def _is_writer() -> bool:
    """Only process 0 writes the folder's shared files."""
    return _processes()[1] == 0


def _barrier(name: str) -> None:
    if _processes()[0] > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
