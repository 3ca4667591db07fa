"""Leading indicators → gap closure → perceived closure (docs/model.md §3).

Gap closure of a segment is the pain-weighted progress of the groups that own its
gaps, ``G_s(t) = Σ_g P[s,g]·L_g(t)``. Customers notice late: after a dead time ``δ``
their perception moves a fraction ``λ = 1 − e^(−1/τ)`` of the remaining way each
month (geometric adstock):

    X_s(t) = X_s(t−1) + λ·(G_s(t−δ) − X_s(t−1)),   X_s(−1) = 0,  G_s(t<0) = 0.

A fractional ``δ`` interpolates linearly between the neighbouring whole months, so
results move smoothly with an uncertain delay.

References
----------
docs/model.md §3 (leading indicators are what customers will soon experience).
Broadbent, S. (1979). One way TV advertisements work. J. Market Research Society 21(3)
— the adstock form of a geometric carry-over.
"""

from __future__ import annotations

import numpy as np


def gap_closure(pain: np.ndarray, leading: np.ndarray) -> np.ndarray:
    """``G[d,s,t] = Σ_g P[d,s,g]·L[d,g,t]``; shapes (draw, S, G) and (draw, G, H) → (draw, S, H)."""
    return np.einsum("dsg,dgh->dsh", pain, leading)


class Perception:
    """The perception filter of given dead times and smoothing times, (draw, S) each.

    Everything that depends only on ``δ`` and ``τ`` (which months each perceived month reads,
    the interpolation weight, the rate ``λ``) is worked out once, so many gap-closure series
    of the same draws (plans compared on common random numbers) go through it cheaply.
    """

    def __init__(self, delay: np.ndarray, lag: np.ndarray, horizon: int):
        whole = np.floor(delay).astype(int)
        self.frac = (delay - whole)[..., None]
        months = np.arange(horizon)
        lo = np.clip(months - whole[..., None] + 1, 0, None)  # +1 for the zero pad
        hi = np.clip(months - whole[..., None], 0, None)
        # Positions in the flattened zero-padded series (H + 1 months a row): one np.take
        # each, instead of take_along_axis rebuilding its index grid on every call.
        rows = np.arange(lo[..., 0].size).reshape(lo.shape[:-1])[..., None] * (horizon + 1)
        self.lo, self.hi = rows + lo, rows + hi
        with np.errstate(divide="ignore", over="ignore"):
            self.rate = np.where(lag > 0, -np.expm1(-1.0 / np.where(lag > 0, lag, 1.0)), 1.0)

    def delayed(self, series: np.ndarray) -> np.ndarray:
        """Each (draw, segment) series shifted right by its dead time, zero-filled; a
        fractional dead time interpolates between the neighbouring months."""
        padded = np.concatenate(
            [np.zeros_like(series[..., :1]), series], axis=-1
        ).ravel()  # index 0 of each row is "before"
        near = np.take(padded, self.lo)
        far = np.take(padded, self.hi)
        return (1.0 - self.frac) * near + self.frac * far

    def __call__(self, closure: np.ndarray) -> np.ndarray:
        """Perceived closure ``X`` (draw, S, H) of gap closure ``G`` (draw, S, H)."""
        shifted = self.delayed(closure)
        out = np.empty_like(shifted)
        level = np.zeros(shifted.shape[:-1])
        for t in range(shifted.shape[-1]):
            level = level + self.rate * (shifted[..., t] - level)
            out[..., t] = level
        return out


def delayed(series: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """Shift each (draw, segment) series right by a (fractional) number of months, zero-filled.

    Parameters
    ----------
    series : ndarray, shape (draw, S, H)
    delay : ndarray, shape (draw, S), ≥ 0
    """
    return Perception(delay, np.zeros_like(delay), series.shape[-1]).delayed(series)


def perceived(closure: np.ndarray, delay: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Perceived gap closure ``X`` from gap closure ``G`` (both (draw, S, H)).

    Examples
    --------
    >>> G = np.ones((1, 1, 4))
    >>> perceived(G, np.array([[1.0]]), np.array([[0.0]]))  # pure dead time of one month
    array([[[0., 1., 1., 1.]]])
    """
    return Perception(delay, lag, closure.shape[-1])(closure)
