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
DEFAULT_TIMEOUT = 30.0  # seconds for the job to assemble and for each process to answer
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
    """Run `jqd argv` (a --distributed command) in a child process; its exit code,
    or 2 with a named error when the job has not assembled within `join_timeout()`
    of the child starting to join, or when JAX's runtime aborted the child before
    the processes agreed on the job; 4 when it aborted it later (a peer was lost).
    SIGTERM is passed on; SIGINT from the terminal reaches the child itself."""
    job, timeout = job_env(), join_timeout()
    read, write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "jqd.run.cli", *argv],
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
    agreed = False
    try:
        timed_out = _watch(read, timeout)
        if timed_out:
            child.kill()
        rc = child.wait()
        os.set_blocking(read, False)
        with contextlib.suppress(OSError):  # what it reported after joining
            agreed = b"a" in os.read(read, 64)
    finally:
        os.close(read)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if timed_out or (rc == -signal.SIGABRT and not agreed):
        what = (
            f"waited {timeout:g} s for the others"
            if timed_out
            else "was stopped by JAX's runtime while the job assembled (its message is above)"
        )
        print(
            f"jqd: error: --distributed: the job did not assemble: {_who(job)} {what}. Start "
            "exactly JQD_NUM_PROCESSES processes, each with its own JQD_PROCESS_ID from 0 to "
            "JQD_NUM_PROCESSES-1 and the same JQD_COORDINATOR: a process missing, two with "
            f"the same id or a wrong count stop the job ({TIMEOUT_VAR} sets the wait).",
            file=sys.stderr,
            flush=True,
        )
        return 2
    if rc == -signal.SIGABRT:
        print(
            f"jqd: error: --distributed: JAX's runtime stopped {_who(job)} during the job "
            "(its message is above): another process of the job stopped or became "
            "unreachable, or one more joined with a JQD_PROCESS_ID already in use; see the "
            "other processes' output.",
            file=sys.stderr,
            flush=True,
        )
        return 4
    return rc if rc >= 0 else 128 - rc


def _watch(read: int, timeout: float) -> bool:
    """Follow the child's reports (b"j" joining, b"o" joined) until it has joined or
    exited; True if it has been joining for `timeout` s."""
    deadline = None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([read], [], [], wait)[0]:
            return True
        data = os.read(read, 1)
        if data in (b"", b"o"):
            return False
        if data == b"j":
            deadline = time.monotonic() + timeout


# -- the child: joins the job, then checks that every process runs the same thing ------
def _report(byte: bytes) -> None:
    """Tell the supervising jqd process how joining goes (nothing when unsupervised)."""
    fd = os.environ.get(_REPORT)
    if fd is None:
        return
    try:
        os.write(int(fd), byte)
        if byte == b"a":
            os.close(int(fd))
            del os.environ[_REPORT]  # not inherited by anything this process starts
    except (OSError, ValueError):
        pass


def initialize() -> None:
    """Join the job (before any JAX computation). CPU processes talk through gloo."""
    import jax

    if jax.distributed.is_initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    job, timeout = job_env(), join_timeout()
    # JAX's own limits stay behind the supervisor's, which names the problem
    limits = dict(initialization_timeout=int(timeout) + 30, shutdown_timeout_seconds=int(timeout))
    _report(b"j")
    try:
        jax.distributed.initialize(**(job or {}), **limits)
    except ValueError as err:
        if job is not None:
            raise
        raise UsageError(
            f"--distributed: JAX detected no cluster ({err}); {_HOW}, or run without --distributed."
        ) from None
    _report(b"o")


def agree(spec: dict) -> None:
    """Stop (UsageError naming what differs) unless every process of the job was
    given the same `spec`: command, experiment, config, grid, seed, code... and
    process count. Before any work; a process that does not answer within
    `join_timeout()` stops the others too."""
    import jax

    from .experiment import dumps
    from .sweep import _brief, _differences

    n, me = jax.process_count(), jax.process_index()
    if not jax.distributed.is_initialized():
        return _report(b"a")
    from jax._src.distributed import global_state

    client = global_state.client
    mine = json.loads(dumps({**spec, "processes": n}))
    client.key_value_set(f"jqd/spec/{me}", json.dumps(mine))
    timeout = join_timeout()
    for p in [p for p in range(n) if p != me]:
        try:
            theirs = json.loads(client.blocking_key_value_get(f"jqd/spec/{p}", int(timeout * 1e3)))
        except Exception:  # noqa: BLE001 - JAX's deadline error; the reason is ours to give
            raise UsageError(
                f"--distributed: process {p} did not say what it runs within {timeout:g} s: it "
                "stopped first (see its output) or is still starting "
                f"({TIMEOUT_VAR} sets the wait)."
            ) from None
        differ = [
            f"{k}: {_brief(a)} in process {p}, {_brief(b)} in process {me}"
            for k, a, b in _differences(theirs, mine)
        ]
        if differ:
            raise UsageError(
                f"--distributed: the processes were not given the same job ({'; '.join(differ)}); "
                "run the same command, with the same jqd code and JQD_NUM_PROCESSES, in every "
                "process."
            )
    _report(b"a")
