"""jqd.dqm mixtures of multinomials (physics §6.4): the LP `closest_mixture`,
its dual lower bound, and the closed form of the closest approach to FD."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from jqd.dqm import (
    closest_mixture,
    dirichlet_multinomial_weight,
    fd_distance_closed_form,
    multinomial_matrix,
    occupation_patterns,
    simplex_lattice,
    weight_be,
    weight_fd,
    weight_mb,
)

LP_TOL = 1e-6  # 10 × HiGHS's default feasibility tolerance


def _fd(patterns):
    """W_FD in NumPy (independent of jqd's weight_fd): N!(M−N)!/M! if all n_i ≤ 1."""
    N, M = int(patterns[0].sum()), patterns.shape[1]
    return np.where(patterns.max(1) <= 1, 1.0 / math.comb(M, N), 0.0)


def _be(patterns):
    N, M = int(patterns[0].sum()), patterns.shape[1]
    return np.full(len(patterns), 1.0 / math.comb(N + M - 1, N))


def _mb(patterns):
    N, M = int(patterns[0].sum()), patterns.shape[1]
    multi = [math.factorial(N) / math.prod(math.factorial(int(k)) for k in n) for n in patterns]
    return np.asarray(multi) / M**N


def test_numpy_weights_match_jqd():
    patterns = occupation_patterns(3, 4)
    np.testing.assert_allclose(weight_fd(patterns), _fd(patterns), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(weight_be(patterns), _be(patterns), rtol=1e-12)
    np.testing.assert_allclose(weight_mb(patterns), _mb(patterns), rtol=1e-12)


def _tv(p, q):
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def test_simplex_lattice():
    w = simplex_lattice(3, 4)
    assert w.shape == (math.comb(6, 2), 3)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-15)
    assert np.all(w >= 0) and np.allclose(w * 4, np.round(w * 4))
    assert len({tuple(r) for r in w}) == len(w)


def test_multinomial_matrix_matches_scipy():
    patterns = occupation_patterns(4, 3)
    w = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.0, 0.25, 0.75]])
    A = multinomial_matrix(patterns, w)
    ref = np.array([[stats.multinomial.pmf(n, 4, wj) for wj in w] for n in patterns])
    np.testing.assert_allclose(A, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(A.sum(0), 1.0, atol=1e-14)


@pytest.mark.parametrize("N,M", [(2, 2), (2, 3), (3, 4)])
def test_fd_minimum_is_the_closed_form(N, M):
    patterns = occupation_patterns(N, M)
    fit = closest_mixture(_fd(patterns), N, M, 2 * M)
    cf = fd_distance_closed_form(N, M)
    assert abs(fit.distance - cf) <= LP_TOL
    assert abs(fit.lower_bound - cf) <= LP_TOL
    np.testing.assert_allclose(fit.points, np.full((1, M), 1.0 / M), atol=LP_TOL)
    # The optimum is Maxwell-Boltzmann counting.
    assert _tv(fit.achieved, _mb(patterns)) <= LP_TOL
    # The returned distance is that of the returned mixture.
    A = multinomial_matrix(patterns, fit.points)
    assert abs(_tv(A @ fit.weights, _fd(patterns)) - fit.distance) < 1e-14


def test_closed_form_values():
    for M in range(2, 7):
        assert fd_distance_closed_form(1, M) == 0.0
        assert math.isclose(fd_distance_closed_form(2, M), 1.0 / M, rel_tol=1e-14)
    assert math.isclose(fd_distance_closed_form(3, 3), 1 - 6 / 27, rel_tol=1e-14)
    with pytest.raises(ValueError, match="N ≤ M"):
        fd_distance_closed_form(4, 3)


def test_maclaurin_bound_on_random_w():
    # P_w(all n_i ≤ 1) ≤ M!/((M−N)! M^N) for every w: the lower bound's core.
    rng = np.random.default_rng(1)
    for N, M in [(2, 3), (3, 4), (3, 5)]:
        patterns = occupation_patterns(N, M)
        w = rng.dirichlet(np.full(M, 0.7), 2000)
        distinct = multinomial_matrix(patterns[patterns.max(1) <= 1], w).sum(0)
        assert distinct.max() <= 1 - fd_distance_closed_form(N, M) + 1e-14


@pytest.mark.parametrize("alpha", [0.3, 1.0, 5.0])
def test_dual_bound_below_every_dirichlet_mixture(alpha):
    N, M = 3, 4
    patterns = occupation_patterns(N, M)
    fd = _fd(patterns)
    fit = closest_mixture(fd, N, M, 2 * M)
    dm = np.asarray(dirichlet_multinomial_weight(patterns, alpha))
    assert _tv(dm, fd) >= fit.lower_bound - 1e-12


def test_n1_fd_reached_and_be_mb_controls():
    patterns = occupation_patterns(1, 4)
    assert closest_mixture(_fd(patterns), 1, 4, 4).distance <= LP_TOL
    N, M = 3, 3
    patterns = occupation_patterns(N, M)
    for w in (_be, _mb):
        q = w(patterns)
        fit = closest_mixture(q, N, M, 2 * M)
        assert fit.distance <= LP_TOL
        np.testing.assert_allclose(fit.achieved, q, atol=LP_TOL)
        assert fit.lower_bound <= fit.distance + 1e-12


def test_off_uniform_lattice_and_refinement():
    N, M, L = 2, 3, 7
    patterns = occupation_patterns(N, M)
    fd = _fd(patterns)
    fit = closest_mixture(fd, N, M, L)
    distinct = multinomial_matrix(patterns[patterns.max(1) <= 1], simplex_lattice(M, L)).sum(0)
    assert abs(fit.distance - (1 - distinct.max())) <= LP_TOL
    assert fit.distance - fd_distance_closed_form(N, M) > 1e-3  # discretization visible
    refined = closest_mixture(fd, N, M, L, refine=1)
    assert abs(refined.distance - fd_distance_closed_form(N, M)) <= LP_TOL


def test_bounds_bracket_a_random_target():
    rng = np.random.default_rng(2)
    N, M = 3, 3
    q = rng.dirichlet(np.ones(len(occupation_patterns(N, M))))
    fit = closest_mixture(q, N, M, 6, refine=1)
    assert fit.lower_bound <= fit.distance + 1e-9
    assert fit.distance - fit.lower_bound < 0.05


def test_errors():
    with pytest.raises(ValueError, match="target must hold one weight per pattern"):
        closest_mixture(np.ones(3), 2, 3, 6)
    with pytest.raises(ValueError, match="target must be finite"):
        closest_mixture(np.full(6, np.nan), 2, 3, 6)
    with pytest.raises(ValueError, match="refine"):
        closest_mixture(np.full(6, 1 / 6), 2, 3, 6, refine=-1)
    with pytest.raises(ValueError, match="L"):
        simplex_lattice(3, 0)
    with pytest.raises(ValueError, match="probability vectors"):
        multinomial_matrix(occupation_patterns(2, 3), np.array([[0.5, 0.6, 0.1]]))


def test_signed_measure_gives_fd():
    """The no-go needs μ ≥ 0 (physics §6.4): 2δ_{1/2} − ½δ_0 − ½δ_1 gives W_FD at N = M = 2,
    and a signed lattice measure reaches W_FD in every case; its least negative mass
    at N = 2 on the lattice L = 2M is 1/(M − 1) (HiGHS)."""
    from scipy.optimize import linprog

    patterns = occupation_patterns(2, 2)
    points = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    law = multinomial_matrix(patterns, points) @ np.array([2.0, -0.5, -0.5])
    np.testing.assert_allclose(law, _fd(patterns), atol=1e-15)
    for N, M in ((2, 2), (2, 3), (2, 4), (3, 3)):
        pats = occupation_patterns(N, M)
        A = multinomial_matrix(pats, simplex_lattice(M, 2 * M))
        J = A.shape[1]
        res = linprog(
            np.r_[np.zeros(J), np.ones(J)],
            A_eq=np.vstack([np.hstack([A, -A]), np.r_[np.ones(J), -np.ones(J)]]),
            b_eq=np.append(_fd(pats), 1.0),
            method="highs",
        )
        assert res.status == 0
        lam = res.x[:J] - res.x[J:]
        np.testing.assert_allclose(A @ lam, _fd(pats), atol=1e-9)
        assert res.x[J:].sum() > 0.1  # negative mass is needed (the no-go for μ ≥ 0)
        if N == 2:
            assert res.x[J:].sum() == pytest.approx(1 / (M - 1), abs=1e-9)
