"""Issue 27's rough edges (cli): bad inputs that once gave a silent answer or an
unclear error. Each `BadCase` must come out "named"."""

from __future__ import annotations

import os
import tempfile
from unittest import mock

from adversarial.battery import BadCase, _cli


def _with_env(run, **env: str):
    """`run` with the environment variables `env` set (JQD_NO_CACHE unset, the
    cache in a fresh folder), restored afterwards."""

    def wrapped():
        with mock.patch.dict(os.environ, {"JQD_CACHE_DIR": tempfile.mkdtemp(), **env}):
            os.environ.pop("JQD_NO_CACHE", None)  # (patch.dict restores it)
            return run()

    return wrapped


def cases() -> list[BadCase]:
    run = _cli(["run", "kerr-revival", "--quick", "--set", "n_save=5", "--out", "{out}"])
    # a malformed cache setting was a 12-line traceback and exit 1 (the claim-failure code)
    bad_env = [
        ("JQD_CACHE_MAX_MB", "abc", "not a number"),
        ("JQD_CACHE_MIN_COMPILE_S", "-1", "negative"),
    ]
    # run lengths that would take weeks: refused up front (the law budget, and
    # copy-coalescence's own estimate of its thinning candidates)
    long_runs = [
        ("thermal-equipartition", "t_max=1e9", ("t_max", "n_save", "steps_per_save")),
        ("copy-coalescence", "t_end=1e9", ("t_end",)),
    ]
    return [
        BadCase(
            f"cli/{exp}/{setting}",
            "core",
            "hang",
            _cli(["run", exp, "--quick", "--set", setting, "--out", "{out}"]),
            names,
            exp,
            f"--set {setting}",
        )
        for exp, setting, names in long_runs
    ] + [
        BadCase(
            f"cli/env/{name}={value}",
            "core",
            "cli",
            _with_env(run, **{name: value}),
            (name,),
            "kerr-revival",
            f"{name}={value} ({what})",
        )
        for name, value, what in bad_env
    ]
