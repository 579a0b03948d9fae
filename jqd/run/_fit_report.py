"""`jqd fit`'s run and its records: summary.json, data.nc, fit.png and the
summary on stdout (the fit itself: `jqd.run.fit`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .experiment import config_to_dict, dumps
from .fit import P_VALUE_MIN, STEP_TOL, bootstrap, expected_dims, problem, solve, spec_of
from .results import CompileTimer, environment, make_dirs, write_text_atomic

COVARIANCE_NOTE = {
    "known": "Gauss-Newton (J^T W J)^-1 with W = 1/stderr^2 from the data: the "
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


class _Progress:
    """One line on stderr every `every` iterations (the fit's `stop` hook)."""

    def __init__(self, free, every: int = 5):
        self.free, self.every, self.i, self.t0 = free, every, 0, time.perf_counter()

    def __call__(self, theta, loss) -> bool:
        self.i += 1
        if self.i % self.every == 0 or self.i == 1:
            vals = ", ".join(f"{k}={float(theta[k]):.8g}" for k in self.free)
            print(
                f"fit: iteration {self.i}, loss {float(np.max(loss)):.3e}, {vals} "
                f"({time.perf_counter() - self.t0:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
        return False


def run_fit(
    exp,
    config,
    free,
    start,
    source,
    out: Path,
    *,
    seed=0,
    quick=False,
    n_bootstrap=0,
    max_iter=100,
    full_hessian=False,
    progress=True,
) -> dict:
    """Fit, write `out`/summary.json, data.nc, fit.png; returns the summary."""
    from jqd import fit_covariance

    out = Path(out)
    make_dirs(out)
    (out / "summary.json").unlink(missing_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    with CompileTimer() as timer:
        prob = problem(exp, config, free, start, source, seed)
        t_data = time.perf_counter() - t0
        res = solve(prob, max_iter=max_iter, progress=_Progress(free) if progress else None)
        full = None
        if full_hessian:
            full = fit_covariance(
                prob.residuals, res.value, prob.packed(), sigma=prob.sigma, hessian="full"
            )
        boot = bootstrap(prob, res, n_bootstrap, seed) if n_bootstrap > 0 else None
    wall = time.perf_counter() - t0
    keys = sorted(free)  # the covariance's order: jax flattens a dict by sorted keys
    value = {k: float(res.value[k]) for k in free}
    stderr = {k: float(res.stderr[k]) for k in free}
    cov = np.asarray(res.covariance)
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
        "stderr_full_hessian": None
        if full is None
        else {k: float(full["stderr"][k]) for k in free},
        "covariance": cov.tolist(),
        "correlation": _correlation(cov).tolist(),
        "sigma": prob.sigma,
        "covariance_method": COVARIANCE_NOTE[prob.sigma],
        "chi2": float(res.chi2),
        "dof": int(res.dof),
        "reduced_chi2": float(res.chi2) / max(int(res.dof), 1),
        "relative_misfit": float(np.sqrt(res.chi2 / (res.dof + len(free))))
        if prob.sigma == "estimated"
        else None,
        "p_value": _p_value(res.chi2, res.dof) if prob.sigma == "known" else None,
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
        s["error_over_stderr"] = {
            k: abs(e) / stderr[k] if stderr[k] > 0 else float("inf") for k, e in err.items()
        }
    if boot is not None:
        bse = {k: float(np.std(boot[k], ddof=1)) for k in free}
        known = prob.sigma == "known" and res.dof > 0
        scale = float(np.sqrt(res.chi2 / res.dof)) if known else 1.0
        s["bootstrap"] = {
            "replicas": int(n_bootstrap),
            "method": "residual bootstrap: model(fit) + resampled standardised residuals "
            "x sqrt(n/(n-p)), each replica refitted (one vmapped jqd.fit)",
            "stderr": bse,
            "ratio_to_hessian": {k: bse[k] / stderr[k] if stderr[k] > 0 else None for k in free},
            # the residual bootstrap draws noise of the residuals' own scale s² = χ²/dof:
            # to first order it reproduces s·(JᵀWJ)^-1/2, whatever the data's stated errors
            "ratio_to_scaled_hessian": {
                k: bse[k] / (stderr[k] * scale) if stderr[k] > 0 else None for k in free
            },
            "residual_scale": scale,
        }
    s["problems"] = _problems(s, spec_of(exp), cov)
    s["acceptable"] = not s["problems"]
    _write_data(out, exp, prob, res)
    _figure(out, s)
    write_text_atomic(out / "summary.json", dumps(s))
    return s


def _correlation(cov):
    with np.errstate(all="ignore"):
        d = np.sqrt(np.abs(np.diagonal(cov)))
        return np.where(np.isfinite(cov), cov / np.outer(d, d), np.nan)


def _p_value(chi2, dof) -> float:
    from scipy.stats import chi2 as dist

    return float(dist.sf(float(chi2), max(int(dof), 1)))


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
    """The data fitted (sweep output names, `<name>_stderr`, the model at the fit
    as `fitted_<name>`), with the sweep's coordinates: a valid `--data` file."""
    import xarray as xr

    fitted = prob.fitted(res.residuals)
    vars_ = {}
    for name, y in prob.data.items():
        dims = expected_dims(name, np.shape(y), prob.coords)
        vars_[name] = (dims, y)
        vars_[f"fitted_{name}"] = (dims, np.asarray(fitted[name]))
        if prob.stderr is not None:
            vars_[f"{name}_stderr"] = (dims, prob.stderr[name])
    used = {d for dims, _ in vars_.values() for d in dims}
    ds = xr.Dataset(vars_, coords={k: v for k, v in prob.coords.items() if k in used})
    ds.attrs.update(
        experiment=exp.name,
        data=str(prob.source),
        config=json.dumps(config_to_dict(prob.config), sort_keys=True),
    )
    from .experiment import split_complex

    split_complex(ds).to_netcdf(out / "data.nc", engine="h5netcdf")


def _figure(out: Path, s) -> None:
    import matplotlib.pyplot as plt

    free = s["free"]
    fig, axes = plt.subplots(1, 1 + len(free), figsize=(4.2 * (1 + len(free)), 3.6))
    hist = np.maximum(np.asarray(s["history"], float), 1e-300)
    axes[0].semilogy(np.arange(len(hist)), hist, "o-", ms=3)
    axes[0].set_xlabel("L-BFGS iteration")
    axes[0].set_ylabel("loss ½Σr² (dimensionless)")
    axes[0].set_title("loss")
    for ax, k in zip(axes[1:], free, strict=True):
        path = s["path"][k]
        ax.plot(np.arange(len(path)), path, "o-", ms=3, label=f"{k} iterates")
        v, e = s["value"][k], s["stderr"][k]
        if np.isfinite(e):
            ax.axhspan(v - 2 * e, v + 2 * e, color="C1", alpha=0.25, label="fit ± 2 stderr")
        if s["truth"] and k in s["truth"]:
            ax.axhline(s["truth"][k], color="k", ls="--", lw=1, label="quantum value")
        ax.set_xlabel("L-BFGS iteration")
        ax.set_ylabel(k)
        ax.set_title(f"{k} = {v:.8g} ± {e:.2g}")
        ax.legend(fontsize=8)
    fig.suptitle(f"jqd fit {s['experiment']} --free {','.join(free)} (data: {s['data']})")
    fig.tight_layout()
    fig.savefig(out / "fit.png", dpi=110)
    plt.close(fig)


def summary_text(s, out: Path) -> str:
    """The short SUMMARY printed on stdout."""
    verdict = "ACCEPTABLE" if s["acceptable"] else "NOT ACCEPTABLE"
    lines = [
        f"{s['experiment']} fit of {', '.join(s['free'])} to {s['data']} data: {verdict} "
        f"({s['iterations']} iterations, {s['wall_time_s']:.1f} s, compile "
        f"{s['compile_time_s']:.1f} s); results in {out}",
    ]
    for k in s["free"]:
        line = f"  {k} = {s['value'][k]:.10g} ± {s['stderr'][k]:.3g}"
        if s.get("truth") and k in s["truth"]:
            line += (
                f"   (quantum value {s['truth'][k]:g}: error {s['error'][k]:.3g}, "
                f"{s['error_over_stderr'][k]:.2f} stderr, relative {s['relative_error'][k]:.2g})"
            )
        if "bootstrap" in s:
            line += f"   bootstrap stderr {s['bootstrap']['stderr'][k]:.3g}"
        lines.append(line)
    gof = f"chi2 = {s['chi2']:.4g} for {s['dof']} dof"
    gof += f", p = {s['p_value']:.3g}" if s["p_value"] is not None else ""
    lines.append(f"  {gof}; covariance: {s['sigma']} errors ({s['covariance_method'][:60]}...)")
    lines += [f"  problem: {p}" for p in s["problems"]]
    return "\n".join(lines)


def cmd_fit(args) -> int:
    """`jqd fit` (parsed arguments): 0 an acceptable fit, 1 not; usage errors raise."""
    from .fit import parse_free, parse_start
    from .registry import UsageError, apply_overrides, base_config, load

    exp = load(args.name)
    spec = spec_of(exp)
    config = apply_overrides(exp, base_config(exp, args.quick, args.seed), args.overrides)
    from .validate import check_config

    check_config(exp, config)
    free = parse_free(exp, spec, args.free)
    start = parse_start(exp, spec, config, free, args.start)
    if args.max_iter < 1:
        raise UsageError(f"--max-iter must be >= 1; got {args.max_iter}.")
    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap must be >= 0; got {args.bootstrap}.")
    out = args.out if args.out is not None else Path("jqd-out") / f"{exp.name}-fit"
    s = run_fit(
        exp,
        config,
        free,
        start,
        args.data,
        out,
        seed=0 if args.seed is None else args.seed,
        quick=args.quick,
        n_bootstrap=args.bootstrap,
        max_iter=args.max_iter,
        full_hessian=args.full_hessian,
        progress=not args.no_progress,
    )
    print(dumps(s) if args.json else summary_text(s, out))
    return 0 if s["acceptable"] else 1
