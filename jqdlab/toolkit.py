"""What experiments repeat, beside the experiment contract (`jqdlab.experiment`),
so that one kind of check is made the same way everywhere (docs/api/experiment.md).

    from jqdlab.toolkit import claim_max_error

    claim_max_error(
        rec, "<a(t)> vs closed form", "physics §4: <a(t)> = α0 exp[|α0|²(e^{-iUt} - 1)]",
        measured=mean_a, exact=closed_form, tolerance=1e-10, metric="max_abs_error_mean_a",
    )

Errors are computed in NumPy (float64), whatever array library produced the
inputs. No physics here: the closed forms come from `jqd.reference`, the laws
from their families. A checkpoint file is written with `savez_atomic` or
`write_text_atomic` (a temporary file, then a rename), so that a run killed
mid-write resumes from the previous one.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import dataclass_transform

import jax
import jax.numpy as jnp
import numpy as np

from jqd.stats import loglog_slope

from .experiment import parse_limits
from .storage import savez_atomic, write_text_atomic  # noqa: F401 (for experiments)
from .validate import budget_scale  # noqa: F401 (for experiments' validate hooks)

# why the vmapped sweep (`Experiment.sweep_why_not`) cannot sweep a field that
# fixes what every item of one compiled program shares
FIXES_SAVED_TIMES = "it fixes the saved times (the t axis every item shares); set it with --set"
FIXES_GRID = "it fixes the grid every item shares; set it with --set"


@dataclass_transform(frozen_default=True)
def experiment_config(*, quick: dict, limits: dict | None = None):
    """Declare an experiment's `Config`: a frozen dataclass whose `quick()` (the
    contract's `jqd run --quick` config) is the defaults with `quick` changed,
    and whose `limits` are its fields' allowed ranges (`jqdlab.validate`).

        @experiment_config(quick=dict(n_save=10, points=128), limits={"dt": "> 0"})
        class Config:
            n_save: int = 50
            points: int = 256
            dt: float = 0.01

    Args:
        quick: field -> value in the quick config (empty: the defaults).
        limits: field -> allowed range, e.g. "> 0", or ">= 1, <= 3" for each
            number of a tuple field (an int field without one: ">= 1").

    Returns:
        The class decorator.
    """

    def declare(cls):
        cls = dataclasses.dataclass(frozen=True)(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        for key, text in (limits or {}).items():
            if key not in fields:
                raise TypeError(f"{cls.__name__}: limits names {key!r}, not a field.")
            parse_limits(text)
        cls.quick = classmethod(lambda c: c(**quick))
        cls.limits = dict(limits or {})
        return cls

    return declare


def _errors(se, step_error) -> dict:
    """The `rec.claim` keywords of a claim's errors, only those given."""
    return {k: v for k, v in (("se", se), ("step_error", step_error)) if v is not None}


def claim_max_error(
    rec,
    name,
    statement,
    measured,
    exact,
    tolerance,
    *,
    relative=False,
    metric=None,
    se=None,
    step_error=None,
) -> float:
    """Claim that computed values equal a closed form or reference everywhere.

    The measured value is max |measured − exact| over every element (with
    `relative`, max |measured/exact − 1|); the claim holds if it is at most
    `tolerance`.

    Args:
        rec: the run's `Recorder`.
        name: short label of the claim.
        statement: the statement it tests, citing docs/physics.md ("physics §4: ...").
        measured: the computed values (an array of any shape, or a scalar),
            e.g. an observable at every save.
        exact: the closed form or reference values, broadcastable to `measured`.
        tolerance: bound on the largest (relative) error.
        relative: compare measured/exact with 1 instead of measured with exact.
        metric: if given, the error is also recorded as this metric.
        se: the claim's sampling SE, passed to `rec.claim` (for values that
            rest on an ensemble).
        step_error: the claim's value at dt minus at dt/2 (or the phrase why it
            has none), passed to `rec.claim`.

    Returns:
        The largest (relative) error.
    """
    measured, exact = np.asarray(measured), np.asarray(exact)
    error = np.abs(measured / exact - 1) if relative else np.abs(measured - exact)
    value = float(np.max(error))
    rec.claim(name, statement, measured=value, tolerance=tolerance, **_errors(se, step_error))
    if metric is not None:
        rec.metric(metric, value)
    return value


