"""Tests for the sBG retention fit: published fit, closed forms, recovery, bad data, export;
snapshots (left truncation), periods other than month and year, the χ² goodness-of-fit test."""

from __future__ import annotations

import timeit
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import integrate, stats
from scipy.special import betaln

import cxsim
from cxsim.calibrate.data import read_table
from cxsim.calibrate.files import file_sha256, frame_sha256
from cxsim.calibrate.retention import SBGResult, cohorts_from_frame, fit_sbg
from cxsim.calibrate.sbg import chi_square
from cxsim.errors import CalibrationError
from tests.conftest import one_segment

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


def simulate_snapshot(rng, alpha, beta, per_cohort, ages):
    """A customer base seen for one period, simulated without the fit's formula.

    ``per_cohort`` customers were acquired 0, 1, ..., ``ages - 1`` periods before the observed
    period began; each draws theta ~ Beta(alpha, beta) and stays ``T ~ Geometric(theta)``
    periods. Those still there when the period begins (T > age) are the snapshot: tenure =
    age, churned = they leave in this period (T = age + 1).
    """
    age = np.repeat(np.arange(ages), per_cohort)
    life = rng.geometric(rng.beta(alpha, beta, age.size))
    there = life > age
    return pd.DataFrame(
        {"tenure": age[there], "churned": (life[there] == age[there] + 1).astype(int)}
    )


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
    with pytest.raises(CalibrationError, match="period 2 missing before this row"):
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


# -- snapshots: the left-truncated likelihood -----------------------------------------------
def _snapshot_fit(frame, period="month", **kwargs):
    return fit_sbg(frame, period, tenure="tenure", churned="churned", **kwargs)


def test_snapshot_churn_given_survival_is_alpha_over_alpha_beta_t():
    # P(T = t+1 | T > t) from the sBG's P(T = t) and S(t), against alpha/(alpha + beta + t)
    a, b = 0.8, 2.5
    t = np.arange(0, 40)
    p_next = np.exp(betaln(a + 1, b + t) - betaln(a, b))  # P(T = t + 1)
    s_t = np.exp(betaln(a, b + t) - betaln(a, b))  # S(t)
    np.testing.assert_allclose(p_next / s_t, a / (a + b + t), rtol=1e-12)


def test_snapshot_loglik_matches_numerical_integration():
    # Each customer's likelihood by integrating over theta directly: a customer who survived
    # t periods churns next with E[theta (1-theta)^t] / E[(1-theta)^t] under Beta(a, b).
    rng = np.random.default_rng(11)
    frame = simulate_snapshot(rng, 0.9, 3.0, 40, 12)
    fit = _snapshot_fit(frame)
    a, b = fit.alpha_, fit.beta_
    prior = stats.beta(a, b).pdf

    def moment(f):
        return integrate.quad(lambda th: f(th) * prior(th), 0, 1, limit=200)[0]

    ll = 0.0
    for (t, churned), n in frame.value_counts(["tenure", "churned"]).items():
        survived = moment(lambda th, t=t: (1 - th) ** t)
        churn = moment(lambda th, t=t: th * (1 - th) ** t) / survived
        ll += n * np.log(churn if churned else 1 - churn)
    assert fit.loglik_ == pytest.approx(ll, rel=1e-7)


def test_snapshot_recovers_truth_and_matches_numerical_hessian():
    rng = np.random.default_rng(2025)
    frame = simulate_snapshot(rng, 0.6, 3.0, 400, 36)
    fit = _snapshot_fit(frame)
    ci = fit.conf_int()
    assert ci.loc["alpha", "lower"] <= 0.6 <= ci.loc["alpha", "upper"]
    assert ci.loc["beta", "lower"] <= 3.0 <= ci.loc["beta", "upper"]
    assert fit.layout_ == "snapshot" and fit.counts_ is None and fit.n_cohorts_ is None
    assert fit.rows_used_ == len(frame) and fit.n_customers_ == len(frame)
    assert fit.n_periods_ == frame["tenure"].max() + 1
    # the observed information by finite differences of the left-truncated log-likelihood
    t = frame["tenure"].to_numpy()
    c = frame["churned"].to_numpy()

    def loglik(p):
        h = p[0] / (p[0] + p[1] + t)
        return np.sum(np.where(c == 1, np.log(h), np.log1p(-h)))

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
    assert fit.loglik_ == pytest.approx(loglik(x), rel=1e-10)
    np.testing.assert_allclose(fit.cov_.to_numpy(), np.linalg.inv(-hess), rtol=1e-4)


