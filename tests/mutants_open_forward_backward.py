"""Mutants of husimi-forward-backward: plausible physics bugs its quick claims
must catch (see tests/mutation.py)."""

from __future__ import annotations

from mutation import Mutant


def _frames_swapped(monkeypatch):
    """The ± eigen-directions of D swapped: the amplified quadrature diffuses
    forward from t = 0 and the squeezed one backward from T."""
    import jqd.husimi._forward_backward as fb

    good = fb.split_frames

    def swapped(D):
        Ep, Em, lp, lm = good(D)
        return Em, Ep, lm, lp

    monkeypatch.setattr(fb, "split_frames", swapped)


def _noise_doubled(monkeypatch):
    """Noise variance 2Λh per step instead of Λh (the ½ of ½∂a∂b(D_ab ρ) dropped)."""
    import jqd.husimi._forward_backward as fb

    good = fb.split_frames

    def doubled(D):
        Ep, Em, lp, lm = good(D)
        return Ep, Em, 2 * lp, 2 * lm

    monkeypatch.setattr(fb, "split_frames", doubled)


def _frame_angle_sign(monkeypatch):
    """The eigenframe turned the wrong way: θ → −θ in e+ = (cos θ, sin θ) (an
    axis-aligned D, θ = 0 or π/2, cannot tell; a rotated one can)."""
    import jax.numpy as jnp

    import jqd.husimi._forward_backward as fb

    good = fb.split_frames

    def mirrored(D):
        Ep, Em, lp, lm = good(D)
        return Ep * jnp.array([1.0, -1.0])[:, None], Em * jnp.array([-1.0, 1.0])[:, None], lp, lm

    monkeypatch.setattr(fb, "split_frames", mirrored)


MUTANTS = [
    Mutant(
        "husimi-forward-backward",
        "frames-swapped",
        "the ± eigen-directions of D swapped (amplified quadrature diffuses forward)",
        _frames_swapped,
        caught_by="amplifier: KS of the Q and P marginals",
    ),
    Mutant(
        "husimi-forward-backward",
        "noise-doubled",
        "noise variance 2Λh instead of Λh per path step (the ½ of the diffusion term dropped)",
        _noise_doubled,
        caught_by="amplifier: KS of the Q and P marginals",
    ),
    Mutant(
        "husimi-forward-backward",
        "frame-angle-sign",
        "the ± eigenframe of D turned by −θ instead of θ (invisible for an axis-aligned D)",
        _frame_angle_sign,
        caught_by="amplifier rotated to θ = 30°",
    ),
]
