"""Tests for the perception-lag fit: the filter, recovery of known delay/lag/effect, bad data."""

from __future__ import annotations

import math
import timeit
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import cxsim
from cxsim.calibrate.files import file_sha256
from cxsim.calibrate.lag import LagResult, fit_lag, perceived_closure
from cxsim.errors import CalibrationError
from tests.conftest import FLAGSHIP

DATA = Path(__file__).resolve().parents[1] / "cxsim" / "datasets" / "data"
MONTHS = np.arange(60)


def programme(months=MONTHS):
    """Gap closure of three work groups launching fixes (short ramps), as a CX programme would."""
    ramp = lambda start, length, gain: gain * np.clip((months - start) / length, 0, 1)  # noqa: E731
    return ramp(6, 1, 0.30) + ramp(20, 2, 0.25) + ramp(34, 1, 0.20)


def reference_filter(g, delay, lag):
    """docs/model.md §3 written out month by month (integer delay)."""
    lam = 1.0 if lag == 0 else 1 - math.exp(-1 / lag)
    x, out = 0.0, []
    for t in range(len(g)):
        target = g[t - delay] if t >= delay else 0.0
        x = x + lam * (target - x)
        out.append(x)
    return np.array(out)


def simulate(delay, lag, effect, sd, seed, intercept=12.0):
    g = programme()
    noise = np.random.default_rng(seed).normal(0, sd, g.size)
    return g, intercept + effect * perceived_closure(g, delay, lag) + noise


def covers(fit, truth):
    ci = fit.conf_int()
    return {k: bool(ci.loc[k, "lower"] <= v <= ci.loc[k, "upper"]) for k, v in truth.items()}


# -- the filter -----------------------------------------------------------------------------
@pytest.mark.parametrize(("delay", "lag"), [(0, 0), (2, 4), (5, 1.5), (0, 10), (3, 0)])
def test_filter_matches_model_equation(delay, lag):
    g = programme()
    np.testing.assert_allclose(perceived_closure(g, delay, lag), reference_filter(g, delay, lag))


def test_the_fit_filter_is_the_engine_filter():
    """The lag fit calls the simulator's perception filter: what it fits is what runs."""
    from cxsim.calibrate import lag
    from cxsim.model import propagation

    assert lag.perceived is propagation.perceived
    scenario = cxsim.load_scenario(FLAGSHIP).with_overrides(
        {"responses.perception_delay_months": 2.3, "responses.perception_lag_months": 4.1}
    )
    result = cxsim.simulate(scenario, draws=1, seed=1)
    for s in range(len(result.segments)):
        closure, seen = result.closure[0, s], result.perceived[0, s]
        assert np.array_equal(perceived_closure(closure, 2.3, 4.1), seen)


def test_fractional_delay_interpolates():
    g = programme()
    x = perceived_closure(g, 2.25, 3.0)
    expected = 0.75 * reference_filter(g, 2, 3.0) + 0.25 * reference_filter(g, 3, 3.0)
    np.testing.assert_allclose(x, expected, atol=1e-12)


# -- recovery -------------------------------------------------------------------------------
def test_noise_free_recovery_is_exact_including_fractional_delay():
    g = programme()
    y = 40 - 25 * perceived_closure(g, 2.5, 3.0)
    fit = fit_lag(g, y, n_boot=0)
    assert fit.delay_ == pytest.approx(2.5, abs=1e-3)
    assert fit.lag_ == pytest.approx(3.0, abs=1e-3)
    assert fit.effect_ == pytest.approx(-25, rel=1e-4)
    assert fit.intercept_ == pytest.approx(40, rel=1e-5)
    assert fit.r2_ == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("delay", "lag", "effect", "seed"),
    [(2, 4.0, 30.0, 1), (5, 1.5, 30.0, 2), (1, 8.0, 20.0, 3)],
)
def test_recovery_with_noise_interval_covers_truth(delay, lag, effect, seed):
    g, y = simulate(delay, lag, effect, sd=2.5, seed=seed)
    fit = fit_lag(g, y, n_boot=200, seed=seed)
    assert covers(fit, {"delay": delay, "lag": lag, "effect": effect}) == {
        "delay": True,
        "lag": True,
        "effect": True,
    }
    assert abs(fit.effect_ - effect) < 3 * fit.se_["effect"]
    assert fit.se_.notna().all()