def test_cohort_as_snapshot_gives_the_same_fit():
    # A cohort followed from acquisition is a snapshot of every period's survivors: period t's
    # customers at risk (tenure t - 1) and its churners. Both likelihoods are the same.
    counts = np.array(REGULAR[:8], dtype=float)
    rows = []
    for t in range(7):
        rows += [(t, "yes", counts[t] - counts[t + 1]), (t, "no", counts[t + 1])]
    frame = pd.DataFrame(rows, columns=["tenure", "churned", "n"])
    snapshot = _snapshot_fit(frame, "year", weights="n")
    cohort = fit_sbg(REGULAR[:8])
    assert snapshot.alpha_ == pytest.approx(cohort.alpha_, rel=1e-8)
    assert snapshot.beta_ == pytest.approx(cohort.beta_, rel=1e-8)
    assert snapshot.loglik_ == pytest.approx(cohort.loglik_, rel=1e-10)
    np.testing.assert_allclose(snapshot.se_, cohort.se_, rtol=1e-6)
    assert snapshot.gof_.statistic == pytest.approx(cohort.gof_.statistic, rel=1e-9)


def test_weights_equal_repeated_rows():
    rng = np.random.default_rng(5)
    frame = simulate_snapshot(rng, 0.7, 2.0, 60, 10)
    grouped = frame.value_counts(["tenure", "churned"]).rename("n").reset_index()
    one, many = _snapshot_fit(frame), _snapshot_fit(grouped, weights="n")
    assert many.alpha_ == pytest.approx(one.alpha_, rel=1e-9)
    assert many.loglik_ == pytest.approx(one.loglik_, rel=1e-12)
    assert many.rows_used_ == len(grouped) and many.n_customers_ == len(frame)


def test_churn_flags_accept_yes_no_true_false_in_any_case():
    rng = np.random.default_rng(8)
    frame = simulate_snapshot(rng, 0.7, 2.0, 50, 10)
    words = np.array([["no", "No ", "FALSE", "false"], ["yes", " YES", "True", "true"]])
    text = frame.assign(churned=[words[c, i % 4] for i, c in enumerate(frame["churned"])])
    booleans = frame.assign(churned=frame["churned"].astype(bool))
    reference = _snapshot_fit(frame)
    for other in (text, booleans, frame.assign(churned=frame["churned"].astype(float))):
        assert _snapshot_fit(other).loglik_ == pytest.approx(reference.loglik_, rel=1e-12)


def test_tenure_counting_the_current_period_shifts_beta_by_one():
    # Churn alpha/(alpha + beta + t) with t = tenure - 1 is alpha/(alpha + (beta - 1) + tenure)
    rng = np.random.default_rng(9)
    frame = simulate_snapshot(rng, 0.8, 3.0, 200, 24)
    counted = frame.assign(tenure=frame["tenure"] + 1)
    shifted = _snapshot_fit(counted, tenure_counts_current=True)
    plain = _snapshot_fit(frame)
    assert shifted.alpha_ == pytest.approx(plain.alpha_, rel=1e-9)
    assert shifted.beta_ == pytest.approx(plain.beta_, rel=1e-9)
    assert _snapshot_fit(counted).beta_ == pytest.approx(plain.beta_ - 1, rel=1e-8)
    # rows with tenure 0 joined during the observed period: left out, and said so
    joined = pd.concat([counted, pd.DataFrame({"tenure": [0] * 7, "churned": [0] * 7})])
    fit = _snapshot_fit(joined, tenure_counts_current=True)
    assert fit.alpha_ == pytest.approx(plain.alpha_, rel=1e-9)
    assert fit.rows_dropped_ == 7 and fit.rows_used_ == len(frame)
    assert "7 row(s) with tenure 0 left out" in str(fit.summary())


