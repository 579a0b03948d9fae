"""The problems and candidates of `bench_vs_peers.py` (one function per case).

Every case returns a dict: `desc`, `error(result) -> float` (against the
exact answer, computed independently in NumPy or in closed form), and
`candidates`: {name: Candidate}. Each side has a plain call (what a user
types) and a tuned call (the fastest setup its documentation offers),
always at matched accuracy (error <= 1e-8; adaptive peers get the loosest
rtol = atol of a ladder that meets it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TARGET = 1e-8
LADDER = [1e-8, 1e-10, 1e-12, 1e-13, 1e-14]


@dataclass
class Candidate:
    side: str  # "jqd", "dynamiqs", "qutip"
    kind: str  # "plain" or "tuned"
    what: str  # the call, in words
    make: Callable[[Any], Callable[[], Any]]  # tol -> zero-argument call
    adaptive: bool = False  # run down LADDER for the loosest passing tol
    cost: Callable[[], tuple] | None = None  # (jitted fn, args) for XLA's cost analysis
    extra: dict = field(default_factory=dict)


def _state_error(exact):
    def err(res):
        res = np.asarray(res).reshape(exact.shape)
        return float(np.max(np.linalg.norm(res - exact, axis=-1)))

    return err


def _dq_states(res):
    return res.states.to_jax()[..., 0]


def _qt_states(results):
    return np.array([[s.full().ravel() for s in r.states] for r in results])


def schrodinger_case(
    name,
    H,
    psi0,
    ts,
    exact,
    desc,
    *,
    tuned_jqd=None,
    dq_methods=("Expm",),
    qt_tuned="diag",
    dq_layout=None,
    qt_layout=None,
):
    """Candidates for one time-independent Schrödinger problem."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    Hj, pj = jnp.asarray(H), jnp.asarray(psi0)
    n_save = len(ts) - 1
    dt = float(ts[-1] - ts[0]) / n_save
    law = jqd.SchrodingerBasis()
    cands = {}

    def plain(_):
        return lambda: jqd.evolve(law, pj, jqd.MatrixParams(Hj), dt=dt, n_save=n_save).observables

    cands["jqd plain"] = Candidate(
        "jqd", "plain", "jqd.evolve(law, psi0, MatrixParams(H), dt, n_save)", plain
    )
    if tuned_jqd is None:
        f = jax.jit(
            lambda H, p: (
                jqd.evolve(
                    law, p, jqd.MatrixParams(H), dt=dt, n_save=n_save, check=False, checkpoint=False
                ).observables
            )
        )
        tuned_jqd = ("jax.jit(jqd.evolve, check=False)", f, (Hj, pj))
    what, f, args = tuned_jqd
    cands["jqd tuned"] = Candidate(
        "jqd", "tuned", what, lambda _: lambda: f(*args), cost=lambda: (f, args)
    )
    Hd = dq.asqarray(Hj, layout=dq_layout) if dq_layout is not None else Hj
    psi_dq = pj[:, None]
    tsj = jnp.asarray(ts)
    for m in dq_methods:
        adaptive = m != "Expm"

        def method(tol, m=m):
            if m == "Expm":
                return dq.method.Expm()
            return getattr(dq.method, m)(rtol=tol, atol=tol, max_steps=10**7)

        def dq_plain(tol, method=method):
            meth = method(tol)
            return lambda: _dq_states(
                dq.sesolve(Hd, psi_dq, tsj, method=meth, progress_meter=False)
            )

        def dq_tuned(tol, method=method):
            meth = method(tol)
            g = jax.jit(
                lambda H, p: _dq_states(dq.sesolve(H, p, tsj, method=meth, progress_meter=False))
            )
            return lambda: g(Hd, psi_dq)

        lay = "" if dq_layout is None else ", dia layout"
        cands[f"dynamiqs plain {m}"] = Candidate(
            "dynamiqs", "plain", f"dq.sesolve(..., {m}{lay})", dq_plain, adaptive
        )
        cands[f"dynamiqs tuned {m}"] = Candidate(
            "dynamiqs", "tuned", f"jax.jit(dq.sesolve)(..., {m}{lay})", dq_tuned, adaptive
        )
    Hq = qutip.Qobj(np.asarray(H))
    Hq_t = Hq.to(qt_layout) if qt_layout else Hq
    pq = qutip.Qobj(np.asarray(psi0)[:, None])

    def qt(tol, method, Hq):
        opts = {"method": method, "store_states": True, "progress_bar": False}
        if method != "diag":
            opts.update(atol=tol, rtol=tol, nsteps=10**8)
        return lambda: _qt_states([qutip.sesolve(Hq, pq, np.asarray(ts), options=opts)])

    cands["qutip plain adams"] = Candidate(
        "qutip",
        "plain",
        "qutip.sesolve(Qobj(H), ...) (default adams)",
        lambda tol: qt(tol, "adams", Hq),
        True,
    )
    lay = f", {qt_layout}" if qt_layout else ""
    cands[f"qutip tuned {qt_tuned}"] = Candidate(
        "qutip",
        "tuned",
        f"qutip.sesolve(..., method={qt_tuned!r}{lay})",
        lambda tol: qt(tol, qt_tuned, Hq_t),
        qt_tuned != "diag",
    )
    return {
        "name": name,
        "desc": desc,
        "error": _state_error(np.asarray(exact)),
        "candidates": cands,
        "dim": int(np.shape(H)[-1]),
        "n_save": n_save,
    }


def _diagonal_tuned(dt, n_save, batched=False):
    """jax.jit of evolve on a diagonal H in diagonal storage (what a plain call
    picks by itself for a concrete diagonal H; under jit H is traced, so the
    storage is given explicitly)."""
    import jax

    import jqd

    law = jqd.SchrodingerBasis()

    def run(data, p):
        H = jqd.fock.DiaMatrix((0,), data)
        return jqd.evolve(
            law, p, jqd.MatrixParams(H), dt=dt, n_save=n_save, check=False, checkpoint=False
        ).observables

    return jax.jit(jax.vmap(run, in_axes=(0, None)) if batched else run)


def kerr(d, alpha0, n_save):
    import jax.numpy as jnp

    import jqd

    ts = np.linspace(0.0, np.pi, n_save + 1)
    H = np.asarray(jqd.fock.kerr_hamiltonian(d, 1.0))
    psi0 = np.asarray(jqd.fock.coherent_state(alpha0, d))
    exact = np.asarray(jqd.reference.kerr_state(jnp.asarray(ts)[:, None], alpha0, d, 1.0))
    f = _diagonal_tuned(np.pi / n_save, n_save)
    args = (jnp.asarray(np.diag(H))[None], jnp.asarray(psi0))
    tuned = ("jax.jit(jqd.evolve) on H in diagonal storage (jqd.fock.DiaMatrix)", f, args)
    return schrodinger_case(
        f"kerr-{d}",
        H,
        psi0,
        ts,
        exact,
        f"Kerr H = (U/2)a†²a², U = 1, cutoff {d}, |α0 = {alpha0}⟩, {n_save + 1} saves on [0, π]",
        tuned_jqd=tuned,
    )


