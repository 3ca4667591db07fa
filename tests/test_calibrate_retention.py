"""Tests for the sBG retention fit: published fit, closed forms, recovery, bad data, export."""

from __future__ import annotations

import timeit
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import betaln

from cxsim.calibrate.files import file_sha256, frame_sha256
from cxsim.calibrate.retention import SBGResult, cohorts_from_frame, fit_sbg
from cxsim.errors import CalibrationError

DATA = Path(__file__).resolve().parents[1] / "cxsim" / "datasets" / "data"

# Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention. Journal of
# Interactive Marketing 21(1), 76-90. Table 1: customers still active out of 1,000 per cohort,
# years 0-12. The paper fits years 0-7 and reports (section "Estimating model parameters"):
#   Regular:  alpha = 0.704, beta = 1.182
#   High End: alpha = 0.668, beta = 3.806
# (Regular is the lower-retention segment: mean churn alpha/(alpha+beta) = 0.37 vs 0.15.)
# The same numbers appear in PyMC-Marketing's sBG example (ref_val highend [0.668, 3.806],
# regular [0.704, 1.182]).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
PUBLISHED = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}


def simulate_cohort(rng, alpha, beta, size, periods):
    """Active counts at periods 0..periods: theta ~ Beta, churn period ~ Geometric(theta)."""
    tenure = rng.geometric(rng.beta(alpha, beta, size))
    return np.array([(tenure > t).sum() for t in range(periods + 1)], dtype=float)


# -- published fit --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "counts"), [("regular", REGULAR), ("high_end", HIGH_END)])
def test_published_fit_fader_hardie_2007(name, counts):
    fit = fit_sbg(counts[:8], period="year")
    alpha, beta = PUBLISHED[name]
    assert fit.alpha_ == pytest.approx(alpha, abs=0.001)
    assert fit.beta_ == pytest.approx(beta, abs=0.001)
    assert fit.n_periods_ == 7
    assert fit.n_customers_ == 1000


def test_published_fit_projects_years_8_to_12_closely():
    # The paper's point: fitted on years 0-7, the sBG tracks years 8-12 closely.
    for counts in (REGULAR, HIGH_END):
        fit = fit_sbg(counts[:8])
        projected = 1000 * fit.survival(np.arange(8, 13))
        assert np.all(np.abs(projected / np.array(counts[8:]) - 1) < 0.05)


def test_loglik_matches_closed_form():
    fit = fit_sbg(REGULAR[:8])
    a, b = fit.alpha_, fit.beta_
    s = np.array(REGULAR[:8], dtype=float)
    t = np.arange(1, 8)
    ll = np.sum((s[:-1] - s[1:]) * (betaln(a + 1, b + t - 1) - betaln(a, b)))
    ll += s[-1] * (betaln(a, b + 7) - betaln(a, b))
    assert fit.loglik_ == pytest.approx(ll, rel=1e-12)


# -- closed forms ---------------------------------------------------------------------------
def test_survival_equals_beta_ratio():
    fit = fit_sbg(HIGH_END[:8])
    t = np.array([0, 1, 2, 5, 12, 40])
    expected = np.exp(betaln(fit.alpha_, fit.beta_ + t) - betaln(fit.alpha_, fit.beta_))
    np.testing.assert_allclose(fit.survival(t), expected, rtol=0, atol=1e-12)
    assert fit.survival(0) == 1.0
    assert isinstance(fit.survival(3), float)


def test_churn_and_retention_consistent_with_survival():
    fit = fit_sbg(REGULAR[:8])
    t = np.arange(1, 20)
    ratio = fit.survival(t) / fit.survival(t - 1)
    np.testing.assert_allclose(fit.retention(t), ratio, rtol=1e-12)
    np.testing.assert_allclose(fit.churn(t), 1 - ratio, rtol=1e-12)
    assert fit.churn(1) == pytest.approx(fit.alpha_ / (fit.alpha_ + fit.beta_), rel=1e-14)
    assert np.all(np.diff(fit.churn(t)) < 0)  # the churn rate falls with tenure
    with pytest.raises(CalibrationError, match=">= 1"):
        fit.churn(0)


# -- standard errors and intervals ----------------------------------------------------------
def test_standard_errors_match_numerical_hessian():
    fit = fit_sbg(REGULAR[:8])
    s = np.array(REGULAR[:8], dtype=float)
    t = np.arange(1, 8)

    def loglik(p):
        a, b = p
        ll = np.sum((s[:-1] - s[1:]) * (betaln(a + 1, b + t - 1) - betaln(a, b)))
        return ll + s[-1] * (betaln(a, b + 7) - betaln(a, b))

    x, h = np.array([fit.alpha_, fit.beta_]), 1e-4
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hess[i, j] = (
                loglik(x + ei + ej)
                - loglik(x + ei - ej)
                - loglik(x - ei + ej)
                + loglik(x - ei - ej)
            ) / (4 * h * h)
    np.testing.assert_allclose(fit.cov_.to_numpy(), np.linalg.inv(-hess), rtol=1e-4)
    np.testing.assert_allclose(fit.se_, np.sqrt(np.diag(np.linalg.inv(-hess))), rtol=1e-4)


