"""Both sweep modes: the per-item mode (any experiment, its run once per item),
the vmapped mode's per-item claims and memory model, and `jqd list --json`."""

from __future__ import annotations

import dataclasses
import json
import threading

import jax.numpy as jnp
import numpy as np
import pytest

from jqdlab import Experiment
from jqdlab.registry import UsageError, load
from jqdlab.sweep import run_sweep, sweep_mode


@dataclasses.dataclass(frozen=True)
class Config:
    """A toy: the error of the trapezoid rule for ∫_0^1 e^{kx} dx on n panels.

    Attributes:
        k: the exponent.
        n: panels.
        boom: an item with k == boom raises (a crashing item).
        label: a string (never swept).
    """

    k: float = 1.0
    n: int = 8
    boom: float = -1.0
    label: str = "toy"

    @classmethod
    def quick(cls):
        return cls()


def _error(k, n):
    x = jnp.linspace(0.0, 1.0, n + 1)
    f = jnp.exp(k * x)
    trap = (jnp.sum(f) - 0.5 * (f[0] + f[-1])) / n
    return jnp.abs(trap - jnp.expm1(k) / k)


def _run(config, rec):
    if config.k == config.boom:
        raise ValueError("k == boom")
    err = float(_error(config.k, config.n))
    # the trapezoid error is k^2 (e^k - 1)/(12 k n^2) to leading order
    rec.claim("trapezoid error", "toy", err, 1e-3)
    rec.claim(
        "error ratio to leading order",
        "toy",
        err * 12 * config.n**2 * config.k / (config.k**2 * np.expm1(config.k)),
        1.01,
    )
    rec.metric("seed_seen", rec.seed)
    rec.metric("not_scalar", [1.0, 2.0])


def _sweep(config, values):
    return {"error": _error(values.get("k", config.k), config.n)}


TOY = Experiment(
    name="toy",
    description="trapezoid rule",
    config=Config,
    run=_run,
    sweep=_sweep,
    sweep_keys=("k",),
    sweep_claims={"error": ("<=", 1e-3)},
    not_sweepable={"boom": "a test switch"},
)


def assert_cf(path, experiment: str) -> None:
    """CF metadata: `units` and `long_name` on every variable and coordinate, and the
    jqd version and the config in the global attributes; xarray labels axes with them."""
    import xarray as xr

    import jqd

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        missing = [n for n, v in ds.variables.items() if not {"units", "long_name"} <= set(v.attrs)]
        assert not missing, f"no units or long_name: {missing}"
        assert ds.attrs["jqd_version"] == jqd.__version__ and ds.attrs["Conventions"] == "CF-1.10"
        assert ds.attrs["experiment"] == experiment and isinstance(
            json.loads(ds.attrs["config"]), dict
        )
        key = next(k for k in ds.coords if k in json.loads(ds.attrs["config"]))  # a swept key
        label = xr.plot.utils.label_from_attrs(ds[key])
        assert label.startswith(f"{key}: ") and label.endswith("[1]"), label


def test_modes_and_refusals():
    assert sweep_mode(TOY, {"k": np.array([1.0])}) == "vmapped"
    assert sweep_mode(TOY, {"n": np.array([4.0])}) == "per-item"
    assert sweep_mode(TOY, {"k": np.array([1.0]), "n": np.array([4.0])}) == "per-item"
    assert sweep_mode(TOY, {"seed": np.array([1.0])}) == "per-item"
    with pytest.raises(UsageError, match="a test switch"):
        sweep_mode(TOY, {"boom": np.array([1.0])})
    with pytest.raises(UsageError, match="not a number"):
        sweep_mode(TOY, {"label": np.array([1.0])})
    with pytest.raises(UsageError, match="n cannot be vmapped.*integer fixes array shapes"):
        sweep_mode(TOY, {"n": np.array([4.0])}, "vmapped")
    with pytest.raises(UsageError, match="unknown key 'x'"):
        sweep_mode(TOY, {"x": np.array([1.0])})


