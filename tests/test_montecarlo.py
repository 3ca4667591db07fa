"""Monte Carlo: reproducibility, the prefix property, chunking, summaries and bands."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import cxsim
from cxsim.uncertainty.sampling import draw_inputs
from tests.conftest import FLAGSHIP


@pytest.fixture(scope="module")
def flagship():
    return cxsim.load_scenario(FLAGSHIP)


def _same(a, b):
    for name in a.metrics:
        assert np.array_equal(a.metrics[name], b.metrics[name]), name
    assert np.array_equal(a.leading_values, b.leading_values)
    assert np.array_equal(a.lever_profit, b.lever_profit)
    assert a.outcomes.equals(b.outcomes)


def test_first_draws_of_a_longer_run_equal_a_shorter_run(flagship):
    long = cxsim.simulate(flagship, draws=400, seed=7)
    short = cxsim.simulate(flagship, draws=200, seed=7)
    for name in short.metrics:
        assert np.array_equal(long.metrics[name][:, :200], short.metrics[name]), name
    assert np.array_equal(long.outcomes["npv"].to_numpy()[:200], short.outcomes["npv"].to_numpy())


@pytest.mark.parametrize(
    "name", ["retail_bank.yaml", "retail_bank_calibrated.yaml", "sequence_all_at_once.yaml"]
)
@pytest.mark.parametrize("chunk", [1, 2, 37])
def test_chunking_does_not_change_any_number(name, chunk):
    """Bit for bit, down to one draw per chunk; the calibrated flagship has uncertain sBG
    parameters, whose quadrature rule must not depend on how many draws a chunk holds."""
    scenario = cxsim.load_scenario(FLAGSHIP.parent / name)
    _same(
        cxsim.simulate(scenario, draws=120, seed=3),
        cxsim.simulate(scenario, draws=120, seed=3, chunk_size=chunk),
    )


def test_same_seed_same_numbers_other_seed_other_numbers(flagship):
    a = cxsim.simulate(flagship, draws=50, seed=11)
    _same(a, cxsim.simulate(flagship, draws=50, seed=11))
    b = cxsim.simulate(flagship, draws=50, seed=12)
    assert not np.array_equal(a.outcomes["npv"], b.outcomes["npv"])
    assert cxsim.simulate(flagship, draws=2).seed >= 0  # a fresh seed is recorded


def test_baseline_ignores_programme_inputs(flagship):
    result = cxsim.simulate(flagship, draws=100, seed=5)
    # Baseline does not depend on programme inputs, so identical across draws where only
    # programme inputs vary (the flagship's segment economics are fixed numbers).
    baseline_customers = result.metrics["customers"][1]
    assert np.allclose(baseline_customers, baseline_customers[0])


def test_scenario_correlations_are_achieved(flagship):
    values = draw_inputs(flagship, seed=1, start=0, stop=20000)
    rho = spearmanr(values["responses.churn_reduction"], values["responses.promoter_gain"])[0]
    assert rho == pytest.approx(0.6, abs=0.03)
    independent = spearmanr(values["responses.churn_reduction"], values["responses.wallet_gain"])[0]
    assert abs(independent) < 0.03


def test_summary_with_many_draws(flagship):
    result = cxsim.simulate(flagship, draws=500, seed=2)
    summary = result.summary()
    frame = summary.frame
    assert {"mean", "p5", "p50", "p95"} <= set(frame.columns)
    npv = result.outcomes["npv"].to_numpy()
    assert summary.value("NPV") == pytest.approx(npv.mean())
    assert summary.value("NPV", "p5") == pytest.approx(np.quantile(npv, 0.05))
    assert summary.value("P(NPV > 0)") == pytest.approx((npv > 0).mean())
    pay = result.outcomes["payback_months"].to_numpy()
    assert summary.value("P(payback within 60 months)") == pytest.approx((~np.isnan(pay)).mean())
    assert "P(NPV > 0)" in summary.to_text()
    assert "<table" in summary._repr_html_()


def test_quantiles_are_compact_and_right(flagship):
    result = cxsim.simulate(flagship, draws=200, seed=2)
    bands = result.quantiles(["customers", "nps"])
    assert list(bands.columns) == ["month", "segment", "arm", "metric", "mean", "p5", "p50", "p95"]
    row = bands.query(
        "metric == 'customers' and segment == 'all' and arm == 'programme' and month == 59"
    ).iloc[0]
    values = result.metric("customers")[0, :, 59]
    assert row["p95"] == pytest.approx(np.quantile(values, 0.95))
    assert row["mean"] == pytest.approx(values.mean())
    assert (bands["p5"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()


def test_frame_is_built_on_access_and_refuses_absurd_sizes(flagship, monkeypatch):
    result = cxsim.simulate(flagship, draws=20, seed=2)
    import cxsim.outputs.tables as results

    monkeypatch.setattr(results, "MAX_FRAME_ROWS", 1000)
    with pytest.raises(cxsim.CxsimError, match="quantiles"):
        _ = result.frame
    assert len(result.frame_of("nps", ["all"])) == 2 * 20 * 60


def test_bad_arguments(flagship):
    with pytest.raises(cxsim.CxsimError, match="draws"):
        cxsim.simulate(flagship, draws=0)
    with pytest.raises(cxsim.CxsimError, match="seed"):
        cxsim.simulate(flagship, seed=-1)
    with pytest.raises(cxsim.CxsimError, match="unknown work groups"):
        cxsim.simulate(flagship, groups_on=["billling"])
    with pytest.raises(cxsim.CxsimError, match="unknown levers"):
        cxsim.simulate(flagship, levers=["loyalty"])


def test_progress_bar_can_be_forced_and_silenced(flagship, capsys):
    cxsim.simulate(flagship, draws=300, seed=1, chunk_size=100, progress=True)
    assert "draw" in capsys.readouterr().err
    cxsim.simulate(flagship, draws=300, seed=1, chunk_size=100, progress=False)
    assert capsys.readouterr().err == ""


# -- arguments that used to be misread or crash ------------------------------------------------
def test_one_lever_or_group_given_as_a_string_is_that_one_name(flagship):
    one = cxsim.simulate(flagship, draws=5, seed=3, levers="retention")
    listed = cxsim.simulate(flagship, draws=5, seed=3, levers=["retention"])
    assert np.array_equal(one.outcomes["npv"], listed.outcomes["npv"])
    assert one.levers == ("retention",)
    group = next(iter(flagship.work_groups))
    alone = cxsim.simulate(flagship, draws=5, seed=3, groups_on=group)
    assert np.array_equal(
        alone.outcomes["npv"], cxsim.simulate(flagship, draws=5, seed=3, groups_on=[group]).npv
    )


@pytest.mark.parametrize(
    ("fixed", "message"),
    [
        ({"responses.churn_reduction": "abc"}, "must be a finite number .got 'abc'"),
        ({"responses.churn_reduction": float("nan")}, "must be a finite number"),
        ({"responses.churn_reducton": 0.2}, "did you mean 'responses.churn_reduction'"),
    ],
)
def test_bad_fixed_values_are_clear_errors(flagship, fixed, message):
    with pytest.raises(cxsim.CxsimError, match=message):
        cxsim.simulate(flagship, draws=2, seed=1, fixed=fixed)


def test_a_month_outside_the_run_is_a_clear_error(flagship):
    result = cxsim.simulate(flagship, draws=2, seed=1)
    with pytest.raises(cxsim.CxsimError, match="months run from 0 to 59"):
        result.horizon_table(month=999)
    assert result.horizon_table(month=0).shape == result.horizon_table().shape


def test_results_compare_by_identity(flagship):
    one = cxsim.simulate(flagship, draws=2, seed=1)
    other = cxsim.simulate(flagship, draws=2, seed=1)
    assert one == one and one != other


def test_paybacks_beyond_the_horizon_are_censored_not_dropped():
    """Of 10 draws, 6 never pay back within 36 months: the median lies beyond the horizon, the
    p5 among those that did, and the mean counts the six at 36 months (a lower bound)."""
    import pandas as pd

    from cxsim.outputs.summary import SUMMARY_ROWS, Summary

    payback = np.array([20.0, 22, 24, 30, *[np.nan] * 6])
    plain = [key for key in SUMMARY_ROWS if "terminal" not in key]  # no terminal value
    outcomes = pd.DataFrame({key: np.linspace(1, 2, 10) for key in plain})
    outcomes["payback_months"] = payback
    summary = Summary.from_outcomes(outcomes, 36, "t")
    row = summary.frame.loc["Payback (months)"]
    assert row["p50"] == np.inf and row["p95"] == np.inf
    assert row["p5"] == pytest.approx(np.quantile([20, 22, 24, 30, *[np.inf] * 6], 0.05))
    assert row["mean"] == pytest.approx((20 + 22 + 24 + 30 + 6 * 36) / 10)
    assert row["censored_share"] == pytest.approx(0.6)
    text = summary.to_text()
    line = next(line for line in text.splitlines() if line.startswith("Payback"))
    assert "≥ 31" in line and line.count("> 36") == 2
    assert any("60% of draws" in note and "censored" in note for note in summary.notes)
