"""The pattern behind the sliders of notebooks/02_what_if.ipynb, checked outside Jupyter.

The notebook's update function lives in a notebook and cannot be imported, so these
tests check what it relies on: ipywidgets imports and runs the function once when the
panel is built, and ``with_overrides`` on the slider paths gives a valid scenario whose
mean NPV moves the expected way on the same seed.
"""

from __future__ import annotations

import pytest

import cxsim
from tests.conftest import FLAGSHIP

DRAWS = 200
SEED = 7
IT_COST = "work_groups.it.cost.one_time"


@pytest.fixture(scope="module")
def flagship() -> cxsim.Scenario:
    return cxsim.load_scenario(FLAGSHIP)


def mean_npv(scenario: cxsim.Scenario) -> float:
    return float(cxsim.simulate(scenario, draws=DRAWS, seed=SEED).outcomes["npv"].mean())


def with_mode(scenario: cxsim.Scenario, path: str, mode: float) -> cxsim.Scenario:
    """The slider pattern: keep the range of an uncertain input, move its most likely value."""
    section, key = path.split(".")
    spread = scenario.to_dict()[section][key]
    assert spread["dist"] == "pert" and spread["min"] <= mode <= spread["max"]
    return scenario.with_overrides({path: {**spread, "mode": mode}})


def with_it_cost(scenario: cxsim.Scenario, amount: float) -> cxsim.Scenario:
    """The slider pattern: IT's one-time cost as a number, dropping its correlations."""
    kept = [c for c in scenario.to_dict().get("correlations", []) if IT_COST not in c["between"]]
    return scenario.with_overrides({IT_COST: amount, "correlations": kept})


def test_ipywidgets_runs_the_update_function_once_when_built():
    widgets = pytest.importorskip("ipywidgets")
    calls = []

    def update(mode=0.2, draws=100):
        calls.append((mode, draws))
        return mode * draws

    panel = widgets.interactive(
        update,
        mode=widgets.FloatSlider(value=0.2, min=0.05, max=0.35, step=0.01),
        draws=widgets.IntSlider(value=100, min=100, max=1000, step=100),
    )
    assert calls == [(0.2, 100)]
    assert panel.kwargs == {"mode": 0.2, "draws": 100}
    assert update(**panel.kwargs) == pytest.approx(20.0)  # callable directly, as the notebook does


@pytest.mark.parametrize("path", ["responses.churn_reduction", "responses.wallet_gain"])
def test_a_higher_most_likely_response_raises_mean_npv(flagship, path):
    spread = flagship.to_dict()["responses"][path.split(".")[1]]
    low = with_mode(flagship, path, spread["min"] + 0.25 * (spread["max"] - spread["min"]))
    high = with_mode(flagship, path, spread["min"] + 0.75 * (spread["max"] - spread["min"]))
    assert isinstance(low, cxsim.Scenario) and isinstance(high, cxsim.Scenario)
    assert mean_npv(high) > mean_npv(low)


def test_the_most_likely_value_may_sit_at_either_end_of_the_range(flagship):
    spread = flagship.to_dict()["responses"]["churn_reduction"]
    at_min = with_mode(flagship, "responses.churn_reduction", spread["min"])
    at_max = with_mode(flagship, "responses.churn_reduction", spread["max"])
    assert mean_npv(at_max) > mean_npv(at_min)


def test_a_higher_fixed_it_cost_lowers_mean_npv_by_its_present_value(flagship):
    cheap, dear = with_it_cost(flagship, 2_000_000), with_it_cost(flagship, 3_000_000)
    assert not any(item.uncertain for item in cheap.inputs() if item.path == IT_COST)
    difference = mean_npv(cheap) - mean_npv(dear)
    # One million more, spent over the IT ramp and discounted: a little under one million.
    assert 800_000 < difference < 1_000_000


def test_fixing_it_cost_keeps_the_other_correlations(flagship):
    kept = with_it_cost(flagship, 2_500_000).to_dict().get("correlations", [])
    original = flagship.to_dict().get("correlations", [])
    assert kept == [c for c in original if IT_COST not in c["between"]]
    assert len(kept) == len(original) - 1
