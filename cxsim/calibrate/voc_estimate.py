"""The VoC estimands from gap-pattern cells (docs/model.md §7).

Every estimand compares the segment as observed with counterfactual gap patterns: "no gaps"
(every gap closed) and "k without g" (only group g's gap closed). What an outcome is at a
pattern comes from the cells themselves where they are large enough, and from a smoothing model
elsewhere:

- a pattern with at least :data:`N_CELL` respondents in the sample is *rich*: its value is its
  own cell rate (the saturated model), whatever law produced the data;
- any other pattern, observed or counterfactual, takes the value of the smoother: a logistic
  regression (least squares of the log spend change for spend) on the gap indicators with main
  effects plus the pairwise interactions the data support (:func:`choose_pairs`), optionally
  Firth-penalised.

So the promoter gain is ``p(no gaps) − p(observed)`` with ``p(no gaps)`` the rate of the
respondents who report no gap and ``p(observed)`` the segment's rate: both plain proportions
when the no-gap cell is rich, which it almost always is. Churn is read on the scale the engine
uses, the monthly hazard ``h(p) = 1 − (1 − p)^(1/12)`` of each pattern's 12-month churn
probability; the cells that are not rich go through the smoother there, because ``h`` is steep
near 1 and a cell of one churner would otherwise count as a hazard of 1.

:func:`estimate` runs for a batch of statistics ``(B, K)`` at once: the sample (B = 1),
bootstrap replicates, or the perturbed samples of the delta method (:func:`delta_se`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import expit

from cxsim.calibrate.glm import GlmFit, deviance, fit_logit, fit_ols
from cxsim.calibrate.voc_cells import SegmentCells

__all__ = [
    "BINARY",
    "counterfactual",
    "GOF_ALPHA",
    "N_CELL",
    "Estimator",
    "Gof",
    "delta_se",
    "goodness_of_fit",
    "monthly_hazard",
]

#: A gap pattern with at least this many respondents is estimated by its own cell rate.
N_CELL = 30
#: Smoothers keep at least this many events (and non-events) per coefficient.
EVENTS_PER_TERM = 10
#: A pair of gaps enters the smoother when this many respondents report both, with at least
#: :data:`PAIR_EVENTS` events and non-events among them.
PAIR_EVENTS = 5
#: The main-effects model misfits the cells when its goodness-of-fit p-value is below this.
GOF_ALPHA = 0.01
#: The binary outcomes and their count keys in :meth:`SegmentCells.pooled`.
BINARY = ("churn", "promoter", "detractor")


def monthly_hazard(p: np.ndarray | float) -> np.ndarray:
    """The constant monthly hazard with 12-month churn probability ``p``: ``1 − (1 − p)^(1/12)``.

    Examples
    --------
    >>> round(float(monthly_hazard(1 - 0.99**12)), 12)
    0.01
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf, a hazard of 1
        return -np.expm1(np.log1p(-p) / 12)


