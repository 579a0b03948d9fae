"""husimi-kerr: the Husimi Fokker-Planck equation (C = 1) against exact Kerr
evolution through collapse, the cat state at Ut = π and the revival at 2π;
and the diffusion constant C fitted back from exact Husimi data."""

from __future__ import annotations

import dataclasses
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqdlab import Experiment, FitSpec, Recorder
from jqdlab.toolkit import (
    claim_fitted_C,
    claim_max_error,
    experiment_config,
    mean_and_stderr,
    panel,
)


@experiment_config(
    quick=dict(fit=False, alpha0=1.5, cutoff=28, n_grid=64, extent=6.0),
    limits={
        "U": "> 0",
        "extent": "> 0",
        "fit_t_max": "> 0",
        "C": "> 0",
        "moment_C": "> 1",
        "hbar": "> 0",
    },
)
class Config:
    """Husimi Fokker-Planck vs exact Kerr, H = (U/2) a†² a² (ħ = 1, dimensionless α).

    Attributes:
        alpha0: coherent amplitude of the initial state |α0⟩ (real).
        U: Kerr strength (frequency units, > 0); saves at Ut = kπ/4, k = 0 … 8.
        cutoff: Fock cutoff of the Galerkin basis (must hold |α0⟩ and the cat).
        n_grid: points per axis of the Husimi comparison grid (even: no α = 0
            point, where jqd.reference.kerr_husimi returns NaN).
        extent: the comparison grid covers Re α, Im α in [−extent, extent] (> 0).
        fit_alpha0: coherent amplitude of the small run the C fit uses.
        fit_cutoff: Fock cutoff of the C-fit run.
        fit_grid: points per axis of the C fit's α grid on [−3.5, 3.5].
        fit_C0: starting value of C for the fit (quantum mechanics is C = 1).
        fit: run the C fit (compile-heavy: off in quick()).
        fit_t_max: end of the fit times: `jqd fit` fits the Husimi function and
            moments at fit_saves times in (0, fit_t_max] (the `Q` and moment
            outputs of `jqd sweep`); the sweep's claims (max_L1, max_a_error)
            cover a whole revival whatever it is. Short on purpose: up to
            Ut = 0.4 the misfit grows smoothly in C and U on both sides of
            C = 1, while over a whole revival its basin is only |C − 1| ≈ 0.02.
        fit_saves: number of those times.
        C: diffusion strength of the Fokker-Planck law in the revival run,
            `jqd sweep` and `jqd fit` (quantum mechanics: C = 1; the run's
            claims test the law at this C against exact Kerr evolution).
        moment_C: the C (≠ 1) of a second revival run whose moment E_Q[α²]
            is claimed against its closed form for the C-scaled equation
            (README: a moment the diffusion changes; > 1, where the Galerkin
            moments converge with the cutoff).
        n_samples: Husimi samples per data point of `jqd fit --data ensemble`.
        hbar: ħ of a third revival run with U read as an energy: the law's H is
            in units of ħ (physics §0), kerr(U/ħ); its ⟨a(t)⟩ is claimed against
            `jqd.reference.kerr_mean_a(..., hbar=ħ)` (the other runs: ħ = 1).
    """

    alpha0: float = 2.0
    U: float = 1.0
    cutoff: int = 36
    n_grid: int = 160
    extent: float = 7.0
    fit_alpha0: float = 1.2
    fit_cutoff: int = 20
    fit_grid: int = 20
    fit_C0: float = 0.5
    fit: bool = True
    fit_t_max: float = 0.4
    fit_saves: int = 4
    C: float = 1.0
    moment_C: float = 1.1
    n_samples: int = 4000
    hbar: float = 0.6


