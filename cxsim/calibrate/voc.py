"""Voice of the customer → response parameters: what closing the gaps would change.

docs/model.md §7: per segment, respondent-level models of churn, promoter, detractor (logistic) and
of the spend change (linear in the log) on the 0/1 gap indicators, read through counterfactuals:

- ``churn_reduction c = 1 - E[p(no gaps)] / E[p(observed)]`` (population attributable fraction);
- ``pain_share P[s,g] = removal_g / Σ_h removal_h`` with ``removal_g`` the churn removed when only
  g's gaps are set to 0;
- ``promoter_gain Δp`` (absolute), ``detractor_reduction Δd`` (relative) and the relative spend
  lift ``r`` from the same counterfactual; ``wallet_gain Δw = r · w0``.

The fit works on gap-pattern cells, not respondents. Respondents with the same segment, gap
pattern, churn outcome and score class (promoter/passive/detractor) are interchangeable for the
binary models, so a grouped binomial fit on the pattern counts gives the respondent-level
maximum-likelihood estimates exactly; for spend, per-cell sums are sufficient statistics of the
least-squares fit. A million respondents become a few hundred cells.

Bootstrap (``bootstrap=B``): resampling ``n_s`` respondents with replacement within a segment is
exactly a multinomial draw of the cell counts with probabilities ``n_j / n_s`` (respondents in
a cell are identical for the binary outcomes), so churn, promoter and detractor replicates are
those of the respondent bootstrap, drawn in O(B · cells). Spend varies within a cell: given a
cell's resampled count ``M_j``, its resampled sums of ``log(after/before)`` and ``spend_before``
are drawn from the bivariate normal with the exact conditional mean ``M_j · mean_j`` and
covariance ``M_j · cov_j`` of the respondent bootstrap (central limit theorem within the cell),
clipped to the range the exact sums can take (``M_j · min_j`` to ``M_j · max_j``). This matches
the respondent bootstrap in the first two moments of every sufficient statistic (exact for cells
of one respondent), hence to first order for the smooth spend estimates; the tests compare it
with an explicit respondent bootstrap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, log_expit

from cxsim.calibrate.files import frame_sha256
from cxsim.calibrate.glm import GlmFit, fit_logit, fit_ols
from cxsim.calibrate.voc_cells import SegmentCells, build_cells, check_segment, separation_error
from cxsim.calibrate.voc_checks import check_survey, gap_columns, wallet_baselines
from cxsim.calibrate.voc_result import VocResult
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import check_level

__all__ = ["VocResult", "counterfactual", "fit_voc"]

#: A segment fails when more than this share of its bootstrap replicates cannot be fitted.
MAX_FAILED_SHARE = 0.1


def counterfactual(
    beta: np.ndarray, design: np.ndarray, weights: np.ndarray, link: str = "logit"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted outcome as observed, with every gap set to 0, and with only g's set to 0.

    Parameters
    ----------
    beta : ndarray, shape (..., 1+G)
        Coefficients, intercept first; leading axes (e.g. bootstrap replicates) broadcast.
    design : ndarray, shape (K, 1+G)
        One row per gap pattern: a leading column of ones, then the 0/1 gaps.
    weights : ndarray, shape (..., K)
        Weight of each pattern (respondent counts, probabilities, or for spend the sum of
        ``spend_before``); they need not sum to 1.
    link : {"logit", "log"}
        Inverse link applied to the linear predictor: logistic or exponential.

    Returns
    -------
    observed : ndarray, shape (...)
        ``Σ_k w_k f(x_k β) / Σ_k w_k``.
    none : ndarray, shape (...)
        ``f(β_0)``: every gap set to 0.
    without : ndarray, shape (..., G)
        The weighted mean with only gap ``g`` set to 0.

    References
    ----------
    .. [1] Greenland, S. & Drescher, K. (1993). Maximum likelihood estimation of the attributable
       fraction from logistic models. *Biometrics* 49(3), 865–872.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> obs, none, without = counterfactual(np.array([-2.0, 1.0]), X, np.array([0.5, 0.5]))
    >>> round(float(1 - none / obs), 4)  # churn reduction
    0.3858
    """
    f = expit if link == "logit" else np.exp
    beta = np.asarray(beta, dtype=float)
    design = np.asarray(design, dtype=float)
    w = np.asarray(weights, dtype=float)
    eta = beta @ design.T  # (..., K)
    total = w.sum(axis=-1)
    observed = (w * f(eta)).sum(axis=-1) / total
    none = f(beta[..., 0])
    eta_without = eta[..., :, None] - design[:, 1:] * beta[..., None, 1:]  # (..., K, G)
    without = np.einsum("...k,...kg->...g", w, f(eta_without)) / total[..., None]
    return observed, none, without


