"""A dynamiqs `sesolve` script and its jqd translation, giving the same numbers.

The system: a Kerr oscillator started in a coherent state, whose ⟨a⟩
collapses and revives; dynamiqs QArrays go straight into jqd
(`jqd.interop`), and jqd's states come back as a QArray. Run:
`python examples/dynamiqs_to_jqd.py` (needs `pip install "jqd[interop]"`).
"""

import jax

jax.config.update("jax_enable_x64", True)  # float64, as the comparison needs

import dynamiqs as dq  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jqd  # noqa: E402

N = 40  # Fock cutoff


def dynamiqs_script():
    """What a dynamiqs user writes: for a constant H, dynamiqs's exact
    propagator method (Tsit5 at rtol = atol = 1e-13 agrees with jqd to 7e-12)."""
    a = dq.destroy(N)
    H = 0.5 * a.dag() @ a.dag() @ a @ a  # Kerr, U = 1
    psi0 = dq.coherent(N, 2.0)
    tsave = jnp.linspace(0.0, 2 * jnp.pi, 101)
    result = dq.sesolve(
        H, psi0, tsave, exp_ops=[a], method=dq.method.Expm(), progress_meter=False
    )
    return H, psi0, a, tsave, result


def jqd_translation(H, psi0, a, tsave):
    """The same run in jqd: the QArrays passed as they are."""
    return jqd.evolve(
        jqd.SchrodingerBasis(), psi0, jqd.MatrixParams(H), dt=tsave[1] - tsave[0],
        n_save=len(tsave) - 1, observe=jqd.observables.Expect(a),
    )


def main() -> float:
    H, psi0, a, tsave, result = dynamiqs_script()
    sol = jqd_translation(H, psi0, a, tsave)
    diff = float(np.max(np.abs(np.asarray(sol.observables) - np.asarray(result.expects[0]))))
    closed_form = jqd.reference.kerr_mean_a(sol.ts, 2.0)
    print(f"max |jqd − dynamiqs| of <a(t)>: {diff:.2e}")
    print(f"max |jqd − closed form| of <a(t)>: {np.max(np.abs(sol.observables - closed_form)):.2e}")
    # back to dynamiqs: the final state as a QArray ket
    final = jqd.interop.to_dynamiqs(sol.y_final)
    print(f"fidelity of the final states: 1 − {1 - dq.fidelity(final, result.final_state):.1e}")
    return diff


if __name__ == "__main__":
    main()