def claim_within_stderr(
    rec,
    name,
    statement,
    measured,
    expected,
    stderr,
    tolerance,
    *,
    op="<=",
    se=None,
    step_error=None,
) -> float:
    """Claim on ensemble estimates: their largest distance from the expected
    values in standard errors, max |measured − expected|/stderr.

    Args:
        rec: the run's `Recorder`.
        name: short label of the claim.
        statement: the statement it tests, citing docs/physics.md.
        measured: the estimates (e.g. an ensemble mean at every save).
        expected: the exact or reference values, broadcastable to `measured`.
        stderr: the estimates' standard errors, broadcastable to `measured`.
        tolerance: the bound, in standard errors (e.g. 3).
        op: "<=" for agreement; ">" to claim that the estimates differ.
        se: the claim's own sampling SE, in standard errors like the value
            (`within_stderr_errors`), passed to `rec.claim`.
        step_error: the claim's value at dt minus at dt/2 (or the phrase why it
            has none), passed to `rec.claim`.

    Returns:
        The largest distance in standard errors.
    """
    z = np.abs(np.asarray(measured) - np.asarray(expected)) / np.asarray(stderr)
    value = float(np.max(z))
    rec.claim(
        name, statement, measured=value, tolerance=tolerance, op=op, **_errors(se, step_error)
    )
    return value


def within_stderr_errors(measured, expected, stderr, *, se=None, step=None) -> dict:
    """The errors of `claim_within_stderr`'s value z = max |measured − expected|/stderr,
    as its keyword arguments `se` and `step_error`.

    Args:
        measured: the estimates, as for `claim_within_stderr`.
        expected: the exact or reference values, as for `claim_within_stderr`.
        stderr: the estimates' standard errors, as for `claim_within_stderr`.
        se: the estimates' own sampling SE (e.g. `Solution.errors.se` from
            sub-ensembles), broadcastable to `measured`; the claim's SE is
            se/stderr at the largest z (about 1 when stderr is right). A float
            is taken as the claim's SE itself.
        step: the estimates at dt minus at dt/2 (`Solution.errors.step`); the
            claim's step error is z(measured) − z(measured − step). A string
            ("exact sampler") is passed on.

    Returns:
        {"se": ..., "step_error": ...}, None where not given.
    """
    measured, expected = np.asarray(measured, float), np.asarray(expected, float)
    stderr = np.broadcast_to(np.asarray(stderr, float), measured.shape)
    z = np.abs(measured - expected) / stderr
    out = {"se": None, "step_error": step if isinstance(step, str) else None}
    if isinstance(se, float):
        out["se"] = se
    elif se is not None:
        i = np.unravel_index(np.argmax(z), z.shape)
        out["se"] = float(np.broadcast_to(np.asarray(se, float), z.shape)[i] / stderr[i])
    if step is not None and not isinstance(step, str):
        z_half = np.abs(measured - np.asarray(step, float) - expected) / stderr
        out["step_error"] = float(np.max(z) - np.max(z_half))
    return out


def claim_exponent(rec, name, statement, x, y, tolerance, *, exponent=None, op="<=") -> float:
    """Claim on a power law y ∝ x^p (a convergence order, a scaling law).

    p is the least-squares slope of log|y| against log x
    (`jqd.stats.loglog_slope`). The measured value is |p − exponent|, or p
    itself when `exponent` is None (a one-sided claim such as p <= −0.25).

    Args:
        rec: the run's `Recorder`.
        name: short label of the claim.
        statement: the statement it tests, citing docs/physics.md.
        x: the positive abscissae (step sizes, system sizes, couplings).
        y: the nonzero values at x (errors, fluctuations, times).
        tolerance: the bound on |p − exponent| (or on p).
        exponent: the predicted exponent, or None to claim on p.
        op: comparison of the measured value with `tolerance`.

    Returns:
        The fitted exponent p.
    """
    p = loglog_slope(x, y)
    measured = p if exponent is None else abs(p - exponent)
    rec.claim(name, statement, measured=measured, tolerance=tolerance, op=op)
    return p


def claim_fitted_C(rec, law, psi0, alphas, data, *, dt, steps_per_save, C0) -> float:
    """Fit a Husimi Galerkin law's C to exact Husimi data (`jqd.husimi.fit_C`,
    30 iterations from `C0`) and claim C = 1 within 1e-4 ("fitted C", physics
    §4); records the metrics `C_fit` and `C_fit_iterations`.

    Args:
        rec: the run's `Recorder`.
        law: the `jqd.husimi.HusimiGalerkin` law (scheme `jqd.schemes.Exact()`).
        psi0: the initial state the data evolve from (`law.initial_state(psi0)`).
        alphas: the phase-space points of the data.
        data: the exact Husimi densities at the points, one row per save.
        dt: the law's time step.
        steps_per_save: the law's steps per save.
        C0: the starting value of C.

    Returns:
        The fitted C.
    """
    import jqd

    fit = jqd.husimi.fit_C(
        law,
        law.initial_state(psi0),
        alphas,
        data,
        dt=dt,
        n_save=len(data),
        steps_per_save=steps_per_save,
        C0=C0,
        max_iter=30,
    )
    statement = "physics §4: quantum mechanics is C = 1 (|C − 1|)"
    claim_max_error(rec, "fitted C", statement, fit.C, 1.0, 1e-4)
    rec.metric("C_fit", float(fit.C))
    rec.metric("C_fit_iterations", fit.iterations)
    return float(fit.C)


