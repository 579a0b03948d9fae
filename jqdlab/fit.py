"""`jqd fit`: recover an experiment's constants by least squares through its `sweep`.

The user's side (data sources, error bars, the verdict and exit status) is
docs/cli.md; why the error estimator is the Birge-widened Gauss-Newton one:
docs/internals/run.md#fit-errors.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._sweep_report import output_dims, write_netcdf
from .experiment import config_to_dict, dumps
from .registry import UsageError, did_you_mean, discover, experiment_source, field_types
from .results import CompileTimer, environment, make_dirs
from .storage import write_text_atomic

STEP_TOL = 1e-3  # converged: the Gauss-Newton step is below 1e-3 standard errors
P_VALUE_MIN = 1e-3  # with known errors, χ² must not be improbable at this level
# the covariance reported with stated data errors (`jqd.covariance_from`); why:
# docs/internals/run.md#fit-errors
COVARIANCE = "birge"
CONSISTENT_Z = 2.0  # consistent with the quantum value: |fitted − quantum| <= 2 stderr
EXACT_RELATIVE = 1e-4  # exact data: |fitted − quantum| <= 1e-4 |quantum| (issue 16's acceptance)
EXIT_INCONSISTENT = 5  # an acceptable fit that contradicts the quantum value (3: --out locked)


@dataclasses.dataclass(frozen=True)
class FitSpec:
    """How `jqd fit` fits an experiment's constants through its `sweep`.

    Attributes:
        keys: the float config fields a fit may free (each a `sweep_keys` entry).
        reference: `reference(config) -> {output: array}`: exact data for some
            outputs of `sweep` (same shapes, no item axis), made at the quantum
            values `truth(config)` of the keys.
        truth: `truth(config) -> {key: value}`: the values the reference and
            ensemble data were made with (quantum mechanics), to report errors.
        ensemble: optional `ensemble(config, key) -> {output: array,
            output + "_stderr": array}`: finite-ensemble data with their
            standard errors (size from config keys, noise from the PRNG `key`).
        start: `start(config) -> {key: value}`: default starting values.
        transforms: key -> "positive" (fit ln of it; default: none).
        nonfinite: loss value that stands in for a non-finite model (lets the
            line search back off from where the law breaks down); None: none.
        notes: key or key pair "D,mass" -> a sentence on what the default data
            determine (e.g. a combination that is not identifiable).
    """

    keys: tuple[str, ...]
    reference: Callable
    truth: Callable
    start: Callable
    ensemble: Callable | None = None
    transforms: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)
    nonfinite: float | None = None
    notes: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)


@dataclasses.dataclass
class FitProblem:
    """One fit, ready to run: the model, the data and the starting point."""

    exp: Any
    config: Any
    free: tuple[str, ...]
    start: dict[str, float]
    data: dict[str, np.ndarray]  # output -> data (complex allowed)
    stderr: dict[str, np.ndarray] | None  # output -> standard errors, or None
    source: str
    truth: dict[str, float] | None
    coords: dict[str, np.ndarray]

    @property
    def sigma(self) -> str:
        return "known" if self.stderr is not None else "estimated"

    def residuals(self, theta, data):
        """(sweep(theta) − data)/s, every output raveled and concatenated (complex: re, im)."""
        import jax.numpy as jnp

        out = self.exp.sweep(self.config, dict(theta))
        parts = []
        for name in sorted(self.data):
            y, w = data[name]
            r = (jnp.asarray(out[name]) - y) * w
            parts += [jnp.ravel(r.real), jnp.ravel(r.imag)] if jnp.iscomplexobj(r) else [r.ravel()]
        return jnp.concatenate(parts)

    def fitted(self, r) -> dict[str, np.ndarray]:
        """The model's outputs at the fit, data + r/weight (inverts `residuals`)."""
        r, out, i = np.asarray(r), {}, 0
        for name, (y, w) in self.packed().items():
            m = y.size
            if np.iscomplexobj(y):
                part, i = r[i : i + m] + 1j * r[i + m : i + 2 * m], i + 2 * m
            else:
                part, i = r[i : i + m], i + m
            out[name] = y + part.reshape(y.shape) / w
        return out

    def packed(self):
        """The data pytree `residuals` takes: output -> (values, weights 1/s), with s
        the standard errors, or else each variable's RMS."""
        out = {}
        for k in sorted(self.data):
            y = np.asarray(self.data[k])
            if self.stderr is not None:
                w = 1.0 / self.stderr[k]
            else:
                rms = float(np.sqrt(np.mean(np.abs(y) ** 2)))
                w = np.full(y.shape, 1.0 / (rms if rms > 0 else 1.0))
            out[k] = (y, np.asarray(w))
        return out


