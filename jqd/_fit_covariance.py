"""Covariance of least-squares estimates (`jqd.fit_covariance`), used by
`jqd.fit(residuals=...)`: the Gauss-Newton (or full) Hessian of ½ Σ r² at the
optimum, its inverse, and the Gauss-Newton step that measures how far an
iterate is from the optimum in units of its own uncertainty."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

_tm = jax.tree_util.tree_map
_SIGMAS = ("known", "estimated")
_HESSIANS = ("gauss-newton", "full")
# estimators of the covariance of a fit to data with stated standard errors
# (sigma="known"); `covariance_from` says what each is
METHODS = ("gauss-newton", "birge", "hc0", "hc3")


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}.")


def fit_covariance(
    residuals: Callable,
    theta,
    data=None,
    *,
    sigma: str = "estimated",
    hessian: str = "gauss-newton",
    batched: bool = False,
) -> dict:
    """Covariance of a least-squares estimate θ̂ of ½ Σ r_i(θ)² at `theta`.

    With J = ∂r/∂θ (n × p, forward mode) at θ̂:

    - `hessian="gauss-newton"`: Cov = (JᵀJ)⁻¹, the inverse of the expected
      Hessian of ½χ² (the Fisher information of Gaussian noise). The full
      Hessian adds Σ r_i ∇²r_i, whose mean is zero where the model is right
      (E r_i = 0): it only adds noise, and can make the matrix indefinite.
      This is the linearised (Gauss-Markov) covariance of θ̂.
    - `hessian="full"`: Cov = (∇²½Σr²)⁻¹ by `jax.hessian` (the observed
      information), as a cross-check.

    `sigma="known"`: the residuals are already (model − data)/σ_i with the
    data's true standard deviations σ_i, so χ² = Σr² and Cov is as above.
    `sigma="estimated"`: the σ_i are known only up to one common factor (or
    the data are exact and the misfit is the model's own error), which is
    estimated from the fit, s² = Σr²/(n − p), and Cov is multiplied by s².

    Args:
        residuals: `residuals(theta)` or, with `data`, `residuals(theta, data)`,
            an array (flattened).
        theta: the estimate (pytree of floats, natural units).
        data: passed to `residuals`.
        sigma: "known" or "estimated" (above).
        hessian: "gauss-newton" (default) or "full".
        batched: `theta` (and `data`) have a leading axis of independent
            fits; every entry of the result then has it too.

    Returns:
        dict with "covariance" (p, p), "stderr" (pytree like theta), "chi2"
        (Σr²), "dof" (n − p), "fisher" (the Hessian used, p × p, before the s²
        scaling), "jacobian" (n, p), "residuals" (n,), and "condition" (the
        ratio of the largest to the smallest eigenvalue of the Hessian with
        each parameter scaled by its |value|; inf when singular: the data do
        not fix every parameter, and the covariance is then inf).
    """
    _check_choice("sigma", sigma, _SIGMAS)
    _check_choice("hessian", hessian, _HESSIANS)
    curvature = _Curvature(residuals, theta, data is not None, hessian, batched)
    return curvature(theta, data, sigma)


class _Curvature:
    """r, J = ∂r/∂θ and the Hessian at θ by jitted programs, built once and
    reused (the stopping test of every iteration and the final covariance)."""

    def __init__(self, residuals, theta, has_data, hessian, batched):
        from jax.flatten_util import ravel_pytree

        theta = _tm(lambda x: jnp.asarray(x, jnp.result_type(float)), theta)
        one = _tm(lambda x: x[0], theta) if batched else theta
        _, self.unravel = ravel_pytree(one)
        self.ravel = lambda t: ravel_pytree(t)[0]
        self.batched = batched
        call = residuals if has_data else (lambda t, d: residuals(t))
        unravel = self.unravel

        def residual(x, d):
            return jnp.ravel(call(unravel(x), d))

        def curvature(x, d):
            J = jax.jacfwd(residual)(x, d)
            if hessian == "full":
                F = jax.hessian(lambda y: 0.5 * jnp.sum(residual(y, d) ** 2))(x)
            else:
                F = J.T @ J
            return (J, F) if batched else (residual(x, d), J, F)

        # batched: r and J as two programs. XLA:CPU (jax 0.10.2) deadlocked, at 0% CPU,
        # on one vmapped program returning both for the husimi-kerr model (any batch)
        axes = (0, 0 if has_data else None)
        batch = (lambda f: jax.vmap(f, in_axes=axes)) if batched else (lambda f: f)
        self.residual, self.curvature = jax.jit(batch(residual)), jax.jit(batch(curvature))

    def flat(self, theta):
        theta = _tm(lambda x: jnp.asarray(x, jnp.result_type(float)), theta)
        return jax.vmap(self.ravel)(theta) if self.batched else self.ravel(theta)

    def raw(self, theta, data):
        flat = self.flat(theta)
        # block first (GIL released): see the note in jqd.fit's loop
        out = jax.block_until_ready(self.curvature(flat, data))
        if self.batched:
            out = (jax.block_until_ready(self.residual(flat, data)), *out)
        r, J, F = (np.asarray(a) for a in out)
        return np.asarray(flat), r, J, F

    def __call__(self, theta, data, sigma) -> dict:
        flat, r, J, F = self.raw(theta, data)
        if not self.batched:
            out = _covariance(r, J, F, flat, sigma)
            out["stderr"] = _tm(np.asarray, self.unravel(jnp.asarray(out["stderr"])))
            return out
        items = [_covariance(r[i], J[i], F[i], flat[i], sigma) for i in range(flat.shape[0])]
        out = {k: np.stack([np.asarray(it[k]) for it in items]) for k in items[0]}
        out["dof"] = items[0]["dof"]
        out["stderr"] = _tm(np.asarray, jax.vmap(self.unravel)(jnp.asarray(out["stderr"])))
        return out

    def step_ratio(self, theta, data, sigma, xtol: float = 0.0) -> float:
        """max_i |δθ_i| / stderr_i of the Gauss-Newton step δθ = −(JᵀJ)⁻¹Jᵀr
        from θ (the largest over a batch): how far θ is from the least-squares
        optimum in units of its own uncertainty (0 at the optimum). A
        component with |δθ_i| <= xtol |θ_i| counts as 0: with exact data and
        an exact model the residuals are round-off, the stderr too, and the
        step/stderr ratio of noise stays O(1) however long the fit runs."""
        flat, r, J, _ = self.raw(theta, data)
        if not self.batched:
            flat, r, J = flat[None], r[None], J[None]
        worst = 0.0
        for th, ri, Ji in zip(flat, r, J):
            if not (np.all(np.isfinite(ri)) and np.all(np.isfinite(Ji))):
                return float("inf")
            step = np.linalg.lstsq(Ji, ri, rcond=None)[0]
            if not np.any(step):
                continue
            n, p = Ji.shape
            s2 = 1.0 if sigma == "known" else float(np.sum(ri**2)) / max(n - p, 1)
            with np.errstate(all="ignore"):
                se = np.sqrt(np.abs(np.diagonal(np.linalg.pinv(Ji.T @ Ji))) * s2)
                ratio = np.max(np.where(np.abs(step) <= xtol * np.abs(th), 0.0, np.abs(step) / se))
            worst = max(worst, float(ratio) if np.isfinite(ratio) else float("inf"))
        return worst


def _known(cov, r, J, chi2, dof, method):
    """The covariance (JᵀJ)⁻¹ = `cov` of stated errors, by `method` (`covariance_from`)."""
    if method == "gauss-newton":
        return cov
    if method == "birge":
        return cov * max(1.0, chi2 / dof) if dof >= 1 else cov
    h = np.einsum("ij,jk,ik->i", J, cov, J)  # leverages, Σ h_i = p
    c = 1.0 if method == "hc0" else 1.0 / np.maximum(1.0 - h, 1e-12) ** 2
    meat = (J * (c * r**2)[:, None]).T @ J
    return cov @ meat @ cov


def _covariance(r, J, F, flat, sigma, method: str = "gauss-newton") -> dict:
    """`fit_covariance`'s linear algebra for one fit (numpy); `method` as in
    `covariance_from` (used with sigma="known")."""
    n, p = J.shape
    chi2, dof = float(np.sum(r**2)), int(n - p)
    scale = np.where(np.abs(flat) > 0, np.abs(flat), 1.0)
    Fs = F * np.outer(scale, scale)
    condition, cov = float("nan"), np.full((p, p), np.inf)
    if np.all(np.isfinite(Fs)):
        eig = np.linalg.eigvalsh(0.5 * (Fs + Fs.T))
        condition = float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")
        if condition < 1e15 and (sigma == "known" or dof >= 1):
            cov = np.linalg.inv(Fs) * np.outer(scale, scale)
            if sigma == "estimated":
                cov = cov * chi2 / dof
            else:
                cov = _known(cov, r, J, chi2, dof, method)
    return {
        "covariance": cov,
        "stderr": np.sqrt(np.abs(np.diagonal(cov))),
        "chi2": chi2,
        "dof": dof,
        "fisher": F,
        "jacobian": J,
        "residuals": r,
        "condition": condition,
    }


def covariance_from(r, J, flat, sigma: str = "known", method: str = "gauss-newton") -> dict:
    """The covariance of a weighted least-squares estimate from its residuals
    r (n,) and their Jacobian J (n, p) at θ̂ = `flat` (numpy; no model call).

    `sigma="estimated"`: s²(JᵀJ)⁻¹ with s² = χ²/(n − p), whatever `method`.
    `sigma="known"` (r = (model − data)/stated error), by `method`:

    - "gauss-newton": (JᵀJ)⁻¹, honest only when the stated errors are the
      data's true standard deviations.
    - "birge": (JᵀJ)⁻¹ · max(1, χ²/(n − p)) (the Birge ratio, as the PDG
      scales a fit): data that scatter more than their stated errors say widen
      the errors; data within them leave them as stated.
    - "hc0", "hc3": the sandwich (JᵀJ)⁻¹ [Σ_i c_i r_i² j_i j_iᵀ] (JᵀJ)⁻¹ (White;
      j_i the i-th row of J), c_i = 1 (HC0) or 1/(1 − h_i)² with the leverage
      h_i = j_iᵀ(JᵀJ)⁻¹j_i (HC3, MacKinnon-White): each point's variance
      read from its own residual, so wrong stated errors (in scale or shape)
      do not bias it; noisy for few points.

    `jqd fit` reports "birge" (`jqd.run.fit.COVARIANCE`; why: its module
    docstring and benchmarks/results_fit.md §2). Returns the dict of
    `fit_covariance`.
    """
    _check_choice("method", method, METHODS)
    r, J, flat = np.asarray(r, float), np.asarray(J, float), np.asarray(flat, float)
    return _covariance(r, J, J.T @ J, flat, sigma, method)
