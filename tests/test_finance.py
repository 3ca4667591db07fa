"""Money: CLV closed form, NPV, IRR and payback against hand-computed cash flows."""

import numpy as np
import pytest

import cxsim
from cxsim.model.finance import clv_constant, irr, monthly_discount, payback_month, present_value
from tests.conftest import one_segment


def test_clv_closed_form_equals_series():
    v = monthly_discount(0.08)
    margin, churn = 12.5, 0.03
    t = np.arange(5000)
    series = (margin * (1 - churn) ** t * v ** (t + 1)).sum()
    assert clv_constant(margin, churn, v) == pytest.approx(series, rel=1e-12)


def test_engine_clv_is_the_closed_form():
    data = one_segment(
        arpu=40.0,
        gross_margin=0.5,
        contacts_per_customer=0.3,
        cost_per_contact=5.0,
        monthly_churn=0.02,
    )
    result = cxsim.simulate(cxsim.load_scenario(data), seed=0)
    margin = 40.0 * 0.5 - 0.3 * 5.0
    v = 1.08 ** (-1 / 12)
    expected = margin * v / (1 - 0.98 * v)
    assert result.metric("clv", "core")[:, 0, :] == pytest.approx(expected, rel=1e-12)


def test_npv_irr_payback_of_a_hand_cash_flow():
    cash = np.array([[-100.0, 60.0, 60.0]])
    # (1+r) = x solves 100x² − 60x − 60 = 0.
    x = (60 + np.sqrt(60**2 + 4 * 100 * 60)) / 200
    assert irr(cash)[0] == pytest.approx(x**12 - 1, rel=1e-8)
    assert payback_month(cash)[0] == 3
    v = monthly_discount(np.array([0.12]))
    assert present_value(cash, v)[0] == pytest.approx(-100 * v[0] + 60 * v[0] ** 2 + 60 * v[0] ** 3)


def test_irr_and_payback_undefined_cases():
    assert np.isnan(irr(np.array([[10.0, 10.0]])))[0]  # never negative: no IRR
    assert np.isnan(payback_month(np.array([[-10.0, 5.0, 4.0]])))[0]  # not paid back
    assert payback_month(np.array([[0.0, 0.0]]))[0] == 0
    # Paid back, dips again, recovers: payback counts from the last dip.
    assert payback_month(np.array([[-5.0, 10.0, -8.0, 10.0]]))[0] == 4


def test_contact_saving_npv_matches_closed_form():
    """Only avoidable contacts respond, immediately and fully: NPV is a geometric series."""
    data = one_segment(
        new_customers_per_month=0,
        referral_rate=0.0,
        monthly_churn=0.02,
        contacts_per_customer=0.5,
        cost_per_contact=8.0,
    )
    data["horizon_months"] = 36
    data["work_groups"] = {
        "support": {
            "pain_share": {"core": 1.0},
            "plan": {"start_month": 0, "ramp_months": 0, "target": 1.0},
            "cost": {"one_time": 0, "monthly": 1000},
        }
    }
    data["responses"] = {
        "churn_reduction": 0.0,
        "wallet_gain": 0.0,
        "promoter_gain": 0.0,
        "detractor_reduction": 0.0,
        "avoidable_contacts": 0.4,
        "perception_delay_months": 0,
        "perception_lag_months": 0,
    }
    result = cxsim.simulate(cxsim.load_scenario(data), seed=0)
    v = 1.08 ** (-1 / 12)
    q = 0.98 * v
    saving = 10000 * 0.5 * 0.4 * 8.0  # first month's saving
    pv_saving = saving * v * (1 - q**36) / (1 - q)
    pv_cost = 1000 * v * (1 - v**36) / (1 - v)
    outcome = result.outcomes.iloc[0]
    assert outcome["pv_benefit"] == pytest.approx(pv_saving, rel=1e-10)
    assert outcome["pv_cost"] == pytest.approx(pv_cost, rel=1e-10)
    assert outcome["npv"] == pytest.approx(pv_saving - pv_cost, rel=1e-10)
    assert outcome["roi"] == pytest.approx((pv_saving - pv_cost) / pv_cost, rel=1e-10)
    assert outcome["payback_months"] == 0  # saving exceeds cost from the first month


def test_irr_of_a_row_does_not_depend_on_the_rows_beside_it():
    """Chunking must not move a draw's IRR: one row alone (a special path) or in a batch."""
    rng = np.random.default_rng(5)
    cash = np.concatenate([-rng.uniform(1, 2, (40, 12)), rng.uniform(0.1, 0.5, (40, 48))], axis=1)
    cash[::9] = np.abs(cash[::9])  # some rows without an IRR
    together = irr(cash)
    alone = np.concatenate([irr(cash[k : k + 1]) for k in range(len(cash))])
    np.testing.assert_array_equal(together, alone)
    assert np.isnan(together[::9]).all() and not np.isnan(together[1::9]).any()
