"""Incremental profit by lever (docs/model.md §5): exact sums, levers alone, closed forms, and
agreement with the Shapley waterfall, which is computed independently from 2^5 coalitions."""

from __future__ import annotations

import numpy as np
import pytest

import cxsim
from cxsim.model.finance import present_value
from cxsim.model.responses import LEVERS
from tests.conftest import SCENARIOS, one_segment

SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))


def _incremental(result) -> np.ndarray:
    profit = result.metrics["profit"]
    return (profit[0] - profit[1]).sum(axis=1)  # (draw, month)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_levers_add_up_to_the_incremental_profit(name):
    result = cxsim.simulate(cxsim.load_scenario(SCENARIOS / name), draws=40, seed=2, keep="all")
    total = _incremental(result)
    scale = np.abs(total).max()
    np.testing.assert_allclose(result.lever_profit.sum(axis=1), total, rtol=0, atol=1e-12 * scale)
    yearly = sum(result.yearly(f"benefit_{lever}") for lever in LEVERS)
    np.testing.assert_allclose(yearly, result.yearly("incremental_profit"), atol=1e-11 * scale)


@pytest.mark.parametrize("lever", LEVERS)
def test_a_lever_alone_gets_all_of_the_increment(lever):
    scenario = cxsim.load_scenario(SCENARIOS / "sequence_all_at_once.yaml")  # branding too
    result = cxsim.simulate(scenario, draws=20, seed=4, levers=(lever,), keep="all")
    total = _incremental(result)
    k = LEVERS.index(lever)
    others = np.delete(result.lever_profit, k, axis=1)
    scale = max(np.abs(total).max(), 1.0)
    assert np.abs(others).max() <= 1e-11 * scale
    np.testing.assert_allclose(result.lever_profit[:, k], total, atol=1e-11 * scale)


def test_share_of_wallet_alone_has_a_closed_form():
    """No customer moves, so the line is N(t)·ARPU·Δw/w0·margin with the baseline's N(t)."""
    data = one_segment(
        customers=10_000,
        new_customers_per_month=0,
        monthly_churn=0.02,
        referral_rate=0.0,
        arpu=50.0,
        share_of_wallet=0.4,
        gross_margin=0.3,
    )
    data["horizon_months"] = 24
    data["responses"].update(wallet_gain=0.1, perception_delay_months=0, perception_lag_months=0)
    data["work_groups"] = {
        "support": {
            "pain_share": {"core": 1.0},
            "plan": {"start_month": 0, "ramp_months": 0, "target": 1.0},
            "cost": {"one_time": 0, "monthly": 1000},
        }
    }
    result = cxsim.simulate(cxsim.load_scenario(data), levers=("share_of_wallet",), keep="all")
    customers = 10_000 * 0.98 ** np.arange(24)
    expected = customers * 50.0 * (0.1 / 0.4) * 0.3
    np.testing.assert_allclose(result.lever_profit[0, 1], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "tolerance"), [("retail_bank.yaml", 0.005), ("sequence_all_at_once.yaml", 0.03)]
)
def test_the_lines_agree_with_the_shapley_waterfall(name, tolerance):
    """Both split the same expected PV of incremental profit; they differ only in how the
    interactions between the customer-number levers are shared (measured: within 0.2% of
    each lever on the flagship, 2% where branding's promise penalty meets retention)."""
    scenario = cxsim.load_scenario(SCENARIOS / name)
    result = cxsim.simulate(scenario, draws=200, seed=0, keep="all")
    lines = np.array(
        [present_value(result.lever_profit[:, k], result.v).mean() for k in range(len(LEVERS))]
    )
    waterfall = cxsim.waterfall_by_lever(scenario, draws=200, seed=0)
    shapley = waterfall["value"].to_numpy()[: len(LEVERS)]
    assert lines.sum() == pytest.approx(shapley.sum(), rel=1e-9)  # the same whole
    np.testing.assert_allclose(lines, shapley, atol=tolerance * np.abs(shapley).max())
