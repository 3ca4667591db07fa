"""Voice-of-customer surveys simulated from a scenario, so the truth behind them is known.

:func:`make_voc_survey` draws respondents whose population truth is the scenario itself
(:func:`voc_truth_of` returns it): fitting the survey with :func:`~cxsim.calibrate.fit_voc`
should give back the scenario's responses and pain shares. With ``unowned=True`` the survey
also records the gaps no work group owns (a ``gap_other`` column), so a scenario whose pain
shares sum below 1 comes back with the same shares and the same business case.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxsim.datasets.voc_truth import SCORE_LAWS, SegmentTruth, simulate_voc
from cxsim.errors import CxsimError
from cxsim.uncertainty.distributions import Distribution

if TYPE_CHECKING:
    from cxsim.scenario import Scenario

__all__ = ["UNOWNED_GROUP", "make_voc_survey", "voc_truth_of"]

#: The gap group of the gaps no work group owns (column ``gap_other``), as fit_voc expects it.
UNOWNED_GROUP = "other"


def _as_scenario(scenario) -> Scenario:
    from cxsim.scenario import Scenario, load_scenario

    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _median(value: float | Distribution) -> float:
    return float(value.median()) if isinstance(value, Distribution) else float(value)


def _responses_of(scenario: Scenario, segment: str) -> dict[str, float]:
    """Medians of one segment's responses (its overrides, else the scenario-wide values)."""
    return {key: _median(value) for key, value in scenario.responses_for(segment).items()}


def _baseline_churn_12m(scenario: Scenario) -> dict[str, float]:
    """1 − 12-month survival of today's base, per segment, without the programme.

    ``1 − (1 − θ)^12`` for ``monthly_churn: θ``. For an ``sbg`` segment the base's survival
    depends on its tenure mix, so the simulator is run once (every uncertain input at its
    median) and the baseline arm's ``retention_12m`` at month 0 is read.
    """
    out = {
        name: 1.0 - (1.0 - _median(seg.monthly_churn)) ** 12
        for name, seg in scenario.segments.items()
        if seg.monthly_churn is not None
    }
    if len(out) < len(scenario.segments):
        from cxsim.montecarlo import simulate

        fixed = {item.path: _median(item.value) for item in scenario.uncertain_inputs()}
        result = simulate(scenario, draws=1, seed=0, fixed=fixed, progress=False)
        for name in scenario.segments:
            if name not in out:
                out[name] = 1.0 - float(result.metric("retention_12m", name)[1, 0, 0])
    return out


