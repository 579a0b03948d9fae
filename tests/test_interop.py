"""jqd.interop: QuTiP and dynamiqs objects in and out, and straight into jqd.

The examples translating a QuTiP and a dynamiqs script must give the same
numbers as the peers (≤ 1e-10); conversions round-trip exactly; what cannot
be converted is refused naming the argument and the fix."""

import importlib.util
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd

qt = pytest.importorskip("qutip")
dq = pytest.importorskip("dynamiqs")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["qutip_to_jqd", "dynamiqs_to_jqd"])
def test_examples_match_the_peers(name, capsys):
    diff = _example(name).main()
    assert diff <= 1e-10, f"{name}: jqd and the peer differ by {diff:.2e}"
    assert "max |jqd −" in capsys.readouterr().out


def test_qutip_objects_round_trip():
    ket = qt.coherent(12, 0.7 + 0.2j)
    psi = jqd.interop.from_qutip(ket)
    assert psi.shape == (12,) and np.array_equal(psi, ket.full()[:, 0])
    assert np.array_equal(jqd.interop.from_qutip(ket.dag()), psi)  # a bra gives the ket back
    rho = qt.ket2dm(ket)
    op = qt.destroy(12)
    for obj in (ket, rho, op):
        back = jqd.interop.to_qutip(jqd.interop.from_qutip(obj))
        assert back == obj and back.type == obj.type
    pair = qt.tensor(qt.basis(2, 1), qt.coherent(6, 0.5))
    assert jqd.interop.to_qutip(jqd.interop.from_qutip(pair), dims=pair.dims) == pair


def test_dynamiqs_objects_round_trip():
    ket = dq.coherent(12, 0.7 + 0.2j)
    psi = jqd.interop.from_dynamiqs(ket)
    assert psi.shape == (12,) and np.array_equal(psi, ket.to_jax()[:, 0])
    for obj in (ket, ket.todm(), dq.destroy(12)):
        back = jqd.interop.to_dynamiqs(jqd.interop.from_dynamiqs(obj))
        assert back.shape == obj.shape and np.array_equal(back.to_jax(), obj.to_jax())
    assert jqd.interop.to_dynamiqs(psi).isket()
    # real arrays (a real H, a real state) convert too, as complex
    real_H = jqd.interop.to_dynamiqs(np.diag(np.arange(3.0)))
    assert real_H.isherm() and np.array_equal(real_H.to_jax(), np.diag(np.arange(3.0)))
    assert jqd.interop.to_dynamiqs(np.array([1.0, 0.0])).isket()


def _kerr(n=10):
    H = 0.5 * qt.num(n) ** 2
    return H, qt.coherent(n, 1.2)


def test_solutions_and_results_convert_both_ways():
    H, ket = _kerr()
    sol = jqd.evolve(jqd.SchrodingerBasis(), ket, jqd.MatrixParams(H), dt=0.1, n_save=5)
    result = jqd.interop.to_qutip(sol)
    assert result.times == pytest.approx(np.asarray(sol.ts)) and len(result.states) == 6
    assert result.final_state == jqd.interop.to_qutip(sol.y_final)
    again = jqd.interop.from_qutip(result)
    assert np.array_equal(again.observables, sol.observables)
    # a peer's result with expectation values: observables are result.expect
    peer = qt.sesolve(
        H, ket, np.asarray(sol.ts), e_ops=[qt.destroy(10)], options={"method": "diag"}
    )
    from_peer = jqd.interop.from_qutip(peer)
    assert len(from_peer.observables) == 1 and from_peer.observables[0].shape == (6,)
    states = jqd.interop.to_dynamiqs(sol)
    assert states.shape == (6, 10, 1)
    dres = dq.sesolve(
        jqd.interop.to_dynamiqs(jqd.interop.from_qutip(H)),
        jqd.interop.to_dynamiqs(sol.observables[0]),
        sol.ts,
        method=dq.method.Expm(),
        progress_meter=False,
    )
    from_dres = jqd.interop.from_dynamiqs(dres)
    assert np.max(np.abs(from_dres.observables - sol.observables)) < 1e-12


def test_every_entry_point_takes_peer_objects():
    H, ket = _kerr()
    a = qt.destroy(10)
    ts = jnp.array([0.0, 0.3])
    ref = jqd.reference.propagate(jqd.interop.from_qutip(H), jqd.interop.from_qutip(ket), ts)
    assert np.array_equal(jqd.reference.propagate(H, ket, ts), ref)
    law = jqd.SchrodingerBasis()
    obs = {
        "a": jqd.observables.Expect(dq.destroy(10)),
        "F": jqd.observables.Fidelity(law, ket),
        "O": jqd.observables.Overlap(law, dq.coherent(10, 1.2)),
    }
    sol = jqd.evolve(law, dq.coherent(10, 1.2), jqd.MatrixParams(H), dt=0.3, n_save=1, observe=obs)
    assert np.max(np.abs(sol.observables["a"][-1] - qt.expect(a, qt.Qobj(ref[-1][:, None])))) < 1e-9
    assert sol.observables["F"][0] == pytest.approx(1.0, abs=1e-12)
    alphas = jnp.array([0.3 + 0.1j, 1.0])
    overlaps = [qt.coherent(10, complex(z), method="analytic").overlap(ket) for z in alphas]
    assert np.allclose(jqd.husimi.husimi(ket, alphas), np.abs(overlaps) ** 2 / np.pi, atol=1e-14)