def _sector_exact(n, ts):
    import jqd

    bh = jqd.fock.BoseHubbard(2, n)
    Hb = np.asarray(bh.hamiltonian(1.0, 0.1))
    E, V = np.linalg.eigh(Hb)
    c = V.T @ np.asarray(bh.state((n, 0)))
    return bh, Hb, (np.exp(-1j * np.outer(ts, E)) * c) @ V.T


def bh_sector(n, n_save):
    ts = np.linspace(0.0, 10.0, n_save + 1)
    bh, Hb, exact = _sector_exact(n, ts)
    return schrodinger_case(
        f"bh-sector-{bh.dim}",
        Hb,
        np.asarray(bh.state((n, 0))),
        ts,
        exact,
        f"Bose-Hubbard dimer, N = {n} sector (d = {bh.dim}), J = 1, U = 0.1, start |{n}, 0⟩, "
        f"{n_save + 1} saves on [0, 10]",
        dq_methods=("Expm",),
    )


def bh_full(n, n_save):
    """The full two-mode space, cutoff n + 1 per mode (d = (n + 1)²): banded."""
    import jax
    import jax.numpy as jnp

    import jqd
    from jqd.fock import DiaMatrix, chebyshev_order, spectral_bounds

    c = n + 1
    a = np.asarray(jqd.fock.destroy((c, c), 0))
    b = np.asarray(jqd.fock.destroy((c, c), 1))
    na, nb, eye = a.T @ a, b.T @ b, np.eye(c * c)
    H = -(a.T @ b + b.T @ a) + 0.05 * (na @ (na - eye) + nb @ (nb - eye))
    psi0 = np.asarray(jqd.fock.fock_state((c, c), (n, 0)))
    ts = np.linspace(0.0, 10.0, n_save + 1)
    bh, _, sector = _sector_exact(n, ts)
    exact = np.zeros((len(ts), c * c), complex)
    exact[:, [k * c + (n - k) for k in bh.basis[:, 0]]] = sector
    dt = 10.0 / n_save
    lo, hi = spectral_bounds(H)
    K = chebyshev_order(0.5 * (hi - lo) * dt)
    D = DiaMatrix.from_dense(jnp.asarray(H))
    law = jqd.SchrodingerBasis(propagator=jqd.schemes.Chebyshev(K))
    f = jax.jit(
        lambda data, p: (
            jqd.evolve(
                law,
                p,
                jqd.MatrixParams(DiaMatrix(D.offsets, data)),
                dt=dt,
                n_save=n_save,
                check=False,
                checkpoint=False,
            ).observables
        )
    )
    tuned = (
        f"jax.jit(jqd.evolve) on DiaMatrix H, Chebyshev({K})",
        f,
        (D.data, jnp.asarray(psi0)),
    )
    import dynamiqs as dq

    return schrodinger_case(
        f"bh-full-{c * c}",
        H,
        psi0,
        ts,
        exact,
        f"Bose-Hubbard dimer on the full two-mode space, cutoff {c} per mode (d = {c * c}, "
        f"diagonals {D.offsets}), J = 1, U = 0.1, start |{n}, 0⟩, {n_save + 1} saves on [0, 10]",
        tuned_jqd=tuned,
        dq_methods=("Dopri8",),
        qt_tuned="vern7",
        dq_layout=dq.dia,
        qt_layout="dia",
    )


