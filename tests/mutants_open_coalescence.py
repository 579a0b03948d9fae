"""Mutants of copy-coalescence (the faithful member copy process, physics §5.8):
plausible bugs its quick claims must catch (see tests/mutation.py). Seams:
`jqd.copy._faithful_mobius.copied_point` (the copy event of
`CopyMembersFaithfulMobius`, which the experiment runs),
`jqd.copy._gillespie.candidate_weights` (the candidate rate, shared by the
thinning laws), `jqd.copy._faithful_leap.rate_scale` (the hazards of the
tau-leap law `CopyFaithfulTauLeap`), `jqd.copy._faithful_leap.mean_flow_rk4`
(its step of the types' mean flow), `_rates` as `jqd.copy._faithful_mobius`
and `jqd.copy._faithful_leap` look it up (the (R, δ, ω) both faithful laws
read from H) and the experiment's own `reversed_params`."""

from __future__ import annotations

import sys

from mutation import Mutant

import jqd.copy._faithful_leap as faithful_leap
import jqd.copy._faithful_mobius as faithful_mobius
import jqd.copy._gillespie as gillespie


def _phase_not_copied(monkeypatch):
    """A copy takes the model's class but the copier keeps its own pulled-back
    point (its phase is not the model's)."""
    monkeypatch.setattr(faithful_mobius, "copied_point", lambda w_copier, w_model: w_copier)


def _rate_over_counts(monkeypatch):
    """Copy rate 2R sin⁺/(n_X n_Y) instead of 2R sin⁺/√(n_X n_Y): events per
    unit time O(1) instead of O(N) (pairs with an empty class still weigh 0)."""
    occupied = lambda n: ((n[:, None] > 0) & (n[None, :] > 0)).astype(n.dtype)
    monkeypatch.setattr(gillespie, "candidate_weights", lambda R, n: 2.0 * R * occupied(n))


def _rate_not_normalized(monkeypatch):
    """Copy rate 2R sin⁺ per member pair, the 1/√(n_X n_Y) of S39 dropped: each
    member copies O(N) times per unit time, so t_align no longer grows with N."""
    monkeypatch.setattr(
        gillespie, "candidate_weights", lambda R, n: 2.0 * R * n[:, None] * n[None, :]
    )


def _leap_rate_shifted(monkeypatch):
    """The tau-leap law's copy hazards 5 % too high (a rate constant off by 5 %)."""
    monkeypatch.setattr(faithful_leap, "rate_scale", lambda: 1.05)


def _leap_euler_flow(monkeypatch):
    """The tau-leap law steps its types' mean flow (counts, phases and the copy
    rates integrated alongside) by explicit Euler instead of RK4. Its O(dt)
    error of the phase flow concentrates the types spuriously (the leap's
    first version did the same with a midpoint step, README "Scalable law"),
    so the leap coalesces too fast while its copy events by t = 40 stay within
    ~1 %: the rates are O(dt) wrong only through the phases."""

    def euler(n, phi, dt, R, R_copy, delta, omega, rates=None):
        _, _, onto_s, onto_d = faithful_leap._directed(n.shape[0], n.dtype)
        out, inn = faithful_leap.flow_rates(n, phi, R_copy, delta) if rates is None else rates
        velocity = faithful_leap.phase_velocity(phi, n, R, delta, omega)
        return n + dt * (onto_d @ inn - onto_s @ out), phi + dt * velocity, dt * out, dt * inn

    monkeypatch.setattr(faithful_leap, "mean_flow_rk4", euler)


def _omega_dropped(monkeypatch):
    """Both faithful laws read ω = 0 from H (its diagonal dropped, as if
    `hamiltonian_to_rates` read only the couplings): S40 without the bare
    frequencies ω_a, the same for every member of a class, so the within-class
    coalescence and the exact-vs-leap agreement are untouched, but the class
    phases, hence the copy fluxes, no longer follow iψ̇ = Hψ."""
    from jqd.copy._kinetics import _rates

    def without_omega(params, dtype):
        R, delta, omega = _rates(params, dtype)
        return R, delta, 0.0 * omega

    monkeypatch.setattr(faithful_mobius, "_rates", without_omega)
    monkeypatch.setattr(faithful_leap, "_rates", without_omega)


def _delta_not_reversed(monkeypatch):
    """Time reversal flips φ but leaves δ (H instead of H*)."""
    from jqdlab import registry

    registry.load("copy-coalescence")
    module = sys.modules["jqd_experiments.copy_coalescence"]
    monkeypatch.setattr(module, "reversed_params", lambda params: params)


MUTANTS = [
    Mutant(
        experiment="copy-coalescence",
        name="phase-not-copied",
        bug="a copy takes the model's class but keeps the copier's phase",
        apply=_phase_not_copied,
        caught_by="diversity decays",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="phase-not-copied-aligned",
        bug="a copy takes the model's class but keeps the copier's phase (aligned start)",
        apply=_phase_not_copied,
        caught_by="aligned start stays aligned",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="rate-not-normalized",
        bug="copy rate 2R sin⁺ per member pair instead of 2R sin⁺/√(n_X n_Y)",
        apply=_rate_not_normalized,
        caught_by="t_align exponent",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="rate-over-counts",
        bug="copy rate 2R sin⁺/(n_X n_Y) instead of 2R sin⁺/√(n_X n_Y)",
        apply=_rate_over_counts,
        caught_by="t_align exponent",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="leap-rate-5pct",
        bug="CopyFaithfulTauLeap's copy hazards 5 % too high",
        apply=_leap_rate_shifted,
        caught_by="tau-leap law agrees with the exact process",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="leap-euler-flow",
        bug="CopyFaithfulTauLeap steps its types' mean flow by explicit Euler, not RK4",
        apply=_leap_euler_flow,
        caught_by="tau-leap law coalesces like the exact process",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="omega-dropped",
        bug="the faithful laws' class phase flow S40 without ω_a = H_aa/ħ (diagonal of H dropped)",
        apply=_omega_dropped,
        caught_by="n/N follows |ψ|² from an aligned start",
    ),
    Mutant(
        experiment="copy-coalescence",
        name="delta-not-reversed",
        bug="time reversal flips φ but not δ",
        apply=_delta_not_reversed,
        caught_by="time reversal returns",
    ),
]
