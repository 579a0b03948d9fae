"""`jqd fit` (jqdlab/fit.py) and the least-squares covariance of `jqd.fit`.

Default run: the covariance against the closed form of linear least squares,
the command's mechanics on a toy experiment (a NetCDF round trip, a
non-identifiable pair, every data error), and two acceptance cases at tiny
sizes: (q, r) of the copy law from exact data and C of the Husimi
Fokker-Planck law from finite-ensemble (Husimi-sample) data; issue 26's error
bars (the Birge-scaled errors calibrated on synthetic data with known noise,
the distance from the quantum value and exit 5, no error bar on exact data).
`-m slow`: every acceptance case of issue 16 (exact data to 1e-4 relative,
finite-ensemble data within 3 reported standard errors), the calibration of
one family over 40 seeds and the bootstrap check of the standard errors. The
full-size tables are benchmarks/results_fit.md.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqdlab.cli import main
from jqdlab.fit import EXIT_INCONSISTENT

TOY = '''
import dataclasses
import jax.numpy as jnp
import numpy as np
from jqdlab import Experiment, FitSpec

@dataclasses.dataclass(frozen=True)
class Config:
    """Toy decay y(t) = a c exp(-b t)."""
    a: float = 2.0
    b: float = 0.7
    c: float = 1.0
    n: int = 12
    noise: float = 0.01
    bias: float = 1.0  # the reference's decay rate is bias * b (a "mutated" law when != 1)

    @classmethod
    def quick(cls):
        return cls()

def ts(c):
    return np.linspace(0.1, 3.0, c.n)

def sweep(config, values):
    a, b, c = (values.get(k, getattr(config, k)) for k in "abc")
    return {"y": a * c * jnp.exp(-b * jnp.asarray(ts(config))), "total": a * c}

def ensemble(config, key):
    import jax
    y = np.asarray(sweep(config, {})["y"])
    e = config.noise * np.ones_like(y)
    return {"y": y + e * np.asarray(jax.random.normal(key, y.shape)), "y_stderr": e}

def run(config, rec):
    rec.claim("toy", "none", 0.0, 1.0)

EXPERIMENT = Experiment(
    name="toy-decay", description="toy", config=Config, run=run, sweep=sweep,
    sweep_coords=lambda c: {"t": ts(c)}, sweep_keys=("a", "b", "c"),
    fit=FitSpec(keys=("a", "b", "c"), reference=lambda c: {"y": sweep(c, {"b": c.bias * c.b})["y"]},
                truth=lambda c: {"a": c.a, "b": c.b, "c": c.c},
                start=lambda c: {"a": 1.0, "b": 1.0, "c": 1.0}, ensemble=ensemble,
                transforms={"b": "positive"}, notes={"a,c": "only the product a c enters"}),
)
'''


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("exps")
    (root / "toy_decay").mkdir()
    (root / "toy_decay" / "experiment.py").write_text(textwrap.dedent(TOY))
    return root


@pytest.fixture
def toy(toy_root, monkeypatch):
    monkeypatch.setenv("JQD_EXPERIMENTS", str(toy_root))
    return toy_root


def _fit(tmp_path, *args, name="toy-decay"):
    out = tmp_path / "out"
    rc = main(["fit", name, "--out", str(out), "--no-progress", *args])
    summary = (
        json.loads((out / "summary.json").read_text()) if rc in (0, 1, EXIT_INCONSISTENT) else None
    )
    return rc, summary, out


# -- the covariance (library) ----------------------------------------------------------
def test_covariance_is_linear_least_squares():
    """Linear model: Cov = σ²(XᵀX)⁻¹ (known σ), s²(XᵀX)⁻¹ with s² = χ²/(n−p)
    (estimated), exactly; a collinear design is singular (inf)."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 30)
    y = 1 + 2 * x + 0.1 * rng.normal(size=x.size)
    X = np.stack([np.ones_like(x), x], 1)
    theta = dict(zip("ab", np.linalg.lstsq(X, y, rcond=None)[0], strict=True))
    res = lambda th, d: (th["a"] + th["b"] * x - d) / 0.1
    known = jqd.fit_covariance(res, theta, jnp.asarray(y), sigma="known")
    np.testing.assert_allclose(known["covariance"], 0.01 * np.linalg.inv(X.T @ X), rtol=1e-10)
    est = jqd.fit_covariance(res, theta, jnp.asarray(y), sigma="estimated")
    s2 = known["chi2"] / (x.size - 2)
    np.testing.assert_allclose(est["covariance"], s2 * known["covariance"], rtol=1e-10)
    assert est["stderr"]["a"] == pytest.approx(np.sqrt(est["covariance"][0, 0]))
    flat = jqd.fit_covariance(lambda th: th["a"] * th["b"] * x, {"a": 1.0, "b": 2.0})
    assert not np.isfinite(flat["condition"]) or flat["condition"] > 1e15
    assert np.all(np.isinf(flat["covariance"]))