def test_per_item_claims_errors_and_resume(tmp_path, monkeypatch):
    import xarray as xr

    from jqdlab import sweep as sweep_module

    # resuming needs the same code; pin the fingerprint (jqd's sources may be edited meanwhile)
    monkeypatch.setattr(sweep_module, "code_fingerprint", lambda exp: {"pinned": 1})

    over = {"n": np.array([4.0, 8.0, 16.0]), "k": np.array([1.0, 2.0])}
    config = dataclasses.replace(Config(), boom=2.0)
    res = run_sweep(TOY, config, over, tmp_path / "s", progress=False)
    assert res.summary["mode"] == "per-item" and res.n_items == 6
    assert len(res.summary["items_failed"]) == 3  # every k = 2 item raised; the rest ran
    with xr.open_dataset(tmp_path / "s" / "results.nc", engine="h5netcdf") as ds:
        assert ds["n"].dtype.kind == "i" and ds["trapezoid_error"].dims == ("n", "k")
        err = ds["trapezoid_error"].values
        for i, n in enumerate((4, 8, 16)):
            assert err[i, 0] == pytest.approx(float(_error(1.0, n)), rel=1e-12)
        assert np.all(np.isnan(err[:, 1])) and "k == boom" in str(ds["item_error"].values[0, 1])
        passed = ds["trapezoid_error__passed"].values
        assert passed[:, 0].tolist() == [bool(float(_error(1.0, n)) <= 1e-3) for n in (4, 8, 16)]
        assert "metric_seed_seen" in ds and "metric_not_scalar" not in ds
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["claims"]["trapezoid error"]["items"] == 3  # of the items that ran
    assert summary["passed"] is False  # items raised: `jqd sweep` exits 1
    assert (tmp_path / "s" / "claims.png").stat().st_size > 0
    assert "| trapezoid error | <= | 0.001 |" in (tmp_path / "s" / "SUMMARY.md").read_text()
    assert_cf(tmp_path / "s" / "results.nc", "toy")
    # a rerun reuses every item file; a new value for an item file is recomputed
    again = run_sweep(TOY, config, over, tmp_path / "s", progress=False)
    assert again.chunks_computed == [] and len(again.chunks_reused) == 6
    (tmp_path / "s" / "items" / "item_000002.json").write_text("{truncated")
    third = run_sweep(TOY, config, over, tmp_path / "s", progress=False)
    assert third.chunks_computed == [2]


def test_per_item_int_and_seed_values(tmp_path):
    with pytest.raises(UsageError, match="n is an integer field; got 4.5"):
        run_sweep(TOY, Config(), {"n": np.array([4.5])}, tmp_path / "a", progress=False)
    with pytest.raises(UsageError, match="n=0 is out of range"):
        run_sweep(TOY, Config(), {"n": np.array([0.0])}, tmp_path / "b", progress=False)
    res = run_sweep(TOY, Config(), {"seed": np.array([3.0, 7.0])}, tmp_path / "c", progress=False)
    import xarray as xr

    with xr.open_dataset(tmp_path / "c" / "results.nc", engine="h5netcdf") as ds:
        assert ds["metric_seed_seen"].values.tolist() == [3.0, 7.0]
    assert res.summary["mode"] == "per-item"


def _run_named(config, rec):
    """A claim whose name carries the item's value, and one some items make."""
    rec.claim(
        f"trapezoid error at k = {config.k:g}, n = {config.n}", "toy", _error(config.k, 8), 1e-3
    )
    if config.k > 1:
        rec.claim("k at most 1.5", "toy", config.k, 1.5)


