"""One fit driver (`jqd.fit`) for every law: recover a theory's free constants by
gradient-based minimisation of a loss (optax; L-BFGS by default).

`fit(loss, theta0)` minimises `loss(theta)` over a pytree `theta` in its
natural units. Positivity (or any other constraint) is a `transform`: the
optimiser works on unconstrained u with theta = forward(u). A stochastic loss
takes a fixed key, `loss(theta, key)`, so that the same noise is used at
every iteration (common random numbers: the loss is then a smooth function
of theta). The loop runs in Python around one jitted update, so that each
iteration can be reported (progress bar) and stopped on a criterion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

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
        value: the fitted parameters (a pytree in natural units; a dict of
            named constants for the family fits, readable as attributes:
            `result.D`, `result.C`, `result.q`).
        loss: the loss at `value`.
        grad_norm: the norm of the gradient (in the optimiser's variables)
            at the last evaluated iterate.
        iterations: number of optimiser updates applied.
        converged: whether the stopping criterion was met before `max_iter`.
        history: loss at each iterate, in order.
        path: parameters at each iterate (the first is the start).
    """

    value: Any
    loss: Any
    grad_norm: Any
    iterations: int
    converged: bool
    history: np.ndarray
    path: list

    def __getattr__(self, name):
        value = self.__dict__.get("value")
        if isinstance(value, dict) and name in value:
            return value[name]
        raise AttributeError(f"FitResult has no attribute {name!r}")


def _norm(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.sqrt(sum(jnp.sum(jnp.abs(x) ** 2) for x in leaves)) if leaves else jnp.zeros(())


def fit(
    loss: Callable,
    theta0,
    *,
    optimiser=None,
    linesearch_steps: int | None = None,
    transform: str | FitTransform | None = None,
    max_iter: int = 100,
    gtol: float | None = None,
    ftol: float | None = None,
    key=None,
    nonfinite: float | None = None,
    batched: bool = False,
    progress: bool = False,
) -> FitResult:
    """Minimise `loss(theta)` from `theta0`.

    Args:
        loss: `loss(theta) -> scalar`, or `loss(theta, key)` when `key` is
            given (the same key at every iteration).
        theta0: starting parameters (a pytree of floats).
        optimiser: an optax optimiser (default `optax.lbfgs()`, zoom line
            search). Optimisers that need the loss inside the update (L-BFGS
            line searches) receive it as `value_fn`.
        linesearch_steps: with the default optimiser, L-BFGS with
            `optax.scale_by_zoom_linesearch(max_linesearch_steps=...)` (its
            own defaults otherwise) instead of L-BFGS's built-in line search.
        transform: "positive" (theta = exp u), None/"identity", or a
            `FitTransform`, applied leaf-wise to every leaf of theta.
        max_iter: updates at most.
        gtol: stop (without applying the update) once the gradient norm at
            the current iterate is below `gtol`.
        ftol: stop after the update once the loss at the iterate it started
            from is below `ftol`.
        key: PRNG key for a stochastic loss (fixed across iterations).
        nonfinite: if set, a non-finite loss counts as this value with zero
            gradient, so that a line search backs off from a region where
            the model breaks down instead of stopping with NaN.
        batched: theta0 has a leading axis of independent starts, fitted at
            once (`jax.vmap`); the criteria must hold for every start.
        progress: show a tqdm progress bar of the loss.

    Returns:
        A `FitResult`.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1; got {max_iter}.")
    tr = (
        _TRANSFORMS.get(transform, transform)
        if not isinstance(transform, FitTransform)
        else transform
    )
    if not isinstance(tr, FitTransform):
        raise ValueError(
            f"transform must be 'positive', 'identity', None or a jqd.FitTransform; got {transform!r}."
        )
    import optax  # here, not at import time: `import jqd` stays light

    if optimiser is None:
        linesearch = (
            None
            if linesearch_steps is None
            else optax.scale_by_zoom_linesearch(max_linesearch_steps=int(linesearch_steps))
        )
        optimiser = optax.lbfgs() if linesearch is None else optax.lbfgs(linesearch=linesearch)
    opt = optimiser
    objective = loss if key is None else (lambda theta: loss(theta, key))

    def fun(u):
        value = objective(_tm(tr.forward, u))
        if nonfinite is not None:
            value = jnp.where(jnp.isfinite(value), value, nonfinite)
        return value

    def value_and_grad(u):
        value, grad = jax.value_and_grad(fun)(u)
        if nonfinite is not None:
            finite = jnp.isfinite(value) & (value < nonfinite)
            finite = finite & jnp.all(
                jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grad)])
            )
            grad = _tm(lambda g: jnp.where(finite, g, 0.0), grad)
        return value, grad

    def update(u, state):
        import optax

        value, grad = value_and_grad(u)
        updates, state = opt.update(grad, state, u, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(u, updates), state, value, _norm(grad)

    u = _tm(lambda x: tr.inverse(jnp.asarray(x, jnp.result_type(float))), theta0)
    if batched:
        update_fn = jax.jit(jax.vmap(update))
        state = jax.vmap(opt.init)(u)
    else:
        update_fn = jax.jit(update)
        state = opt.init(u)
    to_value = lambda u: _tm(lambda x: np.asarray(tr.forward(x)), u)
    path, history = [to_value(u)], []
    converged = False
    n = 0
    grad_norm = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_iter, desc="fit", leave=False)
    try:
        for _ in range(max_iter):
            u_new, state, value, grad_norm = update_fn(u, state)
            history.append(np.asarray(value))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=float(np.max(value)))
            if gtol is not None and np.all(np.asarray(grad_norm) < gtol):
                converged = True
                break
            u = u_new
            n += 1
            path.append(to_value(u))
            if ftol is not None and np.all(np.asarray(value) < ftol):
                converged = True
                break
    finally:
        if bar is not None:
            bar.close()
    final = jax.jit(jax.vmap(fun) if batched else fun)(u)
    return FitResult(
        value=to_value(u),
        loss=np.asarray(final),
        grad_norm=np.asarray(grad_norm),
        iterations=n,
        converged=converged,
        history=np.asarray(history),
        path=path,
    )
