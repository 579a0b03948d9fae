"""Stress calibration of copy-coalescence's `phase_levels` (binned initial
phases of `CopyFaithfulTauLeap` runs; experiments/copy_coalescence/README.md,
"Range in N"). Coupled runs, common random numbers: A from the exact uniform
start, B from the same members' phases moved to the centres of L equal bins;
every member its own slot in both (merging equal phases into one type is
exact lumping, so B has the law of `phase_levels=L`), the same width and keys,
both compacted on the union of their live slots. Prints t_align of both with
the paired bootstrap SE of the difference, and V_B − V_A over time.

    B=128 python benchmarks/calibrate_copy_levels.py N L T OUT.npz

The 2026-11-27 calibration: N = 300, L = 8, 16, 64, T = 200, B = 128 (keys
key_base + 500 + index of N: used by no other run).
"""

import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from experiments.copy_coalescence import experiment as ex  # noqa: E402
from jqd.copy import (  # noqa: E402
    CopyFaithfulTauLeap,
    FaithfulTypeState,
    MatrixParams,
    MemberState,
    faithful_type_state,
)

N, L, t_end, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
B, P, dt, S = int(os.environ.get("B", "32")), 3, 0.25, 40  # S: steps per call
cfg = ex.Config()
params = MatrixParams(H=ex.hamiltonian(cfg))
law = CopyFaithfulTauLeap(P)
keys = jax.random.split(jax.random.key(cfg.key_base + 500 + ex._sizes(cfg.Ns, P).index(N)), B)
a = np.repeat(np.arange(P), N // P)


def start(k):
    u = jax.random.uniform(jax.random.split(k)[0], a.shape, minval=-jnp.pi, maxval=jnp.pi)
    return faithful_type_state(MemberState(a=a, phi=u), P)


A = jax.tree.map(lambda *x: jnp.stack(x), *[start(k) for k in keys])
Bphi = jnp.where(A.n > 0, ex._bin_centres(A.phi, L), A.phi)  # empty slots keep π
Bst = FaithfulTypeState(A.n, Bphi, A.n_events, A.n_clipped)


@jax.jit
def adv(y, k):
    def body(y, kk):
        y = jax.vmap(lambda y, kq: law.step(0.0, y, params, dt, kq))(y, jax.random.split(kk, B))
        return y, None

    return jax.lax.scan(body, y, jax.random.split(k, S))[0]


def compact(ya, yb):
    live = (np.asarray(ya.n) > 0) | (np.asarray(yb.n) > 0)
    Wn = max(2, 1 << int(np.ceil(np.log2(max(live.sum(-1).max(), 1)))))
    if Wn >= live.shape[-1]:
        return ya, yb
    keep = np.argsort(~live, axis=-1, kind="stable")[..., :Wn]
    take = lambda y: FaithfulTypeState(  # noqa: E731
        *(jnp.asarray(np.take_along_axis(np.asarray(x), keep, -1)) for x in (y.n, y.phi)),
        y.n_events,
        y.n_clipped,
    )
    return take(ya), take(yb)


ts, VA, VB = [0.0], [np.asarray(A.circular_variance())], [np.asarray(Bst.circular_variance())]
t0, ya, yb = time.time(), A, Bst
for c in range(int(round(t_end / (S * dt)))):
    k = jax.random.fold_in(jax.random.key(77), c)
    ya, yb = compact(adv(ya, k), adv(yb, k))
    ts.append((c + 1) * S * dt)
    VA.append(np.asarray(ya.circular_variance()))
    VB.append(np.asarray(yb.circular_variance()))
VA, VB, ts = np.array(VA).T, np.array(VB).T, np.array(ts)
np.savez(out, ts=ts, VA=VA, VB=VB)
ta, tb = ex._t_align(ts, VA, 0.5), ex._t_align(ts, VB, 0.5)
rng = np.random.default_rng(0)
boot = [
    ex._t_align(ts, VB[i], 0.5) - ex._t_align(ts, VA[i], 0.5) for i in rng.integers(0, B, (1000, B))
]
dV = (VB - VA)[:, ts >= 20].mean(1)
print(
    f"N={N} L={L} B={B} wall {time.time() - t0:.0f} s: t_align {ta:.1f} (exact start) "
    f"{tb:.1f} (binned), difference {tb - ta:+.1f} ± {np.nanstd(boot):.1f}; "
    f"time-mean V_B − V_A over t >= 20: {dV.mean():+.4f} ± {dV.std() / np.sqrt(B):.4f}"
)