def kerr_sweep(d, alpha0, n_save, n_batch):
    """256 Kerr problems (U in [0.5, 1.5]) in one batched call per side."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    ts = np.linspace(0.0, np.pi, n_save + 1)
    Us = np.linspace(0.5, 1.5, n_batch)
    n = np.arange(d)
    Hs = np.stack([np.diag(0.5 * U * n * (n - 1)) for U in Us])
    psi0 = np.asarray(jqd.fock.coherent_state(alpha0, d))
    exact = np.stack(
        [np.asarray(jqd.reference.kerr_state(jnp.asarray(ts)[:, None], alpha0, d, U)) for U in Us]
    )
    Hj, pj, tsj = jnp.asarray(Hs), jnp.asarray(psi0), jnp.asarray(ts)
    dt = np.pi / n_save
    law = jqd.SchrodingerBasis()

    def one(H, check=True):
        return jqd.evolve(
            law, pj, jqd.MatrixParams(H), dt=dt, n_save=n_save, check=check, checkpoint=check
        ).observables

    tuned = _diagonal_tuned(dt, n_save, batched=True)
    diags = jnp.asarray(np.stack([np.diag(h) for h in Hs]))[:, None, :]
    cands = {
        "jqd plain": Candidate(
            "jqd", "plain", "jax.vmap(jqd.evolve ...)(Hs)", lambda _: lambda: jax.vmap(one)(Hj)
        ),
        "jqd tuned": Candidate(
            "jqd",
            "tuned",
            "jax.jit(jax.vmap(jqd.evolve)) on diagonal storage (check=False)",
            lambda _: lambda: tuned(diags, pj),
            cost=lambda: (tuned, (diags, pj)),
        ),
    }
    expm = dq.method.Expm()
    g = jax.jit(
        lambda H: _dq_states(dq.sesolve(H, pj[:, None], tsj, method=expm, progress_meter=False))
    )
    cands["dynamiqs plain Expm"] = Candidate(
        "dynamiqs",
        "plain",
        "dq.sesolve(Hs (256, d, d), ..., Expm)",
        lambda _: (
            lambda: _dq_states(dq.sesolve(Hj, pj[:, None], tsj, method=expm, progress_meter=False))
        ),
    )
    cands["dynamiqs tuned Expm"] = Candidate(
        "dynamiqs",
        "tuned",
        "jax.jit(dq.sesolve)(Hs, ..., Expm)",
        lambda _: lambda: g(Hj),
        cost=lambda: (g, (Hj,)),
    )
    Hq = [qutip.Qobj(h) for h in Hs]
    pq = qutip.Qobj(psi0[:, None])

    def qt(tol, method):
        opts = {"method": method, "store_states": True, "progress_bar": False}
        if method != "diag":
            opts.update(atol=tol, rtol=tol, nsteps=10**8)
        return lambda: _qt_states([qutip.sesolve(h, pq, ts, options=opts) for h in Hq])

    cands["qutip plain adams"] = Candidate(
        "qutip",
        "plain",
        "[qutip.sesolve(H_U, ...) for U] (adams)",
        lambda tol: qt(tol, "adams"),
        True,
    )
    cands["qutip tuned diag"] = Candidate(
        "qutip", "tuned", "[qutip.sesolve(..., 'diag') for U]", lambda tol: qt(tol, "diag")
    )
    return {
        "name": f"kerr-sweep-{n_batch}",
        "candidates": cands,
        "error": _state_error(exact),
        "desc": f"Kerr, cutoff {d}, |α0 = {alpha0}⟩, {n_save + 1} saves on [0, π], "
        f"{n_batch} values of U in [0.5, 1.5], one batched call",
        "dim": d,
        "n_save": n_save,
        "batch": n_batch,
    }


def _q_function_candidates(psi, x, alphas, cost=False):
    """jqd's husimi (plain, jitted) and QuTiP's qfunc (plain, QFunc object) for
    Q(α) of the ket psi on the grid alphas = x + iy; `cost`: the jitted call's
    XLA cost analysis too."""
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    pj, aj = jnp.asarray(psi), jnp.asarray(alphas)
    tuned = jax.jit(jqd.husimi.husimi)
    pq = qutip.Qobj(psi[:, None])
    qf = qutip.QFunc(x, x, g=2.0)
    return {
        "jqd plain": Candidate(
            "jqd",
            "plain",
            "jqd.husimi.husimi(psi, alphas)",
            lambda _: lambda: jqd.husimi.husimi(pj, aj),
        ),
        "jqd tuned": Candidate(
            "jqd",
            "tuned",
            "jax.jit(jqd.husimi.husimi)(psi, alphas)",
            lambda _: lambda: tuned(pj, aj),
            cost=(lambda: (tuned, (pj, aj))) if cost else None,
        ),
        "qutip plain qfunc": Candidate(
            "qutip",
            "plain",
            "qutip.qfunc(psi, x, x, g=2)",
            lambda _: lambda: qutip.qfunc(pq, x, x, g=2.0),
        ),
        "qutip tuned QFunc": Candidate(
            "qutip", "tuned", "qf = qutip.QFunc(x, x, g=2); qf(psi)", lambda _: lambda: qf(pq)
        ),
    }


def husimi(cutoff, alpha0, n_grid, t=0.7):
    """Q(α) = |⟨α|ψ⟩|²/π of the Kerr state at t on an n_grid² grid α = x + iy."""
    import jax.numpy as jnp
    from scipy.special import gammaln

    import jqd

    psi = np.asarray(jqd.reference.kerr_state(jnp.asarray(t), alpha0, cutoff, 1.0))
    x = np.linspace(-6.0, 6.0, n_grid)
    X, Y = np.meshgrid(x, x)
    alphas = X + 1j * Y
    # exact: Σ_n c_n (α*)^n/√n! e^{−|α|²/2} term by term in log form (NumPy, no recursion)
    k = np.arange(cutoff)
    a = alphas.ravel()[:, None]
    logterm = (
        k * np.log(np.where(a == 0, 1.0, np.conj(a))) - 0.5 * gammaln(k + 1) - np.abs(a) ** 2 / 2
    )
    terms = np.where((a == 0) & (k > 0), 0.0, np.exp(logterm))
    exact = (np.abs(terms @ psi) ** 2 / np.pi).reshape(alphas.shape)
    cands = _q_function_candidates(psi, x, alphas, cost=True)
    err = lambda q: float(np.max(np.abs(np.asarray(q) - exact)))
    return {
        "name": f"husimi-{n_grid}x{n_grid}",
        "candidates": cands,
        "error": err,
        "dim": cutoff,
        "desc": f"Husimi Q of the Kerr state at Ut = {t} from |α0 = {alpha0}⟩ (cutoff {cutoff}) "
        f"on a {n_grid}×{n_grid} grid α = x + iy, x, y in [-6, 6] (dynamiqs has no Husimi "
        "function)",
        "n_save": 0,
    }


def fidelity_gradient(d, alpha0, T=np.pi / 2, U0=1.0, U_target=1.1):
    """dF/dU of F(U) = |⟨φ|ψ_U(T)⟩|², φ = the Kerr state at U_target (closed form)."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp

    import jqd

    n = np.arange(d)
    c0 = np.asarray(jqd.fock.coherent_state(alpha0, d))
    phi_n = 0.5 * n * (n - 1) * T
    w = np.abs(c0) ** 2
    S = np.sum(w * np.exp(-1j * (U0 - U_target) * phi_n))
    exact = 2 * np.real(
        np.conj(S) * np.sum(-1j * phi_n * w * np.exp(-1j * (U0 - U_target) * phi_n))
    )
    target = jnp.asarray(c0 * np.exp(-1j * U_target * phi_n))
    pj = jnp.asarray(c0)
    law = jqd.SchrodingerBasis()

    def f_jqd(U):
        H = jqd.fock.kerr_hamiltonian(d, U)
        y = jqd.evolve(law, pj, jqd.MatrixParams(H), dt=T, n_save=1).y_final
        return jnp.abs(jnp.vdot(target, y)) ** 2

    expm = dq.method.Expm()
    tsave = jnp.asarray([0.0, T])

    def f_dq(U):
        H = jqd.fock.kerr_hamiltonian(d, U)
        y = dq.sesolve(
            H, pj[:, None], tsave, method=expm, progress_meter=False
        ).final_state.to_jax()
        return jnp.abs(jnp.vdot(target, y[:, 0])) ** 2

    def f_user(U):  # the loss's own operations, no propagation: the plain call's floor
        H = jqd.fock.kerr_hamiltonian(d, U)
        return jnp.abs(jnp.vdot(target, H @ pj)) ** 2

    g_jqd, g_dq, g_user = jax.grad(f_jqd), jax.grad(f_dq), jax.grad(f_user)
    t_jqd, t_dq = jax.jit(g_jqd), jax.jit(g_dq)
    U = jnp.asarray(U0)
    cands = {
        "jqd plain": Candidate(
            "jqd", "plain", "jax.grad(F)(U), F through jqd.evolve", lambda _: lambda: g_jqd(U)
        ),
        "jqd tuned": Candidate(
            "jqd",
            "tuned",
            "jax.jit(jax.grad(F))(U)",
            lambda _: lambda: t_jqd(U),
            cost=lambda: (t_jqd, (U,)),
        ),
        "dynamiqs plain Expm": Candidate(
            "dynamiqs",
            "plain",
            "jax.grad(F)(U), F through dq.sesolve(Expm)",
            lambda _: lambda: g_dq(U),
        ),
        "dynamiqs tuned Expm": Candidate(
            "dynamiqs",
            "tuned",
            "jax.jit(jax.grad(F))(U) with dq.sesolve",
            lambda _: lambda: t_dq(U),
            cost=lambda: (t_dq, (U,)),
        ),
        "user ops only": Candidate(
            "none",
            "floor",
            "jax.grad of |⟨φ|H(U)ψ0⟩|² (H built as in F, no propagation): the loss's own eager cost",
            lambda _: lambda: g_user(U),
        ),
    }
    return {
        "name": f"grad-fidelity-kerr-{d}",
        "candidates": cands,
        "error": lambda g: float(abs(float(g) - exact)),
        "dim": d,
        "n_save": 1,
        "desc": f"dF/dU at U = {U0}, F = |⟨ψ_{{U={U_target}}}(T)|ψ_U(T)⟩|², Kerr cutoff {d}, "
        f"|α0 = {alpha0}⟩, T = π/2 (spectrum degenerate: E_0 = E_1 = 0); QuTiP has no gradient",
    }


