"""Work-group plans → leading indicators and programme cost (MODEL.md §2).

A work group's leading indicator ``L_g(t)`` is the share of its experience gaps
closed by month ``t`` (CX design and improvement progress, 0..1):

    L_g(t) = T_g · f_g(t),   f_g(t) = min(e_g · ramp_g(t), min_{p ∈ requires(g)} f_p(t))

``ramp_g`` rises from 0 at ``start_month`` to 1 after ``ramp_months`` (linear, or
an S-curve: the smooth step ``3x² − 2x³``), ``e_g`` is execution capacity and
``T_g`` the target. The ``min`` is the sequence rule: a group cannot be further
along its plan than the groups it requires (seed 000, key 2 "Sequence").
"""

from __future__ import annotations

import numpy as np


def ramp(months: np.ndarray, start: np.ndarray, length: np.ndarray, curve: str) -> np.ndarray:
    """Plan fraction achieved in each month.

    Parameters
    ----------
    months : ndarray, shape (H,)
    start, length : ndarray, shape (draw,)
        Start month and ramp length; a ramp of 0 months is a step at ``start``.
    curve : {"linear", "s_curve"}

    Returns
    -------
    ndarray, shape (draw, H), in [0, 1].

    Examples
    --------
    >>> ramp(np.arange(5), np.array([1.0]), np.array([2.0]), "linear")
    array([[0. , 0. , 0.5, 1. , 1. ]])
    """
    t = months[None, :] - start[:, None]
    width = length[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(width > 0, t / width, np.where(t >= 0, 1.0, 0.0))
    x = np.clip(x, 0.0, 1.0)
    if curve == "s_curve":
        return x * x * (3.0 - 2.0 * x)
    return x


def plan_fractions(
    ramps: np.ndarray, execution: np.ndarray, requires: list[list[int]], order: list[int]
) -> np.ndarray:
    """Apply execution capacity and the sequence rule to the planned ramps.

    Parameters
    ----------
    ramps : ndarray, shape (draw, G, H)
    execution : ndarray, shape (draw, G, H) or (draw, G, 1)
    requires : list of index lists, one per group
    order : group indices, prerequisites first

    Returns
    -------
    ndarray, shape (draw, G, H): each group's achieved fraction of its plan.
    """
    fraction = ramps * execution
    for g in order:
        for p in requires[g]:
            np.minimum(fraction[:, g], fraction[:, p], out=fraction[:, g])
    return fraction


def monthly_cost(
    months: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    one_time: np.ndarray,
    monthly: np.ndarray,
) -> np.ndarray:
    """Programme cost of one group per month: one-time spread over the ramp, monthly from start.

    Each month ``[t, t+1)`` pays the share of the ramp window ``[start, start+length)``
    it overlaps, so fractional (uncertain) start months cost exactly what they should.
    A ramp of 0 months pays the one-time cost in the start month.

    Returns
    -------
    ndarray, shape (draw, H)
    """
    t0 = months[None, :].astype(float)
    s = start[:, None]
    width = length[:, None]
    overlap = np.clip(np.minimum(t0 + 1.0, s + width) - np.maximum(t0, s), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(width > 0, overlap / width, ((s >= t0) & (s < t0 + 1.0)).astype(float))
    running = np.clip(t0 + 1.0 - np.maximum(t0, s), 0.0, 1.0)
    return one_time[:, None] * spread + monthly[:, None] * running
