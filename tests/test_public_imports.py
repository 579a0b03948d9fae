"""Experiments, benchmarks and examples use jqd's public names only.

A private module (`jqd.family._module`) or private name is an internal that may
move; what experiments need must be exported by the package or its family.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    p for folder in ("experiments", "benchmarks", "examples") for p in (ROOT / folder).rglob("*.py")
)
_PRIVATE_ATTR = re.compile(r"\bjqd(?:\.[A-Za-z]\w*)*\._(?!_)\w+")


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "jqd":
            parts = node.module.split(".")
            if any(p.startswith("_") for p in parts):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            found += [
                f"line {node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if a.name.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "jqd"
                and any(p.startswith("_") for p in a.name.split("."))
            ]
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if _PRIVATE_ATTR.search(line.split("#")[0]):
            found.append(f"line {i}: {line.strip()}")
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_uses_public_names_only(path):
    assert not _private_uses(path), _private_uses(path)


PUBLIC_MODULES = (
    "jqd",
    "jqd.reference",
    "jqd.thermal",
    "jqd.copy",
    "jqd.dqm",
    "jqd.husimi",
    "jqd.schrodinger",
    "jqd.stats",
    "jqd.observables",
    "jqd.interop",
    "jqd.schemes",
    "jqd.fock",
)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_dir_shows_the_public_api_only(name):
    """`dir(module)` is its sorted `__all__`: no `np`, `jnp`, `annotations` or
    helper leaks, no private name, and every listed name resolves."""
    import importlib

    module = importlib.import_module(name)
    public = sorted(module.__all__)
    assert dir(module) == public
    assert not [n for n in public if n.startswith("_") or n in ("np", "jnp", "annotations")]
    assert all(hasattr(module, n) for n in public)
