"""Time-stepping schemes as objects: what a law's `scheme=` takes, each with
its convergence `order` (weak for the stochastic ones):

| scheme | order | used by |
|---|---|---|
| `Strang()` (Störmer-Verlet) | 2 | `SchrodingerGrid`, `thermal.ClassicalWell`, `thermal.ClassicalLattice`, `husimi.HusimiGalerkin` |
| `Yoshida4()` (triple jump of Strang) | 4 | the same |
| `RK4()` | 4 | `dqm.BohmEnsemble` |
| `Midpoint()` (RK2) | 2 | `dqm.BohmEnsemble` |
| `EulerMaruyama()` | weak 1 | `dqm.NelsonEnsemble` |
| `StochasticHeun()` | weak 2 (additive noise) | `dqm.NelsonEnsemble` |
| `ExponentialMidpoint()` | 2 | `SchrodingerBasis` with a time-dependent H |
| `CommutatorFree4()` (two exponentials at Gauss nodes) | 4 | the same |
| `Exact()` (exp(dt L) of a time-independent linear L) | exact (None) | `husimi.HusimiGalerkin` (its default: `Strang()`) |
| `TauLeap()` | weak 1 | `copy.CopyCountsTauLeap`, `copy.CopyFaithfulTauLeap` |

A law's `order` is its scheme's; a law that takes no choice names its one scheme
as a class attribute (`copy.MeanField.scheme` is `RK4()`); a law without one is
exact (order None: the eigen laws, the event-driven samplers).

How `SchrodingerBasis` applies each exponential (`propagator=`; default None: the
law picks from H's structure): `Eigen()` (eigendecomposition; `stepped=True`: one
exponential per step for a static H) or `Chebyshev(terms=None)` (Chebyshev series,
`terms` sized from H by a plain call when None); both exact (order None).

`jqd.SchrodingerGrid(grid, scheme=jqd.schemes.Yoshida4())`; configs and the
command line may name one instead (`scheme="yoshida4"`, or "strang", "verlet",
"rk4", "midpoint", "euler", "heun", "cf4", "expm", "eigen", "chebyshev"). Splitting schemes compose a symmetric
second-order step over their sub-step `weights`: `scheme.compose(symmetric_step, y, dt)`.
"""

from __future__ import annotations

from ._steppers import (
    RK4,
    AbstractExponential,
    AbstractRungeKutta,
    AbstractScheme,
    AbstractSDEScheme,
    AbstractSplitting,
    Chebyshev,
    CommutatorFree4,
    Eigen,
    EulerMaruyama,
    Exact,
    ExponentialMidpoint,
    Midpoint,
    StochasticHeun,
    Strang,
    TauLeap,
    Yoshida4,
)

__all__ = [
    "AbstractScheme",
    "AbstractSplitting",
    "AbstractRungeKutta",
    "AbstractSDEScheme",
    "AbstractExponential",
    "Strang",
    "Yoshida4",
    "RK4",
    "Midpoint",
    "EulerMaruyama",
    "StochasticHeun",
    "ExponentialMidpoint",
    "CommutatorFree4",
    "Exact",
    "TauLeap",
    "Eigen",
    "Chebyshev",
]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)
