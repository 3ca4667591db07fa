"""cxsim's timing conventions against two outside ones (docs/model.md §11).

- Forward CLV against Fader & Hardie's (2010) discounted expected residual lifetime (DERL):
  ``CLV = m·(v + v²·DERL)``, with DERL from its closed form (a Gauss hypergeometric function).
- The perception filter against a system-dynamics model (a DELAY FIXED of D months feeding an
  Euler-integrated stock), written out by hand and as simulated by PySD 3.14 from the Vensim
  model in ``tests/reference/perception_delay_fixed.mdl`` (its output is stored beside it).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, hyp2f1

import cxsim
from cxsim.model.propagation import perceived
from tests.conftest import one_segment

REFERENCE = Path(__file__).parent / "reference"


def derl(alpha: float, beta: float, v: float, n: int = 1) -> float:
    """Fader & Hardie (2010), eq. 6: DERL of a customer after n - 1 renewals."""
    ratio = math.exp(betaln(alpha, beta + n) - betaln(alpha, beta + n - 1))
    return ratio * hyp2f1(1.0, beta + n, alpha + beta + n, v)


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806), (2.0, 30.0)])
def test_forward_clv_is_one_period_plus_the_discounted_residual_lifetime(alpha, beta):
    data = one_segment(
        sbg={"alpha": alpha, "beta": beta, "period": "month"},
        tenure_months=0,  # a fresh cohort, as DERL(n = 1) values it
        new_customers_per_month=0,
    )
    data["segments"]["core"].pop("monthly_churn")
    data["latent_classes"] = 64  # the quadrature is exact for polynomials; DERL is not one
    data["discount_rate"] = 0.10
    result = cxsim.simulate(cxsim.load_scenario(data), draws=1, seed=0)
    clv = result.metric("clv", "core")[1, 0, 0]
    margin = result.metric("margin_per_customer", "core")[1, 0, 0]
    v = 1.10 ** (-1 / 12)
    assert clv == pytest.approx(margin * (v + v**2 * derl(alpha, beta, v)), rel=1e-8)


def system_dynamics(g: np.ndarray, delay: int, tau: float) -> np.ndarray:
    """``Delayed = DELAY FIXED(G, D, 0)``, ``X = INTEG((Delayed − X)/τ, 0)``, Euler, dt = 1."""
    x = np.zeros_like(g)
    for t in range(1, g.size):
        delayed = g[t - 1 - delay] if t - 1 - delay >= 0 else 0.0
        x[t] = x[t - 1] + (delayed - x[t - 1]) / tau
    return x


def cxsim_equivalent(g: np.ndarray, delay: int, tau_sd: float) -> np.ndarray:
    """The §11 correspondence: dead time D + 1, smoothing time −1/ln(1 − 1/τ_SD)."""
    lag = 0.0 if tau_sd == 1 else -1.0 / math.log(1.0 - 1.0 / tau_sd)
    return perceived(g[None, None, :], np.array([[delay + 1.0]]), np.array([[lag]]))[0, 0]


@pytest.mark.parametrize(("delay", "tau"), [(0, 1.0), (2, 4.0), (5, 1.5), (1, 12.0)])
def test_delay_fixed_into_an_euler_stock_is_one_month_longer(delay, tau):
    months = np.arange(48.0)
    g = np.clip((months - 3) / 6, 0, 1) + 0.3 * (months >= 20)
    assert np.allclose(cxsim_equivalent(g, delay, tau), system_dynamics(g, delay, tau), atol=1e-14)


def test_the_correspondence_matches_pysd():
    """Recorded from PySD 3.14.3 running tests/reference/perception_delay_fixed.mdl."""
    sd = pd.read_csv(REFERENCE / "perception_delay_fixed_pysd.csv")
    g = sd["G"].to_numpy()
    assert np.allclose(cxsim_equivalent(g, 2, 4.0), sd["Perceived"].to_numpy(), atol=1e-14)
