"""Local quantum Hamiltonians on a tensor product, applied matrix-free and
propagated by Chebyshev expansion, the standard models as `SchrodingerLocal`
laws and their symmetry sectors (physics §7.6; layout and costs:
docs/internals/thermal.md#local-hamiltonians). Pauli matrices have
σᶻ = diag(1, −1); site 0 is the slowest index of ψ."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards
from .._checks import warn_accuracy
from .._law import AbstractLaw
from ..interop import as_array
from ._chebyshev import CHEB_TOL, chebyshev_terms, ritz_values

TRUNCATION_WARN = 1e-6  # top-level population of a truncated ladder that warrants a warning
SLICED_MAX_DIM = 4  # ops up to 4 x 4 (one or two spins 1/2) are applied as sums of slices


class LocalTerm(eqx.Module):
    """`op` acting on `sites`, times the coupling `params.couplings[name]`.

    `op`: Hermitian (n, n), n = Π d_s over its sites in the order given (the
    first site the slowest index; QuTiP and dynamiqs operators are accepted).
    """

    sites: tuple[int, ...] = eqx.field(static=True)
    op: Array
    name: str = eqx.field(static=True)
    diagonal: bool = eqx.field(static=True)
    op_min: float = eqx.field(static=True)
    op_max: float = eqx.field(static=True)
    nonzero: tuple[tuple[int, int], ...] | None = eqx.field(static=True)

    def __init__(self, sites, op, name: str):
        self.sites = tuple(int(s) for s in np.atleast_1d(sites))
        if len(set(self.sites)) != len(self.sites):
            raise ValueError(f"LocalTerm {name!r}: sites {self.sites} repeat a site.")
        a = np.asarray(as_array(op, "LocalTerm.op"))  # a QuTiP/dynamiqs operator too
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"LocalTerm {name!r}: op must be a square matrix; got {a.shape}.")
        _guards.enforce(_guards.hermitian(a, "op"), caller=f"LocalTerm {name!r}")
        a = (a + a.conj().T) / 2
        self.diagonal = bool(np.all(a == np.diag(np.diag(a))))
        ev = np.linalg.eigvalsh(a)
        self.op_min, self.op_max = float(ev[0]), float(ev[-1])
        real = np.allclose(a.imag, 0) if np.iscomplexobj(a) else True
        self.op = jax.device_put(a.real if real else a)  # (jnp.asarray compiles per shape)
        self.name = str(name)
        # where a small op is nonzero: applied as a sum of slices (see apply_sliced)
        rows, cols = np.nonzero(a)
        small = a.shape[0] <= SLICED_MAX_DIM
        self.nonzero = tuple((int(r), int(c)) for r, c in zip(rows, cols)) if small else None


def apply_sliced(op, T, sites, nonzero):
    """O T over the axes `sites` as a sum of slices over op's nonzeros
    (why: docs/internals/thermal.md#local-hamiltonians)."""
    k = len(sites)
    front = jnp.moveaxis(T, sites, tuple(range(k)))
    flat = front.reshape((op.shape[0],) + front.shape[k:])
    rows = [None] * op.shape[0]
    for a, b in nonzero:
        term = op[a, b] * flat[b]
        rows[a] = term if rows[a] is None else rows[a] + term
    zero = jnp.zeros_like(flat[0])
    out = jnp.stack([zero if r is None else r for r in rows]).reshape(front.shape)
    return jnp.moveaxis(out, tuple(range(k)), sites)


def sparse_hamiltonian(dims, terms, couplings):
    """H = Σ_t c_t O_t as a `scipy.sparse` CSR matrix (concrete couplings)."""
    import scipy.sparse

    dims = tuple(dims)
    D = math.prod(dims)
    digits = np.unravel_index(np.arange(D), dims)
    strides = [math.prod(dims[s + 1 :]) for s in range(len(dims))]
    rows, cols, vals = [], [], []
    for t in terms:
        c = float(np.asarray(couplings[t.name]))
        op = np.asarray(t.op)
        local = [dims[s] for s in t.sites]
        a = np.ravel_multi_index([digits[s] for s in t.sites], local)
        base = np.arange(D) - sum(digits[s] * strides[s] for s in t.sites)
        for a_out in range(op.shape[0]):
            d_out = np.unravel_index(a_out, local)
            v = c * op[a_out, a]
            keep = v != 0
            rows.append(
                (base + sum(d * strides[s] for d, s in zip(d_out, t.sites, strict=True)))[keep]
            )
            cols.append(np.arange(D)[keep])
            vals.append(v[keep])
    rows, cols, vals = (np.concatenate(x) for x in (rows, cols, vals))
    return scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(D, D)).tocsr()


