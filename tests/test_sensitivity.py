"""Tornado and break-even on a case whose NPV has a closed form."""

import numpy as np
import pytest

import cxsim
from cxsim.analysis.sensitivity import breakeven, tornado
from tests.conftest import one_segment

H = 36
V = 1.08 ** (-1 / 12)
Q = 0.98 * V
ANNUITY_SAVING = V * (1 - Q**H) / (1 - Q)  # PV of 1 a month, decaying with churn 2%
ANNUITY_COST = V * (1 - V**H) / (1 - V)  # PV of 1 a month for H months


def contact_case(avoidable, cost_per_contact, monthly):
    """Only avoidable contacts respond, at once and fully, with no inflow: NPV is closed-form.

    NPV = 10,000 · 0.5 · a · cpc · ANNUITY_SAVING − monthly · ANNUITY_COST.
    """
    data = one_segment(
        new_customers_per_month=0,
        referral_rate=0.0,
        monthly_churn=0.02,
        contacts_per_customer=0.5,
        cost_per_contact=cost_per_contact,
    )
    data["horizon_months"] = H
    data["work_groups"] = {
        "support": {
            "pain_share": {"core": 1.0},
            "plan": {"start_month": 0, "ramp_months": 0, "target": 1.0},
            "cost": {"one_time": 0, "monthly": monthly},
        }
    }
    data["responses"] = {
        "churn_reduction": 0.0,
        "wallet_gain": 0.0,
        "promoter_gain": 0.0,
        "detractor_reduction": 0.0,
        "avoidable_contacts": avoidable,
        "perception_delay_months": 0,
        "perception_lag_months": 0,
    }
    return cxsim.load_scenario(data)


def npv(a, cpc, m):
    return 10000 * 0.5 * a * cpc * ANNUITY_SAVING - m * ANNUITY_COST


def uniform(lo, hi):
    return {"dist": "uniform", "min": lo, "max": hi}


def test_tornado_order_and_swings_match_closed_form():
    scenario = contact_case(uniform(0.2, 0.6), uniform(7.0, 9.0), uniform(20000, 60000))
    table = tornado(scenario)
    q = lambda lo, hi, p: lo + p * (hi - lo)  # noqa: E731 - uniform quantile
    a_med, cpc_med, m_med = 0.4, 8.0, 40000
    expected = {
        "responses.avoidable_contacts": abs(
            npv(q(0.2, 0.6, 0.9), cpc_med, m_med) - npv(q(0.2, 0.6, 0.1), cpc_med, m_med)
        ),
        "work_groups.support.cost.monthly": abs(
            npv(a_med, cpc_med, q(2e4, 6e4, 0.9)) - npv(a_med, cpc_med, q(2e4, 6e4, 0.1))
        ),
        "segments.core.cost_per_contact": abs(
            npv(a_med, q(7, 9, 0.9), m_med) - npv(a_med, q(7, 9, 0.1), m_med)
        ),
    }
    order = sorted(expected, key=expected.get, reverse=True)
    assert list(table["input"]) == order
    for _, row in table.iterrows():
        assert row["swing"] == pytest.approx(expected[row["input"]], rel=1e-9)
    assert table["base"].iloc[0] == pytest.approx(npv(a_med, cpc_med, m_med), rel=1e-9)


def test_breakeven_matches_closed_form():
    scenario = contact_case(0.3, 8.0, 20000)
    result = breakeven(scenario, "responses.avoidable_contacts", draws=1)
    exact = 20000 * ANNUITY_COST / (10000 * 0.5 * 8.0 * ANNUITY_SAVING)
    assert result.value == pytest.approx(exact, rel=1e-6)
    assert "break-even" in result.message
    curve = result.curve
    assert np.all(np.diff(curve["expected_npv"]) > 0)  # NPV rises with avoidable contacts


def test_breakeven_with_uncertain_others_uses_the_mean_over_draws():
    # With the monthly cost uncertain, expected NPV is linear in the mean sampled cost.
    scenario = contact_case(0.3, 8.0, uniform(10000, 30000))
    result = breakeven(scenario, "responses.avoidable_contacts", draws=400, seed=3)
    from cxsim.uncertainty.sampling import draw_inputs

    mean_cost = draw_inputs(scenario, 3, 0, 400)["work_groups.support.cost.monthly"].mean()
    exact = mean_cost * ANNUITY_COST / (10000 * 0.5 * 8.0 * ANNUITY_SAVING)
    assert result.value == pytest.approx(exact, rel=1e-6)


