"""`jqd fit`: recover an experiment's constants by gradient descent through its law.

An experiment's `sweep(config, values)` (pure, vmappable, differentiable in
the swept float config values) is the model; its `Experiment.fit`, a
`FitSpec`, says which config keys a fit may free and where data come from:

    jqd fit NAME --free C [--free q,r] [--start C=0.5] [--data reference|ensemble|FILE.nc]
            [--quick] [--set KEY=VALUE] [--out DIR] [--seed N] [--bootstrap B]

Data: `reference` (default) is the experiment's exact reference at the
quantum values of the constants (`FitSpec.reference`); `ensemble` a finite
ensemble of the experiment's stochastic process (`FitSpec.ensemble`, its size
set by config keys, e.g. `--set n_particles=...`, its noise by `--seed`),
with standard errors from the ensemble; a NetCDF file holds variables named
like the sweep's outputs (their coordinates checked against the sweep's
`sweep_coords`), with optional `<name>_stderr` variables.

Loss: weighted least squares, ½ Σ_v Σ_i r_vi², r = (model − data)/s with s
the data's standard errors (`sigma="known"`) or, without them, the RMS of
each variable's data (`sigma="estimated"`: relative misfits, the common
noise level estimated from the fit). `jqd.fit` minimises it (optax L-BFGS)
and returns the Gauss-Newton covariance (`jqd.fit_covariance`); its module
docstring says why that covariance is the right one. Outputs in `--out`:
summary.json, data.nc (the data fitted, in the sweep's names: a valid
`--data` file), fit.png (loss curve and parameter paths); a short summary on
stdout. The writing and reporting live in `jqd.run._fit_report`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .registry import UsageError, field_types

DATA_SOURCES = ("reference", "ensemble")
STEP_TOL = 1e-3  # converged: the Gauss-Newton step is below 1e-3 standard errors
P_VALUE_MIN = 1e-3  # with known errors, χ² must not be improbable at this level


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

    def weights(self) -> dict[str, np.ndarray]:
        """1/s per data point: the standard errors, or each variable's RMS."""
        if self.stderr is not None:
            return {k: 1.0 / self.stderr[k] for k in self.data}
        return {k: np.full(np.shape(v), 1.0 / _rms(v)) for k, v in self.data.items()}

    def model(self, theta):
        """The sweep's outputs at the free values `theta` (a dict of scalars)."""
        return self.exp.sweep(self.config, dict(theta))

    def residuals(self, theta, data):
        """(model − data)/s, all fitted outputs concatenated (real and imaginary
        parts of complex ones)."""
        import jax.numpy as jnp

        out = self.model(theta)
        parts = []
        for name in sorted(self.data):
            y, w = data[name]
            r = (jnp.asarray(out[name]) - y) * w
            parts += [jnp.ravel(r.real), jnp.ravel(r.imag)] if jnp.iscomplexobj(r) else [r.ravel()]
        return jnp.concatenate(parts)

    def fitted(self, r) -> dict[str, np.ndarray]:
        """The model's outputs from the flattened residuals `r` at the fit
        (data + r/weight, inverting `residuals`; no model evaluation)."""
        r, w, out, i = np.asarray(r), self.weights(), {}, 0
        for name in sorted(self.data):
            y = np.asarray(self.data[name])
            m = y.size
            if np.iscomplexobj(y):
                part = r[i : i + m] + 1j * r[i + m : i + 2 * m]
                i += 2 * m
            else:
                part, i = r[i : i + m], i + m
            out[name] = y + part.reshape(y.shape) / w[name]
        return out

    def packed(self):
        """The data pytree `residuals` takes: output -> (values, weights)."""
        w = self.weights()
        return {k: (np.asarray(self.data[k]), np.asarray(w[k])) for k in sorted(self.data)}


def _rms(v) -> float:
    rms = float(np.sqrt(np.mean(np.abs(np.asarray(v)) ** 2)))
    return rms if rms > 0 else 1.0


