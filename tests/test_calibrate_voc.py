"""VoC calibration (docs/model.md §7) and its synthetic truth: recovery, exactness, errors."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy import optimize
from scipy.special import expit

from cxsim.calibrate.glm import fit_logit
from cxsim.calibrate.voc import counterfactual, fit_voc
from cxsim.calibrate.voc_result import yaml_shares
from cxsim.datasets.voc_truth import (
    SegmentTruth,
    expected_estimates,
    pattern_distribution,
    simulate_voc,
)
from cxsim.errors import CalibrationError

GROUPS = ["billing", "support", "product", "it", "logistics"]
SPEND = {"spend_before": "spend_before", "spend_after": "spend_after"}


def _truth(weight, churn, c, shares, prevalence, **kw) -> SegmentTruth:
    base = dict(
        promoters=0.35,
        detractors=0.25,
        promoter_gain=0.12,
        detractor_reduction=0.35,
        spend=60.0,
        wallet_lift=0.06,
    )
    base.update(kw)
    return SegmentTruth(
        weight=weight,
        churn_12m=churn,
        gap_prevalence=dict(zip(GROUPS, prevalence, strict=True)),
        churn_reduction=c,
        pain_share=dict(zip(GROUPS, shares, strict=True)),
        **base,
    )


TRUTH = {
    "core": _truth(0.5, 0.18, 0.35, [0.35, 0.25, 0.2, 0.1, 0.1], [0.3, 0.25, 0.2, 0.15, 0.1]),
    "value": _truth(
        0.3,
        0.25,
        0.25,
        [0.1, 0.45, 0.2, 0.15, 0.1],
        [0.2, 0.3, 0.2, 0.15, 0.1],
        promoters=0.25,
        detractors=0.35,
        promoter_gain=0.08,
        detractor_reduction=0.25,
        wallet_lift=0.04,
    ),
    "premium": _truth(
        0.2,
        0.12,
        0.45,
        [0.2, 0.2, 0.3, 0.2, 0.1],
        [0.25, 0.2, 0.3, 0.2, 0.1],
        promoters=0.5,
        detractors=0.15,
        promoter_gain=0.15,
        detractor_reduction=0.45,
        wallet_lift=0.09,
    ),
}


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return simulate_voc(TRUTH, 20_000, seed=42)


@pytest.fixture(scope="module")
def result(survey):
    return fit_voc(survey, share_of_wallet=0.4, bootstrap=100, seed=1, **SPEND)


# ----------------------------------------------------------------------------- generator
def test_generator_columns_and_ranges(survey):
    gap_cols = [f"gap_{g}" for g in GROUPS]
    assert list(survey.columns) == [
        "respondent_id",
        "segment",
        *gap_cols,
        "ltr",
        "churned_12m",
        "spend_before",
        "spend_after",
    ]
    assert len(survey) == 20_000 and survey["respondent_id"].is_unique
    for col in [*gap_cols, "churned_12m"]:
        assert set(np.unique(survey[col])) <= {0, 1}
    assert survey["ltr"].between(0, 10).all()
    assert set(np.unique(survey["ltr"])) == set(range(11))
    assert (survey["spend_before"] > 0).all() and (survey["spend_after"] > 0).all()
    assert set(survey["segment"]) == set(TRUTH)


def test_generator_means_near_truth():
    df = simulate_voc(TRUTH, 300_000, seed=3)
    for name, t in TRUTH.items():
        part = df[df["segment"] == name]
        n = len(part)
        assert abs(n / len(df) - t.weight) < 0.01
        for col, target in (
            ("churned_12m", t.churn_12m),
            ("promoter", t.promoters),
            ("detractor", t.detractors),
        ):
            if col == "promoter":
                value = (part["ltr"] >= 9).mean()
            elif col == "detractor":
                value = (part["ltr"] <= 6).mean()
            else:
                value = part[col].mean()
            assert abs(value - target) < 5 * np.sqrt(target * (1 - target) / n), (name, col)
        for g in GROUPS:
            q = t.gap_prevalence[g]
            assert abs(part[f"gap_{g}"].mean() - q) < 5 * np.sqrt(q * (1 - q) / n)
        assert part["spend_before"].mean() == pytest.approx(t.spend, rel=0.01)


def test_generator_is_deterministic():
    a = simulate_voc(TRUTH, 2000, seed=7)
    b = simulate_voc(TRUTH, 2000, seed=np.random.default_rng(7))
    c = simulate_voc(TRUTH, 2000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["churned_12m"].equals(c["churned_12m"])


def test_solved_coefficients_reproduce_the_truth_exactly():
    for t in TRUTH.values():
        coef = t.solve()
        x, w = pattern_distribution(coef.prevalence)
        design = np.column_stack([np.ones(len(x)), x])
        assert w @ expit(design @ coef.churn) == pytest.approx(t.churn_12m, abs=1e-10)
        obs, none, without = counterfactual(coef.churn, design, w, hazard=True)
        assert 1 - none / obs == pytest.approx(t.churn_reduction, abs=1e-10)
        removal = obs - without
        np.testing.assert_allclose(removal / removal.sum(), list(t.pain_share.values()), atol=1e-9)
        obs, none, _ = counterfactual(coef.promoter, design, w)
        assert (obs, none - obs) == pytest.approx((t.promoters, t.promoter_gain), abs=1e-10)
        obs, none, _ = counterfactual(coef.detractor, design, w)
        assert (obs, 1 - none / obs) == pytest.approx(
            (t.detractors, t.detractor_reduction), abs=1e-10
        )
        obs, none, _ = counterfactual(coef.log_spend, design, w, link="log")
        assert none / obs - 1 == pytest.approx(t.wallet_lift, abs=1e-10)


def test_generator_rejects_infeasible_truths():
    with pytest.raises(ValueError, match="infeasible"):
        _truth(1, 0.3, 0.95, [0.2] * 5, [0.01] * 5).solve()
    with pytest.raises(ValueError, match="sum to 1"):
        _truth(1, 0.3, 0.3, [0.3] * 5, [0.2] * 5)
    with pytest.raises(ValueError, match="nobody experiences"):
        _truth(1, 0.3, 0.3, [0.2] * 5, [0.2, 0.2, 0.2, 0.2, 0.0])
    with pytest.raises(ValueError, match="promoter \\+ detractor"):
        _truth(
            1, 0.2, 0.3, [0.2] * 5, [0.5] * 5, promoters=0.45, detractors=0.5,
            promoter_gain=0.5, detractor_reduction=0.0,
        ).solve()  # fmt: skip


# ----------------------------------------------------------------------------- exactness
def test_counterfactual_matches_hand_computation():
    # Two groups, four patterns with hand-picked weights and coefficients.
    beta = np.array([-2.0, 0.8, 0.4])
    x = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], float)
    w = np.array([0.5, 0.2, 0.2, 0.1])
    p = expit(np.array([-2.0, -1.2, -1.6, -0.8]))
    obs, none, without = counterfactual(beta, x, w)
    assert obs == pytest.approx(w @ p, abs=1e-15)
    assert 1 - none / obs == pytest.approx(1 - expit(-2) / (w @ p), abs=1e-15)
    # Only billing removed: patterns (1,0)->(0,0) and (1,1)->(0,1).
    p_wo_billing = w @ expit(np.array([-2.0, -2.0, -1.6, -1.6]))
    p_wo_support = w @ expit(np.array([-2.0, -1.2, -2.0, -1.2]))
    np.testing.assert_allclose(without, [p_wo_billing, p_wo_support], atol=1e-15)


def test_grouped_fit_on_expected_outcomes_gives_the_exact_truth():
    # Cells weighted by their probabilities with expected (fractional) events: the MLE is the
    # generator's coefficients, so the fitted churn reduction is the truth itself.
    for t in TRUTH.values():
        coef = t.solve()
        x, w = pattern_distribution(coef.prevalence)
        design = np.column_stack([np.ones(len(x)), x])
        trials = 1e6 * w[None, :]
        fit = fit_logit(design, trials, trials * expit(design @ coef.churn))
        np.testing.assert_allclose(fit.beta[0], coef.churn, atol=1e-8)
        obs, none, without = counterfactual(fit.beta, design, trials, hazard=True)
        assert 1 - none[0] / obs[0] == pytest.approx(t.churn_reduction, abs=1e-6)
        share = (obs[:, None] - without)[0]
        np.testing.assert_allclose(share / share.sum(), list(t.pain_share.values()), atol=1e-6)


def test_saturated_single_gap_fit_is_exact():
    # Two rich cells: churn 10% without the gap, 30% with it. Closing the gap moves the mean
    # monthly hazard from (h(0.1) + h(0.3)) / 2 to h(0.1), h(p) = 1 - (1 - p)^(1/12).
    rows = [(0, 1)] * 100 + [(0, 0)] * 900 + [(1, 1)] * 300 + [(1, 0)] * 700
    df = pd.DataFrame(rows, columns=["gap_billing", "churned_12m"])
    df["segment"] = "core"
    res = fit_voc(df, score=None, bootstrap=0)
    est = res.estimates_.set_index("parameter")["estimate"]
    h = lambda p: 1 - (1 - p) ** (1 / 12)  # noqa: E731
    assert est["churn_reduction"] == pytest.approx(1 - h(0.1) / ((h(0.1) + h(0.3)) / 2), abs=1e-12)
    assert est["churn_reduction"] == pytest.approx(0.5402, abs=1e-4)  # 0.5 on the 12-month scale
    assert est["pain_share.billing"] == pytest.approx(1.0, abs=1e-12)


def test_grouped_fit_equals_ungrouped_statsmodels(survey):
    small = survey[survey["segment"] == "core"].head(3000)
    res = fit_voc(small, bootstrap=0, **SPEND)
    x = sm.add_constant(small[[f"gap_{g}" for g in GROUPS]].astype(float))
    models = res.models_.set_index(["outcome", "term"])
    for outcome, y in (
        ("churn", small["churned_12m"]),
        ("promoter", small["ltr"] >= 9),
        ("detractor", small["ltr"] <= 6),
    ):
        ref = sm.Logit(y.astype(float), x).fit(disp=0, tol=1e-12)
        np.testing.assert_allclose(models.loc[outcome, "coef"], ref.params, atol=1e-6)
        np.testing.assert_allclose(models.loc[outcome, "se"], ref.bse, atol=1e-6)
    ref = sm.OLS(np.log(small["spend_after"] / small["spend_before"]), x).fit()
    np.testing.assert_allclose(models.loc["spend", "coef"], ref.params, atol=1e-9)
    np.testing.assert_allclose(models.loc["spend", "se"], ref.bse, atol=1e-9)


def test_firth_on_a_2x2_table_adds_half_a_count_to_every_cell():
    # Firth (1993, §3): for a saturated 2×2 table the penalised estimate is the plain one
    # with 0.5 added to every cell, finite even when a cell is empty (separation).
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    trials, events = np.array([[40.0, 12.0]]), np.array([[9.0, 12.0]])
    fit = fit_logit(x, trials, events, firth=True)
    odds = (events + 0.5) / (trials - events + 0.5)
    np.testing.assert_allclose(fit.beta[0], [np.log(odds[0, 0]), np.log(odds[0, 1] / odds[0, 0])])


def test_firth_maximises_the_penalised_likelihood():
    # Not saturated (four patterns, three coefficients): compare with a direct maximisation of
    # l(β) + ½ log det I(β) by a general-purpose optimiser.
    x = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], float)
    trials = np.array([[30.0, 8.0, 12.0, 5.0]])
    events = np.array([[4.0, 3.0, 5.0, 5.0]])  # every respondent with both gaps churned

    def penalised(beta):
        mu = expit(x @ beta)
        info = x.T @ ((trials[0] * mu * (1 - mu))[:, None] * x)
        ll = events[0] @ np.log(mu) + (trials[0] - events[0]) @ np.log1p(-mu)
        return -(ll + 0.5 * np.linalg.slogdet(info)[1])

    ref = optimize.minimize(penalised, np.zeros(3), method="BFGS", options={"gtol": 1e-10})
    fit = fit_logit(x, trials, events, firth=True)
    assert fit.ok[0]
    np.testing.assert_allclose(fit.beta[0], ref.x, atol=1e-5)


# ----------------------------------------------------------------------------- recovery
def test_recovers_the_truth_at_large_n():
    df = simulate_voc(TRUTH, 400_000, seed=11)
    res = fit_voc(df, bootstrap=100, seed=2, **SPEND)
    got = res.estimates_.merge(expected_estimates(TRUTH), on=["segment", "parameter"])
    assert len(got) == len(TRUTH) * (4 + len(GROUPS))
    err = (got["estimate"] - got["truth"]).abs()
    assert (err < 4 * got["se"] + 1e-4).all(), got[err >= 4 * got["se"]]
    assert err.max() < 0.03


def test_pain_shares_sum_to_one(result):
    np.testing.assert_allclose(result.pain_share_.sum(axis=1), 1.0, atol=1e-12)
    boot = result.bootstrap_
    for s in TRUTH:
        cols = [(s, f"pain_share.{g}") for g in GROUPS]
        np.testing.assert_allclose(boot[cols].sum(axis=1), 1.0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("score_law", ["logistic", "linear"])
def test_90_percent_intervals_cover_the_truth(score_law):
    """Over 60 surveys per score law, each family's 90% intervals cover about 90% of the time.

    Under the linear score law no logistic model describes promoters and detractors; the
    estimates rest on the no-gap cell's own rates, so they cover all the same. The bounds are
    0.9 ± 3 binomial SDs of 180 intervals (3 segments × 60 surveys): a family whose intervals
    are too narrow or biased fails.
    """
    truth_of = {s: dataclasses.replace(t, score_law=score_law) for s, t in TRUTH.items()}
    truth = expected_estimates(truth_of).set_index(["segment", "parameter"])["truth"]
    hits = []
    for rep in range(60):
        df = simulate_voc(truth_of, 20_000, seed=5000 + rep)
        ci = fit_voc(df, bootstrap=200, seed=rep, level=0.9, **SPEND).conf_int().loc[truth.index]
        hits.append((ci["lower"] <= truth) & (truth <= ci["upper"]))
    covered = pd.concat(hits, axis=1)  # (segment × parameter, survey)
    family = covered.index.get_level_values("parameter").str.split(".").str[0]
    coverage = covered.groupby(family).apply(lambda f: f.to_numpy().mean())
    for name in ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_lift"):
        assert 0.83 <= coverage[name] <= 0.97, coverage
    # 900 pain-share intervals, correlated within a survey: the same ± 0.07
    assert 0.83 <= coverage["pain_share"] <= 0.97, coverage


@pytest.mark.slow
def test_bootstrap_scheme_matches_a_respondent_bootstrap():
    df = simulate_voc({"core": TRUTH["core"]}, 5000, seed=5)
    scheme = fit_voc(df, bootstrap=2000, seed=3, **SPEND).estimates_.set_index("parameter")
    rng = np.random.default_rng(9)
    draws = [
        fit_voc(
            df.iloc[rng.integers(0, len(df), len(df))], bootstrap=0, **SPEND
        ).estimates_.set_index("parameter")["estimate"]
        for _ in range(300)
    ]
    brute = pd.concat(draws, axis=1).std(axis=1)
    ratio = scheme["se"] / brute
    assert ratio.between(0.8, 1.25).all(), ratio


@pytest.mark.slow
def test_a_million_respondents_fit_fast():
    df = simulate_voc(TRUTH, 1_000_000, seed=1)
    start = time.perf_counter()
    fit_voc(df, bootstrap=0, **SPEND)
    assert time.perf_counter() - start < 5


# ----------------------------------------------------------------------------- results
def test_result_tables_and_text(result):
    est = result.estimates_
    assert list(est.columns) == ["segment", "parameter", "estimate", "se", "lower", "upper"]
    assert (est["lower"] <= est["estimate"]).all() and (est["estimate"] <= est["upper"]).all()
    assert set(est["parameter"]) >= {"churn_reduction", "wallet_gain", "pain_share.it"}
    churn = result.churn_models_
    assert {"coef", "se", "z", "p_value", "odds_ratio"} <= set(churn.columns)
    assert len(churn) == len(TRUTH) * (1 + len(GROUPS))
    diag = result.diagnostics_.set_index("segment")
    assert diag["rows_used"].sum() == 20_000 and (diag["rows_dropped"] == 0).all()
    assert (diag["churn_auc"] > 0.5).all() and (diag["churn_pseudo_r2"] > 0).all()
    text = str(result.summary())
    for word in ("churn_reduction", "Pain shares", "Churn models", "bootstrap", "AUC".lower()):
        assert word in text
    assert "<table" in result._repr_html_()
    narrow = result.conf_int(level=0.5)
    wide = result.conf_int()
    assert ((narrow["upper"] - narrow["lower"]) <= (wide["upper"] - wide["lower"]) + 1e-12).all()


def test_bootstrap_is_deterministic(survey):
    a = fit_voc(survey, bootstrap=30, seed=5).estimates_
    b = fit_voc(survey, bootstrap=30, seed=5).estimates_
    pd.testing.assert_frame_equal(a, b)


def test_delta_method_without_bootstrap(survey, tmp_path):
    res = fit_voc(survey, bootstrap=0, share_of_wallet={s: 0.3 for s in TRUTH}, **SPEND)
    assert res.bootstrap_ is None
    est = res.estimates_
    assert (est.loc[est["parameter"] == "churn_reduction", "se"] > 0).all()
    assert "delta" in str(res.summary())
    doc = yaml.safe_load(res.to_yaml(tmp_path / "voc.yaml").read_text())
    assert doc["segments"]["core"]["responses"]["churn_reduction"]["sd"] > 0


def test_plot_returns_axes(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = result.plot()
    assert len(ax.patches) == len(TRUTH) * len(GROUPS)
    fig, ax2 = plt.subplots()
    assert result.plot(ax=ax2) is ax2
    plt.close("all")


def test_absent_gap_gets_zero_share_and_a_note(survey):
    df = survey.copy()
    df.loc[df["segment"] == "value", "gap_it"] = 0
    res = fit_voc(df, bootstrap=20)
    assert res.pain_share_.loc["value", "it"] == 0
    assert res.pain_share_.loc["value"].sum() == pytest.approx(1)
    assert any("'it'" in n and "value" in n for n in res.notes)


def test_gap_mapping_and_wallet_note(survey):
    res = fit_voc(survey, gaps={"bill": "gap_billing", "help": "gap_support"}, bootstrap=0, **SPEND)
    assert list(res.pain_share_.columns) == ["bill", "help"]
    assert "wallet_gain" not in set(res.estimates_["parameter"])
    assert "wallet_gain omitted" in str(res.summary())


def test_a_misfitting_logistic_model_is_flagged_and_the_cells_decide():
    # Churn 5% with no gap, 6% with either, 40% with both: no main-effects logistic model
    # fits. Every pattern is rich, so the estimates are the cells' own rates.
    rows = []
    for (a, b), churners in {(0, 0): 250, (1, 0): 300, (0, 1): 300, (1, 1): 2000}.items():
        rows += [(a, b, 1)] * churners + [(a, b, 0)] * (5000 - churners)
    df = pd.DataFrame(rows, columns=["gap_billing", "gap_it", "churned_12m"]).assign(segment="s")
    res = fit_voc(df, score=None, bootstrap=0)
    gof = res.gof_.set_index("outcome").loc["churn"]
    assert gof["p_value"] < 1e-6 and gof["rich_cells"] == 4
    assert any("main-effects logistic model of churn misfits" in n for n in res.notes)

    def h(p):
        return 1 - (1 - p) ** (1 / 12)

    observed = (h(0.05) + 2 * h(0.06) + h(0.4)) / 4
    est = res.params_.loc["s"]
    assert est["churn_reduction"] == pytest.approx(1 - h(0.05) / observed, rel=1e-12)
    assert est["pain_share.billing"] == pytest.approx(0.5, abs=1e-12)  # the gaps are symmetric


def test_a_fitting_logistic_model_is_not_flagged(result):
    assert (result.gof_["p_value"] > 0.01).all()
    assert not any("misfits" in n for n in result.notes)


def _with_unowned(n: int, seed: int) -> pd.DataFrame:
    truth = SegmentTruth(
        weight=1,
        churn_12m=0.2,
        gap_prevalence={"billing": 0.3, "it": 0.2, "other": 0.25},
        churn_reduction=0.35,
        pain_share={"billing": 0.5, "it": 0.3, "other": 0.2},
        promoters=0.3,
        detractors=0.3,
        promoter_gain=0.1,
        detractor_reduction=0.3,
        spend=50.0,
        wallet_lift=0.05,
    )
    return simulate_voc({"core": truth}, n, seed=seed)


def test_the_unowned_share_is_kept_and_not_written(tmp_path):
    res = fit_voc(_with_unowned(100_000, 3), bootstrap=100, seed=4)
    est, se = res.params_.loc["core"], res.se_.loc["core"]
    for group, share in {"billing": 0.5, "it": 0.3, "other": 0.2}.items():
        assert abs(est[f"pain_share.{group}"] - share) < 4 * se[f"pain_share.{group}"]
    assert res.unowned == "other" and res.work_groups == ["billing", "it"]
    assert any("pain_share.other is the share no work group owns" in n for n in res.notes)
    doc = yaml.safe_load(res.to_yaml(tmp_path / "voc.yaml").read_text())
    assert set(doc["work_groups"]) == {"billing", "it"}
    written = sum(doc["work_groups"][g]["pain_share"]["core"] for g in ("billing", "it"))
    assert written == pytest.approx(1 - est["pain_share.other"], abs=1e-5) and written <= 1
    table = pd.read_csv(tmp_path / "voc_samples.csv")
    rows = table[[f"work_groups.{g}.pain_share.core" for g in ("billing", "it")]].sum(axis=1)
    other = res.bootstrap_[("core", "pain_share.other")].to_numpy()
    assert (rows <= 1).all() and np.allclose(rows, 1 - np.clip(other, 0, 1), atol=1e-3)


def test_without_an_unowned_column_the_shares_are_relative_to_the_modelled_gaps():
    df = _with_unowned(20_000, 3).drop(columns="gap_other")
    res = fit_voc(df, bootstrap=0)
    assert res.unowned is None
    assert any(n.startswith("pain shares are relative to the modelled gaps") for n in res.notes)
    assert res.pain_share_.loc["core"].sum() == pytest.approx(1.0, abs=1e-12)


def test_poorly_identified_shares_are_named(survey, result):
    assert not any("poorly identified" in n for n in result.notes)  # 4,000+ per segment
    small = fit_voc(survey.groupby("segment", observed=True).head(400), bootstrap=100, seed=2)
    se = small.se_
    noisy = se[se.index.get_level_values("parameter").str.startswith("pain_share.") & (se > 0.2)]
    assert len(noisy)  # 400 respondents cannot say who owns the removable churn
    for (segment, parameter), sd in noisy.items():
        group = parameter.split(".", 1)[1]
        (note,) = [n for n in small.notes if n.startswith(f"segment {segment!r}: pain share")]
        assert f"{group} {small.params_[(segment, parameter)]:.3g} (SD {sd:.2g})" in note
        assert "SD above 0.2" in note and "treat them as assumptions" in note


def test_skip_and_small_segments(survey, tmp_path):
    sizes = survey["segment"].value_counts()  # core 9,938, value 6,100, premium 3,962
    skipped = fit_voc(survey, bootstrap=0, skip=["premium"])
    assert list(skipped.pain_share_.index) == ["core", "value"]
    assert skipped.rows_dropped == sizes["premium"]
    assert any("premium skipped as asked" in n for n in skipped.notes)
    dropped = fit_voc(survey, bootstrap=0, min_rows=5000)
    assert list(dropped.pain_share_.index) == ["core", "value"]
    assert any("fewer than 5000 rows and were skipped" in n for n in dropped.notes)
    pooled = fit_voc(survey, bootstrap=20, min_rows=7000, merge_small=True, **SPEND,
                     share_of_wallet={"core": 0.4, "value": 0.3, "premium": 0.5})  # fmt: skip
    assert pooled.members == {"core": ["core"], "value+premium": ["value", "premium"]}
    assert pooled.rows_used == len(survey)
    doc = yaml.safe_load(pooled.to_yaml(tmp_path / "voc.yaml").read_text())
    value, premium = (doc["segments"][s]["responses"] for s in ("value", "premium"))
    assert value["churn_reduction"] == premium["churn_reduction"]
    lift = pooled.params_[("value+premium", "wallet_lift")]
    assert value["wallet_gain"] == pytest.approx(lift * 0.3, rel=1e-5)
    assert premium["wallet_gain"] == pytest.approx(lift * 0.5, rel=1e-5)
    alone = fit_voc(survey, bootstrap=0, min_rows=5000, merge_small=True)
    assert list(alone.pain_share_.index) == ["core", "value", "premium"]
    assert any("no other small segment to pool with" in n for n in alone.notes)
    _raises(survey, "skip names segment(s) not in the survey", skip=["gold"])
    _raises(survey, "merge_small pools the segments under min_rows", merge_small=True)


# ----------------------------------------------------------------------------- files
def test_to_yaml_writes_point_estimates_and_the_replicates(result, tmp_path):
    path = result.to_yaml(tmp_path / "voc.yaml")
    doc = yaml.safe_load(path.read_text())
    assert set(doc) == {"segments", "work_groups", "samples", "provenance"}
    assert doc["samples"] == [{"file": "voc_samples.csv"}]
    table = pd.read_csv(tmp_path / "voc_samples.csv")
    assert len(table) == 100  # one row per replicate, none failed
    est = result.params_
    for s in TRUTH:
        responses = doc["segments"][s]["responses"]
        assert list(responses) == [
            "churn_reduction",
            "promoter_gain",
            "detractor_reduction",
            "wallet_gain",
        ]
        for key, value in responses.items():
            assert value == pytest.approx(est[(s, key)], rel=1e-5)  # a plain number
            column = table[f"segments.{s}.responses.{key}"]
            assert column.std() == pytest.approx(result.se_[(s, key)], rel=1e-3)
        assert (table[f"segments.{s}.responses.wallet_gain"] <= 0.6).all()
        shares = table[[f"work_groups.{g}.pain_share.{s}" for g in GROUPS]]
        assert (shares >= 0).all().all() and (shares.sum(axis=1) <= 1).all()
        total = sum(doc["work_groups"][g]["pain_share"][s] for g in GROUPS)
        assert total == pytest.approx(1, abs=1e-9)
    record = doc["provenance"]["voc"]
    for key in (
        "method",
        "rows_used",
        "rows_dropped",
        "data_sha256",
        "bootstrap",
        "seed",
        "cxsim_version",
        "date",
        "estimates",
        "samples",
    ):
        assert key in record
    assert record["rows_used"] == 20_000 and record["bootstrap"] == 100
    assert record["samples"]["rows"] == 100 and record["samples"]["replicates_dropped"] == 0
    _, _, lo, hi = record["estimates"]["core"]["pain_share.billing"]
    assert lo < doc["work_groups"]["billing"]["pain_share"]["core"] < hi


def test_replicate_rows_keep_the_joint_draws(result, tmp_path):
    """Row i of the table is replicate i of every estimate (not sorted or shuffled)."""
    result.to_yaml(tmp_path / "voc.yaml")
    table = pd.read_csv(tmp_path / "voc_samples.csv")
    boot = result.bootstrap_
    for s in TRUTH:
        column = table[f"segments.{s}.responses.churn_reduction"].to_numpy()
        np.testing.assert_allclose(column, boot[(s, "churn_reduction")], rtol=1e-9)


def test_calibration_file_is_included_by_a_scenario(survey, tmp_path):
    scenario = pytest.importorskip("cxsim.scenario")
    data = yaml.safe_load((Path(__file__).parent / "scenarios" / "minimal.yaml").read_text())
    core = survey[survey["segment"] == "core"]
    res = fit_voc(core, gaps={"support": "gap_support"}, share_of_wallet=0.3, bootstrap=50, **SPEND)
    res.to_yaml(tmp_path / "voc.yaml")
    data["include"] = ["voc.yaml"]
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data))
    scenario.load_scenario(tmp_path / "scenario.yaml")  # validates without error


def test_yaml_pain_shares_clip_negative_values():
    shares = yaml_shares(np.array([0.7, 0.5, -0.2]))
    assert shares[2] == 0 and sum(shares) == pytest.approx(1, abs=1e-12)
    assert shares[0] == pytest.approx(0.7 / 1.2, abs=1e-6)


# ----------------------------------------------------------------------------- bad data
def _raises(df, *words, **kw):
    kw.setdefault("bootstrap", 0)
    with pytest.raises(CalibrationError) as info:
        fit_voc(df, **kw)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return str(info.value)


def test_missing_columns_are_listed_together(survey):
    _raises(survey.drop(columns=["ltr", "churned_12m"]), "ltr: no such column", "churned_12m:")
    _raises(survey, "spend_x: no such column", spend_before="spend_before", spend_after="spend_x")
    _raises(survey, "gap_nope: no such column", gaps=["gap_nope", "gap_it"])


def test_every_bad_cell_is_named_at_once_by_row_label(survey):
    df = survey.copy()
    df["ltr"] = df["ltr"].astype(object)
    df.loc[3, "ltr"] = np.nan
    df.loc[17, "ltr"] = "ten"
    df.loc[4, "ltr"] = 11
    df["gap_it"] = df["gap_it"].astype(object)
    df.loc[5, "gap_it"] = "yes"
    df.loc[2, "churned_12m"] = 2
    df.loc[[1, 2], "spend_after"] = [0.0, -5.0]
    msg = _raises(df, **SPEND)
    for line in (
        "row 3: ltr: not a number (got an empty cell; allowed whole numbers 0-10)",
        "row 17: ltr: not a number (got 'ten'; allowed whole numbers 0-10)",
        "row 4: ltr: out of range (got 11; allowed whole numbers 0-10)",
        "row 5: gap_it: not a number (got 'yes'; allowed 0 or 1)",
        "row 2: churned_12m: out of range (got 2; allowed 0 or 1)",
        "row 1: spend_after: not positive (got 0.0; allowed a positive amount)",
        "row 2: spend_after: not positive (got -5.0; allowed a positive amount)",
    ):
        assert line in msg.splitlines(), (line, msg)


def test_a_survey_file_names_its_lines(survey, tmp_path):
    from cxsim.calibrate.data import read_table

    path = tmp_path / "survey.csv"
    frame = survey.head(200).copy()
    frame["ltr"] = frame["ltr"].astype(object)
    frame.loc[0, "ltr"] = 7.5
    frame.loc[9, "ltr"] = "n/a"
    frame.to_csv(path, index=False)
    msg = _raises(read_table(path))
    assert f"{path}:2: ltr: out of range (got 7.5; allowed whole numbers 0-10)" in msg
    assert f"{path}:11: ltr: not a number (got 'n/a'; allowed whole numbers 0-10)" in msg


def test_a_bad_column_is_listed_briefly(survey):
    df = survey.copy()
    df["ltr"] = df["ltr"] + 3
    msg = _raises(df)
    assert msg.count("ltr: out of range") == 10
    assert "data: ltr: ... and" in msg and "more row(s) like these" in msg


def test_gap_columns_without_the_prefix_must_be_mapped(survey):
    df = survey.rename(columns={"gap_it": "Pain - It"})
    msg = _raises(df, gaps=["gap_billing", "Pain - It"])
    assert "'Pain - It' do not start with 'gap_'" in msg
    assert "gaps={'it': 'Pain - It'}" in msg and "--gap it='Pain - It'" in msg
    res = fit_voc(df, gaps={"billing": "gap_billing", "it": "Pain - It"}, bootstrap=0)
    assert list(res.pain_share_.columns) == ["billing", "it"]


def test_segment_problems(survey):
    df = survey.copy()
    small = df.index[df["segment"] == "premium"][:30]
    df = pd.concat([df[df["segment"] != "premium"], survey.loc[small]])
    _raises(df, "segment 'premium' has 30 rows", "at least 50")
    df = survey.copy()
    df.loc[df["segment"] == "value", "churned_12m"] = 0
    _raises(df, "segment 'value' has no churn events")
    df = survey.copy()
    df.loc[df["segment"] == "core", "ltr"] = 8
    _raises(df, "segment 'core' has no promoters", "no detractors")
    df = survey.copy()
    df.loc[df["segment"] == "core", "gap_it"] = 1
    _raises(df, "'gap_it' is 1 for every respondent of segment 'core'")
    df = survey.copy()
    df["gap_copy"] = df["gap_it"]
    _raises(df, "collinear", "'gap_it' = 'gap_copy'")


def test_separation_names_segment_and_fix(survey):
    df = survey.copy()
    core = df["segment"] == "core"
    df.loc[core & (df["gap_it"] == 1), "churned_12m"] = 1
    _raises(df, "segment 'core'", "separation", "gap_it", "firth=True", "merge", "drop")
    firth = fit_voc(df, bootstrap=20, firth=True)  # the fix it names works
    assert firth.firth and any("Firth's penalised likelihood" in n for n in firth.notes)
    models = firth.churn_models_.set_index(["segment", "term"])
    assert (
        np.isfinite(models.loc[("core", "it"), "coef"]) and models.loc[("core", "it"), "coef"] > 3
    )
    assert firth.params_[("core", "pain_share.it")] > 0.9  # all of core's removable churn


def test_separated_bootstrap_replicates_are_kept_and_reported():
    # A rare gap (4 respondents, 1 churner): the sample fits, but many resamples hold only
    # non-churners with that gap (separation); they are kept at their limit and counted.
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "segment": "small",
            "gap_a": (rng.random(120) < 0.3).astype(int),
            "gap_rare": 0,
            "churned_12m": (rng.random(120) < 0.2).astype(int),
        }
    )
    rare = rng.choice(120, 4, replace=False)
    df.loc[rare, "gap_rare"] = 1
    df.loc[rare, "churned_12m"] = [1, 0, 0, 0]
    res = fit_voc(df, score=None, bootstrap=200)
    diag = res.diagnostics_.iloc[0]
    assert diag["bootstrap_separated"] > 0 and diag["bootstrap_failed"] == 0
    assert res.bootstrap_.notna().all().all()
    assert any("separation" in n for n in res.notes)


def test_bad_arguments(survey):
    _raises(survey, "together", spend_before="spend_before")
    _raises(survey, "share_of_wallet needs", share_of_wallet=0.3)
    _raises(survey, "no baseline", share_of_wallet={"core": 0.3}, **SPEND)
    _raises(survey, "bootstrap", bootstrap=-1)
    _raises(survey.to_numpy(), "DataFrame")
