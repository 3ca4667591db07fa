"""Waterfalls: Shapley shares sum exactly to the NPV; the Shapley routine is right."""

import pytest

import cxsim
from cxsim.analysis.attribution import (
    coalition_game,
    expected_npv,
    shapley,
    waterfall_by_group,
    waterfall_by_lever,
)
from cxsim.analysis.evaluate import Evaluator, Variant
from tests.conftest import TEST_SCENARIOS


def test_shapley_of_a_known_game():
    # v(S) = (Σ weights)² : Shapley share of i is w_i·Σw (symmetric split of interactions).
    weights = {"a": 1.0, "b": 2.0, "c": 3.0}
    value = lambda s: sum(weights[p] for p in s) ** 2  # noqa: E731
    phi = shapley(list(weights), value)
    for p, w in weights.items():
        assert phi[p] == pytest.approx(w * 6.0)
    sampled = shapley(list(weights), value, exact_limit=0, permutations=200, seed=1)
    assert sum(sampled.values()) == pytest.approx(36.0)


@pytest.fixture(scope="module")
def scenario():
    base = cxsim.load_scenario(TEST_SCENARIOS / "minimal.yaml")
    data = base.to_dict()
    data["work_groups"]["billing"] = {
        "pain_share": {"core": 0.3},
        "plan": {"start_month": 2, "ramp_months": 6, "target": 0.7},
        "cost": {"one_time": 30000, "monthly": 2000},
        "requires": ["support"],
    }
    data["responses"]["churn_reduction"] = {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.4}
    return cxsim.load_scenario(data)


def test_lever_waterfall_sums_to_npv(scenario):
    table = waterfall_by_lever(scenario, draws=50, seed=1)
    expected = cxsim.simulate(scenario, draws=50, seed=1).outcomes["npv"].mean()
    assert table["value"].iloc[-1] == pytest.approx(expected, rel=1e-12)
    assert table["value"].iloc[:-1].sum() == pytest.approx(expected, rel=1e-9)
    assert list(table["component"]) == [
        "Retention",
        "Share of wallet",
        "Referrals",
        "Cost to serve",
        "Acquisition (branding)",
        "Programme cost",
        "NPV",
    ]
    assert all(table["value"].iloc[:4] > 0)
    assert table["value"].iloc[4] == 0.0  # no branding capability, so no acquisition lift


def test_group_waterfall_sums_to_npv_exact_and_sampled(scenario):
    expected = cxsim.simulate(scenario, draws=40, seed=2).outcomes["npv"].mean()
    exact = waterfall_by_group(scenario, draws=40, seed=2)
    assert exact["value"].iloc[:-1].sum() == pytest.approx(expected, rel=1e-9)
    sampled = waterfall_by_group(scenario, draws=40, seed=2, exact_limit=0, permutations=5)
    assert sampled["value"].iloc[:-1].sum() == pytest.approx(expected, rel=1e-9)


def test_every_coalition_runs_in_one_evaluator_call(scenario):
    """The coalitions Shapley needs and the caller's extra ones, deduplicated, in one batch;
    the empty coalition is the no-programme world and is not run."""
    evaluator = Evaluator(scenario, 20, 1)
    calls: list[int] = []
    evaluate = evaluator.evaluate

    def counting(variants, executor=None):
        calls.append(len(variants))
        return evaluate(variants, executor)

    evaluator.evaluate = counting  # type: ignore[method-assign]
    groups = list(scenario.work_groups)
    phi, evaluations = coalition_game(
        evaluator,
        groups,
        lambda c: Variant(groups_on=tuple(g in c for g in groups)),
        exact_limit=0,
        permutations=1,
        extra=[frozenset({"billing"}), frozenset({"support"})],
    )
    assert calls == [3]  # one ordering's two coalitions, plus the singleton it lacks
    assert not evaluations[frozenset()].npv.any()
    assert sum(phi.values()) == pytest.approx(expected_npv(evaluations[frozenset(groups)]))