def run(config: Config, rec: Recorder) -> None:
    hs = jqd.husimi
    c = config
    H = hs.kerr(c.U)
    rec.metric("truncation_exact", hs.truncation_check(H).exact)
    # The Fokker-Planck operator L(C) of F65-66 itself (drift and D = (C/2)[H'', J]
    # from the anti-Wick symbol's derivatives), exponentiated: not the unitary split,
    # which at C = 1 is e^{-iH_P t} by construction and so cannot test those terms.
    law = hs.HusimiGalerkin(H, cutoffs=c.cutoff, scheme=jqd.schemes.Exact())
    R0 = law.initial_state(jqd.fock.coherent_state(c.alpha0, c.cutoff))
    n = 8  # saves at Ut = k π/4
    observe = {"R": lambda t, y, p: y, "a": lambda t, y, p: law.mean_a(y)[0], "E": law.energy}
    sol = _one_revival(law, R0, c, n, observe)
    ts = np.asarray(sol.ts)
    x = np.linspace(-c.extent, c.extent, c.n_grid)  # even n_grid: no α = 0 point
    h = x[1] - x[0]
    X, Y = np.meshgrid(x, x, indexing="ij")
    al = X + 1j * Y
    R_saved = np.asarray(sol.observables["R"])  # indexed on the host: no program per index
    Qg = np.stack([np.asarray(law.husimi(R, al[..., None])) for R in R_saved])
    al_device = jax.device_put(al)  # moved once: jnp.asarray would compile a program
    Qe = np.stack([np.asarray(jqd.reference.kerr_husimi(al_device, t, c.alpha0, c.U)) for t in ts])
    l1 = np.sum(np.abs(Qg - Qe), axis=(1, 2)) * h * h
    rec.claim(
        "L1 distance to exact Husimi, every save to Ut = 2π",
        "physics §4: the Fokker-Planck equation (F65-66) at C = 1 is exact for Kerr",
        float(l1.max()),
        1e-8,
    )
    exact_a = _kerr_mean_a(ts, c.alpha0, c.U, 1.0)
    claim_max_error(
        rec,
        "<a(t)> vs closed form",
        "physics §4: <a(t)> = α0 exp[|α0|²(e^{-iUt}-1)]",
        sol.observables["a"],
        exact_a,
        tolerance=1e-10,
    )
    # ⟨H⟩ is not a claim: for Kerr both terms of L(C) leave the Fock populations
    # invariant, so it is conserved under any error of them (README, findings)
    E = np.asarray(sol.observables["E"])
    rec.metric("energy_drift", float(np.max(np.abs(E - E[0]))))
    # A moment the diffusion changes: E_Q[α²] = tr(R a²) under L(C) at C = moment_C ≠ 1
    # (the same law and program, another C) against its closed form (README derivation)
    msol = _one_revival(law, R0, dataclasses.replace(c, C=c.moment_C), n, observe)
    a = np.asarray(law.ladders)[0]
    m2 = np.array([np.trace(R @ a @ a) for R in np.asarray(msol.observables["R"])])
    claim_max_error(
        rec,
        f"E_Q[α²] at C = {c.moment_C:g} vs its closed form, every save to Ut = 2π",
        "physics §4.2: the C-scaled equation's moment (README); the diffusion term "
        "enters dE_Q[α²]/dt at first order (|Δ| max over saves)",
        m2,
        kerr_moment_closed_form(2, np.asarray(msol.ts), c.alpha0, c.U, c.moment_C),
        tolerance=1e-8,
    )
    # ħ ≠ 1: U an energy, the law's H in units of ħ (physics §0) is kerr(U/ħ), i.e.
    # the same law with its weights and H_P divided by ħ; one revival, Ut/ħ ∈ [0, 2π]
    W_h, H_h = (jax.device_put(np.asarray(x) / c.hbar) for x in (law.W, law.H))  # host: same IEEE
    hlaw = eqx.tree_at(lambda l: (l.W, l.H), law, (W_h, H_h))
    hsol = jqd.evolve(
        hlaw,
        R0,
        hs.GalerkinParams(1.0),
        dt=2 * np.pi * c.hbar / (n * c.U),
        n_save=n,
        observe=observe,
        on_breakdown="flag",
    )
    claim_max_error(
        rec,
        f"<a(t)> at ħ = {c.hbar:g} (H/ħ = kerr(U/ħ)) vs closed form",
        "physics §4.6, §0: <a(t)> = α0 exp[|α0|²(e^{-iUt/ħ}-1)], U an energy",
        hsol.observables["a"],
        _kerr_mean_a(np.asarray(hsol.ts), c.alpha0, c.U, hbar=c.hbar),
        tolerance=1e-10,
    )
    # cat at Ut = π: (e^{-iπ/4}|iα0⟩ + e^{iπ/4}|−iα0⟩)/√2
    cat = jqd.reference.kerr_cat_state(c.alpha0, c.cutoff)
    fid = float(_fidelity(cat, R_saved[n // 2]))
    rec.claim(
        "cat state at Ut = π (|1 − fidelity|)",
        "physics §4: two-component cat at Ut = π",
        abs(1 - fid),
        1e-10,
    )
    rev = float(np.max(np.abs(R_saved[-1] - np.asarray(R0))))
    rec.claim(
        "revival at Ut = 2π (max |R − R0|)", "physics §4: full revival at Ut = 2π", rev, 1e-10
    )

    # The operator itself: closure P L(1) P = −i[H_P, ·] (H_P from the operator matrix)
    # on the run's states, and least-squares coefficients of its two terms on exact data
    closure = {
        # C as an array: traced, one program for both values (a Python float is static)
        C: [float(hs.galerkin_closure_error(law, R, np.asarray(C))) for R in R_saved]
        for C in (1.0, 0.5)
    }
    coef = np.asarray(hs.fp_coefficients(law, *_exact_states_and_derivatives(c)))
    for name, statement, value, bound, op in (
        (
            "closure ‖P L(1) P R + i[H_P, R]‖ / ‖[H_P, R]‖, every save",
            "physics §4.4 (F64): for a truncating H the projected L(1) is the quantum Liouvillian",
            max(closure[1.0]),
            1e-13,
            "<=",
        ),
        (
            "closure at C = 0.5 (the check has power)",
            "physics §4.2: L(C) − L(1) = (C − 1) × diffusion ≠ 0",
            min(closure[0.5]),
            0.1,
            ">=",
        ),
        (
            "least-squares (Liouville, diffusion) coefficients on exact data, max |coef − 1|",
            "physics §4.2: dR/dt of exact Kerr evolution = drift + C · diffusion with C = 1",
            float(np.max(np.abs(coef - 1.0))),
            1e-8,
            "<=",
        ),
    ):
        rec.claim(name, statement, value, bound, op=op)
    rec.metric("ls_coefficients", coef)
    rec.metric("closure_C1", closure[1.0])
    rec.metric("closure_C05", closure[0.5])
    rec.metric("L1_per_save", l1)
    rec.metric("times", ts)

    if c.fit:
        # C fit from exact Husimi data (Fock-space evolution) at a small size,
        # minimising over the Fokker-Planck operator L(C) (scheme=Exact())
        K = c.fit_cutoff
        flaw = hs.HusimiGalerkin(H, cutoffs=K, scheme=jqd.schemes.Exact())
        psi0 = jqd.fock.coherent_state(c.fit_alpha0, K)
        g = np.linspace(-3.5, 3.5, c.fit_grid)
        G1, G2 = np.meshgrid(g, g, indexing="ij")
        fal = (G1 + 1j * G2)[..., None]
        dt, sps, ns = 0.02, 5, 3
        data = jnp.stack(
            [
                flaw.husimi(jqd.reference.kerr_state(dt * sps * k, c.fit_alpha0, K, c.U), fal)
                for k in range(1, ns + 1)
            ]
        )
        claim_fitted_C(rec, flaw, psi0, fal, data, dt=dt, steps_per_save=sps, C0=c.fit_C0)

    import matplotlib.pyplot as plt
    import xarray as xr

    show = [0, 1, 4, 8]
    fig, axes = plt.subplots(2, len(show), figsize=(3.2 * len(show), 6.2), constrained_layout=True)
    for j, k in enumerate(show):
        for i, (Q, lab) in enumerate(((Qg[k], "Fokker-Planck L(C=1)"), (Qe[k], "exact"))):
            ax = axes[i, j]
            im = ax.imshow(Q.T, origin="lower", extent=[-c.extent, c.extent] * 2, cmap="magma")
            ax.set_title(f"{lab}\nUt = {ts[k] * c.U:.2f}", fontsize=8)
            panel(ax, "Re α (dimensionless)", "Im α (dimensionless)")
            fig.colorbar(im, ax=ax, shrink=0.7, label="$Q_H$")
    fig.suptitle(
        f"Kerr α0 = {c.alpha0}: Husimi FP (exp of L(1)) equals exact evolution (max L1 = {l1.max():.1e}), cat at π, revival at 2π"
    )
    rec.figure(fig, "kerr_snapshots.png")
    rec.arrays(
        xr.Dataset(
            {
                "Q_fp": (("t", "re", "im"), Qg),
                "Q_exact": (("t", "re", "im"), Qe),
                "L1": (("t",), l1),
            },
            coords={"t": ts, "re": x, "im": x},
        ),
        "kerr_snapshots.nc",
    )
    if rec.animate:  # `jqd run husimi-kerr --animate`: a second run, saved every Ut = π/16
        _animate(rec, law, R0, c, al)


def _kerr_mean_a(t, alpha0, U, hbar):
    """jqd.reference.kerr_mean_a as one program, not one per eager operation (ħ
    traced: one for every ħ); looked up at each call, so a patched reference is used."""
    return jax.jit(jqd.reference.kerr_mean_a)(t, alpha0, U, hbar)


_fidelity = jax.jit(lambda psi, R: jnp.real(jnp.vdot(psi, R @ psi)))  # one program


def kerr_moment_closed_form(m: int, t, alpha0: float, U: float, C: float):
    """E_Q[α^m](t) for the Husimi Fokker-Planck equation of H = (U/2)a†²a² at
    diffusion strength C from the coherent state |α0⟩ (README, derivation):

        E_Q[α^m](t) = α0^m (1 − s)^{−m−1} exp(|α0|² s/(1 − s)) e^{iUm(2 + C(m−1)/2)t},
        s = (1 − e^{iUmCt})/C.

    At C = 1 and m = 1 it is `jqd.reference.kerr_mean_a`. Singular where
    1 − s = 0 (C = 2 at UmCt = π (mod 2π))."""
    t = np.asarray(t, float)
    s = (1 - np.exp(1j * U * m * C * t)) / C
    return (
        alpha0**m
        * (1 - s) ** (-m - 1)
        * np.exp(abs(alpha0) ** 2 * s / (1 - s))
        * np.exp(1j * U * m * (2 + C * (m - 1) / 2) * t)
    )


def _one_revival(law, R0, c: Config, n: int, observe=None):
    """The Fokker-Planck run at C (1: quantum) over one revival, Ut ∈ [0, 2π], in n saves."""
    return jqd.evolve(
        law,
        R0,
        jqd.husimi.GalerkinParams(c.C),
        dt=2 * np.pi / (n * c.U),
        n_save=n,
        observe=observe,
        on_breakdown="flag",  # a state leaving the Galerkin basis shows up in the claims
    )


def _animate(rec: Recorder, law, R0, c: Config, al, n: int = 32) -> None:
    """Q(α, t) of the Fokker-Planck (Galerkin, exp of L(1)) run beside the exact one,
    Ut = kπ/16 for k = 0 … 32 (a run of its own: the claims' run is untouched)."""
    import matplotlib.pyplot as plt

    sol = _one_revival(law, R0, c, n)
    ts = np.asarray(sol.ts)
    Qg = np.asarray(jax.vmap(lambda R: law.husimi(R, al[..., None]))(sol.observables))
    Qe = np.stack([np.asarray(jqd.reference.kerr_husimi(al, t, c.alpha0, c.U)) for t in ts])
    h = (2 * c.extent / (c.n_grid - 1)) ** 2
    l1 = np.sum(np.abs(Qg - Qe), axis=(1, 2)) * h
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), constrained_layout=True)
    ims = []
    for ax, Q, lab in zip(
        axes, (Qg, Qe), ("Fokker-Planck, exp of L(C = 1)", "exact (closed form)")
    ):
        ims.append(
            ax.imshow(
                Q[0].T,
                origin="lower",
                extent=[-c.extent, c.extent] * 2,
                cmap="magma",
                vmin=0,
                vmax=float(Qe.max()),
            )
        )
        ax.set_title(lab)
        panel(ax, "Re α (dimensionless)", "Im α (dimensionless)")
    fig.colorbar(ims[1], ax=axes, shrink=0.8, label="Husimi $Q_H(\\alpha, t)$")

    def update(k):
        ims[0].set_data(Qg[k].T)
        ims[1].set_data(Qe[k].T)
        return f"Ut = {k}π/{n // 2} = {ts[k] * c.U:.3f};  L1 distance to exact {l1[k]:.1e}"

    rec.animation(
        fig,
        update,
        len(ts),
        "kerr_husimi.mp4",
        claim="Husimi Fokker-Planck (C = 1) equals exact Kerr evolution: collapse, "
        "cat at Ut = π, revival at 2π",
    )


def _exact_states_and_derivatives(c, n_times: int = 12):
    """Exact Kerr states R(t) = |ψ(t)⟩⟨ψ(t)| at n_times times in (0, 2π/U] and
    their time derivatives, by jax.jvp of the closed form (not L applied to R)."""
    ts = jnp.linspace(2 * np.pi / c.U / n_times, 2 * np.pi / c.U, n_times)
    return _exact_R_and_derivative(ts, c.alpha0, c.cutoff, c.U)


@functools.partial(jax.jit, static_argnums=2)  # one program, not one per eager vmap op
def _exact_R_and_derivative(ts, alpha0, cutoff, U):
    def exact_R(t):
        psi = jqd.reference.kerr_state(t, alpha0, cutoff, U)
        return jnp.outer(psi, jnp.conj(psi))

    return jax.vmap(lambda t: jax.jvp(exact_R, (t,), (jnp.ones_like(t),)))(ts)


# -- sweep and fit: the Fokker-Planck law L(C) at (C, U, α0) -----------------------
N_SAVE = 8  # saves at Ut = kπ/4 (U of the config: the times every item shares)
MOMENTS = ("mean_a_real", "mean_a_imag", "mean_a2_real", "mean_a2_imag")


@functools.lru_cache(maxsize=8)
def _unit_law(cutoff: int):
    """HusimiGalerkin(kerr(U = 1), scheme=jqd.schemes.Exact()); L(C) and H_P are linear in H.
    Built eagerly (concrete arrays) even when first called inside a trace."""
    with jax.ensure_compile_time_eval():
        return jqd.husimi.HusimiGalerkin(
            jqd.husimi.kerr(1.0), cutoffs=cutoff, scheme=jqd.schemes.Exact()
        )


def _law(cutoff: int, U):
    """HusimiGalerkin(kerr(U)): its weights W and H_P are U times those at U = 1 (the
    drift J∇H and D = (C/2)[H'', J] are linear in H), so U may be traced."""
    base = _unit_law(cutoff)
    return eqx.tree_at(lambda law: (law.W, law.H), base, (U * base.W, U * base.H))


def _grids(c: Config):
    """(comparison grid α (n_grid², 1), fit grid α (fit_grid², 1)) on [−extent, extent]²."""
    out = []
    for n in (c.n_grid, c.fit_grid):
        x = np.linspace(-c.extent, c.extent, n)
        X, Y = np.meshgrid(x, x, indexing="ij")
        out.append((X + 1j * Y).reshape(-1, 1))
    return out


def _moments(R, a):
    """E_Q[α], E_Q[α²] (anti-normal order: tr(R a), tr(R a²)) as the 4 MOMENTS."""
    m1, m2 = jnp.trace(a @ R), jnp.trace(a @ a @ R)
    return jnp.stack([m1.real, m1.imag, m2.real, m2.imag])


def sweep(config: Config, values):
    """The Galerkin law L(C) of H = (U/2)a†²a² from |α0⟩: the run's L1 and ⟨a⟩
    errors vs the exact Kerr closed forms at the same (U, α0) over one revival
    (saves at Ut_k = kπ/4, U of the config), and, at the fit times t_k =
    k fit_t_max/fit_saves, the Husimi function on the fit grid and the moments
    E_Q[α], E_Q[α²]; vmappable, differentiable in C, U, α0."""
    c = config
    C, U, alpha0 = (values.get(k, getattr(c, k)) for k in ("C", "U", "alpha0"))
    law = _law(c.cutoff, U)
    psi0 = jqd.fock.coherent_state(jnp.asarray(alpha0, complex), c.cutoff, check=False)
    run = lambda t_max, n: jqd.evolve(
        law,
        law.initial_state(psi0),
        jqd.husimi.GalerkinParams(C),
        dt=t_max / n,
        n_save=n,
        observe=lambda t, y, p: y,
        check=False,
        monitor=False,
        on_breakdown="flag",
    )
    sol = run(2 * np.pi / c.U, N_SAVE)
    R, ts = sol.observables, sol.ts
    Rfit = run(c.fit_t_max, c.fit_saves).observables[1:]
    al, fal = _grids(c)
    n_max = _n_max(c)
    Q = jax.vmap(lambda R: law.husimi(R, al))(R)
    Qe = jax.vmap(lambda t: jqd.reference.kerr_husimi(al[:, 0], t, alpha0, U, n_max=n_max))(ts)
    h2 = (2 * c.extent / (c.n_grid - 1)) ** 2
    mean_a = jax.vmap(lambda R: law.mean_a(R)[0])(R)
    a = law.ladders[0].astype(R.dtype)
    moments = jax.vmap(lambda R: _moments(R, a))(Rfit)
    Qfit = jax.vmap(lambda R: law.husimi(R, fal))(Rfit).reshape(-1, c.fit_grid, c.fit_grid)
    out = {name: moments[:, i] for i, name in enumerate(MOMENTS)}
    return out | {
        "Q": Qfit,
        "max_L1": jnp.max(jnp.sum(jnp.abs(Q - Qe), axis=1) * h2),
        "max_a_error": jnp.max(jnp.abs(mean_a - jqd.reference.kerr_mean_a(ts, alpha0, U))),
    }


def _n_max(c: Config) -> int:
    """Terms of kerr_husimi's series for any α0 the cutoff holds (|α0| <= √cutoff)."""
    zmax = np.sqrt(c.cutoff) * np.sqrt(2) * c.extent
    return int(zmax + 12 * np.sqrt(zmax) + 40)


def sweep_coords(config: Config):
    x = np.linspace(-config.extent, config.extent, config.fit_grid)
    t = config.fit_t_max / config.fit_saves * np.arange(1, config.fit_saves + 1)
    return {"t": t, "re": x, "im": x}


def _exact_states(c: Config):
    """Exact Kerr states ψ(t_k) (`jqd.reference.kerr_state`) at the sweep's saves k >= 1."""
    ts = sweep_coords(c)["t"]
    return [np.asarray(jqd.reference.kerr_state(t, c.alpha0, c.cutoff, c.U)) for t in ts]


def _reference(c: Config):
    """Exact data at C = 1: Q_H on the fit grid (`kerr_husimi`) and the moments."""
    ts = sweep_coords(c)["t"]
    fal = _grids(c)[1][:, 0]
    Q = [jqd.reference.kerr_husimi(fal, t, c.alpha0, c.U, n_max=_n_max(c)) for t in ts]
    a = np.diag(np.sqrt(np.arange(1, c.cutoff)), 1)
    m = np.array([_moments(jnp.outer(psi, psi.conj()), a) for psi in _exact_states(c)])
    out = {name: m[:, i] for i, name in enumerate(MOMENTS)}
    return out | {"Q": np.reshape(Q, (len(ts), c.fit_grid, c.fit_grid))}


def husimi_samples(psi, n: int, rng) -> np.ndarray:
    """n exact samples α ~ Q(α) = |⟨α|ψ⟩|²/π of a Fock-basis ket ψ (heterodyne
    outcomes), by rejection from the mixture g = Σ_n w_n |⟨α|n⟩|²/π with
    w_n = |ψ_n|/Σ|ψ|: by Cauchy-Schwarz Q ≤ M g with M = (Σ_n |ψ_n|)², so
    accepting with probability Q/(M g) is exact. |⟨α|n⟩|²/π is |α|² ~ Gamma(n+1)
    with a uniform phase."""
    psi = np.asarray(psi)
    K, absc = psi.size, np.abs(psi)
    M, w = absc.sum() ** 2, absc / absc.sum()
    half_logfact = 0.5 * np.cumsum(np.log(np.maximum(np.arange(K), 1)))
    out, have = [], 0
    while have < n:
        B = int(1.3 * (n - have) * M) + 64
        k = rng.choice(K, size=B, p=w)
        alpha = np.sqrt(rng.gamma(k + 1.0)) * np.exp(2j * np.pi * rng.uniform(size=B))
        basis = np.exp(np.log(np.conj(alpha))[:, None] * np.arange(K) - half_logfact)
        accept = rng.uniform(size=B) * M * (np.abs(basis) ** 2 @ w) < np.abs(basis @ psi) ** 2
        out.append(alpha[accept])
        have += int(accept.sum())
    return np.concatenate(out)[:n]


def _ensemble(c: Config, key):
    """Finite-ensemble data: each moment at each save from its own n_samples exact
    Husimi samples of the Kerr state (independent points), mean ± standard error."""
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    fns = (np.real, np.imag, lambda a: np.real(a**2), lambda a: np.imag(a**2))
    mean = np.zeros((c.fit_saves, len(MOMENTS)))
    err = np.zeros_like(mean)
    for k, psi in enumerate(_exact_states(c)):
        for i, f in enumerate(fns):
            mean[k, i], err[k, i] = mean_and_stderr(f(husimi_samples(psi, c.n_samples, rng)))
    out = {name: mean[:, i] for i, name in enumerate(MOMENTS)}
    return out | {f"{name}_stderr": err[:, i] for i, name in enumerate(MOMENTS)}


FIT = FitSpec(
    keys=("C", "U"),
    reference=_reference,
    truth=lambda c: {"C": 1.0, "U": c.U},
    start=lambda c: {"C": c.fit_C0, "U": 0.9 * c.U},
    ensemble=_ensemble,
    transforms={"C": "positive", "U": "positive"},
)

EXPERIMENT = Experiment(
    description="Husimi Fokker-Planck (Galerkin) vs exact Kerr: collapse, cat at Ut=π, revival at 2π; C fit",
    physics="§4.2, §4.4, §4.6, §4.10",
    animates=True,
    sweep_keys=("C", "U", "alpha0"),
    sweep_claims={"max_L1": ("<=", 1e-8), "max_a_error": ("<=", 1e-10)},
    sweep_why_not={
        "extent": "it fixes the comparison and fit grids every item shares; set it with --set",
        "fit_alpha0": "only jqd run's own C fit uses it",
        "fit_C0": "only jqd run's own C fit uses it (jqd fit --start sets a fit's start)",
    },
    fit=FIT,
    compile_bound=True,
)