# -- the command line's pieces ------------------------------------------------------
def spec_of(exp) -> FitSpec:
    spec = getattr(exp, "fit", None)
    if spec is None or exp.sweep is None:
        # read, not imported: the experiments whose EXPERIMENT passes a fit= spec
        fittable = [
            n for n, p in discover().items() if "fit" in (experiment_source(p) or ((), {}))[1]
        ]
        raise UsageError(
            f"{exp.name} has no fit specification (Experiment.fit); experiments that can be "
            f"fitted: {', '.join(fittable) or 'none'}."
        )
    return spec


def parse_free(exp, spec: FitSpec, items: list[str]) -> tuple[str, ...]:
    """`--free C --free q,r` -> ("C", "q", "r"), each a key the spec allows."""
    keys = [k.strip() for item in items for k in item.split(",") if k.strip()]
    if not keys:
        raise UsageError(f"give --free KEY[,KEY...]; {exp.name} can fit {', '.join(spec.keys)}.")
    for k in keys:
        if k not in spec.keys:
            known = k in field_types(exp.config)
            why = "is not one of the constants it can fit" if known else "is not a config key"
            raise UsageError(
                f"--free {k}: {k} {why} for {exp.name}{did_you_mean(k, spec.keys)}; free some "
                f"of {', '.join(spec.keys)}."
            )
    if len(set(keys)) != len(keys):
        raise UsageError(f"--free names a key twice: {', '.join(keys)}.")
    return tuple(keys)


def parse_start(exp, spec: FitSpec, config, free, items: list[str]) -> dict[str, float]:
    """Default starts from the spec, then `--start KEY=VALUE` (each a freed key)."""
    start = {k: float(v) for k, v in spec.start(config).items() if k in free}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in free:
            raise UsageError(
                f"--start expects KEY=VALUE for a freed key ({', '.join(free)}); got {item!r}."
            )
        try:
            start[key] = float(text)
        except ValueError:
            raise UsageError(f"--start {item!r}: {text!r} is not a number.") from None
    for key in free:
        value = start.get(key, getattr(config, key))
        positive = spec.transforms.get(key) == "positive"
        if not np.isfinite(value) or (positive and value <= 0):
            end = " and > 0 (fitted as ln)." if positive else "."
            raise UsageError(f"start value {key}={value:g} is not allowed: it must be finite{end}")
        start[key] = float(value)
    return start


def read_data(path: Path, template: dict, coords: dict, model=None):
    """(data, stderr or None) from a NetCDF file of the sweep's output names (`template`:
    name -> array of its shape; `coords`: the model's `sweep_coords`), made at `model` =
    (experiment, {key: value}) where the file records it."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise UsageError(
            f"--data {path}: no such file (give a NetCDF file, 'reference' or 'ensemble')."
        )
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception as err:  # noqa: BLE001 (any reader failure is the file's)
        raise UsageError(f"--data {path}: not a readable NetCDF file ({err}).") from None
    if model is not None:
        _check_made_at(path, ds.attrs, *model)
    data, stderr = {}, {}
    for name, ref in template.items():
        var = _variable(ds, name)
        if var is None:
            continue
        dims = output_dims(name, np.shape(ref), coords)
        if tuple(var.dims) != tuple(dims) or var.shape != np.shape(ref):
            raise UsageError(
                f"--data {path}: variable {name!r} has dims {dict(zip(var.dims, var.shape))}; "
                f"the model's {name!r} has {dict(zip(dims, np.shape(ref)))}."
            )
        for d in dims:
            if d in coords and d in ds.coords:
                if not np.allclose(ds[d].values, coords[d], rtol=1e-9, atol=1e-12):
                    raise UsageError(
                        f"--data {path}: coordinate {d!r} of {name!r} differs from the model's "
                        f"({np.asarray(coords[d])[:3]}...); write the data at the model's {d}."
                    )
            elif d in coords:
                raise UsageError(f"--data {path}: {name!r} lacks its coordinate {d!r}.")
        values = np.asarray(var.values)
        if not np.all(np.isfinite(values)):
            raise UsageError(f"--data {path}: variable {name!r} holds NaN or inf values.")
        data[name] = values
        err_var = _variable(ds, f"{name}_stderr")
        if err_var is not None:
            s = np.asarray(err_var.values, float)
            if s.shape != values.shape or not np.all(np.isfinite(s)) or not np.all(s > 0):
                raise UsageError(
                    f"--data {path}: {name}_stderr must have the shape of {name} "
                    f"{values.shape} with finite values > 0."
                )
            stderr[name] = s
    if not data:
        raise UsageError(
            f"--data {path}: no variable named like a model output; expected some of "
            f"{', '.join(sorted(template))} (found {', '.join(map(str, ds.data_vars)) or 'none'})."
        )
    if stderr and set(stderr) != set(data):
        raise UsageError(
            f"--data {path}: give <name>_stderr for every fitted variable or for none "
            f"(have it for {', '.join(sorted(stderr))}, fitting {', '.join(sorted(data))})."
        )
    return data, (stderr or None)


def _check_made_at(path, attrs, name: str, model: dict) -> None:
    """Refuse data made by another experiment or at other values of a key the model reads."""
    made = attrs.get("experiment")
    if made is not None and made != name:
        raise UsageError(
            f"--data {path}: the data were made by {made}, not {name} (its experiment "
            f"attribute); fit them with jqd fit {made}, or give data made by {name}."
        )
    try:
        config = json.loads(attrs["config"])
    except (KeyError, TypeError, ValueError):
        return  # not written by jqd: nothing recorded to compare
    diff = {k: (config[k], v) for k, v in model.items() if k in config and not _same(config[k], v)}
    if diff:
        sets = " ".join(f"--set {k}={_text(a)}" for k, (a, _) in diff.items())
        raise UsageError(
            f"--data {path} was made at "
            + ", ".join(f"{k}={_text(a)}" for k, (a, _) in diff.items())
            + " (its config attribute) but the model has "
            + ", ".join(f"{k}={_text(b)}" for k, (_, b) in diff.items())
            + f"; rerun with {sets}, or make the data at this configuration."
        )


def _same(a, b) -> bool:
    """Config values equal, numbers to 1e-12 relative (values read back from JSON)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12)
    return a == b


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _reading(config):
    """A copy of `config` that notes which of its fields are read, and that set."""
    fields, read = {f.name for f in dataclasses.fields(config)}, set()

    def get(self, name):
        if name in fields:
            read.add(name)
        return object.__getattribute__(self, name)

    cls = type(config)
    spy = copy.copy(config)
    ns = {"__getattribute__": get, "__slots__": ()}
    object.__setattr__(spy, "__class__", type(cls.__name__, (cls,), ns))
    return spy, read


