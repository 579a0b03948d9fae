"""The one copy of each time-stepping scheme, on pytrees (`f(t, y) -> dy/dt`
a vector field, `phi(y, h)` a flow), as the scheme objects of `jqd.schemes`.
"""

import abc
import functools
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

_tm = jax.tree_util.tree_map

# Yoshida's triple jump: three symmetric steps of weights w1, w0, w1 give order 4.
_CBRT2 = 2.0 ** (1.0 / 3.0)
YOSHIDA_WEIGHTS = (1.0 / (2.0 - _CBRT2), -_CBRT2 / (2.0 - _CBRT2), 1.0 / (2.0 - _CBRT2))


def axpy(a, x, y):
    """y + a·x on pytrees (a scalar, cast to each leaf's dtype)."""
    return _tm(lambda u, v: v + jnp.asarray(a).astype(v.dtype) * u, x, y)


# RK4 step-size checks: |λ dt| ≤ 2.5 for the fastest rate λ, oscillating or
# decaying, a margin below RK4's stability limits there (2√2 ≈ 2.83 and 2.79)
RK4_LIMIT = 2.5


def rk4(f: Callable, t, y, dt, *, has_aux: bool = False, scan_stages: bool = False):
    """One classical Runge-Kutta step of dy/dt = f(t, y): order 4.

    `has_aux`: `f` returns `(dy, aux)` and the step `(y_new, dt/6 (aux1 +
    2 aux2 + 2 aux3 + aux4))`. `scan_stages`: the stages as a `lax.scan` over
    one traced `f` (same result).
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


def strang(kick: Callable, drift: Callable, y, dt):
    """Strang splitting kick(dt/2) ∘ drift(dt) ∘ kick(dt/2): order 2 for
    flows `kick(y, h)` and `drift(y, h)`."""
    return kick(drift(kick(y, dt / 2), dt), dt / 2)


class AbstractScheme(eqx.Module):
    """A time-stepping scheme a law can be given (`scheme=`).

    Schemes hold no arrays, only static settings (equal settings: equal
    schemes), so a law holds its scheme as a static field.

    Attributes:
        order: the convergence order in dt: strong for deterministic
            schemes, weak (of expectations of smooth functions) for
            stochastic ones; None for `Exact` (no step error).
        names: the strings that name the scheme in configs and on the
            command line (`scheme_named`).
    """

    order: eqx.AbstractClassVar[int | None]
    names: eqx.AbstractClassVar[tuple[str, ...]]


class Exact(AbstractScheme):
    """The exact propagator exp(dt L) of a law's time-independent linear
    generator L, computed by the law (`jqd.husimi.HusimiGalerkin`: L(C) one
    invariant block at a time): no step error, so `order` is None. Named
    "exact" or "expm"."""

    order = None
    names = ("exact", "expm")


class AbstractSplitting(AbstractScheme):
    """A composition of a symmetric second-order step (e.g. Strang splitting)
    over sub-steps `weights[i] * dt`.

    Attributes:
        weights: the sub-steps in units of dt (they sum to 1).
        stability: the largest ω·dt at which the step is stable for the
            harmonic oscillator split into kick and drift.
    """

    weights: eqx.AbstractClassVar[tuple[float, ...]]
    stability: eqx.AbstractClassVar[float]

    def compose(self, symmetric_step: Callable, y, dt):
        """`symmetric_step(y, h)` applied over the sub-steps h = w dt."""
        for w in self.weights:
            y = symmetric_step(y, w * dt)
        return y


class Strang(AbstractSplitting):
    """Strang splitting, order 2: the symmetric step applied once (Störmer-
    Verlet for kick and drift; named "strang" or "verlet")."""

    order = 2
    names = ("strang", "verlet")
    weights = (1.0,)
    stability = 2.0


class Yoshida4(AbstractSplitting):
    """Yoshida's triple jump, order 4: three symmetric steps of weights
    (w1, w0, w1), w0 < 0."""

    order = 4
    names = ("yoshida4",)
    weights = YOSHIDA_WEIGHTS
    stability = 1.573


class AbstractExponential(AbstractScheme):
    """A commutator-free exponential integrator for iħ dc/dt = H(t) c: the
    step is a product of exponentials of combinations of H at Gauss-type
    nodes, exp(−i dt Σ_k a_jk H(t + c_k dt)/ħ) for j = 1, 2, … (applied in
    that order), each unitary, so the norm is kept at every order.

    Attributes:
        nodes: the c_k, in units of dt.
        exponents: the rows a_jk, one per exponential, first applied first
            (each row sums to its share of dt; all rows sum to 1).
    """

    nodes: eqx.AbstractClassVar[tuple[float, ...]]
    exponents: eqx.AbstractClassVar[tuple[tuple[float, ...], ...]]

    @property
    def span(self) -> float:
        """max_j Σ_k |a_jk|: an exponential's phase range is at most this
        times dt/ħ times the spread of H's spectrum (what sizes a Chebyshev
        series for it)."""
        return max(sum(abs(a) for a in row) for row in self.exponents)

    def compose(self, propagate: Callable, hamiltonian: Callable, t, y, dt):
        """`propagate(H, y, h)` = exp(−i h H/ħ) y applied once per row, with
        H = Σ_k (a_jk / Σ_k a_jk) H(t + c_k dt) and h = (Σ_k a_jk) dt."""
        Hs = [hamiltonian(t + c * dt) for c in self.nodes]
        for row in self.exponents:
            share = sum(row)
            H = Hs[0]  # a single node: H itself, so the midpoint rule is unchanged bit for bit
            if len(Hs) > 1:  # written out, as sparse storage has no 0 + H
                H = (row[0] / share) * Hs[0]
                for a, Hk in zip(row[1:], Hs[1:]):
                    H = H + (a / share) * Hk
            y = propagate(H, y, share * dt)
        return y


class ExponentialMidpoint(AbstractExponential):
    """exp(−i dt H(t + dt/2)/ħ): order 2 (exact for a static H)."""

    order = 2
    names = ("midpoint", "exponential-midpoint")
    nodes = (0.5,)
    exponents = ((1.0,),)


_GAUSS = 3**0.5 / 6


class CommutatorFree4(AbstractExponential):
    """The fourth-order commutator-free exponential integrator with two
    exponentials at the two Gauss nodes 1/2 ∓ √3/6 (Blanes & Moan 2006;
    Alvermann & Fehske 2011, CFET4:2): order 4 at twice the exponentials of
    the midpoint rule. Named "cf4"."""

    order = 4
    names = ("cf4", "commutator-free4")
    nodes = (0.5 - _GAUSS, 0.5 + _GAUSS)
    exponents = (
        (0.25 + _GAUSS, 0.25 - _GAUSS),
        (0.25 - _GAUSS, 0.25 + _GAUSS),
    )


class AbstractPropagator(AbstractScheme):
    """How `SchrodingerBasis` applies each exponential exp(−i h H/ħ): exactly,
    so `order` is None (the order of a time-dependent run is its `scheme`'s)."""

    order = None


class Eigen(AbstractPropagator):
    """By the eigendecomposition of H: for a static H every save at once from
    one decomposition, or, with `stepped=True`, one exponential per step; for
    H(t), one decomposition per exponential. Named "eigen"."""

    stepped: bool = False
    names = ("eigen",)


class Chebyshev(AbstractPropagator):
    """By a Chebyshev series of `terms` products with H (sparse or banded H
    multiplied in its own storage); `terms=None`: sized by a plain
    `jqd.evolve` call from the concrete H and dt (a dropped tail > 1e-12 per
    step is refused). Named "chebyshev"."""

    terms: int | None = None
    names = ("chebyshev",)

    def __check_init__(self):
        t = self.terms
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 2):
            raise ValueError(
                f"Chebyshev terms must be an int >= 2 (or None: sized from H); got {t!r}."
            )