@pytest.mark.slow
def test_exact_data_converges_at_round_off():
    """Exact data and an exact model: residuals and standard errors are
    round-off, so the step/stderr criterion alone never holds; the relative
    step floor xtol ends the fit (it ran to max_iter before)."""
    x = jnp.linspace(0.0, 2.0, 40)
    y = 1.7 * jnp.exp(-0.6 * x)
    res_fn = lambda th: th["a"] * jnp.exp(-th["b"] * x) - y
    # the round-off this test is about is that of the optimized programs users run
    # (without XLA's optimizations the residuals can come out exactly 0)
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", False)
    try:
        res = jqd.fit(None, {"a": 1.0, "b": 1.0}, residuals=res_fn, step_tol=1e-3, max_iter=100)
        stuck = jqd.fit(
            None, {"a": 1.0, "b": 1.0}, residuals=res_fn, step_tol=1e-3, max_iter=60, xtol=0.0
        )
    finally:
        jax.config.update("jax_disable_most_optimizations", before)
    assert res.converged and res.iterations < 40, res.iterations
    assert abs(res.value["a"] - 1.7) < 1e-12 and abs(res.value["b"] - 0.6) < 1e-12
    assert not stuck.converged  # the failure xtol prevents


def test_nonfinite_loss_is_refused_naming_the_iterate():
    """A model that is NaN at the start (or becomes so) stops the fit with the
    iterate and the fix, instead of 100 silent NaN iterations; nonfinite= opts
    into backing off instead."""
    loss = lambda th: jnp.where(th["D"] < 1.0, jnp.nan, (th["D"] - 2.0) ** 2)
    with pytest.raises(
        FloatingPointError, match=r"at the start \(theta = \{'D': 0.5\}\).*nonfinite="
    ):
        jqd.fit(loss, {"D": 0.5})
    res = jqd.fit(lambda th: (th["D"] - 2.0) ** 2, {"D": 0.5}, max_iter=20, gtol=1e-10)
    assert res.value["D"] == pytest.approx(2.0)


def test_bad_start_is_named_before_the_loss():
    """A non-finite θ0, or one outside its transform's domain, is named with its
    value (it was reported as a non-finite loss at θ = nan)."""
    loss = lambda th: (th["D"] - 2.0) ** 2
    with pytest.raises(ValueError, match=r"theta0\['D'\] = nan is not finite"):
        jqd.fit(loss, {"D": float("nan")})
    with pytest.raises(ValueError, match=r"theta0\['D'\] = -1.0 is outside .*'positive' needs"):
        jqd.fit(loss, {"D": -1.0}, transform="positive")
    with pytest.raises(ValueError, match=r"theta0\['D'\] = 0.0 is outside"):
        jqd.fit(loss, {"D": 0.0, "x": 1.0}, transform={"D": "positive"})


