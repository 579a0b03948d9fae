"""`jqd.fit`: one fit driver for every law (optax; L-BFGS by default).
Why: docs/internals/core.md#fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from . import _guards
from ._fit_covariance import _SIGMAS, _check_choice, _Curvature
from ._fit_covariance import fit_covariance as fit_covariance

_tm = jax.tree_util.tree_map


@dataclasses.dataclass(frozen=True)
class FitTransform:
    """A bijection from unconstrained u to the parameter: theta = forward(u)."""

    forward: Callable
    inverse: Callable


IDENTITY = FitTransform(lambda u: u, lambda x: x)
POSITIVE = FitTransform(jnp.exp, jnp.log)
_TRANSFORMS = {None: IDENTITY, "identity": IDENTITY, "positive": POSITIVE}


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What `fit` returns.

    Attributes:
        value: the fitted parameters (a pytree in natural units; a dict's
            entries are readable as attributes: `result.D`).
        loss: the loss at `value`.
        grad_norm: the gradient norm (optimiser's variables) at the last iterate.
        iterations: number of optimiser updates applied.
        converged: whether the stopping criterion was met before `max_iter`.
        history: loss at each iterate, in order.
        path: parameters at each iterate (the first is the start).
        stderr: standard errors of `value` (same pytree); None without `residuals`.
        covariance: (p, p) covariance of the flattened `value` (`ravel_pytree`
            order; one per start when batched).
        chi2: Σ r² at `value` (least-squares fits).
        dof: degrees of freedom n − p.
        sigma: "known" or "estimated", as given to `fit` (None without a covariance).
        residuals: the residuals at `value` (flattened), or None.
        jacobian: ∂residuals/∂θ at `value` ((n, p)), or None.
        condition: condition number of the scaled Hessian: inf when the data
            do not fix every parameter.
    """

    value: Any
    loss: Any
    grad_norm: Any
    iterations: int
    converged: bool
    history: np.ndarray
    path: list
    stderr: Any = None
    covariance: Any = None
    chi2: Any = None
    dof: int | None = None
    sigma: str | None = None
    residuals: Any = None
    condition: Any = None
    jacobian: Any = None

    def __getattr__(self, name):
        value = self.__dict__.get("value")
        if isinstance(value, dict) and name in value:
            return value[name]
        raise AttributeError(f"FitResult has no attribute {name!r}")


# θ with at most this many numbers is differentiated in forward mode by default
FORWARD_MAX = 8


def _forward_mode(f):
    """f(u, d) whose gradient in u is taken in forward mode, traced once
    (docs/internals/core.md#fit)."""

    @jax.jit  # the loss and its forward-mode gradient, traced once per fit
    def value_and_grad(u, d):
        flat, unravel = jax.flatten_util.ravel_pytree(u)
        one = lambda t: jax.jvp(lambda x: f(unravel(x), d), (flat,), (t,))
        if flat.size == 1:  # no basis to batch over: one copy of f's tangent
            value, slope = one(jnp.ones_like(flat))
            return value, unravel(slope[None])
        values, slopes = jax.vmap(one)(jnp.eye(flat.size, dtype=flat.dtype))
        return values[0], unravel(slopes)

    def bwd(grad, ct):
        return _tm(lambda g: ct * g, grad), None

    g = jax.custom_vjp(lambda u, d: value_and_grad(u, d)[0])
    g.defvjp(value_and_grad, bwd)
    return g