@pytest.mark.slow
def test_snapshot_interval_coverage_and_chi_square_size():
    # 200 snapshots of ~2,000 customers from known alpha, beta: 90% intervals should cover
    # about 90% of the time (85-95% allowed), and the χ² test reject about 5% of them.
    rng = np.random.default_rng(20250101)
    alpha, beta = 0.6, 3.0
    covered, rejected = np.zeros(2), 0
    for _ in range(200):
        fit = _snapshot_fit(simulate_snapshot(rng, alpha, beta, 150, 36))
        ci = fit.conf_int(0.90)
        covered += (ci["lower"] <= [alpha, beta]) & ([alpha, beta] <= ci["upper"])
        rejected += fit.gof_.pvalue < 0.05
    assert np.all((170 <= covered) & (covered <= 190)), covered
    assert 2 <= rejected <= 20, rejected


# -- periods --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("period", "written"),
    [("quarter", "quarter"), (3, "quarter"), (12, "year"), (1, "month"), (6, 6), (3.0, "quarter")],
)
def test_period_names_and_months(period, written):
    fit = fit_sbg(HIGH_END[:8], period)
    assert fit.period == written and fit.sbg_block()["period"] == written
    assert fit.alpha_ == pytest.approx(0.668, abs=0.001)  # the unit does not change the fit


@pytest.mark.parametrize("period", ["week", 0, 2.5, True, "3", -12])
def test_bad_period_is_refused(period):
    with pytest.raises(CalibrationError, match="period must be one of"):
        fit_sbg(REGULAR[:8], period)


def test_quarterly_fit_runs_in_the_engine_matching_at_whole_quarters(tmp_path):
    rng = np.random.default_rng(4)
    frame = simulate_snapshot(rng, 0.9, 4.0, 300, 20)
    fit = _snapshot_fit(frame, "quarter")
    path = fit.to_yaml(tmp_path / "core.yaml", "core", uncertain=False)
    data = one_segment(new_customers_per_month=0, referral_rate=0.0, tenure_months=0)
    del data["segments"]["core"]["monthly_churn"]
    data["segments"]["core"]["sbg"] = yaml.safe_load(path.read_text())["segments"]["core"]["sbg"]
    data["horizon_months"] = 36
    scenario = cxsim.load_scenario(data)
    assert scenario.segments["core"].sbg.period == "quarter"
    customers = cxsim.simulate(scenario, seed=0).metric("customers", "core")[1, 0]
    quarters = np.arange(12)
    start = customers[0]
    np.testing.assert_allclose(customers[3 * quarters] / start, fit.survival(quarters), atol=1e-4)
    # a period of 6 months is a scenario period too
    data["segments"]["core"]["sbg"]["period"] = 6
    customers = cxsim.simulate(cxsim.load_scenario(data), seed=0).metric("customers", "core")[1, 0]
    np.testing.assert_allclose(
        customers[6 * quarters[:6]] / start, fit.survival(quarters[:6]), atol=1e-4
    )


def test_scenario_refuses_an_unknown_period():
    data = one_segment()
    del data["segments"]["core"]["monthly_churn"]
    data["segments"]["core"]["sbg"] = {"alpha": 1.0, "beta": 3.0, "period": "week"}
    with pytest.raises(cxsim.errors.ScenarioError) as info:
        cxsim.load_scenario(data)
    message = str(info.value)
    assert "segments.core.sbg.period: not a period (got 'week'" in message
    assert "month, quarter, year or a whole number of months" in message


# -- χ² goodness of fit ---------------------------------------------------------------------
def test_chi_square_by_hand():
    first = np.arange(5)
    at_risk = np.array([100.0, 80, 60, 50, 40])
    churned = np.array([20.0, 10, 9, 4, 6])
    hazard = np.array([0.2, 0.15, 0.12, 0.1, 0.09])
    gof = chi_square(first, at_risk, churned, hazard)
    e = at_risk * hazard  # 20, 12, 7.2, 5, 3.6: the last band joins the one before
    n = np.array([100, 80, 60, 90])
    o = np.array([20, 10, 9, 10])
    e = np.array([20, 12, 7.2, 8.6])
    assert gof.statistic == pytest.approx(np.sum((o - e) ** 2 * (1 / e + 1 / (n - e))))
    assert gof.df == 2 and gof.pvalue == pytest.approx(stats.chi2.sf(gof.statistic, 2))
    assert list(gof.table["first"]) == [0, 1, 2, 3] and list(gof.table["last"]) == [0, 1, 2, 4]
    too_few = chi_square(first[:2], at_risk[:2], churned[:2], hazard[:2])
    assert too_few.df == 0 and np.isnan(too_few.pvalue) and too_few.passed is None
    assert "not tested" in too_few.line()


