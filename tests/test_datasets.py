"""Shipped data loaders and the VoC survey simulated from a scenario (cxsim.datasets)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from cxsim import datasets
from cxsim.calibrate.voc import fit_voc
from cxsim.datasets import make_voc_survey, voc_truth_of
from cxsim.datasets.voc_truth import expected_estimates
from cxsim.errors import CxsimError
from cxsim.montecarlo import simulate
from cxsim.scenario import load_scenario
from tests.conftest import FLAGSHIP, ROOT

GROUPS = ["it", "digital", "support", "billing", "onboarding", "lending", "branch"]
COLUMNS = [
    "respondent_id",
    "segment",
    *[f"gap_{g}" for g in GROUPS],
    "ltr",
    "churned_12m",
    "spend_before",
    "spend_after",
]


@pytest.fixture(scope="module")
def bank():
    return load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def truth(bank):
    return voc_truth_of(bank)


# ----------------------------------------------------------------------------- the survey
def test_columns_size_and_types(bank):
    survey = make_voc_survey(bank, n=3000, seed=1)
    assert list(survey.columns) == COLUMNS
    assert len(survey) == 3000
    assert list(survey["segment"].cat.categories) == list(bank.segments)
    for column in [c for c in COLUMNS if c.startswith("gap_")] + ["churned_12m"]:
        assert set(survey[column].unique()) <= {0, 1}
        assert pd.api.types.is_integer_dtype(survey[column])
    assert survey["ltr"].between(0, 10).all() and pd.api.types.is_integer_dtype(survey["ltr"])
    for column in ("spend_before", "spend_after"):
        values = survey[column].to_numpy()
        assert (values > 0).all()
        np.testing.assert_allclose(values, np.round(values, 2), rtol=0, atol=1e-9)


def test_same_seed_same_survey(bank):
    a = make_voc_survey(bank, n=2000, seed=7)
    pd.testing.assert_frame_equal(a, make_voc_survey(bank, n=2000, seed=7))
    pd.testing.assert_frame_equal(a, make_voc_survey(FLAGSHIP, n=2000, seed=7))  # a path works
    b = make_voc_survey(bank, n=2000, seed=8)
    assert not a.drop(columns="respondent_id").equals(b.drop(columns="respondent_id"))


def test_truth_follows_the_scenario(bank, truth):
    assert list(truth) == list(bank.segments)
    customers = {s: seg.customers for s, seg in bank.segments.items()}
    total = sum(customers.values())
    weights = {s: t.weight for s, t in truth.items()}
    for s in truth:
        assert weights[s] / sum(weights.values()) == pytest.approx(customers[s] / total)
    market = truth["mass_market"]  # monthly_churn 0.011
    assert market.churn_12m == pytest.approx(1 - (1 - 0.011) ** 12)
    affluent, seg = truth["mass_affluent"], bank.segments["mass_affluent"]
    # sBG (1.1, 9.0): today's seasoned base churns less than a new cohort's alpha/(alpha+beta)
    assert 0.02 < affluent.churn_12m < 1.1 / 10.1
    pain = {g: bank.work_groups[g].pain_share["mass_affluent"] for g in GROUPS}
    assert dict(affluent.gap_prevalence) == pytest.approx(pain)
    assert dict(affluent.pain_share) == pytest.approx(
        {g: p / sum(pain.values()) for g, p in pain.items()}
    )
    shared = bank.responses
    assert affluent.churn_reduction == pytest.approx(shared.churn_reduction.median())
    assert affluent.promoter_gain == pytest.approx(shared.promoter_gain.median())
    assert affluent.detractor_reduction == pytest.approx(shared.detractor_reduction.median())
    assert affluent.wallet_lift == pytest.approx(shared.wallet_gain.median() / seg.share_of_wallet)
    assert (affluent.promoters, affluent.detractors, affluent.spend) == (0.32, 0.22, 38.0)
    # small_business overrides wallet_gain with its own distribution
    small = bank.segments["small_business"]
    assert truth["small_business"].wallet_lift == pytest.approx(
        small.responses.wallet_gain.median() / small.share_of_wallet
    )


def test_simulator_baseline_agrees_with_the_closed_form(bank, truth):
    """The simulator's baseline retention of today's base is 1 − (1 − θ)^12 for monthly churn,
    so reading it (as voc_truth_of does for sBG segments) works for both retention models."""
    fixed = {i.path: i.value.median() for i in bank.uncertain_inputs()}
    result = simulate(bank, draws=1, seed=0, fixed=fixed, progress=False)
    for name, seg in bank.segments.items():
        churn = 1 - result.metric("retention_12m", name)[1, 0, 0]
        assert churn == pytest.approx(truth[name].churn_12m, rel=1e-9)
        if seg.monthly_churn is not None:
            assert churn == pytest.approx(1 - (1 - seg.monthly_churn) ** 12, rel=1e-9)


def test_fit_recovers_the_scenario(bank, truth):
    """Parameter recovery: a million respondents give back every response and pain share."""
    survey = make_voc_survey(bank, n=1_000_000, seed=11)
    wallet = {s: seg.share_of_wallet for s, seg in bank.segments.items()}
    fit = fit_voc(
        survey,
        spend_before="spend_before",
        spend_after="spend_after",
        share_of_wallet=wallet,
        bootstrap=0,
    )
    expected = expected_estimates(truth)
    got = fit.estimates_.merge(expected, on=["segment", "parameter"], validate="1:1")
    assert len(got) == len(expected)
    z = (got["estimate"] - got["truth"]) / got["se"]
    assert (z.abs() < 4).all(), got[z.abs() >= 4]
    err = (got["estimate"] - got["truth"]).abs()
    churn = got["parameter"] == "churn_reduction"
    pain = got["parameter"].str.startswith("pain_share.")
    assert err[churn].max() < 0.04
    assert err[pain].max() < 0.08
    assert err[~churn & ~pain].max() < 0.02
    est = fit.estimates_.set_index(["segment", "parameter"])["estimate"]
    for s, seg in bank.segments.items():
        gain = seg.responses.wallet_gain or bank.responses.wallet_gain
        assert est[(s, "wallet_gain")] == pytest.approx(gain.median(), abs=0.003)


@pytest.mark.slow
def test_a_survey_of_the_flagship_calibrates_back_to_its_business_case(bank, tmp_path):
    """Round trip: a million respondents drawn from the flagship (unowned gaps recorded as
    gap_other), fitted, written and included into the flagship, give back its mean NPV.

    The survey's truth is the flagship with its responses at their medians, so that is the
    reference (every other input keeps its distribution in both runs). The calibrated mean
    differs from it by the fit's sampling error — the spread of the NPV over the bootstrap
    replicates with every other input at its median — and the two runs' Monte Carlo errors.
    """
    survey = make_voc_survey(bank, n=1_000_000, seed=7, unowned=True)
    wallet = {s: seg.share_of_wallet for s, seg in bank.segments.items()}
    fit = fit_voc(
        survey,
        spend_before="spend_before",
        spend_after="spend_after",
        share_of_wallet=wallet,
        bootstrap=200,
        seed=1,
    )
    fit.to_yaml(tmp_path / "voc.yaml")
    body = copy.deepcopy(bank.to_dict())
    body["include"] = ["voc.yaml"]
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    calibrated = load_scenario(path)

    # the unowned share is kept: each segment's calibrated shares sum as the flagship's do
    for name in bank.segments:
        flagship = sum(g.pain_share[name] for g in bank.work_groups.values())
        shares = [g.pain_share[name] for g in calibrated.work_groups.values()]
        rows = np.sum([share.values for share in shares], axis=0)  # (replicate,)
        assert abs(sum(share.point for share in shares) - flagship) < 3 * rows.std() + 1e-3

    keys = ("churn_reduction", "promoter_gain", "detractor_reduction", "wallet_gain")
    medians = {i.path: i.value.median() for i in bank.uncertain_inputs()}
    responses = {p: v for p, v in medians.items() if p.rsplit(".", 1)[-1] in keys}
    others = {p: v for p, v in medians.items() if p not in responses}
    draws = 4000
    truth = simulate(bank, draws=draws, seed=3, fixed=responses, progress=False)
    back = simulate(calibrated, draws=draws, seed=3, progress=False)
    fit_only = simulate(calibrated, draws=draws, seed=3, fixed=others, progress=False)
    npv = {name: r.outcomes["npv"].to_numpy() for name, r in
           (("truth", truth), ("back", back), ("fit_only", fit_only))}  # fmt: skip
    mc = [npv[name].std() / np.sqrt(draws) for name in ("truth", "back")]
    sampling = npv["fit_only"].std()
    error = np.sqrt(mc[0] ** 2 + mc[1] ** 2 + sampling**2)
    assert abs(npv["back"].mean() - npv["truth"].mean()) < 3 * error, (npv, error)
    assert error < 0.1 * npv["truth"].mean()  # the check means something


def test_problems_are_cxsim_errors(bank):
    with pytest.raises(CxsimError, match="n must be"):
        make_voc_survey(bank, n=0, seed=1)
    data = copy.deepcopy(bank.to_dict())
    for group in data["work_groups"].values():
        group["pain_share"].pop("branch_dependent")
    with pytest.raises(CxsimError, match="branch_dependent.*pain_share"):
        voc_truth_of(load_scenario(data))
    data = copy.deepcopy(bank.to_dict())
    data["segments"]["mass_market"]["promoters"] = 0.93  # + promoter gain 0.12 > 1
    data["segments"]["mass_market"]["detractors"] = 0.02
    with pytest.raises(CxsimError, match="segment 'mass_market'.*promoter_gain"):
        voc_truth_of(load_scenario(data))


# ----------------------------------------------------------------------------- loaders
def test_loaders_read_the_shipped_files():
    cohorts = datasets.load_cohort_retention()
    assert list(cohorts.columns) == ["cohort", "year", "active"]
    assert sorted(cohorts["cohort"].unique()) == list(range(2015, 2022))
    series = datasets.load_indicator_series()
    assert list(series.columns) == ["month", "leading", "nps", "monthly_churn"]
    assert len(series) == 60
    survey = datasets.load_voc_survey()
    assert list(survey.columns) == COLUMNS and len(survey) == 24_000


def test_shipped_survey_is_the_flagship_survey(bank):
    """The shipped voc_survey.csv is make_voc_survey(flagship, 24000, 2024): regenerate it with
    `python data/make_voc_survey.py` (and the calibration files, data/README.md) if not."""
    shipped = datasets.load_voc_survey()
    fresh = make_voc_survey(bank, n=24_000, seed=2024)
    exact = ["respondent_id", *[f"gap_{g}" for g in GROUPS]]
    pd.testing.assert_frame_equal(shipped[exact], fresh[exact], check_dtype=False)
    assert (shipped["segment"] == fresh["segment"].astype(str)).all()
    for column in ("ltr", "churned_12m", "spend_before", "spend_after"):
        assert shipped[column].mean() == pytest.approx(fresh[column].mean(), rel=1e-3)


def test_an_unknown_data_file_is_a_clear_error():
    with pytest.raises(CxsimError, match="no shipped data file 'nope.csv' .*voc_survey.csv"):
        datasets.data_path("nope.csv")


@pytest.mark.slow
def test_the_data_travels_inside_the_wheel(tmp_path):
    """A plain ``pip install`` (a wheel) carries the data files the loaders read."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cxsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in datasets.shipped_files():
        assert f"cxsim/datasets/data/{name}" in names
    assert "cxsim/py.typed" in names
