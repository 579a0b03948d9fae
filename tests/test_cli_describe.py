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
from jqdlab import registry
from jqdlab.cli import main
from jqdlab.describe import config_keys, summary_line
from jqdlab.results import write_report

REPO = Path(__file__).resolve().parents[1]
NAMES = list(registry.discover())


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_import_jqd_and_jqd_list_do_not_start_jax():
    t0 = time.perf_counter()
    res = _python(
        "import sys; from jqdlab.cli import main; rc = main(['list']); "
        "assert rc == 0; bad = {'jax', 'equinox', 'diffrax', 'optax'} & set(sys.modules); "
        "assert not bad, bad"
    )
    wall = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr
    assert all(name in res.stdout for name in NAMES)
    assert wall < 5  # ~0.3 s quiet; the guarantee is the import check above


def test_experiments_readme_table_is_jqd_list_markdown(capsys):
    """experiments/README.md's table (name, question, vmapped sweep keys) is `jqd list
    --markdown`, read from the same sources as `jqd list`: regenerate it with that."""
    assert main(["list", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    lines = (REPO / "experiments" / "README.md").read_text().splitlines()
    start = lines.index(table.splitlines()[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    assert "\n".join(lines[start:end]) == table, "paste `jqd list --markdown` into the README"
    assert len(table.splitlines()) == 2 + len(NAMES)
    line = summary_line(registry.discover()["kerr-revival"])
    assert f"| {line['description']} | `U`, `alpha0` |" in table


def test_root_names_are_the_public_api():
    assert dir(jqd) == sorted(jqd.__all__)
    for name in jqd.__all__:
        assert getattr(jqd, name) is not None
    assert jqd.evolve is jqd._evolve.evolve and jqd.copy.__name__ == "jqd.copy"
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
def test_set_checks_read_from_source_match_the_module(name):
    """`jqd run NAME --set ...` is checked from the source before JAX starts:
    what the source says must be what the module holds."""
    import dataclasses

    exp = registry.load(name)
    src = registry.source_config(registry.discover()[name])
    assert src is not None  # a Config the source does not say plainly: checked after import
    exp_name, types_, defaults, limits = src
    assert exp_name == exp.name and limits == exp.limits
    assert types_ == registry.field_types(exp.config)
    config = exp.config()
    assert defaults == {
        f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name in defaults
    }
    assert len(defaults) >= len(types_) - 2  # (a few defaults are expressions: 2 * math.pi)


def test_an_experiment_is_found_by_convention(tmp_path, monkeypatch):
    """`EXPERIMENT = Experiment(description=...)`: the name is the folder's, the
    config `Config`, the run `run` and the hooks the module's functions; the
    limits are the Config's (`@experiment_config(limits=...)`)."""
    folder = tmp_path / "my_thing"
    folder.mkdir()
    (folder / "experiment.py").write_text(
        "from jqdlab.experiment import Experiment\n"
        "from jqdlab.toolkit import experiment_config\n\n\n"
        '@experiment_config(quick=dict(n=2), limits={"x": "> 0"})\n'
        "class Config:\n    n: int = 4\n    x: float = 1.0\n\n\n"
        "def run(config, rec):\n    pass\n\n\n"
        "def validate(config):\n    pass\n\n\n"
        'EXPERIMENT = Experiment(description="mine", physics="§1")\n'
    )
    monkeypatch.setenv("JQD_EXPERIMENTS", str(tmp_path))
    monkeypatch.delitem(sys.modules, "jqd_experiments.my_thing", raising=False)
    exp = registry.load("my-thing")
    assert (exp.name, exp.config.__name__, exp.run.__name__) == ("my-thing", "Config", "run")
    assert exp.validate.__name__ == "validate" and exp.sweep is None
    assert exp.limits == {"x": "> 0"} and registry.load("my_thing") is exp
    assert summary_line(folder / "experiment.py")["name"] == "my-thing"
    src = registry.source_config(folder / "experiment.py")
    assert src == ("my-thing", {"n": int, "x": float}, {"n": 4, "x": 1.0}, {"x": "> 0"})
    monkeypatch.delitem(sys.modules, "jqd_experiments.my_thing")


def test_usage_errors_answer_before_jax_starts():
    """An unknown experiment, key, unparsable or out-of-range value: exit 2 without
    importing JAX (it took 1-16 s to start; the check is the import, not a time)."""
    res = _python(
        "import sys; from jqdlab.cli import main\n"
        "for argv in (['run', 'no-such-exp'], ['run', 'spreading', '--set', 'nokey=1'],"
        " ['run', 'spreading', '--set', 'hbar=-1'], ['sweep', 'spreading', '--set', 'n_save=x'],"
        " ['fit', 'husimi-kerr', '--set', 'dims=1'], ['show', 'nope']):\n"
        "    assert main(argv) == 2, argv\n"
        "assert 'jax' not in sys.modules"
    )
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 6 and all(ln.startswith("jqd: error: ") for ln in lines), lines
    assert "hbar=-1 is out of range: spreading needs hbar > 0" in lines[2]


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


def test_run_help_keeps_whole_meanings_and_shows_ranges(capsys, monkeypatch):
    """Each key's meaning in full, wrapped to the terminal (it was cut with "…" at
    100 columns whatever the width), then its range from `limits`/validate."""
    from jqdlab.describe import attribute_docs

    exp = registry.load("husimi-kerr")
    meaning = " ".join(attribute_docs(exp.config)["C"].split())
    assert len(meaning) > 150
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["run", "husimi-kerr", "--help"]) == 0
    out = capsys.readouterr().out
    assert f"{meaning} [range: > 0]" in out  # exp.limits["C"]
    assert re.search(r"\n +Fock cutoff of the C-fit run\. \[range: >= 1\]\n", out)  # an int
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["show", "husimi-kerr"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines() if line.startswith("    ")) <= 60
    assert meaning in " ".join(out.split())


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
