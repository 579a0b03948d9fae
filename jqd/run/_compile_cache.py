"""The persistent compilation cache the `jqd` command switches on.

XLA compilation is most of a quick run's time (the issue measured 82% of
`jqd reproduce --quick`); JAX can keep every compiled program on disk and
load it the next time the same program (same jaxpr, shapes, options, jax
version and device) is compiled, in any process. `jqd run`, `reproduce`,
`sweep` and `fit` enable it; `--no-cache` or `JQD_NO_CACHE=1` turn it off.

Where: `JQD_CACHE_DIR` if set, else `$XDG_CACHE_HOME/jqd/jax`, else
`~/.cache/jqd/jax`. The folder is created user-only (0700): JAX's cache
holds executables, so a folder others can write is a way to run code as you.

Concurrency. `jqd reproduce --jobs 2` and several `jqd` processes share
the folder. JAX writes an entry without a lock when no size limit is set
(`LRUCache.put` in JAX's `lru_cache` module: `exists()`, then one
`write_bytes`; reads: `exists()`, then `read_bytes`), and with a limit it
takes a `filelock` around every read and write but also rescans the whole
folder (a stat and a read per entry) on every write, so that a quick
reproduce's ~2500 writes cost O(N^2) (measured: 47 ms per write at 100
entries, 0.75 s at 1000, on this loaded 2-core machine; the cold run of the
first eight experiments took 1.3-2x longer). jqd therefore sets no limit by
default, which is safe for results:
- each entry is a compressed stream of the serialized executable (zlib,
  with its Adler-32 checksum; zstd if installed); a reader that races a
  writer sees a truncated stream, which the decompressor rejects: JAX warns
  ("Error reading persistent compilation cache entry") and compiles the
  program itself;
- two writers of one entry write the same program (XLA's compile is
  deterministic) in one call each: the file holds that complete stream
  (and zlib ignores a tail after the end of a stream), never a wrong program;
- a process killed in the middle of a write can leave a truncated entry:
  every later run then warns and compiles that program; delete the folder.
tests/test_compile_cache.py compiles one program in two processes into a
fresh folder at once and checks both results and a later cache load bit for
bit. `JQD_CACHE_MAX_MB=N` sets JAX's limit (LRU eviction, locked access,
slower writes) for those who need the folder bounded.

Every program is written, however fast it compiled
(`jax_persistent_cache_min_compile_time_secs` = 0; JAX's default is 1 s,
`JQD_CACHE_MIN_COMPILE_S` sets another floor). Measured on 2 idle cores
(benchmarks/results_compile.md): a quick reproduce compiles ~2400 programs,
most of them small eager ops taking 0.01-0.05 s each; with a 0.05 s floor
318 were written and the warm run took 73 % of the cold one, with no floor
1810 (13.5 MiB) and 64 %, the cold run no slower (222 vs 232 s). The cache
changes no result: a cached executable is the program XLA compiled
(tests/test_compile_cache.py checks an experiment's claims bit for bit).

Tracing and lowering (Python) are not cached by JAX: a warm run still
spends that part of `compile_time_s`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MIN_COMPILE_S = 0.0

_TRUE = {"1", "true", "yes", "on"}


def disabled_by_env() -> bool:
    """Whether `JQD_NO_CACHE` asks for no cache (1, true, yes, on)."""
    return os.environ.get("JQD_NO_CACHE", "").strip().lower() in _TRUE


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

    if not enabled or disabled_by_env():
        if jax.config.jax_compilation_cache_dir is not None:
            jax.config.update("jax_compilation_cache_dir", None)
            cc.reset_cache()
        return None
    folder = Path(path).expanduser() if path is not None else cache_dir()
    min_s = _env_number("JQD_CACHE_MIN_COMPILE_S", MIN_COMPILE_S)
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