# ----------------------------------------------------------------------------- the fit
def fit_voc(
    df: pd.DataFrame,
    segment: str = "segment",
    gaps: Sequence[str] | Mapping[str, str] | None = None,
    churned: str = "churned_12m",
    score: str | None = "ltr",
    spend_before: str | None = None,
    spend_after: str | None = None,
    *,
    share_of_wallet: float | Mapping[Any, float] | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> VocResult:
    """Calibrate the response parameters from respondent-level voice-of-customer data.

    Per segment, fits logistic regressions of 12-month churn, promoter (score >= 9) and
    detractor (score <= 6) on the 0/1 gap indicators, and least squares of
    ``log(spend_after / spend_before)`` on them; then reads the counterfactual "every gap set
    to 0" (and "only g's gaps set to 0") as defined in docs/model.md §7.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per respondent.
    segment, churned, score : str
        Column names; ``score`` (likelihood to recommend, integers 0–10) may be None.
    gaps : list of str or mapping of str to str, optional
        Gap columns (group name = column name without a leading ``gap_``) or ``{group: column}``;
        default: every column starting with ``gap_``.
    spend_before, spend_after : str, optional
        Positive spend columns (both or neither) for the wallet lift.
    share_of_wallet : float or mapping, optional
        Baseline share of wallet ``w0`` (or ``{segment: w0}``) turning the relative lift ``r``
        into ``wallet_gain = r · w0``; without it only the relative lift is reported.
    bootstrap : int
        Replicates of the respondent bootstrap (within segments); 0 gives delta-method
        intervals that hold the gap distribution fixed.
    seed : int
        Seed of the bootstrap.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    VocResult

    Raises
    ------
    CalibrationError
        Missing columns, NaNs, values out of range, segments too small or without events,
        collinear gaps, separation.

    Notes
    -----
    ``churn_reduction`` is the population attributable fraction of the 12-month churn
    probability; the simulator applies it to the monthly hazard, which is the same for small
    churn. Grouping respondents into gap-pattern cells gives the respondent-level estimates
    exactly; see the module docstring for the bootstrap scheme.

    References
    ----------
    .. [1] Greenland, S. & Drescher, K. (1993). Maximum likelihood estimation of the attributable
       fraction from logistic models. *Biometrics* 49(3), 865–872.
    .. [2] Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.

    Examples
    --------
    >>> from cxsim.datasets.voc_truth import SegmentTruth, simulate_voc
    >>> t = SegmentTruth(weight=1, churn_12m=0.2, gap_prevalence={"billing": 0.3, "it": 0.2},
    ...                  churn_reduction=0.3, pain_share={"billing": 0.6, "it": 0.4},
    ...                  promoters=0.3, detractors=0.3, promoter_gain=0.1,
    ...                  detractor_reduction=0.3, spend=50.0, wallet_lift=0.05)
    >>> df = simulate_voc({"core": t}, 20_000, seed=1)
    >>> res = fit_voc(df, gaps=["gap_billing", "gap_it"], bootstrap=50)
    >>> float(res.pain_share_.loc["core"].sum())
    1.0
    """
    if not isinstance(df, pd.DataFrame):
        raise CalibrationError(f"df must be a pandas DataFrame (got {type(df).__name__})")
    if (spend_before is None) != (spend_after is None):
        raise CalibrationError("spend_before and spend_after must be given together")
    if share_of_wallet is not None and spend_before is None:
        raise CalibrationError("share_of_wallet needs spend_before and spend_after")
    if not (isinstance(bootstrap, (int, np.integer)) and bootstrap >= 0):
        raise CalibrationError(f"bootstrap must be an integer >= 0 (got {bootstrap!r})")
    check_level(level, CalibrationError)
    gap_cols = gap_columns(df, gaps)
    groups, cols = list(gap_cols), list(gap_cols.values())
    roles = {"segment": [segment], "churn": [churned], "gap": cols}
    if score is not None:
        roles["score"] = [score]
    if spend_before is not None:
        roles["spend"] = [spend_before, spend_after]
    used = check_survey(df, roles)

    segments = build_cells(df, segment, cols, churned, score, spend_before, spend_after)
    w0 = wallet_baselines(share_of_wallet, [s.name for s in segments])
    problems = [p for s in segments for p in check_segment(s, cols, score is not None)]
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))

    rngs = np.random.default_rng(seed).spawn(len(segments))
    parts = [
        _fit_segment(s, groups, cols, score is not None, w0.get(s.name), bootstrap, rng)
        for s, rng in zip(segments, rngs, strict=True)
    ]
    return VocResult.from_parts(
        parts,
        groups=groups,
        gap_columns=gap_cols,
        columns={
            "segment": segment,
            "churned": churned,
            "score": score,
            "spend_before": spend_before,
            "spend_after": spend_after,
        },
        share_of_wallet=w0 or None,
        bootstrap=int(bootstrap),
        seed=seed,
        level=level,
        data_sha256=frame_sha256(df[used]),
    )