def _variable(ds, name):
    if name in ds.data_vars:
        return ds[name]
    if f"{name}_real" in ds.data_vars and f"{name}_imag" in ds.data_vars:
        return ds[f"{name}_real"] + 1j * ds[f"{name}_imag"]
    return None


def problem(exp, config, free, start, source: str, seed: int) -> FitProblem:
    """Data and model for `jqd fit` (the sweep's size parameters fixed first)."""
    import jax

    spec = spec_of(exp)
    if exp.sweep_config is not None:
        over = {k: np.array([getattr(config, k), start[k]]) for k in free}
        config = exp.sweep_config(config, over)
    coords = {k: np.asarray(v) for k, v in (exp.sweep_coords or (lambda c: {}))(config).items()}
    if source == "reference":
        data, stderr = _arrays(spec.reference(config)), None
    elif source == "ensemble":
        if spec.ensemble is None:
            raise UsageError(f"{exp.name} has no finite-ensemble data; use --data reference.")
        raw = _arrays(spec.ensemble(config, jax.random.key(seed)))
        stderr = {k[: -len("_stderr")]: v for k, v in raw.items() if k.endswith("_stderr")}
        data = {k: v for k, v in raw.items() if not k.endswith("_stderr")}
    else:
        # the model's config keys: those its sweep reads (recorded while it is traced)
        spy, read = _reading(config)
        shapes = jax.eval_shape(lambda: exp.sweep(spy, {}))
        template = {k: np.zeros(v.shape, v.dtype) for k, v in shapes.items()}
        values = config_to_dict(config)  # as the file records them (JSON)
        model = {k: values[k] for k in sorted(read - set(free))}
        data, stderr = read_data(Path(source), template, coords, (exp.name, model))
    bad = [k for k, v in data.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ValueError(f"{exp.name}: the {source} data of {', '.join(bad)} are not finite.")
    truth = spec.truth(config)  # what quantum mechanics gives at this config
    truth = {k: float(truth[k]) for k in free if k in truth}
    return FitProblem(exp, config, free, start, data, stderr, source, truth, coords)


def profile_likelihood(residuals, theta, data=None, **kwargs) -> dict:
    """`jqd.profile_likelihood`, imported on use (this module must load without jax)."""
    from jqd._fit_covariance import profile_likelihood as profile

    return profile(residuals, theta, data, **kwargs)


def _arrays(tree) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in dict(tree).items()}


