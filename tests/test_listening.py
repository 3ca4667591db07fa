"""The listening loop and what it is worth (docs/model.md §13)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cxsim
from cxsim.analysis.listening import value_of_listening
from cxsim.errors import ScenarioError

FLAGSHIP = "scenarios/retail_bank.yaml"
LISTENING = "scenarios/retail_bank_listening.yaml"
BLOCK = {"waves_every_months": 6, "respondents_per_wave": 300, "cost": {"monthly": 1000.0}}


@pytest.fixture(scope="module")
def scenario():
    return cxsim.load_scenario(LISTENING)


def _per_draw(table, row):
    return table.attrs["per_draw"][row]


def test_zero_respondents_cost_exactly_the_listening(scenario):
    silent = scenario.with_overrides({"listening.respondents_per_wave": 0})
    table = value_of_listening(silent, draws=40, seed=3)
    cost = _per_draw(table, "listening_cost_pv")
    assert np.array_equal(_per_draw(table, "value_of_listening"), -cost)
    assert table.loc["value_of_listening", "mean"] == -table.loc["listening_cost_pv", "mean"]
    # A monthly fee alone: its present value is the annuity of the fee.
    assert np.all(cost > 0)


def test_certain_pain_shares_give_the_plan_as_written():
    certain = cxsim.load_scenario(FLAGSHIP).with_overrides({"listening": BLOCK})
    table = value_of_listening(certain, draws=30, seed=5)
    assert np.array_equal(
        _per_draw(table, "value_of_listening"), -_per_draw(table, "listening_cost_pv")
    )
    assert np.array_equal(_per_draw(table, "oracle_npv"), _per_draw(table, "plan_npv"))


def test_plan_npv_is_the_simulated_npv(scenario):
    table = value_of_listening(scenario, draws=20, seed=9)
    result = cxsim.simulate(scenario, draws=20, seed=9)
    assert np.allclose(_per_draw(table, "plan_npv"), result.outcomes["npv"], rtol=1e-12)


def _gross(table):
    return _per_draw(table, "value_of_listening") + _per_draw(table, "listening_cost_pv")


def test_more_respondents_never_lower_the_gross_value(scenario):
    few = value_of_listening(
        scenario.with_overrides({"listening.respondents_per_wave": 20}), draws=300, seed=2
    )
    many = value_of_listening(
        scenario.with_overrides({"listening.respondents_per_wave": 5000}), draws=300, seed=2
    )
    gain = _gross(many) - _gross(few)  # paired on the same draws
    assert gain.mean() > -3 * gain.std(ddof=1) / np.sqrt(gain.size)


def test_the_loop_never_beats_the_oracle(scenario):
    table = value_of_listening(
        scenario.with_overrides({"listening.respondents_per_wave": 5000}), draws=300, seed=4
    )
    gap = _per_draw(table, "oracle_npv") - (
        _per_draw(table, "listening_npv") + _per_draw(table, "listening_cost_pv")
    )
    assert gap.mean() > -3 * gap.std(ddof=1) / np.sqrt(gap.size)
    assert table.loc["evpi", "mean"] > 0


def test_perfect_evidence_at_month_zero_is_the_oracle(scenario):
    perfect = scenario.with_overrides(
        {
            "listening.respondents_per_wave": 10_000_000,
            "listening.report_delay_months": 0,
            "listening.reallocation": 1.0,
            "listening.waves_every_months": scenario.horizon_months,
        }
    )
    table = value_of_listening(perfect, draws=30, seed=8)
    gross = _per_draw(table, "listening_npv") + _per_draw(table, "listening_cost_pv")
    oracle = _per_draw(table, "oracle_npv")
    assert np.allclose(
        gross, oracle, rtol=0, atol=2e-3 * np.abs(oracle).max()
    )  # sampling noise of 1e7


def test_chunking_and_executor_give_identical_numbers(scenario):
    whole = value_of_listening(scenario, draws=45, seed=11)
    pieces = value_of_listening(scenario, draws=45, seed=11, chunk_size=7)
    with ThreadPoolExecutor(2) as pool:
        parallel = value_of_listening(scenario, draws=45, seed=11, chunk_size=10, executor=pool)
    for other in (pieces, parallel):
        for row, values in whole.attrs["per_draw"].items():
            assert np.array_equal(values, other.attrs["per_draw"][row]), row


def test_waves_record_what_was_measured_and_where_effort_moved(scenario):
    table = value_of_listening(scenario, draws=30, seed=1)
    waves = table.attrs["waves"]
    assert set(waves.columns) >= {"month", "measured", "belief", "effort_multiplier"}
    first = waves.xs(0, level="wave")
    # Each wave measures pain shares; effort moves but the spend weights stay positive.
    assert first["measured"].between(0, 1.5).all()
    assert (waves["effort_multiplier"] > 0).all()


@pytest.mark.parametrize(
    ("change", "path", "text"),
    [
        ({"respondents_per_wave": -5}, "listening.respondents_per_wave", "-5"),
        ({"waves_every_months": 61}, "listening.waves_every_months", "horizon"),
        ({"reallocation": 1.5}, "listening.reallocation", "1.5"),
        ({"report_delay_months": 60}, "listening.report_delay_months", "horizon"),
        ({"respondents_per_wave": {"nobody": 10}}, "listening.respondents_per_wave.nobody", ""),
        ({"cost": {"per_respondent": -1}}, "listening.cost.per_respondent", "-1"),
    ],
)
def test_bad_listening_values_give_located_errors(change, path, text):
    with pytest.raises(ScenarioError) as error:
        cxsim.load_scenario(FLAGSHIP).with_overrides({"listening": {**BLOCK, **change}})
    message = str(error.value)
    assert path in message and text in message


def test_a_scenario_without_listening_is_refused():
    with pytest.raises(cxsim.CxsimError, match="listening"):
        value_of_listening(FLAGSHIP, draws=2)


def test_cli_prints_the_value_and_the_sweep(tmp_path, capsys):
    from cxsim.cli.main import main

    chart = tmp_path / "sweep.png"
    argv = ["listening", LISTENING, "--draws", "20", "--respondents", "0,200", "--plot", str(chart)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "value_of_listening" in out and "respondents" in out and chart.exists()


def test_cli_refuses_a_scenario_without_listening(capsys):
    from cxsim.cli.main import main

    assert main(["listening", FLAGSHIP, "--draws", "5"]) == 1
    assert "listening" in capsys.readouterr().err


def test_break_even_interpolates_between_the_sweep_points():
    import pandas as pd

    from cxsim.analysis.listening import break_even_respondents

    sweep = pd.DataFrame({"value_of_listening": [-10.0, -5.0, 15.0]}, index=[0, 100, 200])
    assert break_even_respondents(sweep) == 125.0
    assert break_even_respondents(sweep.iloc[:2]) is None
    free = pd.DataFrame({"value_of_listening": [0.0, 8.0, -3.0]}, index=[0, 100, 200])
    assert break_even_respondents(free) == 100.0


def test_simulate_says_it_runs_the_plan_as_written(scenario):
    result = cxsim.simulate(scenario, draws=5, seed=1)
    assert any("value_of_listening" in note for note in result.notes)
    assert not any("listening" in note for note in cxsim.simulate(FLAGSHIP, seed=1).notes)


def test_respondents_by_segment_ask_only_those_segments(scenario):
    one = scenario.with_overrides({"listening.respondents_per_wave": {"mass_market": 800}})
    waves = value_of_listening(one, draws=20, seed=6).attrs["waves"]
    asked = waves["measured"].notna().groupby(level="segment").any()
    assert asked.to_dict() == {s: s == "mass_market" for s in scenario.segments}
