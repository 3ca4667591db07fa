"""What a run keeps, how precise it is, and where it runs — without changing a draw.

- ``keep="summary"`` keeps the same per-draw outcomes as ``keep="all"`` bit for bit, and
  monthly bands within about one Monte Carlo error of the exact ones;
- an executor gives the same numbers as a serial run;
- ``target_error`` stops at the same draw for the same seed, precise as asked;
- ``mc_error`` matches the spread of estimates across seeds (slow test).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import cxsim
from cxsim.outputs.mc_error import quantile_se, relative_precision
from tests.conftest import FLAGSHIP


@pytest.fixture(scope="module")
def flagship():
    return cxsim.load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def both(flagship):
    return (
        cxsim.simulate(flagship, draws=6000, seed=9, keep="all"),
        cxsim.simulate(flagship, draws=6000, seed=9, keep="summary"),
    )


def test_summary_keeps_the_same_outcomes_and_yearly_lines(both):
    full, summary = both
    assert summary.keep == "summary" and full.keep == "all"
    assert full.outcomes.equals(summary.outcomes)
    for line in ("programme_cost", "incremental_profit", "incremental_cash_flow"):
        assert np.array_equal(full.yearly(line), summary.yearly(line))
    assert str(full.summary()) == str(summary.summary())


def test_streamed_bands_are_within_about_one_monte_carlo_error(both):
    full, summary = both
    ratios = []
    for key in [
        ("metric", "customers", "all"),
        ("metric", "profit", "all"),
        ("cash", "cumulative"),
    ]:
        values, axis = full.values_of(key)
        values = np.moveaxis(values, axis, -1)
        band = summary.band(key)
        scale = 1e-9 * np.abs(values).max()  # rounding of sums of large numbers
        assert np.allclose(band.mean, values.mean(axis=-1), rtol=1e-12, atol=scale)
        assert np.allclose(band.sd, values.std(axis=-1, ddof=1), rtol=1e-9, atol=scale)
        # Means and deviations are merged in the same fixed blocks whatever a run keeps.
        assert np.array_equal(band.mean, full.band(key).mean)
        assert np.array_equal(band.sd, full.band(key).sd)
        for name, q in (("p5", 0.05), ("p50", 0.5), ("p95", 0.95)):
            se = np.apply_along_axis(quantile_se, -1, values, q)
            exact = np.quantile(values, q, axis=-1)
            seen = se > 0  # a quantity constant across draws has no error to compare with
            ratios.append(np.abs(getattr(band, name) - exact)[seen] / se[seen])
    ratios = np.concatenate(ratios)
    assert np.median(ratios) < 1.0 and ratios.max() < 3.0


def test_the_views_agree_between_the_two_kinds_of_result(both):
    full, summary = both
    assert full.horizon_table().equals(summary.horizon_table())  # to the last bit
    economics = ["customers", "margin_per_customer", "clv"]
    assert full.segment_economics()[economics].equals(summary.segment_economics()[economics])
    assert list(full.quantiles().columns) == list(summary.quantiles().columns)
    assert len(full.quantiles()) == len(summary.quantiles())


def test_a_summary_result_says_how_to_get_what_it_did_not_keep(both):
    _, summary = both
    for attribute in ("frame", "cash_flow", "metrics", "leading_values"):
        with pytest.raises(cxsim.CxsimError, match="keep='all'"):
            getattr(summary, attribute)
    with pytest.raises(cxsim.CxsimError, match="keep='all'"):
        summary.metric("churn")
    with pytest.raises(cxsim.CxsimError, match="quantiles p5, p50, p95"):
        summary.quantile(("metric", "churn", "all"), 0.1)


def test_auto_keeps_all_for_small_runs_and_summaries_for_large_ones(flagship):
    assert cxsim.simulate(flagship, draws=100, seed=1).keep == "all"
    big = cxsim.simulate(flagship, draws=8000, seed=1, chunk_size=4000)
    assert big.keep == "summary"
    assert any("kept summaries only" in note for note in big.notes)


def test_an_executor_gives_the_serial_numbers(flagship):
    serial = cxsim.simulate(flagship, draws=9000, seed=3, keep="summary")
    with ProcessPoolExecutor(max_workers=2) as executor:
        spread = cxsim.simulate(flagship, draws=9000, seed=3, executor=executor)
    assert spread.keep == "summary"
    assert serial.outcomes.equals(spread.outcomes)
    for key in serial.stats.n:
        a, b = serial.band(key), spread.band(key)
        for field in ("mean", "sd", "p5", "p50", "p95"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), key


def test_target_error_is_reached_and_reproducible(flagship):
    first = cxsim.simulate(flagship, seed=21, target_error=0.02)
    again = cxsim.simulate(flagship, seed=21, target_error=0.02, chunk_size=300)
    assert first.draws == again.draws and first.draws % 1024 == 0
    assert first.outcomes.equals(again.outcomes)
    assert relative_precision(first.npv) <= 0.02
    assert any("target error 0.02 reached after" in note for note in first.notes)
    # A tighter target takes more draws; the draws it shares with the first are the same.
    tighter = cxsim.simulate(flagship, seed=21, target_error=0.012)
    assert tighter.draws > first.draws
    assert np.array_equal(tighter.npv[: first.draws], first.npv)


def test_a_target_out_of_reach_says_so(flagship):
    result = cxsim.simulate(flagship, draws=1500, seed=2, target_error=0.001)
    assert result.draws == 1500
    assert any("not reached within 1,500 draws" in note for note in result.notes)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keep": "everything"}, "keep must be one of auto, all, summary"),
        ({"target_error": 0}, "target_error must be a number between 0 and 1"),
        ({"target_error": -0.1}, "target_error must be a number between 0 and 1"),
        ({"target_error": "tight"}, "target_error must be a number"),
        ({"draws": 0}, "draws must be a whole number"),
        ({"executor": object()}, "executor must be a concurrent.futures.Executor"),
    ],
)
def test_bad_options_are_clear_errors(flagship, options, message):
    with pytest.raises(cxsim.CxsimError, match=message):
        cxsim.simulate(flagship, seed=1, **options)


def test_keep_all_refuses_an_executor(flagship):
    with ProcessPoolExecutor(max_workers=1) as executor:
        with pytest.raises(cxsim.CxsimError, match="cannot run on an executor"):
            cxsim.simulate(flagship, draws=10, seed=1, keep="all", executor=executor)


def test_mc_error_statistics(both):
    full, _ = both
    npv = full.outcomes["npv"].to_numpy()
    assert full.mc_error("npv", "mean") == pytest.approx(npv.std(ddof=1) / np.sqrt(npv.size))
    share = (npv > 0).mean()
    assert full.mc_error("npv", "p_positive") == pytest.approx(
        np.sqrt(share * (1 - share) / npv.size)
    )
    assert full.mc_error("npv", "p5") > full.mc_error("npv", "mean")
    with pytest.raises(cxsim.CxsimError, match="unknown statistic"):
        full.mc_error("npv", "p99")
    with pytest.raises(cxsim.CxsimError, match="unknown outcome"):
        full.mc_error("nvp")


@pytest.mark.slow
def test_mc_errors_match_the_spread_across_seeds(flagship):
    """Honest errors: across 40 seeds, the standard deviation of each estimate is close to the
    average error the runs report (within the sampling error of a 40-sample sd, ~±22%)."""
    statistics = ("mean", "p5", "p95", "p_positive")
    estimates = {s: [] for s in statistics}
    errors = {s: [] for s in statistics}
    for seed in range(40):
        result = cxsim.simulate(flagship, draws=2000, seed=1000 + seed, keep="summary")
        npv = result.npv
        values = {
            "mean": npv.mean(),
            "p5": np.quantile(npv, 0.05),
            "p95": np.quantile(npv, 0.95),
            "p_positive": (npv > 0).mean(),
        }
        for s in statistics:
            estimates[s].append(values[s])
            errors[s].append(result.mc_error("npv", s))
    for s in statistics:
        ratio = np.std(estimates[s], ddof=1) / np.mean(errors[s])
        assert 0.65 < ratio < 1.45, (s, ratio)