def solve(prob: FitProblem, *, max_iter: int = 100, progress=False, theta0=None, data=None):
    """`jqd.fit` (L-BFGS) from the start values, or from `theta0` on replica `data`."""
    import jqd

    spec = spec_of(prob.exp)
    return jqd.fit(
        None,
        {k: float(prob.start[k]) for k in prob.free} if theta0 is None else theta0,
        residuals=prob.residuals,
        data=prob.packed() if data is None else data,
        batched=False if theta0 is None else "sequential",
        sigma=prob.sigma,
        transform={k: spec.transforms.get(k) for k in prob.free},
        max_iter=max_iter,
        step_tol=STEP_TOL,
        progress=progress,
        nonfinite=spec.nonfinite,
    )


def bootstrap(prob: FitProblem, result, n: int, seed: int) -> dict[str, np.ndarray]:
    """Residual bootstrap: `n` replicas model(θ̂) + resampled residuals × √(N/(N − p)) × s,
    refitted from θ̂ by one compiled `jqd.fit`; returns each key's (n,) values."""
    fitted = prob.fitted(result.residuals)
    packed = prob.packed()
    rng = np.random.default_rng(seed)
    r = np.asarray(result.residuals)
    pool = r * np.sqrt(r.size / max(r.size - len(prob.free), 1))
    reps = {}
    for k in sorted(packed):
        f, w = np.asarray(fitted[k]), packed[k][1]
        shape = (n,) + f.shape
        draw = rng.choice(pool, size=shape + ((2,) if np.iscomplexobj(f) else ()))
        noise = draw[..., 0] + 1j * draw[..., 1] if np.iscomplexobj(f) else draw
        reps[k] = (f[None] - noise / w, np.broadcast_to(w, shape).copy())
    theta0 = {k: np.full(n, float(result.value[k])) for k in prob.free}
    res = solve(prob, theta0=theta0, data=reps)
    return {k: np.asarray(res.value[k]) for k in prob.free}


# -- the command: run, records, report -------------------------------------------
COVARIANCE_NOTE = {
    "birge": "Gauss-Newton (J^T W J)^-1 with W = 1/stderr^2 from the data, times the "
    "Birge ratio max(1, chi2/dof): the stated errors are themselves estimated from few "
    "replicas, and data that scatter more than they say widen the errors "
    "(benchmarks/results_fit.md section 2).",
    "gauss-newton": "Gauss-Newton (J^T W J)^-1 with W = 1/stderr^2 from the data: the "
    "covariance of the linearised weighted least-squares estimate, and the inverse "
    "Fisher information of Gaussian errors; the full Hessian's extra term "
    "sum r_i grad^2 r_i has zero mean where the model is right, so it only adds noise.",
    "estimated": "Gauss-Newton s^2 (J^T W J)^-1 with s^2 = chi2/(n - p), W = 1/RMS^2 per "
    "variable: no standard errors were given, so the common noise level (for exact "
    "data, the model's own discretisation error) is estimated from the misfit itself, "
    "as for least squares with unknown error variance.",
}
REFERENCE_MISFIT = 1e-4  # exact data: the misfit is the model's discretisation error, << this
CONDITION_MAX = 1e12  # scaled Fisher matrix: beyond this a combination is not identifiable
# per kind of data ("reference", or else the errors' sigma): what the stderr means,
# and how the goodness of fit was tested
STDERR_MEANING = {
    "reference": "none: exact data, so the error bar is the model's discretisation misfit "
    "(s^2 = chi2/dof), not a statistical error",
    "known": "statistical: from the data's stated standard errors by the {!r} "
    "estimator (covariance_method; error_scale its factor); the profile likelihood "
    "interval beside it (profile)",
    "estimated": "statistical, if the data are noisy: noise level estimated from the misfit",
}
GOODNESS = {
    "reference": f"tested: relative RMS misfit to the exact reference (<= {REFERENCE_MISFIT:g})",
    "known": f"tested: chi2 p-value against the data's standard errors (>= {P_VALUE_MIN:g})",
    "estimated": "untested: the data have no standard errors (<name>_stderr), so the noise "
    "level is estimated from the misfit itself and chi2 says nothing",
}


