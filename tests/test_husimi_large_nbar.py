"""jqd.husimi.husimi of a coherent state at large n̄ against the closed form
Q(β) = e^{−|β−α|²}/π (issue 56: the Q function at n̄ = 10 … 200 on a 100² grid)."""

import jax
import numpy as np
import pytest
from scipy.special import gammaln

import jqd

jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("nbar", [10, 200, 400])
def test_coherent_q_closed_form(nbar):
    a = np.sqrt(nbar)
    d = int(np.ceil(nbar + 8 * np.sqrt(nbar) + 20))
    k = np.arange(d)
    psi = np.exp(-nbar / 2 + k * np.log(a) - 0.5 * gammaln(k + 1)).astype(complex)
    x = np.linspace(-a - 5, a + 5, 100)
    X, Y = np.meshgrid(x, x)
    alphas = X + 1j * Y
    exact = np.exp(-(np.abs(alphas - a) ** 2)) / np.pi
    q = np.asarray(jqd.husimi.husimi(psi, alphas))
    # levels k >= 297 have psi_k/sqrt(k!) below the smallest normal float64; they
    # must not be dropped (the error was 6.4e-8 at n̄ = 200 when they were)
    assert np.max(np.abs(q - exact)) < 1e-10
