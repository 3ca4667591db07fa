"""The causal chain: baseline identity, invariants, delays, sequence gating, execution."""

import numpy as np
import pytest

import cxsim
from cxsim.model.engine import SEGMENT_METRICS
from cxsim.model.leading import ramp
from tests.conftest import FLAGSHIP


def test_no_work_groups_means_programme_equals_baseline(minimal):
    del minimal["work_groups"]
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=3)
    for name in SEGMENT_METRICS:
        values = result.segment_values(name)
        assert np.array_equal(values[0], values[1]), name
    assert result.outcomes["npv"].iloc[0] == 0.0
    assert np.all(result.incremental_cash_flow == 0.0)


def test_zero_responses_means_npv_is_minus_cost(minimal):
    for key in (
        "churn_reduction",
        "wallet_gain",
        "promoter_gain",
        "detractor_reduction",
        "avoidable_contacts",
    ):
        minimal["responses"][key] = 0.0
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=3)
    outcome = result.outcomes.iloc[0]
    assert outcome["pv_benefit"] == 0.0
    assert outcome["npv"] == pytest.approx(-outcome["pv_cost"])


def test_invariants_on_flagship():
    result = cxsim.simulate(FLAGSHIP, seed=1)
    for name in SEGMENT_METRICS:
        assert np.all(np.isfinite(result.segment_values(name))), name
    assert np.all(result.metrics["customers"] >= 0)
    for name in ("churn", "retention_12m", "share_of_wallet", "promoters", "detractors"):
        values = result.segment_values(name)
        assert np.all((values >= 0) & (values <= 1)), name
    assert np.all(
        result.segment_values("promoters") + result.segment_values("detractors") <= 1 + 1e-12
    )
    assert np.all((result.leading_values >= 0) & (result.leading_values <= 1))


def test_more_gap_closure_never_raises_churn(minimal):
    low = cxsim.load_scenario(minimal).with_overrides({"work_groups.support.plan.target": 0.3})
    high = cxsim.load_scenario(minimal).with_overrides({"work_groups.support.plan.target": 0.9})
    churn_low = cxsim.simulate(low, seed=1).metrics["churn"][0]
    churn_high = cxsim.simulate(high, seed=1).metrics["churn"][0]
    assert np.all(churn_high <= churn_low + 1e-15)
    assert np.any(churn_high < churn_low)


def test_step_in_gap_closure_gives_documented_delayed_response(minimal):
    """A step to full closure at month 3, δ = 2, τ = 4: X = 1 − (1−λ)^(t−4) from month 5."""
    minimal["work_groups"]["support"]["pain_share"] = {"core": 1.0}
    minimal["work_groups"]["support"]["plan"] = {"start_month": 3, "ramp_months": 0, "target": 1.0}
    minimal["responses"]["perception_delay_months"] = 2
    minimal["responses"]["perception_lag_months"] = 4
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=0)
    closure = result.closure[0, 0]
    x = result.perceived[0, 0]
    assert np.all(closure[:3] == 0) and np.all(closure[3:] == 1)
    lam = 1 - np.exp(-1 / 4)
    t = np.arange(24)
    expected = np.where(t >= 5, 1 - (1 - lam) ** (t - 4), 0.0)
    assert np.allclose(x, expected, atol=1e-12)
    # Churn moves only once customers perceive the change.
    churn = result.metrics["churn"][:, 0, 0]
    assert np.array_equal(churn[0, :5], churn[1, :5])
    assert np.all(churn[0, 5:] < churn[1, 5:])


def test_fractional_delay_interpolates(minimal):
    minimal["work_groups"]["support"]["plan"] = {"start_month": 3, "ramp_months": 0, "target": 1.0}
    minimal["responses"]["perception_delay_months"] = 1.5
    minimal["responses"]["perception_lag_months"] = 0
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=0)
    g = 0.5  # pain share of support in core
    assert np.allclose(result.perceived[0, 0, 3:7], [0, 0.5 * g, g, g])


def test_sequence_gating_holds_on_flagship():
    result = cxsim.simulate(FLAGSHIP, seed=1)
    scenario = result.scenario
    groups = result.work_groups
    for g, name in enumerate(groups):
        target = scenario.work_groups[name].plan.target
        for prereq in scenario.work_groups[name].requires:
            p = groups.index(prereq)
            p_target = scenario.work_groups[prereq].plan.target
            own = result.leading_values[0, g] / target
            assert np.all(own <= result.leading_values[0, p] / p_target + 1e-12), (name, prereq)


def test_gating_holds_back_a_group_that_starts_early(minimal):
    minimal["work_groups"]["support"]["plan"] = {"start_month": 0, "ramp_months": 4, "target": 0.8}
    minimal["work_groups"]["support"]["requires"] = ["it"]
    minimal["work_groups"]["support"]["pain_share"] = {"core": 0.5}
    minimal["work_groups"]["it"] = {
        "pain_share": {"core": 0.1},
        "plan": {"start_month": 6, "ramp_months": 4, "target": 0.5},
    }
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=0)
    support = result.leading_values[0, 0]
    assert np.all(support[:7] == 0)  # waits for IT to start moving
    # then tracks IT's plan fraction, reaching its own target once IT is done
    assert np.allclose(support[6:11], 0.8 * np.array([0, 0.25, 0.5, 0.75, 1.0]))


