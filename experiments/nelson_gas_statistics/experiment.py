"""A gas of distinguishable particles in a fluctuating background amplitude:
Bose-Einstein counting as dynamics (physics §6.2, Zakir §4.2, Z51-Z53).

Zakir's derivation: collisions place each particle in one of M states with the
states' probabilities w (with w = 1/M fixed, Maxwell-Boltzmann counting Z45);
between collisions the background field makes the particles fluctuate, so the
w themselves fluctuate, and averaging the multinomial over all w on the simplex
(Z51-Z53) gives Z47. The model here runs that as a process in time:

- The background amplitude ψ ∈ C^(gM) (g modes per state, cell i = modes
  ig..ig+g−1, w_i = Σ_{j∈i} |ψ_j|²) evolves between collisions by the
  Schrödinger equation of a kicked ring: hopping H0 on a ring of gM modes and
  a fluctuating background potential acting in kicks, one period being
  ψ ← exp(−iτH0/ħ) exp(−iκ ξ_k) ψ with ξ_k i.i.d. per mode and period (κ the
  kick strength). The uniform (Haar) law on the unit sphere of C^(gM) is
  invariant under every unitary, hence under these random periods at any κ
  (no step error), and it is the only stationary law because the phases and
  the hopping generate U(gM). Nothing in the program draws w from a Dirichlet
  law: that w = |ψ|² per mode is uniform on the simplex (and Dirichlet(g, ...,
  g) per cell of g modes) is a property of the complex Haar amplitude that the
  run has to reach by itself. κ = 0 leaves ψ at the equal-amplitude ring
  eigenstate, w = 1/M for ever: the classical gas.
- Collisions, every `kicks_per_collision` kicks: each of the N distinguishable
  particles is placed independently in state i with probability w_i(t) of the
  *common* ψ (the "globally defined amplitudes" of Z §4.2); the occupation
  pattern is recorded (with κ = 0: Z45, MB).
- A second set of N particles is never re-placed: between collisions each is
  carried by an equivariant jump process guided by ψ (the least-motion coupling
  of w before and after each kick: stay with probability min(1, w'_a/w_a),
  else jump to a state of growing w in proportion to its growth), the
  discrete-state analogue of Nelson's equivariant diffusion (physics §3.3,
  §3.5). If each particle's state has law w(t) given the ψ path, the pattern
  is Mult(N, w(t)) and its long-run law is Z52's average.

The long-run frequency of each occupation pattern (over `n_chains`
independent runs of `n_collisions` collisions) is compared with the closed
forms W_BE (Z47), W_MB (Z45) and the Dirichlet-multinomial weight at α = g
(physics §6.2), per pattern in units of its standard error, which is taken
from the spread over chains (it includes the correlation between successive
collisions).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jqd.dqm import dirichlet_multinomial_weight, occupation_patterns, weight_be, weight_mb
from jqdlab import Experiment, Recorder
from jqdlab.toolkit import experiment_config, panel

GROUPS = 8  # sub-ensembles of chains for the sampling error of a claim's statistic
BOUND = 4.0  # max |z| over K patterns: see the README (t with R − 1 dof, Bonferroni)
W_BINS = 40  # histogram of w_1 for the figure


@experiment_config(
    quick=dict(n_chains=64, n_collisions=400),
    limits={"kick": "> 0", "slow_kick": "> 0", "hop": "> 0", "n_burn": ">= 0"},
)
class Config:
    """Attributes:
    n_particles: N distinguishable particles.
    n_states: M states (cells).
    modes_per_cell: the values of g (background modes per state) run; 1 must
        be first (the claims' BE case).
    kick: κ, the standard deviation of the background field's phase kick per
        mode and period (V_j τ/ħ = κ ξ_j, ξ_j ~ N(0, 1)).
    slow_kick: κ of a slowly fluctuating run (g = 1): the same long-run law,
        reached with correlated collisions.
    hop: Jτ/ħ, the ring hopping phase per period (exp(−iτH0/ħ) between kicks).
    kicks_per_collision: kick periods between two collisions.
    n_chains: independent runs (the SE of every frequency is their spread).
    n_collisions: recorded collisions per run.
    n_burn: collisions before recording (the run starts at equal amplitudes).
    seed: PRNG seed.
    """

    n_particles: int = 4
    n_states: int = 3
    modes_per_cell: tuple[int, ...] = (1, 2, 4)
    kick: float = 3.0
    slow_kick: float = 0.3
    hop: float = 1.0
    kicks_per_collision: int = 2
    n_chains: int = 256
    n_collisions: int = 2000
    n_burn: int = 20
    seed: int = 0


# ----------------------------------------------------------------- the model
# Module-level functions, looked up when `_simulate` is traced: the mutants'
# seams (tests/mutants_nelson_gas_statistics.py).


def ring_propagator(d_used: int, d: int, hop: float) -> np.ndarray:
    """exp(−i hop H0) on the first `d_used` of `d` modes (identity on the rest):
    H0 = −(shift + shift†), nearest-neighbour hopping on a ring of d_used modes,
    hop = Jτ/ħ. Its k = 0 eigenstate has equal amplitudes (w = 1/M). NumPy, once per run."""
    from scipy.linalg import expm

    h = np.zeros((d, d))
    if d_used > 1:
        ring = np.roll(np.eye(d_used), 1, axis=1)
        h[:d_used, :d_used] = -(ring + ring.T) if d_used > 2 else -np.ones((2, 2)) + np.eye(2)
    out = np.eye(d, dtype=complex)
    out[:d_used, :d_used] = expm(-1j * hop * h[:d_used, :d_used])
    return out


def potential_kick(u, psi, strength, mask):
    """The background field's kick: ψ_j ← exp(−iκ ξ_j) ψ_j with ξ_j = √12 (u_j − ½)
    (uniform, mean 0, variance 1) i.i.d. per mode: a random potential
    V_j = κħξ_j/τ acting for τ; κ = strength, u uniform on [0, 1)."""
    xi = jnp.sqrt(12.0) * (u - 0.5) * mask
    return jnp.exp(-1j * strength * xi) * psi


def kick(u, psi, strength, mask, prop):
    """One period of the kicked ring: ψ ← exp(−iτH0/ħ) exp(−iτV_k/ħ) ψ (exact for
    H(t) = H0 + Σ_k V_k τ δ(t − kτ)): a fixed unitary after a random one."""
    return prop @ potential_kick(u, psi, strength, mask)


def cell_probabilities(psi, cells):
    """w_i = Σ_{modes j in cell i} |ψ_j|² (`cells` is the (d, M) 0/1 membership)."""
    return (jnp.abs(psi) ** 2) @ cells


def draw(u, p):
    """State i with probability p_i / Σp for each uniform u (inverse CDF; a state of
    zero probability is never drawn)."""
    c = (p @ jnp.triu(jnp.ones((p.shape[0], p.shape[0]), p.dtype))) / jnp.sum(p)  # cumsum
    return jnp.sum(c[None, :-1] <= u[:, None], axis=1, dtype=jnp.int32)


def collide(u, w):
    """Each of the N particles (one uniform u each) placed independently in state i
    with probability w_i of the shared amplitude; states, shape (N,)."""
    return draw(u, w)


def guided_move(u_stay, u_dest, a, w_old, w_new):
    """One step of the equivariant jump process: a particle in state b stays
    with probability min(1, w'_b/w_b), else jumps to state c with probability
    ∝ max(w'_c − w_c, 0). Σ_b K(c|b) w_b = w'_c: if the states have law w they
    have law w' after the step."""
    tiny = jnp.finfo(w_old.dtype).tiny
    stay = jnp.minimum(1.0, w_new[a] / jnp.maximum(w_old[a], tiny))
    gain = jnp.maximum(w_new - w_old, 0.0)
    dest = draw(u_dest, gain + tiny * (jnp.sum(gain) == 0))  # w' = w: nobody leaves
    return jnp.where(u_stay < stay, a, dest)


def _pattern_index(a, n_states, codes):
    """Index in `occupation_patterns` of the occupation of states `a` (shape (N,))."""
    n = jnp.sum(jax.nn.one_hot(a, n_states, dtype=jnp.int32), axis=0)
    code = n @ (a.shape[0] + 1) ** jnp.arange(n_states - 1, -1, -1)
    return codes.shape[0] - 1 - jnp.searchsorted(codes, code)  # codes ascending


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _simulate(
    n_particles, n_states, kicks, n_steps, n_burn, seed, strength, mask, cells, prop, codes
):
    """Every run (regime × chain, the leading axes of `strength`, `mask`, `cells`, `prop`;
    key fold_in(fold_in(key(seed), regime), chain)) as one program: `n_steps` collisions of which the first `n_burn`
    are not recorded. Returns per run the pattern counts of the collided and of
    the guided particles (K each) and the histogram of w_1 at the collisions."""
    K = codes.shape[0]

    def one_run(key, strength, mask, cells, prop):
        psi = mask.astype(prop.dtype) / jnp.sqrt(jnp.sum(mask))  # equal amplitudes: w = 1/M
        k0, key = jax.random.split(key)
        guided = collide(jax.random.uniform(k0, (n_particles,)), cell_probabilities(psi, cells))
        d, N = mask.shape[0], n_particles

        def period(carry, j):
            """One kick period; a collision after every `kicks`-th (recorded after the burn-in)."""
            psi, guided, hist_c, hist_g, hist_w = carry
            u = jax.random.uniform(jax.random.fold_in(key, j), (d + 3 * N,))
            w_old = cell_probabilities(psi, cells)
            psi = kick(u[:d], psi, strength, mask, prop)
            psi = psi / jnp.linalg.norm(psi)  # round-off only
            w = cell_probabilities(psi, cells)
            guided = guided_move(u[d : d + N], u[d + N : d + 2 * N], guided, w_old, w)
            placed = collide(u[d + 2 * N :], w)
            rec = (((j + 1) % kicks == 0) & (j >= n_burn * kicks)).astype(jnp.int32)
            onehot = lambda i, n: rec * jax.nn.one_hot(i, n, dtype=jnp.int32)
            hist_c = hist_c + onehot(_pattern_index(placed, n_states, codes), K)
            hist_g = hist_g + onehot(_pattern_index(guided, n_states, codes), K)
            hist_w = hist_w + onehot(
                jnp.clip((w[0] * W_BINS).astype(jnp.int32), 0, W_BINS - 1), W_BINS
            )
            return (psi, guided, hist_c, hist_g, hist_w), None

        zeros = jnp.zeros(K, jnp.int32)
        init = (psi, guided, zeros, zeros, jnp.zeros(W_BINS, jnp.int32))
        return jax.lax.scan(period, init, jnp.arange(n_steps * kicks))[0][2:]

    n_reg, n_chain = strength.shape
    root = jax.random.key(seed)
    keys = jax.vmap(
        lambda i: jax.vmap(lambda j: jax.random.fold_in(jax.random.fold_in(root, i), j))(
            jnp.arange(n_chain)
        )
    )(jnp.arange(n_reg))
    return jax.vmap(jax.vmap(one_run))(keys, strength, mask, cells, prop)


def regime_table(config) -> list[tuple[str, float, int]]:
    """The runs, as (name, κ, g): the fluctuating background (κ = kick), none
    (κ = 0: the classical gas, ψ stays the equal-amplitude ring state), a slowly
    fluctuating one, and g > 1 modes per state."""
    rows = [("fluctuating", config.kick, 1), ("fixed", 0.0, 1), ("slow", config.slow_kick, 1)]
    return rows + [(f"g={g}", config.kick, g) for g in config.modes_per_cell[1:]]


# -------------------------------------------------------------- statistics


def goodness_of_fit(freqs, p, counts):
    """Per-pattern z = (f̄ − p)/SE, SE the spread of the per-chain frequencies
    `freqs` (R, K) over chains, `counts` = R·T collisions. Returns (max |z|, its SE from GROUPS strided
    sub-ensembles of chains, z, f̄, SE, Hotelling p-value)."""
    from scipy import stats

    R, K = freqs.shape
    mean = freqs.mean(0)
    se = freqs.std(0, ddof=1) / math.sqrt(R)
    # a pattern every chain holds equally often (no spread: e.g. particles that never
    # move) gets the SE floor of one count in R·T (``counts``), not 0
    se = np.maximum(se, 1.0 / counts)
    z = (mean - p) / se
    # each group's statistic with the group-mean SE se·√G has the law of the whole one's
    group = [
        np.max(np.abs(freqs[g::GROUPS].mean(0) - p) / (se * math.sqrt(GROUPS)))
        for g in range(GROUPS)
    ]
    # Hotelling T² on K − 1 patterns (the last is fixed by Σf = 1): chain means are
    # averages of many collisions, so Gaussian; (R − q)/(q(R − 1)) T² ~ F(q, R − q)
    q = K - 1
    x = freqs[:, :q] - p[:q]
    t2 = R * x.mean(0) @ np.linalg.pinv(np.cov(x, rowvar=False)) @ x.mean(0)
    pval = float(stats.f.sf((R - q) / (q * (R - 1)) * t2, q, R - q))
    return float(np.max(np.abs(z))), float(np.std(group, ddof=1)), z, mean, se, pval


def run(config: Config, rec: Recorder) -> None:
    import matplotlib.pyplot as plt
    from scipy import stats

    N, M = config.n_particles, config.n_states
    gs = tuple(config.modes_per_cell)
    if gs[0] != 1:
        raise ValueError(f"modes_per_cell must start with 1 (the BE case); got {gs}.")
    d = M * max(gs)
    patterns = occupation_patterns(N, M)
    K = len(patterns)
    codes = patterns @ ((N + 1) ** np.arange(M - 1, -1, -1))
    order = np.argsort(codes)
    assert np.all(order == np.arange(K)[::-1])  # occupation_patterns: codes descending
    codes = np.ascontiguousarray(codes[::-1])

    regimes = regime_table(config)
    masks, cellss, props = [], [], []
    for _, _, g in regimes:
        mask = np.zeros(d)
        mask[: g * M] = 1.0
        cells = np.zeros((d, M))
        for i in range(M):
            cells[i * g : (i + 1) * g, i] = 1.0
        masks.append(mask)
        cellss.append(cells)
        props.append(ring_propagator(g * M, d, config.hop))
    R = config.n_chains
    rep = lambda a: np.repeat(np.asarray(a)[:, None], R, axis=1)
    hist_c, hist_g, hist_w = _simulate(
        N,
        M,
        config.kicks_per_collision,
        config.n_burn + config.n_collisions,
        config.n_burn,
        config.seed,
        rep([kappa for _, kappa, _ in regimes]),
        rep(masks),
        rep(cellss),
        rep(props),
        codes,
    )
    T = config.n_collisions
    fc = np.asarray(hist_c, float) / T  # (regime, chain, K)
    fg = np.asarray(hist_g, float) / T
    hw = np.asarray(hist_w, float).sum(1) / (R * T)
    be = np.asarray(weight_be(patterns))
    mb = np.asarray(weight_mb(patterns))
    dm = {g: np.asarray(dirichlet_multinomial_weight(patterns, float(g))) for g in gs}
    r = {name: i for i, (name, _, _) in enumerate(regimes)}
    note = "no time step: the kicked-ring propagator is exact (and Haar-invariant at any κ)"

    def claim(name, statement, freqs, p, op="<="):
        stat, se, *_, pval = goodness_of_fit(freqs, p, R * T)
        rec.claim(name, statement, measured=stat, tolerance=BOUND, op=op, se=se, step_error=note)
        rec.metric(f"hotelling_pvalue: {name}", pval)
        return stat

    common = f"N = {N}, M = {M}, K = {K} patterns; max over patterns of |f − W|/SE"
    claim(
        "fluctuating ψ, collisions: BE counting",
        f"Z51-Z53: ψ kicked by a fluctuating potential (κ = {config.kick}), particles placed at "
        f"collisions with w = |ψ|²; frequencies vs W_BE = N!(M−1)!/(M+N−1)! (Z47); {common}",
        fc[r["fluctuating"]],
        be,
    )
    claim(
        "fluctuating ψ, collisions: MB rejected",
        f"the same frequencies vs W_MB (Z45, fixed w = 1/M): they differ; {common}",
        fc[r["fluctuating"]],
        mb,
        op=">",
    )
    claim(
        "fluctuating ψ, guided particles: BE counting",
        "Z51-Z53 with persistent particles never re-placed, carried by the equivariant "
        f"jump process guided by ψ; frequencies vs W_BE; {common}",
        fg[r["fluctuating"]],
        be,
    )
    claim(
        "fixed ψ (no fluctuation): MB counting",
        f"Z45: κ = 0, w = 1/M at every collision; frequencies vs W_MB; {common}",
        fc[r["fixed"]],
        mb,
    )
    claim(
        "fixed ψ (no fluctuation): BE rejected",
        f"κ = 0: frequencies vs W_BE: they differ; {common}",
        fc[r["fixed"]],
        be,
        op=">",
    )
    g_claim = gs[-1]
    if g_claim > 1:
        claim(
            f"coarse cells, g = {g_claim}: Dirichlet-multinomial(α = {g_claim})",
            f"physics §6.2: {g_claim} background modes per state, w_i = Σ|ψ_j|² over the cell: "
            f"frequencies vs the Dirichlet-multinomial weight at α = g (BE at g = 1, MB as "
            f"g → ∞); {common}",
            fc[r[f"g={g_claim}"]],
            dm[g_claim],
        )

    # metrics: every regime against BE, MB and DM(α = g) (the fixed regime's guided
    # particles never move: each chain holds one pattern, no SE over chains)
    refs = {"BE": be, "MB": mb} | {f"DM(α={g})": dm[g] for g in gs[1:]}
    for name, _, _ in regimes:
        for kind, f in (("collisions", fc), ("guided", fg)):
            if (name, kind) == ("fixed", "guided"):
                continue
            for ref, p in refs.items():
                rec.metric(
                    f"max_z[{name}, {kind}] vs {ref}", goodness_of_fit(f[r[name]], p, R * T)[0]
                )
    # correlation between successive collisions: SE over chains / binomial SE
    for name in ("fluctuating", "slow", "fixed"):
        _, _, _, mean, sem, _ = goodness_of_fit(fc[r[name]], be, R * T)
        binom = np.maximum(np.sqrt(mean * (1 - mean) / (R * T)), 1.0 / (R * T))
        rec.metric(f"se_inflation[{name}]", float(np.median(sem / binom)))
    # w_1's histogram against Beta(g, (M − 1)g) (the cell marginal of the complex Haar law)
    edges = np.linspace(0, 1, W_BINS + 1)
    for name, _, g in regimes:
        if name == "fixed":
            continue
        exact = np.diff(stats.beta.cdf(edges, g, (M - 1) * g))
        rec.metric(f"w1_hist_max_abs_dev[{name}]", float(np.max(np.abs(hw[r[name]] - exact))))

    # ------------------------------------------------------------------ figure
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.8))
    idx = np.arange(K)
    for name, kind, f, fmt, dx in (
        ("fluctuating", "collisions", fc, "o", -0.15),
        ("fluctuating", "guided", fg, "^", 0.0),
        ("fixed", "collisions", fc, "s", 0.15),
    ):
        _, _, _, mean, sem, _ = goodness_of_fit(f[r[name]], be, R * T)
        label = f"κ = {config.kick:g}, {kind}" if name == "fluctuating" else "κ = 0 (fixed ψ)"
        ax1.errorbar(idx + dx, mean, yerr=sem, fmt=fmt, ms=4, mfc="none", label=f"{label} ± SE")
    ax1.step(idx, be, where="mid", color="k", label="W_BE (Z47)")
    ax1.step(idx, mb, where="mid", color="r", ls="--", label="W_MB (Z45)")
    ax1.set_xticks(idx, ["".join(map(str, p)) for p in patterns], rotation=90, fontsize=7)
    ax1.set_ylim(0, 1.45 * max(be.max(), mb.max()))
    panel(
        ax1,
        f"occupation pattern (n_1 n_2 n_3), N = {N}",
        "long-run frequency",
        "(a) fluctuating ψ: BE; fixed ψ: MB",
        loc="upper right",
        ncol=2,
    )
    for j, g in enumerate(gs):
        name = "fluctuating" if g == 1 else f"g={g}"
        _, _, _, mean, sem, _ = goodness_of_fit(fc[r[name]], dm[g], R * T)
        ax2.errorbar(idx, mean, yerr=sem, fmt="o", ms=3, color=f"C{j}", label=f"g = {g} ± SE")
        ax2.plot(idx, dm[g], "-", lw=1, color=f"C{j}", label=f"DM(α = {g})")
    ax2.plot(idx, mb, "k--", lw=1, label="MB (g → ∞)")
    ax2.set_yscale("log")
    ax2.set_xticks(idx, ["".join(map(str, p)) for p in patterns], rotation=90, fontsize=7)
    ax2.set_ylim(0.3 * min(mb.min(), be.min()), 3 * max(dm[g].max() for g in gs))
    panel(
        ax2,
        "occupation pattern",
        "long-run frequency",
        "(b) g modes per state: toward MB",
        loc="lower center",
        ncol=2,
    )
    centres = 0.5 * (edges[1:] + edges[:-1])
    colour = {"fluctuating": "C0", "slow": "C3"} | {f"g={g}": f"C{k}" for k, g in enumerate(gs)}
    for name, kappa, g in regimes:
        if name == "fixed":
            continue
        ax3.plot(
            centres,
            hw[r[name]] * W_BINS,
            "x" if name == "slow" else "o",
            ms=4 if name == "slow" else 3,
            color=colour[name],
            label=f"{name} (κ = {kappa:g})" + (": on the κ = 3 points" if name == "slow" else ""),
        )
    for g in gs:
        label = "Beta(g, (M−1)g), g = " + ", ".join(map(str, gs)) if g == 1 else None
        ax3.plot(centres, stats.beta.pdf(centres, g, (M - 1) * g), "k-", lw=0.8, label=label)
    panel(
        ax3, "w_1 at the collisions", "density", "(c) w_1 = cell weight of |ψ|²", loc="upper right"
    )
    fig.suptitle(
        "Distinguishable particles, shared fluctuating amplitude: Bose-Einstein counting (Z51-Z53)"
    )
    fig.tight_layout()
    rec.figure(fig, "nelson_gas_statistics.png")


EXPERIMENT = Experiment(
    description=(
        "Z51-Z53 as dynamics: particles placed by a common ψ kicked by a fluctuating field "
        "have BE pattern frequencies; fixed ψ MB; g modes per state Dirichlet-multinomial(g)"
    ),
    physics="§6.2",
)