# -- the command line's pieces ------------------------------------------------------
def spec_of(exp) -> FitSpec:
    from .registry import discover

    spec = getattr(exp, "fit", None)
    if spec is None or exp.sweep is None:
        # read, not imported: the experiments whose EXPERIMENT passes a fit= spec
        fittable = [n for n, p in discover().items() if re.search(r"^\s+fit=", p.read_text(), re.M)]
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
                f"--free {k}: {k} {why} for {exp.name}; free some of {', '.join(spec.keys)}."
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
        if not np.isfinite(value) or (spec.transforms.get(key) == "positive" and value <= 0):
            raise UsageError(
                f"start value {key}={value:g} is not allowed: it must be finite"
                + (" and > 0 (fitted as ln)." if spec.transforms.get(key) == "positive" else ".")
            )
        start[key] = float(value)
    return start


def expected_dims(name: str, shape, coords: dict[str, np.ndarray]) -> list[str]:
    """Dimension names of a sweep output's axes: each matched, in order, to an
    unused `sweep_coords` entry of its length (as `jqd sweep` labels them)."""
    dims, used = [], set()
    for j, size in enumerate(shape):
        match = next(
            (k for k, v in coords.items() if k not in used and np.shape(v) == (size,)), None
        )
        dims.append(match if match is not None else f"{name}_dim{j}")
        used.add(dims[-1])
    return dims


def read_data(path: Path, template: dict[str, np.ndarray], coords: dict[str, np.ndarray]):
    """Data from a NetCDF file: variables named like the sweep's outputs.

    Returns (data, stderr or None). Every problem is a UsageError naming it.
    """
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
    data, stderr = {}, {}
    for name, ref in template.items():
        var = _variable(ds, name)
        if var is None:
            continue
        dims = expected_dims(name, np.shape(ref), coords)
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
    truth = None
    if source == "reference":
        data, stderr = _arrays(spec.reference(config)), None
        truth = spec.truth(config)
    elif source == "ensemble":
        if spec.ensemble is None:
            raise UsageError(f"{exp.name} has no finite-ensemble data; use --data reference.")
        raw = _arrays(spec.ensemble(config, jax.random.key(seed)))
        stderr = {k[: -len("_stderr")]: v for k, v in raw.items() if k.endswith("_stderr")}
        data = {k: v for k, v in raw.items() if not k.endswith("_stderr")}
        truth = spec.truth(config)
    else:
        shapes = jax.eval_shape(lambda: exp.sweep(config, {}))
        template = {k: np.zeros(v.shape, v.dtype) for k, v in shapes.items()}
        data, stderr = read_data(Path(source), template, coords)
    bad = [k for k, v in data.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ValueError(f"{exp.name}: the {source} data of {', '.join(bad)} are not finite.")
    truth = None if truth is None else {k: float(truth[k]) for k in free if k in truth}
    return FitProblem(exp, config, free, start, data, stderr, source, truth, coords)


def _arrays(tree) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in dict(tree).items()}


def solve(prob: FitProblem, *, max_iter: int = 100, progress=None):
    """Run `jqd.fit` (L-BFGS) on the weighted least squares; returns its FitResult."""
    import jqd

    spec = spec_of(prob.exp)
    transforms = {k: spec.transforms.get(k) for k in prob.free}
    return jqd.fit(
        None,
        {k: float(prob.start[k]) for k in prob.free},
        residuals=prob.residuals,
        data=prob.packed(),
        sigma=prob.sigma,
        transform=transforms,
        max_iter=max_iter,
        step_tol=STEP_TOL,
        stop=progress,
        nonfinite=spec.nonfinite,
    )


def bootstrap(prob: FitProblem, result, n: int, seed: int) -> dict[str, np.ndarray]:
    """Residual bootstrap: `n` data sets model(θ̂) + resampled standardised
    residuals (scaled by √(N/(N − p)), N points, p parameters) × each point's
    standard error, refitted from θ̂ by one compiled `jqd.fit` (the replicas one
    after another, `batched="sequential"`); returns each key's values (n,)."""
    import jqd

    spec = spec_of(prob.exp)
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
    res = jqd.fit(
        None,
        theta0,
        residuals=prob.residuals,
        data=reps,
        batched="sequential",
        sigma=prob.sigma,
        transform={k: spec.transforms.get(k) for k in prob.free},
        max_iter=100,
        step_tol=STEP_TOL,
        nonfinite=spec.nonfinite,
    )
    return {k: np.asarray(res.value[k]) for k in prob.free}
