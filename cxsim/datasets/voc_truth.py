"""Synthetic voice-of-customer surveys with a known truth (for recovery tests and demos).

A :class:`SegmentTruth` states, per segment, the numbers :func:`cxsim.calibrate.voc.fit_voc`
estimates: how much churn closing every gap would remove (``churn_reduction``), which group owns
which share of that removable churn (``pain_share``), the promoter gain, the detractor reduction
and the relative wallet lift. :meth:`SegmentTruth.solve` turns those numbers into the
coefficients of the respondent-level models (logistic for churn, promoter and detractor; linear
in the log for the spend multiplier) by solving for them on the exact distribution of gap
patterns, with the counterfactual definitions of docs/model.md §7 — the same code the fit uses
(:func:`cxsim.calibrate.voc.counterfactual`). :func:`simulate_voc` then draws respondents.

How the responses are shared across groups is a choice of this generator: every response
(churn, promoters, detractors, spend) removes, group by group, amounts in proportion to the pain
share ("only g's gaps set to 0" removals), so one pain matrix drives them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, logit

from cxsim.calibrate.voc import counterfactual

#: Patterns are enumerated exactly up to this many groups with a non-zero pain share (2**15
#: patterns); above it a fixed sample of as many patterns (seed ``_PATTERN_SEED``) stands in for
#: the population, so the truth holds on that sample (about 0.5% relative off the population).
MAX_EXACT_GROUPS = 15
_PATTERN_SAMPLE = 1 << MAX_EXACT_GROUPS
_PATTERN_SEED = 20_240_601


@dataclass(frozen=True)
class GeneratorCoefficients:
    """Respondent-level model coefficients of one segment, intercept first.

    ``churn``, ``promoter`` and ``detractor`` are logistic (``logit P = b[0] + x @ b[1:]``);
    ``log_spend`` is the mean log spend multiplier (``log(after/before) = b[0] + x @ b[1:]``
    plus mean-one lognormal noise). ``groups`` names the columns of ``x``.
    """

    groups: tuple[str, ...]
    prevalence: np.ndarray  # (G,)
    churn: np.ndarray  # (1+G,)
    promoter: np.ndarray  # (1+G,)
    detractor: np.ndarray  # (1+G,)
    log_spend: np.ndarray  # (1+G,)


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
        ``c = 1 - churn(all gaps removed) / churn(observed)``, in [0, 1).
    pain_share : mapping of str to float
        Share of removable churn owned by each group; sums to 1. A group with a positive share
        must have a positive prevalence.
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
        m, c = self.churn_12m, self.churn_reduction
        churn = _solve_response(
            "churn", expit, logit, m * (1 - c), m, q, share, "churn_12m/churn_reduction"
        )
        p0 = self.promoters + self.promoter_gain
        promoter = _solve_response(
            "promoter", expit, logit, p0, self.promoters, q, share, "promoters/promoter_gain"
        )
        d0 = self.detractors * (1 - self.detractor_reduction)
        detractor = _solve_response(
            "detractor",
            expit,
            logit,
            d0,
            self.detractors,
            q,
            share,
            "detractors/detractor_reduction",
        )
        log_spend = _solve_response(
            "spend", np.exp, np.log, 1 + self.wallet_lift, 1.0, q, share, "wallet_lift"
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


def pattern_distribution(prevalence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gap patterns and their probabilities for independent Bernoulli gaps.

    Exact enumeration of the ``2**G`` patterns when ``G <= MAX_EXACT_GROUPS``; otherwise a fixed
    sample of ``2**15`` patterns with equal weights (always the same sample).

    Returns
    -------
    x : ndarray, shape (K, G)
        0/1 patterns.
    weight : ndarray, shape (K,)
        Probabilities (sum to 1).
    """
    q = np.asarray(prevalence, dtype=float)
    g = len(q)
    if g <= MAX_EXACT_GROUPS:
        codes = np.arange(1 << g)
        x = ((codes[:, None] >> np.arange(g)) & 1).astype(float)
        weight = np.prod(np.where(x == 1, q, 1 - q), axis=1)
        return x, weight
    rng = np.random.default_rng(_PATTERN_SEED)
    x = (rng.random((_PATTERN_SAMPLE, g)) < q).astype(float)
    return x, np.full(_PATTERN_SAMPLE, 1 / _PATTERN_SAMPLE)


