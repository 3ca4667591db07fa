"""Group values: Shapley shares, loss if dropped and value alone, checked against simulate.

The small case is tests/scenarios/minimal.yaml with a chain of prerequisites (digital requires
billing, which requires support), a capability with a plan and one without. Every number is
checked against independent ``cxsim.simulate(..., groups_on=...)`` runs on the same seed, and
the Shapley shares against the textbook formula over all coalitions.
"""

from __future__ import annotations

import itertools
from math import factorial

import matplotlib.pyplot as plt
import numpy as np
import pytest

import cxsim
from cxsim.analysis.attribution import waterfall_by_group
from cxsim.analysis.group_values import WHY_THEY_DIFFER, group_values
from cxsim.outputs import plotting
from tests.conftest import minimal_mapping

DRAWS, SEED = 30, 4
GROUPS = ("support", "billing", "digital")


def chain(capabilities: bool = True) -> dict:
    data = minimal_mapping()
    data["work_groups"]["support"]["pain_share"] = {"core": 0.3}
    data["work_groups"]["billing"] = {
        "pain_share": {"core": 0.2},
        "plan": {"start_month": 2, "ramp_months": 6, "target": 0.7},
        "cost": {"one_time": 30000, "monthly": 2000},
        "requires": ["support"],
    }
    data["work_groups"]["digital"] = {
        "pain_share": {"core": 0.3},
        "plan": {"start_month": 3, "ramp_months": 9, "target": 0.6},
        "cost": {"one_time": {"dist": "triangular", "min": 2e4, "mode": 3e4, "max": 9e4}},
        "requires": ["billing"],
    }
    data["responses"]["churn_reduction"] = {"dist": "pert", "min": 0.1, "mode": 0.3, "max": 0.4}
    if capabilities:
        data["capabilities"] = {
            "customer_voice": {
                "level": 0.3,
                "plan": {"start_month": 0, "ramp_months": 6, "target": 0.9},
                "cost": {"one_time": 20000},
            },
            "branding": {"level": 0.4, "cost": {"monthly": 1000}},  # no plan: not an item
        }
    return data


def npv(scenario, on) -> np.ndarray:
    result = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, groups_on=list(on), progress=False)
    return result.outcomes["npv"].to_numpy()


@pytest.fixture(scope="module")
def scenario():
    return cxsim.load_scenario(chain())


@pytest.fixture(scope="module")
def values(scenario):
    return group_values(scenario, draws=DRAWS, seed=SEED)


def test_columns_items_and_kinds(values):
    assert list(values.columns) == [
        "kind",
        "shapley",
        "if_dropped",
        "if_dropped_se",
        "if_alone",
        "if_alone_se",
        "unblocks",
    ]
    assert values.index.name == "item"
    assert list(values.index) == [*GROUPS, "customer_voice"]  # branding has no plan
    assert list(values["kind"]) == ["work_group"] * 3 + ["capability"]
    assert values.attrs["notes"] == [WHY_THEY_DIFFER]
    assert "exact" in values.attrs["method"]


def test_unblocks_follows_requires_chains(values):
    assert values.loc["support", "unblocks"] == "billing, digital (via billing)"
    assert values.loc["billing", "unblocks"] == "digital"
    assert values.loc["digital", "unblocks"] == ""
    assert values.loc["customer_voice", "unblocks"] == ""


def test_if_dropped_and_if_alone_equal_independent_simulate_runs(scenario, values):
    items = list(values.index)
    full = npv(scenario, items)
    # Leaving an item out leaves out what requires it (it could not progress).
    dropped = {
        "support": ["customer_voice"],
        "billing": ["support", "customer_voice"],
        "digital": ["support", "billing", "customer_voice"],
        "customer_voice": list(GROUPS),
    }
    for item in items:
        without = npv(scenario, dropped[item])
        diff = full - without
        assert values.loc[item, "if_dropped"] == pytest.approx(diff.mean(), rel=1e-9, abs=1e-6)
        assert values.loc[item, "if_dropped_se"] == pytest.approx(
            diff.std(ddof=1) / np.sqrt(DRAWS), rel=1e-6
        )
        alone = npv(scenario, [item])
        assert values.loc[item, "if_alone"] == pytest.approx(alone.mean(), rel=1e-9, abs=1e-6)
        assert values.loc[item, "if_alone_se"] == pytest.approx(
            alone.std(ddof=1) / np.sqrt(DRAWS), rel=1e-6, abs=1e-9
        )
    # Blocked alone, billing and digital earn nothing: their value alone is minus their cost.
    for item in ("billing", "digital"):
        cost = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, groups_on=[item], progress=False)
        assert values.loc[item, "if_alone"] == pytest.approx(-cost.outcomes["pv_cost"].mean())