def _norm(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.sqrt(sum(jnp.sum(jnp.abs(x) ** 2) for x in leaves)) if leaves else jnp.zeros(())


def _transforms(transform, theta0):
    """(forward, inverse) on the whole theta pytree for `fit`'s `transform`."""
    one = lambda t: _TRANSFORMS.get(t, t) if not isinstance(t, FitTransform) else t
    per_key = isinstance(transform, dict)
    if per_key and (not isinstance(theta0, dict) or set(transform) - set(theta0)):
        raise ValueError(
            "a dict transform needs a dict theta0 holding its keys; got transform keys "
            f"{sorted(transform)} for theta0 {type(theta0).__name__}."
        )
    trs = {k: one(transform.get(k)) for k in theta0} if per_key else {"": one(transform)}
    bad = {k: v for k, v in trs.items() if not isinstance(v, FitTransform)}
    if bad:
        raise ValueError(
            "transform must be 'positive', 'identity', None or a jqd.FitTransform (or a dict "
            f"key -> one of those); got {bad!r}."
        )
    if per_key:
        forward = lambda u: {k: _tm(trs[k].forward, u[k]) for k in u}
        inverse = lambda th: {k: _tm(trs[k].inverse, th[k]) for k in th}
        return forward, inverse
    return (lambda u: _tm(trs[""].forward, u)), (lambda th: _tm(trs[""].inverse, th))


def _check_start(theta0, u, transform) -> None:
    """Name a start that is not finite, or outside its transform's domain."""
    paths = jax.tree_util.tree_flatten_with_path(theta0)[0]
    for (path, x), v in zip(paths, jax.tree_util.tree_leaves(u), strict=True):
        if _guards.is_traced(x, v):
            continue
        name = f"theta0{jax.tree_util.keystr(path)}"
        if not np.all(np.isfinite(np.asarray(x))):
            raise ValueError(
                f"jqd.fit: {name} = {np.asarray(x).tolist()} is not finite; pass finite start values."
            )
        if not np.all(np.isfinite(np.asarray(v))):
            raise ValueError(
                f"jqd.fit: {name} = {np.asarray(x).tolist()} is outside its transform's domain "
                f"(its inverse is not finite there; transform={transform!r}: 'positive' needs "
                "values > 0); start inside it, or fit without the transform."
            )


def fit(
    loss: Callable | None,
    theta0,
    *,
    residuals: Callable | None = None,
    sigma: str = "estimated",
    data=None,
    optimiser=None,
    linesearch_steps: int | None = None,
    transform: str | FitTransform | dict | None = None,
    max_iter: int = 100,
    gtol: float | None = None,
    ftol: float | None = None,
    step_tol: float | None = None,
    xtol: float = 1e-10,
    stop: Callable | None = None,
    key=None,
    nonfinite: float | None = None,
    batched: bool = False,
    gradient: str | None = None,
    progress: bool = False,
) -> FitResult:
    """Minimise `loss(theta)` from `theta0`.

    Args:
        loss: `loss(theta) -> scalar`; `loss(theta, data)` when `data` is
            given; a trailing `key` argument when `key` is given (the same key
            at every iteration). None with `residuals`.
        theta0: starting parameters (a pytree of floats).
        residuals: least squares: `residuals(theta[, data][, key])`, an array;
            the loss is then ½ Σ residuals² and the result carries the
            covariance, standard errors, χ² and dof of `fit_covariance`.
        sigma: with `residuals`, "known" or "estimated" (default); see
            `fit_covariance`.
        data: a pytree passed to `loss`/`residuals`; with `batched=True` it
            has the same leading axis as `theta0` (one data set per start).
        optimiser: an optax optimiser (default `optax.lbfgs()`); it receives
            the loss as `value_fn` (for line searches).
        linesearch_steps: with the default optimiser, the zoom line search's
            `max_linesearch_steps`.
        transform: "positive" (theta = exp u), None/"identity", or a
            `FitTransform`, applied to every leaf of theta; or, for a dict
            theta, a dict key -> one of those (missing keys: identity).
        max_iter: updates at most.
        gtol: stop (without applying the update) once the gradient norm at
            the current iterate is below `gtol`.
        ftol: stop after the update once the loss at the iterate it started
            from is below `ftol`.
        step_tol: with `residuals`: stop once the Gauss-Newton step from the
            new iterate is below `step_tol` standard errors in every parameter.
        xtol: with `step_tol`: a step component below xtol·|θ_i| counts as
            converged too (for exact data and model).
        stop: `stop(theta, loss) -> bool`, called after each update with the
            new iterate and the loss at the one it started from; True stops
            the fit as converged.
        key: PRNG key for a stochastic loss (fixed across iterations).
        nonfinite: if set, a non-finite loss counts as this value with zero
            gradient (a line search then backs off); if None, it raises
            FloatingPointError naming the iterate.
        batched: theta0 has a leading axis of independent starts, fitted at
            once (`jax.vmap`); the criteria must hold for every start.
            "sequential": one start after another in one program (`lax.map`).
        gradient: "forward" (one tangent per number of theta: for a few
            parameters it compiles and runs faster than a reverse pass back
            through a time loop, and stores no tape), "reverse", or None
            (default): forward when theta has at most `FORWARD_MAX` (8)
            numbers per start. A loss with a `jax.custom_vjp` inside needs
            "reverse".
        progress: show a tqdm progress bar of the loss.

    Returns:
        A `FitResult`.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter}.")
    if (loss is None) == (residuals is None):
        raise ValueError("give exactly one of loss or residuals= (least squares).")
    _check_choice("sigma", sigma, _SIGMAS)
    if step_tol is not None and residuals is None:
        raise ValueError("step_tol needs residuals= (a least-squares fit).")
    forward, inverse = _transforms(transform, theta0)
    import optax  # here, not at import time: `import jqd` stays light

    opt = optimiser
    if opt is None and linesearch_steps is None:
        opt = optax.lbfgs()
    elif opt is None:
        steps = int(linesearch_steps)
        opt = optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=steps))
    extra = () if key is None else (key,)
    # f(theta, data) for a loss or residuals that take (theta[, data][, key])
    with_data = lambda f: lambda th, d: f(th, *extra) if data is None else f(th, d, *extra)
    if residuals is not None:
        loss = lambda *a: 0.5 * jnp.sum(jnp.ravel(residuals(*a)) ** 2)
    objective = with_data(loss)

    def fun(u, d):
        value = objective(forward(u), d)
        if nonfinite is not None:
            value = jnp.where(jnp.isfinite(value), value, nonfinite)
        return value

    u = inverse(_tm(lambda x: _guards.to_device(x, jnp.result_type(float)), theta0))
    _check_start(theta0, u, transform)
    n_theta = sum(np.size(x) for x in jax.tree_util.tree_leaves(u)) // (
        len(jax.tree_util.tree_leaves(u)[0]) if batched else 1
    )
    if gradient is None:
        gradient = "forward" if n_theta <= FORWARD_MAX else "reverse"
    _check_choice("gradient", gradient, ("forward", "reverse"))
    # the optimiser differentiates the model three times (its gradient here, two in
    # the line search): jitted, it is traced once
    fun = _forward_mode(fun) if gradient == "forward" else jax.jit(fun)

    def value_and_grad(u, d):
        value, grad = jax.value_and_grad(fun)(u, d)
        if nonfinite is not None:
            finite = jnp.isfinite(value) & (value < nonfinite)
            finite = finite & jnp.all(
                jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grad)])
            )
            grad = _tm(lambda g: jnp.where(finite, g, 0.0), grad)
        return value, grad

    def update(u, state, d):
        value, grad = value_and_grad(u, d)
        value_fn = lambda v: fun(v, d)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=value_fn)
        return optax.apply_updates(u, updates), state, value, _norm(grad)

    d_axis = None if data is None else 0
    init = jax.vmap(opt.init) if batched else opt.init
    if batched == "sequential":  # data None: lax.map carries the empty pytree
        # one optimizer step of every seed (one after another), compiled once, run every iteration
        update_fn = jax.jit(lambda u, s, d: jax.lax.map(lambda a: update(*a), (u, s, d)))
    elif batched:
        # the same, the seeds side by side
        update_fn = jax.jit(jax.vmap(update, in_axes=(0, 0, d_axis)))
    else:
        update_fn = jax.jit(update)  # the same, one seed
    # strong types, else jit compiles `update` twice (internals#fit); one program
    strong = lambda x: jax.lax.convert_element_type(x, jnp.asarray(x).dtype)
    # the start and the optimizer's state: one program, not one per op
    u, state = jax.jit(lambda u: _tm(strong, (u, init(u))))(u)
    to_value = lambda u: _tm(np.asarray, forward(u))
    curvature = None
    if residuals is not None:
        curvature = _Curvature(with_data(residuals), to_value(u), True, "gauss-newton", batched)
    path, history = [to_value(u)], []
    converged = False
    n = 0
    grad_norm = None
    from tqdm.auto import tqdm

    # only when shown: any tqdm, disabled too, makes a multiprocessing lock (a
    # semaphore that a forked run, as `jqd reproduce`'s, exits without freeing)
    bar = tqdm(total=max_iter, desc="fit", leave=False) if progress else None
    try:
        for _ in range(max_iter):
            # wait with the GIL released before NumPy reads (internals#fit: a deadlock)
            try:
                u_new, state, value, grad_norm = jax.block_until_ready(update_fn(u, state, data))
            except TypeError as err:
                if gradient != "forward" or "custom_vjp" not in str(err):
                    raise
                raise TypeError(
                    f"jqd.fit: forward mode cannot differentiate this loss ({err}); "
                    'pass gradient="reverse".'
                ) from None
            if nonfinite is None and not np.all(np.isfinite(np.asarray(value))):
                where = "at the start" if n == 0 else f"after {n} iterations"
                theta = _tm(lambda v: np.asarray(v).tolist(), path[-1])
                raise FloatingPointError(
                    f"jqd.fit: the loss is {np.asarray(value).tolist()} {where} (theta = "
                    f"{theta}): the model is not finite there (a law past its range of "
                    "validity, or an overflow). Start closer to the optimum, constrain the "
                    "parameters (transform=), or pass nonfinite=VALUE so that a line search "
                    "backs off from such points."
                )
            history.append(np.asarray(value))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=float(np.max(history[-1])))
            if gtol is not None and np.all(np.asarray(grad_norm) < gtol):
                converged = True
                break
            u = u_new
            n += 1
            path.append(to_value(u))
            converged = bool(
                (ftol is not None and np.all(np.asarray(value) < ftol))
                or (
                    step_tol is not None
                    and curvature.step_ratio(path[-1], data, sigma, xtol) < step_tol
                )
                or (stop is not None and stop(path[-1], np.asarray(value)))
            )
            if converged:
                break
    finally:
        if bar is not None:
            bar.close()
    value, more = to_value(u), {}
    if curvature is None:
        # the final loss: one program, not the user's loss op by op
        loss = jax.jit(jax.vmap(fun, in_axes=(0, d_axis)) if batched else fun)(u, data)
        loss = np.asarray(jax.block_until_ready(loss))
    else:
        c = curvature(value, data, sigma)  # the Gauss-Newton covariance at the optimum
        loss = 0.5 * np.asarray(c["chi2"])
        if nonfinite is not None:
            loss = np.where(np.isfinite(loss), loss, nonfinite)
        keys = ("stderr", "covariance", "chi2", "dof", "residuals", "condition", "jacobian")
        more = {k: c[k] for k in keys} | {"sigma": sigma}
    return FitResult(
        value=value,
        loss=loss,
        grad_norm=np.asarray(grad_norm),
        iterations=n,
        converged=converged,
        history=np.asarray(history),
        path=path,
        **more,
    )