class TauLeap(AbstractScheme):
    """Tau leaping: each channel's events over a step drawn from its rates
    there (binomial or Poisson), weak order 1; the scheme of the copy
    process's leaped laws (they take no other). Named "tau-leap"."""

    order = 1
    names = ("tau-leap",)


class AbstractRungeKutta(AbstractScheme):
    """An explicit Runge-Kutta step of dy/dt = f(t, y)."""

    @abc.abstractmethod
    def step(self, f: Callable, t, y, dt):
        """y(t) -> y(t + dt)."""


class RK4(AbstractRungeKutta):
    """The classical Runge-Kutta method, order 4."""

    order = 4
    names = ("rk4",)

    def step(self, f: Callable, t, y, dt):
        return rk4(f, t, y, dt)


class Midpoint(AbstractRungeKutta):
    """The explicit midpoint rule (RK2), y + dt f(t + dt/2, y + (dt/2) f(t, y)):
    order 2."""

    order = 2
    names = ("midpoint",)

    def step(self, f: Callable, t, y, dt):
        h = dt / 2
        k1 = f(t, y)
        k2 = f(t + h, _tm(lambda u, k: u + h * k, y, k1))
        return _tm(lambda u, k: u + dt * k, y, k2)


class AbstractSDEScheme(AbstractScheme):
    """A step of dX = b(t, X) dt + noise with additive noise:
    `step(drift, t, y, dt, noise, wrap=...)`, `noise` the scaled Wiener
    increment σ ΔW. `order` is the weak order."""

    @abc.abstractmethod
    def step(self, drift: Callable, t, y, dt, noise, *, wrap: Callable = lambda y: y):
        """X(t) -> X(t + dt) with the given noise increment."""


