"""Is the tau-leap's mean flow neutral over long times? The deterministic RK4
flow of `CopyFaithfulTauLeap`'s type counts and phases (no draws), as in its
step, from W types per class (random phases, equal counts; copy-coalescence's
H): V every 100 time units. A drift of V here would be integrator error that
the leap adds to coalescence (physics §5.8; experiments/copy_coalescence,
"Range in N").

    python benchmarks/copy_meanflow.py W dt T      (e.g. 16 0.25 400000)
"""

import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import jqd.copy._faithful_leap as fl  # noqa: E402
from experiments.copy_coalescence import experiment as ex  # noqa: E402
from jqd.copy import CopyParams  # noqa: E402
from jqd.copy._kinetics import _rates  # noqa: E402

W, dt, T = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
R, delta, omega = _rates(CopyParams(H=ex.hamiltonian(ex.Config())), jnp.float64)
s, d, onto_s, onto_d = fl._directed(3)
phi = np.sort(np.random.default_rng(1).uniform(-np.pi, np.pi, (3, W)), axis=1)
n = np.full((3, W), 1000.0 / W)


def f(z):
    n, phi = z
    out, inn = fl.flow_rates(n, phi, R, delta)
    return onto_d @ inn - onto_s @ out, fl.phase_velocity(phi, n, R, delta, omega)


def rk4(z, _):
    move = lambda k, h: jax.tree.map(lambda a, b: a + h * b, z, k)  # noqa: E731
    k1 = f(z)
    k2 = f(move(k1, dt / 2))
    k3 = f(move(k2, dt / 2))
    k4 = f(move(k3, dt))
    step = lambda a, b1, b2, b3, b4: a + dt / 6 * (b1 + 2 * (b2 + b3) + b4)  # noqa: E731
    return jax.tree.map(step, z, k1, k2, k3, k4), None


block = jax.jit(lambda z: jax.lax.scan(rk4, z, None, int(round(100 / dt)))[0])


def V(z):
    n, phi = z
    return float(1 - jnp.sum(jnp.abs(jnp.sum(n * jnp.exp(1j * phi), 1))) / jnp.sum(n))


z, out, t0 = (jnp.asarray(n), jnp.asarray(phi)), [(0, V((n, phi)))], time.time()
for b in range(int(T / 100)):
    z = block(z)
    out.append(((b + 1) * 100, V(z)))
arr = np.array(out)
shown = arr[:: max(1, len(arr) // 10)]
print(f"W = {W}, dt = {dt}, {time.time() - t0:.0f} s; V at t =")
print(" ".join(f"{t:.0f}: {v:.5f}" for t, v in shown), f"(last {arr[-1, 1]:.5f})")
