"""copy-phase-alignment: does Smolin's Hamiltonian model (S42-S53) align
initially misaligned member phases, as a function of f and N?"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd.copy import AlignmentParams, AlignmentState, PhaseAlignment
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import experiment_config, jackknife_se, panel


@experiment_config(
    quick=dict(fs=(1.0, 8.0), n_per_class=(10, 100), periods=8.0, steps_per_period=80, n_save=160),
    limits={
        "H_scale": "> 0",
        "fs": "> 0",
        "spreads": ">= 0",
        "periods": "> 0",
    },
)
class Config:
    """Smolin's phase-alignment model, RK4 (ħ = 1; time in periods 2π/Ω, Ω = f√(2n)).

    Attributes:
        P: number of beables (classes); 3 for the Gaussian starts, which use
            the class phases (0, 1, −2).
        seed: PRNG seed of the random Hermitian H and of the initial phases.
        H_scale: scale of the random Hermitian H (energy units).
        fs: coupling strengths f swept (> 0); each run's dt follows from Ω = f√(2n).
        n_per_class: members per class n swept (N = P·n members in all).
        spreads: initial phases: a float is a Gaussian spread (rad) about the
            class phases; "uniform" draws them uniformly on the circle.
        periods: run length in units of 2π/Ω, Ω = f √(2n).
        steps_per_period: RK4 steps per period 2π/Ω.
        n_save: saves over the run: 30 per period 2π/Ω, resolving the peaks of
            1 − R1 (quick(): 20 per period); even (the dt/2 check runs the two
            halves of the run).
    """

    P: int = 3
    seed: int = 2
    H_scale: float = 0.3
    fs: tuple = (0.25, 1.0, 4.0, 16.0)
    n_per_class: tuple = (10, 100, 1000)
    spreads: tuple = (0.2, "uniform")
    periods: float = 16.0
    steps_per_period: int = 120
    n_save: int = 480


@functools.partial(jax.jit, static_argnums=1)
def _keys(seed, folds: tuple):
    """Every PRNG key of the run in one program (eager key + fold_in compile ~4):
    the key of H, and one fold_in per (spread, n), as separate outputs (indexing a
    key array compiles two more)."""
    key = jax.random.key(seed)
    return key, tuple(jax.random.fold_in(key, d) for d in folds)


def run(config: Config, rec: Recorder) -> None:
    P = config.P
    n_n = len(config.n_per_class)
    folds = [1000 * i_spread + i_n for i_spread in range(len(config.spreads)) for i_n in range(n_n)]
    key_H, keys = _keys(config.seed, tuple(folds))
    H = jqd.fock.random_hermitian(key_H, P, scale=config.H_scale)
    rows = []
    traces = {}
    runs = {}  # (spread, n, f) -> the run's arguments, for the dt/2 check
    for i_n, n in enumerate(config.n_per_class):
        # NumPy: eager arange/repeat compile four programs per n
        beables = jax.device_put(np.repeat(np.arange(P, dtype=np.int32), n))
        law = PhaseAlignment(beables=beables, n_states=P)
        # One set of observables per law: evolve compiles once per n.
        obs = {
            "R1": lambda t, y, p, law=law: jnp.mean(law.order_parameters(y)[0]),
            "R2": lambda t, y, p, law=law: jnp.mean(law.order_parameters(y)[1]),
            "E": lambda t, y, p, law=law: law.energy(t, y, p),
            "R1_class": lambda t, y, p, law=law: law.order_parameters(y)[0],
        }
        for i_spread, spread in enumerate(config.spreads):
            # Deterministic per (spread, n) and independent of the f values swept.
            key = keys[i_spread * n_n + i_n]
            if spread == "uniform":
                phi0 = jax.random.uniform(key, beables.shape, minval=-np.pi, maxval=np.pi)
            else:
                # NumPy: an eager gather and add compile a program per shape
                centres = np.array([0.0, 1.0, -2.0])[np.asarray(beables)]
                phi0 = centres + spread * np.asarray(jax.random.normal(key, beables.shape))
            phi0 = jax.device_put(phi0)
            y0 = AlignmentState(phi=phi0, pi=jax.device_put(np.zeros(phi0.shape, phi0.dtype)))
            for f in config.fs:
                Om = f * np.sqrt(2 * n)
                dt = 2 * np.pi / Om / config.steps_per_period
                total = int(config.periods * config.steps_per_period)
                sps = max(total // config.n_save, 1)
                args = (law, y0, AlignmentParams(H=H, f=jax.device_put(f)), obs, dt, sps)
                runs[(str(spread), n, f)] = args
                sol = _run(*args, config.n_save)
                R1 = np.asarray(sol.observables["R1"])
                R1c = np.asarray(sol.observables["R1_class"])  # (saves, P)
                R2 = np.asarray(sol.observables["R2"])
                E = np.asarray(sol.observables["E"])
                late = slice(len(R1) // 2, None)
                rows.append(
                    dict(
                        spread=str(spread),
                        n=n,
                        f=f,
                        R1_0=R1[0],
                        R1_late_mean=R1[late].mean(),
                        R1_late_min=R1[late].min(),
                        R1_max=R1.max(),
                        # Damping measure: late-window peak of the misalignment
                        # 1 − R1 over its initial value (1 undamped, → 0 attractor).
                        misalignment_late_peak=float((1 - R1[late].min()) / (1 - R1[0])),
                        sqrt_n_R1_late_mean=float(np.sqrt(n) * R1[late].mean()),
                        R2_0=R2[0],
                        R2_late_mean=R2[late].mean(),
                        energy_drift=float(np.max(np.abs(E - E[0])) / max(abs(E[0]), 1e-300)),
                    )
                )
                t = np.asarray(sol.ts) * Om / (2 * np.pi)
                traces[(str(spread), n, f)] = (t, R1, R2, R1c)
    rows.sort(key=lambda r: (r["spread"] == "uniform", r["n"], r["f"]))
    rec.metric("table", rows)
    small = [r for r in rows if r["spread"] != "uniform"]
    unif = [r for r in rows if r["spread"] == "uniform"]

    def errors(row, statistic):
        """(se, step error) of a claim set by `row`, `statistic(R1 series)`: the
        jackknife over the P classes (independent initial draws; P − 1 degrees of
        freedom), and the row at dt minus at dt/2 (RK4 from the same start)."""
        key = (row["spread"], row["n"], row["f"])
        R1c = traces[key][3]
        se = jackknife_se(lambda keep: statistic(R1c[:, keep].mean(1)), R1c.shape[1])
        return se, statistic(traces[key][1]) - statistic(_half_step(runs[key], config.n_save))

    late_peak = lambda R1: float((1 - R1[len(R1) // 2 :].min()) / (1 - R1[0]))
    if small:
        # Linear theory (README): deviations ε_I(t) = ε_I(0) cos Ωt, so
        # 1 − R1 ∝ cos²Ωt returns to its initial value every π/Ω; the saves fall
        # on these returns, so an undamped run gives ≈ 1 and a friction γ gives
        # ≈ e^{−γ T/2}. The bound 1/2 is halfway between the two.
        worst = min(small, key=lambda r: r["misalignment_late_peak"])
        se, step = errors(worst, late_peak)
        rec.claim(
            "small misalignment is not damped (late peak of 1 − R1 over its initial value)",
            "S42-S53: alignment is a fixed point but no attractor; min over (n, f) of "
            "max_{t > T/2}(1 − R1) / (1 − R1(0))",
            float(min(r["misalignment_late_peak"] for r in small)),
            0.5,
            op=">=",
            se=se,
            step_error=step,
        )
    if unif:
        # Random phases: √n R1 per class is Rayleigh (mean 0.89, SD 0.46; class
        # mean SD 0.27); two antipodal clusters of random membership: mean 0.80.
        worst = max(unif, key=lambda r: r["sqrt_n_R1_late_mean"])
        late_mean = lambda R1, n=worst["n"]: float(np.sqrt(n) * R1[len(R1) // 2 :].mean())
        se, step = errors(worst, late_mean)
        rec.claim(
            "uniform initial phases: no alignment (late mean R1 in units of 1/√n)",
            "S42-S53 (open question): max over (n, f) of √n · late mean R1; "
            "alignment would give √n",
            float(max(r["sqrt_n_R1_late_mean"] for r in unif)),
            2.5,
            op="<",
            se=se,
            step_error=step,
        )
    rec.metric("max_relative_energy_drift", max(r["energy_drift"] for r in rows))

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    # t is in periods 2π/Ω: at a small spread the curves of one n nearly coincide
    # for every f (and those of different n nearly so), so each (n, f) gets its own
    # line style and marker, the first drawn widest, and the title says so
    looks = [("-", "o", 3.0), ("--", "^", 2.0), ("-.", "s", 1.5), (":", "D", 1.5)]
    for ax, spread in zip(axes, config.spreads, strict=True):
        shown = [(k, v) for k, v in traces.items() if k[0] == str(spread)]
        for i, ((_, n, f), (t, R1, R2, R1c)) in enumerate(shown):
            ls, marker, lw = looks[i % len(looks)]
            every = max(1, len(t) // 12)
            (line,) = ax.plot(
                t,
                R1,
                ls=ls,
                lw=lw,
                marker=marker,
                ms=5,
                mfc="none",
                markevery=(i, every),
                label=f"n={n}, f={f}: R1",
            )
            se = R1c.std(1, ddof=1) / np.sqrt(R1c.shape[1])  # over the classes' draws
            ax.fill_between(t, R1 - se, R1 + se, color=line.get_color(), alpha=0.2, lw=0)
            if spread == "uniform":
                ax.plot(t, R2, ":", color=line.get_color(), lw=1, label=f"n={n}, f={f}: R2 (mod π)")
        panel(
            ax,
            "t (periods 2π/Ω, Ω = f√(2n))",
            r"class order parameter $|\langle e^{i\varphi}\rangle|$ (R1; band ± SE)",
        )
        if spread == "uniform":
            ax.set_ylim(0, 1.02)
            ax.set_title(f"initial spread {spread}: alignment not an attractor")
        else:  # stays near its start: zoomed, so that the four curves are seen apart
            ax.set_title(
                f"initial spread {spread}: misalignment not damped\n(the n, f curves nearly coincide)"
            )
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    rec.figure(fig, "alignment.png")


def _run(law, y0, params, obs, dt, sps, n_save, t0=0.0):
    """`n_save` saves of `sps` RK4 steps dt from `y0` at t0 (one program per law)."""
    return jqd.evolve(
        law,
        y0,
        params,
        dt=jax.device_put(dt),
        n_save=n_save,
        steps_per_save=sps,
        t0=t0,
        observe=obs,
        checkpoint=False,
    )


def _half_step(args, n_save):
    """R1 at the saves of the run `args` = (law, y0, params, obs, dt, sps), computed
    with dt/2 from the same start: its two halves in turn (the same program)."""
    law, y0, params, obs, dt, sps = args
    first = _run(law, y0, params, obs, dt / 2, sps, n_save)
    t_half = float(n_save * sps * dt / 2)  # a Python float, as t0 = 0.0: the same program
    second = _run(law, first.y_final, params, obs, dt / 2, sps, n_save, t0=t_half)
    R1 = lambda sol: np.asarray(sol.observables["R1"])
    return np.concatenate([R1(first)[::2], R1(second)[2::2]])


def validate(config: Config) -> None:
    """n_save even: the dt/2 check runs the two halves of the run, each ending on a save."""
    if config.n_save % 2:
        raise ValueError(f"n_save must be even (the dt/2 check); got {config.n_save}.")


EXPERIMENT = Experiment(
    description="Smolin's S42-S53 phase-alignment model: order parameter vs f and N",
    physics="§5.5",
    compile_bound=True,
)