def test_conf_int_is_log_scale_wald():
    fit = fit_sbg(HIGH_END[:8])
    ci = fit.conf_int(0.90)
    assert list(ci.index) == ["alpha", "beta"] and list(ci.columns) == ["lower", "upper"]
    z = 1.6448536269514722
    for name in ("alpha", "beta"):
        est, se = fit.params_[name], fit.se_[name]
        assert ci.loc[name, "lower"] == pytest.approx(est * np.exp(-z * se / est))
        assert ci.loc[name, "upper"] == pytest.approx(est * np.exp(z * se / est))
        assert 0 < ci.loc[name, "lower"] < est < ci.loc[name, "upper"]


@pytest.mark.slow
def test_parameter_recovery_interval_coverage():
    rng = np.random.default_rng(20240601)
    alpha, beta = 0.7, 2.5
    covered = np.zeros(2)
    for _ in range(100):
        fit = fit_sbg(simulate_cohort(rng, alpha, beta, 2000, 8))
        ci = fit.conf_int(0.95)
        covered += (ci["lower"] <= [alpha, beta]) & ([alpha, beta] <= ci["upper"])
    assert np.all(covered >= 88), covered


# -- several cohorts ------------------------------------------------------------------------
def test_one_cohort_in_every_container_gives_the_same_fit():
    single = fit_sbg(REGULAR[:8])
    frame = pd.DataFrame({"regular": REGULAR[:8]})
    for data in (frame, [REGULAR[:8]], np.array(REGULAR[:8])[:, None], pd.Series(REGULAR[:8])):
        fit = fit_sbg(data)
        assert fit.alpha_ == pytest.approx(single.alpha_, rel=1e-9)
        assert fit.beta_ == pytest.approx(single.beta_, rel=1e-9)
        assert fit.loglik_ == pytest.approx(single.loglik_, rel=1e-12)


def test_two_cohorts_pool_their_likelihoods():
    both = fit_sbg(pd.DataFrame({"a": REGULAR[:8], "b": REGULAR[:8]}))
    one = fit_sbg(REGULAR[:8])
    assert both.alpha_ == pytest.approx(one.alpha_, rel=1e-8)
    assert both.loglik_ == pytest.approx(2 * one.loglik_, rel=1e-12)
    np.testing.assert_allclose(both.se_, one.se_ / np.sqrt(2), rtol=1e-6)


def test_right_censored_cohorts_recover_truth():
    rng = np.random.default_rng(7)
    alpha, beta = 0.9, 4.0
    cohorts = [simulate_cohort(rng, alpha, beta, 5000, n) for n in (9, 7, 5, 3, 2, 1)]
    fit = fit_sbg(cohorts, cohorts=[2016, 2017, 2018, 2019, 2020, 2021])
    ci = fit.conf_int()
    assert ci.loc["alpha", "lower"] <= alpha <= ci.loc["alpha", "upper"]
    assert ci.loc["beta", "lower"] <= beta <= ci.loc["beta", "upper"]
    assert fit.n_periods_ == 9 and fit.n_cohorts_ == 6
    assert list(fit.counts_.columns) == ["2016", "2017", "2018", "2019", "2020", "2021"]
    # the same data in long format
    long = pd.DataFrame(
        [
            (c, t, v)
            for c, s in zip(range(2016, 2022), cohorts, strict=True)
            for t, v in enumerate(s)
        ],
        columns=["cohort", "year", "active"],
    )
    fit_long = fit_sbg(long, cohort_col="cohort", period_col="year", count_col="active")
    assert fit_long.alpha_ == pytest.approx(fit.alpha_, rel=1e-9)
    assert fit_long.rows_used_ == len(long)
    wide = cohorts_from_frame(long)
    assert wide.shape == (10, 6) and wide[2021].isna().sum() == 8


def test_cohort_observed_only_at_period_0_is_dropped():
    frame = pd.DataFrame({"old": REGULAR[:8], "new": [500] + [np.nan] * 7})
    fit = fit_sbg(frame)
    assert fit.alpha_ == pytest.approx(fit_sbg(REGULAR[:8]).alpha_, rel=1e-9)
    assert fit.rows_dropped_ == 1 and fit.n_cohorts_ == 1


def test_shares_with_n0_equal_counts():
    shares = np.array(HIGH_END[:8]) / 1000
    fit = fit_sbg(shares, n0=1000)
    assert fit.alpha_ == pytest.approx(0.668, abs=0.001)
    assert fit.beta_ == pytest.approx(3.806, abs=0.001)


def test_shipped_cohort_file_recovers_its_truth():
    # data/make_cohort_and_series.py: theta ~ Beta(0.8, 5.0), cohorts 2015-2021, censored at 2022
    frame = pd.read_csv(DATA / "cohort_retention.csv")
    fit = fit_sbg(frame, cohort_col="cohort", period_col="year", count_col="active")
    ci = fit.conf_int()
    assert ci.loc["alpha", "lower"] <= 0.8 <= ci.loc["alpha", "upper"]
    assert ci.loc["beta", "lower"] <= 5.0 <= ci.loc["beta", "upper"]
    assert fit.n_cohorts_ == 7 and fit.rows_used_ == len(frame)


