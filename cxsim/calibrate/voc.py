"""Voice of the customer → response parameters: what closing the gaps would change.

docs/model.md §7: per segment, the survey's gap patterns read through counterfactuals
(:mod:`cxsim.calibrate.voc_estimate`):

- ``churn_reduction c = 1 − E[h(p(no gaps))] / E[h(p(observed))]``, the relative cut of the mean
  monthly hazard ``h(p) = 1 − (1 − p)^(1/12)`` of each respondent's 12-month churn probability:
  the factor ``1 − c·X`` the engine applies to the hazard;
- ``pain_share P[s,g] = removal_g / Σ_h removal_h`` with ``removal_g`` the hazard removed when
  only g's gaps are closed; an "other" (unowned) gap column keeps the share no work group owns;
- ``promoter_gain Δp = p(no gaps) − p(observed)`` (absolute), ``detractor_reduction
  Δd = 1 − d(no gaps)/d(observed)`` (relative) and the relative spend lift ``r``;
  ``wallet_gain Δw = r · w0``.

A pattern's rate is its own cell rate when at least 30 respondents have it (whatever the law
behind the data), else a smoother's (logistic main effects and supported pairwise interactions,
Firth-penalised on request); a likelihood-ratio test says when the main-effects model misfits.

The fit works on gap-pattern cells, not respondents. Respondents with the same segment, gap
pattern, churn outcome and score class (promoter/passive/detractor) are interchangeable for the
binary outcomes, so counts per cell are sufficient; for spend, per-cell sums are. A million
respondents become a few hundred cells.

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.files import frame_sha256
from cxsim.calibrate.voc_cells import MIN_ROWS, build_cells, check_segment
from cxsim.calibrate.voc_checks import check_survey, gap_columns, wallet_baselines
from cxsim.calibrate.voc_estimate import counterfactual
from cxsim.calibrate.voc_result import UNOWNED, VocResult
from cxsim.calibrate.voc_segment import fit_segment
from cxsim.errors import CalibrationError
from cxsim.outputs.fitted import check_level

__all__ = ["UNOWNED", "VocResult", "counterfactual", "fit_voc"]


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
    unowned: str | None = UNOWNED,
    skip: Sequence[Any] = (),
    min_rows: int | None = None,
    merge_small: bool = False,
    firth: bool = False,
    bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> VocResult:
    """Calibrate the response parameters from respondent-level voice-of-customer data.

    Per segment, reads 12-month churn, promoters (score >= 9), detractors (score <= 6) and
    ``log(spend_after / spend_before)`` at every gap pattern — a pattern's own rate when at
    least 30 respondents have it, a smoothing model's otherwise — and compares the segment as
    observed with the counterfactual "every gap closed" (and "only g's gaps closed") as defined
    in docs/model.md §7.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per respondent; from :func:`cxsim.calibrate.data.read_table` its problems name
        file lines, otherwise rows by index label.
    segment, churned, score : str
        Column names; ``score`` (likelihood to recommend, integers 0–10) may be None.
    gaps : list of str or mapping of str to str, optional
        Gap columns named ``gap_<group>``, or ``{group: column}`` for any column names;
        default: every column starting with ``gap_``.
    spend_before, spend_after : str, optional
        Positive spend columns (both or neither) for the wallet lift.
    share_of_wallet : float or mapping, optional
        Baseline share of wallet ``w0`` (or ``{segment: w0}``) turning the relative lift ``r``
        into ``wallet_gain = r · w0``; without it only the relative lift is reported.
    unowned : str or None
        The gap group no work group owns (the survey's "other" reason): its pain share is
        estimated and reported but not written as a work group, so the written shares sum to
        less than 1 by that share. Default ``"other"`` (a column ``gap_other``); None to have
        none.
    skip : sequence
        Segments to leave out (their rows are dropped and counted).
    min_rows : int, optional
        Segments with fewer respondents are skipped, or with ``merge_small`` pooled into one
        fit whose estimates each of them gets.
    merge_small : bool
        Pool the segments under ``min_rows`` instead of skipping them.
    firth : bool
        Fit the logistic smoothers by Firth's penalised likelihood (finite under separation,
        less small-sample bias; :func:`cxsim.calibrate.glm.fit_logit`).
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
        Every data problem at once (``FILE:LINE: column: message (got VALUE)``); segments too
        small or without events, collinear gaps, separation (each with the ways forward).

    Notes
    -----
    Grouping respondents into gap-pattern cells gives the respondent-level estimates exactly;
    see the module docstring for the bootstrap scheme.

    References
    ----------
    .. [1] Greenland, S. & Drescher, K. (1993). Maximum likelihood estimation of the attributable
       fraction from logistic models. *Biometrics* 49(3), 865–872.
    .. [2] Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
    .. [3] Firth, D. (1993). Bias reduction of maximum likelihood estimates. *Biometrika* 80(1),
       27–38.

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
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int | np.integer) or bootstrap < 0:
        raise CalibrationError(f"bootstrap must be an integer >= 0 (got {bootstrap!r})")
    if min_rows is not None and (
        isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 1
    ):
        raise CalibrationError(f"min_rows must be a whole number >= 1 (got {min_rows!r})")
    if merge_small and min_rows is None:
        raise CalibrationError("merge_small pools the segments under min_rows: give min_rows")
    check_level(level, CalibrationError)
    gap_cols = gap_columns(df, gaps)
    groups, cols = list(gap_cols), list(gap_cols.values())
    if unowned is not None and unowned not in groups and unowned != UNOWNED:
        raise CalibrationError(
            f"unowned={unowned!r} names no gap group (groups: {', '.join(groups)})"
        )
    roles = {"segment": [segment], "churn": [churned], "gap": cols}
    if score is not None:
        roles["score"] = [score]
    if spend_before is not None and spend_after is not None:
        roles["spend"] = [spend_before, spend_after]
    frame = check_survey(df, roles)

    labels, members, dropped, notes = _units(frame[segment], skip, min_rows, merge_small)
    kept = labels.notna().to_numpy()
    frame = frame[kept].assign(**{segment: labels[kept]})
    if frame.empty:
        raise CalibrationError("no segment is left to fit (every one was skipped)")
    segments = build_cells(frame, segment, cols, churned, score, spend_before, spend_after)
    w0 = wallet_baselines(
        share_of_wallet
        if not isinstance(share_of_wallet, Mapping)
        else _pooled_w0(share_of_wallet, members),
        [s.name for s in segments],
    )
    problems = [p for s in segments for p in check_segment(s, cols, score is not None)]
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))

    outcomes = ["churn"] + (["promoter", "detractor"] if score is not None else [])
    if spend_before is not None:
        outcomes.append("spend")
    rngs = np.random.default_rng(seed).spawn(len(segments))
    parts = [
        fit_segment(s, groups, cols, outcomes, w0.get(s.name), bootstrap, rng, firth)
        for s, rng in zip(segments, rngs, strict=True)
    ]
    if firth:
        notes.append(
            "logistic smoothers fitted by Firth's penalised likelihood (bias-reduced, finite "
            "under separation)"
        )
    used = list(dict.fromkeys(c for cs in roles.values() for c in cs))
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
        unowned=unowned if unowned in groups else None,
        members=members,
        member_share_of_wallet=_member_w0(share_of_wallet, members),
        rows_dropped=dropped,
        firth=firth,
        fit_notes=notes,
    )