# ----------------------------------------------------------------------------- one segment
def _fit_segment(seg, groups, cols, use_score, w0, n_boot, rng) -> dict[str, Any]:
    """Point estimates, model tables, diagnostics and bootstrap replicates of one segment."""
    point = seg.pooled(seg.count[None, :])
    fits, values = _estimate(seg, point, use_score, w0)
    for outcome, fit in fits.items():
        if not fit.ok[0] or (fit.separated is not None and fit.separated[0]):
            if outcome == "spend":
                raise CalibrationError(
                    f"segment {seg.name!r}: the spend regression is singular; drop gap columns"
                )
            raise separation_error(seg, point, outcome, fit, cols)
    notes = [
        f"segment {seg.name!r}: nobody reports the {g!r} gap ({cols[j]!r} all 0); its pain "
        "share is 0"
        for j, g in enumerate(groups)
        if j not in set(seg.active.tolist())
    ]
    if "spend" in fits:  # residual variance from the within-cell spread plus the cell means
        fit = fits["spend"]
        fitted = (seg.design @ fit.beta[0])[seg.cell_pattern]
        rss = seg.count @ (seg.spend["cyy"] + (seg.spend["mean_y"] - fitted) ** 2)
        fit.sigma2 = np.array([rss / max(seg.rows - seg.design.shape[1], 1)])
    diag = _diagnostics(seg, fits, point, use_score)
    replicates = None
    if n_boot:
        replicates = _bootstrap(seg, use_score, w0, n_boot, rng, diag, notes)
    return {
        "segment": seg,
        "values": {k: v[0] for k, v in values.items()},
        "se": _delta_se(fits, seg.design, point, w0),
        "replicates": replicates,
        "models": _model_table(seg, fits, point, groups),
        "diagnostics": diag,
        "notes": notes,
    }


