"""Issue 27's rough edges (laws): bad inputs that once gave a silent answer or an
unclear error. Each `BadCase` must come out "named"."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd import thermal


def _case(id_, run, names, what, law="", family="core", klass="stability"):
    # imported here, not at the top: battery.py imports this module while it
    # builds its CASES (a top-level import would be circular when it runs as a script)
    from adversarial.battery import BadCase

    return BadCase(f"laws/{id_}", family, klass, run, names, law, what)


def _gas_at(omega_dt, traced=False):
    """Item 1's case: 4 disks, κ = 100, at ω_c dt = `omega_dt` (stable below 2)."""

    def run():
        law = thermal.SoftSphereGas(4, 6.0, 2, cell_size=1.5)
        q = jnp.array([[0.5, 0.5], [2.0, 2.0], [3.5, 3.5], [5.0, 5.0]])
        y0 = thermal.PhaseState(q, jnp.ones((4, 2)))
        dt = omega_dt / np.sqrt(200.0)
        f = lambda dt: jqd.evolve(law, y0, thermal.GasParams(kappa=100.0), dt=dt, n_save=22)
        sol = jax.jit(f)(dt) if traced else f(dt)
        return jax.block_until_ready(sol.y_final)

    return run


def _chain(scheme, dt):
    def run():
        law = thermal.ClassicalLattice(8, scheme=scheme)
        y0 = thermal.PhaseState(jnp.sin(jnp.arange(8.0)), jnp.zeros(8))
        return jqd.evolve(law, y0, thermal.FPUTParams(), dt=dt, n_save=4).y_final

    return run


def _well(dt):
    def run():
        y0 = thermal.WellState(jnp.array([[0.5, 1.0]]), jnp.zeros((1, 2)))
        return jqd.evolve(thermal.ClassicalWell(), y0, thermal.WellParams(), dt=dt, n_save=4)

    return run


def _accuracy() -> list:
    """Item 1: stable but inaccurate steps of the symplectic thermal laws."""
    return [
        _case(
            "thermal-gas/omega-dt-1.8",
            _gas_at(1.8),
            ("dt",),
            "ω_c dt = 1.8 (< 2, stable; E went 122.6 -> 2269 silently)",
        ),
        _case(
            "thermal-gas/omega-dt-1.0@jit",
            _gas_at(1.0, traced=True),
            ("dt",),
            "ω_c dt = 1.0 under jit (energy error 9-41 %)",
        ),
        _case(
            "thermal-chain/verlet-omega-dt-1.6",
            _chain(jqd.schemes.Strang(), 0.8),
            ("dt",),
            "FPUT chain, Verlet at ω_max dt = 1.6 (stable, energy error ~2x)",
        ),
        _case(
            "thermal-chain/yoshida4-omega-dt-1.4",
            _chain(jqd.schemes.Yoshida4(), 0.7),
            ("dt",),
            "FPUT chain, Yoshida-4 at ω_max dt = 1.4 (stable, energy error 67 %)",
        ),
        _case(
            "thermal-well/yoshida4-omega-dt-1.25",
            _well(0.96),
            ("dt",),
            "ClassicalWell, Yoshida-4 at ω_max dt = 1.25 (stable, energy error 68 %)",
        ),
    ]


def _grad_of(law_id, mode="grad"):
    """Item 2: the derivative of a sampler's final state in its H."""

    def run():
        from helpers import build

        c = build(law_id)

        def f(H):
            params = eqx.tree_at(lambda p: p.H, c.params, H)
            sol = jqd.evolve(c.law, c.y0, params, dt=c.dt, n_save=2, key=c.key)
            leaves = jax.tree_util.tree_leaves(sol.y_final)
            return sum(
                jnp.sum(jnp.abs(x) ** 2)
                for x in leaves
                if jnp.iscomplexobj(x) or jnp.issubdtype(x.dtype, jnp.floating)
            )

        H = c.params.H
        if mode == "jvp":
            return jax.jvp(f, (H,), (H,))[1]
        return jax.grad(f)(H)

    return run


def _samplers() -> list:
    ids = (
        "copy-counts-tau-leap",
        "copy-members-tau-leap",
        "copy-gillespie-counts",
        "copy-gillespie-members",
        "copy-members-faithful",
        "copy-members-faithful-mobius",
        "bell-jumps",
    )
    out = [
        _case(
            f"{i}/grad-H@grad",
            _grad_of(i),
            ("params",),
            "jax.grad of the final state in params.H (was 0, silently)",
            law=i,
            family="copy",
            klass="traced",
        )
        for i in ids
    ]
    out.append(
        _case(
            "copy-counts-tau-leap/jvp-H@grad",
            _grad_of("copy-counts-tau-leap", "jvp"),
            ("params",),
            "jax.jvp of the final counts in params.H",
            law="copy-counts-tau-leap",
            family="copy",
            klass="traced",
        )
    )
    return out


class _Decay(jqd.AbstractLaw):
    def step(self, t, y, params, dt, key=None):
        return y * jnp.exp(-params * dt)

    def vector_field(self, t, y, params):
        return -params * y


def _adaptive_jvp():
    """Item 3: forward mode through a reverse-only adjoint the user chose."""
    import diffrax

    def f(k):
        ts = jnp.array([0.0, 1.0])
        adjoint = diffrax.RecursiveCheckpointAdjoint()
        return jqd.evolve_adaptive(_Decay(), jnp.ones(1), k, ts, adjoint=adjoint).y_final

    return jax.jvp(f, (jnp.asarray(0.7),), (jnp.asarray(1.0),))[1]


def _long_run():
    """Item 4: 1e8 steps of a 1e6-element state (inside the old 1e8-step bound:
    days of running)."""
    return jqd.evolve(
        _Decay(), jnp.ones(10**6), jnp.asarray(0.1), dt=1e-3, n_save=10**4, steps_per_save=10**4
    ).y_final


def cases() -> list:
    return (
        _accuracy()
        + _samplers()
        + [
            _case(
                "evolve-adaptive/jvp-reverse-adjoint@grad",
                _adaptive_jvp,
                ("adjoint",),
                "jax.jvp with adjoint=RecursiveCheckpointAdjoint() (was JAX's custom_vjp error)",
                klass="traced",
            ),
            _case(
                "evolve/run-budget-1e8-steps-of-1e6",
                _long_run,
                ("max_steps", "steps_per_save"),
                "1e8 steps × 1e6 elements (was accepted: days)",
                klass="hang",
            ),
        ]
    )