def _ising_reference(n, J, h, ts):
    """⟨σz_i⟩(t) of the closed TFIM chain from |0…0⟩, built without QuTiP:
    H from bit operations (site 0 = the most significant bit, QuTiP's
    `tensor` order), propagated by a dense eigendecomposition for d ≤ 1024
    and by `scipy.sparse.linalg.expm_multiply` above."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import expm_multiply

    d = 2**n
    idx = np.arange(d)
    bits = (idx[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1  # (d, n): bit of site i
    z = 1.0 - 2.0 * bits  # σz eigenvalue of site i (|0⟩ = up = +1)
    diag = -J * np.sum(z * np.roll(z, -1, axis=1), axis=1)
    rows = [idx]
    cols = [idx]
    vals = [diag]
    for i in range(n):
        rows.append(idx)
        cols.append(idx ^ (1 << (n - 1 - i)))
        vals.append(np.full(d, -h))
    H = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), (d, d))
    psi0 = np.zeros(d, complex)
    psi0[0] = 1.0
    if d <= 1024:
        E, V = np.linalg.eigh(H.toarray())
        states = (np.exp(-1j * np.outer(ts, E)) * (V.T @ psi0)) @ V.T
    else:
        states = expm_multiply(-1j * H, psi0, start=ts[0], stop=ts[-1], num=len(ts), endpoint=True)
    return (np.abs(states) ** 2) @ z  # (n_t, n)


def _ising_z(res, n):
    """(n_t, n) real ⟨σz_i⟩ from any side's result: jqd's observables dict,
    QuTiP's `expect` list, or dynamiqs's `expects` (n, n_t)."""
    if isinstance(res, dict):
        return np.stack([np.real(np.asarray(res[f"z{i}"])) for i in range(n)], axis=1)
    return np.real(np.asarray(res)).reshape(n, -1).T


def ising(n, n_save=100, J=1.0, h=0.7, T=5.0):
    """The field's closed transverse-field Ising chain (issue 56):
    H = −J Σ σz_i σz_{i+1} (periodic) − h Σ σx_i, |0…0⟩, ⟨σz_i⟩ at every
    save; operators built with QuTiP as a user would."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    def site(o, i):
        return qutip.tensor([o if k == i else qutip.qeye(2) for k in range(n)])

    sz = [site(qutip.sigmaz(), i) for i in range(n)]
    sx = [site(qutip.sigmax(), i) for i in range(n)]
    H = -J * sum(sz[i] * sz[(i + 1) % n] for i in range(n)) - h * sum(sx)
    psi0 = qutip.tensor([qutip.basis(2, 0)] * n)
    ts = np.linspace(0.0, T, n_save + 1)
    exact = _ising_reference(n, J, h, ts)
    dt = T / n_save
    Hj = jnp.asarray(H.full())
    pj = jnp.asarray(psi0.full().ravel())
    law = jqd.SchrodingerBasis()
    Expect = jqd.observables.Expect

    def plain(_):  # the statement as a user types it, Expect(Qobj) included
        return lambda: (
            jqd.evolve(
                law,
                pj,
                jqd.MatrixParams(Hj),
                dt=dt,
                n_save=n_save,
                observe={f"z{i}": Expect(sz[i]) for i in range(n)},
            ).observables
        )

    obs = {f"z{i}": Expect(sz[i]) for i in range(n)}

    def plain_prebuilt(_):
        return lambda: (
            jqd.evolve(law, pj, jqd.MatrixParams(Hj), dt=dt, n_save=n_save, observe=obs).observables
        )

    law_s, params_s = law.specialize(jqd.MatrixParams(Hj), dt, n_save)
    f = jax.jit(
        lambda p, y, o: (
            jqd.evolve(
                law_s, y, p, dt=dt, n_save=n_save, observe=o, check=False, checkpoint=False
            ).observables
        )
    )
    storage = type(params_s.H).__name__
    cands = {
        "jqd plain": Candidate(
            "jqd",
            "plain",
            "jqd.evolve(law, psi0, MatrixParams(H), dt, n_save, "
            "observe={z_i: Expect(sz_i Qobj)}) (Expect built in the call)",
            plain,
        ),
        "jqd plain, observe prebuilt": Candidate(
            "jqd",
            "plain",
            "the same evolve call, the Expect dict built once before",
            plain_prebuilt,
        ),
        "jqd tuned": Candidate(
            "jqd",
            "tuned",
            f"law.specialize(params, dt, n_steps) outside, then jax.jit(jqd.evolve, "
            f"check=False) (H as {storage}, Chebyshev({law_s.terms}))",
            lambda _: lambda: f(params_s, pj, obs),
            cost=lambda: (f, (params_s, pj, obs)),
        ),
    }
    tsj = jnp.asarray(ts)
    Hd = dq.asqarray(H, layout=dq.dia)
    sz_d = [dq.asqarray(o, layout=dq.dia) for o in sz]
    psi_d = dq.asqarray(psi0)

    def dq_method(tol, m):
        return getattr(dq.method, m)(rtol=tol, atol=tol, max_steps=10**7)

    def dq_plain(tol):
        meth = dq_method(tol, "Tsit5")
        return lambda: (
            dq.sesolve(
                H, psi0, tsj, exp_ops=sz, method=meth, save_states=False, progress_meter=False
            ).expects
        )

    def dq_tuned(tol):
        meth = dq_method(tol, "Dopri8")
        g = jax.jit(
            lambda H, p, e: (
                dq.sesolve(
                    H, p, tsj, exp_ops=e, method=meth, save_states=False, progress_meter=False
                ).expects
            )
        )
        return lambda: g(Hd, psi_d, sz_d)

    cands["dynamiqs plain Tsit5"] = Candidate(
        "dynamiqs",
        "plain",
        "dq.sesolve(H Qobj, psi0 Qobj, ts, exp_ops=[sz_i Qobj], Tsit5) (dense)",
        dq_plain,
        True,
    )
    cands["dynamiqs tuned Dopri8"] = Candidate(
        "dynamiqs",
        "tuned",
        "jax.jit(dq.sesolve)(H, ..., exp_ops, Dopri8), H and exp_ops in dia layout",
        dq_tuned,
        True,
    )

    def qt(tol, method, Hq):
        opts = {"method": method, "progress_bar": False, "store_states": False}
        if tol is not None:
            opts.update(atol=tol, rtol=tol, nsteps=10**8)
        return lambda: qutip.sesolve(Hq, psi0, ts, e_ops=sz, options=opts).expect

    cands["qutip plain adams"] = Candidate(
        "qutip",
        "plain",
        "qutip.sesolve(H, psi0, ts, e_ops=[sz_i]) (default adams, CSR)",
        lambda tol: qt(tol, "adams", H),
        True,
    )
    H_dia = H.to("dia")
    cands["qutip tuned vern9"] = Candidate(
        "qutip",
        "tuned",
        "qutip.sesolve(..., method='vern9', H in Dia layout)",
        lambda tol: qt(tol, "vern9", H_dia),
        True,
    )
    return {
        "name": f"ising-{n}",
        "desc": f"closed transverse-field Ising chain, {n} spins (d = {2**n}): "
        f"H = −J Σ σz_i σz_i+1 (periodic) − h Σ σx_i, J = {J}, h = {h}, |0…0⟩, "
        f"⟨σz_i⟩ of every site at {n_save + 1} saves on [0, {T}]; operators built with "
        "qutip.tensor; reference: "
        + ("dense eigendecomposition" if 2**n <= 1024 else "scipy expm_multiply")
        + " of an H built from bit operations (no QuTiP)",
        "error": lambda res: float(np.max(np.abs(_ising_z(res, n) - exact))),
        "candidates": cands,
        "dim": 2**n,
        "n_save": n_save,
    }