def test_per_item_claims_per_item_with_values(tmp_path):
    """A per-item sweep reads as `run`: one column per claim of the run (a name that
    carries the item's value included), counted over the items that made it, each
    item's pass/fail with its value in SUMMARY.md, and `passed` False on a failure."""
    toy = dataclasses.replace(TOY, run=_run_named, sweep=None, sweep_keys=(), sweep_claims={})
    res = run_sweep(toy, Config(), {"k": np.array([0.5, 1.0, 2.0])}, tmp_path / "s", progress=False)
    s = res.summary
    assert s["claims"] == {
        "trapezoid error at k = …, n = 8": {"passed": 1, "items": 3},
        "k at most 1.5": {"passed": 0, "items": 1},
    }
    assert s["passed"] is False and s["n_claims_failed"] == 3 and not s["items_failed"]
    assert "item 2 (k=2): k at most 1.5: 2 <= 1.5 fails" in s["claims_failed"]
    text = (tmp_path / "s" / "SUMMARY.md").read_text()
    assert "| c2 | k at most 1.5 | <= | 1.5 | 0/1 |" in text
    assert "| item | k | c1 | c2 |" in text
    assert "| 0 | 0.5 | pass 0.000422 | — |" in text
    assert "| 2 | 2 | **FAIL** 0.0166 | **FAIL** 2 |" in text
    passing = run_sweep(toy, Config(), {"k": np.array([0.5])}, tmp_path / "p", progress=False)
    assert passing.summary["passed"] is True and passing.summary["claims_failed"] == []


def test_claim_columns_match_names_numbers_aside():
    """Claims whose names differ in numbers only are one column where every item makes
    as many of them (in order); by name where some items make fewer (a conditional
    claim), so "error at t = 2" is never filed under "error at t = 1"."""
    from jqdlab._sweep_report import claim_columns

    def record(*names):
        claims = [
            dict(name=n, statement=f"{n}!", op="<=", measured=0.0, tolerance=1.0, passed=True)
            for n in names
        ]
        return {"claims": claims}

    cols = claim_columns(
        [
            record("x at p = 1", "y at t = 1", "y at t = 2"),
            record("x at p = 2", "y at t = 1", "y at t = 2"),
        ]
    )
    assert [c["label"] for c in cols] == ["x at p = …", "y at t = 1", "y at t = 2"]
    assert cols[0]["statement"] == "x at p = …!" and all(None not in c["claims"] for c in cols)
    cols = claim_columns([record("y at t = 1", "y at t = 2"), record("y at t = 2"), {"claims": []}])
    assert [(c["label"], c["claims"][1] is None) for c in cols] == [
        ("y at t = 1", True),
        ("y at t = 2", False),
    ]


def test_claims_figure_draws_no_empty_panel():
    """A quantity with no finite value (every item failed, or none made the claim) gets
    no panel: SUMMARY.md names it instead."""
    import matplotlib.pyplot as plt

    from jqdlab._sweep_report import draw

    class Keep:
        def figure(self, fig, name):
            self.panels = [ax for ax in fig.axes if ax.get_visible()]
            plt.close(fig)

    nan = np.full(3, np.nan)
    series = [
        dict(name=n, label=n, op="<=", values=v, tolerance=np.ones(3), passed=v < 1)
        for n, v in (("a", np.array([0.1, 0.2, 0.3])), ("b", nan))
    ]
    for s in series:
        s["recorded"] = np.ones(3, bool)
    rec = Keep()
    assert draw(rec, series, {"k": np.arange(3.0)}, "toy") == ["claims.png"]
    assert [ax.get_title().split("\n")[0] for ax in rec.panels] == ["a"]
    assert draw(rec, series[1:], {"k": np.arange(3.0)}, "toy") == []


def test_per_item_interrupt_between_items(tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            TOY,
            Config(),
            {"n": np.array([4.0, 8.0])},
            tmp_path / "i",
            progress=False,
            interrupt=stop,
        )


