"""A command that explains itself: `jqd list` without starting JAX, `jqd show
NAME` / `jqd run NAME --help` with every config key's meaning, a lazy
`import jqd`, and REPORT.md rows that keep their cells."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jqd
from jqd.run import registry
from jqd.run.cli import main
from jqd.run.describe import config_keys, summary_line
from jqd.run.results import write_report

REPO = Path(__file__).resolve().parents[1]
NAMES = list(registry.discover())


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_import_jqd_and_jqd_list_do_not_start_jax():
    t0 = time.perf_counter()
    res = _python(
        "import sys; from jqd.run.cli import main; rc = main(['list']); "
        "assert rc == 0; bad = {'jax', 'equinox', 'diffrax', 'optax'} & set(sys.modules); "
        "assert not bad, bad"
    )
    wall = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    assert all(name in res.stdout for name in NAMES)
    assert wall < 5  # ~0.3 s quiet; the guarantee is the import check above


def test_lazy_names_resolve_to_their_definitions():
    import importlib

    for name, module in jqd._NAMES.items():
        assert getattr(jqd, name) is getattr(importlib.import_module(module, "jqd"), name)
    for family in jqd._FAMILIES:
        assert getattr(jqd, family).__name__ == f"jqd.{family}"
    assert set(jqd._NAMES) | set(jqd._FAMILIES) <= set(dir(jqd))
    with pytest.raises(AttributeError, match="no attribute 'evolv'"):
        jqd.evolv  # noqa: B018


@pytest.mark.parametrize("name", NAMES)
def test_list_line_read_from_source_matches_the_module(name):
    exp = registry.load(name)
    line = summary_line(registry.discover()[name])
    assert line == {
        "name": exp.name,
        "description": exp.description,
        "physics": exp.physics,
        "animates": exp.animates,
        "sweep_keys": exp.sweep_keys,
    }


@pytest.mark.parametrize("name", NAMES)
def test_every_config_key_has_a_meaning(name):
    rows = config_keys(registry.load(name))
    assert rows and not [r["key"] for r in rows if not r["meaning"]]


def test_run_help_lists_the_experiments_keys(capsys):
    assert main(["run", "kerr-revival", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--set KEY=VALUE" in out  # the generic options first
    assert re.search(r"alpha0\s+float\s+= 2\.0", out)
    assert "coherent amplitude of the initial state" in out
    assert "jqd sweep, vmapped (batched, sharded): alpha0, U" in out
    assert main(["show", "spreading"]) == 0
    assert "dims" in capsys.readouterr().out


def test_report_rows_keep_their_cells(tmp_path):
    claim = {
        "name": "P(|x| < 1) | split",
        "statement": "a\nb | c",
        "measured": 0.1,
        "op": "<=",
        "tolerance": 1.0,
        "passed": True,
    }
    summary = {"claims": [claim], "wall_time_s": 1.0, "figures": ["f.png"]}
    entries = [{"name": "x", "summary": summary}, {"name": "y", "error": "bad | worse\nend"}]
    text = write_report(tmp_path, entries, True, {}, 1.0).read_text()
    claims_table = text.split("Time per experiment")[0]  # (the timing table follows)
    rows = [ln for ln in claims_table.splitlines() if ln.startswith("|")]
    cells = [len(re.split(r"(?<!\\)\|", row)) for row in rows]
    assert len(rows) == 4 and len(set(cells)) == 1
