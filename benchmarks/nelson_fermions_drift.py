"""Why nelson-fermions' three-particle ensemble drifted from |ψ|² (issue 28).

The Nelson drift b = (ħ/m)(Im + Re)(∇ψ/ψ) that `jqd.dqm.NelsonEnsemble` forms from
ψ and ∇ψ interpolated to the particles, against the analytic drift of the same
state, at N points drawn exactly from |ψ(t)|² (t = 0.25). An error δb moves
the CDF of a projection u = c·X at the rate −E[(δb·c) δ(c·X − u)]; its maximum
over u and the projections of the experiment, times t = 0.5 and √N (N = 10⁶),
bounds the KS·√N bias the error builds up by the end of the full run (to first
order: the diffusion smooths it, so the measured bias is smaller).

usage: python benchmarks/nelson_fermions_drift.py D N POINTS:ORDER ...
e.g.   python benchmarks/nelson_fermions_drift.py 3 300000 48:linear 96:linear 48:cubic
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jqd  # noqa: E402
from experiments.nelson_fermions import experiment as E  # noqa: E402
from jqd.dqm import guidance_velocities  # noqa: E402


def analytic_drift(c_t, x):
    """(Re + Im)(∂_i ψ/ψ) from the oscillator levels (ħ = m = ω = 1): φ_k' =
    √(k/2) φ_{k−1} − √((k+1)/2) φ_{k+1}."""
    d, m = c_t.ndim, c_t.shape[0]
    phi = [E.oscillator_orbitals(x[:, i], m + 1) for i in range(d)]
    ph = [p[:, :m] for p in phi]
    dph = []
    for p in phi:
        cols = [-math.sqrt((k + 1) / 2) * p[:, k + 1] for k in range(m)]
        for k in range(1, m):
            cols[k] = cols[k] + math.sqrt(k / 2) * p[:, k - 1]
        dph.append(np.stack(cols, -1))
    psi = E.amplitude(c_t, ph)
    out = []
    for i in range(d):
        ratio = E.amplitude(c_t, [dph[k] if k == i else ph[k] for k in range(d)]) / psi
        out.append(ratio.real + ratio.imag)
    return np.stack(out, -1)


def main(d: int, n: int, specs: list[str], t: float = 0.25) -> None:
    c_t = E._at_time(E.coefficients(E._orbitals(d), "antisymmetric"), t)
    x = E.sample_exact(np.random.default_rng(5), c_t, n, 12.0, 1.0, 1.0)
    exact = analytic_drift(c_t, x)
    edges = np.linspace(-6, 6, 241)
    for spec in specs:
        points, order = spec.split(":")
        grid = jqd.Grid((int(points),) * d, 12.0)
        psi = jnp.asarray(E.psi_on_grid(c_t, grid, 1.0, 1.0))
        v, u_n = guidance_velocities(grid, psi, jnp.asarray(x), 1.0, 1.0, order)
        db = np.asarray(v + u_n) - exact
        flux = 0.0
        for c in E.DIRECTIONS[d]:
            u, f = x @ np.asarray(c, float), db @ np.asarray(c, float)
            idx = np.clip(np.digitize(u, edges) - 1, 0, len(edges) - 2)
            g = np.bincount(idx, weights=f, minlength=len(edges) - 1) / n / np.diff(edges)
            flux = max(flux, float(np.max(np.abs(g))))
        print(
            f"{points}^{d} {order}: rms |δb| {np.sqrt(np.mean(db**2)):.3e}, median |δb| "
            f"{np.median(np.abs(db)):.3e}, max flux {flux:.3e}, KS·√N bias bound at t = 0.5, "
            f"N = 1e6: {flux * 0.5 * 1e3:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