# -- the command on a toy experiment -----------------------------------------------------
def test_toy_fit_and_netcdf_round_trip(toy, tmp_path):
    """Finite-ensemble data (with standard errors: sigma known, χ² and its p-value)
    within 3 stderr of the truth; their data.nc (the sweep's output names and
    <name>_stderr) fitted back with --data gives the same values and errors."""
    rc, s, out = _fit(tmp_path, "--free", "a,b", "--data", "ensemble", "--seed", "3")
    assert rc == 0 and s["acceptable"] and s["converged"], s["problems"]
    assert s["sigma"] == "known" and s["p_value"] > 1e-3 and set(s["data_variables"]) == {"y"}
    assert max(s["error_over_stderr"].values()) < 3
    assert (out / "fit.png").is_file() and (out / "data.nc").is_file()
    assert s["figure_problems"] == []  # data against the model, residuals: jqdlab.figure_check
    _assert_cf(out / "data.nc")
    rc2, s2, _ = _fit(tmp_path / "again", "--free", "a,b", "--data", str(out / "data.nc"))
    assert rc2 == 0 and s2["truth"] == s["truth"] and s2["sigma"] == "known"
    for k in "ab":
        assert s2["value"][k] == pytest.approx(s["value"][k], rel=1e-9)
        assert s2["stderr"][k] == pytest.approx(s["stderr"][k], rel=1e-6)


