"""Acquisition shifts: paid acquisitions moved between segments in the programme arm."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import cxsim
from cxsim.errors import ScenarioError
from cxsim.model.finance import discount_factors, monthly_discount
from tests.conftest import SCENARIOS, minimal_mapping

A = 100.0  # paid acquisitions a month of segment "core" in minimal.yaml


def two_segments(work_groups: bool = True, **other) -> dict:
    """minimal.yaml with a second segment "growth", a copy of "core" changed by ``other``."""
    data = minimal_mapping()
    data["segments"]["growth"] = {**copy.deepcopy(data["segments"]["core"]), **other}
    if work_groups:
        data["work_groups"]["support"]["pain_share"]["growth"] = 0.5
    else:
        data.pop("work_groups")
    return data


def with_shift(data: dict, **shift) -> dict:
    data = copy.deepcopy(data)
    data["acquisition_shifts"] = [{"from": "core", "to": "growth", **shift}]
    return data


def run(data: dict, draws: int = 1, **options):
    return cxsim.simulate(data, draws=draws, seed=7, progress=False, **options)


# ---------------------------------------------------------------- limits and closed forms


def test_a_share_of_zero_changes_nothing_bit_for_bit():
    data = two_segments()
    data["responses"]["churn_reduction"] = {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.4}
    base = run(data, draws=50)
    zero = run(with_shift(data, share=0.0, start_month=2, ramp_months=3), draws=50)
    for name, values in base.metrics.items():
        assert np.array_equal(values, zero.metrics[name]), name
    assert np.array_equal(base.programme_cost, zero.programme_cost)
    assert np.array_equal(base.npv, zero.npv)


def test_moving_everything_between_equal_segments_leaves_the_npv():
    data = two_segments()
    base = run(data)
    moved = run(with_shift(data, share=1.0))
    assert moved.npv[0] == pytest.approx(base.npv[0], rel=1e-10)
    customers = moved.metrics["customers"]  # (arm, draw, segment, month)
    assert customers[0, 0, 0, -1] < customers[1, 0, 0, -1]  # core loses its paid inflow
    assert np.allclose(customers[0].sum(axis=1), base.metrics["customers"][0].sum(axis=1))


def test_moved_customers_leave_from_and_join_to_in_the_programme_arm_only():
    # Without work groups nothing else differs between the arms; with constant churn θ the
    # customers moved by month t are q·A·(1 − (1−θ)^t)/θ, and as many leave "core" (without
    # referrals, which would grow with them).
    data = two_segments(work_groups=False, referral_rate=0.0)
    data["segments"]["core"]["referral_rate"] = 0.0
    q, theta = 0.4, 0.02
    result = run(with_shift(data, share=q))
    customers = result.metrics["customers"][:, 0]  # (arm, segment, month)
    t = np.arange(result.horizon)
    moved = q * A * (1.0 - (1.0 - theta) ** t) / theta
    assert np.allclose(customers[0, 1] - customers[1, 1], moved, rtol=1e-12, atol=1e-9)
    assert np.allclose(customers[1, 0] - customers[0, 0], moved, rtol=1e-12, atol=1e-9)
    baseline = run(data).metrics["customers"][1, 0]
    assert np.array_equal(customers[1], baseline)  # the baseline is untouched


def test_the_cac_difference_is_the_incremental_profit():
    # Equal segments but for CAC: each moved customer earns the same and costs ΔCAC more.
    data = two_segments(work_groups=False, cac=250.0)
    q, start, ramp = 0.5, 3.0, 4.0
    result = run(with_shift(data, share=q, start_month=start, ramp_months=ramp))
    t = np.arange(result.horizon)
    share = q * np.clip((t - start) / ramp, 0.0, 1.0)
    expected = -share * A * (250.0 - 150.0)
    assert np.allclose(result.incremental_profit[0], expected, rtol=1e-12, atol=1e-6)
    v = monthly_discount(np.array([0.08]))
    npv = (expected * discount_factors(v, result.horizon)[0]).sum()
    assert result.npv[0] == pytest.approx(npv, rel=1e-12)


def test_the_shift_cost_is_its_own_line_and_adds_up():
    data = with_shift(
        two_segments(),
        share=0.3,
        start_month=2,
        ramp_months=4,
        cost={"one_time": 8000.0, "monthly": 500.0},
    )
    result = run(data)
    line = result.item_cost("core->growth")[0]
    expected = np.zeros(result.horizon)
    expected[2:6] += 8000.0 / 4  # one-time spread over the ramp
    expected[2:] += 500.0  # monthly from the start
    assert np.allclose(line, expected)
    assert np.allclose(result.item_cost("core->growth", "running")[0][2:], 500.0)
    groups = result.group_cost.sum(axis=1)
    assert np.allclose(result.programme_cost, groups + result.shift_cost.sum(axis=1))
    assert result.npv_parts[2][0] == pytest.approx(
        (result.programme_cost[0] * discount_factors(result.v, result.horizon)[0]).sum()
    )


def test_the_levers_still_add_up_to_the_incremental_profit():
    data = with_shift(two_segments(arpu=80.0, cac=300.0), share=0.5, ramp_months=6)
    result = run(data, draws=20)
    assert np.allclose(
        result.lever_profit.sum(axis=1), result.incremental_profit, rtol=1e-9, atol=1e-6
    )
    assert np.abs(result.lever_line("benefit_acquisition")).sum() > 0


def test_draws_do_not_depend_on_the_chunking():
    data = with_shift(
        two_segments(), share={"dist": "uniform", "min": 0.2, "max": 0.8}, ramp_months=3
    )
    whole = run(data, draws=40)
    chunked = run(data, draws=40, chunk_size=7)
    assert np.array_equal(whole.npv, chunked.npv)
    assert np.array_equal(whole.shift_cost, chunked.shift_cost)


def test_the_ranking_names_false_ideal_customers():
    result = cxsim.simulate(SCENARIOS / "retail_bank.yaml", draws=20, progress=False)
    ranking = result.segment_ranking()
    assert list(ranking["rank"]) == [1, 2, 3, 4]
    assert ranking["clv"].is_monotonic_decreasing
    assert list(ranking.index[ranking["false_ideal_customer"]]) == ["branch_dependent"]
    assert np.allclose(ranking["value_after_cac"], ranking["clv"] - ranking["cac"])


# ---------------------------------------------------------------- located errors


@pytest.mark.parametrize(
    "shift, path, words",
    [
        ({"to": "core", "share": 0.5}, "acquisition_shifts.0.to", "to itself"),
        ({"share": 1.5}, "acquisition_shifts.0.share", "allowed [0, 1]"),
        ({"share": -0.1}, "acquisition_shifts.0.share", "allowed [0, 1]"),
        ({"share": 0.2, "cost": {"one_time": -5}}, "acquisition_shifts.0.cost.one_time", "got -5"),
        ({"to": "grwth", "share": 0.2}, "acquisition_shifts.0.to", "did you mean 'growth'"),
        (
            {"share": 0.2, "start_month": 30},
            "acquisition_shifts.0.start_month",
            "after the horizon",
        ),
        ({"share": 0.2, "form": "core"}, "acquisition_shifts.0.form", "did you mean 'from'"),
    ],
)
def test_bad_shifts_give_located_errors(shift, path, words):
    data = two_segments()
    data["acquisition_shifts"] = [{"from": "core", "to": "growth", **shift}]
    with pytest.raises(ScenarioError) as info:
        cxsim.load_scenario(data)
    message = str(info.value)
    assert path in message and words in message, message


def test_shifts_moving_more_than_everything_are_refused():
    data = two_segments()
    data["acquisition_shifts"] = [
        {"from": "core", "to": "growth", "share": 0.7},
        {"from": "core", "to": "growth", "share": {"dist": "uniform", "min": 0.1, "max": 0.4}},
    ]
    with pytest.raises(ScenarioError, match=r"acquisition_shifts\.1\.share: .*more than all"):
        cxsim.load_scenario(data)


# ---------------------------------------------------------------- the optimiser


def test_the_optimiser_takes_a_good_shift_and_leaves_a_bad_one():
    data = minimal_mapping()
    core = data["segments"]["core"]
    data["segments"]["growth"] = {**core, "arpu": 120.0, "customers": 1000}  # earns far more
    data["segments"]["costly"] = {**core, "contacts_per_customer": 4.0, "customers": 1000}
    data["acquisition_shifts"] = [
        {"from": "core", "to": "growth", "share": 0.5, "cost": {"one_time": 10000}},
        {"from": "core", "to": "costly", "share": 0.4, "cost": {"one_time": 10000}},
    ]
    best = cxsim.optimize(data, 1e6, draws=8, targets=(1.0,), start_shifts=(0,))
    funded = dict(zip(best.plan_["item"], best.plan_["funded"], strict=True))
    assert funded["core->growth"] and not funded["core->costly"]
    assert [s.name for s in best.scenario_.acquisition_shifts] == ["core->growth"]


def test_the_shipped_core_growth_scenario_shifts_only_in_the_programme():
    # The flagship with one shift: on the same seed the inputs they share draw the same, the
    # baseline is the flagship's to the bit, and the shift out of the false ideal segment pays.
    path = SCENARIOS / "core_growth" / "retail_bank_core_growth.yaml"
    shifted = cxsim.simulate(path, draws=30, seed=11, progress=False)
    flagship = cxsim.simulate(SCENARIOS / "retail_bank.yaml", draws=30, seed=11, progress=False)
    assert np.array_equal(shifted.metrics["customers"][1], flagship.metrics["customers"][1])
    assert shifted.scenario.acquisition_shifts[0].source == "branch_dependent"
    assert (shifted.npv > flagship.npv).all()


def test_group_values_count_a_shift_as_an_item_and_still_add_up():
    data = with_shift(two_segments(arpu=90.0), share=0.5, cost={"one_time": 5000.0})
    values = cxsim.group_values(data, draws=8, seed=1)
    assert values.loc["core->growth", "kind"] == "acquisition_shift"
    assert values["shapley"].sum() == pytest.approx(values.attrs["npv"], rel=1e-9)
    assert values.loc["core->growth", "if_alone"] > 0
