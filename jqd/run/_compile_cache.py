"""The persistent compilation cache the `jqd` command switches on.

XLA compilation is most of a quick run's time; JAX can keep every compiled
program on disk and load it the next time the same program is compiled, in
any process. `jqd run`, `reproduce`, `sweep` and `fit` enable it; `--no-cache`
or `JQD_NO_CACHE=1` turn it off. Where: `JQD_CACHE_DIR` if set, else
`$XDG_CACHE_HOME/jqd/jax`, else `~/.cache/jqd/jax`, created user-only (0700):
JAX's cache holds executables, so a folder others can write is a way to run
code as you.

No size limit by default. With a limit JAX locks every access and rescans the
whole folder on every write, O(N^2) over a quick reproduce's ~2500 writes
(0.75 s per write at 1000 entries on 2 cores; benchmarks/results_compile.md).
Without one, JAX writes an entry in one call, unlocked, which is safe for
results: an entry is a checksummed compressed stream, so a reader racing a
writer (or a truncated entry left by a killed writer) fails to decompress and
JAX warns and compiles the program itself; two writers of one entry write the
same program. tests/test_compile_cache.py checks two concurrent processes and
a later cache load bit for bit. `JQD_CACHE_MAX_MB=N` sets JAX's limit (LRU
eviction, locked access, slower writes).

Every program is written, however fast it compiled (JAX's default floor is
1 s; `JQD_CACHE_MIN_COMPILE_S` sets another): most of a quick reproduce's
~2400 programs are small eager ops, and with no floor the warm run took 64 %
of the cold one (73 % with a 0.05 s floor). Tracing and lowering (Python)
are not cached: a warm run still spends that part of `compile_time_s`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def cache_dir() -> Path:
    """`JQD_CACHE_DIR`, else `$XDG_CACHE_HOME/jqd/jax`, else `~/.cache/jqd/jax`."""
    env = os.environ.get("JQD_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "jqd" / "jax"


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number; unset it or give e.g. 100.") from None
    if not value >= 0:
        raise ValueError(f"{name}={text!r} must be >= 0.")
    return value


def configure(enabled: bool = True, path: str | Path | None = None) -> Path | None:
    """Switch JAX's persistent compilation cache on (in `path`, default
    `cache_dir()`) or off, for this whole process; returns the folder used,
    or None when off.

    `JQD_NO_CACHE=1` turns it off whatever `enabled` says. A folder that
    cannot be created leaves the cache off with one line on stderr. Safe to
    call again with other settings (JAX's cache object is reset).
    """
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    if not enabled or os.environ.get("JQD_NO_CACHE", "").strip().lower() in _TRUE:
        if jax.config.jax_compilation_cache_dir is not None:
            jax.config.update("jax_compilation_cache_dir", None)
            cc.reset_cache()
        return None
    folder = Path(path).expanduser() if path is not None else cache_dir()
    min_s = _env_number("JQD_CACHE_MIN_COMPILE_S", 0.0)
    max_mb = _env_number("JQD_CACHE_MAX_MB", -1.0)
    max_bytes = -1 if max_mb < 0 else max(int(max_mb * 2**20), 1)  # -1: no limit, no lock
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        print(
            f"jqd: compilation cache off: cannot create {folder} ({err.strerror or err}); "
            "set JQD_CACHE_DIR to a writable folder or pass --no-cache.",
            file=sys.stderr,
        )
        return None
    if max_bytes > 0:
        try:
            import filelock  # noqa: F401  (JAX locks a size-limited folder with it)
        except ImportError:
            raise ValueError(
                "JQD_CACHE_MAX_MB needs the filelock package (pip install filelock)."
            ) from None
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": min_s,
        "jax_persistent_cache_min_entry_size_bytes": -1,  # no size floor
        # no limit by default: no lock, no rescan per write (module docstring)
        "jax_compilation_cache_max_size": max_bytes,
        "jax_enable_compilation_cache": True,
    }
    if any(getattr(jax.config, k) != v for k, v in settings.items()):
        for key, value in settings.items():
            jax.config.update(key, value)
        cc.reset_cache()
    return folder