def _jc_reference(H0, X, eps, wd, psi0, ts):
    """ψ at every save of the driven Jaynes-Cummings model by SciPy's DOP853
    at rtol = atol = 1e-13 (independent of every candidate)."""
    from scipy.integrate import solve_ivp

    def f(t, y):
        return -1j * (H0 @ y + eps * np.cos(wd * t) * (X @ y))

    sol = solve_ivp(f, (ts[0], ts[-1]), psi0, t_eval=ts, method="DOP853", rtol=1e-13, atol=1e-13)
    return sol.y.T


def _jitted_fixed_step(law, dt, n_save, steps_per_save):
    """The tuned call of a fixed-step case: `jax.jit` of `(params, y0) ->
    observables` of `jqd.evolve` with its checks and checkpointing off."""
    import jax

    import jqd

    return jax.jit(
        lambda p, y: (
            jqd.evolve(
                law,
                y,
                p,
                dt=dt,
                n_save=n_save,
                steps_per_save=steps_per_save,
                check=False,
                checkpoint=False,
            ).observables
        )
    )


# saves per step of the fixed-step calls, down the tolerance ladder (the loosest that
# meets 1e-8 is used, as for the adaptive peers): dt = save interval / steps
_STEPS = dict(zip(LADDER, (1, 2, 4, 8, 16), strict=True))