def voc_truth_of(
    scenario: Scenario | str | os.PathLike[str],
    *,
    unowned: bool = False,
    score_law: str = "logistic",
) -> dict[str, SegmentTruth]:
    """The survey truth a scenario implies: a :class:`~cxsim.datasets.SegmentTruth` per segment.

    Mapping (uncertain inputs at their medians):

    - ``weight`` ∝ the segment's ``customers``;
    - ``churn_12m`` = the segment's baseline 12-month churn probability of today's base
      (1 − 12-month survival: ``1 − (1 − θ)^12`` for ``monthly_churn θ``; for ``sbg`` the
      simulator's baseline ``retention_12m`` at month 0, which reflects the base's tenure mix);
    - ``gap_prevalence[g]`` = the pain share ``P[s, g]``: the share of the segment's
      respondents who experienced group g's gap equals the share of its gaps g owns
      ("gaps experienced by pain share");
    - ``pain_share[g]`` = ``P[s, g] / Σ_h P[s, h]`` (the survey's pain shares sum to 1 over the
      modelled groups): when ``Σ_g P[s, g] < 1`` the remainder does not appear in the survey;
    - with ``unowned=True`` the remainder is the group ``"other"`` instead (prevalence and pain
      share ``1 − Σ_g P[s, g]``, column ``gap_other``) and ``pain_share[g] = P[s, g]``: the
      survey then describes the scenario exactly, unowned pain included;
    - ``churn_reduction``, ``promoter_gain``, ``detractor_reduction`` = the segment's responses
      (``scenario.responses_for(segment)``: segment overrides, else scenario-wide values);
    - ``promoters``, ``detractors`` = the segment's; ``spend`` = ``arpu``;
    - ``wallet_lift`` = ``wallet_gain / share_of_wallet`` (the relative spend lift that
      :func:`~cxsim.calibrate.fit_voc` turns back into points with the same ``share_of_wallet``).

    Without ``unowned`` the survey's churn reduction is the effect of closing every *modelled*
    gap, while in the scenario closing every group's gaps closes only ``Σ_g P[s, g]`` of them,
    so a scenario calibrated on it closes more than the original does.

    Parameters
    ----------
    scenario : Scenario or path
        A loaded scenario or a scenario file.
    unowned : bool
        Record the gaps no work group owns as the group ``"other"``.
    score_law : {"logistic", "linear"}
        How the score depends on the gaps (:mod:`cxsim.datasets.voc_truth`).

    Returns
    -------
    dict of str to SegmentTruth

    Raises
    ------
    CxsimError
        A segment no work group owns gaps of, or responses the survey generator cannot reach.
    """
    scenario = _as_scenario(scenario)
    if unowned and UNOWNED_GROUP in scenario.work_groups:
        raise CxsimError(
            f"a work group is named {UNOWNED_GROUP!r}: the unowned gaps need that name"
        )
    churn = _baseline_churn_12m(scenario)
    truth = {}
    for name, seg in scenario.segments.items():
        pain = {
            g: _median(group.pain_share[name])
            for g, group in scenario.work_groups.items()
            if name in group.pain_share
        }
        total = sum(pain.values())
        if unowned:
            pain[UNOWNED_GROUP] = max(1.0 - total, 0.0)
        if total <= 0:
            raise CxsimError(
                f"segment {name!r}: no work group owns a share of its gaps (pain_share), so a "
                "survey has no gaps to report"
            )
        responses = _responses_of(scenario, name)
        try:
            truth[name] = SegmentTruth(
                weight=_median(seg.customers),
                churn_12m=churn[name],
                gap_prevalence=pain,
                churn_reduction=responses["churn_reduction"],
                pain_share=pain if unowned else {g: p / total for g, p in pain.items()},
                promoters=_median(seg.promoters),
                detractors=_median(seg.detractors),
                promoter_gain=responses["promoter_gain"],
                detractor_reduction=responses["detractor_reduction"],
                spend=_median(seg.arpu),
                wallet_lift=responses["wallet_gain"] / _median(seg.share_of_wallet),
                score_law=score_law,
            )
        except ValueError as exc:
            raise CxsimError(f"segment {name!r}: {exc}") from None
    return truth


def make_voc_survey(
    scenario: Scenario | str | os.PathLike[str],
    n: int,
    seed: int | np.random.Generator,
    *,
    unowned: bool = False,
    score_law: str = "logistic",
) -> pd.DataFrame:
    """Simulate ``n`` voice-of-customer respondents whose truth is the scenario.

    The truth is :func:`voc_truth_of` the scenario; respondents are drawn by
    :func:`cxsim.datasets.voc_truth.simulate_voc` (segments in proportion to customers) and spend is
    rounded to cents.

    Parameters
    ----------
    scenario : Scenario or path
    n : int
        Number of respondents.
    seed : int or numpy.random.Generator
        The same seed gives the same frame.
    unowned : bool
        Add a ``gap_other`` column: the gaps no work group owns (``1 − Σ_g P[s, g]`` of them),
        which :func:`~cxsim.calibrate.fit_voc` keeps as the unowned share.
    score_law : {"logistic", "linear"}
        How the score depends on the gaps.

    Returns
    -------
    pandas.DataFrame
        ``respondent_id``, ``segment`` (categorical, in the scenario's order), one ``gap_<group>``
        0/1 column per work group (and ``gap_other``), ``ltr`` (0–10), ``churned_12m`` (0/1),
        ``spend_before`` and ``spend_after`` (monthly, currency units, cents).

    Raises
    ------
    CxsimError
        See :func:`voc_truth_of`; also ``n < 1``.

    Examples
    --------
    >>> from cxsim.scenario import load_scenario
    >>> from cxsim.calibrate import fit_voc
    >>> bank = load_scenario("scenarios/retail_bank.yaml")
    >>> survey = make_voc_survey(bank, n=2000, seed=1)
    >>> survey.shape
    (2000, 13)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise CxsimError(f"n must be a whole number ≥ 1 (got {n!r})")
    if score_law not in SCORE_LAWS:
        raise CxsimError(f"score_law must be one of {', '.join(SCORE_LAWS)} (got {score_law!r})")
    truth = voc_truth_of(scenario, unowned=unowned, score_law=score_law)
    frame = simulate_voc(truth, int(n), seed)
    for column in ("spend_before", "spend_after"):
        frame[column] = np.maximum(np.round(frame[column].to_numpy(), 2), 0.01)
    return frame
