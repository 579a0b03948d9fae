"""Errors of a stochastic run (docs/errors.md): a Nelson ensemble in the
ground state of V = ½ω²x² (ħ = m = 1, ω = ½), where ⟨x²⟩ = ħ/2mω = 1.

`errors=jqd.Errors(...)` gives every saved observable its sampling standard
error (16 sub-ensembles of the particles), its step error (the same run at
dt/2 on a Brownian bridge of the same noise) and, against the exact value,
χ²/dof and the largest |z|."""

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.dqm import EnsembleState, NelsonEnsemble, ParticleMoments, sample_density

omega = 0.5
grid = jqd.Grid(256, 30.0)
law = NelsonEnsemble(jqd.SchrodingerGrid(grid, lambda x, t, a: 0.5 * a["w"] ** 2 * x[0] ** 2))
params = jqd.SchrodingerParams(potential={"w": omega})
psi0 = jnp.asarray(jqd.reference.oscillator_eigenstate(grid, 0, omega=omega)) + 0j
x0 = sample_density(jax.random.key(1), grid, jnp.abs(psi0) ** 2, 200_000)

errors = jqd.Errors(groups=16, reference=lambda ts: jnp.ones((len(ts), 1, 1)))  # ⟨x²⟩ = 1
for dt in (0.2, 0.1):
    sol = jqd.evolve(
        law,
        EnsembleState(psi0, x0),
        params,
        dt=dt,
        n_save=4,
        steps_per_save=round(2.0 / dt),
        key=jax.random.key(2),
        observe=ParticleMoments((2,)),
        errors=errors,
    )
    e = sol.errors
    print(f"dt = {dt}: χ²/dof = {float(e.chi2_dof):.2f}, max |z| = {float(e.max_z):.2f}")
    print("     t    <x²>       SE   step error ± SE")
    for i, t in enumerate(np.asarray(sol.ts)):
        x2, se = float(sol.observables[i, 0, 0]), float(e.se[i, 0, 0])
        step, step_se = float(e.step[i, 0, 0]), float(e.step_se[i, 0, 0])
        print(f"{t:6.1f}  {x2:.5f}  {se:.5f}  {step:+.2e} ± {step_se:.1e}")