def test_recovery_of_no_delay_and_no_lag():
    g, y = simulate(0, 0.0, 30.0, sd=1.0, seed=4)
    fit = fit_lag(g, y, n_boot=200, seed=4)
    assert fit.delay_ < 0.5 and fit.lag_ < 0.5
    ci = fit.conf_int()
    assert ci.loc["delay", "lower"] == 0 and ci.loc["lag", "lower"] == 0
    assert covers(fit, {"effect": 30.0})["effect"]


def test_decreasing_lagging_indicator():
    g = programme()
    rng = np.random.default_rng(5)
    churn = 0.018 * (1 - 0.5 * perceived_closure(g, 2, 4.0)) + rng.normal(0, 0.0006, g.size)
    fit = fit_lag(g, churn, seed=5)
    assert covers(fit, {"delay": 2, "lag": 4.0, "effect": -0.009}) == {
        "delay": True,
        "lag": True,
        "effect": True,
    }


@pytest.mark.slow
def test_interval_coverage_over_replications():
    truth = {"delay": 2, "lag": 4.0, "effect": 30.0}
    hits = {k: 0 for k in truth}
    for seed in range(40):
        g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1000 + seed)
        for k, ok in covers(fit_lag(g, y, n_boot=150, seed=seed), truth).items():
            hits[k] += ok
    assert all(v >= 34 for v in hits.values()), hits  # >= 85% of 40 for nominal 95%


def test_shipped_indicator_file_recovers_its_truth():
    # data/make_cohort_and_series.py: delay 2, lag 4; nps = 12 + 30 X; churn = 0.018 (1 - 0.5 X)
    frame = pd.read_csv(DATA / "indicator_series.csv")
    nps = fit_lag(frame["leading"], frame["nps"], time=frame["month"])
    assert covers(
        nps, {"delay": 2, "lag": 4.0, "effect": 30.0, "intercept": 12.0}
    ) == dict.fromkeys(["delay", "lag", "effect", "intercept"], True)
    churn = fit_lag(frame["leading"], frame["monthly_churn"], time=frame["month"])
    assert covers(churn, {"delay": 2, "lag": 4.0, "effect": -0.009}) == dict.fromkeys(
        ["delay", "lag", "effect"], True
    )
    assert list(nps.fitted_.index[:2]) == ["2019-01", "2019-02"]


def test_fit_without_bootstrap_is_fast_and_has_no_intervals():
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    seconds = min(timeit.repeat(lambda: fit_lag(g, y, n_boot=0), number=3, repeat=3)) / 3
    assert seconds < 0.5
    fit = fit_lag(g, y, n_boot=0)
    assert fit.se_.isna().all()
    with pytest.raises(CalibrationError, match="n_boot"):
        fit.conf_int()
    assert "estimate" in str(fit.summary())


def test_bootstrap_is_reproducible_from_seed():
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    a, b = fit_lag(g, y, n_boot=50, seed=11), fit_lag(g, y, n_boot=50, seed=11)
    pd.testing.assert_frame_equal(a.boot_, b.boot_)


def test_series_are_aligned_on_their_index():
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    index = pd.period_range("2019-01", periods=60, freq="M")
    leading = pd.Series(g, index=index, name="closure")
    lagging = pd.Series(y, index=index, name="nps").iloc[::-1]  # same months, other order
    fit = fit_lag(leading, lagging, n_boot=0)
    plain = fit_lag(g, y, n_boot=0)
    assert fit.delay_ == pytest.approx(plain.delay_) and fit.lag_ == pytest.approx(plain.lag_)
    assert fit.names == ["closure", "nps"]
    perceived = fit.perceived(leading)
    assert isinstance(perceived, pd.Series) and perceived.index.equals(index)
    np.testing.assert_allclose(fit.predict(g), fit.fitted_.to_numpy())