def _units(
    labels: pd.Series, skip: Sequence[Any], min_rows: int | None, merge_small: bool
) -> tuple[pd.Series, dict[Any, list[Any]], int, list[str]]:
    """Which segments are fitted, as what: the unit label per row (NaN when skipped), each
    unit's member segments, the rows left out and what was done."""
    if isinstance(skip, str):
        skip = [skip]
    counts = labels.value_counts(sort=False)
    order = (
        list(labels.cat.categories)
        if isinstance(labels.dtype, pd.CategoricalDtype)
        else sorted(counts.index, key=str)
    )
    order = [s for s in order if counts.get(s, 0) > 0]
    by_text = {str(s): s for s in order}
    unknown = [s for s in skip if s not in counts.index and str(s) not in by_text]
    if unknown:
        raise CalibrationError(
            f"skip names segment(s) not in the survey: {unknown} (segments: "
            f"{', '.join(map(str, order))})"
        )
    skipped = {by_text.get(str(s), s) for s in skip}
    notes = []
    if skipped:
        rows = int(sum(counts[s] for s in skipped))
        notes.append(
            f"segment(s) {', '.join(map(str, sorted(skipped, key=str)))} skipped as asked "
            f"({rows:,} rows left out): the calibration file sets nothing for them"
        )
    small = [s for s in order if s not in skipped and min_rows is not None and counts[s] < min_rows]
    unit = {s: s for s in order if s not in skipped}
    members = {s: [s] for s in unit}
    if len(small) == 1 and merge_small:
        notes.append(
            f"segment {small[0]} has fewer than {min_rows} rows ({counts[small[0]]:,}) and no "
            "other small segment to pool with: it is fitted alone"
        )
    elif small and merge_small:
        pooled = "+".join(map(str, small))
        total = int(sum(counts[s] for s in small))
        for s in small:
            unit[s] = pooled
            members.pop(s)
        members[pooled] = list(small)
        notes.append(
            f"segment(s) {', '.join(map(str, small))} have fewer than {min_rows} rows and were "
            f"pooled into one fit {pooled!r} ({total:,} rows); each gets its estimates"
        )
        if total < max(min_rows or 0, MIN_ROWS):
            notes.append(f"the pooled fit {pooled!r} still has fewer than {min_rows} rows")
    elif small:
        rows = int(sum(counts[s] for s in small))
        for s in small:
            unit.pop(s)
            members.pop(s)
        notes.append(
            f"segment(s) {', '.join(map(str, small))} have fewer than {min_rows} rows and were "
            f"skipped ({rows:,} rows left out): the calibration file sets nothing for them"
        )
    ordered = list(dict.fromkeys(unit[s] for s in order if s in unit))
    mapped = labels.map(unit).astype(object)
    mapped = pd.Series(pd.Categorical(mapped, categories=ordered), index=labels.index)
    dropped = int(len(labels) - mapped.notna().sum())
    members = {u: members[u] for u in ordered}
    return mapped, members, dropped, notes


def _member_w0(share_of_wallet, members: dict[Any, list[Any]]) -> dict[Any, float] | None:
    """The baseline share of wallet of every segment fitted (alone or pooled)."""
    if share_of_wallet is None:
        return None
    names = [n for m in members.values() for n in m]
    if isinstance(share_of_wallet, Mapping):
        return {n: float(share_of_wallet[n]) for n in names}
    return {n: float(share_of_wallet) for n in names}


def _pooled_w0(share_of_wallet: Mapping[Any, float], members: dict[Any, list[Any]]):
    """Baselines per fitted unit: a pooled unit takes its members' mean (all must be given)."""
    out = {}
    for unit, names in members.items():
        lost = [n for n in names if n not in share_of_wallet]
        if lost:
            raise CalibrationError(f"share_of_wallet has no baseline for segment(s) {lost}")
        out[unit] = float(np.mean([share_of_wallet[n] for n in names]))
    return out
