"""Axis labels people can read: money in k/M/B, shares as percentages, ticks that differ.

A fixed number of decimals fails at some scale: CLV ticks at 1,000, 1,100 and 1,200 read
"1k, 1k, 1k" with no decimal, and a monthly churn of 0.00975 is a share nobody reads as
such. These formatters look at all the ticks of the axis and give each just enough decimals
that neighbouring ticks read differently, in one unit for the whole axis.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import Formatter

# Money scales, largest first, and the size from which each is used: amounts under 10,000
# read best in full (1,050, not 1.05k). Capital letters throughout (M for millions, never m).
_SCALES = ((1e9, "B", 1e9), (1e6, "M", 1e6), (1e3, "k", 1e4))


def _decimals(step: float) -> int:
    """Decimals that show a difference of ``step`` (in display units) exactly: 0.025 → 3."""
    if not step > 0 or not math.isfinite(step):
        return 0
    digits = max(0, -math.floor(math.log10(step) + 1e-9))
    while digits < 6 and abs(round(step * 10**digits) - step * 10**digits) > 1e-6:
        digits += 1
    return digits


def _step(locs: np.ndarray) -> float:
    finite = np.unique(locs[np.isfinite(locs)])
    return float(np.min(np.diff(finite))) if finite.size > 1 else 0.0


class _TickAware(Formatter):
    """A formatter that remembers every tick of its axis (matplotlib tells it before
    labelling), so each label can be chosen knowing its neighbours."""

    def __init__(self) -> None:
        self.ticks = np.array([])

    def set_locs(self, locs) -> None:
        self.ticks = np.asarray(locs, dtype=float)

    def _locs(self, value: float) -> np.ndarray:
        return self.ticks if self.ticks.size else np.array([value], dtype=float)


class MoneyFormatter(_TickAware):
    """12.5M, 350k, 1,050: one scale per axis, as many decimals as the tick spacing needs."""

    def __call__(self, value: float, pos: int | None = None) -> str:
        locs = self._locs(value)
        size = float(np.nanmax(np.abs(locs))) if locs.size else abs(value)
        scale, suffix = next(((s, x) for s, x, start in _SCALES if size >= start), (1.0, ""))
        digits = _decimals(_step(locs) / scale) if locs.size > 1 else 1
        if value == 0:
            return "0"
        return f"{value / scale:,.{digits}f}{suffix}"


class PercentFormatter(_TickAware):
    """A share (0..1) as a percentage, with the decimals the tick spacing needs: 0.98%."""

    def __call__(self, value: float, pos: int | None = None) -> str:
        locs = self._locs(value)
        digits = _decimals(100 * _step(locs)) if locs.size > 1 else 1
        return f"{100 * value:.{digits}f}%"


def money_axis(axis) -> None:
    """Label a money axis in k, M or B (12.5M) instead of scientific notation."""
    axis.set_major_formatter(MoneyFormatter())


def percent_axis(axis) -> None:
    """Label an axis of shares (0..1) as percentages."""
    axis.set_major_formatter(PercentFormatter())


def money_text(value: float) -> str:
    """``2.0M``, ``-350k``, ``980``: a short label for one amount (bars, annotations)."""
    size = abs(value)
    for scale, suffix, start in _SCALES:
        if size >= start:
            digits = 1 if scale >= 1e6 else 0
            return f"{value / scale:.{digits}f}{suffix}"
    return f"{value:,.0f}"
