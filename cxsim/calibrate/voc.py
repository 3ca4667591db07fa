"""Voice of the customer → response parameters: what closing the gaps would change.

MODEL.md §7: per segment, respondent-level models of churn, promoter, detractor (logistic) and
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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, log_expit

from cxsim.calibrate.files import frame_sha256
from cxsim.calibrate.voc_result import VocResult
from cxsim.errors import CalibrationError

__all__ = ["VocResult", "counterfactual", "fit_voc"]

GAP_PREFIX = "gap_"
MIN_ROWS = 50
#: Largest |coefficient| accepted before calling the fit separated (odds ratio e^20 ≈ 5e8).
MAX_ABS_COEF = 20.0
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


# ----------------------------------------------------------------------------- batched fits
def _pool(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Sum ``values`` (B, J) into ``size`` bins along the last axis by ``index`` (J,)."""
    b = values.shape[0]
    flat = (np.arange(b)[:, None] * size + index[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=b * size).reshape(b, size)


def _gram(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``X' diag(w_b) X`` for every replicate: (B, K), (K, p) -> (B, p, p)."""
    return np.matmul(x.T[None, :, :] * weight[:, None, :], x)


def _masked(h: np.ndarray, g: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pin the coefficients of columns nobody is exposed to at 0 (identity rows)."""
    both = free[:, :, None] & free[:, None, :]
    h = np.where(both, h, 0.0) + np.eye(h.shape[-1]) * (~free)[:, :, None]
    return h, np.where(free, g, 0.0)


def _solve(h: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched ``h x = g``; a singular ``h`` (a rare gap collinear with another in a resample,
    or weights underflowing under separation) gets the minimum-norm solution and is flagged."""
    try:
        return np.linalg.solve(h, g[..., None])[..., 0], np.zeros(len(g), bool)
    except np.linalg.LinAlgError:
        out, singular = np.empty_like(g), np.zeros(len(g), bool)
        for b in range(len(g)):
            try:
                out[b] = np.linalg.solve(h[b], g[b])
            except np.linalg.LinAlgError:
                out[b] = np.linalg.lstsq(h[b], g[b], rcond=None)[0]
                singular[b] = True
        return out, singular


def _loglik(beta: np.ndarray, x: np.ndarray, trials: np.ndarray, events: np.ndarray) -> np.ndarray:
    eta = beta @ x.T
    return (events * log_expit(eta) + (trials - events) * log_expit(-eta)).sum(axis=1)


@dataclass
class _Fit:
    beta: np.ndarray  # (B, p)
    hessian: np.ndarray  # (B, p, p) information matrix (logit) or X'NX (least squares)
    ok: np.ndarray  # (B,) solved and finite
    iterations: int = 0
    sigma2: np.ndarray | None = None  # (B,) residual variance (least squares)
    separated: np.ndarray | None = None  # (B,) no finite maximum (logit: did not converge)


def _fit_logit(x: np.ndarray, trials: np.ndarray, events: np.ndarray, max_iter: int = 60) -> _Fit:
    """Grouped binomial logistic regression by Newton–Raphson, batched over replicates.

    ``x`` (K, p) with an intercept column; ``trials``, ``events`` (B, K). Step halving keeps the
    log-likelihood increasing; columns with no exposure in a replicate are pinned at 0.
    """
    n_rep, p = trials.shape[0], x.shape[1]
    free = (trials @ x) > 0
    free[:, 0] = True
    rate = np.clip(events.sum(1) / trials.sum(1), 1e-12, 1 - 1e-12)
    beta = np.zeros((n_rep, p))
    beta[:, 0] = np.log(rate / (1 - rate))
    ll = _loglik(beta, x, trials, events)
    done = np.zeros(n_rep, bool)
    singular = np.zeros(n_rep, bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        mu = expit(beta @ x.T)
        grad = (events - trials * mu) @ x
        hess = _gram(trials * mu * (1 - mu), x)
        hess, grad = _masked(hess, grad, free)
        step, flat = _solve(hess, grad)
        singular |= flat
        step = np.where(done[:, None], 0.0, step)
        new = beta + step
        new_ll = _loglik(new, x, trials, events)
        for _ in range(30):  # step halving where the likelihood fell
            worse = new_ll < ll - 1e-10 * np.abs(ll)
            if not worse.any():
                break
            step = np.where(worse[:, None], step / 2, step)
            new = beta + step
            new_ll = np.where(worse, _loglik(new, x, trials, events), new_ll)
        beta, ll = new, new_ll
        done |= np.max(np.abs(step), axis=1) < 1e-10 * (1 + np.max(np.abs(beta), axis=1))
        if np.all(done):
            break
    mu = expit(beta @ x.T)
    hess = _gram(trials * mu * (1 - mu), x)
    hess, _ = _masked(hess, np.zeros_like(beta), free)
    ok = np.all(np.isfinite(beta), axis=1)
    separated = singular | ~done | (np.max(np.abs(beta), axis=1) >= MAX_ABS_COEF)
    return _Fit(beta, hess, ok, it, separated=separated)


def _fit_ols(x: np.ndarray, count: np.ndarray, total: np.ndarray) -> _Fit:
    """Least squares on cell counts (B, K) and cell sums of the response (B, K)."""
    free = (count @ x) > 0
    free[:, 0] = True
    hess = _gram(count, x)
    hess, rhs = _masked(hess, total @ x, free)
    beta, singular = _solve(hess, rhs)
    return _Fit(beta, hess, np.all(np.isfinite(beta), axis=1), separated=singular)


# ----------------------------------------------------------------------------- segment cells
@dataclass
class _Segment:
    """One segment's cells: pattern × churn × score class (and spend sufficient statistics)."""

    name: Any
    rows: int
    active: np.ndarray  # (Ga,) indices into the groups
    design: np.ndarray  # (K, 1+Ga) intercept + active gap bits of each present pattern
    cell_pattern: np.ndarray  # (J,) pattern index of each cell
    churn: np.ndarray  # (J,) 0/1
    klass: np.ndarray  # (J,) 0 passive, 1 promoter, 2 detractor
    count: np.ndarray  # (J,)
    spend: dict[str, np.ndarray] | None = None  # per-cell mean/cov/min/max of (y, spend_before)

    def pooled(self, count: np.ndarray, z: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Pattern-level sufficient statistics, (B, K) each, for cell counts ``count`` (B, J)."""
        k = len(self.design)
        out = {
            "trials": _pool(count, self.cell_pattern, k),
            "churn": _pool(count * self.churn, self.cell_pattern, k),
            "promoter": _pool(count * (self.klass == 1), self.cell_pattern, k),
            "detractor": _pool(count * (self.klass == 2), self.cell_pattern, k),
        }
        if self.spend is not None:
            s = self.spend
            if z is None:  # the sample itself
                sum_y, sum_b = count * s["mean_y"], count * s["mean_b"]
            else:  # conditional-normal draw of the resampled sums, clipped to their support
                root = np.sqrt(count)
                sum_y = count * s["mean_y"] + root * s["l11"] * z[0]
                sum_b = count * s["mean_b"] + root * (s["l21"] * z[0] + s["l22"] * z[1])
                sum_y = np.clip(sum_y, count * s["min_y"], count * s["max_y"])
                sum_b = np.clip(sum_b, count * s["min_b"], count * s["max_b"])
            out["sum_y"] = _pool(sum_y, self.cell_pattern, k)
            out["sum_b"] = _pool(sum_b, self.cell_pattern, k)
        return out


def _build_segments(
    seg: np.ndarray,
    names: Sequence[Any],
    pattern: np.ndarray,
    n_groups: int,
    churn: np.ndarray,
    klass: np.ndarray,
    y: np.ndarray | None,
    spend_before: np.ndarray | None,
) -> list[_Segment]:
    """Aggregate respondents into cells with bincount on a packed integer code."""
    code = ((seg.astype(np.int64) * (1 << n_groups) + pattern) * 2 + churn) * 3 + klass
    space = len(names) * (1 << n_groups) * 6
    if space <= max(4 * len(code), 1 << 20):
        count = np.bincount(code, minlength=space)
        cells = np.flatnonzero(count)
        lookup = np.zeros(space, np.int64)
        lookup[cells] = np.arange(len(cells))
        inverse = lookup[code]
        count = count[cells]
    else:
        cells, inverse = np.unique(code, return_inverse=True)
        count = np.bincount(inverse)
    stats_: dict[str, np.ndarray] = {}
    if y is not None and spend_before is not None:
        n_cells = len(cells)
        for key, v in (("y", y), ("b", spend_before)):
            mean = np.bincount(inverse, v, n_cells) / count
            stats_[f"mean_{key}"] = mean
            stats_[f"d_{key}"] = v - mean[inverse]
            lo, hi = np.full(n_cells, np.inf), np.full(n_cells, -np.inf)
            np.minimum.at(lo, inverse, v)
            np.maximum.at(hi, inverse, v)
            stats_[f"min_{key}"], stats_[f"max_{key}"] = lo, hi
        dy, db = stats_.pop("d_y"), stats_.pop("d_b")
        cyy = np.bincount(inverse, dy * dy, n_cells) / count
        cyb = np.bincount(inverse, dy * db, n_cells) / count
        cbb = np.bincount(inverse, db * db, n_cells) / count
        l11 = np.sqrt(cyy)
        l21 = np.divide(cyb, l11, out=np.zeros_like(cyb), where=l11 > 0)
        stats_.update(l11=l11, l21=l21, l22=np.sqrt(np.maximum(cbb - l21**2, 0.0)), cyy=cyy)
    cell_klass, rest = cells % 3, cells // 3
    cell_churn, rest = rest % 2, rest // 2
    cell_pat, cell_seg = rest % (1 << n_groups), rest // (1 << n_groups)
    out = []
    for s, name in enumerate(names):
        idx = np.flatnonzero(cell_seg == s)
        pats, k_of_cell = np.unique(cell_pat[idx], return_inverse=True)
        bits = (pats[:, None] >> np.arange(n_groups)) & 1  # (K, G)
        active = np.flatnonzero(bits.any(axis=0))
        design = np.column_stack([np.ones(len(pats)), bits[:, active]]).astype(float)
        spend = {k: v[idx] for k, v in stats_.items()} if stats_ else None
        out.append(
            _Segment(
                name,
                int(count[idx].sum()),
                active,
                design,
                k_of_cell,
                cell_churn[idx].astype(float),
                cell_klass[idx],
                count[idx].astype(float),
                spend,
            )
        )
    return out


# ----------------------------------------------------------------------------- estimates
def _estimate(segment: _Segment, stats_: dict[str, np.ndarray], use_score: bool, w0: float | None):
    """All models and derived quantities for pooled statistics (B, K). Returns (fits, values)."""
    x, trials = segment.design, stats_["trials"]
    fits: dict[str, _Fit] = {"churn": _fit_logit(x, trials, stats_["churn"])}
    if use_score:
        fits["promoter"] = _fit_logit(x, trials, stats_["promoter"])
        fits["detractor"] = _fit_logit(x, trials, stats_["detractor"])
    if "sum_y" in stats_:
        fits["spend"] = _fit_ols(x, trials, stats_["sum_y"])
    values = _derived(fits, x, stats_, w0)
    return fits, values


def _derived(fits: dict[str, _Fit], x, stats_, w0) -> dict[str, np.ndarray]:
    """Counterfactual quantities from fitted coefficients (MODEL.md §7), for the models given."""
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


def _delta_se(fits: dict[str, _Fit], x, stats_, w0) -> dict[str, np.ndarray]:
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
        vals = _derived({model: _Fit(batch, fit.hessian, fit.ok)}, x, big, w0)
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


# ----------------------------------------------------------------------------- checks
def _gap_columns(df: pd.DataFrame, gaps) -> dict[str, str]:
    if gaps is None:
        cols = [c for c in df.columns if isinstance(c, str) and c.startswith(GAP_PREFIX)]
        if not cols:
            raise CalibrationError(
                f"no gap columns: pass gaps=[...] or name them '{GAP_PREFIX}<group>'"
            )
        gaps = cols
    if isinstance(gaps, str):
        gaps = [gaps]
    if isinstance(gaps, Mapping):
        out = {str(g): c for g, c in gaps.items()}
    else:
        out = {}
        for c in gaps:
            group = c[len(GAP_PREFIX) :] if str(c).startswith(GAP_PREFIX) else str(c)
            out[group] = c
    if not out:
        raise CalibrationError("gaps is empty: name at least one gap column")
    if len(set(out.values())) < len(out) or len(out) < len(list(gaps)):
        raise CalibrationError(f"gap columns or group names repeat: {list(gaps)}")
    if len(out) > 40:
        raise CalibrationError(f"{len(out)} gap groups; at most 40 are supported")
    return out


def _labels(index: pd.Index, mask: np.ndarray, k: int = 5) -> str:
    first = index[mask][:k].tolist()
    more = ", ..." if mask.sum() > k else ""
    return ", ".join(repr(v) for v in first) + more


def _check_values(df: pd.DataFrame, roles: dict[str, list[str]]) -> None:
    """Collect every NaN / range problem of the used columns and raise them at once."""
    problems: list[str] = []
    index = df.index
    for col in dict.fromkeys(c for cols in roles.values() for c in cols):
        nan = df[col].isna().to_numpy()
        if nan.any():
            problems.append(
                f"column {col!r} has {int(nan.sum())} NaN value(s) (first rows: "
                f"{_labels(index, nan)})"
            )
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))

    def numeric(col: str) -> np.ndarray | None:
        s = df[col]
        if s.dtype == bool:
            return s.to_numpy(dtype=float)
        if not pd.api.types.is_numeric_dtype(s.dtype):
            problems.append(f"column {col!r} is not numeric (dtype {s.dtype})")
            return None
        return s.to_numpy(dtype=float)

    for role in ("churn", "gap"):
        for col in roles.get(role, []):
            v = numeric(col)
            if v is None:
                continue
            bad = (v != 0) & (v != 1)
            if bad.any():
                what = "churn column" if role == "churn" else "gap column"
                problems.append(
                    f"{what} {col!r} must be 0/1: {int(bad.sum())} row(s) hold other values "
                    f"{np.unique(v[bad])[:5].tolist()} (first rows: {_labels(index, bad)})"
                )
    for col in roles.get("score", []):
        v = numeric(col)
        if v is None:
            continue
        bad = (v != np.round(v)) | (v < 0) | (v > 10) | ~np.isfinite(v)
        if bad.any():
            problems.append(
                f"score column {col!r} must hold integers 0-10: {int(bad.sum())} row(s) are "
                f"non-integer or outside 0-10, e.g. {np.unique(v[bad])[:5].tolist()} "
                f"(first rows: {_labels(index, bad)})"
            )
    for col in roles.get("spend", []):
        v = numeric(col)
        if v is None:
            continue
        bad = ~(v > 0) | ~np.isfinite(v)
        if bad.any():
            problems.append(
                f"spend column {col!r} must be positive and finite: {int(bad.sum())} row(s) "
                f"are zero, negative or infinite (first rows: {_labels(index, bad)})"
            )
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))


def _check_segment(seg: _Segment, cols: list[str], use_score: bool) -> list[str]:
    """Problems that make a segment unfittable (before fitting)."""
    name, out = seg.name, []
    if seg.rows < MIN_ROWS:
        out.append(
            f"segment {name!r} has {seg.rows} rows (need at least {MIN_ROWS}): merge it with "
            "another segment"
        )
        return out
    n_churn = float(seg.count @ seg.churn)
    if n_churn == 0 or n_churn == seg.rows:
        kind = "no churn events" if n_churn == 0 else "no non-events (everyone churned)"
        out.append(f"segment {name!r} has {kind}: the churn model cannot be fitted; merge segments")
    if use_score:
        for k, label in ((1, "promoters (score 9-10)"), (2, "detractors (score 0-6)")):
            m = float(seg.count @ (seg.klass == k))
            if m == 0 or m == seg.rows:
                what = "no" if m == 0 else "only"
                out.append(f"segment {name!r} has {what} {label}; merge segments")
    bits = seg.design[:, 1:]
    exposed = seg.count @ bits[seg.cell_pattern]
    for j, g in enumerate(seg.active):
        if exposed[j] == seg.rows:
            out.append(
                f"gap column {cols[g]!r} is 1 for every respondent of segment {name!r}: its "
                "effect cannot be told from the baseline; drop the column or merge segments"
            )
    if not out and np.linalg.matrix_rank(seg.design) < seg.design.shape[1]:
        same = [
            f"{cols[seg.active[i]]!r} = {cols[seg.active[j]]!r}"
            for i in range(bits.shape[1])
            for j in range(i + 1, bits.shape[1])
            if np.array_equal(bits[:, i], bits[:, j])
        ]
        hint = f" ({', '.join(same)})" if same else ""
        out.append(
            f"gap columns are collinear in segment {name!r}{hint}: drop or merge gap columns"
        )
    return out


def _separation(seg: _Segment, stats_, outcome: str, fit: _Fit, cols) -> CalibrationError:
    x, trials, events = seg.design, stats_["trials"][0], stats_[outcome][0]
    exposed, hit = trials @ x[:, 1:], events @ x[:, 1:]
    suspects = [cols[seg.active[j]] for j in range(len(seg.active)) if hit[j] in (0, exposed[j])]
    if not suspects and np.all(np.isfinite(fit.beta)):
        suspects = [cols[seg.active[int(np.argmax(np.abs(fit.beta[0, 1:])))]]]
    label = {"churn": "churn", "promoter": "promoter (score >= 9)", "detractor": "detractor"}
    return CalibrationError(
        f"segment {seg.name!r}: the {label[outcome]} model did not converge (separation: some "
        f"gap perfectly predicts the outcome, suspect {suspects}); merge segment {seg.name!r} "
        f"with another segment or drop gap column(s) {suspects}"
    )


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
    to 0" (and "only g's gaps set to 0") as defined in MODEL.md §7.

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
    if not 0 < level < 1:
        raise CalibrationError(f"level must be in (0, 1) (got {level!r})")
    gap_cols = _gap_columns(df, gaps)
    groups, cols = list(gap_cols), list(gap_cols.values())
    roles = {"segment": [segment], "churn": [churned], "gap": cols}
    if score is not None:
        roles["score"] = [score]
    if spend_before is not None:
        roles["spend"] = [spend_before, spend_after]
    used = list(dict.fromkeys(c for cs in roles.values() for c in cs))
    missing = [c for c in used if c not in df.columns]
    if missing:
        raise CalibrationError(
            f"missing column(s) {missing}; the frame has {list(df.columns)[:20]}"
        )
    _check_values(df, roles)

    seg_col = df[segment]
    if isinstance(seg_col.dtype, pd.CategoricalDtype):
        codes = seg_col.cat.codes.to_numpy()
        present = np.flatnonzero(np.bincount(codes, minlength=len(seg_col.cat.categories)))
        remap = np.full(len(seg_col.cat.categories), -1)
        remap[present] = np.arange(len(present))
        codes, names = remap[codes], list(seg_col.cat.categories[present])
    else:
        codes, uniques = pd.factorize(seg_col, sort=True)
        names = list(uniques)
    w0 = _wallet_baselines(share_of_wallet, names)

    pattern = np.zeros(len(df), np.int64)
    for j, c in enumerate(cols):
        pattern |= df[c].to_numpy(dtype=np.int64) << j
    churn = df[churned].to_numpy(dtype=np.int64)
    klass = np.zeros(len(df), np.int64)
    if score is not None:
        v = df[score].to_numpy(dtype=float)
        klass = np.where(v >= 9, 1, np.where(v <= 6, 2, 0))
    y = sb = None
    if spend_before is not None:
        sb = df[spend_before].to_numpy(dtype=float)
        y = np.log(df[spend_after].to_numpy(dtype=float) / sb)
    segments = _build_segments(codes, names, pattern, len(groups), churn, klass, y, sb)
    problems = [p for s in segments for p in _check_segment(s, cols, score is not None)]
    if problems:
        raise CalibrationError("fit_voc cannot use the data:\n- " + "\n- ".join(problems))

    rngs = np.random.default_rng(seed).spawn(len(segments))
    parts = [
        _fit_segment(s, groups, cols, score is not None, w0.get(s.name), bootstrap, rng)
        for s, rng in zip(segments, rngs, strict=True)
    ]
    return VocResult._assemble(
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


def _wallet_baselines(share_of_wallet, names) -> dict[Any, float]:
    if share_of_wallet is None:
        return {}
    if isinstance(share_of_wallet, Mapping):
        lost = [n for n in names if n not in share_of_wallet]
        if lost:
            raise CalibrationError(f"share_of_wallet has no baseline for segment(s) {lost}")
        out = {n: float(share_of_wallet[n]) for n in names}
    else:
        out = {n: float(share_of_wallet) for n in names}
    bad = {n: v for n, v in out.items() if not 0 < v <= 1}
    if bad:
        raise CalibrationError(f"share_of_wallet must be in (0, 1] (got {bad})")
    return out


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
            raise _separation(seg, point, outcome, fit, cols)
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
    se = _delta_se(fits, seg.design, point, w0)

    # Model tables.
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

    # Diagnostics of the churn model.
    trials, events = point["trials"][0], point["churn"][0]
    eta = seg.design @ fits["churn"].beta[0]
    ll = float(events @ log_expit(eta) + (trials - events) @ log_expit(-eta))
    rate = events.sum() / trials.sum()
    ll0 = float(events.sum() * math.log(rate) + (trials.sum() - events.sum()) * math.log(1 - rate))
    diag = {
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

    replicates = None
    if n_boot:
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
        replicates = {
            k: np.where(failed.reshape((-1,) + (1,) * (v.ndim - 1)), np.nan, v)
            for k, v in replicates.items()
        }
        diag["bootstrap_failed"] = int(failed.sum())
    return {
        "segment": seg,
        "values": {k: v[0] for k, v in values.items()},
        "se": se,
        "replicates": replicates,
        "models": models,
        "diagnostics": diag,
        "notes": notes,
    }


# ----------------------------------------------------------------------------- results
