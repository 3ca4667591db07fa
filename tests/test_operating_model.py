"""The operating model: each mechanism in isolation, against its documented equation."""

import numpy as np
import pytest

import cxsim
from cxsim.model.operating_model import assessment_levels, delivery_factor
from cxsim.scenario.schema import ASSESSMENT_DIMENSIONS
from tests.conftest import SCENARIOS


def run(data, **options):
    return cxsim.simulate(cxsim.load_scenario(data), seed=0, **options)


def test_empty_operating_model_blocks_change_nothing(minimal):
    plain = run(minimal)
    minimal.update(
        operating_model={"promise_penalty": 2.0}, journeys={}, synergies=[], capabilities={}
    )
    same = run(minimal)
    for name in plain.metrics:
        assert np.array_equal(plain.metrics[name], same.metrics[name]), name
    assert np.array_equal(plain.programme_cost, same.programme_cost)


def test_promise_gap_raises_churn_only_while_branding_leads(minimal):
    # One churn class: churn is θ·(1 − c·X)·(1 + k·max(0, P − X)) exactly.
    minimal["work_groups"]["support"]["pain_share"] = {"core": 1.0}
    minimal["work_groups"]["support"]["plan"] = {"start_month": 0, "ramp_months": 12, "target": 1.0}
    minimal["capabilities"] = {
        "branding": {
            "level": 0.2,
            "cost": {"one_time": 10000},
            "plan": {"start_month": 0, "ramp_months": 4, "target": 0.6},
        }
    }
    minimal["operating_model"] = {"promise_penalty": 1.5, "acquisition_uplift": 0.0}
    result = run(minimal)
    x = result.perceived[0, 0]
    promise = np.clip(np.arange(24) / 4, 0, 1) * 0.4
    gap = np.maximum(promise - x, 0)
    churn = result.metric("churn", "core")
    expected = 0.02 * (1 - 0.3 * x) * (1 + 1.5 * gap)
    assert np.allclose(churn[0, 0], expected, rtol=1e-12)
    assert np.allclose(churn[1, 0], 0.02)
    ahead = gap > 0
    assert ahead[1:6].all() and not ahead[-6:].any()  # leads early, caught up later
    assert np.all(churn[0, 0][ahead] > (0.02 * (1 - 0.3 * x))[ahead])
    assert np.allclose(churn[0, 0][~ahead], (0.02 * (1 - 0.3 * x))[~ahead], rtol=1e-12)


def test_branding_lifts_paid_acquisition(minimal):
    minimal["capabilities"] = {
        "branding": {"level": 0.1, "plan": {"start_month": 0, "ramp_months": 10, "target": 0.6}}
    }
    minimal["operating_model"] = {"acquisition_uplift": 0.4}
    result = run(minimal)
    promise = np.clip(np.arange(24) / 10, 0, 1) * 0.5
    new = result.metric("new_customers", "core")
    referrals = result.metric("referrals", "core")
    assert np.allclose(new[0, 0] - referrals[0, 0], 100 * (1 + 0.4 * promise))
    assert np.allclose(new[1, 0] - referrals[1, 0], 100)


def test_journey_closes_no_further_than_its_slowest_group(minimal):
    minimal["work_groups"]["support"]["pain_share"] = {"core": 0.0}
    minimal["work_groups"]["billing"] = {
        "pain_share": {"core": 0.0},
        "plan": {"start_month": 3, "ramp_months": 6, "target": 0.3},
    }
    minimal["journeys"] = {
        "complaint": {"groups": ["support", "billing"], "pain_share": {"core": 0.4}}
    }
    result = run(minimal)
    support, billing = result.leading_values[0]
    assert np.allclose(result.closure[0, 0], 0.4 * np.minimum(support, billing))
    assert np.all(result.closure[0, 0] <= 0.4 * billing + 1e-15)


def test_synergy_adds_closure_when_groups_move_together(minimal):
    minimal["work_groups"]["billing"] = {
        "pain_share": {"core": 0.2},
        "plan": {"start_month": 2, "ramp_months": 6, "target": 0.8},
    }
    plain = run(minimal)
    minimal["synergies"] = [{"groups": ["support", "billing"], "bonus": 0.25}]
    boosted = run(minimal)
    support, billing = plain.leading_values[0]
    bonus = 0.25 * (0.5 + 0.2) * np.minimum(support, billing)
    assert np.allclose(boosted.closure[0, 0], plain.closure[0, 0] + bonus)


