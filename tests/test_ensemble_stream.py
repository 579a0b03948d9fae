"""Streamed ensemble statistics (`jqd.dqm.evolve_ensemble`, `ParticleCDF`,
`ks_bounds`): chunked runs give the whole ensemble's statistics (counts bit for
bit, averages to round-off), the binned KS distance brackets the exact one,
and the device program does not grow with N."""

import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

import jqd
from jqd.dqm import (
    BohmEnsemble,
    EnsembleState,
    NelsonEnsemble,
    ParticleCDF,
    ParticleHistogram,
    ParticleMoments,
    evolve_ensemble,
    ks_bounds,
)
from jqd.stats import ks_statistic

GRID = jqd.Grid(64, 24.0)
SCH = jqd.SchrodingerGrid(GRID)
PARAMS = jqd.SchrodingerParams()
PSI0 = jqd.reference.gaussian_packet(GRID, a=1.0, p0=0.5)
NELSON = NelsonEnsemble(SCH)
BOHM = BohmEnsemble(SCH)
CDF = ParticleCDF(-12.0, 12.0, 512)
OBSERVE = {"moments": ParticleMoments((1, 2)), "hist": ParticleHistogram(NELSON), "cdf": CDF}
RUN = dict(dt=0.05, n_save=2, steps_per_save=4)
CHUNK = 256  # every default test runs chunks of this size: one compiled program
KEY = jax.random.key(3)


def _x0(n, seed=0):
    return np.asarray(jax.random.normal(jax.random.key(seed), (n, 1))) / math.sqrt(2)


def _positions(t, y, params):
    return y.x[:, 0]


