"""Mutants of nelson-gas-statistics (Z51-Z53 as dynamics, physics §6.2): plausible
bugs in the fluctuating background amplitude, the collisions, the guided particles
and the cells that its quick claims must catch (see tests/mutation.py). Seams: the
experiment's module functions `potential_kick`, `kick`, `collide`, `guided_move`,
`cell_probabilities` and `regime_table`, looked up when its one program is traced."""

from __future__ import annotations

import sys

from mutation import Mutant

NAME = "nelson-gas-statistics"


def _module():
    from jqdlab import registry

    registry.load(NAME)
    return sys.modules["jqd_experiments.nelson_gas_statistics"]


def _no_background_kick(monkeypatch):
    """The background field's kick dropped: ψ only hops on the ring, so it stays the
    equal-amplitude state (w = 1/M between collisions: the classical gas)."""
    module = _module()
    monkeypatch.setattr(module, "potential_kick", lambda u, psi, strength, mask: psi)


def _real_amplitude(monkeypatch):
    """ψ kept real (ψ = ±|ψ|, Z54): the imaginary part dropped after every kick and
    ψ renormalized."""
    import jax.numpy as jnp

    module = _module()
    correct = module.kick

    def kick(u, psi, strength, mask, prop):
        out = jnp.real(correct(u, psi, strength, mask, prop)).astype(psi.dtype)
        return out / jnp.linalg.norm(out)

    monkeypatch.setattr(module, "kick", kick)


def _collisions_equal_probabilities(monkeypatch):
    """Collisions place the particles by the classical equal a priori probabilities
    1/M, not by the current w = |ψ|² (the fluctuation never reaches the particles)."""
    import jax.numpy as jnp

    module = _module()
    correct = module.collide
    monkeypatch.setattr(module, "collide", lambda u, w: correct(u, jnp.ones_like(w)))


def _one_draw_per_gas(monkeypatch):
    """One uniform for the whole gas: every particle lands in the same state (the
    particles' independent placement, the multinomial of Z45, lost)."""
    import jax.numpy as jnp

    module = _module()
    correct = module.collide
    monkeypatch.setattr(module, "collide", lambda u, w: correct(jnp.full_like(u, u[0]), w))


def _fixed_regime_kicked(monkeypatch):
    """The regime table's κ column filled with config.kick: the "fixed ψ" run
    fluctuates too."""
    module = _module()
    correct = module.regime_table

    def regime_table(config):
        return [(name, config.kick, g) for name, _, g in correct(config)]

    monkeypatch.setattr(module, "regime_table", regime_table)


def _guided_ratio_inverted(monkeypatch):
    """The guided particles stay with probability min(1, w_b/w'_b) (the ratio
    inverted): the jump process no longer carries w to w'."""
    import jax.numpy as jnp

    module = _module()

    def guided_move(u_stay, u_dest, a, w_old, w_new):
        tiny = jnp.finfo(w_old.dtype).tiny
        stay = jnp.minimum(1.0, w_old[a] / jnp.maximum(w_new[a], tiny))
        gain = jnp.maximum(w_new - w_old, 0.0)
        dest = module.draw(u_dest, gain + tiny * (jnp.sum(gain) == 0))
        return jnp.where(u_stay < stay, a, dest)

    monkeypatch.setattr(module, "guided_move", guided_move)


def _cell_first_mode(monkeypatch):
    """A state's weight read from the first of its g modes only (renormalized), not
    summed over the cell."""
    import jax.numpy as jnp

    module = _module()

    def cell_probabilities(psi, cells):
        first = cells * (jnp.cumsum(cells, axis=0) == 1)
        w = (jnp.abs(psi) ** 2) @ first
        return w / jnp.sum(w)

    monkeypatch.setattr(module, "cell_probabilities", cell_probabilities)


MUTANTS = [
    Mutant(
        NAME,
        "no-background-kick",
        "the background field's potential kick dropped: ψ stays the equal-amplitude state",
        _no_background_kick,
        caught_by="fluctuating ψ, collisions: BE counting",
    ),
    Mutant(
        NAME,
        "real-amplitude",
        "ψ kept real (imaginary part dropped after each kick, renormalized)",
        _real_amplitude,
        caught_by="fluctuating ψ, collisions: BE counting",
    ),
    Mutant(
        NAME,
        "collisions-equal-probabilities",
        "collisions place particles with 1/M, not with the fluctuating w = |ψ|²",
        _collisions_equal_probabilities,
        caught_by="fluctuating ψ, collisions: MB rejected",
    ),
    Mutant(
        NAME,
        "one-draw-per-gas",
        "one uniform for the whole gas at a collision: all particles in one state",
        _one_draw_per_gas,
        caught_by="fixed ψ (no fluctuation): MB counting",
    ),
    Mutant(
        NAME,
        "fixed-regime-kicked",
        "the regime table's κ = config.kick for every run: the 'fixed' ψ fluctuates",
        _fixed_regime_kicked,
        caught_by="fixed ψ (no fluctuation): BE rejected",
    ),
    Mutant(
        NAME,
        "guided-ratio-inverted",
        "guided particles stay with probability min(1, w/w') instead of min(1, w'/w)",
        _guided_ratio_inverted,
        caught_by="fluctuating ψ, guided particles: BE counting",
    ),
    Mutant(
        NAME,
        "cell-first-mode",
        "a state's weight from the first of its g modes (renormalized), not the cell sum",
        _cell_first_mode,
        caught_by="coarse cells, g = 4",
    ),
]
