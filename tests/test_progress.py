"""`progress=` of `jqd.evolve` and `jqd.evolve_adaptive`: one bar that advances
once per save (evolve) or with the solved fraction of the time span (diffrax's
meter), also under jit, vmap and grad, with the same bits as without; off,
nothing is traced."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tqdm.auto
import tqdm.std

import jqd


class _Decay(jqd.AbstractLaw):
    """dy/dt = −k y, exact step."""

    def step(self, t, y, params, dt, key=None):
        return y * jnp.exp(-params.k * dt)

    def vector_field(self, t, y, params):
        return -params.k * y


class _Walk(jqd.AbstractLaw):
    stochastic = True

    def step(self, t, y, params, dt, key):
        return y + jnp.sqrt(2 * params.k * dt) * jax.random.normal(key, y.shape, y.dtype)


class _K(eqx.Module):
    k: float | jax.Array = 0.7


Y0 = jnp.array([1.0, 2.0])


@pytest.fixture
def bars(monkeypatch):
    """The tqdm bars evolve's meter opens, each with its updates."""
    made = []

    class Recording(tqdm.std.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.updates = []
            made.append(self)

        def update(self, n=1):
            self.updates.append(n)
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    return made


def _one_bar(bars, n, updates=None):
    assert len(bars) == 1, [b.desc for b in bars]
    assert (bars[0].total, bars[0].n, bars[0].updates) == (n, n, updates or [1] * n)
    assert bars[0].disable  # closed


def _run(k=0.7, n_save=6, **kw):
    return jqd.evolve(_Decay(), Y0, _K(k), dt=0.1, n_save=n_save, steps_per_save=3, **kw)


def test_evolve_bar_advances_once_per_save(bars, capsys):
    sol = _run(progress=True)
    _one_bar(bars, 6)
    err = capsys.readouterr().err
    assert "jqd.evolve(_Decay)" in err and "6/6" in err
    assert np.array_equal(sol.observables, _run().observables)
    _run(progress=True)  # the same compiled program again: a new bar
    assert len(bars) == 2 and bars[1].n == 6


def test_evolve_bar_updates_at_most_100_times(bars):
    _run(n_save=250, progress=True)
    assert len(bars) == 1 and (bars[0].n, bars[0].updates) == (250, [3] * 83 + [1])


def test_evolve_bar_under_jit_vmap_and_grad(bars):
    def final(k, progress):
        return _run(k, n_save=5, progress=progress).y_final

    on, off = jax.jit(lambda k: final(k, True)), jax.jit(lambda k: final(k, False))
    assert np.array_equal(on(0.7), off(0.7))
    _one_bar(bars, 5)
    ks = jnp.array([0.3, 0.7, 1.1])
    bars.clear()
    assert np.array_equal(jax.vmap(on)(ks), jax.vmap(off)(ks))
    _one_bar(bars, 5)  # one bar for the batch, not one per element
    bars.clear()
    grad = lambda progress: jax.grad(lambda k: jnp.sum(final(k, progress)))(0.7)
    assert np.array_equal(grad(True), grad(False))
    _one_bar(bars, 5)  # the forward run only: the checkpoint's recompute reports nothing


def test_evolve_bar_on_exact_saves_and_replicates(bars):
    H = jqd.fock.number(4) + 0.0j
    psi = jnp.ones(4, complex) / 2
    run = lambda progress: jqd.evolve(
        jqd.SchrodingerBasis(), psi, jqd.MatrixParams(H), dt=0.1, n_save=4, progress=progress
    )
    assert np.array_equal(run(True).observables, run(False).observables)
    _one_bar(bars, 4, [4])  # the law's exact saves: no blocks, all 4 at once
    bars.clear()
    key, mean = jax.random.key(0), lambda t, y, p: jnp.mean(y)
    walk = lambda progress: jqd.evolve(
        _Walk(), Y0, _K(), dt=0.1, n_save=3, key=key, errors=True, observe=mean, progress=progress
    )
    on = walk(True)
    assert on.errors.sampling == "replicates"  # an internal vmap over replicates
    assert np.array_equal(on.errors.se, walk(False).errors.se)
    assert len(bars) == 1 and (bars[0].n, bars[0].updates) == (3, [1, 1, 1])


def test_off_traces_no_callback():
    def evolve(progress):  # the printed jaxpr holds the nested ones (scan, cond, ...)
        return str(jax.make_jaxpr(lambda k: _run(k, n_save=2, progress=progress).y_final)(0.7))

    assert "debug_callback" not in evolve(False) and "debug_callback" in evolve(True)
    ts = jnp.linspace(0.0, 1.0, 3)

    def adaptive(progress):
        f = lambda k: jqd.evolve_adaptive(_Decay(), Y0, _K(k), ts, progress=progress).y_final
        return str(jax.make_jaxpr(f)(0.7))

    assert "io_callback" not in adaptive(False) and "io_callback" in adaptive(True)


def test_bad_progress_is_named():
    with pytest.raises(TypeError, match="progress must be True or False; got 'yes'"):
        _run(progress="yes")
    with pytest.raises(TypeError, match="progress must be True, False or a diffrax progress"):
        jqd.evolve_adaptive(_Decay(), Y0, _K(), jnp.linspace(0.0, 1.0, 3), progress=1)


def test_evolve_adaptive_meter(capsys):
    import diffrax

    ts = jnp.linspace(0.0, 2.0, 5)
    run = lambda k, progress: (
        jqd.evolve_adaptive(_Decay(), Y0, _K(k), ts, progress=progress).observables
    )
    assert np.array_equal(run(0.7, True), run(0.7, False))
    assert "100.00%" in capsys.readouterr().err  # diffrax's tqdm bar
    text = diffrax.TextProgressMeter()
    ks = jnp.array([0.3, 0.7, 1.1])
    on = jax.jit(jax.vmap(lambda k: run(k, text)))
    assert np.array_equal(on(ks), jax.jit(jax.vmap(lambda k: run(k, False)))(ks))
    lines = capsys.readouterr().out.split()
    assert lines[0] == "0.00%" and lines[-1] == "100.00%" and lines.count("0.00%") == 1