def test_chi_square_passes_on_sbg_data():
    fit = _snapshot_fit(simulate_snapshot(np.random.default_rng(21), 0.6, 3.0, 300, 36))
    assert fit.gof_.passed and fit.gof_.df == len(fit.gof_.table) - 2
    assert (fit.gof_.table["expected"] >= 5).all()
    assert not any(note.startswith("Warning") for note in fit.notes)
    assert "passes at 0.05" in str(fit.summary())
    assert fit_sbg(REGULAR[:8]).gof_.pvalue == pytest.approx(0.918, abs=0.001)


def test_chi_square_fails_and_warns_when_churn_rises_with_tenure():
    # Churn that falls early, then rises with tenure (a bathtub): no sBG does that.
    rng = np.random.default_rng(5)
    t = np.repeat(np.arange(36), 150)
    churn = 0.4 / (1 + t / 2) + 0.003 * t
    frame = pd.DataFrame({"tenure": t, "churned": (rng.random(t.size) < churn).astype(int)})
    fit = _snapshot_fit(frame)
    assert fit.gof_.passed is False and fit.gof_.pvalue < 1e-4
    text = str(fit.summary())
    assert "FAILS at 0.05" in text and "Warning: the χ² test rejects the sBG" in text
    assert "non-contractual" in text and "largest departure is at tenure" in text
    # churn that only rises has no sBG fit at all; the error says what the data do
    frame["churned"] = (rng.random(t.size) < 0.05 + 0.004 * t).astype(int)
    with pytest.raises(CalibrationError, match="churn does not fall with tenure") as info:
        _snapshot_fit(frame)
    assert "among the older half" in str(info.value)


def test_chi_square_flags_the_high_end_cohort():
    # Fader & Hardie's High End cohort loses more customers in year 2 (126 of 869) than in
    # year 1 (131 of 1,000): churn rising from year 1 to 2 is beyond any sBG, and the χ² test
    # on years 0-7 says so; over all 12 years the rest of the curve dominates and it passes.
    fit = fit_sbg(HIGH_END[:8])
    assert fit.gof_.pvalue == pytest.approx(0.031, abs=0.001)
    assert "largest departure is at period 2: 126 churners observed" in fit.notes[-1]
    assert fit_sbg(HIGH_END).gof_.passed


