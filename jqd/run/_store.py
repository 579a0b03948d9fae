"""Sweep storage: the output-folder lock, the manifest, and the checksummed
chunk and item files (see `jqd.run.sweep` for the folder's layout).

A chunk counts as done only when its npz and its sidecar exist and the
sha256 matches, so a partial or corrupt chunk is recomputed, never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
from pathlib import Path

import numpy as np

from .experiment import dumps
from .results import remove_empty_dirs, write_text_atomic

FORMAT = 1


class SweepLocked(RuntimeError):
    """Another live process is writing the same output folder."""


# -- the lock -----------------------------------------------------------------------
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
    """An exclusive lock on an output folder: `OUT/.lock` holding pid and host.

    A lock left by a dead process on this host (SIGKILL) is stale and taken
    over; a live one makes `acquire` raise `SweepLocked`.
    """

    def __init__(self, out_dir: Path, command: str = "sweep"):
        self.path = Path(out_dir) / ".lock"
        self.command = command  # named in the refusal
        self.held = False

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
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
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            # Unreadable: a writer that died between creating and filling it,
            # or one that is filling it right now (give it a moment).
            try:
                age = time.time() - self.path.stat().st_mtime
            except FileNotFoundError:
                return
            if age < 5:
                time.sleep(0.5)
                return
            self._remove_stale("unreadable")
            return
        if host != socket.gethostname():
            raise SweepLocked(
                f"{self.path.parent} is locked by pid {pid} on host {host}; if that sweep is "
                f"no longer running, delete {self.path} and rerun."
            )
        if pid != os.getpid() and _pid_alive(pid):
            raise SweepLocked(
                f"another jqd {self.command} (pid {pid}) is writing {self.path.parent}; wait for it to "
                f"finish or stop it, or choose another --out."
            )
        self._remove_stale(f"pid {pid} is gone")

    def _remove_stale(self, why: str) -> None:
        try:
            os.remove(self.path)
            print(f"jqd: removed a stale lock on {self.path.parent} ({why}).", flush=True)
        except FileNotFoundError:
            pass

    def release(self) -> None:
        if self.held:
            try:
                info = json.loads(self.path.read_text())
                if int(info.get("pid", -1)) == os.getpid():
                    os.remove(self.path)
            except (OSError, ValueError):
                pass
            self.held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False


# -- chunks -------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunk_paths(chunk_dir: Path, i: int) -> tuple[Path, Path]:
    return chunk_dir / f"chunk_{i:05d}.npz", chunk_dir / f"chunk_{i:05d}.json"


def write_chunk(chunk_dir: Path, i: int, start: int, stop: int, arrays: dict, spec_hash: str):
    """Atomically write chunk `i`: npz (temp + fsync + replace), then its sidecar."""
    npz, meta = _chunk_paths(chunk_dir, i)
    tmp = npz.with_name(f".{npz.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, npz)
    finally:
        if tmp.exists():
            tmp.unlink()
    info = {
        "chunk": i,
        "start": start,
        "stop": stop,
        "spec_hash": spec_hash,
        "sha256": _sha256(npz),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text_atomic(meta, json.dumps(info, indent=1))


def read_chunk(
    chunk_dir: Path,
    i: int,
    start: int,
    stop: int,
    spec_hash: str,
    expected: dict[str, tuple[tuple, str]],
) -> tuple[dict | None, str]:
    """The chunk's arrays if it is complete and intact, else (None, reason)."""
    npz, meta = _chunk_paths(chunk_dir, i)
    if not npz.exists() and not meta.exists():
        return None, "missing"
    if not npz.exists() or not meta.exists():
        return None, "partial (data or checksum file missing)"
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None, "unreadable checksum file"
    if info.get("spec_hash") != spec_hash or (info.get("start"), info.get("stop")) != (start, stop):
        return None, "written by a different sweep"
    if _sha256(npz) != info.get("sha256"):
        return None, "checksum mismatch (corrupt or partial)"
    try:
        with np.load(npz) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any read failure means recompute
        return None, f"unreadable ({type(err).__name__})"
    n = stop - start
    for name, (shape, dtype) in expected.items():
        a = arrays.get(name)
        if a is None or a.shape != (n, *shape) or str(a.dtype) != dtype:
            return None, f"unexpected contents for {name!r}"
    return arrays, "ok"