def local_operator(dims, sites, op, *, sparse: bool = False):
    """`op` on `sites` (identity elsewhere) as a (D, D) matrix on ⊗ C^{d_i}:
    dense NumPy, or scipy.sparse CSR with `sparse=True` (e.g. σᶻ at the centre)."""
    M = sparse_hamiltonian(dims, (LocalTerm(sites, op, "op"),), {"op": 1.0})
    return M if sparse else M.toarray()


class LocalParams(eqx.Module):
    """Couplings `{term name: real float}` and ħ (all differentiable)."""

    couplings: dict
    hbar: float | Array = 1.0


class SchrodingerLocal(AbstractLaw):
    """iħ ∂ψ/∂t = Hψ for H = Σ_t c_t O_t on ⊗_i C^{d_i} (physics §7.6).

    State: normalized complex ψ of length D = Π dims, site 0 the slowest
    index. `step` is the Chebyshev expansion of exp(−iH dt/ħ), accurate to
    1e-14 per step in float64 while it needs at most `max_terms` terms
    (`jqd.evolve` refuses larger dt, naming the fix). Validated against
    `jqd.reference.propagate` of `dense(params)` to 1e-10.

    Attributes:
        dims: local dimensions (d_0, ..., d_{L-1}).
        terms: the `LocalTerm`s; the couplings come from params by name.
        bounds: (E_min, E_max) enclosing the spectrum, or None for Weyl's
            bound from the couplings (always safe, somewhat wider).
        max_terms: static length of the Chebyshev loop.
        truncated: factors that truncate an infinite ladder (a boson mode):
            a state with more than 1e-6 in their top level gets an
            `jqd.AccuracyWarning` (`check`, `warn_truncation`).
    """

    dims: tuple[int, ...] = eqx.field(static=True)
    terms: tuple[LocalTerm, ...]
    bounds: tuple[float, float] | None = eqx.field(
        static=True, default=None, converter=lambda b: None if b is None else tuple(map(float, b))
    )
    max_terms: int = eqx.field(static=True, default=64)
    truncated: tuple[int, ...] = eqx.field(static=True, default=())

    def __check_init__(self):
        dims = self.dims
        if not dims or any(int(d) < 1 for d in dims):
            raise ValueError(f"dims must be a non-empty tuple of positive ints; got {dims}.")
        for t in self.terms:
            if not isinstance(t, LocalTerm):
                raise ValueError(f"terms must be LocalTerm instances; got {type(t).__name__}.")
            if any(s < 0 or s >= len(dims) for s in t.sites):
                raise ValueError(f"term {t.name!r}: sites {t.sites} outside 0..{len(dims) - 1}.")
            n = math.prod(dims[s] for s in t.sites)
            if t.op.shape != (n, n):
                raise ValueError(f"term {t.name!r}: op must be ({n}, {n}); got {t.op.shape}.")
        lo, hi = self.bounds or (0.0, 1.0)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"bounds must be finite (E_min, E_max), E_min < E_max; got {lo, hi}.")
        if self.max_terms < 4:
            raise ValueError(f"max_terms must be >= 4; got {self.max_terms}.")

    @property
    def size(self) -> int:
        return math.prod(self.dims)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({t.name for t in self.terms}))

    def _diagonal(self, couplings, dtype):
        """Σ_t c_t diag(O_t) over the diagonal terms, shape dims (or 0.)."""
        total = jnp.zeros((), dtype)
        for t in self.terms:
            if t.diagonal:
                d = jnp.real(jnp.diagonal(jnp.asarray(t.op))).astype(dtype)
                d = jnp.transpose(d.reshape([self.dims[s] for s in t.sites]), np.argsort(t.sites))
                shape = [self.dims[s] if s in t.sites else 1 for s in range(len(self.dims))]
                total = total + jnp.asarray(couplings[t.name], dtype) * d.reshape(shape)
        return total

    def _apply_tensor(self, T, couplings, diag=None):
        """H T for T of shape dims + batch; `diag` the summed diagonal if known."""
        if diag is None:
            diag = self._diagonal(couplings, np.finfo(T.dtype).dtype)
        out = jnp.zeros_like(T)
        for t in self.terms:
            if t.diagonal:
                continue
            k, i = len(t.sites), t.sites[0]
            op = (jnp.asarray(couplings[t.name]) * jnp.asarray(t.op)).astype(T.dtype)
            if t.nonzero is not None:
                r = apply_sliced(op, T, t.sites, t.nonzero)
            elif t.sites == tuple(range(i, i + k)):
                # contiguous sites: one batched matrix product on (left, n, right)
                left = math.prod(self.dims[:i])
                r = jnp.matmul(op, T.reshape(left, op.shape[0], -1)).reshape(T.shape)
            else:
                shape = [self.dims[s] for s in t.sites]
                op = op.reshape(shape + shape)
                r = jnp.tensordot(op, T, axes=(list(range(k, 2 * k)), list(t.sites)))
                r = jnp.moveaxis(r, list(range(k)), list(t.sites))
            out = out + r
        extra = T.ndim - len(self.dims)
        d = jnp.reshape(diag, jnp.shape(diag) + (1,) * extra) if jnp.ndim(diag) else diag
        return d * T + out

    @eqx.filter_jit  # one program, not one per op (inlined inside a trace)
    def apply(self, psi, params):
        """Hψ (matrix-free, jax); psi of shape (D,) or (D, batch...)."""
        psi = jnp.asarray(psi)
        T = psi.reshape(self.dims + psi.shape[1:])
        return self._apply_tensor(T, params.couplings).reshape(psi.shape)

    def dense(self, params):
        """The dense (D, D) H (from `sparse` for concrete couplings: no compile)."""
        if not _guards.is_traced(params.couplings):
            return jnp.asarray(self.sparse(params).toarray())
        real = jnp.result_type(*params.couplings.values(), *[t.op.dtype for t in self.terms])
        cplx = any(jnp.iscomplexobj(t.op) for t in self.terms)
        dtype = jnp.result_type(real, jnp.complex64) if cplx else real
        return self.apply(jnp.eye(self.size, dtype=dtype), params)

    def sparse(self, params):
        """H as a `scipy.sparse` CSR matrix (concrete couplings)."""
        return sparse_hamiltonian(self.dims, self.terms, params.couplings)

    def spectral_bounds(self, params):
        """(E_min, E_max) enclosing the spectrum: `bounds`, or Weyl's bound (physics §7.6)."""
        if self.bounds is not None:
            return float(self.bounds[0]), float(self.bounds[1])
        xp = _guards.array_module(params.couplings)
        lo = hi = 0.0
        for t in self.terms:
            c = xp.asarray(params.couplings[t.name])
            lo = lo + xp.minimum(c * t.op_min, c * t.op_max)
            hi = hi + xp.maximum(c * t.op_min, c * t.op_max)
        return xp.asarray(lo), xp.asarray(hi)

    def _scaled(self, params, dt, rdtype):
        xp = _guards.array_module(params, dt)
        lo, hi = self.spectral_bounds(params)
        lo, hi = xp.asarray(lo, rdtype), xp.asarray(hi, rdtype)
        c = (hi + lo) / 2
        # a slightly widened half-width (round-off at the spectral edges)
        a = (hi - lo) / 2 * (1 + 1e-10) + 1e-12 * (1 + xp.abs(c))
        tau = xp.asarray(dt, rdtype) / xp.asarray(params.hbar, rdtype)
        return c, a, tau

    def step(self, t, y, params, dt, key=None):
        rdtype = jnp.finfo(y.dtype).dtype
        c, a, tau = (jnp.asarray(v, rdtype) for v in self._scaled(params, dt, rdtype))
        # J_k(−x) = (−1)^k J_k(x): a negative dt (time reversal) reuses J(|x|)
        x = a * tau
        n_needed, _, J = chebyshev_terms(jnp.abs(x), self.max_terms, jnp)
        k = np.arange(self.max_terms)
        sign = jnp.where(x < 0, jnp.asarray((-1.0) ** k, rdtype), 1.0)
        phase = jnp.asarray(np.array([1, -1j, -1, 1j])[k % 4], y.dtype)  # (−i)^k
        coef = (jnp.where(k == 0, 1.0, 2.0) * J[: self.max_terms] * sign).astype(y.dtype) * phase
        diag = self._diagonal(params.couplings, rdtype) - c

        def Ht(T):  # H̃ T = (H − c) T / a
            return self._apply_tensor(T, params.couplings, diag) / a

        p0 = y.reshape(self.dims)
        p1 = Ht(p0)
        acc = coef[0] * p0 + coef[1] * p1

        def body(k, carry):
            def more(carry):
                prev, cur, acc = carry
                nxt = 2.0 * Ht(cur) - prev
                return cur, nxt, acc + coef[k] * nxt

            return jax.lax.cond(k < n_needed, more, lambda carry: carry, carry)

        _, _, acc = jax.lax.fori_loop(2, self.max_terms, body, (p0, p1, acc))
        return (jnp.exp(-1j * c * tau).astype(y.dtype) * acc).reshape(y.shape)

    def vector_field(self, t, y, params):
        return (-1j / params.hbar) * self.apply(y, params)

    def density(self, y):
        """Populations |ψ_n|² of the product basis."""
        return jnp.abs(y) ** 2

    def energy(self, t, y, params):
        """⟨ψ|H|ψ⟩ (real)."""
        return jnp.real(jnp.vdot(y, self.apply(y, params)))

    def truncation_weight(self, psi):
        """Population of the top level of each `truncated` factor, (..., len(truncated))."""
        xp = _guards.array_module(psi)
        psi = xp.asarray(psi)
        lead = psi.shape[:-1]
        p = xp.abs(psi.reshape(lead + self.dims)) ** 2
        others = tuple(range(len(lead), len(lead) + len(self.dims) - 1))
        out = [
            xp.sum(xp.take(p, self.dims[f] - 1, axis=len(lead) + f), axis=others)
            for f in self.truncated
        ]
        return xp.stack(out, -1) if out else xp.zeros(lead + (0,))

    def warn_truncation(self, psi, name: str = "psi") -> float:
        """Warn (`jqd.AccuracyWarning`) when a concrete state (..., D) holds more
        than 1e-6 in the top level of a truncated factor; returns the largest."""
        if not self.truncated or _guards.is_traced(psi):
            return 0.0
        w = float(np.max(np.asarray(self.truncation_weight(psi))))
        if w > TRUNCATION_WARN:
            warn_accuracy(
                f"{name} holds {w:.3g} > {TRUNCATION_WARN:g} of its population in the top level "
                f"of the truncated factor(s) {self.truncated}: the truncation is felt. Raise "
                "n_max (the ladder's dimension) until this weight is below 1e-6."
            )
        return w

    def check(self, y, params, dt=None):
        D = self.size
        if jnp.shape(y) != (D,):
            raise ValueError(f"psi0 must have shape ({D},) = prod(dims); got {jnp.shape(y)}.")
        if not jnp.iscomplexobj(y):
            raise ValueError("psi0 must be complex (e.g. psi0.astype(jnp.complex128)).")
        couplings = getattr(params, "couplings", None)
        if not isinstance(couplings, dict):
            raise ValueError("params must be jqd.thermal.LocalParams(couplings={name: value}).")
        if missing := sorted(set(self.names) - set(couplings)):
            raise ValueError(f"params.couplings lacks {missing}; give a real value for each.")
        if unknown := sorted(set(couplings) - set(self.names)):
            raise ValueError(f"params.couplings has {unknown} that no term uses ({self.names}).")
        for k, v in couplings.items():
            if jnp.iscomplexobj(v):
                raise ValueError(f"params.couplings[{k!r}] must be real (H must be Hermitian).")
            if jnp.ndim(v) != 0:  # a vector would broadcast into a non-Hermitian H
                raise ValueError(
                    f"params.couplings[{k!r}] must be a scalar (use jax.vmap); got {jnp.shape(v)}."
                )
        self.warn_truncation(y, "psi0")

    def checks(self, y, params, dt=None):
        """ψ normalized; the step within `max_terms` Chebyshev terms; the Ritz
        values of a short Lanczos run (inside the spectrum) inside `bounds`."""
        out = _guards.normalized(jnp.sum(jnp.abs(y) ** 2), "psi0")
        dtype = jnp.asarray(y).dtype
        if dt is not None:
            x, _, tail = self.chebyshev_order(params, dt, jnp.finfo(dtype).dtype)
            need = jnp.floor(x) + 10 * jnp.floor(jnp.cbrt(x)) + 12
            message = (
                f"dt: the Chebyshev step needs more than max_terms = {self.max_terms} terms "
                "(dt·(E_max − E_min)/2ħ = {x}); reduce dt or pass max_terms >= {need:.0f} in "
                "SchrodingerLocal(...)."
            )
            out.append(_guards.Check(tail <= CHEB_TOL, message, {"x": x, "need": need}))
        if self.bounds is not None:
            if _guards.is_traced(params.couplings):
                ritz = ritz_values(lambda v: self.apply(v, params), self.size, dtype, jnp)
            else:
                Hs = self.sparse(params)
                ritz = ritz_values(lambda v: Hs @ v, self.size, np.complex128, np)
            lo, hi = self.bounds
            slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
            ok = (ritz[0] >= lo - slack) & (ritz[-1] <= hi + slack)
            worst = jnp.where(ritz[0] < lo - slack, ritz[0], ritz[-1])
            message = (
                f"bounds = {self.bounds} miss the spectrum of H (an eigenvalue estimate lies at "
                "{value}): the Chebyshev series would diverge. Widen bounds, or pass "
                "bounds=None for the automatic (Weyl) bound."
            )
            out.append(_guards.Check(ok, message, worst))
        return out

    def chebyshev_order(self, params, dt, dtype=np.float64):
        """(aτ, N, tail): the scaled step |dt|(E_max − E_min)/2ħ, the number N
        of Chebyshev terms a step uses (N − 1 applications of H) and the
        dropped tail 2Σ_{k≥max_terms}|J_k| (must be ≤ 1e-15)."""
        c, a, tau = self._scaled(params, dt, np.finfo(dtype).dtype)
        x = jnp.abs(a * tau) if _guards.is_traced(a, tau) else abs(a * tau)
        n, tail, _ = chebyshev_terms(x, self.max_terms)
        return x, n, tail