def test_fit_is_fast():
    seconds = min(timeit.repeat(lambda: fit_sbg(REGULAR), number=10, repeat=5)) / 10
    assert seconds < 0.05


# -- bad data -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kwargs", "words"),
    [
        (pd.DataFrame({"2019": [100, 90, 95]}), {}, ["'2019'", "increases", "period 2"]),
        ([100, 90, -3, 1], {}, ["negative", "period 2"]),
        ([100, 90], {}, ["fewer than 2", "periods"]),
        ([[100, 90], [200, 150]], {}, ["fewer than 2"]),
        ([100, 100, 100, 100], {}, ["no churn"]),
        ([100, np.nan, 80, 70], {}, ["NaN in the middle", "period 1"]),
        ([np.nan, 80, 70], {}, ["period 0", "NaN"]),
        ([100, np.inf, 80], {}, ["non-finite"]),
        ([1.0, 0.8, 0.7, 0.65], {}, ["shares", "n0"]),
        ([1000, 800, 700], {"n0": 1000}, ["shares", "n0"]),
        (1000 * 0.8 ** np.arange(8), {}, ["did not converge", "monthly_churn"]),
        ([1000, 500, 500, 500, 500], {}, ["did not converge", "segments"]),
        ([1000, 0, 0], {}, ["churned in period 1"]),
        (["a", "b"], {}, ["numbers"]),
        (REGULAR, {"period": "week"}, ["period must be one of"]),
    ],
)
def test_bad_data_raises_calibration_error(data, kwargs, words):
    with pytest.raises(CalibrationError) as info:
        fit_sbg(data, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_long_format_problems_are_named():
    long = pd.DataFrame({"cohort": [1, 1, 1], "yr": [0, 1, 3], "active": [10, 9, 8]})
    with pytest.raises(CalibrationError, match=r"missing column\(s\) \['year'\]"):
        fit_sbg(long, count_col="active")
    with pytest.raises(CalibrationError, match="period 2 is missing"):
        fit_sbg(long, period_col="yr", count_col="active")
    dup = pd.DataFrame({"cohort": [1, 1], "year": [0, 0], "active": [10, 9]})
    with pytest.raises(CalibrationError, match="duplicate"):
        fit_sbg(dup, count_col="active")


# -- reporting and export -------------------------------------------------------------------
def test_summary_html_and_plot(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fit = fit_sbg(pd.DataFrame({"regular": REGULAR[:8], "high": HIGH_END[:8]}))
    text = str(fit.summary())
    for word in ("alpha", "beta", "se", "lower 95%", "log-likelihood", "customers: 2,000"):
        assert word in text
    assert "<table" in fit._repr_html_()
    ax = fit.plot(horizon=12)
    assert ax.get_xlim()[1] >= 12
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())
    plt.close(ax.figure)


def test_sbg_block():
    fit = fit_sbg(REGULAR[:8], period="year")
    block = fit.sbg_block()
    assert block == {"alpha": fit.alpha_, "beta": fit.beta_, "period": "year"}
    assert isinstance(fit, SBGResult)


def test_to_yaml_round_trip(tmp_path):
    frame = pd.DataFrame({"regular": REGULAR[:8]})
    fit = fit_sbg(frame)
    path = fit.to_yaml(tmp_path / "core_sbg.yaml", "core")
    doc = yaml.safe_load(path.read_text())
    sbg = doc["segments"]["core"]["sbg"]
    assert sbg["period"] == "year"
    assert sbg["alpha"] == {"dist": "lognormal", "mean": fit.alpha_, "sd": fit.se_["alpha"]}
    assert sbg["beta"]["dist"] == "lognormal" and sbg["beta"]["sd"] > 0
    (corr,) = doc["correlations"]
    assert corr["between"] == ["segments.core.sbg.alpha", "segments.core.sbg.beta"]
    assert corr["rho"] == pytest.approx(fit.corr_) and 0 < corr["rho"] < 1
    record = doc["provenance"]["sbg_core"]
    assert record["method"] == "sBG maximum likelihood (Fader & Hardie 2007)"
    assert record["rows_used"] == 8 and record["rows_dropped"] == 0
    assert record["data_sha256"] == frame_sha256(frame)
    assert record["cxsim_version"] and record["date"]
    assert record["estimates"]["alpha"] == pytest.approx(0.704, abs=0.001)


def test_to_yaml_with_data_file_and_point_values(tmp_path):
    source = DATA / "cohort_retention.csv"
    frame = pd.read_csv(source)
    fit = fit_sbg(frame, cohort_col="cohort", period_col="year", count_col="active")
    path = fit.to_yaml(tmp_path / "bank.yaml", "retail", uncertain=False, data_file=source)
    doc = yaml.safe_load(path.read_text())
    assert doc["segments"]["retail"]["sbg"] == fit.sbg_block()
    assert "correlations" not in doc
    record = doc["provenance"]["sbg_retail"]
    assert record["data_sha256"] == file_sha256(source)
    assert record["data_file"] == str(source)
    assert record["rows_used"] == len(frame)
