"""Respondents → gap-pattern cells, one :class:`SegmentCells` per segment.

Respondents with the same segment, gap pattern, churn outcome and score class
(promoter/passive/detractor) are interchangeable for the binary models, so :func:`build_cells`
counts them into cells (with the per-cell spend statistics the bootstrap needs), and every fit
runs on the cells. This module also says what makes a segment unfittable before fitting
(:func:`check_segment`) and, after a fit fails, which gap separates an outcome
(:func:`separation_error`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.glm import GlmFit
from cxsim.errors import CalibrationError

__all__ = [
    "MIN_ROWS",
    "SegmentCells",
    "build_cells",
    "check_segment",
    "separation_error",
    "skip_hint",
]

#: Fewest respondents a segment needs.
MIN_ROWS = 50


@dataclass
class SegmentCells:
    """One segment's cells: pattern × churn × score class (and spend sufficient statistics).

    Attributes
    ----------
    name
        The segment's label.
    rows : int
        Respondents.
    active : ndarray, shape (Ga,)
        Indices into the gap groups of the groups somebody in the segment reports.
    design : ndarray, shape (K, 1+Ga)
        Intercept and active gap bits of each gap pattern present.
    cell_pattern : ndarray, shape (J,)
        Pattern index of each cell.
    churn : ndarray, shape (J,)
        Churn outcome of each cell, 0/1.
    klass : ndarray, shape (J,)
        Score class of each cell: 0 passive, 1 promoter, 2 detractor.
    count : ndarray, shape (J,)
        Respondents per cell.
    spend : dict, optional
        Per-cell mean, min, max and Cholesky factor of the covariance of
        ``(log(after/before), spend_before)``; ``cyy`` the variance of the first.
    """

    name: Any
    rows: int
    active: np.ndarray
    design: np.ndarray
    cell_pattern: np.ndarray
    churn: np.ndarray
    klass: np.ndarray
    count: np.ndarray
    spend: dict[str, np.ndarray] | None = None

    @cached_property
    def none_index(self) -> int:
        """Index of the no-gap pattern among the patterns present, or -1."""
        return self._index_of(np.zeros((1, self.design.shape[1] - 1)))[0]

    @cached_property
    def without_bits(self) -> np.ndarray:
        """(K, Ga, Ga): each pattern with only gap g closed (row g)."""
        bits = self.design[:, 1:]
        g = bits.shape[1]
        return bits[:, None, :] * (1.0 - np.eye(g))[None, :, :]

    @cached_property
    def without(self) -> np.ndarray:
        """(K, Ga): index of each pattern with only gap g closed, -1 when nobody has it."""
        k, g = self.without_bits.shape[:2]
        return self._index_of(self.without_bits.reshape(k * g, g)).reshape(k, g)

    def _index_of(self, bits: np.ndarray) -> np.ndarray:
        weights = 1 << np.arange(self.design.shape[1] - 1)
        present = self.design[:, 1:].astype(np.int64) @ weights
        lookup = {int(c): i for i, c in enumerate(present)}
        codes = bits.astype(np.int64) @ weights
        return np.array([lookup.get(int(c), -1) for c in codes], dtype=np.int64)

    def pooled(self, count: np.ndarray, z: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Pattern-level sufficient statistics, (B, K) each, for cell counts ``count`` (B, J).

        ``z`` (2, B, J), standard normal, draws the resampled spend sums of a bootstrap
        replicate; without it the sums are those of the sample itself.
        """
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


def build_cells(
    df: pd.DataFrame,
    segment: str,
    gap_cols: Sequence[str],
    churned: str,
    score: str | None,
    spend_before: str | None,
    spend_after: str | None,
) -> list[SegmentCells]:
    """The respondents of a checked survey frame as cells, one :class:`SegmentCells` per segment.

    Segments come in sorted order, or in category order for a categorical column (categories
    nobody belongs to are left out).
    """
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
    pattern = np.zeros(len(df), np.int64)
    for j, c in enumerate(gap_cols):
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
    return _segments(codes, names, pattern, len(gap_cols), churn, klass, y, sb)