def jc_driven(cavity=40, n_save=1000, T=100.0, g=0.1, eps=0.05, wd=1.0):
    """Jaynes-Cummings with a lab-frame drive (issue 56; QuantumToolbox.jl's
    case): H(t) = a†a + σz/2 + g(a†σ− + aσ+) + ε cos(ω_d t)(a + a†), cavity
    `cavity` levels ⊗ qubit, |0, e⟩, ψ at n_save + 1 saves on [0, T];
    operators built with QuTiP as a user would."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    a = qutip.tensor(qutip.destroy(cavity), qutip.qeye(2))
    sm = qutip.tensor(qutip.qeye(cavity), qutip.destroy(2))
    sz = qutip.tensor(qutip.qeye(cavity), qutip.sigmaz())
    H0 = a.dag() * a + 0.5 * sz + g * (a.dag() * sm + a * sm.dag())
    X = a + a.dag()
    psi0 = qutip.tensor(qutip.basis(cavity, 0), qutip.basis(2, 0))
    ts = np.linspace(0.0, T, n_save + 1)
    H0n, Xn, p0 = H0.full(), X.full(), psi0.full().ravel()
    exact = _jc_reference(H0n, Xn, eps, wd, p0, ts)
    save_dt = T / n_save

    amplitude, frequency = eps, wd

    class Drive(jqd.MatrixParams):  # H0 in MatrixParams.H, the drive's constants beside it
        eps: float = amplitude
        wd: float = frequency

    Xj, pj = jnp.asarray(Xn), jnp.asarray(p0)
    hamiltonian = lambda t, p: p.H + p.eps * jnp.cos(p.wd * t) * Xj  # noqa: E731
    law = jqd.SchrodingerBasis(hamiltonian=hamiltonian, time_dependent=True, scheme="cf4")
    params = Drive(jnp.asarray(H0n))

    def plain(tol):
        m = _STEPS[tol]
        return lambda: (
            jqd.evolve(law, pj, params, dt=save_dt / m, n_save=n_save, steps_per_save=m).observables
        )

    X_dia = jqd.fock.DiaMatrix.from_dense(Xj)
    hamiltonian_dia = lambda t, p: p.H + (p.eps * jnp.cos(p.wd * t)) * X_dia  # noqa: E731
    law_dia = jqd.SchrodingerBasis(hamiltonian=hamiltonian_dia, time_dependent=True, scheme="cf4")
    params_dia = Drive(jqd.fock.DiaMatrix.from_dense(jnp.asarray(H0n)))

    def tuned(tol):
        m = _STEPS[tol]
        law_s, _ = law_dia.specialize(params_dia, save_dt / m, n_save * m)
        f = _jitted_fixed_step(law_s, save_dt / m, n_save, m)
        return lambda: f(params_dia, pj)

    cands = {
        "jqd plain": Candidate(
            "jqd",
            "plain",
            "jqd.evolve(SchrodingerBasis(hamiltonian=H(t) dense, time_dependent=True, "
            "scheme='cf4'), psi0, params, dt, n_save, steps_per_save) "
            "(fixed step; dt = save interval / 1, 2, 4, … down the ladder)",
            plain,
            True,
        ),
        "jqd tuned": Candidate(
            "jqd",
            "tuned",
            "H0 and X as DiaMatrix, law.specialize outside, then jax.jit(jqd.evolve, "
            "check=False) (Chebyshev steps with banded products)",
            tuned,
            True,
        ),
    }
    tsj = jnp.asarray(ts)
    coeff = lambda t: eps * jnp.cos(wd * t)  # noqa: E731
    Hd_plain = dq.constant(H0) + dq.modulated(coeff, X)
    Hd_dia = dq.constant(dq.asqarray(H0, layout=dq.dia)) + dq.modulated(
        coeff, dq.asqarray(X, layout=dq.dia)
    )
    psi_d = dq.asqarray(psi0)

    def dq_method(tol, m):
        return getattr(dq.method, m)(rtol=tol, atol=tol, max_steps=10**7)

    def dq_plain(tol):
        meth = dq_method(tol, "Tsit5")
        return lambda: _dq_states(
            dq.sesolve(Hd_plain, psi0, tsj, method=meth, progress_meter=False)
        )

    def dq_tuned(tol):
        meth = dq_method(tol, "Dopri8")
        g_ = jax.jit(
            lambda p: _dq_states(dq.sesolve(Hd_dia, p, tsj, method=meth, progress_meter=False))
        )
        return lambda: g_(psi_d)

    cands["dynamiqs plain Tsit5"] = Candidate(
        "dynamiqs",
        "plain",
        "dq.sesolve(dq.constant(H0) + dq.modulated(f, X), psi0, ts) (Qobj in, Tsit5)",
        dq_plain,
        True,
    )
    cands["dynamiqs tuned Dopri8"] = Candidate(
        "dynamiqs",
        "tuned",
        "jax.jit(dq.sesolve)(..., Dopri8), H0 and X in dia layout",
        dq_tuned,
        True,
    )
    Ht = [H0, [X, lambda t: eps * np.cos(wd * t)]]
    Ht_dia = [H0.to("dia"), [X.to("dia"), lambda t: eps * np.cos(wd * t)]]

    def qt(tol, method, H):
        opts = {"method": method, "progress_bar": False, "store_states": True}
        opts.update(atol=tol, rtol=tol, nsteps=10**8)
        return lambda: _qt_states([qutip.sesolve(H, psi0, ts, options=opts)])

    cands["qutip plain adams"] = Candidate(
        "qutip",
        "plain",
        "qutip.sesolve([H0, [X, f]], psi0, ts) (default adams, CSR)",
        lambda tol: qt(tol, "adams", Ht),
        True,
    )
    cands["qutip tuned vern9"] = Candidate(
        "qutip",
        "tuned",
        "qutip.sesolve(..., method='vern9', H0 and X in Dia layout)",
        lambda tol: qt(tol, "vern9", Ht_dia),
        True,
    )
    return {
        "name": f"jc-driven-{2 * cavity}",
        "desc": f"Jaynes-Cummings, cavity {cavity} levels ⊗ qubit (d = {2 * cavity}), lab-frame "
        f"drive H(t) = a†a + σz/2 + {g}(a†σ− + aσ+) + {eps} cos({wd} t)(a + a†), |0, e⟩, ψ at "
        f"{n_save + 1} saves on [0, {T}]; reference: SciPy DOP853 at rtol = atol = 1e-13",
        "error": _state_error(exact),
        "candidates": cands,
        "dim": 2 * cavity,
        "n_save": n_save,
    }


# ---------------------------------------------------------------- issue 56: the field's cases


def _grid_exact(x, ts, omega, x0):
    """ψ(x, t) of the coherent Gaussian in V = ω²x²/2 (m = ħ = 1), phase included:
    (ω/π)^¼ exp(−ω(x − q)²/2 + i p x − i p q/2 − i ω t/2), q = x0 cos ωt, p = −ω x0 sin ωt."""
    t = np.asarray(ts)[:, None]
    q, p = x0 * np.cos(omega * t), -omega * x0 * np.sin(omega * t)
    return (omega / np.pi) ** 0.25 * np.exp(
        -0.5 * omega * (x - q) ** 2 + 1j * p * x - 0.5j * p * q - 0.5j * omega * t
    )


# steps per save of the fixed-step split steps (every side), down the ladder
_GRID_STEPS = dict(zip(LADDER, (2, 4, 8, 16, 32), strict=True))
_YOSHIDA = (1 / (2 - 2 ** (1 / 3)), -(2 ** (1 / 3)) / (2 - 2 ** (1 / 3)), 1 / (2 - 2 ** (1 / 3)))


def _scipy_splitstep(psi0, V, k2, h, m, n_save, workers, merged):
    """Yoshida-4 split step (T/2, V, T/2 per sub-step written as V/2, T, V/2) in
    scipy.fft, ψ at every save. `merged`: precomputed phases with adjacent half
    kicks merged and FFTs in place (the tuned form); else each sub-step as written."""
    import scipy.fft as sfft

    w = _YOSHIDA
    psi = psi0.copy()
    out = [psi0]
    if not merged:
        for _ in range(n_save):
            for _ in range(m):
                for wi in w:
                    psi = psi * np.exp(-0.5j * wi * h * V)
                    psi = sfft.ifft(sfft.fft(psi, workers=workers) * np.exp(-0.5j * wi * h * k2))
                    psi = psi * np.exp(-0.5j * wi * h * V)
            out.append(psi)
        return np.stack(out)
    kin = [np.exp(-0.5j * wi * h * k2) for wi in w]
    kick = lambda c: np.exp(-1j * c * h * V)  # noqa: E731
    first, last = kick(w[0] / 2), kick(w[-1] / 2)
    inner = [kick((a + b) / 2) for a, b in zip(w[:-1], w[1:], strict=True)]
    between = kick((w[-1] + w[0]) / 2)
    psi = psi * first
    for s in range(n_save):
        for i in range(m):
            for j, kj in enumerate(kin):
                psi = sfft.fft(psi, workers=workers, overwrite_x=True)
                psi *= kj
                psi = sfft.ifft(psi, workers=workers, overwrite_x=True)
                if j < len(inner):
                    psi *= inner[j]
                elif i < m - 1:
                    psi *= between
        out.append(psi * last)  # the save closes the step; the next one reopens it
        psi = psi * between if s < n_save - 1 else psi * last
    return np.stack(out)


def fft_grid(n, n_save=100, L=16.0, omega=2.0, x0=1.0, dense_max=1024):
    """A particle in V = 2x² (ω = 2) on an n-point periodic FFT grid (issue 56):
    the coherent Gaussian from x0 = 1, ψ at n_save + 1 saves over one period
    [0, π]; error: max over saves of the L² norm against the closed form.
    Split step (Yoshida 4) on every split-step side, its steps per save down
    the same ladder; QuTiP and dynamiqs with the dense grid H where n <= dense_max."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp
    import qutip

    import jqd

    T = np.pi
    grid = jqd.Grid(n, L)
    x = -L / 2 + (L / n) * np.arange(n)
    ts = np.linspace(0.0, T, n_save + 1)
    exact = _grid_exact(x, ts, omega, x0)
    dx = L / n
    save_dt = T / n_save
    psi0 = jqd.reference.gaussian_packet(grid, a=1 / np.sqrt(omega), x0=x0)
    V = lambda xm, t, p: 2.0 * xm[0] ** 2  # noqa: E731
    law = jqd.SchrodingerGrid(grid, V, scheme="yoshida4")
    params = jqd.SchrodingerParams()

    def plain(tol):
        m = _GRID_STEPS[tol]
        return lambda: (
            jqd.evolve(
                law, psi0, params, dt=save_dt / m, n_save=n_save, steps_per_save=m
            ).observables
        )

    def tuned(tol):
        m = _GRID_STEPS[tol]
        f = _jitted_fixed_step(law, save_dt / m, n_save, m)
        return lambda: f(params, psi0)

    cands = {
        "jqd plain": Candidate(
            "jqd",
            "plain",
            "jqd.evolve(SchrodingerGrid(Grid(n, L), V, scheme='yoshida4'), psi0, "
            "SchrodingerParams(), dt, n_save, steps_per_save) (dt = save interval / 2, 4, 8, …)",
            plain,
            True,
        ),
        "jqd tuned": Candidate(
            "jqd", "tuned", "jax.jit(jqd.evolve, check=False) of the same", tuned, True
        ),
    }
    p0 = np.asarray(psi0)
    Vx = 2.0 * x**2
    k2 = (2 * np.pi * np.fft.fftfreq(n, dx)) ** 2

    def sp(workers, merged):
        def make(tol):
            m = _GRID_STEPS[tol]
            return lambda: _scipy_splitstep(p0, Vx, k2, save_dt / m, m, n_save, workers, merged)

        return make

    cands["scipy plain"] = Candidate(
        "scipy",
        "plain",
        "the same Yoshida-4 split step written with scipy.fft.fft/ifft (phases per sub-step)",
        sp(None, False),
        True,
    )
    cands["scipy tuned workers=1"] = Candidate(
        "scipy",
        "tuned",
        "precomputed phases, merged half kicks, scipy.fft in place (workers=1)",
        sp(1, True),
        True,
    )
    cands["scipy tuned workers=-1"] = Candidate(
        "scipy", "tuned", "the same with workers=-1 (every core)", sp(-1, True), True
    )
    if n <= dense_max:
        H = jqd.reference.grid_hamiltonian(grid, Vx)
        H = 0.5 * (H + H.conj().T)
        Hq = qutip.Qobj(H)
        pq = qutip.Qobj(p0[:, None])
        opts = {"method": "diag", "store_states": True, "progress_bar": False}
        cands["qutip tuned diag"] = Candidate(
            "qutip",
            "tuned",
            "qutip.sesolve(Qobj(dense grid H), ..., method='diag')",
            lambda _: lambda: _qt_states([qutip.sesolve(Hq, pq, ts, options=opts)]),
        )
        if n <= 256:
            Hj, tsj, expm = jnp.asarray(H), jnp.asarray(ts), dq.method.Expm()
            g = jax.jit(
                lambda H, p: _dq_states(dq.sesolve(H, p, tsj, method=expm, progress_meter=False))
            )
            cands["dynamiqs tuned Expm"] = Candidate(
                "dynamiqs",
                "tuned",
                "jax.jit(dq.sesolve)(dense grid H, ..., Expm)",
                lambda _: lambda: g(Hj, jnp.asarray(p0)[:, None]),
            )
    return {
        "name": f"fft-grid-{n}",
        "desc": f"a particle in V = 2x² (ω = 2, m = ħ = 1) on a {n}-point periodic grid, "
        f"L = {L}, the coherent Gaussian from x0 = {x0}, ψ at {n_save + 1} saves on [0, π] "
        "(one period); error: max over saves of the L² norm against the closed form; "
        "split steps Yoshida 4, steps per save 2, 4, 8, … down the ladder ('rtol = atol' "
        f"column); dense QuTiP{'/dynamiqs' if n <= 256 else ''} runs on the grid H"
        + ("" if n <= dense_max else f" only up to {dense_max} points"),
        "error": lambda res: float(
            np.sqrt(dx)
            * np.max(np.linalg.norm(np.asarray(res).reshape(exact.shape) - exact, axis=-1))
        ),
        "candidates": cands,
        "dim": n,
        "n_save": n_save,
    }


