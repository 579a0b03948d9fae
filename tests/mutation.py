"""Mutants: plausible physics bugs, each of which an experiment's quick
claims must catch.

A `Mutant` names an experiment, a bug and the claim expected to fail. Its
`apply(monkeypatch)` injects the bug through a seam (a public function, or a
private module function documented as a test hook in
`experiments/README.md`), `tests/test_mutants.py` runs the experiment's quick
config in-process with jax's caches cleared (so no trace of the correct code
is reused), and asserts that the named claim fails. Each family keeps its
mutants in `tests/mutants_<family>.py` as `MUTANTS = [Mutant(...), ...]`.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from collections.abc import Callable

import pytest

HERE = pathlib.Path(__file__).parent


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One injected bug.

    Attributes:
        experiment: registered experiment name (e.g. "husimi-kerr").
        name: short id of the bug (e.g. "liouville-dropped").
        bug: one line saying what is wrong, for experiments/README.md.
        apply: `(monkeypatch) -> None`, injects the bug.
        caught_by: substring of the name of a quick claim that must fail.
        overrides: config fields changed from `Config.quick()` for this run
            (only to save time; never to make the claim fail).
    """

    experiment: str
    name: str
    bug: str
    apply: Callable[[pytest.MonkeyPatch], None]
    caught_by: str
    overrides: dict = dataclasses.field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.experiment}:{self.name}"


def scaled(func: Callable, factor: float) -> Callable:
    """`func` with its (array or pytree of arrays) result multiplied by `factor`."""
    import jax

    def wrapper(*args, **kwargs):
        return jax.tree_util.tree_map(lambda x: x * factor, func(*args, **kwargs))

    return wrapper


def osmotic_scaled(monkeypatch, factor) -> None:
    """Nelson's osmotic velocity u_N times `factor` (a float, or a function of
    the mass: e.g. `lambda m: m` drops the 1/m of ħ/2m) on every path that forms
    it: `guidance_velocities` (n-D, node checks) and the fused 1-D kernel
    `_guidance_1d` (parts "u" and "drift" = v + u_N), which the 1-D Nelson
    drift calls without going through `guidance_velocities`."""
    import jqd.dqm._ensembles as ens

    of_mass = factor if callable(factor) else (lambda mass: factor)
    velocities, fused = ens.guidance_velocities, ens._guidance_1d

    def guidance_velocities(grid, psi, x, hbar, mass, *args, **kwargs):
        v, u = velocities(grid, psi, x, hbar, mass, *args, **kwargs)
        return v, of_mass(mass) * u

    def guidance_1d(grid, psi, x, hbar, mass, order, rho_floor, part):
        args = (grid, psi, x, hbar, mass, order, rho_floor)
        if part == "v":
            return fused(*args, "v")
        u = of_mass(mass) * fused(*args, "u")
        return u if part == "u" else fused(*args, "v") + u

    monkeypatch.setattr(ens, "guidance_velocities", guidance_velocities)
    monkeypatch.setattr(ens, "_guidance_1d", guidance_1d)


def fp_terms_scaled(liouville: float = 1.0, diffusion: float = 1.0) -> Callable:
    """A mutant's `apply`: the Galerkin law's Liouville and diffusion
    superoperators (seam `jqd.husimi._fp_terms.fp_terms(poly) -> (liouville,
    diffusion)`) times these factors."""

    def apply(monkeypatch):
        import jqd.husimi._fp_terms as fp

        correct = fp.fp_terms

        def mutated(poly):
            liou, diff = correct(poly)
            return (
                {k: liouville * v for k, v in liou.items()},
                {k: diffusion * v for k, v in diff.items()},
            )

        monkeypatch.setattr(fp, "fp_terms", mutated)

    return apply


def all_mutants() -> list[Mutant]:
    found: list[Mutant] = []
    for path in sorted(HERE.glob("mutants_*.py")):
        found.extend(importlib.import_module(path.stem).MUTANTS)
    return found