@pytest.mark.slow
def test_conversion_works_under_jit_and_grad():
    """A QArray is a pytree: traced QArrays convert inside jit and grad."""
    H, ket = dq.asqarray(jqd.interop.from_qutip(_kerr()[0])), dq.coherent(10, 1.2)
    a = dq.destroy(10)

    def n_final(scale, H, ket):
        sol = jqd.evolve(
            jqd.SchrodingerBasis(),
            ket,
            jqd.MatrixParams(scale * H),
            dt=0.1,
            n_save=3,
            observe=jqd.observables.Expect(a),
        )
        return jnp.real(sol.observables[-1])

    eager = float(n_final(1.0, H, ket))
    assert float(jax.jit(n_final)(1.0, H, ket)) == pytest.approx(eager, abs=1e-13)
    assert np.isfinite(jax.grad(n_final)(1.0, H, ket))


def test_what_cannot_convert_is_refused_clearly():
    H, ket = _kerr()
    with pytest.raises(TypeError, match=r"MatrixParams\.H: a qutip\.QobjEvo .*hamiltonian="):
        jqd.MatrixParams(qt.QobjEvo([H, [H, lambda t: t]]))
    with pytest.raises(
        TypeError, match="y0: a qutip.QobjEvo"
    ):  # converted at evolve_adaptive's door
        jqd.evolve_adaptive(
            jqd.SchrodingerBasis(), qt.QobjEvo(ket), jqd.MatrixParams(H), jnp.array([0.0, 1.0])
        )
    with pytest.raises(TypeError, match=r"goes in params: .*MatrixParams\(H\)"):
        jqd.SchrodingerBasis(hamiltonian=H)  # a Qobj is callable: it failed at the first call
    with pytest.raises(TypeError, match="y0: a QuTiP super-operator"):
        jqd.evolve(jqd.SchrodingerBasis(), qt.spre(H), jqd.MatrixParams(H), dt=0.1, n_save=1)
    sol = jqd.evolve(
        jqd.SchrodingerBasis(),
        ket,
        jqd.MatrixParams(H),
        dt=0.1,
        n_save=2,
        observe=jqd.observables.Expect(qt.num(10)),
    )
    with pytest.raises(ValueError, match="observe=None"):
        jqd.interop.to_qutip(sol)
    with pytest.raises(TypeError, match="expected a qutip Qobj"):
        jqd.interop.from_qutip(np.ones(3))
    x = jnp.ones(3)
    assert jqd.interop.as_array(x) is x  # plain arrays pass untouched


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "qutip", None)  # import qutip now raises ImportError
    with pytest.raises(ImportError, match=r"jqd\[interop\]"):
        jqd.interop.to_qutip(jnp.ones(2, complex))


def test_readme_snippet_runs():
    """The README's QuTiP snippet, as written (its imports prepended)."""
    import re

    readme = (EXAMPLES.parent / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "qutip" in b]
    scope = {}
    exec("import qutip, jqd\n" + block, scope)
    assert scope["final"].isket and scope["final"].shape == (40, 1)
    assert scope["sol"].observables.shape == (101,)


def test_local_terms_take_peer_operators():
    """SchrodingerLocal's terms: qutip σˣ ⊗ σˣ is the same term as the array."""
    xx = qt.tensor(qt.sigmax(), qt.sigmax())
    term = jqd.thermal.LocalTerm((0, 1), xx, "J")
    assert np.array_equal(term.op, xx.full().real) and (term.op_min, term.op_max) == (-1.0, 1.0)


def test_to_qutip_names_dims_that_do_not_fit():
    """Issue 27: dims whose products miss the data's shape were QuTiP's own error."""
    with pytest.raises(ValueError, match=r"to_qutip: dims=\[\[2, 3\], \[1, 1\]\] does not fit"):
        jqd.interop.to_qutip(np.ones(4) / 2, dims=[[2, 3], [1, 1]])
    assert jqd.interop.to_qutip(np.ones(4) / 2, dims=[[2, 2], [1, 1]]).dims[0] == [2, 2]


def test_expect_keeps_the_operator_structure():
    """`Expect` of a diagonal, banded or sparse operator (here QuTiP's, at
    d = 256) stores it so (O(nonzeros) per save, issue 56: it densified
    them), with the dense value, and a user's own jit keeps the storage."""
    qt = pytest.importorskip("qutip")
    from jax.experimental import sparse as jsparse

    from jqd._sparse import DiaMatrix

    d = 256
    psi = jnp.array([1.0, 1.0j]) @ jax.random.normal(jax.random.key(0), (2, d))
    psi = psi / jnp.linalg.norm(psi)
    perm = np.random.default_rng(0).permutation(d)
    scattered = qt.Qobj(np.eye(d)[perm] + np.eye(d)[perm].T)  # no band: BCOO
    for op, kind in ((qt.num(d), DiaMatrix), (qt.destroy(d), DiaMatrix), (scattered, jsparse.BCOO)):
        e = jqd.observables.Expect(op)
        assert isinstance(e.op, kind)
        dense = jnp.vdot(psi, jnp.asarray(op.full()) @ psi)
        np.testing.assert_allclose(e(0.0, psi, None), dense, rtol=1e-12)
        np.testing.assert_allclose(jax.jit(lambda y, e=e: e(0.0, y, None))(psi), dense, rtol=1e-12)
    for layout in ("csr", "dia", "dense"):  # read from QuTiP's own storage, same values
        e = jqd.observables.Expect(qt.destroy(d).to(layout) + qt.num(d).to(layout))
        assert isinstance(e.op, DiaMatrix) and e.op.offsets == (0, 1)
        dense = jnp.vdot(psi, jnp.asarray((qt.destroy(d) + qt.num(d)).full()) @ psi)
        np.testing.assert_allclose(e(0.0, psi, None), dense, rtol=1e-12)
    assert isinstance(jqd.observables.Expect(jnp.eye(4)).op, DiaMatrix)  # diagonal at any d
    assert not jqd._sparse.is_sparse(jqd.observables.Expect(qt.destroy(8)).op)  # small: dense