def test_vmapped_claims_and_auto_batch(tmp_path, monkeypatch):
    import xarray as xr

    from jqdlab import sweep as sweep_module

    over = {"k": np.linspace(0.5, 4.0, 10)}
    res = run_sweep(TOY, Config(), over, tmp_path / "v", progress=False, devices=1)
    s = res.summary
    assert s["mode"] == "vmapped" and s["auto_batch"] and s["padded_batch"] == 10
    assert s["probe_bytes_per_item"] > 0 and s["bytes_per_item"] > 0
    with xr.open_dataset(tmp_path / "v" / "results.nc", engine="h5netcdf") as ds:
        expect = [float(_error(k, 8)) <= 1e-3 for k in over["k"]]
        assert ds["error__passed"].values.tolist() == expect and 0 < sum(expect) < 10
    assert s["claims"]["error"] == {"passed": sum(expect), "items": 10}
    assert s["passed"] is False and s["n_claims_failed"] == 10 - sum(expect)  # exit code 1
    assert_cf(tmp_path / "v" / "results.nc", "toy")
    # a budget of three items' bytes gives a batch of three
    per_item = s["probe_bytes_per_item"]
    monkeypatch.setattr(sweep_module, "free_memory", lambda d: int(3.5 * per_item / 0.5))
    small = run_sweep(TOY, Config(), over, tmp_path / "w", progress=False, devices=1)
    assert small.summary["padded_batch"] == 3 and small.n_chunks == 4
    with xr.open_dataset(tmp_path / "w" / "results.nc", engine="h5netcdf") as a:
        with xr.open_dataset(tmp_path / "v" / "results.nc", engine="h5netcdf") as b:
            np.testing.assert_array_equal(a["error"].values, b["error"].values)


def test_claims_panel_is_value_over_tolerance_on_log_axes():
    """claims.png draws a claim as value / tolerance on a log axis with the pass line
    at 1 (once: the raw values on a linear axis beside a 1e-8 dashed line); a value
    of 0 is drawn a decade below the smallest ratio, not dropped."""
    import matplotlib.pyplot as plt

    from jqdlab._sweep_report import _panel
    from jqdlab.figure_check import figure_problems

    values = np.array([1e-10, 5e-10, 0.0, 2e-8])
    series = {
        "name": "err",
        "label": "err",
        "op": "<=",
        "values": values,
        "tolerance": np.full(4, 1e-8),
        "passed": values <= 1e-8,
    }
    fig, ax = plt.subplots()
    _panel(ax, series, {"k": np.arange(4.0)})
    try:
        assert ax.get_yscale() == "log" and ax.get_ylabel() == "value / tolerance"
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.01, 0.05, 0.001, 2.0])
        assert any(np.all(np.asarray(line.get_ydata()) == 1.0) for line in ax.lines[1:])
        assert figure_problems(fig) == []
    finally:
        plt.close(fig)


def test_describe_json_of_three():
    from jqdlab.describe import describe_json

    for name in ("kerr-revival", "copy-coalescence", "thermal-equilibration"):
        d = describe_json(load(name))
        json.dumps(d)  # plain JSON
        assert d["sweepable_keys"] and all(
            m in ("vmapped", "per-item") for m in d["sweepable_keys"].values()
        )
        for row in d["config_keys"]:
            assert {"key", "type", "default", "quick", "meaning", "sweep"} <= set(row)
            assert row["sweep"] is not None or row["key"] in d["why_not"]
    kerr = describe_json(load("kerr-revival"))
    assert (
        kerr["vmapped_keys"] == ["alpha0", "U"] and kerr["sweepable_keys"]["cutoff"] == "per-item"
    )
    assert kerr["sweep_claims"] == {"max_error": ["<=", 1e-10]}


def test_readme_sweep_commands_are_valid():
    """Every `jqd sweep` line of README.md parses, names sweepable keys, and
    gets the mode its comment says."""
    import re
    import shlex
    from pathlib import Path

    from jqdlab.cli import _parser as parser
    from jqdlab.sweep import parse_over

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = [ln for ln in readme.splitlines() if ln.startswith("jqd sweep ")]
    assert len(lines) >= 3
    for line in lines:
        command, _, comment = line.partition("#")
        args = parser().parse_args(shlex.split(command)[1:])
        over = dict(parse_over(t) for t in args.over)
        mode = sweep_mode(load(args.name), over, args.mode)
        said = re.search(r"(vmapped|per item)", comment)
        assert said and mode == said.group(1).replace(" ", "-"), line