def _whole(law, x0, chunk, key):
    """Every particle's position at every save (the unstreamed N·saves path):
    `jqd.evolve` on each chunk with evolve_ensemble's keys, concatenated."""
    out = []
    for c in range(-(-len(x0) // chunk)):
        k = None if key is None else (key if c == 0 else jax.random.fold_in(key, c))
        y0 = EnsembleState(PSI0, jnp.asarray(x0[c * chunk : (c + 1) * chunk]))
        sol = jqd.evolve(law, y0, PARAMS, key=k, observe=_positions, checkpoint=False, **RUN)
        out.append(np.asarray(sol.observables))
    return np.concatenate(out, axis=1)  # (saves, N)


def test_one_chunk_is_evolve_bit_for_bit():
    x0 = _x0(CHUNK)
    plain = jqd.evolve(
        NELSON, EnsembleState(PSI0, jnp.asarray(x0)), PARAMS, key=KEY, observe=OBSERVE,
        checkpoint=False, **RUN,
    )  # fmt: skip
    for chunk in (CHUNK, 1000):
        sol = evolve_ensemble(
            NELSON, PSI0, x0, PARAMS, chunk=chunk, observe=OBSERVE, key=KEY, **RUN
        )
        assert sol.stats["n_chunks"] == 1 and sol.y_final is None
        np.testing.assert_array_equal(sol.ts, plain.ts)
        for name, value in plain.observables.items():
            np.testing.assert_array_equal(sol.observables[name], np.asarray(value), err_msg=name)


# Bohm: a short last chunk (a second program), and one run of all N: 5 programs, ~15 s
@pytest.mark.parametrize(
    "law,n", [(NELSON, 1024), pytest.param(BOHM, 1000, marks=pytest.mark.slow)]
)
def test_chunks_give_the_whole_ensemble(law, n):
    """Counts below the edges are the whole ensemble's, bit for bit; averages
    agree to round-off (the chunks' means weighted by n_c/N: ≲ n_chunks ulp)."""
    x0, chunk = _x0(n), CHUNK
    key = KEY if law.stochastic else None
    sol = evolve_ensemble(law, PSI0, x0, PARAMS, chunk=chunk, observe=OBSERVE, key=key, **RUN)
    assert sol.stats["n_chunks"] == 4 and sol.stats["breakdown_code"].shape == (4,)
    X = _whole(law, x0, chunk, key)
    below = np.sum(X[:, :, None] < CDF.edges(), axis=1)  # (saves, edges)
    np.testing.assert_array_equal(sol.observables["cdf"], below)
    assert sol.observables["cdf"].dtype == np.int64
    moments = np.stack([X.mean(1), (X**2).mean(1)], axis=-1)[:, None, :]
    np.testing.assert_allclose(sol.observables["moments"], moments, rtol=1e-14, atol=1e-15)
    cells = np.round((X + 12.0) * (64 / 24.0)).astype(int) % 64  # nearest grid point
    hist = np.stack([np.bincount(c, minlength=64) for c in cells]) / (X.shape[1] * GRID.spacing[0])
    np.testing.assert_allclose(sol.observables["hist"], hist, rtol=1e-13, atol=1e-14)
    if not law.stochastic:  # Bohm: the chunks' trajectories are those of one run of all N
        one = jqd.evolve(law, EnsembleState(PSI0, jnp.asarray(x0)), PARAMS, observe=_positions,
                         checkpoint=False, **RUN)  # fmt: skip
        np.testing.assert_allclose(X, np.asarray(one.observables), rtol=0, atol=1e-13)


def _normal_cdf(z, var):
    return 0.5 * (1 + erf(z / np.sqrt(2 * var)))


@pytest.mark.parametrize("bins", [24, 16384])
def test_ks_bounds_bracket_the_exact_ks(bins):
    """D_edges ≤ D ≤ D_edges + (largest bin mass), against the exact (sorted)
    KS distance, over 20 samples of N = 2000, coarse and fine bins."""
    cdf = ParticleCDF(-6.0, 6.0, bins)
    F = _normal_cdf(cdf.edges(), 0.5)
    mass = max(np.max(np.diff(F)), F[0], 1 - F[-1])
    count = jax.jit(cdf)  # one program
    for seed in range(20):
        x = _x0(2000, seed)
        exact = float(ks_statistic(_normal_cdf(np.sort(x[:, 0]), 0.5)))
        counts = np.asarray(count(0.0, EnsembleState(PSI0, jnp.asarray(x)), PARAMS))
        lo, hi = ks_bounds(counts, len(x), F)
        assert lo <= exact <= hi, (seed, lo, exact, hi)
        assert hi - lo == pytest.approx(mass, rel=1e-12)
    if bins == 16384:  # fine bins: the bracket is 5x narrower than the sampling noise 1/√N
        assert mass < 0.2 / math.sqrt(2000)


def test_the_streamed_program_does_not_grow_with_n():
    """The device runs `jqd.evolve` on one chunk: a larger N compiles nothing
    new (the same program, so the same memory)."""
    counts = []

    def count(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counts.append(event)

    def streamed(x0):
        return evolve_ensemble(
            NELSON, PSI0, x0, PARAMS, chunk=CHUNK, observe=OBSERVE, key=KEY, **RUN
        )

    small, large = _x0(2 * CHUNK), _x0(16 * CHUNK)
    streamed(small)
    jax.monitoring.register_event_duration_secs_listener(count)
    try:
        streamed(large)
    finally:
        jax.monitoring.unregister_event_duration_listener(count)
    assert counts == []


@pytest.mark.slow  # two compilations of the whole-ensemble program, ~10-25 s
def test_the_whole_ensemble_program_grows_with_n():
    """What streaming avoids: the temporaries of `jqd.evolve`'s program on all
    N particles grow ∝ N (XLA's memory analysis at N = 128 and 2048)."""

    def whole(x, key):
        y0 = EnsembleState(PSI0, x)
        sol = jqd.evolve(NELSON, y0, PARAMS, key=key, observe=OBSERVE, checkpoint=False, **RUN)
        return sol.observables

    temp = {
        n: jax.jit(whole).lower(jnp.zeros((n, 1)), KEY).compile().memory_analysis()
        for n in (128, 2048)
    }
    grows = temp[2048].temp_size_in_bytes / temp[128].temp_size_in_bytes
    assert grows > 4, grows  # 16x the particles


_RSS = """
import math, resource, sys
import jax, numpy as np
jax.config.update("jax_enable_x64", True)
import jqd
from jqd.dqm import NelsonEnsemble, ParticleCDF, ParticleMoments, evolve_ensemble
n, chunk = int(sys.argv[1]), int(sys.argv[2])
grid = jqd.Grid(128, 24.0)
kx = jax.random.key(0)
draw = jax.jit(lambda c, m: jax.random.normal(jax.random.fold_in(kx, c), (m, 1)) / math.sqrt(2),
               static_argnums=1)
sol = evolve_ensemble(NelsonEnsemble(jqd.SchrodingerGrid(grid)),
                      jqd.reference.gaussian_packet(grid, a=1.0), draw, jqd.SchrodingerParams(),
                      n_particles=n, chunk=chunk, dt=0.05, n_save=2, steps_per_save=4,
                      key=jax.random.key(1),
                      observe={"m": ParticleMoments((1, 2)), "c": ParticleCDF(-12.0, 12.0, 4096)})
assert abs(sol.observables["m"][-1, 0, 1] / (1 + 0.4**2) * 2 - 1) < 10 / math.sqrt(n)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow  # two processes, 2^20 and 2^22 particles: ~80 s on 2 cores under load
def test_peak_memory_does_not_grow_with_n():
    """Peak RSS of a streamed run (chunk 2^15) at N = 2^20 and 2^22: within
    60 MB. Measured (load ~25): 565 and 568 MiB; from 2^17 to 2^20 RSS
    rises by ~60 MB as the allocator warms over the first chunks, then stays
    (502, 524, 565, 558, 568 MiB at 2^17, 2^19, 2^20, 2^21, 2^22). The same
    run of all N in one `jqd.evolve`: 865 MiB at 2^20, 1926 MiB at 2^22."""

    def rss(n):
        out = subprocess.run(
            [sys.executable, "-c", _RSS, str(n), str(2**15)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(out.stdout.split()[-1]) / 1024  # MB

    small, large = rss(2**20), rss(2**22)
    assert large - small < 60, (small, large)


def test_bad_arguments_are_named():
    x0 = _x0(64)
    with pytest.raises(ValueError, match="observe is required"):
        evolve_ensemble(NELSON, PSI0, x0, PARAMS, chunk=16, observe=None, key=KEY, **RUN)
    with pytest.raises(ValueError, match="central=True"):
        evolve_ensemble(NELSON, PSI0, x0, PARAMS, chunk=16, key=KEY,
                        observe=ParticleMoments((1, 2), central=True), **RUN)  # fmt: skip
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        evolve_ensemble(NELSON, PSI0, x0, PARAMS, chunk=0, observe=CDF, key=KEY, **RUN)
    with pytest.raises(ValueError, match="n_particles"):
        evolve_ensemble(NELSON, PSI0, lambda c, n: x0[:n], PARAMS, chunk=16, observe=CDF,
                        key=KEY, **RUN)  # fmt: skip
    with pytest.raises(ValueError, match="pass key"):
        evolve_ensemble(NELSON, PSI0, x0, PARAMS, chunk=16, observe=CDF, **RUN)
    with pytest.raises(TypeError, match="NelsonEnsemble or BohmEnsemble"):
        evolve_ensemble(SCH, PSI0, x0, PARAMS, chunk=16, observe=CDF, key=KEY, **RUN)
    with pytest.raises(ValueError, match="outside jax.jit"):
        jax.jit(
            lambda x: (
                evolve_ensemble(
                    NELSON, PSI0, x, PARAMS, chunk=16, observe=CDF, key=KEY, **RUN
                ).observables
            )  # fmt: skip
        )(jnp.asarray(x0))
    with pytest.raises(ValueError, match="lo < hi"):
        ParticleCDF(1.0, -1.0, 10)


def test_callable_positions_and_the_whole_run_are_checked():
    """`x0(c, n)` returning a fixed 1000 rows made a 2500-particle run count
    3000: each chunk's positions must be (n, ndim) of ψ0's precision (the
    short last chunk is checked before anything runs). The run budget
    bounds all the chunks' steps together (each chunk alone fits), and the
    saved output's memory is bounded before the first chunk runs."""
    rows = _x0(1000)
    lying = lambda c, n: rows
    with pytest.raises(
        ValueError, match=r"x0\(2, 500\) \(chunk 2 of 3.* returned shape \(1000, 1\)"
    ):
        evolve_ensemble(NELSON, PSI0, lying, PARAMS, chunk=1000, n_particles=2500,
                        observe=CDF, key=KEY, **RUN)  # fmt: skip
    single = lambda c, n: rows[:n].astype(np.float32)
    with pytest.raises(ValueError, match=r"x0\(3, 16\).* dtype float32.* x\.astype\(float64\)"):
        evolve_ensemble(NELSON, PSI0, single, PARAMS, chunk=16, n_particles=64,
                        observe=CDF, key=KEY, **RUN)  # fmt: skip
    x0 = _x0(64)
    with pytest.raises(ValueError, match=r"n_chunks \* n_save \* steps_per_save .* = 32 steps"):
        evolve_ensemble(NELSON, PSI0, x0, PARAMS, chunk=16, observe=CDF, key=KEY,
                        max_steps=20, **RUN)  # fmt: skip


def test_saved_output_memory_is_bounded_before_any_chunk(monkeypatch):
    monkeypatch.setenv("JQD_MAX_SAVE_BYTES", "5e3")  # 3 saves x 513 int32 counts = 6.2 kB
    with pytest.raises(ValueError, match=r"n_save \+ 1 = 3 saves of observables .* budget "):
        evolve_ensemble(NELSON, PSI0, _x0(64), PARAMS, chunk=16, observe=CDF, key=KEY, **RUN)