def _model_table(seg: SegmentCells, fits: dict[str, GlmFit], point, groups) -> pd.DataFrame:
    """Coefficients of every model of a segment with SE, z, p-value, ratio and exposure."""
    rows = []
    terms = ["intercept"] + [groups[g] for g in seg.active]
    exposed = np.concatenate([[seg.rows], point["trials"][0] @ seg.design[:, 1:]]).round()
    for outcome, fit in fits.items():
        cov = np.linalg.inv(fit.hessian[0]) * (fit.sigma2[0] if fit.sigma2 is not None else 1)
        sd = np.sqrt(np.diag(cov))
        for t, b, s, n in zip(terms, fit.beta[0], sd, exposed, strict=True):
            rows.append((seg.name, outcome, t, b, s, b / s, 2 * stats.norm.sf(abs(b / s)), n))
    models = pd.DataFrame(
        rows, columns=["segment", "outcome", "term", "coef", "se", "z", "p_value", "exposed"]
    )
    models.insert(7, "ratio", np.exp(models["coef"]))
    models["exposed"] = models["exposed"].astype(np.int64)
    return models


def _diagnostics(seg: SegmentCells, fits: dict[str, GlmFit], point, use_score) -> dict[str, Any]:
    """Size, event counts and the churn model's fit (AUC, McFadden pseudo-R², deviances)."""
    trials, events = point["trials"][0], point["churn"][0]
    eta = seg.design @ fits["churn"].beta[0]
    ll = float(events @ log_expit(eta) + (trials - events) @ log_expit(-eta))
    rate = events.sum() / trials.sum()
    ll0 = float(events.sum() * math.log(rate) + (trials.sum() - events.sum()) * math.log(1 - rate))
    return {
        "segment": seg.name,
        "rows_used": seg.rows,
        "rows_dropped": 0,
        "churn_events": int(events.sum()),
        "churn_rate": float(rate),
        "promoters": float(point["promoter"][0].sum() / seg.rows) if use_score else np.nan,
        "detractors": float(point["detractor"][0].sum() / seg.rows) if use_score else np.nan,
        "patterns": len(seg.design),
        "cells": len(seg.count),
        "churn_auc": _auc(eta, events, trials - events),
        "churn_pseudo_r2": 1 - ll / ll0,
        "churn_deviance": -2 * ll,
        "churn_null_deviance": -2 * ll0,
        "iterations": max(f.iterations for f in fits.values()),
        "bootstrap_failed": 0,
        "bootstrap_separated": 0,
    }


def _bootstrap(seg: SegmentCells, use_score, w0, n_boot, rng, diag, notes) -> dict[str, np.ndarray]:
    """Replicates of every derived quantity (NaN where a replicate failed); counts failed and
    separated replicates into ``diag`` and says so in ``notes``."""
    count = rng.multinomial(seg.rows, seg.count / seg.rows, size=n_boot).astype(float)
    z = rng.standard_normal((2, n_boot, len(seg.count))) if seg.spend is not None else None
    boot_fits, replicates = _estimate(seg, seg.pooled(count, z), use_score, w0)
    failed = ~np.logical_and.reduce([f.ok for f in boot_fits.values()])
    separated = ~failed & np.logical_or.reduce(
        [f.separated for f in boot_fits.values() if f.separated is not None]
    )
    if failed.mean() > MAX_FAILED_SHARE:
        raise CalibrationError(
            f"segment {seg.name!r}: {int(failed.sum())} of {n_boot} bootstrap replicates "
            "could not be fitted; merge the segment with another or drop rare gap columns"
        )
    if failed.any():
        notes.append(
            f"segment {seg.name!r}: {int(failed.sum())} of {n_boot} bootstrap replicates "
            "could not be fitted and were left out"
        )
    if separated.any():
        notes.append(
            f"segment {seg.name!r}: in {int(separated.sum())} of {n_boot} bootstrap "
            "replicates a rare gap perfectly predicted an outcome (separation) or duplicated "
            "another gap; they are kept at the limit (or minimum-norm) fit, so the intervals "
            "are wide: consider merging segments or dropping rare gap columns"
        )
    diag["bootstrap_separated"] = int(separated.sum())
    diag["bootstrap_failed"] = int(failed.sum())
    return {
        k: np.where(failed.reshape((-1,) + (1,) * (v.ndim - 1)), np.nan, v)
        for k, v in replicates.items()
    }