# -- the manifest: what is being swept, and by which code ---------------------------
def _tree_sha256(root: Path) -> str:
    """sha256 over the python files under `root` (relative paths and contents)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*.py") if "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def code_fingerprint(exp) -> dict:
    """The code a sweep's chunks depend on: jqd's version and the sha256 of its
    sources, and of the experiment's own folder (experiments/<name>/*.py)."""
    import inspect

    import jqd

    source = inspect.getsourcefile(exp.run)
    folder = Path(source).resolve().parent if source else None
    return {
        "jqd_version": jqd.__version__,
        "jqd_source_sha256": _tree_sha256(Path(jqd.__file__).resolve().parent),
        "experiment_source": str(folder.name) if folder else None,
        "experiment_source_sha256": _tree_sha256(folder) if folder else None,
    }


_CODE_NAMES = {
    "jqd_version": "jqd's version",
    "jqd_source_sha256": "jqd's source",
    "experiment_source_sha256": "the experiment's source",
}


def manifest_problem(out_dir: Path, spec_hash: str, code: dict) -> str | None:
    """Why the sweep already in `out_dir` must not be resumed by this one (None: resume)."""
    manifest = Path(out_dir) / "manifest.json"
    if not manifest.exists():
        if any((Path(out_dir) / "chunks").glob("chunk_*")):
            return (
                f"{out_dir} holds sweep chunks but no manifest.json, so what computed them "
                "is unknown"
            )
        return None
    try:
        info = json.loads(manifest.read_text())
        if not isinstance(info, dict) or not isinstance(info.get("spec_hash"), str):
            raise ValueError("not a JSON object with a spec_hash")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        why = "not valid JSON" if isinstance(err, json.JSONDecodeError) else str(err)
        return f"the sweep manifest {manifest} is corrupt ({why})"
    if info["spec_hash"] != spec_hash:
        return f"{out_dir} holds a different sweep (other experiment, config, --over or --batch)"
    old = info.get("code")
    if not isinstance(old, dict):
        return f"{out_dir} holds a sweep whose manifest records no code hash (older jqd)"
    changed = [name for key, name in _CODE_NAMES.items() if old.get(key) != code.get(key)]
    if changed:
        return (
            f"{out_dir} holds chunks computed by other code ({' and '.join(changed)} changed "
            "since they were written)"
        )
    return None


def prepare_folder(out_dir: Path, manifest: dict, code: dict, fresh: bool) -> None:
    """Check what `out_dir` holds (refuse it, or discard it when `fresh`), write the manifest."""
    from .registry import UsageError

    problem = manifest_problem(out_dir, manifest["spec_hash"], code)
    if problem is not None:
        if not fresh:
            raise UsageError(
                f"{problem}; rerun with --fresh to discard it and start afresh, or choose "
                "another --out."
            )
        for d in ("chunks", "items"):
            for p in (out_dir / d).glob("*"):
                p.unlink()
        for name in ("results.nc", "summary.json", "SUMMARY.md"):
            (out_dir / name).unlink(missing_ok=True)
    for d in ("chunks", "items"):
        (out_dir / d).mkdir(exist_ok=True)
        for leftover in (out_dir / d).glob(".*.tmp*"):
            leftover.unlink()  # temp files of an interrupted writer
    for leftover in out_dir.glob(".*.tmp*"):
        leftover.unlink()
    write_text_atomic(out_dir / "manifest.json", dumps({**manifest, "code": code}) + "\n")


@contextlib.contextmanager
def removed_if_unused(out_dir: Path, created: list[Path]):
    """On failure, remove the folder this sweep created if nothing got written in it."""
    try:
        yield
    except BaseException:
        parts = [out_dir / "chunks", out_dir / "items"]
        if created and not any(any(d.glob("*_0*")) for d in parts):
            for p in [out_dir / "manifest.json", *out_dir.glob(".*")]:
                if p.is_file():
                    p.unlink()
            for d in parts:
                for p in d.glob(".*"):
                    p.unlink()
                with contextlib.suppress(OSError):
                    d.rmdir()
            remove_empty_dirs(created)
        raise


# -- per-item records -----------------------------------------------------------------
def _item_path(item_dir: Path, i: int) -> Path:
    return item_dir / f"item_{i:06d}.json"


def read_item(item_dir: Path, i: int, spec_hash: str) -> dict | None:
    """Item `i`'s record if its file is intact and belongs to this sweep."""
    try:
        record = json.loads(_item_path(item_dir, i).read_text())
    except (OSError, ValueError):
        return None
    if record.get("spec_hash") != spec_hash or record.get("index") != i:
        return None
    return record


def write_item(item_dir: Path, i: int, spec_hash: str, record: dict) -> None:
    write_text_atomic(
        _item_path(item_dir, i), dumps({**record, "index": i, "spec_hash": spec_hash})
    )