SX = np.array([[0.0, 1.0], [1.0, 0.0]])
SY = np.array([[0.0, -1j], [1j, 0.0]])
SZ = np.array([[1.0, 0.0], [0.0, -1.0]])

HX_MFI = (5 + math.sqrt(5)) / 8  # 0.9045
HZ_MFI = (1 + math.sqrt(5)) / 4  # 0.8090


def _bonds(L: int, boundary: str):
    if boundary not in ("open", "periodic"):
        raise ValueError(f"boundary must be 'open' or 'periodic'; got {boundary!r}.")
    bonds = [(i, i + 1) for i in range(L - 1)]
    if boundary == "periodic" and L > 2:
        bonds.append((L - 1, 0))
    return bonds


def _couplings(**values):
    """{name: value} as float arrays, each a finite real (named if not)."""
    for name, value in values.items():
        _guards.enforce(_guards.scalar(value, name))
    return {name: _guards.to_device(value, float) for name, value in values.items()}


def _ising_terms(L, boundary):
    zz = np.kron(SZ, SZ)
    terms = [LocalTerm(b, zz, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SX, "hx") for i in range(L)]
    terms += [LocalTerm((i,), SZ, "hz") for i in range(L)]
    return terms


def mixed_field_ising(L, *, J=1.0, hx=HX_MFI, hz=HZ_MFI, boundary="open", **law_kwargs):
    """(law, params) of the mixed-field Ising chain of L spins, couplings "J",
    "hx", "hz" (physics §7.6); `law_kwargs` go to `SchrodingerLocal`."""
    L = _guards.count(L, "L", minimum=2)
    law = SchrodingerLocal((2,) * L, tuple(_ising_terms(L, boundary)), **law_kwargs)
    return law, LocalParams(couplings=_couplings(J=J, hx=hx, hz=hz))


