"""Output folders: atomic writes, the lock a writing command holds on its --out
(`OutputLock`), and the key of what made a result that a later run may reuse
(`reuse_problem`: a sweep's manifest, an experiment's checkpoint folder), so
that nothing is reused that other settings or other code made.
docs/internals/run.md#sweeps.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
from pathlib import Path

from .distributed import _barrier, _is_writer, _processes
from .experiment import _brief, _differences, config_to_dict, dumps
from .registry import UsageError


@contextlib.contextmanager
def atomic(path: Path):
    """A temporary file beside `path` that replaces it once written (dropped on failure)."""
    tmp = Path(path).with_name(f".{Path(path).name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic(path) as tmp:
        tmp.write_text(text)


def savez_atomic(path: Path, **arrays) -> None:
    """`np.savez(path, **arrays)` through `atomic`, synced before the replace: a
    process killed mid-write (a session's end, a cluster's preemption) leaves
    the previous file whole, so a checkpoint never turns unreadable."""
    import numpy as np

    with atomic(path) as tmp, open(tmp, "wb") as f:  # a file object: no ".npz" appended
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


class SweepLocked(RuntimeError):
    """Another live process is writing the same output folder."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) holds nothing
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class OutputLock:
    """An exclusive lock on an output folder: `OUT/.lock` holding pid and host. A lock
    left by a dead process on this host is stale and taken over; a live one makes
    `acquire` raise `SweepLocked`."""

    def __init__(self, out_dir: Path, command: str = "sweep"):
        self.path = Path(out_dir) / ".lock"
        self.command = command  # named in the refusal
        self.held = False

    def acquire(self) -> None:
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": self.command,
        }
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._check_existing()
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return
        raise SweepLocked(
            f"could not take the lock {self.path}; another jqd {self.command} keeps taking it."
        )

    def _check_existing(self) -> None:
        try:
            info = json.loads(self.path.read_text())
            pid, host = int(info["pid"]), info["host"]
            holder = str(info.get("command", self.command))  # older locks: no command
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            # unreadable: a writer that died between creating and filling it, or one
            # filling it right now (give it a moment)
            with contextlib.suppress(FileNotFoundError):
                if time.time() - self.path.stat().st_mtime < 5:
                    time.sleep(0.5)
                else:
                    self._remove_stale("unreadable")
            return
        if host != socket.gethostname():
            raise SweepLocked(
                f"{self.path.parent} is locked by a jqd {holder} (pid {pid}) on host {host}; if "
                f"it is no longer running, delete {self.path} and rerun."
            )
        if pid != os.getpid() and _pid_alive(pid):
            raise SweepLocked(
                f"another jqd {holder} (pid {pid}) is writing {self.path.parent}; wait for it to "
                f"finish or stop it, or choose another --out."
            )
        self._remove_stale(f"pid {pid} is gone")

    def _remove_stale(self, why: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
            print(f"jqd: removed a stale lock on {self.path.parent} ({why}).", flush=True)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        if self.held:
            with contextlib.suppress(OSError, ValueError):
                if int(json.loads(self.path.read_text()).get("pid", -1)) == os.getpid():
                    os.remove(self.path)
            self.held = False
        return False


# -- keys: what made a result -------------------------------------------------------
def _tree_sha256(root: Path) -> str:
    """sha256 over the python files under `root` (relative paths and contents)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*.py") if "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def code_fingerprint(exp) -> dict:
    """The code a sweep's chunks depend on: jqd's version and the sha256 of its
    sources and of the lab's, and of the experiment's own folder
    (experiments/<name>/*.py)."""
    import inspect

    import jqd

    source = inspect.getsourcefile(exp.run)
    folder = Path(source).resolve().parent if source else None
    return {
        "jqd_version": jqd.__version__,
        "jqd_source_sha256": _tree_sha256(Path(jqd.__file__).resolve().parent),
        "jqdlab_source_sha256": _tree_sha256(Path(__file__).resolve().parent),
        "experiment_source": str(folder.name) if folder else None,
        "experiment_source_sha256": _tree_sha256(folder) if folder else None,
    }


_CODE_NAMES = {
    "jqd_version": "jqd's version",
    "jqd_source_sha256": "jqd's source",
    "experiment_source_sha256": "the experiment's source",
}


def reuse_problem(record: Path, key: dict, kind: str, items: str) -> str | None:
    """Why the results beside `record` (a JSON file holding the key of everything
    that made them: settings and `code_fingerprint`) must not be reused by a run
    keyed by `key` (None: reuse them). `kind` and `items` name them in the reason
    ("sweep", "chunks"); the differing settings are named one by one."""
    folder = record.parent
    try:
        info = json.loads(record.read_text())
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        why = "not valid JSON" if isinstance(err, json.JSONDecodeError) else str(err)
        return f"{record} is corrupt ({why})"
    settings = json.loads(dumps({k: v for k, v in key.items() if k != "code"}))
    changed = _differences({k: info.get(k) for k in settings}, settings)
    if changed:
        named = [f"{k}: {_brief(a)} there, {_brief(b)} now" for k, a, b in changed]
        return f"{folder} holds a different {kind} ({'; '.join(named)})"
    old = info.get("code")
    if not isinstance(old, dict):
        return f"{folder} holds a {kind} whose {record.name} records no code hash (older jqd)"
    code = key.get("code", {})
    changed = [name for k, name in _CODE_NAMES.items() if old.get(k) != code.get(k)]
    if changed:
        return (
            f"{folder} holds {items} computed by other code ({' and '.join(changed)} changed "
            "since they were written)"
        )
    return None


# -- an experiment's own checkpoint folder (a `checkpoint` config field) ---------------
CHECKPOINT_RECORD = "jqd-checkpoint.json"


def checkpoint_folder(config) -> Path | None:
    """The folder a config's `checkpoint` field names (None: no such field, or "")."""
    folder = getattr(config, "checkpoint", None)
    return Path(folder) if isinstance(folder, str) and folder else None


def checkpoint_view(config) -> str | None:
    """What this process sees in the checkpoint folder (files, bytes, a digest of their
    names and sizes): the processes of a --distributed run must see the same."""
    folder = checkpoint_folder(config)
    if folder is None:
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    listing = [(str(p.relative_to(folder)), p.stat().st_size) for p in files]
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:12]
    return f"{len(files)} files, {sum(n for _, n in listing)} bytes (digest {digest})"


def prepare_checkpoint(exp, config, seed: int, fresh: bool = False) -> None:
    """Before a run resumes from the folder its config's `checkpoint` names: refuse
    (or, `fresh`, empty) a folder written by a run with another key, then record
    this run's key there (process 0). The key is everything a checkpoint's
    contents depend on: the experiment, its config (but the folder itself), the
    seed, the process count and the code (`code_fingerprint`)."""
    folder = checkpoint_folder(config)
    if folder is None:
        return
    config_key = {k: v for k, v in config_to_dict(config).items() if k != "checkpoint"}
    key = {
        "experiment": exp.name,
        "config": config_key,
        "seed": int(seed),
        "processes": _processes()[0],
        "code": code_fingerprint(exp),
    }
    record = folder / CHECKPOINT_RECORD
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"checkpoint={folder} is a file, not a folder; give a folder path.")
    held = [p for p in folder.iterdir() if p.name != ".lock"] if folder.is_dir() else []
    if record.exists():
        problem = reuse_problem(record, key, "checkpoint", "checkpoints")
    elif held:
        problem = (
            f"{folder} holds files but no {CHECKPOINT_RECORD}, so what wrote them is unknown "
            "(a checkpoint of an older jqd, or not a checkpoint folder)"
        )
    else:
        problem = None
    _barrier("jqd-checkpoint-read")  # every process has looked before process 0 writes
    if problem is not None and not fresh:
        raise UsageError(
            f"checkpoint={folder}: {problem}; rerun with --fresh to discard what it holds "
            "and start afresh, or give another folder (--set checkpoint=NEW)."
        )
    if _is_writer():
        for p in held if problem is not None else ():
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(record, dumps(key) + "\n")
        except OSError as err:
            raise UsageError(
                f"checkpoint={folder}: cannot write it ({err.strerror or err}); give a "
                "writable folder."
            ) from None
    _barrier("jqd-checkpoint-written")
