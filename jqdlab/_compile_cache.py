"""The persistent compilation cache the `jqd` command switches on (`--no-cache`,
`JQD_NO_CACHE=1` off; `JQD_CACHE_DIR`, `JQD_CACHE_MAX_MB`, `JQD_CACHE_MIN_COMPILE_S`);
why no size limit and no time floor: docs/internals/run.md#compile-cache."""

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
    """Switch JAX's persistent cache on (in `path`, default `cache_dir()`) or off for
    this process; returns the folder, or None when off (`JQD_NO_CACHE=1`, or a folder
    that cannot be created: one line on stderr). Safe to call again."""
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
        # no limit by default: no lock, no rescan per write (internals#compile-cache)
        "jax_compilation_cache_max_size": max_bytes,
        "jax_enable_compilation_cache": True,
    }
    if any(getattr(jax.config, k) != v for k, v in settings.items()):
        for key, value in settings.items():
            jax.config.update(key, value)
        cc.reset_cache()
    return folder