def random_field_heisenberg(L, *, W, key, J=1.0, boundary="periodic", **law_kwargs):
    """(law, params) of the random-field Heisenberg chain: fields h_i uniform
    in [−W, W] drawn with `key`, couplings "J", "h0", "h1", ... (physics §7.6)."""
    L = _guards.count(L, "L", minimum=2)
    _guards.enforce(_guards.scalar(W, "W", nonnegative=True))
    heis = (np.kron(SX, SX) + np.kron(SY, SY).real + np.kron(SZ, SZ)) / 4
    terms = [LocalTerm(b, heis, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SZ / 2, f"h{i}") for i in range(L)]
    h = jax.random.uniform(key, (L,), float, -1.0, 1.0) * W
    couplings = _couplings(J=J) | {f"h{i}": h[i] for i in range(L)}
    law = SchrodingerLocal((2,) * L, tuple(terms), **law_kwargs)
    return law, LocalParams(couplings=couplings)


def spin_boson(L, *, n_max, omega=1.5, g=0.5, J=1.0, hx=HX_MFI, hz=HZ_MFI, **law_kwargs):
    """(law, params) of the open mixed-field Ising chain plus one boson mode of
    n_max + 1 levels as the last (`truncated`) factor, couplings "J", "hx",
    "hz", "omega", "g" (physics §7.6)."""
    L = _guards.count(L, "L", minimum=2)
    n_max = _guards.count(n_max, "n_max", minimum=1)
    nb = n_max + 1
    a = np.diag(np.sqrt(np.arange(1.0, nb)), 1)
    terms = _ising_terms(L, "open")
    terms.append(LocalTerm((L,), np.diag(np.arange(float(nb))), "omega"))
    xa = np.kron(SX, a + a.T) / math.sqrt(L)
    terms += [LocalTerm((i, L), xa, "g") for i in range(L)]
    law = SchrodingerLocal((2,) * L + (nb,), tuple(terms), truncated=(L,), **law_kwargs)
    return law, LocalParams(couplings=_couplings(J=J, hx=hx, hz=hz, omega=omega, g=g))