def qfunc_coherent(nbar, n_grid=100):
    """Husimi Q of the coherent state |α⟩, α = √n̄, on an n_grid² grid
    α' = x + iy, x, y in [−(√n̄ + 5), √n̄ + 5] (issue 56): Q(β) = e^{−|β−α|²}/π
    in closed form; cutoff n̄ + 8√n̄ + 20."""
    from scipy.special import gammaln

    a = np.sqrt(nbar)
    d = int(np.ceil(nbar + 8 * np.sqrt(nbar) + 20))
    k = np.arange(d)
    psi = np.exp(-nbar / 2 + k * np.log(a) - 0.5 * gammaln(k + 1)).astype(complex)
    R = a + 5.0
    x = np.linspace(-R, R, n_grid)
    X, Y = np.meshgrid(x, x)
    alphas = X + 1j * Y
    exact = np.exp(-(np.abs(alphas - a) ** 2)) / np.pi
    cands = _q_function_candidates(psi, x, alphas)
    for c in cands.values():  # QuTiP misses 1e-8 at large n̄ (5.3e-8 at n̄ = 200): timed anyway
        c.extra["timed_above_target"] = c.side == "qutip"
    return {
        "name": f"qfunc-nbar-{nbar}",
        "candidates": cands,
        "error": lambda q: float(np.max(np.abs(np.asarray(q) - exact))),
        "dim": d,
        "desc": f"Husimi Q of the coherent state |α = √{nbar}⟩ (cutoff {d}) on a "
        f"{n_grid}×{n_grid} grid, x, y in [−{R:.2f}, {R:.2f}]; exact Q = e^(−|β−α|²)/π "
        "(dynamiqs has no Husimi function)",
        "n_save": 0,
    }


def _fidelity_derivatives(Gs, psi0, phi, theta, T):
    """Exact ∇F and ∇²F of F(θ) = |⟨φ|e^{−iTH(θ)}ψ0⟩|², H(θ) = Σ θ_j G_j, from
    block-triangular matrix exponentials (SciPy's expm; no ODE, no eigendecomposition):
    the (1, 2) block of exp([[A, E], [0, A]]) is the Fréchet derivative of exp at A
    along E, the (1, 3) block of exp([[A, E1, 0], [0, A, E2], [0, 0, A]]) its
    second-order term, A = −iTH(θ), E_j = −iTG_j."""
    from scipy.linalg import expm

    d = len(psi0)
    A = -1j * T * sum(t * G for t, G in zip(theta, Gs, strict=True))
    E = [-1j * T * G for G in Gs]
    Z = np.zeros((d, d), complex)
    s = np.vdot(phi, expm(A) @ psi0)
    ds = []
    for Ej in E:
        M = expm(np.block([[A, Ej], [Z, A]]))
        ds.append(np.vdot(phi, M[:d, d:] @ psi0))
    p = len(Gs)
    d2s = np.zeros((p, p), complex)
    for j in range(p):
        for k in range(p):
            M = expm(np.block([[A, E[j], Z], [Z, A, E[k]], [Z, Z, A]]))
            d2s[j, k] += np.vdot(phi, M[:d, 2 * d :] @ psi0)
    d2s = d2s + d2s.T
    ds = np.asarray(ds)
    grad = 2 * np.real(np.conj(s) * ds)
    hess = 2 * np.real(np.conj(ds)[:, None] * ds[None, :] + np.conj(s) * d2s)
    return grad, hess


