"""Time-stepping schemes as objects: what a law's `scheme=` takes.

Each scheme carries its convergence `order` (strong for deterministic
schemes, weak for the stochastic ones), and a law reads its own order from
it (`jqd.AbstractLaw.order`):

| scheme | order | used by |
|---|---|---|
| `Strang()` (Störmer-Verlet) | 2 | `SchrodingerGrid`, `thermal.ClassicalWell`, `thermal.ClassicalLattice` |
| `Yoshida4()` (triple jump of Strang) | 4 | the same |
| `RK4()` | 4 | `dqm.BohmEnsemble` |
| `Midpoint()` (RK2) | 2 | `dqm.BohmEnsemble` |
| `EulerMaruyama()` | weak 1 | `dqm.NelsonEnsemble` |
| `StochasticHeun()` | weak 2 (additive noise) | `dqm.NelsonEnsemble` |

`jqd.SchrodingerGrid(grid, scheme=jqd.schemes.Yoshida4())`; configs and the
command line may name a scheme instead (`scheme="yoshida4"`, or "strang",
"verlet", "rk4", "midpoint", "euler", "heun"). Splitting schemes expose
their sub-step `weights` and compose a symmetric second-order step
`symmetric_step(y, h)` over them: `scheme.compose(symmetric_step, y, dt)`.
"""

from __future__ import annotations

from ._steppers import (
    RK4,
    AbstractRungeKutta,
    AbstractScheme,
    AbstractSDEScheme,
    AbstractSplitting,
    EulerMaruyama,
    Midpoint,
    StochasticHeun,
    Strang,
    Yoshida4,
)

__all__ = [
    "AbstractScheme",
    "AbstractSplitting",
    "AbstractRungeKutta",
    "AbstractSDEScheme",
    "Strang",
    "Yoshida4",
    "RK4",
    "Midpoint",
    "EulerMaruyama",
    "StochasticHeun",
]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)
