"""Latent churn classes: sBG survival against the Beta function, starting mixes."""

import numpy as np
import pytest
from scipy.special import betaln

import cxsim
from cxsim.model.customers import beta_classes, monthly_from_period, starting_mix, survival
from tests.conftest import one_segment


def sbg_survival(alpha, beta, t):
    """Fader & Hardie (2007), eq. 5: S(t) = B(α, β+t)/B(α, β)."""
    return np.exp(betaln(alpha, beta + np.asarray(t, dtype=float)) - betaln(alpha, beta))


@pytest.mark.parametrize(("alpha", "beta"), [(0.704, 1.182), (0.668, 3.806), (2.0, 30.0)])
def test_quadrature_survival_matches_beta_function(alpha, beta):
    theta, weight = beta_classes([alpha], [beta], 24)
    t = np.arange(0, 121)
    assert np.allclose(survival(theta, weight, t)[0], sbg_survival(alpha, beta, t), atol=1e-4)
    # Exact (to rounding) wherever the quadrature integrates (1-θ)^t exactly: t ≤ 2K-1.
    assert np.allclose(
        survival(theta, weight, t[:48])[0], sbg_survival(alpha, beta, t[:48]), atol=1e-12
    )


def test_batched_rule_equals_scipy_rule():
    rng = np.random.default_rng(3)
    alpha = rng.uniform(0.3, 3.0, 50)
    beta = rng.uniform(0.5, 12.0, 50)
    theta_b, weight_b = beta_classes(alpha, beta, 20, batched=True)  # Golub–Welsch
    for i in range(0, 50, 7):
        theta_s, weight_s = beta_classes(alpha[i : i + 1], beta[i : i + 1], 20)  # scipy's rule
        assert np.allclose(theta_b[i], theta_s[0], atol=1e-10)
        assert np.allclose(weight_b[i], weight_s[0], atol=1e-10)


def _fresh_cohort(sbg: dict) -> cxsim.SimulationResult:
    data = one_segment(new_customers_per_month=0, referral_rate=0.0, tenure_months=0)
    del data["segments"]["core"]["monthly_churn"]
    data["segments"]["core"]["sbg"] = sbg
    data["horizon_months"] = 60
    return cxsim.simulate(cxsim.load_scenario(data), seed=0)


def test_engine_monthly_sbg_cohort_follows_beta_survival():
    result = _fresh_cohort({"alpha": 0.668, "beta": 3.806, "period": "month"})
    customers = result.metric("customers", "core")[1, 0]
    t = np.arange(60)
    assert np.allclose(customers / 10000, sbg_survival(0.668, 3.806, t), atol=1e-4)


def test_engine_yearly_sbg_cohort_matches_at_whole_years():
    result = _fresh_cohort({"alpha": 0.704, "beta": 1.182, "period": "year"})
    customers = result.metric("customers", "core")[1, 0]
    years = np.arange(5)
    assert np.allclose(customers[12 * years] / 10000, sbg_survival(0.704, 1.182, years), atol=1e-4)


def test_yearly_to_monthly_churn_compounds_back():
    theta = np.array([[0.1, 0.5]])
    monthly = monthly_from_period(theta, "year")
    assert np.allclose((1 - monthly) ** 12, 1 - theta)


def test_starting_mix_follows_constant_inflow_formula():
    theta = np.array([[0.01, 0.05, 0.2]])
    weight = np.array([[0.2, 0.5, 0.3]])
    mix = starting_mix(theta, weight, base_age=np.array([120.0]))
    by_hand = weight * (1 - (1 - theta) ** 120) / theta
    assert np.allclose(mix, by_hand / by_hand.sum())
    tenure = starting_mix(theta, weight, tenure=np.array([24.0]))
    by_hand = weight * (1 - theta) ** 24
    assert np.allclose(tenure, by_hand / by_hand.sum())


def test_existing_base_churns_less_than_fresh_cohort():
    # Survivors of a heterogeneous base are the loyal classes (docs/model.md §1).
    theta, weight = beta_classes([0.7], [3.0], 24)
    mix = starting_mix(theta, weight, base_age=np.array([120.0]))
    assert (mix * theta).sum() < (weight * theta).sum()