def _assert_cf(path) -> None:
    """CF metadata on a fit's data.nc: `units` and `long_name` on every variable and
    coordinate, the jqd version and the config in the global attributes."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        missing = [n for n, v in ds.variables.items() if not {"units", "long_name"} <= set(v.attrs)]
        assert not missing, f"no units or long_name: {missing}"
        assert ds.attrs["jqd_version"] == jqd.__version__ and ds.attrs["Conventions"] == "CF-1.10"
        assert json.loads(ds.attrs["config"])["a"] == 2.0 and ds.attrs["experiment"] == "toy-decay"
        assert (
            ds["t"].attrs["long_name"] == "time"
            and "standard error" in ds["y_stderr"].attrs["long_name"]
        )


@pytest.mark.slow
def test_toy_not_identifiable(toy, tmp_path, capsys):
    """y depends on a·c only: freeing both is refused after the fit (exit 1), naming it.
    The data file has no standard errors: the verdict says goodness of fit is untested;
    it was made at c = 1 and noise = 0.01, which are free or unread here: not refused."""
    path = _made_at(tmp_path / "d.nc")
    args = ["--free", "a,c", "--max-iter", "3", "--set", "c=1.5", "--set", "noise=0.5"]
    rc, s, _ = _fit(tmp_path, *args, "--data", path)
    assert rc == 1 and not s["acceptable"]
    assert any("not identifiable" in p and "product a c" in p for p in s["problems"])
    assert s["sigma"] == "estimated" and s["goodness_of_fit"].startswith("untested")
    assert "NOT ACCEPTABLE (goodness of fit untested" in capsys.readouterr().out


# -- error bars and the quantum value ----------------------------------------------------
def test_exact_data_has_no_error_bar(toy, tmp_path, capsys):
    """Exact (reference) data: the error bar is the discretisation misfit, not a
    statistical error; the summary says so instead of printing a ± and "n stderr",
    and judges the quantum value by the relative error (<= 1e-4): exit 0."""
    rc, s, _ = _fit(tmp_path, "--free", "a,b", "--data", "reference")
    out = capsys.readouterr().out
    assert rc == 0 and s["acceptable"] and s["consistent"] is True
    assert s["stderr_meaning"].startswith("none: exact data") and s["error_over_stderr"] is None
    assert all(q["relative_error"] < 1e-10 and q["consistent"] for q in s["quantum"].values())
    assert "±" not in out and "stderr" not in out and "standard errors" not in out
    assert out.count("(exact data: no statistical error bar)") == 2
    assert "quantum value 0.7: relative error" in out and "consistent with the quantum" in out


def test_exact_data_off_the_quantum_value(toy, tmp_path, capsys):
    """A law whose rate is scaled by 0.9 (the reference made at 0.9 b): the fit
    reproduces the data (acceptable) at b 10 % off the quantum value, which the
    verdict names: exit 5 (a result, not a failed fit: exit 1; not a usage error: 2;
    not a locked --out: 3)."""
    rc, s, _ = _fit(tmp_path, "--free", "b", "--data", "reference", "--set", "bias=0.9")
    out = capsys.readouterr().out
    assert rc == EXIT_INCONSISTENT == 5 and s["acceptable"] and s["consistent"] is False
    assert s["quantum"]["b"]["relative_error"] == pytest.approx(0.1, rel=1e-6)
    assert "INCONSISTENT WITH THE QUANTUM VALUE of b" in out
    assert "relative error 0.1, INCONSISTENT (rule: <= 0.0001)" in out


def _noisy(path, b, noise, stated, seed=0):
    """Toy data y = 2 exp(−b t) + noise·N(0, 1), with <name>_stderr = stated."""
    t = np.linspace(0.1, 3.0, 12)
    y = 2 * np.exp(-b * t) + noise * np.random.default_rng(seed).normal(size=t.size)
    return _write(path, y=(("t",), y), y_stderr=(("t",), np.full(12, stated)), coords={"t": t})


@pytest.mark.slow
def test_noisy_data_off_the_quantum_value(toy, tmp_path, capsys):
    """Data made at b = 0.9 × 0.7 with honest errors: the fit is good (χ² fine) and
    b lies many standard errors from the quantum value 0.7: the line gives |z| and
    the rule, the verdict names b, exit 5. At b = 0.7 the same data are consistent."""
    rc, s, _ = _fit(
        tmp_path, "--free", "a,b", "--data", _noisy(tmp_path / "d.nc", 0.63, 0.01, 0.01)
    )
    out = capsys.readouterr().out
    z = s["quantum"]["b"]["z"]
    assert rc == 5 and s["acceptable"] and z < -5 and not s["quantum"]["b"]["consistent"]
    assert f"{abs(z):.2f} standard errors, INCONSISTENT (rule: <= 2; profile likelihood)" in out
    assert "INCONSISTENT WITH THE QUANTUM VALUE of b" in out
    rc, s, _ = _fit(
        tmp_path / "ok", "--free", "a,b", "--data", _noisy(tmp_path / "e.nc", 0.7, 0.01, 0.01)
    )
    assert rc == 0 and s["consistent"] is True, s["quantum"]


@pytest.mark.slow
def test_errors_widen_with_the_scatter(toy, tmp_path):
    """Data scattering 2.5× more than their stated errors: the reported errors are the
    stated ones (Gauss-Newton) × √(χ²/dof) (the Birge ratio); data within their errors
    keep the stated ones (the ratio is not applied below 1)."""
    path = _noisy(tmp_path / "d.nc", 0.7, 0.025, 0.01, seed=1)
    _, s, _ = _fit(tmp_path, "--free", "a,b", "--data", path)
    scale = np.sqrt(s["chi2"] / s["dof"])
    assert scale > 1.5 and s["error_scale"] == pytest.approx(scale, rel=1e-12)
    for k in "ab":
        assert s["stderr"][k] == pytest.approx(s["stderr_stated"][k] * scale, rel=1e-9)
    _, s, _ = _fit(
        tmp_path / "ok", "--free", "a,b", "--data", _noisy(tmp_path / "e.nc", 0.7, 0.005, 0.01)
    )
    assert s["chi2"] < s["dof"] and s["error_scale"] == 1.0
    assert s["stderr"] == pytest.approx(s["stderr_stated"], rel=1e-9)
    # the toy is nearly linear at this noise: the profile interval is the reported one
    for k in "ab":
        assert s["profile"]["lower"][k] == pytest.approx(s["stderr"][k], rel=0.05)
        assert s["profile"]["upper"][k] == pytest.approx(s["stderr"][k], rel=0.05)
        assert s["quantum"][k]["z"] == pytest.approx(s["quantum"][k]["z_stderr"], abs=0.05)


def test_error_scale_is_the_estimators(toy, tmp_path, monkeypatch):
    """summary.json's error_scale is the factor of the estimator `jqd fit` used
    (jqdlab.fit.COVARIANCE), not the Birge ratio re-derived: switched to plain
    Gauss-Newton, data scattering 2.5× their stated errors report the stated
    errors and error_scale 1, and the profile is taken at Δχ² <= 1."""
    import jqdlab.fit as fit

    monkeypatch.setattr(fit, "COVARIANCE", "gauss-newton")
    _, s, _ = _fit(
        tmp_path, "--free", "a,b", "--data", _noisy(tmp_path / "d.nc", 0.7, 0.025, 0.01, seed=1)
    )
    assert s["chi2"] / s["dof"] > 2 and s["error_scale"] == 1.0 and s["profile"]["scale"] == 1.0
    assert s["stderr"] == pytest.approx(s["stderr_stated"], rel=1e-9)


def test_quantum_z_from_the_profile():
    """Where the profile likelihood and the curvature disagree, the consistency
    decision follows the profile (z = 1.8 there, 2.2 in reported errors: consistent);
    without a finite profile z it falls back to error/stderr."""
    from jqdlab.fit import _quantum

    s = {"truth": {"b": 0.7}, "error": {"b": 0.1}, "stderr": {"b": 0.045},
         "profile": {"z": {"b": 1.8}}}  # fmt: skip
    q = _quantum(s, exact=False)["b"]
    assert q["consistent"] and q["z"] == 1.8 and q["z_from"] == "profile likelihood"
    assert q["z_stderr"] == pytest.approx(0.1 / 0.045)
    s["profile"] = {"z": {"b": float("nan")}}
    q = _quantum(s, exact=False)["b"]
    assert not q["consistent"] and q["z_from"] == "reported standard errors"


def _synthetic_z(rng, n_sets, replicas, factor, method):
    """z = (θ̂ − θ)/stderr of weighted straight-line fits to n_sets synthetic data
    sets (18 points, heteroscedastic σ_i = 0.05(1 + 2x)): the stated errors are
    either estimated from `replicas` replicas per point (the data are their mean:
    what copy-fit-qr's ensemble does with 16) or factor × σ_i."""
    from jqd._fit_covariance import covariance_from

    n = 18
    x = np.linspace(0.0, 1.0, n)
    X = np.stack([np.ones(n), x], 1)
    sig, theta = 0.05 * (1 + 2 * x), np.array([1.0, -0.5])
    z = []
    for _ in range(n_sets):
        if replicas:
            reps = (X @ theta)[:, None] + sig[:, None] * np.sqrt(replicas) * rng.normal(
                size=(n, replicas)
            )
            y, s = reps.mean(1), reps.std(1, ddof=1) / np.sqrt(replicas)
        else:
            y, s = X @ theta + sig * rng.normal(size=n), factor * sig
        J = X / s[:, None]
        fit = np.linalg.lstsq(J, y / s, rcond=None)[0]
        c = covariance_from(J @ fit - y / s, J, fit, "known", method)
        z.append((fit - theta) / c["stderr"])
    return np.asarray(z)


@pytest.mark.parametrize(
    "replicas, factor",
    [(16, None), (0, 0.7), (0, 1.0)],
    ids=["replica-errors", "errors-0.7x", "honest"],
)
def test_reported_errors_are_calibrated_on_synthetic_data(replicas, factor):
    """The estimator `jqd fit` reports (jqdlab.fit.COVARIANCE) on weighted linear
    fits with known noise: RMS z in [0.85, 1.2] and 2σ coverage >= 90 % (issue
    26's target) when the stated errors come from 16 replicas, are 30 % too small,
    or are right; plain Gauss-Newton fails the target when they are too small
    (RMS z 1.4). 600 data sets: RMS z and coverage have sampling errors of 3 %
    and 1 %, far inside the bounds (measured 0.91-1.04 and 95-97 %; seeded)."""
    from jqdlab.fit import COVARIANCE

    z = _synthetic_z(np.random.default_rng(5), 600, replicas, factor, COVARIANCE)
    rms, cover = np.sqrt(np.mean(z**2, axis=0)), np.mean(np.abs(z) <= 2, axis=0)
    assert np.all((0.85 <= rms) & (rms <= 1.2)) and np.all(cover >= 0.9), (rms, cover)
    if factor == 0.7:
        gn = _synthetic_z(np.random.default_rng(5), 600, replicas, factor, "gauss-newton")
        assert np.all(np.sqrt(np.mean(gn**2, axis=0)) > 1.3)


@pytest.mark.parametrize(
    "args, match",
    [
        (["--free", "zz"], "--free zz: zz is not a config key"),
        (["--free", "n"], "n is not one of the constants it can fit"),
        ([], "give --free"),
        (["--free", "a", "--start", "b=1"], "--start expects KEY=VALUE for a freed key"),
        (["--free", "b", "--start", "b=-1"], "must be finite and > 0"),
        (["--free", "a", "--data", "/nonexistent.nc"], "no such file"),
        (["--free", "a", "--max-iter", "0"], "--max-iter must be >= 1"),
    ],
)
def test_usage_errors(toy, tmp_path, capsys, args, match):
    rc, _, _ = _fit(tmp_path, *args)
    assert rc == 2
    assert match in capsys.readouterr().err


def _write(path, **vars_):
    import xarray as xr

    ds = xr.Dataset({k: v for k, v in vars_.items() if k != "coords"}, coords=vars_.get("coords"))
    ds.to_netcdf(path, engine="h5netcdf")
    return str(path)


@pytest.mark.parametrize(
    "kind, match",
    [
        ("missing", "no variable named like a model output; expected some of total, y"),
        ("shape", "variable 'y' has dims"),
        ("coords", "coordinate 't' of 'y' differs"),
        ("nan", "variable 'y' holds NaN"),
        ("stderr", "y_stderr must have the shape of y"),
    ],
)
def test_data_file_errors(toy, tmp_path, capsys, kind, match):
    t = np.linspace(0.1, 3.0, 12)
    y = 2 * np.exp(-0.7 * t)
    files = {
        "missing": dict(z=(("t",), y), coords={"t": t}),
        "shape": dict(y=(("t",), y[:5]), coords={"t": t[:5]}),
        "coords": dict(y=(("t",), y), coords={"t": t + 1}),
        "nan": dict(y=(("t",), np.where(t > 1, np.nan, y)), coords={"t": t}),
        "stderr": dict(y=(("t",), y), y_stderr=(("t",), -np.ones(12)), coords={"t": t}),
    }
    path = _write(tmp_path / f"{kind}.nc", **files[kind])
    rc, _, _ = _fit(tmp_path, "--free", "a", "--data", path)
    assert rc == 2
    assert match in capsys.readouterr().err


def _made_at(path, experiment="toy-decay", **config):
    """Exact toy data (no standard errors) recording the config they were made at."""
    t = np.linspace(0.1, 3.0, 12)
    path = _write(path, y=(("t",), 2 * np.exp(-0.7 * t)), coords={"t": t})
    import xarray as xr

    made = {"a": 2.0, "b": 0.7, "c": 1.0, "n": 12, "noise": 0.01, **config}
    ds = xr.load_dataset(path, engine="h5netcdf")
    ds.attrs.update(experiment=experiment, config=json.dumps(made))
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def test_data_made_at_another_config(toy, tmp_path, capsys):
    """Data whose recorded config differs from the model's in a key the model reads
    are refused in one line naming both values and the fix (b: no exact float
    equality needed; c: a real difference); freed keys and keys the model does not
    read (noise: the ensemble's) are not compared (test_toy_not_identifiable)."""
    path = _made_at(tmp_path / "d.nc", b=0.7 + 1e-15)
    args = ["--free", "a", "--set", "c=1.5", "--set", "b=0.70000001", "--data", path]
    assert _fit(tmp_path, *args)[0] == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "its config attribute" in err
    assert "made at b=0.700000000000001, c=1.0" in err and "model has b=0.70000001, c=1.5" in err
    assert "rerun with --set b=0.700000000000001 --set c=1.0" in err
    assert _fit(tmp_path, "--free", "a", "--set", "c=1.5", "--data", path)[0] == 2
    assert "made at c=1.0 " in capsys.readouterr().err  # b: equal to 1e-12
    other = _made_at(tmp_path / "e.nc", experiment="kerr-revival")
    assert _fit(tmp_path, "--free", "a", "--data", other)[0] == 2
    assert "made by kerr-revival, not toy-decay" in capsys.readouterr().err


def test_nonfinite_model_is_one_line(toy, tmp_path, capsys):
    """A start where the model overflows: `jqd: error:` naming the values, exit 2."""
    rc, _, _ = _fit(tmp_path, "--free", "a", "--start", "a=1e308", "--set", "c=1e10")
    assert rc == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("jqd: error: jqd.fit: the loss is inf at the start") and "a': 1e+308" in err
    )
    assert "Traceback" not in err