def test_execution_capacity_scales_progress(minimal):
    full = cxsim.simulate(cxsim.load_scenario(minimal), seed=0).leading_values
    minimal["work_groups"]["support"]["execution"] = 0.5
    half = cxsim.simulate(cxsim.load_scenario(minimal), seed=0).leading_values
    assert np.allclose(half, 0.5 * full)


def test_ramp_curves():
    months = np.arange(0, 14)
    linear = ramp(months, np.array([2.0]), np.array([10.0]), "linear")[0]
    s_curve = ramp(months, np.array([2.0]), np.array([10.0]), "s_curve")[0]
    assert linear[2] == 0 and linear[12] == 1 and linear[7] == pytest.approx(0.5)
    assert s_curve[2] == 0 and s_curve[12] == 1 and s_curve[7] == pytest.approx(0.5)
    assert s_curve[3] < linear[3] and s_curve[11] > linear[11]  # slow start, slow finish
    assert np.all(np.diff(s_curve) >= 0)


def test_one_time_cost_spread_over_ramp(minimal):
    minimal["work_groups"]["support"]["plan"] = {"start_month": 2, "ramp_months": 4, "target": 1}
    minimal["work_groups"]["support"]["cost"] = {"one_time": 40000, "monthly": 1000}
    result = cxsim.simulate(cxsim.load_scenario(minimal), seed=0)
    cost = result.programme_cost[0]
    assert np.allclose(cost[:2], 0)
    assert np.allclose(cost[2:6], 11000)
    assert np.allclose(cost[6:], 1000)
    assert cost.sum() == pytest.approx(40000 + 1000 * 22)


def test_branch_dependent_segment_is_flagged():
    result = cxsim.simulate(FLAGSHIP, seed=1)
    economics = result.segment_economics()
    assert economics.loc["branch_dependent", "costs_more_than_it_earns"]
    assert economics.loc["branch_dependent", "clv"] < 0
    assert not economics.loc["mass_affluent", "costs_more_than_it_earns"]


def test_draws_broadcast_and_equal_without_uncertainty(minimal):
    result = cxsim.simulate(cxsim.load_scenario(minimal), draws=5, seed=1)
    assert result.metrics["customers"].shape[:2] == (2, 5)
    npv = result.outcomes["npv"].to_numpy()
    assert np.all(npv == npv[0])


def test_the_tidy_frame_holds_each_metric_array_in_its_rows():
    """Every (metric, segment, arm, draw, month) row carries that element of metric()."""
    result = cxsim.simulate(FLAGSHIP, seed=3, draws=7, keep="all")
    frame = result.frame
    assert len(frame) == sum(
        2 * 7 * result.horizon * len(result.labels_for(m)) for m in result.metric_names
    )
    rng = np.random.default_rng(0)
    for row in frame.iloc[rng.integers(0, len(frame), 200)].itertuples():
        arm = ("programme", "baseline").index(row.arm)
        expected = result.metric(row.metric, row.segment)[arm, row.draw, row.month]
        assert row.value == expected
    one = result.frame_of("nps", ["all"])
    np.testing.assert_array_equal(
        one["value"].to_numpy().reshape(2, 7, result.horizon), result.metric("nps", "all")
    )
    with pytest.raises(cxsim.CxsimError, match="unknown metric 'npss'"):
        result.frame_of("npss")


def test_result_tables_have_the_promised_columns():
    result = cxsim.simulate(FLAGSHIP, seed=1)
    assert list(result.frame.columns) == ["draw", "month", "segment", "arm", "metric", "value"]
    metrics = set(result.frame["metric"])
    for name in (
        "customers",
        "churn",
        "retention_12m",
        "share_of_wallet",
        "promoters",
        "detractors",
        "nps",
        "referrals",
        "contacts_per_customer",
        "revenue",
        "profit",
        "clv",
    ):
        assert name in metrics
    assert set(result.frame["arm"]) == {"programme", "baseline"}
    assert "all" in set(result.frame["segment"])
    assert list(result.leading.columns) == ["draw", "month", "work_group", "value"]
    assert list(result.cash_flow.columns) == [
        "draw",
        "month",
        "programme_cost",
        "incremental_profit",
        "incremental_cash_flow",
    ]
    assert not result.frame["value"].isna().any()
    html = result._repr_html_()
    assert "NPV" in html and "<table" in html


def test_all_segment_totals_are_sums_and_weighted_means():
    result = cxsim.simulate(FLAGSHIP, seed=1)
    customers = result.metrics["customers"]
    assert np.allclose(result.metric("customers"), customers.sum(axis=2))
    churn = (result.metrics["churn"] * customers).sum(axis=2) / customers.sum(axis=2)
    assert np.allclose(result.metric("churn"), churn)
    nps = 100 * (result.metric("promoters") - result.metric("detractors"))
    assert np.allclose(result.metric("nps"), nps)