@functools.partial(jax.jit, static_argnums=1)
def fold_range(key, n: int):
    """fold_in(key, i) for i = 0, ..., n − 1 (`key` a key, or a seed for key(seed)),
    as one program: one vmapped fold_in (eagerly, each fold_in compiles or
    dispatches a program of its own; unrolled, the program grows with n)."""
    if not jax.dtypes.issubdtype(jnp.result_type(key), jax.dtypes.prng_key):
        key = jax.random.key(key)
    fold = jax.vmap(jax.random.fold_in, in_axes=(None, 0))
    return tuple(fold(key, jnp.arange(n, dtype=jnp.uint32)))


def mean_and_stderr(samples, axis=-1):
    """The mean of independent samples along `axis` and its standard error
    std(ddof=1)/√n (n samples along `axis`)."""
    samples = np.asarray(samples)
    return samples.mean(axis), samples.std(axis, ddof=1) / np.sqrt(samples.shape[axis])


def jackknife_se(statistic, n: int) -> float:
    """The jackknife standard error of a statistic of `n` independent samples
    (ensembles, replicates, runs), for statistics that are not averages (an
    RMS departure, a ratio, a fitted slope): `statistic(keep)` evaluates it on
    the samples where the boolean mask `keep` (length n) is True, and the
    error is √((n − 1)/n · Σ_i (θ_(i) − θ̄)²) over the n leave-one-out values."""
    values = []
    for i in range(n):
        keep = np.ones(n, bool)
        keep[i] = False
        values.append(float(statistic(keep)))
    values = np.asarray(values)
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))


def error_panel(ax, t, errors, *, tolerance=None, floor=1e-18, styles=("-",)):
    """The standard error panel: each labelled |error|(t) on a log axis, with
    the claim's tolerance as a red dashed line.

    Args:
        ax: a matplotlib axes.
        t: the abscissa shared by the series (e.g. saved times).
        errors: label -> error values at `t` (the absolute value is drawn).
        tolerance: the claim's bound, drawn if given.
        floor: values below it (exact zeros) are drawn at it.
        styles: line styles, one per series in turn (repeated).
    """
    for i, (label, err) in enumerate(errors.items()):
        ax.semilogy(t, np.maximum(np.abs(err), floor), styles[i % len(styles)], label=label)
    if tolerance is not None:
        ax.axhline(tolerance, color="r", ls="--", label=f"claim: {tolerance:g}")


def panel_grid(n: int, width: float = 5.0, height: float = 4.0):
    """A layout for `n` panels by their count: one row up to 3, then rows of
    2 (4 panels: 2 x 2) or 3, so that no panel is squeezed and the figure
    stays within `jqdlab.figure_check`'s aspect bound.

        rows, cols, size = panel_grid(4)  # 2, 2, (10.0, 8.0)
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)

    Args:
        n: the number of panels (>= 1).
        width: inches across one panel (its labels included).
        height: inches down one panel.

    Returns:
        (rows, columns, (figure width, figure height) in inches).
    """
    if n < 1:
        raise ValueError(f"panel_grid needs n >= 1 panels; got {n}.")
    cols = n if n <= 3 else 2 if n == 4 else 3
    rows = -(-n // cols)
    return rows, cols, (width * cols, height * rows)


def panel(ax, xlabel, ylabel, title=None, *, legend=False, **legend_options):
    """Label a figure panel: its axes, its title, and its legend.

    The legend is drawn when `legend` is True or any legend option is given
    (e.g. `loc="upper left"`), in fontsize 8 unless `fontsize` is given.

    Args:
        ax: a matplotlib axes.
        xlabel: the abscissa's label.
        ylabel: the ordinate's label.
        title: the panel's title, if any.
        legend: draw the legend of the labelled lines.
        **legend_options: passed to `ax.legend`.
    """
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if legend or legend_options:
        ax.legend(**{"fontsize": 8, **legend_options})


def sparse_hamiltonian(law, params):
    """A local law's H as a scipy CSR matrix (`SchrodingerLocal.sparse`), made
    real when its imaginary part is zero (the real symmetric spin models), so
    that exact diagonalization runs in real arithmetic."""
    H = law.sparse(params)
    return H.real if np.iscomplexobj(H.data) and not np.any(H.data.imag) else H


def tensor_power(v, n):
    """The product state v ⊗ v ⊗ … ⊗ v of `n` factors (a flat NumPy vector)."""
    psi = np.ones(1)
    for _ in range(n):
        psi = np.kron(psi, v)
    return psi
