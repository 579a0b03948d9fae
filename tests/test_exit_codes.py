"""Issue 51, item 5: each exit code means one thing: 0 ok, 1 a claim failed, 2 a
usage error, 3 --out locked (tests/test_run_reuse.py), 4 an internal error
(one line on stderr, the traceback in OUT/jqd-error.log), 5 a fit that
contradicts a quantum value (tests/test_fit_command.py); reproduce exits 4 when
an experiment did not finish (tests/test_cli.py). A crash used to exit 1, which
the command documents as "a claim failed"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jqdlab.cli import _EXIT_CODES, _parser, main

REPO = Path(__file__).resolve().parents[1]

TOY = '''
import dataclasses

from jqdlab import Experiment


@dataclasses.dataclass(frozen=True)
class Config:
    """Attributes:
        mode: pass, fail (a claim), usage (a check's ValueError) or crash (a bug).
    """

    mode: str = "pass"

    @classmethod
    def quick(cls):
        return cls()


def run(config, rec):
    if config.mode == "usage":
        raise ValueError("mode=usage is refused; use --set mode=pass")
    if config.mode == "crash":
        {}["a key that is not there"]
    rec.claim("a claim", "toy", 2.0 if config.mode == "fail" else 0.5, 1.0)


EXPERIMENT = Experiment(name="{name}", description="toy", config=Config, run=run)
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    name = f"toy-exit-{tmp_path.name.replace('_', '-')}"
    folder = tmp_path / "exps" / name.replace("-", "_")
    folder.mkdir(parents=True)
    (folder / "experiment.py").write_text(TOY.replace("{name}", name))
    monkeypatch.setenv("JQD_EXPERIMENTS", str(tmp_path / "exps"))
    monkeypatch.delenv("JQD_TRACEBACK", raising=False)
    return name


def test_each_code_one_meaning(toy, tmp_path, capsys):
    out = tmp_path / "out"
    run = ["run", toy, "--out", str(out), "--set"]
    assert main([*run, "mode=pass"]) == 0
    assert main([*run, "mode=fail"]) == 1
    assert json.loads((out / "summary.json").read_text())["passed"] is False
    capsys.readouterr()
    assert main([*run, "mode=usage"]) == 2
    assert capsys.readouterr().err.startswith("jqd: error: mode=usage is refused")
    assert main([*run, "mode=crash"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("jqd: internal error: KeyError: 'a key that is not there' (in run, ")
    assert f"the traceback is in {out / 'jqd-error.log'}" in err
    log = (out / "jqd-error.log").read_text()
    assert log.startswith("Traceback") and "KeyError" in log and "experiment.py" in log
    assert not (out / "summary.json").exists()  # no stale summary beside the crash
    assert main([*run, "mode=pass"]) == 0  # a run that completes removes the stale log
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_internal_error_without_out_logs_to_a_temporary_file(toy, capsys, monkeypatch):
    """`show` has no --out: the traceback goes to a temporary file, named."""
    import jqdlab.describe

    def broken(name):
        raise KeyError("broken describe")

    monkeypatch.setattr(jqdlab.describe, "show", broken)
    assert main(["show", toy]) == 4
    err = capsys.readouterr().err
    log = Path(err.strip().rsplit("the traceback is in ", 1)[1].rstrip("."))
    assert log.name == f"jqd-error-{os.getpid()}.log" and "broken describe" in log.read_text()
    log.unlink()


def test_traceback_shown_on_request_and_code_kept(toy, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JQD_TRACEBACK", "1")
    assert main(["run", toy, "--out", str(tmp_path / "o"), "--set", "mode=crash"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "jqd: internal error: KeyError" in err


def test_exit_codes_in_help(capsys):
    text = " ".join(_parser().format_help().split())
    for code in ("1 a claim failed", "2 a usage error", "3 --out is locked", "4 an internal"):
        assert code in text, code
    assert "jqd-error.log" in _EXIT_CODES
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--help"])
    assert "4 an internal error" in " ".join(capsys.readouterr().out.split())
    docs = " ".join((REPO / "docs" / "cli.md").read_text().split())
    for code in ("`1`", "`2`", "`3`", "`4`", "`5`"):
        assert code in docs, code
