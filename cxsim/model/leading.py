"""Work-group plans → leading indicators and programme cost (docs/model.md §2).

A work group's leading indicator ``L_g(t)`` is the share of its experience gaps
closed by month ``t`` (CX design and improvement progress, 0..1):

    L_g(t) = T_g · f_g(t),   f_g(t) = min(e_g · ramp_g(t), min_{p ∈ requires(g)} f_p(t))

``ramp_g`` rises from 0 at ``start_month`` to 1 after ``ramp_months`` (linear, or
an S-curve: the smooth step ``3x² − 2x³``), ``e_g`` is execution capacity and
``T_g`` the target. The ``min`` is the sequence rule: a group cannot be further
along its plan than the groups it requires (docs/model.md §2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cxsim.model.params import Params


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
    # A ramp of a denormal month overflows t / width to inf: clipped to 1 below, as meant.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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
    return one_time[:, None] * spread + monthly[:, None] * running_share(months, start)


def running_share(months: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The share of each month ``[t, t+1)`` after ``start``, (draw, H): what of the monthly
    (running) cost that month pays; the rest of an item's cost is its one-time cost."""
    t0 = months[None, :].astype(float)
    return np.clip(t0 + 1.0 - np.maximum(t0, start[:, None]), 0.0, 1.0)


def cost_inputs(
    p: Params, groups_on: np.ndarray | None = None, capabilities_on: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each item's start month and monthly (running) cost, (draw, G + N): work groups, then
    capabilities; zero running cost for items switched off. With an item's total cost they
    split it into one-time and running lines (finance's view of the plan)."""
    monthly = np.concatenate([p.cost_monthly, p.ops.cost_monthly], axis=1).copy()
    count = p.cost_monthly.shape[1]
    for k in range(monthly.shape[1]):
        on = groups_on if k < count else capabilities_on
        switch = switched_on(on, k if k < count else k - count)
        if switch is not True:
            monthly[:, k] = monthly[:, k] * switch
    return {"start": np.concatenate([p.plan_start, p.ops.start], axis=1), "monthly": monthly}


def leading_indicators(
    p: Params,
    groups_on: np.ndarray | None = None,
    capacity: np.ndarray | None = None,
    ramps: np.ndarray | None = None,
) -> np.ndarray:
    """``L[d,g,t]``: target × achieved plan fraction (execution capacity and sequence applied).

    ``capacity`` (draw, H) is the operating model's execution multiplier ``E(t)``;
    ``groups_on`` is (G,) for every draw or (draw, G) row by row (see :func:`switched_on`).
    ``ramps`` (draw, G, H) may hold the switched plans' ramps already worked out (by
    :func:`plan_ramps`), as a caller comparing many plans of the same draws keeps them.
    """
    if ramps is None:
        ramps = plan_ramps(p, groups_on)
    execution = p.execution[:, :, None]
    if capacity is not None:
        execution = execution * capacity[:, None, :]
    fraction = plan_fractions(ramps, execution, p.requires, p.order)
    return p.target[:, :, None] * fraction


def plan_ramps(p: Params, groups_on: np.ndarray | None = None) -> np.ndarray:
    """Each group's planned ramp (draw, G, H), zero where the group is switched off."""
    months = np.arange(p.horizon)
    ramps = np.zeros((p.draws, len(p.groups), p.horizon))
    for g in range(len(p.groups)):
        on = switched_on(groups_on, g)
        if on is not False:
            ramps[:, g] = ramp(months, p.plan_start[:, g], p.plan_ramp[:, g], p.curves[g])
            if on is not True:
                ramps[:, g] *= on[:, None]
    return ramps


def _item_costs(
    horizon: int, start, ramp_months, one_time, monthly, on: np.ndarray | None
) -> np.ndarray:
    """Monthly cost of each item (work group or capability), (draw, items, H); items switched
    off cost nothing."""
    months = np.arange(horizon)
    cost = np.zeros((start.shape[0], start.shape[1], horizon))
    for k in range(start.shape[1]):
        switch = switched_on(on, k)
        if switch is not False:
            cost[:, k] = monthly_cost(
                months, start[:, k], ramp_months[:, k], one_time[:, k], monthly[:, k]
            )
            if switch is not True:
                cost[:, k] *= switch[:, None]
    return cost


def switched_on(on: np.ndarray | None, item: int) -> bool | np.ndarray:
    """Whether ``item`` is switched on: True or False for every draw, or (draw,) 0/1 weights.

    ``on`` is None (everything on), a (items,) mask for every draw, or a (draw, items) mask
    that switches items row by row (many plans evaluated in one engine call). Multiplying by
    a 1.0 weight changes no bit, so a row equals the run of its plan alone.
    """
    if on is None:
        return True
    if on.ndim == 1:
        return bool(on[item])
    return on[:, item].astype(float)


def programme_cost(p: Params, groups_on: np.ndarray | None = None) -> np.ndarray:
    """Cost per group and month, (draw, G, H); groups switched off cost nothing."""
    return _item_costs(
        p.horizon, p.plan_start, p.plan_ramp, p.cost_one_time, p.cost_monthly, groups_on
    )


def capability_cost(p: Params, on: np.ndarray | None = None) -> np.ndarray:
    """Cost per capability and month, (draw, N, H); a capability without a plan costs its
    monthly cost from month 0; one switched off costs nothing."""
    ops = p.ops
    return _item_costs(
        p.horizon, ops.start, ops.ramp_months, ops.cost_one_time, ops.cost_monthly, on
    )


def total_cost(group_cost: np.ndarray, capability_cost: np.ndarray) -> np.ndarray:
    """The programme's cost per draw and month, (draw, H): work groups plus capabilities."""
    cost = group_cost.sum(axis=1)
    if capability_cost.shape[1]:
        cost = cost + capability_cost.sum(axis=1)
    return cost