def test_snapshot_summary_plot_and_yaml(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = simulate_snapshot(np.random.default_rng(3), 0.6, 3.0, 300, 36)
    fit = _snapshot_fit(frame)
    text = str(fit.summary())
    for word in ("snapshot, tenure 0–35", "Churners by tenure", "χ² goodness of fit"):
        assert word in text
    assert len(fit.summary(max_bands=5).tables[1].frame) == 5
    ax = fit.plot()
    assert "tenure" in ax.get_xlabel()
    plt.close(ax.figure)
    doc = yaml.safe_load(fit.to_yaml(tmp_path / "s.yaml", "core").read_text())
    record = doc["provenance"]["sbg_core"]
    assert record["method"].startswith("sBG maximum likelihood, left-truncated snapshot")
    assert record["layout"] == "snapshot" and record["tenure"] == "tenure"
    assert record["goodness_of_fit"]["p_value"] == pytest.approx(fit.gof_.pvalue)
    assert record["data_sha256"] == frame_sha256(frame[["tenure", "churned"]])
    assert doc["segments"]["core"]["sbg"]["period"] == "month"


# -- snapshot problems ----------------------------------------------------------------------
def test_snapshot_problems_are_located_all_at_once(tmp_path):
    path = tmp_path / "snapshot.csv"
    path.write_text(
        "id,tenure,left\n"
        "1,3,no\n"
        "2,-1,yes\n"  # line 3
        "\n"
        "3,2.5,maybe\n"  # line 5
        "4,,No\n"  # line 6
        "5,7,\n"  # line 7
    )
    with pytest.raises(CalibrationError) as info:
        fit_sbg(read_table(path), "month", tenure="tenure", churned="left")
    lines = str(info.value).splitlines()
    assert lines == [
        # the column has an empty cell, so pandas reads its numbers as floats
        f"{path}:3: tenure: out of range (got -1; allowed whole periods ≥ 0 completed)",
        f"{path}:5: tenure: out of range (got 2.5; allowed whole periods ≥ 0 completed)",
        f"{path}:6: tenure: not a number (got an empty cell; allowed whole periods ≥ 0 completed)",
        f"{path}:5: left: not a churn flag (got 'maybe'; allowed 0/1, yes/no, true/false)",
        f"{path}:7: left: not a churn flag (got an empty cell; allowed 0/1, yes/no, true/false)",
    ]
    with pytest.raises(CalibrationError, match=r"snapshot.csv: churned: no such column"):
        fit_sbg(read_table(path), "month", tenure="tenure", churned="churned")


@pytest.mark.parametrize(
    ("frame", "kwargs", "words"),
    [
        (pd.DataFrame({"tenure": [0, 1, 2], "churned": [0, 0, 0]}), {}, ["no churn events"]),
        (pd.DataFrame({"tenure": [0, 1, 2], "churned": [1, 1, 1]}), {}, ["every customer churned"]),
        (pd.DataFrame({"tenure": [4, 4, 4], "churned": [1, 0, 0]}), {}, ["same tenure (4)"]),
        (
            pd.DataFrame({"tenure": [1, 2], "churned": [1, 0], "n": [-1, 2]}),
            {"weights": "n"},
            ["row 0: n: out of range (got -1"],
        ),
        (pd.DataFrame({"tenure": [0, 1], "churned": [1, 0]}), {"period": None}, ["period="]),
        (pd.DataFrame({"tenure": [0, 1], "churned": [1, 0]}), {"n0": 10}, ["n0= belong"]),
        ([1, 2, 3], {}, ["pass a pandas DataFrame"]),
    ],
)
def test_bad_snapshots_raise_calibration_error(frame, kwargs, words):
    kwargs = {"period": "month", **kwargs}
    with pytest.raises(CalibrationError) as info:
        fit_sbg(frame, tenure="tenure", churned="churned", **kwargs)
    for word in words:
        assert word in str(info.value)


def test_snapshot_options_need_a_snapshot():
    with pytest.raises(CalibrationError, match="give tenure= and churned="):
        fit_sbg(REGULAR[:8], weights="n")
    with pytest.raises(CalibrationError, match="both tenure= and churned="):
        fit_sbg(pd.DataFrame({"tenure": [1]}), "month", tenure="tenure")


def test_cohort_table_problems_are_located(tmp_path):
    path = tmp_path / "cohorts.csv"
    path.write_text(
        "cohort,year,active\n"
        "2020,0,100\n2020,1,120\n2020,2,90\n"  # lines 2-4: a rise at line 3
        "2021,0,50\n2021,1,x\n"  # line 6: not a number
        "2022,0,40\n2022,0,39\n"  # line 8: duplicate
        "2023,0,30\n2023,2,20\n"  # period 1 missing
    )
    with pytest.raises(CalibrationError) as info:
        fit_sbg(read_table(path), count_col="active")
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}:6: active: not a number (got 'x'; allowed a count of customers ≥ 0)",
        f"{path}:8: year: cohort 2022: duplicate period (first at {path}:7) (got 0; one row "
        "per cohort and period)",
        f"{path}:3: active: cohort 2020: active count increases from 100 at period 0 to 120 "
        "at period 1 (got 120; a cohort can only shrink; new customers belong to a new cohort)",
        f"{path}:10: year: cohort 2023: period 1 missing before this row (got 2; periods run "
        "0, 1, 2, ... without gaps; period 0 is the initial size)",
    ]
