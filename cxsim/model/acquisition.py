"""Acquisition shifts: paid acquisitions moved between segments in the programme arm.

A shift ``m`` moves the share ``q_m·r_m(t)`` of segment ``from_m``'s paid acquisitions
``A_from(t)`` to segment ``to_m``, where ``r_m(t)`` is its linear ramp from ``start_month``
over ``ramp_months`` (docs/model.md §5):

    A⁰_s(t) = A_s − Σ_{m: from_m = s} q_m r_m(t) A_s + Σ_{m: to_m = s} q_m r_m(t) A_{from_m}

The number of customers bought is unchanged; each is bought at its new segment's CAC, so
the programme's acquisition spend changes by ``q·r·A_from·(CAC_to − CAC_from)`` a month,
which the profit of each arm already carries (``profit = N·m − A·CAC − …``). The baseline
keeps the acquisitions as written. A shift's own cost (one-time spread over the ramp,
monthly from its start) is a programme cost beside the work groups' and capabilities'.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from cxsim.model.leading import _item_costs, ramp, switched_on
from cxsim.scenario.shifts import shift_names

if TYPE_CHECKING:
    from cxsim.model.params import Params
    from cxsim.scenario import Scenario

FIELDS = ("share", "start_month", "ramp_months", "cost.one_time", "cost.monthly")


@dataclass
class ShiftArrays:
    """The scenario's acquisition shifts as arrays (M shifts)."""

    names: list[str]  # (M,) "from->to"
    source: np.ndarray  # (M,) segment index moved from
    target: np.ndarray  # (M,) segment index moved to
    share: np.ndarray  # (draw, M)
    start: np.ndarray  # (draw, M)
    ramp_months: np.ndarray  # (draw, M)
    one_time: np.ndarray  # (draw, M)
    monthly: np.ndarray  # (draw, M)

    def tiled(self, times: int) -> ShiftArrays:
        """The arrays with their draws repeated ``times`` times (see ``params.repeat``)."""

        def tile(values: np.ndarray) -> np.ndarray:
            return np.tile(values, (times, 1))

        return replace(
            self,
            share=tile(self.share),
            start=tile(self.start),
            ramp_months=tile(self.ramp_months),
            one_time=tile(self.one_time),
            monthly=tile(self.monthly),
        )


def build_shifts(
    scenario: Scenario, values: dict[str, np.ndarray], segments: list[str]
) -> ShiftArrays | None:
    """The shifts' arrays from sampled inputs; None for a scenario without shifts."""
    shifts = scenario.acquisition_shifts
    if not shifts:
        return None

    def stack(field: str) -> np.ndarray:
        return np.stack([values[f"acquisition_shifts.{m}.{field}"] for m in range(len(shifts))], 1)

    return ShiftArrays(
        names=shift_names(list(shifts)),
        source=np.array([segments.index(s.source) for s in shifts]),
        target=np.array([segments.index(s.to) for s in shifts]),
        share=stack("share"),
        start=stack("start_month"),
        ramp_months=stack("ramp_months"),
        one_time=stack("cost.one_time"),
        monthly=stack("cost.monthly"),
    )


def moved_share(shifts: ShiftArrays, horizon: int, on: np.ndarray | None = None) -> np.ndarray:
    """``q_m·r_m(t)``: the share of ``from``'s paid acquisitions each shift moves, (draw, M, H);
    zero for shifts switched off (``on`` as for work groups, see ``leading.switched_on``)."""
    months = np.arange(horizon)
    out = np.zeros((shifts.share.shape[0], len(shifts.names), horizon))
    for m in range(len(shifts.names)):
        switch = switched_on(on, m)
        if switch is False:
            continue
        share = shifts.share[:, m] if switch is True else shifts.share[:, m] * switch
        out[:, m] = share[:, None] * ramp(
            months, shifts.start[:, m], shifts.ramp_months[:, m], "linear"
        )
    return out


def programme_paid(p: Params, on: np.ndarray | None = None) -> np.ndarray:
    """Paid acquisitions of the programme arm after the shifts, (H, S, draw)."""
    assert p.shifts is not None
    paid = p.seg["new_customers_per_month"]  # (draw, S)
    moved = moved_share(p.shifts, p.horizon, on)  # (draw, M, H)
    out = np.empty((p.horizon, len(p.segments), p.draws))
    out[:] = paid.T
    for m in range(len(p.shifts.names)):  # a loop over shifts, each vectorised
        customers = (moved[:, m] * paid[:, p.shifts.source[m], None]).T  # (H, draw)
        out[:, p.shifts.source[m]] -= customers
        out[:, p.shifts.target[m]] += customers
    return out


def shift_cost(p: Params, on: np.ndarray | None = None) -> np.ndarray:
    """Cost per shift and month, (draw, M, H); zero items for a scenario without shifts."""
    s = p.shifts
    if s is None:
        return np.zeros((p.draws, 0, p.horizon))
    return _item_costs(p.horizon, s.start, s.ramp_months, s.one_time, s.monthly, on)


def extra_paid(p: Params, paid_arms: np.ndarray, uplift: np.ndarray | None) -> np.ndarray | None:
    """Paid acquisitions the programme buys beyond the baseline's, (draw, S, H), for the
    acquisition lever (:func:`~cxsim.model.levers.lever_profit`); ``paid_arms`` is
    (H, arm, S, draw).

    Under branding alone it is ``A·(u − 1)``, as it was before shifts existed (the same bits).
    """
    if p.shifts is not None:
        return np.transpose(paid_arms[:, 0] - paid_arms[:, 1], (2, 1, 0))
    if uplift is None:
        return None
    return p.seg["new_customers_per_month"][:, :, None] * (uplift[:, None, :] - 1.0)


def with_shift_cost(p: Params, cost: np.ndarray, on: np.ndarray | None = None) -> np.ndarray:
    """The programme's cost (draw, H) with the shifts' added after the work groups' and
    capabilities' (a scenario without shifts keeps its cost, bit for bit)."""
    if p.shifts is None:
        return cost
    return cost + shift_cost(p, on).sum(axis=1)


def with_shift_inputs(
    p: Params, costs: dict[str, np.ndarray], on: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The items' start months and monthly costs (``leading.cost_inputs``, (draw, G + N))
    with the shifts' appended, (draw, G + N + M): what splits each item's cost into one-time
    and running lines."""
    s = p.shifts
    if s is None:
        return costs
    monthly = s.monthly.copy()
    for m in range(monthly.shape[1]):
        switch = switched_on(on, m)
        if switch is not True:
            monthly[:, m] = monthly[:, m] * switch
    return {
        "start": np.concatenate([costs["start"], s.start], axis=1),
        "monthly": np.concatenate([costs["monthly"], monthly], axis=1),
    }
