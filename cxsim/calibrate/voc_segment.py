"""One segment's VoC fit: estimates, the main-effects models, diagnostics and replicates.

:func:`fit_segment` runs the estimator of :mod:`cxsim.calibrate.voc_estimate` on one segment's
cells, fits the main-effects models reported in ``models_`` (and tested for fit against the
rich cells' rates), and draws the bootstrap replicates (module docstring of
:mod:`cxsim.calibrate.voc` for the scheme).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import log_expit

from cxsim.calibrate.glm import GlmFit, fit_logit, fit_ols
from cxsim.calibrate.voc_cells import SegmentCells, separation_error
from cxsim.calibrate.voc_estimate import (
    BINARY,
    GOF_ALPHA,
    N_CELL,
    Estimator,
    delta_se,
    goodness_of_fit,
)
from cxsim.errors import CalibrationError

__all__ = ["MAX_FAILED_SHARE", "fit_segment"]

#: A segment fails when more than this share of its bootstrap replicates cannot be fitted.
MAX_FAILED_SHARE = 0.1
_LABEL = {"churn": "churn", "promoter": "promoter", "detractor": "detractor", "spend": "spend"}


def fit_segment(
    seg: SegmentCells,
    groups: list[str],
    cols: list[str],
    outcomes: list[str],
    w0: float | None,
    n_boot: int,
    rng: np.random.Generator,
    firth: bool = False,
) -> dict[str, Any]:
    """Point estimates, model tables, diagnostics and bootstrap replicates of one segment."""
    point = seg.pooled(seg.count[None, :])
    main = _main_effects(seg, point, outcomes, firth)
    for outcome, fit in main.items():
        if outcome != "spend" and not firth and (not fit.ok[0] or fit.separated[0]):
            raise separation_error(seg, point, outcome, fit, cols)
    est = Estimator.for_segment(seg, outcomes, firth)
    _drop_unsupported_pairs(est, point, outcomes)
    _, values = est.estimate(point, outcomes, w0)
    notes = [
        f"segment {seg.name!r}: nobody reports the {g!r} gap ({cols[j]!r} all 0); its pain "
        "share is 0"
        for j, g in enumerate(groups)
        if j not in set(seg.active.tolist())
    ]
    if est.no_gap_rows < N_CELL:
        notes.append(
            f"segment {seg.name!r}: only {est.no_gap_rows} respondent(s) report no gap (fewer "
            f"than {N_CELL}), so 'every gap closed' is extrapolated by the smoothing model; "
            "the estimates hold only as far as that model does"
        )
    gof = []
    for outcome in [o for o in outcomes if o in BINARY]:
        test = goodness_of_fit(seg, est, outcome, main[outcome])
        if test is None:
            continue
        gof.append({"segment": seg.name, **test.__dict__})
        if test.p_value < GOF_ALPHA:
            notes.append(
                f"segment {seg.name!r}: the main-effects logistic model of {outcome} misfits the "
                f"gap-pattern cells (likelihood ratio {test.statistic:.1f} on {test.df} df, "
                f"p = {test.p_value:.2g}): the gaps' effects are not additive on the logit "
                f"scale. The estimates use the rates of the {test.rich_cells} cell(s) with at "
                f"least {N_CELL} respondents and a smoother with interactions elsewhere; read "
                f"the {outcome} odds ratios in models_ as averages only"
            )
    if "spend" in main:  # residual variance from the within-cell spread plus the cell means
        fit = main["spend"]
        fitted = (seg.design @ fit.beta[0])[seg.cell_pattern]
        s = seg.spend
        assert s is not None
        rss = seg.count @ (s["cyy"] + (s["mean_y"] - fitted) ** 2)
        fit.sigma2 = np.array([rss / max(seg.rows - seg.design.shape[1], 1)])
    diag = _diagnostics(seg, main, point, outcomes, est)
    replicates = None
    if n_boot:
        replicates = _bootstrap(seg, est, outcomes, w0, n_boot, rng, diag, notes)
    return {
        "segment": seg,
        "values": {k: v[0] for k, v in values.items()},
        "se": {} if n_boot else delta_se(est, point, outcomes, w0),
        "replicates": replicates,
        "models": _model_table(seg, main, groups),
        "diagnostics": diag,
        "gof": gof,
        "notes": notes,
    }


def _main_effects(seg: SegmentCells, point, outcomes, firth: bool) -> dict[str, GlmFit]:
    """The main-effects model of every outcome on the sample (reported in ``models_``)."""
    fits = {}
    for outcome in outcomes:
        if outcome == "spend":
            fits[outcome] = fit_ols(seg.design, point["trials"], point["sum_y"])
            if not fits[outcome].ok[0] or fits[outcome].separated[0]:
                raise CalibrationError(
                    f"segment {seg.name!r}: the spend regression is singular; drop gap columns"
                )
        else:
            fits[outcome] = fit_logit(seg.design, point["trials"], point[outcome], firth=firth)
    return fits


def _drop_unsupported_pairs(est: Estimator, point, outcomes) -> None:
    """Drop a smoother's least co-reported pairs while it does not converge on the sample."""
    for outcome in outcomes:
        while est.pairs[outcome]:
            fit = est.smoother(outcome, point)
            if fit.ok[0] and (fit.separated is None or not fit.separated[0]):
                break
            est.pairs[outcome] = est.pairs[outcome][:-1]