def grad_hessian(d=100, alpha0=2.0, T=1.0):
    """∇F and the Hessian (`jax.hessian`) of F(θ) = |⟨φ|ψ_θ(T)⟩|², H(θ) = Δ a†a +
    (U/2) a†²a² + ε(a + a†), θ = (U, Δ, ε) = (0.1, 0.05, 0.1), φ the state at
    θ* = (0.12, 0, 0.2), cutoff d (issue 56: dynamiqs' `HigherOrder`)."""
    import dynamiqs as dq
    import jax
    import jax.numpy as jnp

    import jqd

    a = np.diag(np.sqrt(np.arange(1.0, d)), 1)
    nn = np.diag(np.arange(d, dtype=float))
    Gs = [0.5 * (a.T @ a.T @ a @ a), nn, a + a.T]
    psi0 = np.asarray(jqd.fock.coherent_state(alpha0, d))
    from scipy.linalg import expm

    theta0 = np.array([0.1, 0.05, 0.1])
    theta_t = np.array([0.12, 0.0, 0.2])
    phi = expm(-1j * T * sum(t * G for t, G in zip(theta_t, Gs, strict=True))) @ psi0
    grad, hess = _fidelity_derivatives(Gs, psi0, phi, theta0, T)
    exact = np.concatenate([grad, hess.ravel()])
    Gj = jnp.asarray(np.stack(Gs))
    pj, phij, th = jnp.asarray(psi0), jnp.asarray(phi), jnp.asarray(theta0)
    law = jqd.SchrodingerBasis()

    def F_jqd(theta):
        H = jnp.einsum("j,jmn->mn", theta, Gj)
        y = jqd.evolve(law, pj, jqd.MatrixParams(H), dt=T, n_save=1).y_final
        return jnp.abs(jnp.vdot(phij, y)) ** 2

    tsave = jnp.asarray([0.0, T])

    def F_dq(theta, method, gradient):
        H = jnp.einsum("j,jmn->mn", theta, Gj)
        y = dq.sesolve(
            H, pj[:, None], tsave, method=method, gradient=gradient, progress_meter=False
        ).final_state.to_jax()
        return jnp.abs(jnp.vdot(phij, y[:, 0])) ** 2

    def both(F):
        g, h = jax.grad(F), jax.hessian(F)
        return lambda theta: jnp.concatenate([g(theta), h(theta).ravel()])

    def user(theta):  # the loss's own operations, no propagation: the plain call's floor
        H = jnp.einsum("j,jmn->mn", theta, Gj)
        return jnp.abs(jnp.vdot(phij, H @ pj)) ** 2

    plain_jqd = both(F_jqd)
    tuned_jqd = jax.jit(plain_jqd)
    cands = {
        "jqd plain": Candidate(
            "jqd",
            "plain",
            "jax.grad(F)(θ), jax.hessian(F)(θ), F through jqd.evolve(MatrixParams(H(θ)))",
            lambda _: lambda: plain_jqd(th),
        ),
        "jqd tuned": Candidate(
            "jqd", "tuned", "jax.jit of the same two", lambda _: lambda: tuned_jqd(th)
        ),
    }

    def dq_cand(kind, m, gradient_name):
        def make(tol):
            meth = (
                dq.method.Expm()
                if m == "Expm"
                else getattr(dq.method, m)(rtol=tol, atol=tol, max_steps=10**7)
            )
            grad_ = None if gradient_name is None else getattr(dq.gradient, gradient_name)()
            f = both(lambda t: F_dq(t, meth, grad_))
            f = jax.jit(f) if kind == "tuned" else f
            return lambda: f(th)

        return make

    # HigherOrder: Dopri8, tuned only (Tsit5 at rtol = 1e-8 gave 2.2e-5 at cutoff 30, its
    # eager plain call 34 s: the ladder does not fit the run)
    for m, gname in (("Expm", None), ("Dopri8", "HigherOrder")):
        label = m if gname is None else f"{m} {gname}"
        for kind in ("plain", "tuned"):
            if kind == "plain" and gname is not None:
                continue
            cands[f"dynamiqs {kind} {label}"] = Candidate(
                "dynamiqs",
                kind,
                ("jax.jit of " if kind == "tuned" else "")
                + f"jax.grad and jax.hessian of F through dq.sesolve({m}"
                + (f", gradient=dq.gradient.{gname}()" if gname else "")
                + ")",
                dq_cand(kind, m, gname),
                m != "Expm",
            )
    g_user = both(user)
    cands["user ops only"] = Candidate(
        "none",
        "floor",
        "jax.grad and jax.hessian of |⟨φ|H(θ)ψ0⟩|² (H built as in F, no propagation): "
        "the loss's own eager cost",
        lambda _: lambda: g_user(th),
    )
    return {
        "name": f"grad-hessian-{d}",
        "candidates": cands,
        "error": lambda r: float(np.max(np.abs(np.asarray(r) - exact))),
        "dim": d,
        "n_save": 1,
        "desc": f"∇F (3) and ∇²F (3×3, jax.hessian) at θ = (U, Δ, ε) = (0.1, 0.05, 0.1) of "
        f"F = |⟨φ|ψ_θ(T)⟩|², H = Δa†a + (U/2)a†²a² + ε(a + a†), cutoff {d}, |α0 = {alpha0}⟩, "
        f"T = {T}, φ the state at θ = (0.12, 0, 0.2); exact: block-triangular expm "
        "(Fréchet derivatives, SciPy); QuTiP has no gradient",
    }


def modes_785(levels=5, tf=100.0, per_unit=200):
    """dynamiqs #785's small system: three coupled anharmonic modes of `levels`
    levels (d = 125), |000⟩, ψ at 200 tf + 1 saves on [0, tf] (20,001 at tf =
    100); H as in the issue, built with QuTiP (issue 56)."""
    import qutip as qt

    N = levels

    def op(k):
        return qt.tensor([qt.destroy(N) if j == k else qt.qeye(N) for j in range(3)])

    a1, ac, a2 = op(0), op(1), op(2)
    tp = 2 * np.pi
    al1 = al2 = alc = -0.2 * tp
    g1c, g2c, g12 = 0.1 * tp, 0.1 * tp, 0.005 * tp
    w1, w2, wc = 6 * tp, 5 * tp, 7 * tp
    d1, d2, dc = a1.dag(), a2.dag(), ac.dag()
    H = (
        w1 * d1 * a1
        + w2 * d2 * a2
        + wc * dc * ac
        + 0.5 * al1 * d1 * d1 * a1 * a1
        + 0.5 * al2 * d2 * d2 * a2 * a2
        + 0.5 * alc * dc * dc * ac * ac
        + g1c * (d1 * ac + a1 * dc + a1 * ac + d1 * dc)
        + g2c * (d2 * ac + a2 * dc + a2 * ac + d2 * dc)
        + g12 * (d1 * a2 + a1 * d2 + a1 * a2 + d1 * d2)
    )
    psi0 = qt.tensor([qt.basis(N, 0)] * 3)
    n_save = int(per_unit * tf)
    ts = np.linspace(0.0, tf, n_save + 1)
    Hn, p0 = H.full(), psi0.full().ravel()
    E, Vv = np.linalg.eigh(Hn)
    exact = (np.exp(-1j * np.outer(ts, E)) * (Vv.conj().T @ p0)) @ Vv.T
    case = schrodinger_case(
        f"modes-{N**3}-{n_save + 1}",
        Hn,
        p0,
        ts,
        exact,
        f"dynamiqs #785: three coupled anharmonic modes of {N} levels (d = {N**3}), H as in the "
        f"issue (ω/2π = 6, 7, 5, α/2π = −0.2, g/2π = 0.1, 0.1, 0.005, counter-rotating terms "
        f"kept), |000⟩, ψ at {n_save + 1} saves on [0, {tf:g}]; reference: NumPy eigh",
        dq_methods=("Expm", "Tsit5", "Dopri8"),
        qt_tuned="diag",
    )
    del case["candidates"]["dynamiqs tuned Tsit5"]  # #785's call is the plain Tsit5; Dopri8 tuned
    return case
