"""Mutants of husimi-truncation (grid solver, F52-F53 diffusion matrix) and
husimi-trajectories (probability flow)."""

from __future__ import annotations

from mutation import Mutant


def _grid_diffusion_doubled(monkeypatch):
    # the grid solver builds its drift and D from this name (looked up at call time)
    import jqd.husimi._grid_solver as gs

    orig = gs.drift_and_diffusion

    def bad(hamiltonian, z, args, C):
        v, D = orig(hamiltonian, z, args, C)
        return v, 2.0 * D

    monkeypatch.setattr(gs, "drift_and_diffusion", bad)


def _grid_drift_one_percent_fast(monkeypatch):
    # the grid solver's drift J∇H 1 % too large: a free field rotates 1 % too fast
    import jqd.husimi._grid_solver as gs

    orig = gs.drift_and_diffusion

    def bad(hamiltonian, z, args, C):
        v, D = orig(hamiltonian, z, args, C)
        return 1.01 * v, D

    monkeypatch.setattr(gs, "drift_and_diffusion", bad)


def _flow_without_diffusion_current(monkeypatch):
    # v = J∇H − ½∇·D without the −½ D∇ln ρ term (HusimiFlow.field looks it up in _flow)
    import jax
    import jax.numpy as jnp

    import jqd.husimi._flow as fl

    def flow_velocity(hamiltonian, log_density):
        def D_of(z, args, C):
            return fl.drift_and_diffusion(hamiltonian, z, args, C)[1]

        def v(z, s, C, args):
            drift, _ = fl.drift_and_diffusion(hamiltonian, z, args, C)
            divD = jnp.einsum("abb->a", jax.jacfwd(D_of)(z, args, C))
            return drift - 0.5 * divD

        return v

    monkeypatch.setattr(fl, "flow_velocity", flow_velocity)


def _flow_dt_quadrupled(monkeypatch):
    # the exact-density flow of the KS claims (jqd.evolve of a HusimiFlow) run with
    # dt × 4 and a quarter of the steps per save (the same save times); the
    # claims' tolerances unchanged: a time step chosen too coarse
    import jqd
    from jqd.husimi import HusimiFlow

    correct = jqd.evolve

    def coarse(law, *args, dt, steps_per_save=1, **kwargs):
        if isinstance(law, HusimiFlow) and steps_per_save % 4 == 0:
            dt, steps_per_save = 4 * dt, steps_per_save // 4
        return correct(law, *args, dt=dt, steps_per_save=steps_per_save, **kwargs)

    monkeypatch.setattr(jqd, "evolve", coarse)


def _diffusion_without_commutator(monkeypatch):
    # D = (C/2) H''J, the first half of the commutator (C/2)[H'', J] of F52: not symmetric,
    # and not anticommuting with J; patched where `diffusion_structure` and `fp_rhs` look it up
    import jax

    import jqd.husimi._residuals as rs
    from jqd.husimi import symplectic_J

    def diffusion_matrix(H, C=1.0):
        def D(z):
            return 0.5 * C * jax.hessian(H)(z) @ symplectic_J(z.shape[-1] // 2, z.dtype)

        return D

    monkeypatch.setattr(rs, "diffusion_matrix", diffusion_matrix)


def _diffusion_without_half(monkeypatch):
    # D = C[H'', J], the 1/2 of F52 dropped (every structure property intact)
    import jqd.husimi._residuals as rs

    good = rs.diffusion_matrix

    def diffusion_matrix(H, C=1.0):
        return good(H, 2 * C)

    monkeypatch.setattr(rs, "diffusion_matrix", diffusion_matrix)


MUTANTS = [
    Mutant(
        "husimi-truncation",
        "diffusion-without-commutator",
        "D = (C/2)H''J instead of (C/2)[H'', J] (F52)",
        _diffusion_without_commutator,
        caught_by="F53 D = (C/2)[H'', J] symmetric",
    ),
    Mutant(
        "husimi-truncation",
        "diffusion-without-half",
        "D = C[H'', J] (the 1/2 of F52 dropped; still symmetric and traceless)",
        _diffusion_without_half,
        caught_by="F52 max|D|",
    ),
    Mutant(
        "husimi-truncation",
        "grid-diffusion-doubled",
        "the grid solver's diffusion matrix D = (C/2)[H'', J] doubled",
        _grid_diffusion_doubled,
        caught_by="first order in t",
    ),
    Mutant(
        "husimi-truncation",
        "grid-drift-1-percent-fast",
        "the grid solver's drift J∇H 1 % too large (a free field rotates 1 % too fast)",
        _grid_drift_one_percent_fast,
        caught_by="λ = 0 (free field",
    ),
    Mutant(
        "husimi-trajectories",
        "flow-without-diffusion-current",
        "flow velocity without the diffusion-current term −½ D∇ln ρ",
        _flow_without_diffusion_current,
        caught_by="KS distance",
    ),
    Mutant(
        "husimi-trajectories",
        "flow-dt-quadrupled",
        "the probability flow's RK4 step 4× larger (a quarter of the steps per save), "
        "tolerances unchanged",
        _flow_dt_quadrupled,
        caught_by="trajectories converged in dt",
    ),
]
