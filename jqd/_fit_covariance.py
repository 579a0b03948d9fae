"""Covariance and profile-likelihood errors of least-squares estimates
(`jqd.fit_covariance`, used by `jqd.fit(residuals=...)`)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._guards import to_device

_tm = jax.tree_util.tree_map
_SIGMAS = ("known", "estimated")
_HESSIANS = ("gauss-newton", "full")
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
    """Covariance of a least-squares estimate θ̂ of ½ Σ r_i(θ)² at `theta`:
    (JᵀJ)⁻¹ with J = ∂r/∂θ (docs/internals/core.md#fit).

    Args:
        residuals: `residuals(theta)` or, with `data`, `residuals(theta, data)`,
            an array (flattened).
        theta: the estimate (pytree of floats, natural units).
        data: passed to `residuals`.
        sigma: "known" (the residuals are (model − data)/σ_i with the data's
            true standard deviations) or "estimated" (the σ_i are known up to
            one factor: Cov is multiplied by s² = Σr²/(n − p)).
        hessian: "gauss-newton" (default) or "full" (∇²½Σr² by
            `jax.hessian`, as a cross-check).
        batched: `theta` (and `data`) have a leading axis of independent
            fits; every entry of the result then has it too.

    Returns:
        dict with "covariance" (p, p), "stderr" (pytree like theta), "chi2"
        (Σr²), "dof" (n − p), "fisher" (the Hessian used, before the s²
        scaling), "jacobian" (n, p), "residuals" (n,), "condition" (of the
        Hessian with each parameter scaled by its |value|; inf, and the
        covariance inf, when the data do not fix every parameter), and
        "scale" (s = √(χ²/dof) when estimated, 1 when known).
    """
    _check_choice("sigma", sigma, _SIGMAS)
    _check_choice("hessian", hessian, _HESSIANS)
    curvature = _Curvature(residuals, theta, data is not None, hessian, batched)
    return curvature(theta, data, sigma)


class _Curvature:
    """r, J = ∂r/∂θ and the Hessian at θ by jitted programs built once."""

    def __init__(self, residuals, theta, has_data, hessian, batched):
        from jax.flatten_util import ravel_pytree

        theta = _tm(lambda x: to_device(x, jnp.result_type(float)), theta)
        one = _tm(lambda x: x[0], theta) if batched else theta
        _, self.unravel = ravel_pytree(one)
        self.ravel = lambda t: ravel_pytree(t)[0]
        self.batched = batched
        call = residuals if has_data else (lambda t, d: residuals(t))
        unravel = self.unravel

        def residual(x, d):
            return jnp.ravel(call(unravel(x), d))

        def curvature(x, d):
            # J by forward mode, r its primal (one copy of the model, not two)
            one = lambda t: jax.jvp(lambda y: residual(y, d), (x,), (t,))
            if x.size == 1:
                r, col = one(jnp.ones_like(x))
                J = col[:, None]
            else:
                rs, cols = jax.vmap(one, out_axes=(None, 1))(jnp.eye(x.size, dtype=x.dtype))
                r, J = rs, cols
            if hessian == "full":
                F = jax.hessian(lambda y: 0.5 * jnp.sum(residual(y, d) ** 2))(x)
            else:
                F = J.T @ J
            return (J, F) if batched else (r, J, F)

        # batched: r and J as two programs (an XLA:CPU deadlock: internals#fit)
        axes = (0, 0 if has_data else None)
        batch = (lambda f: jax.vmap(f, in_axes=axes)) if batched else (lambda f: f)
        # each compiled once, reused at every θ of the covariance
        self.residual, self.curvature = jax.jit(batch(residual)), jax.jit(batch(curvature))

    def flat(self, theta):
        theta = _tm(lambda x: to_device(x, jnp.result_type(float)), theta)
        return jax.vmap(self.ravel)(theta) if self.batched else self.ravel(theta)

    def raw(self, theta, data):
        flat = self.flat(theta)
        # block first, with the GIL released (internals#fit: a deadlock)
        out = jax.block_until_ready(self.curvature(flat, data))
        if self.batched:
            out = (jax.block_until_ready(self.residual(flat, data)), *out)
        r, J, F = (np.asarray(a) for a in out)
        return np.asarray(flat), r, J, F

    def __call__(self, theta, data, sigma) -> dict:
        flat, r, J, F = self.raw(theta, data)
        if not self.batched:
            out = _covariance(r, J, F, flat, sigma)
            out["stderr"] = _tm(np.asarray, self.unravel(to_device(out["stderr"])))
            return out
        items = [_covariance(r[i], J[i], F[i], flat[i], sigma) for i in range(flat.shape[0])]
        out = {k: np.stack([np.asarray(it[k]) for it in items]) for k in items[0]}
        out["dof"] = items[0]["dof"]
        out["stderr"] = _tm(np.asarray, jax.vmap(self.unravel)(to_device(out["stderr"])))
        return out

    def step_ratio(self, theta, data, sigma, xtol: float = 0.0) -> float:
        """max_i |δθ_i| / stderr_i of the Gauss-Newton step from θ (the largest
        over a batch); a component with |δθ_i| <= xtol |θ_i| counts as 0."""
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


def _covariance(r, J, F, flat, sigma, method: str = "gauss-newton") -> dict:
    """`fit_covariance`'s linear algebra for one fit (numpy)."""
    n, p = J.shape
    chi2, dof = float(np.sum(r**2)), int(n - p)
    scale = np.where(np.abs(flat) > 0, np.abs(flat), 1.0)
    Fs = F * np.outer(scale, scale)
    condition, cov = float("nan"), np.full((p, p), np.inf)
    # the factor the errors carry beyond (JᵀJ)⁻¹^½ (NaN for a sandwich)
    factor = float(np.sqrt(chi2 / dof)) if dof >= 1 else float("nan")
    if sigma != "estimated" and method == "birge":
        factor = max(1.0, factor) if dof >= 1 else 1.0
    elif sigma != "estimated":
        factor = 1.0 if method == "gauss-newton" else float("nan")
    if np.all(np.isfinite(Fs)):
        eig = np.linalg.eigvalsh(0.5 * (Fs + Fs.T))
        condition = float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")
        if condition < 1e15 and (sigma == "known" or dof >= 1):
            cov = np.linalg.inv(Fs) * np.outer(scale, scale)
            if sigma == "estimated" or method in ("gauss-newton", "birge"):
                cov = cov * factor**2
            else:  # the sandwich of stated errors
                h = np.einsum("ij,jk,ik->i", J, cov, J)  # leverages, Σ h_i = p
                c = 1.0 if method == "hc0" else 1.0 / np.maximum(1.0 - h, 1e-12) ** 2
                meat = (J * (c * r**2)[:, None]).T @ J
                cov = cov @ meat @ cov
    return {
        "covariance": cov,
        "stderr": np.sqrt(np.abs(np.diagonal(cov))),
        "chi2": chi2,
        "dof": dof,
        "fisher": F,
        "jacobian": J,
        "residuals": r,
        "condition": condition,
        "scale": factor,
    }


def covariance_from(r, J, flat, sigma: str = "known", method: str = "gauss-newton") -> dict:
    """The covariance of a weighted least-squares estimate from its residuals
    r (n,) and their Jacobian J (n, p) at θ̂ = `flat` (numpy; no model call).

    `sigma="estimated"`: s²(JᵀJ)⁻¹ with s² = χ²/(n − p), whatever `method`.
    `sigma="known"` (r = (model − data)/stated error), by `method`:

    - "gauss-newton": (JᵀJ)⁻¹, honest only when the stated errors are true.
    - "birge": (JᵀJ)⁻¹ · max(1, χ²/(n − p)) (the Birge ratio, as the PDG
      scales a fit).
    - "hc0", "hc3": the sandwich (JᵀJ)⁻¹ [Σ_i c_i r_i² j_i j_iᵀ] (JᵀJ)⁻¹,
      c_i = 1 (HC0) or 1/(1 − h_i)² with the leverage h_i (HC3): each
      point's variance read from its own residual.

    `jqd fit` reports "birge" (why: benchmarks/results_fit.md §2). Returns
    the dict of `fit_covariance`; its "scale" is the factor the method
    multiplies the Gauss-Newton errors by (NaN for a sandwich).
    """
    _check_choice("method", method, METHODS)
    r, J, flat = np.asarray(r, float), np.asarray(J, float), np.asarray(flat, float)
    return _covariance(r, J, J.T @ J, flat, sigma, method)


def profile_likelihood(
    residuals: Callable,
    theta,
    data=None,
    *,
    scale: float = 1.0,
    at=None,
    tol: float = 1e-3,
    batched: bool = False,
) -> dict:
    """Profile-likelihood errors of a least-squares estimate θ̂ = `theta` of ½ Σ r_i(θ)².

    For each θ_i the profile χ²_i(v) = min over the others of Σ r² at θ_i = v;
    its 1σ interval is where χ²_i(v) − χ²(θ̂) <= scale², found on each side
    by a secant in √Δχ² (asymmetric where the model is nonlinear at the
    data's noise). "z" at reference values `at` is sign(θ̂_i − at_i)
    √(χ²_i(at_i) − χ²(θ̂))/scale: |z| <= k exactly when at_i is inside the kσ
    profile interval.

    Args:
        residuals: as `fit_covariance`.
        theta: the optimum, as `fit_covariance`.
        data: as `fit_covariance`.
        batched: as `fit_covariance`.
        scale: the factor the errors carry (1 for stated errors; the
            estimator's "scale", e.g. the Birge ratio); one per fit when batched.
        at: reference values (pytree like one fit's `theta`, the same for
            every fit; NaN leaves skipped), or None.
        tol: |√Δχ² − scale| <= tol·scale at an interval's end.

    Returns:
        dict with "lower", "upper" (pytrees like theta: the distances θ̂_i −
        lo_i and hi_i − θ̂_i, both >= 0; NaN where the model is not finite
        before the end or the search does not converge), "z" (pytree, or None
        without `at`), "evaluations" (of r and J together; the cost).
    """
    if not batched:
        theta, data, scale = _tm(lambda x: np.asarray(x)[None], (theta, data)) + ([scale],)
    fits = [
        _tm(lambda x, b=b: np.asarray(x)[b], theta)
        for b in range(len(jax.tree_util.tree_leaves(theta)[0]))
    ]
    curv = _Curvature(residuals, fits[0], data is not None, "gauss-newton", False)
    flat = np.stack([np.asarray(curv.flat(t), float) for t in fits])
    scales = np.broadcast_to(np.asarray(scale, float), flat.shape[:1])
    ref = None if at is None else np.asarray(curv.flat(at), float)
    items, evals = [], 0
    for b in range(flat.shape[0]):
        d = _tm(lambda x, b=b: x[b], data)
        prof = _Profile(curv, flat[b], d, float(scales[b]), tol)
        items.append(prof.all(ref))
        evals += prof.evaluations
    unravel = jax.vmap(curv.unravel) if batched else curv.unravel
    pick = (lambda a: a) if batched else (lambda a: a[0])
    tree = lambda k: _tm(np.asarray, unravel(jnp.asarray(pick(np.stack([it[k] for it in items])))))
    return {
        "lower": tree("lower"),
        "upper": tree("upper"),
        "z": None if at is None else tree("z"),
        "evaluations": evals,
    }


class _Profile:
    """`profile_likelihood` for one fit (numpy Gauss-Newton on the jitted r, J)."""

    def __init__(self, curv, flat, data, scale, tol):
        self.curv, self.flat, self.data, self.scale, self.tol = curv, flat, data, scale, tol
        self.evaluations = 0
        r, J = self.rj(flat)
        self.chi2 = float(np.sum(r**2))
        with np.errstate(all="ignore"):
            self.cov = np.linalg.pinv(J.T @ J)

    def rj(self, x):
        self.evaluations += 1
        _, r, J, _ = self.curv.raw(self.curv.unravel(jnp.asarray(x)), self.data)
        return r, J

    def delta(self, i, v, iters: int = 20) -> float:
        """χ²_i(v) − χ²(θ̂): the others re-minimised (NaN if not finite)."""
        c = self.cov
        x = self.flat + c[:, i] / c[i, i] * (v - self.flat[i]) if c[i, i] > 0 else self.flat.copy()
        x[i] = v
        others = np.arange(x.size) != i
        r, J = self.rj(x)
        chi2 = float(np.sum(r**2))
        for _ in range(iters if others.any() else 0):
            if not (np.isfinite(chi2) and np.all(np.isfinite(J))):
                break
            step = np.linalg.lstsq(J[:, others], r, rcond=None)[0]
            for _ in range(30):  # backtrack to a lower χ²
                trial = x.copy()
                trial[others] -= step
                r2, J2 = self.rj(trial)
                chi2_new = float(np.sum(r2**2))
                if np.isfinite(chi2_new) and chi2_new <= chi2:
                    break
                step = step / 2
            else:
                break
            x, r, J, small = trial, r2, J2, chi2 - chi2_new <= 1e-10 * max(chi2, 1.0)
            chi2 = chi2_new
            if small:
                break
        return max(chi2 - self.chi2, 0.0) if np.isfinite(chi2) else float("nan")

    def end(self, i, side) -> float:
        """Distance from θ̂_i to where √Δχ² = scale on `side` (±1)."""
        target = self.scale
        d0 = target * float(np.sqrt(max(self.cov[i, i], 0.0)))
        if not (np.isfinite(d0) and d0 > 0):
            return float("nan")
        pts = [(0.0, 0.0)]
        d = d0
        for _ in range(30):
            h = float(np.sqrt(self.delta(i, self.flat[i] + side * d)))
            if not np.isfinite(h):  # beyond where the model is finite: back off
                d = 0.5 * (d + pts[-1][0])
                if d - pts[-1][0] < 1e-6 * d0:
                    return float("nan")
                continue
            if abs(h - target) <= self.tol * target:
                return d
            pts.append((d, h))
            (d1, h1), (d2, h2) = pts[-2], pts[-1]  # secant through the last two
            slope = (h2 - h1) / (d2 - d1) if d2 != d1 else 0.0
            d = 2 * d2 if slope <= 0 else min(max(d2 + (target - h2) / slope, d2 / 4), 4 * d2)
        return float("nan")

    def all(self, at) -> dict:
        p = self.flat.size
        out = {
            "lower": np.array([self.end(i, -1) for i in range(p)]),
            "upper": np.array([self.end(i, +1) for i in range(p)]),
            "z": np.full(p, np.nan),
        }
        for i in range(p) if at is not None else ():
            if np.isfinite(at[i]):
                e = self.flat[i] - at[i]
                out["z"][i] = np.sign(e) * np.sqrt(self.delta(i, at[i])) / self.scale
        return out
