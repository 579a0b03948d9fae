"""The shape of the library, kept by tests (issue 10's must-holds).

- time loops live in `jqd/_evolve.py` and `jqd/_steppers.py` only (no other
  `lax.scan`);
- optax is imported only by the fit driver;
- no private JAX internals (`jax._src`);
- no library file over ~400 lines unless it says why in `LONG_FILES`.
"""

import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "jqd"
SOURCES = sorted(PKG.rglob("*.py"))
CODE = {p: "\n".join(line.split("#")[0] for line in p.read_text().splitlines()) for p in SOURCES}

# file (relative to jqd/) -> why it may be longer than MAX_LINES
LONG_FILES: dict[str, str] = {}
MAX_LINES = 420


def _rel(p: Path) -> str:
    return str(p.relative_to(PKG))


def _uses(pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {_rel(p) for p, text in CODE.items() if rx.search(text)}


def test_time_loops_only_in_evolve_and_steppers():
    assert _uses(r"lax\.scan\(") <= {"_evolve.py", "_steppers.py"}


def test_optax_only_in_the_fit_driver():
    assert _uses(r"^\s*(import optax|from optax)") <= {"_fit.py"}


def test_no_private_jax():
    assert not _uses(r"jax\._src")


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_file_length(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES or _rel(path) in LONG_FILES, f"{_rel(path)} has {n} lines"
