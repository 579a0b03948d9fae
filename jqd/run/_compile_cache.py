"""The persistent compilation cache the `jqd` command switches on.

XLA compilation is most of a quick run's time (the issue measured 82% of
`jqd reproduce --quick`); JAX can keep every compiled program on disk and
load it the next time the same program (same jaxpr, shapes, options, jax
version and device) is compiled, in any process. `jqd run`, `reproduce`,
`sweep` and `fit` enable it; `--no-cache` or `JQD_NO_CACHE=1` turn it off.

Where: `JQD_CACHE_DIR` if set, else `$XDG_CACHE_HOME/jqd/jax`, else
`~/.cache/jqd/jax`. The folder is created user-only (0700): JAX's cache
holds executables, so a folder others can write is a way to run code as you.

Concurrency. Without a size limit JAX writes an entry with a plain
`write_bytes` and no lock (`LRUCache.put` in JAX's `lru_cache` module), so a process
reading while another writes the same entry can see a truncated file (a
warning and a recompile at best). jqd always sets a size limit
(`jax_compilation_cache_max_size`, default 4 GiB, `JQD_CACHE_MAX_MB` to
change it): JAX then takes a `filelock.FileLock` on `<dir>/.lockfile` around
every read and write and evicts the least recently used entries beyond the
limit, so `jqd reproduce --jobs 2` and pytest-xdist workers can share one
folder (tests/test_compile_cache.py compiles one program in two processes
into a fresh folder at once).

Only programs whose XLA compile took at least
`jax_persistent_cache_min_compile_time_secs` are written (JAX's default is
1 s; jqd uses 0.05 s, `JQD_CACHE_MIN_COMPILE_S` to change it: below that,
loading an entry saves less than it costs to write and list). The cache
changes no result: a cached executable is the program XLA compiled
(tests/test_compile_cache.py checks an experiment's claims bit for bit).

Tracing and lowering (Python) are not cached by JAX: a warm run still
spends that part of `compile_time_s`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MIN_COMPILE_S = 0.05
MAX_BYTES = 4 * 2**30

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
    try:
        import filelock  # noqa: F401  (JAX locks the cache folder with it)
    except ImportError:
        print(
            "jqd: compilation cache off: the filelock package is missing (pip install filelock).",
            file=sys.stderr,
        )
        return None
    folder = Path(path).expanduser() if path is not None else cache_dir()
    min_s = _env_number("JQD_CACHE_MIN_COMPILE_S", MIN_COMPILE_S)
    max_bytes = int(_env_number("JQD_CACHE_MAX_MB", MAX_BYTES / 2**20) * 2**20)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        print(
            f"jqd: compilation cache off: cannot create {folder} ({err.strerror or err}); "
            "set JQD_CACHE_DIR to a writable folder or pass --no-cache.",
            file=sys.stderr,
        )
        return None
    settings = {
        "jax_compilation_cache_dir": str(folder),
        "jax_persistent_cache_min_compile_time_secs": min_s,
        "jax_persistent_cache_min_entry_size_bytes": -1,  # no size floor
        # a limit makes JAX lock each read and write (see the module docstring)
        "jax_compilation_cache_max_size": max(max_bytes, 1),
        "jax_enable_compilation_cache": True,
    }
    if any(getattr(jax.config, k) != v for k, v in settings.items()):
        for key, value in settings.items():
            jax.config.update(key, value)
        cc.reset_cache()
    return folder