def test_no_fit_spec(capsys, tmp_path):
    rc, _, _ = _fit(tmp_path, "--free", "U", name="kerr-revival")
    assert rc == 2
    assert "kerr-revival has no fit specification" in capsys.readouterr().err


# -- acceptance (issue 16) ---------------------------------------------------------------
TINY = {  # (experiment, --set overrides) at sizes a test can afford
    "copy-fit-qr": ["--set", "n_save=2", "--set", "replicas=12"],
    "husimi-kerr": [
        "--set", "cutoff=10", "--set", "alpha0=0.6", "--set", "n_grid=4", "--set", "fit_grid=8",
        "--set", "fit_saves=2", "--set", "n_samples=1000",
    ],
    # n = 128 (at n = 64 the canonical law's monitor stops at t = 0: k dx too large) and
    # t <= 0.45 (at the start D = 0.25 it breaks down before t = 0.6, as its monitor says)
    "dqm-fit-D": ["--set", "n_save=3", "--set", "steps_per_save=30", "--set", "n_particles=2000"],
}  # fmt: skip


def _accept(tmp_path, name, free, data):
    """Exact data: every constant to 1e-4 relative (consistent, exit 0). Finite
    ensembles: an acceptable fit (exit 0, or 3 if it lies > 2σ from the quantum
    value) within 3 reported standard errors, a guard against gross errors
    (0.3 % of calibrated fits fail it per constant; seeded, so deterministic).
    Whether the errors are honest is a many-seed question: the old rule, within
    2σ at one seed, fails 5 % of honest fits; benchmarks/fit_calibration.py and
    test_calibration_slow answer it."""
    rc, s, _ = _fit(tmp_path, "--free", free, "--data", data, "--quick", *TINY[name], name=name)
    assert s is not None and s["converged"], s
    if data == "reference":
        assert max(s["relative_error"].values()) < 1e-4, s["relative_error"]
        assert rc == 0 and s["consistent"], (s["problems"], s["quantum"])
    else:
        assert max(s["error_over_stderr"].values()) < 3, s["error_over_stderr"]
        assert rc in (0, 3) and s["acceptable"], s["problems"]
    return s