# ----------------------------------------------------------------------------- estimates
def _estimate(
    segment: SegmentCells, stats_: dict[str, np.ndarray], use_score: bool, w0: float | None
):
    """All models and derived quantities for pooled statistics (B, K). Returns (fits, values)."""
    x, trials = segment.design, stats_["trials"]
    fits: dict[str, GlmFit] = {"churn": fit_logit(x, trials, stats_["churn"])}
    if use_score:
        fits["promoter"] = fit_logit(x, trials, stats_["promoter"])
        fits["detractor"] = fit_logit(x, trials, stats_["detractor"])
    if "sum_y" in stats_:
        fits["spend"] = fit_ols(x, trials, stats_["sum_y"])
    values = _derived(fits, x, stats_, w0)
    return fits, values


def _derived(fits: dict[str, GlmFit], x, stats_, w0) -> dict[str, np.ndarray]:
    """Counterfactual quantities from fitted coefficients (docs/model.md §7) for the models."""
    trials = stats_["trials"]
    values: dict[str, np.ndarray] = {}
    if "churn" in fits:
        obs, none, without = counterfactual(fits["churn"].beta, x, trials)
        values["churn_reduction"] = 1 - none / obs
        removal = obs[:, None] - without  # (B, Ga)
        total = removal.sum(axis=1, keepdims=True)
        values["pain_share"] = np.divide(
            removal, total, out=np.zeros_like(removal), where=np.abs(total) > 1e-15
        )
    if "promoter" in fits:
        obs, none, _ = counterfactual(fits["promoter"].beta, x, trials)
        values["promoter_gain"] = none - obs
    if "detractor" in fits:
        obs, none, _ = counterfactual(fits["detractor"].beta, x, trials)
        values["detractor_reduction"] = 1 - none / obs
    if "spend" in fits:
        obs, none, _ = counterfactual(fits["spend"].beta, x, stats_["sum_b"], link="log")
        values["wallet_lift"] = none / obs - 1
        if w0 is not None:
            values["wallet_gain"] = values["wallet_lift"] * w0
    return values


def _delta_se(fits: dict[str, GlmFit], x, stats_, w0) -> dict[str, np.ndarray]:
    """Delta-method standard errors of the derived quantities (gap distribution held fixed),
    with central finite differences of the counterfactuals in the coefficients."""
    out: dict[str, np.ndarray] = {}
    for model, fit in fits.items():
        beta = fit.beta[0]
        p = len(beta)
        cov = np.linalg.pinv(fit.hessian[0]) * (fit.sigma2[0] if fit.sigma2 is not None else 1)
        h = 1e-6 * np.maximum(1.0, np.abs(beta))
        batch = np.repeat(beta[None], 2 * p, axis=0)
        batch[np.arange(p), np.arange(p)] += h
        batch[p + np.arange(p), np.arange(p)] -= h
        big = {k: np.repeat(v[:1], 2 * p, axis=0) for k, v in stats_.items()}
        vals = _derived({model: GlmFit(batch, fit.hessian, fit.ok)}, x, big, w0)
        for key, v in vals.items():
            v = v.reshape(2 * p, -1)
            grad = (v[:p] - v[p:]) / (2 * h[:, None])  # (p, q)
            out[key] = np.sqrt(np.maximum(np.einsum("iq,ij,jq->q", grad, cov, grad), 0.0))
    return out


def _auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the ROC curve from grouped data (ties count one half)."""
    _, inv = np.unique(np.round(score, 12), return_inverse=True)
    p, n = np.bincount(inv, pos), np.bincount(inv, neg)
    below = np.cumsum(n) - n
    return float((p * (below + n / 2)).sum() / (p.sum() * n.sum()))