def _model_table(seg: SegmentCells, fits: dict[str, GlmFit], groups) -> pd.DataFrame:
    """Coefficients of every main-effects model with SE, z, p-value, ratio and exposure."""
    rows = []
    terms = ["intercept"] + [groups[g] for g in seg.active]
    trials = seg.pooled(seg.count[None, :])["trials"][0]
    exposed = np.concatenate([[seg.rows], trials @ seg.design[:, 1:]]).round()
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


def _diagnostics(seg: SegmentCells, fits, point, outcomes, est: Estimator) -> dict[str, Any]:
    """Size, event counts, cells, and the churn model's fit (AUC, McFadden pseudo-R², deviances)."""
    trials, events = point["trials"][0], point["churn"][0]
    eta = seg.design @ fits["churn"].beta[0]
    ll = float(events @ log_expit(eta) + (trials - events) @ log_expit(-eta))
    rate = events.sum() / trials.sum()
    ll0 = float(events.sum() * math.log(rate) + (trials.sum() - events.sum()) * math.log(1 - rate))
    use_score = "promoter" in outcomes
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
        "rich_patterns": int(est.rich.sum()),
        "rich_share": float(trials[est.rich].sum() / trials.sum()),
        "no_gap_rows": est.no_gap_rows,
        "churn_pairs": len(est.pairs["churn"]),
        "churn_auc": _auc(eta, events, trials - events),
        "churn_pseudo_r2": 1 - ll / ll0,
        "churn_deviance": -2 * ll,
        "churn_null_deviance": -2 * ll0,
        "iterations": max(f.iterations for f in fits.values()),
        "bootstrap_failed": 0,
        "bootstrap_separated": 0,
    }


def _bootstrap(seg, est: Estimator, outcomes, w0, n_boot, rng, diag, notes) -> dict[str, Any]:
    """Replicates of every derived quantity (NaN where a replicate failed); counts failed and
    separated replicates into ``diag`` and says so in ``notes``."""
    count = rng.multinomial(seg.rows, seg.count / seg.rows, size=n_boot).astype(float)
    z = rng.standard_normal((2, n_boot, len(seg.count))) if seg.spend is not None else None
    fits, replicates = est.estimate(seg.pooled(count, z), outcomes, w0)
    failed = ~np.logical_and.reduce([f.ok for f in fits.values()])
    for v in replicates.values():  # a derived value that is not a number fails the replicate
        bad = ~np.isfinite(v)
        failed |= bad.any(axis=1) if bad.ndim > 1 else bad
    separated = ~failed & np.logical_or.reduce(
        [f.separated for f in fits.values() if f.separated is not None]
    )
    if failed.mean() > MAX_FAILED_SHARE:
        raise CalibrationError(
            f"segment {seg.name!r}: {int(failed.sum())} of {n_boot} bootstrap replicates "
            "could not be fitted; fit with firth=True (--firth), merge or skip the segment, or "
            "drop rare gap columns"
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
            "are wide: consider firth=True (--firth), merging segments or dropping rare gap "
            "columns"
        )
    diag["bootstrap_separated"] = int(separated.sum())
    diag["bootstrap_failed"] = int(failed.sum())
    return {
        k: np.where(failed.reshape((-1,) + (1,) * (v.ndim - 1)), np.nan, v)
        for k, v in replicates.items()
    }


def _auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the ROC curve from grouped data (ties count one half)."""
    _, inv = np.unique(np.round(score, 12), return_inverse=True)
    p, n = np.bincount(inv, pos), np.bincount(inv, neg)
    below = np.cumsum(n) - n
    return float((p * (below + n / 2)).sum() / (p.sum() * n.sum()))
