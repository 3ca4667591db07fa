"""simulate(): wire the causal chain, programme against baseline on paired draws.

    plan ─► leading L_g(t) ─► gap closure G_s(t) ─► perceived X_s(t) ─► responses
         ─► customers N_s,k(t) ─► revenue, profit ─► incremental cash flow ─► NPV …

Both arms run on the same draws in one pass: the arm axis (0 = programme,
1 = baseline with every ``L_g ≡ 0``) leads the customer state, so everything the
two share is computed once. The only Python loop is over months.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from cxsim.leading import monthly_cost, plan_fractions, ramp
from cxsim.params import Params
from cxsim.propagation import gap_closure, perceived

ARMS = ("programme", "baseline")
LEVERS = ("retention", "share_of_wallet", "referrals", "cost_to_serve")

# Metrics kept per (arm, draw, segment, month).
SEGMENT_METRICS = (
    "customers",
    "churn",
    "retention_12m",
    "share_of_wallet",
    "promoters",
    "detractors",
    "referrals",
    "new_customers",
    "contacts_per_customer",
    "revenue",
    "cost_to_serve",
    "acquisition_cost",
    "profit",
    "clv",
)


@dataclass
class ChunkOutput:
    """Engine output for one chunk of draws."""

    metrics: dict[str, np.ndarray]  # metric -> (arm, draw, S, H)
    leading: np.ndarray  # (draw, G, H)
    closure: np.ndarray  # (draw, S, H) gap closure G
    perceived: np.ndarray  # (draw, S, H) perceived closure X
    group_cost: np.ndarray  # (draw, G, H)
    v: np.ndarray  # (draw,)


def leading_indicators(p: Params, groups_on: np.ndarray | None = None) -> np.ndarray:
    """``L[d,g,t]``: target × achieved plan fraction (execution capacity and sequence applied)."""
    months = np.arange(p.horizon)
    n, g_count = p.draws, len(p.groups)
    ramps = np.zeros((n, g_count, p.horizon))
    for g in range(g_count):
        if groups_on is None or groups_on[g]:
            ramps[:, g] = ramp(months, p.plan_start[:, g], p.plan_ramp[:, g], p.curves[g])
    fraction = plan_fractions(ramps, p.execution, p.requires, p.order)
    return p.target[:, :, None] * fraction


def programme_cost(p: Params, groups_on: np.ndarray | None = None) -> np.ndarray:
    """Cost per group and month, (draw, G, H); groups switched off cost nothing."""
    months = np.arange(p.horizon)
    cost = np.zeros((p.draws, len(p.groups), p.horizon))
    for g in range(len(p.groups)):
        if groups_on is None or groups_on[g]:
            cost[:, g] = monthly_cost(
                months,
                p.plan_start[:, g],
                p.plan_ramp[:, g],
                p.cost_one_time[:, g],
                p.cost_monthly[:, g],
            )
    return cost


def run(
    p: Params, *, groups_on: np.ndarray | None = None, levers: Collection[str] = LEVERS
) -> ChunkOutput:
    """Run both arms for one chunk of draws.

    Parameters
    ----------
    p : Params
    groups_on : bool array (G,), optional
        Work groups in the programme; the others stay at zero progress and cost.
    levers : subset of ``LEVERS``
        Which money levers respond to perceived closure (value attribution switches the
        others off; NPS still moves with promoters and detractors).
    """
    leading = leading_indicators(p, groups_on)
    closure = gap_closure(p.pain, leading)
    x = perceived(closure, p.resp["perception_delay_months"], p.resp["perception_lag_months"])
    metrics = _customer_months(p, x, set(levers))
    cost = programme_cost(p, groups_on)
    return ChunkOutput(metrics, leading, closure, x, cost, p.v)


def _customer_months(p: Params, x: np.ndarray, levers: set[str]) -> dict[str, np.ndarray]:
    """The customer recursion for both arms; x is perceived closure (draw, S, H)."""
    n, s_count, horizon = x.shape
    seg, resp = p.seg, p.resp
    zero = np.zeros_like(x)
    xs = np.stack([x, zero])  # (arm, draw, S, H)

    def lever(name: str, field: str) -> np.ndarray:
        return resp[field][None, :, :, None] if name in levers else 0.0

    # Responses at each month (MODEL.md §4), arms stacked: (arm, draw, S, H).
    hazard_scale = 1.0 - lever("retention", "churn_reduction") * xs
    w0 = seg["share_of_wallet"][None, :, :, None]
    wallet = np.minimum(w0 + lever("share_of_wallet", "wallet_gain") * xs, 1.0)
    detractors = seg["detractors"][None, :, :, None] * (
        1.0 - resp["detractor_reduction"][None, :, :, None] * xs
    )
    promoters = np.minimum(
        seg["promoters"][None, :, :, None] + resp["promoter_gain"][None, :, :, None] * xs,
        1.0 - detractors,
    )
    referring = np.minimum(
        seg["promoters"][None, :, :, None] + lever("referrals", "promoter_gain") * xs,
        1.0 - detractors,
    )
    contacts = seg["contacts_per_customer"][None, :, :, None] * (
        1.0 - lever("cost_to_serve", "avoidable_contacts") * xs
    )

    arpu = seg["arpu"][None, :, :, None] * wallet / w0  # revenue per customer
    serve = contacts * seg["cost_per_contact"][None, :, :, None]  # cost to serve per customer
    margin_pc = arpu * seg["gross_margin"][None, :, :, None] - serve
    paid = seg["new_customers_per_month"][None, :, :]  # (1, draw, S)
    cac = seg["cac"][None, :, :]
    ref_rate = seg["referral_rate"][None, :, :]
    ref_cost = seg["referral_cost"][None, :, :]

    theta = p.theta[None]  # (1, draw, S, K)
    weight = p.weight[None]
    state = np.broadcast_to(
        seg["customers"][None, :, :, None] * p.start_mix[None], (2, n, s_count, theta.shape[-1])
    ).copy()
    v = p.v[None, :, None, None]

    customers = np.empty((2, n, s_count, horizon))
    churn = np.empty_like(customers)
    retention = np.empty_like(customers)
    clv_factor = np.empty_like(customers)
    referrals = np.empty_like(customers)
    for t in range(horizon):
        hazard = theta * hazard_scale[..., t, None]  # (arm, draw, S, K)
        stay = 1.0 - hazard
        total = state.sum(axis=-1)
        safe = np.where(total > 0, total, 1.0)
        customers[..., t] = total
        churn[..., t] = (state * hazard).sum(axis=-1) / safe
        retention[..., t] = (state * stay**12).sum(axis=-1) / safe
        # Forward CLV at today's rates: Σ_k share_k · v/(1 − (1−θ_k)v), times margin below.
        clv_factor[..., t] = (state * (v / (1.0 - stay * v))).sum(axis=-1) / safe
        referred = total * referring[..., t] * ref_rate
        referrals[..., t] = referred
        state = state * stay + (paid + referred)[..., None] * weight

    new_customers = paid[..., None] + referrals
    revenue = customers * arpu
    cost_to_serve = customers * serve
    acquisition = paid[..., None] * cac[..., None] + referrals * ref_cost[..., None]
    profit = revenue * seg["gross_margin"][None, :, :, None] - cost_to_serve - acquisition
    shape = customers.shape
    return {
        "customers": customers,
        "churn": churn,
        "retention_12m": retention,
        "share_of_wallet": np.broadcast_to(wallet, shape),
        "promoters": np.broadcast_to(promoters, shape),
        "detractors": np.broadcast_to(detractors, shape),
        "referrals": referrals,
        "new_customers": np.broadcast_to(new_customers, shape),
        "contacts_per_customer": np.broadcast_to(contacts, shape),
        "revenue": revenue,
        "cost_to_serve": cost_to_serve,
        "acquisition_cost": acquisition,
        "profit": profit,
        "clv": clv_factor * margin_pc,
    }
