"""Synthetic voice-of-customer surveys with a known truth (for recovery tests and demos).

A :class:`SegmentTruth` states, per segment, the numbers :func:`cxsim.calibrate.voc.fit_voc`
estimates: how much closing every gap would cut the monthly churn hazard (``churn_reduction``),
which group owns which share of that removable hazard (``pain_share``), the promoter gain, the
detractor reduction and the relative wallet lift. :meth:`SegmentTruth.solve` turns those numbers
into the coefficients of the respondent-level models by solving for them on the exact
distribution of gap patterns, with the counterfactual definitions of docs/model.md §7 — the
fit's own code (:mod:`cxsim.datasets.voc_solve`). :func:`simulate_voc` then draws respondents.

Churn is logistic in the gaps and the spend multiplier log-linear. The score follows a *score
law*: ``"logistic"`` (promoter and detractor probabilities logistic in the gaps) or ``"linear"``
(probabilities that move by fixed amounts per gap, clipped to [0, 1]: the 0–10 score falls
linearly with the gaps), which no logistic main-effects model describes.

How the responses are shared across groups is a choice of this generator: every response
(churn, promoters, detractors, spend) removes, group by group, amounts in proportion to the pain
share ("only g's gaps set to 0" removals), so one pain matrix drives them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from cxsim.datasets.voc_solve import (
    MAX_EXACT_GROUPS,
    pattern_distribution,
    solve_churn,
    solve_linear,
    solve_response,
)

__all__ = [
    "MAX_EXACT_GROUPS",
    "SCORE_LAWS",
    "GeneratorCoefficients",
    "SegmentTruth",
    "expected_estimates",
    "pattern_distribution",
    "simulate_voc",
]

#: How the 0–10 score depends on the gaps (see the module docstring).
SCORE_LAWS = ("logistic", "linear")


@dataclass(frozen=True)
class GeneratorCoefficients:
    """Respondent-level model coefficients of one segment, intercept first.

    ``churn`` is logistic (``logit P = b[0] + x @ b[1:]``); ``promoter`` and ``detractor`` are
    logistic under the logistic score law and probabilities ``clip(b[0] + x @ b[1:], 0, 1)``
    under the linear one (detractors capped at ``1 − promoters``); ``log_spend`` is the mean log
    spend multiplier (``log(after/before) = b[0] + x @ b[1:]`` plus mean-one lognormal noise).
    ``groups`` names the columns of ``x``.
    """

    groups: tuple[str, ...]
    prevalence: np.ndarray  # (G,)
    churn: np.ndarray  # (1+G,)
    promoter: np.ndarray  # (1+G,)
    detractor: np.ndarray  # (1+G,)
    log_spend: np.ndarray  # (1+G,)
    score_law: str = "logistic"


@dataclass(frozen=True)
class SegmentTruth:
    """The true VoC response parameters of one segment (docs/model.md §7 definitions).

    Parameters
    ----------
    weight : float
        Share of respondents from this segment (normalised over segments).
    churn_12m : float
        Mean 12-month churn probability as observed (gaps as they are).
    gap_prevalence : mapping of str to float
        Probability that a respondent experienced each group's gap (independent Bernoulli).
    churn_reduction : float
        ``c = 1 − E[h(p(no gaps))] / E[h(p(observed))]``, in [0, 1): the relative cut of the mean
        monthly hazard ``h(p) = 1 − (1 − p)^(1/12)`` of the respondents' 12-month churn
        probabilities ``p`` when every gap is closed (docs/model.md §7).
    pain_share : mapping of str to float
        Share of the removable hazard owned by each group; sums to 1. A group with a positive
        share must have a positive prevalence.
    promoters, detractors : float
        Observed shares of scores 9–10 and 0–6.
    promoter_gain : float
        ``Δp = promoters(no gaps) - promoters(observed)`` (absolute).
    detractor_reduction : float
        ``Δd = 1 - detractors(no gaps) / detractors(observed)``, in [0, 1).
    spend : float
        Mean monthly spend before.
    wallet_lift : float
        ``mean spend_after(no gaps) / mean spend_after(observed) - 1``.
    spend_sigma, change_sigma : float
        Log-sd of spend before and of the noise on the spend multiplier.
    score_law : {"logistic", "linear"}
        How promoter and detractor probabilities depend on the gaps (module docstring).
    """

    weight: float
    churn_12m: float
    gap_prevalence: Mapping[str, float]
    churn_reduction: float
    pain_share: Mapping[str, float]
    promoters: float
    detractors: float
    promoter_gain: float
    detractor_reduction: float
    spend: float
    wallet_lift: float
    spend_sigma: float = 0.5
    change_sigma: float = 0.2
    score_law: str = "logistic"

    def __post_init__(self) -> None:
        problems = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                problems.append(text)

        need(self.weight > 0, f"weight must be > 0 (got {self.weight})")
        need(0 < self.churn_12m < 1, f"churn_12m must be in (0, 1) (got {self.churn_12m})")
        need(
            0 <= self.churn_reduction < 1,
            f"churn_reduction must be in [0, 1) (got {self.churn_reduction})",
        )
        for group, q in self.gap_prevalence.items():
            need(0 <= q <= 1, f"gap_prevalence[{group!r}] must be in [0, 1] (got {q})")
        unknown = sorted(set(self.pain_share) - set(self.gap_prevalence))
        need(not unknown, f"pain_share names groups without a gap_prevalence: {unknown}")
        for group, share in self.pain_share.items():
            need(share >= 0, f"pain_share[{group!r}] must be >= 0 (got {share})")
            if share > 0 and self.gap_prevalence.get(group, 0) == 0:
                problems.append(
                    f"pain_share[{group!r}] = {share} but nobody experiences that gap "
                    "(gap_prevalence 0): a gap nobody has cannot own churn"
                )
        total = sum(self.pain_share.values())
        need(abs(total - 1) < 1e-6, f"pain_share must sum to 1 (got {total:.6g})")
        need(0 < self.promoters < 1, f"promoters must be in (0, 1) (got {self.promoters})")
        need(0 < self.detractors < 1, f"detractors must be in (0, 1) (got {self.detractors})")
        need(
            self.promoters + self.detractors < 1,
            f"promoters + detractors must be < 1 (got {self.promoters + self.detractors})",
        )
        need(
            0 < self.promoters + self.promoter_gain < 1,
            "promoters + promoter_gain (the promoter share with no gaps) must be in (0, 1) "
            f"(got {self.promoters + self.promoter_gain})",
        )
        need(
            0 <= self.detractor_reduction < 1,
            f"detractor_reduction must be in [0, 1) (got {self.detractor_reduction})",
        )
        need(self.spend > 0, f"spend must be > 0 (got {self.spend})")
        need(self.wallet_lift > -1, f"wallet_lift must be > -1 (got {self.wallet_lift})")
        need(self.spend_sigma >= 0, "spend_sigma must be >= 0")
        need(self.change_sigma >= 0, "change_sigma must be >= 0")
        need(
            self.score_law in SCORE_LAWS,
            f"score_law must be one of {', '.join(SCORE_LAWS)} (got {self.score_law!r})",
        )
        if problems:
            raise ValueError("invalid SegmentTruth: " + "; ".join(problems))

    def solve(self, groups: Sequence[str] | None = None) -> GeneratorCoefficients:
        """Solve the respondent-level coefficients that reproduce this truth exactly.

        Parameters
        ----------
        groups : sequence of str, optional
            Column order (a superset of this segment's groups; absent groups get prevalence 0
            and coefficient 0). Defaults to the keys of ``gap_prevalence``.

        Returns
        -------
        GeneratorCoefficients

        Raises
        ------
        ValueError
            If no coefficients reach the requested numbers (for example a churn reduction too
            large for how rare the gaps are), or if promoter + detractor probabilities exceed 1
            for some gap pattern.
        """
        groups = tuple(self.gap_prevalence) if groups is None else tuple(groups)
        missing = sorted(set(self.gap_prevalence) - set(groups))
        if missing:
            raise ValueError(f"groups {missing} of this segment are not in `groups`")
        q = np.array([float(self.gap_prevalence.get(g, 0.0)) for g in groups])
        share = np.array([float(self.pain_share.get(g, 0.0)) for g in groups])
        churn = solve_churn(self.churn_12m, self.churn_reduction, q, share)
        log_spend = solve_response(
            "spend", np.exp, np.log, 1 + self.wallet_lift, 1.0, q, share, "wallet_lift"
        )
        if self.score_law == "linear":
            promoter, detractor = solve_linear(
                self.promoters, self.promoter_gain, self.detractors, self.detractor_reduction,
                q, share,
            )  # fmt: skip
            return GeneratorCoefficients(groups, q, churn, promoter, detractor, log_spend, "linear")
        p0 = self.promoters + self.promoter_gain
        promoter = solve_response(
            "promoter", expit, logit, p0, self.promoters, q, share, "promoters/promoter_gain"
        )
        d0 = self.detractors * (1 - self.detractor_reduction)
        detractor = solve_response(
            "detractor",
            expit,
            logit,
            d0,
            self.detractors,
            q,
            share,
            "detractors/detractor_reduction",
        )
        active = share > 0
        x, _ = pattern_distribution(q[active])
        design = np.column_stack([np.ones(len(x)), x])
        both = expit(design @ promoter[np.r_[True, active]]) + expit(
            design @ detractor[np.r_[True, active]]
        )
        if both.max() > 1:
            raise ValueError(
                "infeasible truth: promoter + detractor probability exceeds 1 "
                f"({both.max():.3f}) for some gap pattern; lower promoters/detractors or their "
                "gains"
            )
        return GeneratorCoefficients(groups, q, churn, promoter, detractor, log_spend)


def simulate_voc(
    truth: Mapping[str, SegmentTruth], n: int, seed: int | np.random.Generator
) -> pd.DataFrame:
    """Draw ``n`` survey respondents whose population truth is ``truth``.

    Parameters
    ----------
    truth : mapping of str to SegmentTruth
        One truth per segment; segments are drawn with probability proportional to ``weight``.
    n : int
        Number of respondents.
    seed : int or numpy.random.Generator
        Randomness; the same seed gives the same frame.

    Returns
    -------
    pandas.DataFrame
        ``respondent_id``, ``segment`` (categorical), one ``gap_<group>`` 0/1 column per group
        (union over segments), ``ltr`` (0–10), ``churned_12m`` (0/1), ``spend_before`` and
        ``spend_after`` (positive).

    Examples
    --------
    >>> t = SegmentTruth(weight=1, churn_12m=0.2, gap_prevalence={"billing": 0.3, "it": 0.2},
    ...                  churn_reduction=0.3, pain_share={"billing": 0.6, "it": 0.4},
    ...                  promoters=0.3, detractors=0.3, promoter_gain=0.1,
    ...                  detractor_reduction=0.3, spend=50.0, wallet_lift=0.05)
    >>> df = simulate_voc({"core": t}, 1000, seed=1)
    >>> list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['respondent_id', 'segment', 'gap_billing', 'gap_it', 'ltr', 'churned_12m',
     'spend_before', 'spend_after']
    """
    if not truth:
        raise ValueError("truth must name at least one segment")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1 (got {n})")
    n = int(n)
    rng = np.random.default_rng(seed)
    names = list(truth)
    groups = list(dict.fromkeys(g for t in truth.values() for g in t.gap_prevalence))
    coef = [truth[s].solve(groups) for s in names]
    prevalence = np.array([c.prevalence for c in coef])  # (segment, group)
    churn = np.array([c.churn for c in coef])  # (segment, 1+group)
    promoter = np.array([c.promoter for c in coef])
    detractor = np.array([c.detractor for c in coef])
    log_spend = np.array([c.log_spend for c in coef])
    weight = np.array([truth[s].weight for s in names], dtype=float)
    spend = np.array([truth[s].spend for s in names])
    sig_b = np.array([truth[s].spend_sigma for s in names])
    sig_a = np.array([truth[s].change_sigma for s in names])

    seg = rng.choice(len(names), size=n, p=weight / weight.sum())
    gaps = rng.random((n, len(groups))) < prevalence[seg]  # (respondent, group)
    x = gaps.astype(float)

    def eta(b: np.ndarray) -> np.ndarray:
        return b[seg, 0] + np.einsum("ng,ng->n", x, b[seg, 1:])

    churned = rng.random(n) < expit(eta(churn))
    eta_p, eta_d = eta(promoter), eta(detractor)
    p_prom, p_det = expit(eta_p), expit(eta_d)
    linear = np.array([c.score_law == "linear" for c in coef])[seg]
    if linear.any():  # probabilities linear in the gaps, clipped (the linear score law)
        lin_p = np.clip(eta_p, 0.0, 1.0)
        lin_d = np.minimum(np.clip(eta_d, 0.0, 1.0), 1.0 - lin_p)
        p_prom, p_det = np.where(linear, lin_p, p_prom), np.where(linear, lin_d, p_det)
    if np.any(p_prom + p_det > 1 + 1e-12):
        raise ValueError("infeasible truth: promoter + detractor probability exceeds 1")
    u, v = rng.random(n), rng.random(n)
    ltr = np.where(
        u < p_prom,
        9 + np.floor(2 * v),
        np.where(u < p_prom + p_det, np.floor(7 * v), 7 + np.floor(2 * v)),
    ).astype(np.int64)
    z = rng.standard_normal((2, n))
    spend_before = spend[seg] * np.exp(sig_b[seg] * z[0] - sig_b[seg] ** 2 / 2)
    spend_after = spend_before * np.exp(eta(log_spend) + sig_a[seg] * z[1] - sig_a[seg] ** 2 / 2)

    columns: dict[str, object] = {
        "respondent_id": np.arange(1, n + 1),
        "segment": pd.Categorical.from_codes(seg, categories=names),
    }
    for j, g in enumerate(groups):
        columns[f"gap_{g}"] = gaps[:, j].astype(np.int8)
    columns["ltr"] = ltr
    columns["churned_12m"] = churned.astype(np.int8)
    columns["spend_before"] = spend_before
    columns["spend_after"] = spend_after
    return pd.DataFrame(columns)


def expected_estimates(truth: Mapping[str, SegmentTruth]) -> pd.DataFrame:
    """The population values :func:`~cxsim.calibrate.voc.fit_voc` estimates, long format.

    Columns ``segment``, ``parameter``, ``truth`` with the parameters ``churn_reduction``,
    ``promoter_gain``, ``detractor_reduction``, ``wallet_lift`` and ``pain_share.<group>``.
    """
    groups = list(dict.fromkeys(g for t in truth.values() for g in t.gap_prevalence))
    rows = []
    for s, t in truth.items():
        rows += [
            (s, "churn_reduction", t.churn_reduction),
            (s, "promoter_gain", t.promoter_gain),
            (s, "detractor_reduction", t.detractor_reduction),
            (s, "wallet_lift", t.wallet_lift),
        ]
        rows += [(s, f"pain_share.{g}", float(t.pain_share.get(g, 0.0))) for g in groups]
    return pd.DataFrame(rows, columns=["segment", "parameter", "truth"])