def run_fit(exp, config, free, start, out: Path, args) -> dict:
    """Fit (`args`: `jqd fit`'s options), write `out`/summary.json, data.nc, fit.png;
    returns the summary."""
    from scipy.stats import chi2

    from jqd import fit_covariance

    source, quick, n_bootstrap = args.data, args.quick, args.bootstrap
    seed = 0 if args.seed is None else args.seed
    make_dirs(out)
    (out / "summary.json").unlink(missing_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    with CompileTimer() as timer:
        prob = problem(exp, config, free, start, source, seed)
        t_data = time.perf_counter() - t0
        res = solve(prob, max_iter=args.max_iter, progress=not args.no_progress)
        full = None
        if args.full_hessian:
            full = fit_covariance(
                prob.residuals, res.value, prob.packed(), sigma=prob.sigma, hessian="full"
            )
        boot = bootstrap(prob, res, n_bootstrap, seed) if n_bootstrap > 0 else None
        cov, stderr, factor = reported_covariance(prob, res)
        # exact data: the error bar is no statistical one, so neither is a profile of it
        prof = _profile(prob, res, factor) if prob.source != "reference" else None
    wall = time.perf_counter() - t0
    with np.errstate(all="ignore"):
        d = np.sqrt(np.abs(np.diagonal(cov)))
        correlation = np.where(np.isfinite(cov), cov / np.outer(d, d), np.nan)
    keys = sorted(free)  # the covariance's order: jax flattens a dict by sorted keys
    value = {k: float(res.value[k]) for k in free}
    stated = {k: float(res.stderr[k]) for k in free}
    known = prob.sigma == "known"
    kind = "reference" if prob.source == "reference" else prob.sigma
    s = {
        "experiment": exp.name,
        "quick": bool(quick),
        "seed": int(seed),
        "config": config_to_dict(prob.config),
        "free": list(free),
        "parameters": keys,
        "start": {k: float(start[k]) for k in free},
        "data": source,
        "data_variables": sorted(prob.data),
        "n_data": int(res.dof + len(free)),
        "value": value,
        "stderr": stderr,
        "stderr_stated": stated if known else None,
        # the factor of the estimator used (COVARIANCE): for "birge", √max(1, χ²/dof)
        "error_scale": factor if known and np.isfinite(factor) else None,
        "profile": prof,
        "stderr_meaning": STDERR_MEANING[kind].format(COVARIANCE),
        "stderr_full_hessian": None
        if full is None
        else {k: float(full["stderr"][k]) for k in free},
        "covariance": cov.tolist(),
        "correlation": correlation.tolist(),
        "sigma": prob.sigma,
        "covariance_method": COVARIANCE_NOTE[COVARIANCE if known else "estimated"],
        "chi2": float(res.chi2),
        "dof": int(res.dof),
        "reduced_chi2": float(res.chi2) / max(int(res.dof), 1),
        "relative_misfit": None if known else float(np.sqrt(res.chi2 / (res.dof + len(free)))),
        "p_value": float(chi2.sf(float(res.chi2), max(int(res.dof), 1))) if known else None,
        "loss": float(res.loss),
        "iterations": int(res.iterations),
        "converged": bool(res.converged),
        "convergence": f"Gauss-Newton step < {STEP_TOL:g} standard errors in every parameter",
        "condition": float(res.condition),
        "truth": prob.truth,
        "history": np.asarray(res.history, float).tolist(),
        "path": {k: [float(p[k]) for p in res.path] for k in free},
        "started": started,
        "wall_time_s": wall,
        "data_time_s": t_data,
        "compile_time_s": timer.seconds,
        "environment": environment(),
    }
    if prob.truth:
        err = {k: value[k] - prob.truth[k] for k in prob.truth}
        s["error"] = err
        s["relative_error"] = {
            k: abs(e) / abs(prob.truth[k]) if prob.truth[k] else abs(e) for k, e in err.items()
        }
        s["error_over_stderr"] = (
            None  # exact data: the stderr is the discretisation misfit, not a statistical error
            if prob.source == "reference"
            else {k: abs(e) / stderr[k] if stderr[k] > 0 else float("inf") for k, e in err.items()}
        )
    s["quantum"] = _quantum(s, exact=prob.source == "reference")
    s["consistent"] = (
        None if not s["quantum"] else all(q["consistent"] for q in s["quantum"].values())
    )
    if boot is not None:
        bse = {k: float(np.std(boot[k], ddof=1)) for k in free}
        scale = float(np.sqrt(res.chi2 / res.dof)) if known and res.dof > 0 else 1.0
        s["bootstrap"] = {
            "replicas": int(n_bootstrap),
            "method": "residual bootstrap: model(fit) + resampled standardised residuals "
            "x sqrt(n/(n-p)), each replica refitted (one vmapped jqd.fit)",
            "stderr": bse,
            "ratio_to_hessian": {k: bse[k] / stderr[k] if stderr[k] > 0 else None for k in free},
            # the residual bootstrap draws noise of the residuals' own scale s² = χ²/dof:
            # to first order it reproduces s·(JᵀWJ)^-1/2, whatever the data's stated errors
            "ratio_to_scaled_hessian": {
                k: bse[k] / (stated[k] * scale) if stated[k] > 0 else None for k in free
            },
            "residual_scale": scale,
        }
    s["problems"] = _problems(s, spec_of(exp), cov)
    s["acceptable"] = not s["problems"]
    s["goodness_of_fit"] = GOODNESS[kind]
    _write_data(out, exp, prob, res)
    _figure(out, s, prob, res)
    write_text_atomic(out / "summary.json", dumps(s))
    return s


def reported_covariance(prob: FitProblem, res):
    """(covariance, stderr, factor): stated errors by `COVARIANCE`, else the fit's own;
    factor multiplies the Gauss-Newton errors (NaN for a sandwich estimator)."""
    from jqd._fit_covariance import covariance_from  # jqd.covariance_from

    keys = sorted(prob.free)
    flat = np.array([float(res.value[k]) for k in keys])
    c = covariance_from(res.residuals, res.jacobian, flat, prob.sigma, COVARIANCE)
    if prob.sigma != "known":  # the fit's own covariance (the same s²(JᵀWJ)⁻¹)
        return np.asarray(res.covariance), {k: float(res.stderr[k]) for k in prob.free}, c["scale"]
    se = dict(zip(keys, map(float, c["stderr"]), strict=True))
    return np.asarray(c["covariance"]), {k: se[k] for k in prob.free}, float(c["scale"])


def _profile(prob: FitProblem, res, factor: float) -> dict | None:
    """Each freed constant's profile interval (Δχ² <= factor²) and z at the quantum
    value (internals/run.md#fit-errors); None for an estimator without one factor."""
    if not np.isfinite(factor):
        return None
    t0 = time.perf_counter()
    at = {k: float((prob.truth or {}).get(k, np.nan)) for k in prob.free}
    p = profile_likelihood(
        prob.residuals, {k: float(res.value[k]) for k in prob.free}, prob.packed(),
        scale=factor, at=at if prob.truth else None,
    )  # fmt: skip
    pick = lambda tree: {k: float(tree[k]) for k in prob.free}
    return {
        "lower": pick(p["lower"]),
        "upper": pick(p["upper"]),
        "z": None if p["z"] is None else pick(p["z"]),
        "scale": factor,
        "meaning": "the interval where chi2, re-minimised over the other freed constants, "
        "is within scale^2 of its minimum (lower: fitted - its lower end; upper: its upper "
        "end - fitted); z: sign(fitted - quantum) sqrt(chi2_profile(quantum) - chi2_min)/scale",
        "evaluations": int(p["evaluations"]),
        "time_s": time.perf_counter() - t0,
    }


def _quantum(s, exact: bool) -> dict:
    """Each fitted constant against its quantum value: |z| <= CONSISTENT_Z for noisy
    data, relative error <= EXACT_RELATIVE for exact data."""
    out = {}
    for k, q in (s.get("truth") or {}).items():
        e = s["error"][k]
        if exact:
            rel = s["relative_error"][k]
            out[k] = {"quantum_value": q, "error": e, "relative_error": rel,
                      "rule": f"relative error <= {EXACT_RELATIVE:g} (exact data)",
                      "consistent": bool(rel <= EXACT_RELATIVE)}  # fmt: skip
        else:
            se = s["stderr"][k]
            z_gn = e / se if se > 0 else math.copysign(math.inf, e) if e else 0.0
            z = ((s.get("profile") or {}).get("z") or {}).get(k, math.nan)
            how = "profile likelihood" if math.isfinite(z) else "reported standard errors"
            z = z if math.isfinite(z) else z_gn
            out[k] = {"quantum_value": q, "error": e, "z": z, "z_stderr": z_gn, "z_from": how,
                      "rule": f"|z| <= {CONSISTENT_Z:g} ({how})",
                      "consistent": bool(abs(z) <= CONSISTENT_Z)}  # fmt: skip
    return out


def _problems(s, spec, cov) -> list[str]:
    out = []
    if not s["converged"]:
        out.append(f"not converged in {s['iterations']} iterations ({s['convergence']} not met)")
    if not np.all(np.isfinite(cov)) or not s["condition"] < CONDITION_MAX:
        pair = ",".join(s["free"])
        note = spec.notes.get(pair) or "; ".join(spec.notes.get(k, "") for k in s["free"]).strip(
            "; "
        )
        out.append(
            "not identifiable: the data do not fix "
            + ("every freed constant" if len(s["free"]) > 1 else s["free"][0])
            + f" (scaled Fisher matrix condition {s['condition']:.3g})"
            + (f"; {note}" if note else "")
        )
    if s["data"] == "reference" and not s["relative_misfit"] <= REFERENCE_MISFIT:
        out.append(
            f"the model does not reproduce the exact reference data: relative RMS misfit "
            f"{s['relative_misfit']:.3g} > {REFERENCE_MISFIT:g} (a wrong basin, or a model that "
            "cannot describe the data; try another --start)"
        )
    p = s["p_value"]
    if p is not None and p < P_VALUE_MIN:
        out.append(
            f"the model does not describe the data within their errors: chi2 = {s['chi2']:.4g} "
            f"for {s['dof']} degrees of freedom (p = {p:.2g} < {P_VALUE_MIN:g})"
        )
    return out


def _write_data(out: Path, exp, prob, res) -> None:
    """data.nc: the data, `<name>_stderr`, `fitted_<name>`; a valid `--data` file."""
    import xarray as xr

    fitted = prob.fitted(res.residuals)
    vars_ = {}
    for name, y in prob.data.items():
        dims = output_dims(name, np.shape(y), prob.coords)
        vars_[name] = (dims, y, {"long_name": f"{name}: the {prob.source} data fitted"})
        model = f"{name}: the model at the fitted {', '.join(prob.free)}"
        vars_[f"fitted_{name}"] = (dims, np.asarray(fitted[name]), {"long_name": model})
        if prob.stderr is not None:
            error = {"long_name": f"{name}: standard error of the data"}
            vars_[f"{name}_stderr"] = (dims, prob.stderr[name], error)
    used = {d for dims, *_ in vars_.values() for d in dims}
    coords = {k: v for k, v in prob.coords.items() if k in used}
    ds = xr.Dataset(vars_, coords=coords, attrs={"data": str(prob.source)})
    title = f"jqd fit {exp.name} --free {','.join(prob.free)}"
    write_netcdf(ds, exp, prob.config, title, out / "data.nc")


def _fit_panels(axes, prob: FitProblem, res) -> None:
    """Data against the fitted model (one panel per output, up to two) and the
    residuals in units of σ (the data's standard errors, or each output's RMS)."""
    from .toolkit import panel

    fitted = prob.fitted(res.residuals)
    names = sorted(prob.data)
    packed = prob.packed()
    unit = "stderr" if prob.stderr is not None else "RMS of the output"
    for ax, name in zip(axes[:-1], names, strict=False):
        y, m = np.asarray(prob.data[name]), np.asarray(fitted[name])
        dims = output_dims(name, y.shape, prob.coords)
        if y.ndim == 1 and dims[0] in prob.coords:
            x, xlabel = np.asarray(prob.coords[dims[0]], float), dims[0]
        else:
            x, xlabel = np.arange(y.size), f"index of {name} ({' x '.join(dims)}, raveled)"
        parts = [("", np.real)] + ([(" (imag)", np.imag)] if np.iscomplexobj(y) else [])
        for (suffix, part), marker in zip(parts, "os", strict=False):
            every = max(1, y.size // 60)
            err = None if prob.stderr is None else np.ravel(prob.stderr[name])[::every]
            ax.errorbar(x[::every], np.ravel(part(y))[::every], err, fmt=marker, ms=4,
                        mfc="none", capsize=0, label=f"data{suffix}")  # fmt: skip
            ax.plot(x, np.ravel(part(m)), "-", lw=1.2, label=f"fitted model{suffix}")
        every_note = f", every {every}th point" if every > 1 else ""
        title = f"{name}: {prob.source} data{every_note}"
        panel(ax, xlabel, name, title, loc="best")
    ax = axes[-1]
    i = 0
    for name, marker in zip(names, "os^vD" * 4, strict=False):
        y, w = packed[name]
        r = (np.asarray(fitted[name]) - y) * w
        r = np.concatenate([r.real.ravel(), r.imag.ravel()]) if np.iscomplexobj(r) else r.ravel()
        ax.plot(i + np.arange(r.size), r, marker, ms=3, label=name)
        i += r.size
    if prob.stderr is not None:
        for level in (-2, 2):
            ax.axhline(level, color="k", ls=":", lw=1, label="± 2" if level > 0 else None)
    ax.axhline(0, color="0.5", lw=0.8)
    rms = float(np.sqrt(np.mean(np.asarray(res.residuals) ** 2)))
    panel(ax, "data point (outputs in turn)", f"(model − data) / {unit.split(' ')[0]}",
          f"residuals (RMS {rms:.3g} {unit})", legend=True, loc="best")  # fmt: skip


def _figure(out: Path, s, prob: FitProblem | None = None, res=None) -> None:
    """fit.png: the data against the fitted model and its residuals (when `prob`
    and `res` are given), the loss by iteration and each freed constant's
    iterates, laid out by panel count."""
    import matplotlib.pyplot as plt

    from .figure_check import figure_problems
    from .toolkit import panel, panel_grid

    free = s["free"]
    n_fit = 0 if prob is None else min(2, len(prob.data)) + 1
    rows, cols, size = panel_grid(n_fit + 1 + len(free), width=4.6, height=3.8)
    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")
    axes = list(axes.flat)
    for ax in axes[n_fit + 1 + len(free) :]:
        ax.set_visible(False)
    if prob is not None:
        _fit_panels(axes[:n_fit], prob, res)
    ax = axes[n_fit]
    hist = np.maximum(np.asarray(s["history"], float), 1e-300)
    ax.semilogy(np.arange(len(hist)), hist, "o-", ms=3)
    panel(ax, "L-BFGS iteration", "loss ½Σr² (dimensionless)", "loss")
    for ax, k in zip(axes[n_fit + 1 :], free, strict=False):
        path = s["path"][k]
        ax.plot(np.arange(len(path)), path, "o-", ms=3, label=f"{k} iterates")
        v, e = s["value"][k], s["stderr"][k]
        exact = s["data"] == "reference"  # the error bar is the discretisation misfit
        if np.isfinite(e) and not exact:
            ax.axhspan(v - 2 * e, v + 2 * e, color="C1", alpha=0.25, label="fit ± 2 stderr")
        if s["truth"] and k in s["truth"]:
            ax.axhline(s["truth"][k], color="k", ls="--", lw=1, label="quantum value")
        title = f"{k} = {v:.8g}" + (" (exact data)" if exact else f" ± {e:.2g}")
        panel(ax, "L-BFGS iteration", k, title, legend=True, loc="best")
    fig.suptitle(f"jqd fit {s['experiment']} --free {','.join(free)} (data: {s['data']})")
    fig.savefig(out / "fit.png", dpi=110)
    s["figure_problems"] = figure_problems(fig, laid_out=True)  # jqdlab.figure_check
    plt.close(fig)


def summary_text(s, out: Path) -> str:
    """The short SUMMARY printed on stdout."""
    verdict = "ACCEPTABLE" if s["acceptable"] else "NOT ACCEPTABLE"
    if s["goodness_of_fit"].startswith("untested"):
        verdict += " (goodness of fit untested: no standard errors in the data)"
    off = [k for k, q in (s.get("quantum") or {}).items() if not q["consistent"]]
    if off:
        verdict += f"; INCONSISTENT WITH THE QUANTUM VALUE of {', '.join(off)}"
    elif s.get("consistent"):
        verdict += "; consistent with the quantum values"
    lines = [
        f"{s['experiment']} fit of {', '.join(s['free'])} to {s['data']} data: {verdict} "
        f"({s['iterations']} iterations, {s['wall_time_s']:.1f} s, compile "
        f"{s['compile_time_s']:.1f} s); results in {out}",
    ]
    exact = s["data"] == "reference"
    for k in s["free"]:
        line = f"  {k} = {s['value'][k]:.10g}"
        line += " (exact data: no statistical error bar)" if exact else f" ± {s['stderr'][k]:.3g}"
        prof = s.get("profile")
        if prof is not None and math.isfinite(prof["lower"][k] + prof["upper"][k]):
            line += f" (profile -{prof['lower'][k]:.3g} +{prof['upper'][k]:.3g})"
        q = (s.get("quantum") or {}).get(k)
        if q is not None:
            word = "consistent" if q["consistent"] else "INCONSISTENT"
            if exact:
                line += (
                    f"   quantum value {q['quantum_value']:g}: relative error "
                    f"{q['relative_error']:.2g}, {word} (rule: <= {EXACT_RELATIVE:g})"
                )
            else:
                line += (
                    f"   quantum value {q['quantum_value']:g}: |fitted - quantum| = "
                    f"{abs(q['z']):.2f} standard errors, {word} (rule: <= {CONSISTENT_Z:g}; "
                    f"{q['z_from']})"
                )
        if "bootstrap" in s:
            line += f"   bootstrap stderr {s['bootstrap']['stderr'][k]:.3g}"
        lines.append(line)
    gof = f"chi2 = {s['chi2']:.4g} for {s['dof']} dof"
    gof += f", p = {s['p_value']:.3g}" if s["p_value"] is not None else ""
    if s.get("error_scale") is not None:
        gof += f"; errors = stated x {s['error_scale']:.3g} ({COVARIANCE})"
    lines.append(f"  {gof}; covariance: {s['sigma']} errors ({s['covariance_method'][:60]}...)")
    lines += [f"  problem: {p}" for p in s["problems"]]
    return "\n".join(lines)