def skip_hint(name: Any) -> str:
    """How to leave a segment out or pool it, in Python and on the command line."""
    return (
        f"skip it (skip=[{name!r}], --skip-segment {name}) or pool small segments "
        "(min_rows=N with merge_small=True, --min-rows N --merge-small)"
    )


def check_segment(seg: SegmentCells, cols: list[str], use_score: bool) -> list[str]:
    """Problems that make a segment unfittable (before fitting); ``cols`` are the gap columns."""
    name, out = seg.name, []
    if seg.rows < MIN_ROWS:
        out.append(
            f"segment {name!r} has {seg.rows} rows (need at least {MIN_ROWS}): {skip_hint(name)}"
        )
        return out
    n_churn = float(seg.count @ seg.churn)
    if n_churn == 0 or n_churn == seg.rows:
        kind = "no churn events" if n_churn == 0 else "no non-events (everyone churned)"
        out.append(
            f"segment {name!r} has {kind}: the churn model cannot be fitted; {skip_hint(name)}"
        )
    if use_score:
        for k, label in ((1, "promoters (score 9-10)"), (2, "detractors (score 0-6)")):
            m = float(seg.count @ (seg.klass == k))
            if m == 0 or m == seg.rows:
                what = "no" if m == 0 else "only"
                out.append(f"segment {name!r} has {what} {label}; {skip_hint(name)}")
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


def separation_error(
    seg: SegmentCells, stats_: dict[str, np.ndarray], outcome: str, fit: GlmFit, cols
) -> CalibrationError:
    """The error for a model of ``outcome`` that did not converge, naming the suspect gaps.

    A gap is suspect when its respondents all have the outcome or none has; failing that, the
    gap with the largest coefficient.
    """
    x, trials, events = seg.design, stats_["trials"][0], stats_[outcome][0]
    exposed, hit = trials @ x[:, 1:], events @ x[:, 1:]
    suspects = [cols[seg.active[j]] for j in range(len(seg.active)) if hit[j] in (0, exposed[j])]
    if not suspects and np.all(np.isfinite(fit.beta)):
        suspects = [cols[seg.active[int(np.argmax(np.abs(fit.beta[0, 1:])))]]]
    label = {"churn": "churn", "promoter": "promoter (score >= 9)", "detractor": "detractor"}
    return CalibrationError(
        f"segment {seg.name!r}: the {label[outcome]} model did not converge (separation: some "
        f"gap perfectly predicts the outcome, suspect {suspects}); fit with Firth's penalised "
        f"likelihood (firth=True, --firth), {skip_hint(seg.name)}, or drop gap column(s) "
        f"{suspects}"
    )


def _segments(
    seg: np.ndarray,
    names: Sequence[Any],
    pattern: np.ndarray,
    n_groups: int,
    churn: np.ndarray,
    klass: np.ndarray,
    y: np.ndarray | None,
    spend_before: np.ndarray | None,
) -> list[SegmentCells]:
    """Aggregate respondents into cells with bincount on a packed integer code."""
    code = ((seg.astype(np.int64) * (1 << n_groups) + pattern) * 2 + churn) * 3 + klass
    space = len(names) * (1 << n_groups) * 6
    # A dense bincount is fastest while the code space stays near the data's size; beyond
    # that, np.unique keeps the memory proportional to the respondents.
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
    spend = _spend_stats(inverse, count, y, spend_before) if y is not None else {}
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
        out.append(
            SegmentCells(
                name,
                int(count[idx].sum()),
                active,
                design,
                k_of_cell,
                cell_churn[idx].astype(float),
                cell_klass[idx],
                count[idx].astype(float),
                {k: v[idx] for k, v in spend.items()} if spend else None,
            )
        )
    return out


def _spend_stats(
    inverse: np.ndarray, count: np.ndarray, y: np.ndarray, spend_before: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-cell mean, range and covariance factor of ``(y, spend_before)`` for the bootstrap."""
    n_cells = len(count)
    stats_: dict[str, np.ndarray] = {}
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
    return stats_


def _pool(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Sum ``values`` (B, J) into ``size`` bins along the last axis by ``index`` (J,)."""
    b = values.shape[0]
    flat = (np.arange(b)[:, None] * size + index[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=b * size).reshape(b, size)