def test_no_breakeven_is_stated_clearly():
    scenario = contact_case(0.3, 8.0, 100)  # the programme costs almost nothing
    result = breakeven(scenario, "responses.avoidable_contacts", draws=1, bounds=(0.05, 1.0))
    assert result.value is None
    assert "no break-even" in result.message and "stays positive" in result.message


def test_tornado_and_breakeven_errors():
    with pytest.raises(cxsim.CxsimError, match="no uncertain inputs"):
        tornado(contact_case(0.3, 8.0, 40000))
    with pytest.raises(cxsim.CxsimError, match="unknown input"):
        breakeven(contact_case(0.3, 8.0, 40000), "responses.churn_reductoin")


def test_breakeven_trials_are_simulate_with_the_input_fixed():
    """Sampling once and setting the column equals a fresh run with the input fixed, even
    for an input in a correlation (fixing it removes it from the copula either way)."""
    from tests.conftest import FLAGSHIP

    scenario = cxsim.load_scenario(FLAGSHIP)
    param = "responses.churn_reduction"
    assert any(param in c.between for c in scenario.correlations)
    result = breakeven(scenario, param, draws=60, seed=4, grid=3)
    for value, expected in result.curve.head(3).itertuples(index=False):
        if expected == 0.0:
            continue  # the break-even point itself
        fixed = cxsim.simulate(scenario, draws=60, seed=4, fixed={param: value}, progress=False)
        assert expected == float(fixed.outcomes["npv"].mean())


def test_an_executor_gives_the_serial_tornado_and_breakeven():
    from concurrent.futures import ThreadPoolExecutor

    from cxsim.montecarlo import tasks

    scenario = contact_case(0.3, 8.0, uniform(10000, 30000))
    serial = tornado(scenario)
    found = breakeven(scenario, "responses.avoidable_contacts", draws=300, seed=3)
    with ThreadPoolExecutor(2) as pool, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "SLICE_ROWS", 128)  # several tasks per grid
        assert tornado(scenario, executor=pool).equals(serial)
        again = breakeven(
            scenario, "responses.avoidable_contacts", draws=300, seed=3, executor=pool
        )
    assert again.value == found.value and again.curve.equals(found.curve)


def test_a_swing_moves_fixed_inputs_too_with_closed_forms():
    """With no uncertain input at all, ±10% on every input; NPV is linear in these three."""
    scenario = contact_case(0.3, 8.0, 40000)
    table = tornado(scenario, swing=0.1).set_index("input")
    row = table.loc["responses.avoidable_contacts"]
    assert (row["low"], row["high"]) == pytest.approx((0.27, 0.33))
    assert row["npv_low"] == pytest.approx(npv(0.27, 8.0, 40000), rel=1e-9)
    assert row["npv_high"] == pytest.approx(npv(0.33, 8.0, 40000), rel=1e-9)
    cost = table.loc["work_groups.support.cost.monthly"]
    assert cost["npv_low"] == pytest.approx(npv(0.3, 8.0, 36000), rel=1e-9)  # at the low value
    assert cost["npv_high"] == pytest.approx(npv(0.3, 8.0, 44000), rel=1e-9)
    assert cost["label"] == "running cost per month (support)" and cost["unit"] == "money"
    assert table["base"].iloc[0] == pytest.approx(npv(0.3, 8.0, 40000), rel=1e-9)
    # Inputs at zero (e.g. the churn reduction here) cannot move by a share of themselves.
    assert "responses.churn_reduction" not in table.index


def test_a_swing_stays_in_the_allowed_range_and_says_so():
    scenario = contact_case(0.95, 8.0, 40000)
    table = tornado(scenario, swing=0.1, inputs=["responses.avoidable_contacts"])
    assert list(table["input"]) == ["responses.avoidable_contacts"]
    assert table["high"].iloc[0] == 1.0
    assert "responses.avoidable_contacts" in table.attrs["notes"][0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"swing": 0}, "swing must be a share between 0 and 1"),
        ({"swing": 1.5}, "swing must be a share between 0 and 1"),
        ({"swing": 0.1, "inputs": ["responses.avoidable"]}, "unknown input"),
        ({}, "swing every input"),
    ],
)
def test_tornado_argument_errors(kwargs, message):
    with pytest.raises(cxsim.CxsimError, match=message):
        tornado(contact_case(0.3, 8.0, 40000), **kwargs)