def boson_number(law: SchrodingerLocal, psi):
    """⟨a†a⟩ of the last factor of a spin-boson state psi (..., D)."""
    psi = jnp.asarray(psi)
    nb = law.dims[-1]
    if psi.shape[-1:] != (math.prod(law.dims),):
        raise ValueError(
            f"jqd.thermal.boson_number: psi must end in the law's dimension {math.prod(law.dims)} "
            f"(dims {law.dims}); got shape {psi.shape}. Pass a state of this law."
        )
    p = jnp.abs(psi.reshape(psi.shape[:-1] + (-1, nb))) ** 2
    return jnp.sum(p * jnp.arange(nb, dtype=p.dtype), axis=(-2, -1))


def reflection_sector(dims, parity: int = 1) -> np.ndarray:
    """The (D, D_s) real isometry P onto the reflection sector of `parity`
    (+1 or −1): P.T @ H @ P is H's block when H commutes with the reflection.

    Raises ValueError when dims is not a palindrome (e.g. a chain with a
    boson mode at its end has no reflection symmetry)."""
    dims = tuple(int(d) for d in dims)
    if dims != dims[::-1]:
        raise ValueError(
            f"dims {dims} are not symmetric under reflection (site i -> L-1-i): there is no "
            "reflection sector. Use it for chains of equal sites only."
        )
    if parity not in (1, -1):
        raise ValueError(f"parity must be +1 or -1; got {parity!r}.")
    D = math.prod(dims)
    # R(n) for every product state n: reverse the order of the site digits
    r = np.arange(D).reshape(dims).transpose(tuple(range(len(dims)))[::-1]).reshape(-1)
    n = np.arange(D)
    fixed = n[r == n] if parity == 1 else n[:0]
    pairs = n[n < r]
    P = np.zeros((D, len(fixed) + len(pairs)))
    P[fixed, np.arange(len(fixed))] = 1.0
    j = len(fixed) + np.arange(len(pairs))
    P[pairs, j] = 1 / math.sqrt(2)
    P[r[pairs], j] = parity / math.sqrt(2)
    return P


def sz_sector(L: int, sz) -> np.ndarray:
    """Indices (increasing) of the product states of L spins ½ with total
    Sᶻ = sz (|↑⟩ = index 0): H[np.ix_(idx, idx)] is the block of an Sᶻ-
    conserving H, and psi[idx] the state's components."""
    L = _guards.count(L, "L")
    n_down = L / 2 - float(sz)
    if not (float(n_down).is_integer() and 0 <= n_down <= L):
        raise ValueError(f"sz must be one of -L/2, -L/2 + 1, ..., L/2 (L = {L}); got {sz!r}.")
    n = np.arange(2**L)
    downs = sum((n >> b) & 1 for b in range(L))
    return n[downs == int(n_down)]