def _solve_response(
    name: str,
    link_inv,
    link,
    target0: float,
    target_obs: float,
    q: np.ndarray,
    share: np.ndarray,
    what: str,
) -> np.ndarray:
    """Coefficients with ``f(b0) = target0``, ``E f(b0 + x@b) = target_obs`` and the
    single-group removals in proportion to ``share`` (docs/model.md §7)."""
    beta = np.zeros(1 + len(q))
    beta[0] = link(target0)
    active = share > 0
    if abs(target_obs - target0) < 1e-14 or not active.any():
        return beta
    x, w = pattern_distribution(q[active])
    design = np.column_stack([np.ones(len(x)), x])
    s = share[active] / share[active].sum()
    kind = "logit" if link_inv is expit else "log"
    scale = target_obs - target0

    def mean_obs(b: np.ndarray) -> float:
        return float(w @ link_inv(beta[0] + x @ b))

    # Start: b = k * s / q, a one-dimensional search for k hitting the observed mean.
    v = s / q[active]
    h = lambda k: mean_obs(k * v) - target_obs  # noqa: E731
    hi = 1.0 if scale > 0 else -1.0
    while abs(hi) < 200 and np.sign(h(hi)) != np.sign(scale):
        hi *= 2
    if np.sign(h(hi)) != np.sign(scale):
        raise ValueError(_infeasible(name, what, q, share))
    k0 = optimize.brentq(h, 0.0, hi, xtol=1e-14)

    def residuals(b: np.ndarray) -> np.ndarray:
        full = np.concatenate([[beta[0]], b])
        m_obs, _, m_without = counterfactual(full, design, w, link=kind)
        removal = m_obs - m_without
        return np.concatenate([[(m_obs - target_obs) / scale], (removal / removal.sum() - s)[:-1]])

    def jacobian(b: np.ndarray) -> np.ndarray:
        eta = beta[0] + x @ b  # (K,)
        eta_without = eta[:, None] - x * b  # (K, G)
        slope = _slope(link_inv, eta)
        d_obs = (w * slope) @ x  # (G,)
        # d m_without[g] / d b[j] = Σ_k w f'(η_k - b_g x_kg) x_kj for j != g, 0 for j == g.
        d_without = np.einsum("k,kg,kj->gj", w, _slope(link_inv, eta_without), x)
        d_without[np.diag_indices_from(d_without)] = 0.0
        _, m_without = w @ link_inv(eta), w @ link_inv(eta_without)
        removal = w @ link_inv(eta) - m_without
        d_removal = d_obs[None, :] - d_without
        total, d_total = removal.sum(), d_removal.sum(axis=0)
        d_share = (d_removal * total - removal[:, None] * d_total[None, :]) / total**2
        return np.vstack([d_obs[None, :] / scale, d_share[:-1]])

    sol = optimize.root(residuals, k0 * v, jac=jacobian, method="hybr", tol=1e-13)
    if not np.all(np.isfinite(sol.x)) or np.max(np.abs(residuals(sol.x))) > 1e-9:
        raise ValueError(_infeasible(name, what, q, share))
    beta[1:][active] = sol.x
    return beta


def _slope(link_inv, eta: np.ndarray) -> np.ndarray:
    """Derivative of the inverse link at ``eta``."""
    if link_inv is expit:
        mu = expit(eta)
        return mu * (1 - mu)
    return np.exp(eta)


def _infeasible(name: str, what: str, q: np.ndarray, share: np.ndarray) -> str:
    return (
        f"infeasible truth: no {name} model reaches the requested {what} with pain shares "
        f"{np.round(share, 4).tolist()} and gap prevalences {np.round(q, 4).tolist()}; the "
        "effect is too large for how rare the gaps are (lower the effect or raise prevalence)"
    )


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
    p_prom, p_det = expit(eta(promoter)), expit(eta(detractor))
    if np.any(p_prom + p_det > 1):
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
