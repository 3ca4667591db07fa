"""terminal_value: off by default, closed forms for both methods, never inside the NPV."""

from __future__ import annotations

import numpy as np
import pytest

import cxsim
from tests.conftest import one_segment

H = 24
RATE = 0.08
V = (1 + RATE) ** (-1 / 12)
THETA = 0.02


def wallet_case(terminal=None, wallet_gain=0.1, monthly=1000.0) -> cxsim.Scenario:
    """One segment, constant churn, no inflow; only share of wallet responds, fully, at once:
    customers are the same in both arms and the margin gain has a closed form."""
    data = one_segment(
        customers=10_000,
        new_customers_per_month=0,
        monthly_churn=THETA,
        referral_rate=0.0,
        arpu=50.0,
        share_of_wallet=0.4,
        gross_margin=0.3,
    )
    data["horizon_months"] = H
    data["discount_rate"] = RATE
    data["responses"] = {
        "churn_reduction": 0.0,
        "wallet_gain": wallet_gain,
        "promoter_gain": 0.0,
        "detractor_reduction": 0.0,
        "avoidable_contacts": 0.0,
        "perception_delay_months": 0,
        "perception_lag_months": 0,
    }
    data["work_groups"] = {
        "support": {
            "pain_share": {"core": 1.0},
            "plan": {"start_month": 0, "ramp_months": 0, "target": 1.0},
            "cost": {"one_time": 0, "monthly": monthly},
        }
    }
    if terminal is not None:
        data["terminal_value"] = terminal
    return cxsim.load_scenario(data)


def test_off_by_default_and_never_inside_the_npv():
    plain = cxsim.simulate(wallet_case(), seed=1)
    assert "terminal_value" not in plain.outcomes
    assert not any("Terminal" in label for label in plain.summary().frame.index)
    with_value = cxsim.simulate(wallet_case({"method": "clv"}), seed=1)
    assert with_value.outcomes["npv"].equals(plain.outcomes["npv"])
    outcomes = with_value.outcomes.iloc[0]
    assert outcomes["npv_with_terminal"] == outcomes["npv"] + outcomes["terminal_value"]
    labels = list(with_value.summary().frame.index)
    assert "Terminal value (PV, beyond the horizon)" in labels
    assert "NPV with terminal value" in labels


def test_clv_method_closed_form():
    """Customers N(H−1) = 10,000·0.98^(H−1) in both arms; the margin gain per customer is
    ARPU·Δw/w0·margin; forward CLV of a constant-churn customer is m·v/(1 − (1−θ)v)."""
    result = cxsim.simulate(wallet_case({"method": "clv"}), seed=1)
    customers = 10_000 * (1 - THETA) ** (H - 1)
    gain = 50.0 * (0.1 / 0.4) * 0.3
    beyond = customers * gain * (V / (1 - (1 - THETA) * V) - V) * V ** (H - 1)
    running = 1000.0 * V ** (H + 1) / (1 - V)
    value = result.outcomes["terminal_value"].iloc[0]
    assert value == pytest.approx(beyond - running, rel=1e-9)


def test_clv_method_of_a_programme_that_only_costs():
    result = cxsim.simulate(wallet_case({"method": "clv"}, wallet_gain=0.0), seed=1)
    value = result.outcomes["terminal_value"].iloc[0]
    assert value == pytest.approx(-1000.0 * V ** (H + 1) / (1 - V), rel=1e-12)


@pytest.mark.parametrize("growth", [0.0, 0.03, -0.02])
def test_perpetuity_closed_form(growth):
    result = cxsim.simulate(wallet_case({"method": "perpetuity", "growth": growth}), seed=1)
    last_year = result.incremental_cash_flow[0, H - 12 :].sum()
    expected = last_year * (1 + growth) / (RATE - growth) * (1 + RATE) ** (-H / 12)
    assert result.outcomes["terminal_value"].iloc[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("terminal", "horizon", "message"),
    [
        ({"method": "perpetuity", "growth": 0.08}, H, "must be below the discount rate"),
        ({"method": "clv", "growth": 0.01}, H, "growth applies to the perpetuity method only"),
        ({"method": "gordon"}, H, "not one of the allowed values"),
        ({"method": "perpetuity", "growth": 0.9}, H, "terminal_value.growth"),
        ({"method": "perpetuity"}, 6, "shorter than a year"),
        ({"growth": 0.01}, H, "terminal_value.method"),
    ],
)
def test_bad_terminal_values_are_located_errors(terminal, horizon, message):
    data = wallet_case().to_dict()
    data["terminal_value"] = terminal
    data["horizon_months"] = horizon
    with pytest.raises(cxsim.ScenarioError, match=message):
        cxsim.load_scenario(data)


def test_the_printed_case_shows_it_apart(capsys):
    from cxsim.outputs.report import business_case

    result = cxsim.simulate(wallet_case({"method": "perpetuity", "growth": 0.0}), seed=1)
    text = business_case(result)
    assert "Terminal value (PV, beyond the horizon)" in text
    assert "NPV with terminal value" in text
    npv_line = next(line for line in text.splitlines() if line.startswith("NPV "))
    assert f"{result.outcomes['npv'].iloc[0]:,.0f}" in npv_line
    assert np.isfinite(result.outcomes["terminal_value"]).all()