def test_shapley_is_the_textbook_formula_and_sums_to_the_full_npv(scenario, values):
    items = list(values.index)
    v = {
        frozenset(c): (npv(scenario, c).mean() if c else 0.0)
        for size in range(len(items) + 1)
        for c in itertools.combinations(items, size)
    }
    n = len(items)

    def weight(size: int) -> float:  # the share of orders in which `size` others come first
        return factorial(size) * factorial(n - size - 1) / factorial(n)

    for item in items:
        others = [p for p in items if p != item]
        expected = sum(
            weight(size) * (v[frozenset(c) | {item}] - v[frozenset(c)])
            for size in range(n)
            for c in itertools.combinations(others, size)
        )
        assert values.loc[item, "shapley"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    full = v[frozenset(items)]
    assert values["shapley"].sum() == pytest.approx(full, rel=1e-9)
    assert values.attrs["npv"] == pytest.approx(full, rel=1e-12)


def test_a_dependant_at_the_end_of_a_chain_has_the_closed_form_share(values):
    """Of the six orders of three groups, digital comes after support and billing in two and
    adds its if_dropped there; in the other four it is blocked and adds minus its cost, its
    value alone. So its share is (if_dropped + 2 · if_alone) / 3."""
    plain = group_values(cxsim.load_scenario(chain(capabilities=False)), draws=DRAWS, seed=SEED)
    digital = plain.loc["digital"]
    expected = (digital["if_dropped"] + 2 * digital["if_alone"]) / 3
    assert digital["shapley"] == pytest.approx(expected, rel=1e-9)
    assert digital["shapley"] < 0 < digital["if_dropped"]  # the flagship's onboarding puzzle


def test_the_same_shares_as_the_group_waterfall_without_capabilities():
    scenario = cxsim.load_scenario(chain(capabilities=False))
    values = group_values(scenario, draws=DRAWS, seed=SEED)
    waterfall = waterfall_by_group(scenario, draws=DRAWS, seed=SEED)
    assert list(waterfall["value"].iloc[:-1]) == list(values["shapley"])
    assert waterfall["value"].iloc[-1] == values.attrs["npv"]
    expected = cxsim.simulate(scenario, draws=DRAWS, seed=SEED, progress=False)
    assert values.attrs["npv"] == pytest.approx(expected.outcomes["npv"].mean(), rel=1e-9)


def test_sampled_orderings_sum_to_the_npv_and_keep_the_exact_columns(scenario, values):
    sampled = group_values(scenario, draws=DRAWS, seed=SEED, exact_limit=0, permutations=6)
    assert sampled["shapley"].sum() == pytest.approx(values.attrs["npv"], rel=1e-9)
    assert "6 random orderings" in sampled.attrs["method"]
    for column in ("if_dropped", "if_dropped_se", "if_alone", "if_alone_se", "unblocks"):
        assert list(sampled[column]) == list(values[column])


def test_lazy_export_and_paths():
    assert cxsim.group_values is group_values
    assert "group_values" in dir(cxsim)


# ----------------------------------------------------------------------------- the chart
def test_the_waterfall_marks_if_dropped_beside_each_share(values):
    figure, axes = plt.subplots(1, 3, figsize=(18, 5))
    try:
        ax = plotting.plot_waterfall(values, ax=axes[0])
        assert ax is axes[0]
        hatched = [p for p in ax.patches if p.get_hatch()]
        assert len(hatched) == len(values)
        heights = sorted(p.get_height() for p in hatched)
        assert heights == pytest.approx(sorted(values["if_dropped"]))
        assert "Shapley" in ax.get_xlabel() and "should we cut it" in ax.get_xlabel()
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts == ["Shapley share", "lost if dropped from the full plan"]
        # values= beside a waterfall table marks the items it knows
        table = waterfall_by_group(cxsim.load_scenario(chain(False)), draws=DRAWS, seed=SEED)
        plotting.plot_waterfall(table, ax=axes[1], values=values)
        assert len([p for p in axes[1].patches if p.get_hatch()]) == len(GROUPS)
        # without values the chart is the plain waterfall
        plotting.plot_waterfall(table, ax=axes[2])
        assert not [p for p in axes[2].patches if p.get_hatch()]
        assert axes[2].get_legend() is None and axes[2].get_xlabel() == ""
    finally:
        plt.close(figure)