# -- bad data -------------------------------------------------------------------------------
def test_bad_data_raises_calibration_error():
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    with pytest.raises(CalibrationError, match="60 months but lagging .* has 59"):
        fit_lag(g, y[:-1])
    holes = y.copy()
    holes[[3, 10, 11]] = np.nan
    with pytest.raises(
        CalibrationError, match=r"3 NaN value\(s\), first at month\(s\) \[3, 10, 11\]"
    ):
        fit_lag(g, holes)
    with pytest.raises(CalibrationError, match="at least 24"):
        fit_lag(g[:20], y[:20])
    with pytest.raises(CalibrationError, match="leading series .* constant"):
        fit_lag(np.full(60, 0.4), y)
    with pytest.raises(CalibrationError, match="lagging series .* constant"):
        fit_lag(g, np.full(60, 3.0))
    bad = g.copy()
    bad[7] = np.inf
    with pytest.raises(CalibrationError, match="non-finite"):
        fit_lag(bad, y)
    with pytest.raises(CalibrationError, match="numbers"):
        fit_lag(["a"] * 60, y)
    with pytest.raises(CalibrationError, match="max_delay"):
        fit_lag(g, y, max_delay=-1)


def test_misaligned_index_reports_missing_months():
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    leading = pd.Series(g, index=pd.RangeIndex(60))
    lagging = pd.Series(y, index=pd.RangeIndex(2, 62))
    with pytest.raises(CalibrationError) as info:
        fit_lag(leading, lagging)
    message = str(info.value)
    assert "leading has 2 NaN value(s), first at month(s) [60, 61]" in message
    assert "lagging has 2 NaN value(s), first at month(s) [0, 1]" in message


# -- reporting and export -------------------------------------------------------------------
def test_summary_html_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    fit = fit_lag(g, y, n_boot=50)
    assert isinstance(fit, LagResult)
    text = str(fit.summary())
    for word in ("delay", "lag", "effect", "intercept", "lower 95%", "R²"):
        assert word in text
    assert "<table" in fit._repr_html_()
    ax = fit.plot()
    assert len(ax.get_lines()) == 2 and ax.get_ylabel() == "lagging"
    plt.close(ax.figure)


def test_to_yaml_round_trip(tmp_path):
    g, y = simulate(2, 4.0, 30.0, sd=2.5, seed=1)
    fit = fit_lag(g, y, n_boot=100, seed=3)
    doc = yaml.safe_load(fit.to_yaml(tmp_path / "lag.yaml").read_text())
    delay = doc["responses"]["perception_delay_months"]
    assert delay == {
        "dist": "normal",
        "mean": fit.delay_,
        "sd": fit.se_["delay"],
        "min": 0.0,
        "max": 12.0,
    }  # truncated at the max_delay the fit searched
    assert doc["responses"]["perception_lag_months"]["sd"] > 0
    record = doc["provenance"]["perception_lag_lagging"]
    assert record["effect_size"] == pytest.approx(fit.effect_)
    lower, upper = record["conf_int_95"]["effect"]
    assert lower < fit.effect_ < upper
    assert record["rows_used"] == 60 and record["n_boot"] == 100 and record["seed"] == 3
    assert record["data_sha256"] and record["cxsim_version"] and record["date"]
    assert record["method"].startswith("least squares")


def test_to_yaml_segment_and_data_file(tmp_path):
    source = DATA / "indicator_series.csv"
    frame = pd.read_csv(source)
    fit = fit_lag(frame["leading"], frame["nps"], time=frame["month"], n_boot=50)
    path = fit.to_yaml(tmp_path / "nps_lag.yaml", segment="core", data_file=source)
    doc = yaml.safe_load(path.read_text())
    responses = doc["segments"]["core"]["responses"]
    assert set(responses) == {"perception_delay_months", "perception_lag_months"}
    record = doc["provenance"]["perception_lag_core_nps"]
    assert record["data_sha256"] == file_sha256(source)
    assert record["lagging"] == "nps"
