"""The one copy of each time-stepping scheme every law builds its `step` from.

All schemes act on pytrees. `f(t, y) -> dy/dt` is a vector field; a flow
`phi(y, h) -> y(h)` is the exact (or split) evolution of one part of the
equation for a time h. Declared orders (checked in tests/test_orders.py):

========================  ==========================
rk4                       4 (strong)
heun (deterministic)      2
euler_maruyama            weak 1 (strong 1/2)
stochastic_heun           weak 2 for additive noise
strang                    2
yoshida4                  4 (triple jump of strang)
========================  ==========================
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

_tm = jax.tree_util.tree_map

# Yoshida's triple jump: three symmetric steps of weights w1, w0, w1 give order 4.
_CBRT2 = 2.0 ** (1.0 / 3.0)
YOSHIDA_WEIGHTS = (1.0 / (2.0 - _CBRT2), -_CBRT2 / (2.0 - _CBRT2), 1.0 / (2.0 - _CBRT2))


def axpy(a, x, y):
    """y + a·x on pytrees (a scalar, cast to each leaf's dtype)."""
    return _tm(lambda u, v: v + jnp.asarray(a).astype(v.dtype) * u, x, y)


def euler(f: Callable, t, y, dt):
    """y + dt f(t, y): order 1."""
    return axpy(dt, f(t, y), y)


def heun(f: Callable, t, y, dt):
    """Heun's method (explicit trapezoid): order 2."""
    k1 = f(t, y)
    k2 = f(t + dt, axpy(dt, k1, y))
    return axpy(dt / 2, _tm(jnp.add, k1, k2), y)


def rk4(f: Callable, t, y, dt, *, has_aux: bool = False, scan_stages: bool = False):
    """One classical Runge-Kutta step of dy/dt = f(t, y): order 4.

    Args:
        has_aux: `f` returns `(dy, aux)`; the step then returns
            `(y_new, dt/6 (aux1 + 2 aux2 + 2 aux3 + aux4))`, the same
            combination of the auxiliary rates (e.g. a rate before a
            projection, to measure what the projection removed).
        scan_stages: run the four stages as a `lax.scan` over one traced
            `f`, so that compile time is that of a single evaluation (for
            expensive vector fields); same result.
    """
    g = f if has_aux else (lambda s, u: (f(s, u), ()))
    dtype = jnp.result_type(dt)
    if scan_stages:
        c = jnp.asarray([0.0, 0.5, 0.5, 1.0], dtype)
        w = jnp.asarray([1.0, 2.0, 2.0, 1.0], dtype) / 6

        def stage(carry, cw):
            k, acc, acc_aux = carry
            ci, wi = cw
            k, aux = g(t + ci * dt, axpy(ci * dt, k, y))
            return (k, axpy(wi * dt, k, acc), axpy(wi * dt, aux, acc_aux)), None

        zeros = _tm(jnp.zeros_like, y)
        _, aux_shape = jax.eval_shape(lambda: g(t, y))
        aux0 = _tm(lambda s: jnp.zeros(s.shape, s.dtype), aux_shape)
        (_, acc, acc_aux), _ = jax.lax.scan(stage, (zeros, zeros, aux0), (c, w))
    else:
        k1, a1 = g(t, y)
        k2, a2 = g(t + dt / 2, axpy(dt / 2, k1, y))
        k3, a3 = g(t + dt / 2, axpy(dt / 2, k2, y))
        k4, a4 = g(t + dt, axpy(dt, k3, y))
        combine = lambda x1, x2, x3, x4: (dt / 6) * (x1 + 2 * x2 + 2 * x3 + x4)
        acc = _tm(combine, k1, k2, k3, k4)
        acc_aux = _tm(combine, a1, a2, a3, a4)
    y_new = _tm(lambda u, v: u + v.astype(u.dtype), y, acc)
    return (y_new, acc_aux) if has_aux else y_new


def euler_maruyama(drift: Callable, t, y, dt, noise):
    """y + b(t, y) dt + noise, `noise` the (already scaled) Wiener increment
    σ dW: strong order 1/2, weak order 1."""
    return _tm(lambda u, b, n: u + b * dt + n, y, drift(t, y), noise)


def stochastic_heun(drift: Callable, t, y, dt, noise, *, wrap: Callable = lambda y: y):
    """Heun predictor-corrector for additive noise: predictor
    y* = y + b(t, y) dt + noise, then y + ½(b(t, y) + b(t + dt, y*)) dt + noise.
    Weak order 2 for additive noise. `wrap` maps the predictor back into the
    domain (e.g. a periodic box) before the drift is evaluated there.
    """
    b0 = drift(t, y)
    predictor = wrap(_tm(lambda u, b, n: u + b * dt + n, y, b0, noise))
    b1 = drift(t + dt, predictor)
    return _tm(lambda u, a, b, n: u + 0.5 * (a + b) * dt + n, y, b0, b1, noise)


def strang(kick: Callable, drift: Callable, y, dt):
    """Strang splitting kick(dt/2) ∘ drift(dt) ∘ kick(dt/2): order 2 for
    flows `kick(y, h)` and `drift(y, h)`."""
    return kick(drift(kick(y, dt / 2), dt), dt / 2)


def yoshida4(symmetric_step: Callable, y, dt):
    """Yoshida's triple jump of a symmetric second-order step
    `symmetric_step(y, h)`: order 4."""
    for w in YOSHIDA_WEIGHTS:
        y = symmetric_step(y, w * dt)
    return y


def repeat(step: Callable, y, n: int):
    """Apply `step(y)` n times (one `lax.scan`, compiled once)."""
    return jax.lax.scan(lambda c, _: (step(c), None), y, None, length=n)[0]


def sequential(body: Callable, carry, xs):
    """`lax.scan(body, carry, xs)`: for sequential work that is not a time
    loop (e.g. drawing a multinomial as a chain of binomials)."""
    return jax.lax.scan(body, carry, xs)
