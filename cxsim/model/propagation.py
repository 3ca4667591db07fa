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


def delayed(series: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """Shift each (draw, segment) series right by a (fractional) number of months, zero-filled.

    Parameters
    ----------
    series : ndarray, shape (draw, S, H)
    delay : ndarray, shape (draw, S), ≥ 0
    """
    horizon = series.shape[-1]
    whole = np.floor(delay).astype(int)
    frac = (delay - whole)[..., None]
    padded = np.concatenate(
        [np.zeros_like(series[..., :1]), series], axis=-1
    )  # index 0 is "before"
    months = np.arange(horizon)
    lo = np.clip(months - whole[..., None] + 1, 0, None)  # +1 for the zero pad
    hi = np.clip(months - whole[..., None], 0, None)
    near = np.take_along_axis(padded, lo, axis=-1)
    far = np.take_along_axis(padded, hi, axis=-1)
    return (1.0 - frac) * near + frac * far


def perceived(closure: np.ndarray, delay: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Perceived gap closure ``X`` from gap closure ``G`` (both (draw, S, H)).

    Examples
    --------
    >>> G = np.ones((1, 1, 4))
    >>> perceived(G, np.array([[1.0]]), np.array([[0.0]]))  # pure dead time of one month
    array([[[0., 1., 1., 1.]]])
    """
    shifted = delayed(closure, delay)
    with np.errstate(divide="ignore", over="ignore"):
        rate = np.where(lag > 0, -np.expm1(-1.0 / np.where(lag > 0, lag, 1.0)), 1.0)
    out = np.empty_like(shifted)
    level = np.zeros(shifted.shape[:-1])
    for t in range(shifted.shape[-1]):
        level = level + rate * (shifted[..., t] - level)
        out[..., t] = level
    return out