class EulerMaruyama(AbstractSDEScheme):
    """Euler-Maruyama, y + b(t, y) dt + noise: weak order 1 (strong 1/2).
    Named "euler" or "euler_maruyama"."""

    order = 1
    names = ("euler", "euler_maruyama")

    def step(self, drift: Callable, t, y, dt, noise, *, wrap: Callable = lambda y: y):
        return _tm(lambda u, b, n: u + b * dt + n, y, drift(t, y), noise)


class StochasticHeun(AbstractSDEScheme):
    """Stochastic Heun, weak order 2 for additive noise: predictor
    y* = y + b(t, y) dt + noise, mapped back into the domain by `wrap`, then
    y + ½(b(t, y) + b(t + dt, y*)) dt + noise. Named "heun" or "stochastic_heun"."""

    order = 2
    names = ("heun", "stochastic_heun")

    def step(self, drift: Callable, t, y, dt, noise, *, wrap: Callable = lambda y: y):
        b0 = drift(t, y)
        predictor = wrap(_tm(lambda u, b, n: u + b * dt + n, y, b0, noise))
        b1 = drift(t + dt, predictor)
        return _tm(lambda u, a, b, n: u + 0.5 * (a + b) * dt + n, y, b0, b1, noise)


def _listing(allowed) -> str:
    objects = ", ".join(f"jqd.schemes.{cls.__name__}()" for cls in allowed)
    names = ", ".join(repr(n) for cls in allowed for n in cls.names)
    return f"{objects} (or by name: {names})"


def scheme_named(name, allowed: tuple[type[AbstractScheme], ...], argument: str = "scheme"):
    """The instance of the class in `allowed` that `name` names (a scheme
    object is returned as it is); `argument` names the law's field in the error."""
    if not isinstance(name, str):
        return name
    for cls in allowed:
        if name in cls.names:
            return cls()
    raise ValueError(
        f"{argument} {name!r} is not one of this law's {argument}s: {_listing(allowed)}."
    )


def scheme_field(
    default: AbstractScheme | None,
    allowed: tuple[type[AbstractScheme], ...],
    argument: str = "scheme",
):
    """A law's static `scheme` field (or another scheme-valued field, named by
    `argument`), names converted by `scheme_named`; None stays None."""
    convert = functools.partial(scheme_named, allowed=allowed, argument=argument)
    return eqx.field(static=True, default=default, converter=convert)


def check_scheme(scheme, allowed: tuple[type[AbstractScheme], ...], argument: str = "scheme"):
    """Raise `TypeError` naming `argument` and the allowed schemes unless
    `scheme` is an instance of one of `allowed`."""
    if not isinstance(scheme, allowed):
        raise TypeError(f"{argument} must be one of {_listing(allowed)}; got {scheme!r}.")