def counterfactual(
    beta: np.ndarray,
    design: np.ndarray,
    weights: np.ndarray,
    link: str = "logit",
    hazard: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean predicted outcome of a main-effects model as observed, with every gap set to 0,
    and with only g's set to 0.

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
    hazard : bool
        Average the monthly hazard :func:`monthly_hazard` of the predicted 12-month churn
        probability instead of the probability (logit link).

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
    >>> round(float(1 - none / obs), 4)  # the attributable fraction of the probability
    0.3858
    """
    inverse = expit if link == "logit" else np.exp

    def f(eta):
        return monthly_hazard(inverse(eta)) if hazard else inverse(eta)

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


def choose_pairs(
    bits: np.ndarray, trials: np.ndarray, events: np.ndarray | None, budget: float
) -> list[tuple[int, int]]:
    """Pairs of gap columns for the smoother, most co-reported first.

    A pair needs :data:`N_CELL` respondents reporting both (and, for a binary outcome,
    :data:`PAIR_EVENTS` events and non-events among them); pairs are added while the model keeps
    ``budget`` coefficients at most (events per term, :data:`EVENTS_PER_TERM`).
    """
    g = bits.shape[1]
    room = int(budget) - (1 + g)
    found = []
    for i in range(g):
        for j in range(i + 1, g):
            both = bits[:, i] * bits[:, j]
            n = float(trials @ both)
            if n < N_CELL:
                continue
            if events is not None:
                hit = float(events @ both)
                if min(hit, n - hit) < PAIR_EVENTS:
                    continue
            found.append((n, i, j))
    found.sort(key=lambda t: -t[0])
    return [(i, j) for _, i, j in found[: max(room, 0)]]


def pattern_design(bits: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Intercept, main effects and the chosen pairwise products of 0/1 patterns ``(..., G)``."""
    cols = [np.ones(bits.shape[:-1]), *np.moveaxis(bits, -1, 0)]
    cols += [bits[..., i] * bits[..., j] for i, j in pairs]
    return np.stack(cols, axis=-1).astype(float)


@dataclass
class Estimator:
    """One segment's estimator: which cells are rich and the smoothers' designs.

    Built from the sample (:meth:`for_segment`) and then applied unchanged to the sample, to
    every bootstrap replicate and to the delta method's perturbed samples, so the rule is part
    of the estimator and not re-chosen per replicate.
    """

    seg: SegmentCells
    rich: np.ndarray  # (K,) bool
    pairs: dict[str, list[tuple[int, int]]]  # outcome -> pairs of active columns
    firth: bool = False

    @classmethod
    def for_segment(cls, seg: SegmentCells, outcomes, firth: bool = False) -> Estimator:
        point = seg.pooled(seg.count[None, :])
        trials = point["trials"][0]
        bits = seg.design[:, 1:]
        pairs = {}
        for outcome in outcomes:
            if outcome == "spend":
                pairs[outcome] = choose_pairs(bits, trials, None, seg.rows / EVENTS_PER_TERM)
            else:
                hits = point[outcome][0]
                least = min(hits.sum(), trials.sum() - hits.sum())
                budget = least / EVENTS_PER_TERM
                pairs[outcome] = choose_pairs(bits, trials, hits, budget)
        return cls(seg, trials >= N_CELL, pairs, firth)

    @property
    def no_gap_rows(self) -> int:
        """Respondents of the sample who report no gap."""
        k = self.seg.none_index
        return 0 if k < 0 else int(round(self.seg.pooled(self.seg.count[None, :])["trials"][0, k]))

    def smoother(self, outcome: str, stats_: dict[str, np.ndarray]) -> GlmFit:
        """The smoothing model of ``outcome`` fitted to every row of ``stats_``."""
        x = pattern_design(self.seg.design[:, 1:], self.pairs[outcome])
        if outcome == "spend":
            return fit_ols(x, stats_["trials"], stats_["sum_y"])
        return fit_logit(x, stats_["trials"], stats_[outcome], firth=self.firth)

    def estimate(
        self, stats_: dict[str, np.ndarray], outcomes, w0: float | None = None
    ) -> tuple[dict[str, GlmFit], dict[str, np.ndarray]]:
        """Smoothers and derived quantities for pooled statistics (B, K): (fits, values).

        ``values`` holds ``churn_reduction`` and ``pain_share`` (B, Ga), ``promoter_gain``,
        ``detractor_reduction``, ``wallet_lift`` and ``wallet_gain`` (with ``w0``), each (B,).
        """
        trials = stats_["trials"]
        total = trials.sum(axis=1)
        fits, values = {}, {}
        for outcome in outcomes:
            fit = fits[outcome] = self.smoother(outcome, stats_)
            if outcome == "spend":
                obs, none, _ = self.levels(outcome, fit, stats_["sum_y"], trials, np.exp)
                weight = stats_["sum_b"]
                mean_obs = (weight * obs).sum(axis=1) / weight.sum(axis=1)
                values["wallet_lift"] = none / mean_obs - 1
                if w0 is not None:
                    values["wallet_gain"] = values["wallet_lift"] * w0
                continue
            events = stats_[outcome]
            if outcome == "churn":
                obs, none, without = self.levels(outcome, fit, events, trials, monthly_hazard)
                mean_obs = (trials * obs).sum(axis=1) / total
                removal = (
                    mean_obs[:, None] - (trials[:, :, None] * without).sum(axis=1) / total[:, None]
                )  # (B, Ga): hazard removed when only g's gaps are closed
                values["churn_reduction"] = 1 - none / mean_obs
                sums = removal.sum(axis=1, keepdims=True)
                values["pain_share"] = np.divide(
                    removal, sums, out=np.full_like(removal, np.nan), where=np.abs(sums) > 1e-15
                )
            else:
                _, none, _ = self.levels(outcome, fit, events, trials, _identity)
                rate = events.sum(axis=1) / total  # the observed share, a plain proportion
                if outcome == "promoter":
                    values["promoter_gain"] = none - rate
                else:
                    values["detractor_reduction"] = 1 - none / rate
        return fits, values

    def levels(self, outcome: str, fit: GlmFit, sums, trials, transform):
        """Per pattern as observed (B, K), with no gaps (B,) and without each gap (B, K, Ga).

        A rich pattern (observed or counterfactual) takes its cell mean, any other the
        smoother's prediction; ``transform`` maps the probability (or, for spend, the mean log
        change) to the scale the estimand averages on.
        """
        seg, pairs = self.seg, self.pairs[outcome]
        bits = seg.design[:, 1:]
        inverse = _identity if outcome == "spend" else expit
        with np.errstate(divide="ignore", invalid="ignore"):
            cell = sums / trials
        own = self.rich[None, :] & (trials > 0)
        model = inverse(fit.beta @ pattern_design(bits, pairs).T)  # (B, K)
        level = np.where(own, cell, model)

        def at(index: np.ndarray, pattern_bits: np.ndarray) -> np.ndarray:
            """Level at counterfactual patterns: a rich observed pattern's cell, else the model."""
            eta = pattern_design(pattern_bits, pairs) @ fit.beta.T  # (..., B)
            eta = np.moveaxis(eta, -1, 0)  # (B, ...)
            safe = np.where(index >= 0, index, 0)
            use = (index >= 0) & self.rich[safe]
            use_b = use[None] & (trials[:, safe] > 0)
            return np.where(use_b, cell[:, safe], inverse(eta))

        zero = np.zeros(bits.shape[1])
        none = at(np.array(seg.none_index), zero)  # (B,)
        without = at(seg.without, seg.without_bits)  # (B, K, Ga)
        return transform(level), transform(none), transform(without)


def _identity(v):
    return v


def delta_se(
    est: Estimator, point: dict[str, np.ndarray], outcomes, w0: float | None
) -> dict[str, np.ndarray]:
    """Delta-method standard errors of every derived quantity, the gap mix held fixed.

    Each pattern's outcome count (and spend sum) is perturbed up and down in one batch; the
    estimates' derivatives in them, with binomial variances ``n·p(1−p)`` (``p`` the pattern's
    level) and the within-pattern variance of the log spend change, give the variances.
    """
    seg = est.seg
    k = len(seg.design)
    trials = point["trials"][0]
    out: dict[str, np.ndarray] = {}
    for outcome in outcomes:
        key = "sum_y" if outcome == "spend" else outcome
        eps = 1e-4 * np.maximum(trials, 1.0)
        batch = {name: np.repeat(v[:1], 2 * k, axis=0) for name, v in point.items()}
        batch[key] = batch[key].copy()
        batch[key][np.arange(k), np.arange(k)] += eps
        batch[key][k + np.arange(k), np.arange(k)] -= eps
        _, vals = est.estimate(batch, [outcome], w0)
        if outcome == "spend":
            var = _within_spend_variance(seg, trials)
        else:
            fit = est.smoother(outcome, point)
            level = est.levels(outcome, fit, point[outcome], point["trials"], _identity)[0][0]
            var = trials * level * (1 - level)
        for name, v in vals.items():
            v = v.reshape(2 * k, -1)
            grad = (v[:k] - v[k:]) / (2 * eps[:, None])  # (K, q)
            out[name] = np.sqrt(np.maximum((grad**2 * var[:, None]).sum(axis=0), 0.0))
    return out


def _within_spend_variance(seg: SegmentCells, trials: np.ndarray) -> np.ndarray:
    """Variance of each pattern's sum of log spend changes: ``n · var(y)`` within it."""
    s = seg.spend
    assert s is not None
    k = len(seg.design)
    # Pool the cells of a pattern: within-cell variance plus the spread of the cell means.
    n = np.bincount(seg.cell_pattern, seg.count, minlength=k)
    sum_y = np.bincount(seg.cell_pattern, seg.count * s["mean_y"], minlength=k)
    sum_yy = np.bincount(seg.cell_pattern, seg.count * (s["cyy"] + s["mean_y"] ** 2), minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = sum_yy / n - (sum_y / n) ** 2
    return trials * np.maximum(var, 0.0)


@dataclass
class Gof:
    """Goodness of fit of the main-effects logistic model against the rich cells' rates."""

    outcome: str
    statistic: float  # likelihood-ratio (deviance) statistic
    df: int
    p_value: float
    rich_cells: int


def goodness_of_fit(seg: SegmentCells, est: Estimator, outcome: str, main: GlmFit) -> Gof | None:
    """Likelihood-ratio test of the main-effects logistic model against the same model with a
    free rate for every rich cell (the saturated model when every pattern is rich).

    The larger model fits each rich cell exactly, so its deviance is the main-effects model's
    on the other cells alone; the statistic is the difference of the two deviances, on as many
    degrees of freedom as the larger model has extra coefficients. None when that is 0.
    """
    point = seg.pooled(seg.count[None, :])
    trials, events = point["trials"], point[outcome]
    x = seg.design
    rest = ~est.rich
    full = float(deviance(x, main.beta, trials, events)[0])
    populated = trials[0] > 0
    rank_all = np.linalg.matrix_rank(x[populated])
    rank_rest = np.linalg.matrix_rank(x[populated & rest]) if (populated & rest).any() else 0
    df = int(est.rich.sum()) + int(rank_rest) - int(rank_all)
    if df <= 0:
        return None
    if (populated & rest).any():
        t_rest, e_rest = np.where(rest, trials, 0.0), np.where(rest, events, 0.0)
        sub = fit_logit(x, t_rest, e_rest)
        reduced = float(deviance(x, sub.beta, t_rest, e_rest)[0])
    else:
        reduced = 0.0
    lr = max(full - reduced, 0.0)
    return Gof(outcome, lr, df, float(stats.chi2.sf(lr, df)), int(est.rich.sum()))