@pytest.mark.slow  # 8 s; the toy fit and its round trip run by default
def test_accept_C_ensemble(tmp_path):
    _accept(tmp_path, "husimi-kerr", "C", "ensemble")


SLOW_CASES = [
    ("copy-fit-qr", "q,r", "reference"),  # 16 s; the default run accepts husimi-kerr C
    ("husimi-kerr", "C", "reference"),
    ("husimi-kerr", "C,U", "reference"),
    ("husimi-kerr", "C,U", "ensemble"),
    ("copy-fit-qr", "q,r", "ensemble"),
    ("dqm-fit-D", "D", "reference"),
    ("dqm-fit-D", "D", "ensemble"),
    ("dqm-fit-D", "D,mass", "reference"),
    ("dqm-fit-D", "D,mass", "ensemble"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, free, data", SLOW_CASES, ids=lambda x: str(x))
def test_accept_slow(tmp_path, name, free, data):
    _accept(tmp_path, name, free, data)


CALIBRATION_SEEDS = 40


@pytest.mark.slow
def test_calibration_slow():
    """The reported errors over many seeds of one cheap family (husimi-kerr's C
    from Husimi-sample data at the TINY sizes): 40 seeds' data fitted by one
    compiled `jqd.fit` (the replicas one after another, as --bootstrap does),
    each seed's errors by `jqd fit`'s estimator (COVARIANCE). For calibrated z ~
    N(0, 1): RMS z within the 99 % range of √(χ²_40/40), [0.72, 1.29], and
    ≥ 34 of 40 within 2σ (P(≤ 33) = 1.4 % at 95 % coverage); either fails for
    ~2 % of seed sets (seeded: the run is deterministic)."""
    from scipy.stats import binom, chi2

    from jqd._fit_covariance import covariance_from
    from jqdlab import registry
    from jqdlab.fit import COVARIANCE, problem, solve, spec_of

    exp = registry.load("husimi-kerr")
    quick = exp.config.quick()
    over = dict(item.split("=") for item in TINY["husimi-kerr"][1::2])  # the --set values
    config = dataclasses.replace(
        quick, **{k: type(getattr(quick, k))(float(v)) for k, v in over.items()}
    )
    spec = spec_of(exp)
    start = {"C": float(spec.start(config)["C"])}
    probs = [
        problem(exp, config, ("C",), start, "ensemble", seed) for seed in range(CALIBRATION_SEEDS)
    ]
    packed = [p.packed() for p in probs]
    data = {k: tuple(np.stack([d[k][i] for d in packed]) for i in range(2)) for k in packed[0]}
    res = solve(probs[0], theta0={"C": np.full(CALIBRATION_SEEDS, start["C"])}, data=data)
    C, truth = np.asarray(res.value["C"]), float(spec.truth(config)["C"])
    se = np.array([
        covariance_from(res.residuals[i], res.jacobian[i], C[i:i + 1], "known", COVARIANCE)["stderr"][0]
        for i in range(CALIBRATION_SEEDS)
    ])  # fmt: skip
    z = (C - truth) / se
    n = CALIBRATION_SEEDS
    lo, hi = np.sqrt(chi2.ppf([0.005, 0.995], n) / n)
    rms, inside = float(np.sqrt(np.mean(z**2))), int(np.sum(np.abs(z) <= 2))
    assert res.converged and binom.cdf(33, n, 0.954) < 0.02
    assert lo <= rms <= hi and inside >= 34, (rms, inside, np.round(z, 2).tolist())


@pytest.mark.slow
def test_bootstrap_matches_hessian_stderr(tmp_path):
    """Residual bootstrap (200 refits) of (q, r) from copy-process data vs the
    Gauss-Newton standard errors at the residuals' own scale s = √(χ²/dof)
    (what a residual bootstrap reproduces to first order, whatever the data's
    stated errors): equal within the bootstrap's sampling error (relative
    √(1/2B) = 5%; bound 25%). Whether the stated errors are honest is a
    separate question: benchmarks/fit_calibration.py."""
    rc, s, _ = _fit(
        tmp_path, "--free", "q,r", "--data", "ensemble", "--quick", "--bootstrap", "200",
        "--set", "n_save=3", "--set", "replicas=12", name="copy-fit-qr",
    )  # fmt: skip
    ratios = s["bootstrap"]["ratio_to_scaled_hessian"]
    assert all(0.75 < r < 1.25 for r in ratios.values()), (ratios, s["bootstrap"])


@pytest.mark.slow
def test_family_fits_report_stderr():
    """jqd.copy.fit_qr returns standard errors (a thin layer over jqd.fit)."""
    k1, k2 = jax.random.split(jax.random.key(1))
    H = jqd.fock.random_hermitian(k1, 2)
    psi0 = jnp.array([0.8, 0.6j])
    res = jqd.copy.fit_qr(H, psi0, jnp.linspace(0.0, 1.0, 5), dt=0.05)
    assert np.isfinite(res.stderr["q"]) and res.stderr["q"] > 0
