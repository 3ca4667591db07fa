"""Every calibration fit is a FitResult: one table of estimates, intervals, a Report, a plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from cxsim import datasets
from cxsim.calibrate import LagResult, SBGResult, VocResult, fit_lag, fit_sbg, fit_voc
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import FitResult, Report

COLUMNS = ["segment", "parameter", "estimate", "se", "lower", "upper"]
SPEND = {"spend_before": "spend_before", "spend_after": "spend_after"}


def _sbg():
    return fit_sbg(datasets.load_cohort_retention(), count_col="active")


def _voc_bootstrap():
    return fit_voc(datasets.load_voc_survey(), bootstrap=30, seed=1, **SPEND)


def _voc_delta():
    return fit_voc(datasets.load_voc_survey(), bootstrap=0, share_of_wallet=0.3, **SPEND)


def _lag():
    series = datasets.load_indicator_series()
    return fit_lag(series["leading"], series["nps"], time=series["month"], n_boot=40, seed=2)


FITS = {
    "sbg": (_sbg, SBGResult),
    "voc_bootstrap": (_voc_bootstrap, VocResult),
    "voc_delta": (_voc_delta, VocResult),
    "lag": (_lag, LagResult),
}


@pytest.fixture(scope="module", params=sorted(FITS))
def fit(request):
    make, kind = FITS[request.param]
    result = make()
    assert isinstance(result, kind)
    return result


def _parameters(fit) -> list[str]:
    index = fit.params_.index
    names = index.get_level_values(-1) if isinstance(index, pd.MultiIndex) else index
    return sorted(set(names))


def test_every_fit_is_a_fit_result(fit):
    assert isinstance(fit, FitResult)
    assert fit.error is CalibrationError
    assert isinstance(fit.params_, pd.Series) and isinstance(fit.se_, pd.Series)
    assert fit.params_.index.equals(fit.se_.index)
    if isinstance(fit, VocResult):
        assert list(fit.params_.index.names) == ["segment", "parameter"]
    else:
        assert not isinstance(fit.params_.index, pd.MultiIndex)


def test_estimates_agree_with_params_se_and_conf_int(fit):
    est = fit.estimates_
    assert list(est.columns) == COLUMNS
    assert len(est) == len(fit.params_)
    index = fit.params_.index
    if isinstance(index, pd.MultiIndex):
        keys = pd.MultiIndex.from_frame(est[["segment", "parameter"]])
        assert keys.equals(index)
    else:
        assert (est["segment"] == "all").all()
        assert list(est["parameter"]) == list(index)
    np.testing.assert_array_equal(est["estimate"], fit.params_.to_numpy())
    np.testing.assert_array_equal(est["se"], fit.se_.to_numpy())
    ci = fit.conf_int(fit.level)
    assert list(ci.columns) == ["lower", "upper"]
    np.testing.assert_array_equal(est["lower"], ci["lower"].reindex(index).to_numpy())
    np.testing.assert_array_equal(est["upper"], ci["upper"].reindex(index).to_numpy())
    assert (est["lower"] <= est["estimate"] + 1e-12).all()
    assert (est["estimate"] <= est["upper"] + 1e-12).all()


def test_higher_level_gives_wider_intervals(fit):
    narrow, wide = fit.conf_int(0.9), fit.conf_int(0.99)
    width_narrow = narrow["upper"] - narrow["lower"]
    width_wide = (wide["upper"] - wide["lower"]).reindex(width_narrow.index)
    assert (width_narrow <= width_wide + 1e-12).all()
    assert (width_narrow < width_wide).any()
    if not isinstance(fit, VocResult):  # VoC: the share of a gap nobody has is exactly 0
        assert (width_narrow < width_wide).all()


def test_summary_is_a_report_naming_every_parameter(fit):
    report = fit.summary()
    assert isinstance(report, Report)
    text, page = str(report), report._repr_html_()
    assert "<table" in page
    for name in _parameters(fit):
        assert name in text, name
        assert name in page, name
    # The base class prints and renders the summary.
    assert str(fit) == text
    assert fit._repr_html_() == page


def test_plot_returns_the_axes(fit):
    plt.switch_backend("Agg")
    ax = fit.plot()
    assert isinstance(ax, Axes)
    plt.close(ax.figure)
    _, given = plt.subplots()
    assert fit.plot(ax=given) is given
    plt.close("all")


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, float("nan"), "0.9", True])
def test_bad_level_raises_calibration_error(fit, level):
    with pytest.raises(CalibrationError, match="level"):
        fit.conf_int(level)


def test_lag_without_bootstrap_has_estimates_but_no_intervals():
    series = datasets.load_indicator_series()
    fit = fit_lag(series["leading"], series["nps"], n_boot=0)
    est = fit.estimates_
    assert list(est.columns) == COLUMNS
    np.testing.assert_array_equal(est["estimate"], fit.params_.to_numpy())
    assert est[["se", "lower", "upper"]].isna().all().all()
    with pytest.raises(CalibrationError, match="n_boot"):
        fit.conf_int()
    assert "lower 95%" not in str(fit.summary())