def test_execution_capacity_scales_progress(minimal):
    plain = run(minimal)
    minimal["capabilities"] = {
        "customer_centricity": {"level": 0.64},
        "internal_branding": {"level": 0.25},
    }
    minimal["operating_model"] = {"execution_floor": 0.4}
    scaled = run(minimal)
    capacity = 0.4 + 0.6 * np.sqrt(0.64 * 0.25)  # floor + (1 − floor)·geometric mean
    assert np.allclose(scaled.leading_values, capacity * plain.leading_values)
    assert np.allclose(scaled.mechanisms["execution_capacity"], capacity)


def test_targeting_quality_scales_gap_closure(minimal):
    plain = run(minimal)
    minimal["capabilities"] = {
        "customer_voice": {"level": 0.5},
        "customer_intelligence": {"level": 0.2},
    }
    minimal["operating_model"] = {"targeting_floor": 0.5}
    targeted = run(minimal)
    quality = 0.5 + 0.5 * np.sqrt(0.5 * 0.2)
    assert np.allclose(targeted.closure, quality * plain.closure)
    assert np.array_equal(targeted.leading_values, plain.leading_values)


def test_capability_plans_cost_and_can_be_left_out(minimal):
    minimal["capabilities"] = {
        "customer_voice": {
            "level": 0.2,
            "plan": {"start_month": 0, "ramp_months": 10, "target": 0.8},
            "cost": {"one_time": 50000, "monthly": 1000},
        }
    }
    full = run(minimal)
    assert full.capability_cost.sum() == pytest.approx(50000 + 24 * 1000)
    assert np.allclose(full.maturity[0, 0, 10:], 0.8)
    only_groups = run(minimal, groups_on=["support"])
    assert only_groups.capability_cost.sum() == 0
    assert np.allclose(only_groups.maturity[0, 0], 0.2)  # stays at today's level


def test_assessment_mapping_is_the_documented_one():
    scores = dict.fromkeys(ASSESSMENT_DIMENSIONS, 1)
    scores.update(data_feedback_insights=5, technology=3, leadership=5, governance=5)
    levels = assessment_levels(scores)
    assert levels["customer_voice"] == pytest.approx((1.0 + 0.5) / 2)
    assert levels["customer_intelligence"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert levels["customer_centricity"] == pytest.approx(1.0 / 4)
    assert levels["branding"] == 0.0
    assert delivery_factor(scores) == pytest.approx(0.5 + 0.5 * (1.0 / 3))


def test_assessment_sets_levels_unless_the_scenario_does(minimal):
    minimal["maturity_assessment"] = dict.fromkeys(ASSESSMENT_DIMENSIONS, 3)
    minimal["capabilities"] = {"branding": {"level": 0.9}}
    result = run(minimal)
    assert result.capabilities == [
        "customer_voice",
        "customer_intelligence",
        "improvement",
        "customer_centricity",
        "internal_branding",
        "branding",
    ]
    assert np.allclose(result.maturity[0, :5], 0.5)
    assert np.allclose(result.maturity[0, 5], 0.9)


def test_sequences_show_the_mechanisms():
    names = ("branding_first", "voice_first", "all_at_once")
    runs = {n: cxsim.simulate(SCENARIOS / f"sequence_{n}.yaml", draws=100, seed=0) for n in names}
    gap = {n: r.promise_gap()[:, :24].mean() for n, r in runs.items()}
    quality = {n: r.mechanisms["targeting_quality"][:, :12].mean() for n, r in runs.items()}
    npv = {n: r.outcomes["npv"].mean() for n, r in runs.items()}
    assert gap["voice_first"] == 0.0 < gap["all_at_once"] < gap["branding_first"]
    assert quality["branding_first"] < quality["voice_first"] == quality["all_at_once"]
    assert npv["branding_first"] < min(npv["voice_first"], npv["all_at_once"])
    spend = {n: r.programme_cost.sum(axis=1).mean() for n, r in runs.items()}
    assert spend["branding_first"] == pytest.approx(spend["voice_first"])  # the same budget


def test_cli_assess(tmp_path, capsys):
    from cxsim.cli import main

    png = tmp_path / "radar.png"
    assert main(["assess", str(SCENARIOS / "sequence_voice_first.yaml"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "customer voice" in out and "0.25" in out and "execution × 0.83" in out
    assert png.stat().st_size > 0
    assert main(["assess", str(SCENARIOS / "retail_bank.yaml")]) == 1
    assert "no maturity_assessment" in capsys.readouterr().err
