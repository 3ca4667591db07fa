"""Which money lever earned the programme's incremental profit (docs/model.md §5).

The engine's monthly recursion calls :func:`grow_split` to follow, class by class, the
customers each source added (retention, and paid acquisition under branding; referrals are the
rest of the difference between the arms), and :func:`lever_profit` once at the end to turn them
and the arms' rates into one profit line per lever that add up to the incremental profit.
"""

from __future__ import annotations

import numpy as np

from cxsim.model.params import Params
from cxsim.model.responses import LEVERS

__all__ = ["grow_split", "lever_profit"]


def grow_split(split, sums, programme, stay, paid, referred_weight, p: Params, scratch) -> None:
    """Next month's customers added by retention (and paid acquisition), class by class.

    Each source's customers survive and refer at the baseline's rates, and new ones join:
    retention adds ``N₀·(s₀ − s₁)`` (the programme's customers kept by its lower hazard), paid
    acquisition ``(A₀ − A₁)·π`` when branding lifts it. What is left of the difference between
    the arms comes from the programme's higher referral rate (docs/model.md §5).
    ``referred_weight`` is the baseline's referral rate times the class mix, (C, draw).
    """
    owner = p.class_segment
    split *= stay[1]
    for k in range(split.shape[0]):
        np.multiply(sums[k][owner], referred_weight, out=scratch)
        split[k] += scratch
    np.subtract(stay[0], stay[1], out=scratch)
    scratch *= programme
    split[0] += scratch
    if split.shape[0] > 1:
        np.multiply((paid[0] - paid[1])[owner], p.weight.T, out=scratch)
        split[1] += scratch


def lever_profit(p, responses, customers, added, extra_paid, into) -> None:
    """Incremental profit by lever, (draw, lever, H) summed over segments.

    A variance analysis: the customers the programme adds (``added``: by retention, and by
    paid acquisition under branding; the rest by referrals) earn the mean of the two arms'
    profit per customer ``u = m − ρ·referral_cost`` (volume effects, credited to the lever
    that added them, acquisition net of its CAC), and the arms' mean customers earn the
    change in margin and referral cost (rate effects: share of wallet through revenue, cost
    to serve through contacts, referrals through the referral rate). With the midpoint
    (Bennet) split of ``T₀u₀ − T₁u₁ = ΔT·ū + T̄·Δu`` no arm's level takes the interaction, and
    the five lines add up to profit(programme) − profit(baseline) in every draw and month.
    """
    programme, baseline = responses[0], responses[1]
    t0, t1 = customers[0], customers[1]  # (draw, S, H)
    rate = p.seg["referral_rate"][:, :, None]
    referral_cost = p.seg["referral_cost"][:, :, None]
    rate0, rate1 = programme.referring * rate, baseline.referring * rate
    unit = 0.5 * (
        (programme.margin_pc - rate0 * referral_cost) + (baseline.margin_pc - rate1 * referral_cost)
    )
    mean_customers = 0.5 * (t0 + t1)
    retention = added[0]
    gross = p.seg["gross_margin"][:, :, None]
    lines = {
        "retention": retention * unit,
        "share_of_wallet": mean_customers * (programme.revenue_pc - baseline.revenue_pc) * gross,
        "cost_to_serve": mean_customers * (baseline.serve_pc - programme.serve_pc),
    }
    referred = (t0 - t1) - retention
    if extra_paid is not None:  # (draw, S, H) paid acquisitions programme − baseline
        acquisition = added[1]
        referred -= acquisition
        lines["acquisition"] = acquisition * unit - extra_paid * p.seg["cac"][:, :, None]
    lines["referrals"] = referred * unit - mean_customers * (rate0 - rate1) * referral_cost
    for k, lever in enumerate(LEVERS):
        if lever in lines:
            np.sum(lines[lever], axis=1, out=into[:, k])
        else:
            into[:, k] = 0.0
