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

from cxsim.model import operating_model as om
from cxsim.model.leading import capability_cost, leading_indicators, programme_cost
from cxsim.model.params import Params
from cxsim.model.propagation import gap_closure, perceived
from cxsim.model.responses import DERIVED_METRICS, LEVERS, Responses

ARMS = ("programme", "baseline")

# Metrics the recursion produces, kept per (arm, draw, segment, month).
STORED_METRICS = ("customers", "churn", "retention_12m", "referrals", "clv", "profit")
SEGMENT_METRICS = STORED_METRICS + DERIVED_METRICS


def _into(target: np.ndarray | None, values: np.ndarray) -> np.ndarray:
    """Copy ``values`` into a preallocated view of the full result, if one is given."""
    if target is None:
        return values
    target[...] = values
    return target


@dataclass
class ChunkOutput:
    """Engine output for one chunk of draws."""

    metrics: dict[str, np.ndarray]  # metric -> (arm, draw, S, H)
    leading: np.ndarray  # (draw, G, H)
    closure: np.ndarray  # (draw, S, H) gap closure G
    perceived: np.ndarray  # (draw, S, H) perceived closure X
    group_cost: np.ndarray  # (draw, G, H)
    v: np.ndarray  # (draw,)
    seg: dict[str, np.ndarray]  # segment inputs, (draw, S) each
    resp: dict[str, np.ndarray]  # response inputs, (draw, S) each
    maturity: np.ndarray  # (draw, N, H) capability maturity
    capability_cost: np.ndarray  # (draw, N, H)
    acquisition_factor: np.ndarray  # (draw, H) paid acquisitions, programme / baseline
    mechanisms: dict[str, np.ndarray]  # execution_capacity, targeting_quality, promise (draw, H)


def run(
    p: Params,
    *,
    groups_on: np.ndarray | None = None,
    capabilities_on: np.ndarray | None = None,
    levers: Collection[str] = LEVERS,
    out: dict[str, np.ndarray] | None = None,
) -> ChunkOutput:
    """Run both arms for one chunk of draws.

    Parameters
    ----------
    p : Params
    groups_on : bool array (G,), optional
        Work groups in the programme; the others stay at zero progress and cost.
    capabilities_on : bool array (N,), optional
        Capabilities whose plans are funded; the others stay at today's maturity, free.
    levers : subset of ``LEVERS``
        Which money levers respond to perceived closure (value attribution switches the
        others off; NPS still moves with promoters and detractors).
    out : dict of ndarray, optional
        Preallocated views of the full result to write into: the stored metrics
        (arm, draw, S, H) and the series ``leading``, ``closure``, ``perceived``,
        ``group_cost``, ``maturity``, ``capability_cost``, ``acquisition_factor`` and the
        mechanisms (see ``cxsim.montecarlo.simulate``).
    """
    out = out if out is not None else {}
    ops = p.ops
    mature = _into(out.get("maturity"), om.maturity(ops, p.horizon, capabilities_on))
    capacity = om.execution(ops, mature)
    quality = om.targeting(ops, mature)
    raised = om.promise(ops, mature)
    ones, zeros = np.ones((p.draws, p.horizon)), np.zeros((p.draws, p.horizon))
    mechanisms = {  # (draw, H) each; neutral values where the mechanism is not modelled
        "execution_capacity": _into(
            out.get("execution_capacity"), ones if capacity is None else capacity
        ),
        "targeting_quality": _into(
            out.get("targeting_quality"), ones if quality is None else quality
        ),
        "promise": _into(out.get("promise"), zeros if raised is None else raised),
    }
    leading = _into(out.get("leading"), leading_indicators(p, groups_on, capacity))
    closure = gap_closure(p.pain, leading)
    extra = om.extra_closure(ops, leading, p.pain)
    if extra is not None:
        closure = closure + extra
    if quality is not None:
        closure = closure * quality[:, None, :]
    if extra is not None or quality is not None:
        closure = np.minimum(closure, 1.0)
    closure = _into(out.get("closure"), closure)
    x = _into(
        out.get("perceived"),
        perceived(closure, p.resp["perception_delay_months"], p.resp["perception_lag_months"]),
    )
    promise_gap = None if raised is None else om.promise_gap(raised, x)
    uplift = None
    if raised is not None and "acquisition" in levers:
        uplift = 1.0 + ops.acquisition_uplift[:, None] * raised
    factor = _into(out.get("acquisition_factor"), ones if uplift is None else uplift)
    metrics = _customer_months(
        p,
        x,
        tuple(levers),
        out if "customers" in out else None,
        promise_gap=promise_gap,
        uplift=uplift,
    )
    cost = _into(out.get("group_cost"), programme_cost(p, groups_on))
    cap_cost = _into(out.get("capability_cost"), capability_cost(p, capabilities_on))
    return ChunkOutput(
        metrics,
        leading,
        closure,
        x,
        cost,
        p.v,
        p.seg,
        p.resp,
        mature,
        cap_cost,
        factor,
        mechanisms,
    )


def _customer_months(
    p: Params,
    x: np.ndarray,
    levers: Collection[str],
    out: dict[str, np.ndarray] | None = None,
    *,
    promise_gap: np.ndarray | None = None,
    uplift: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The customer recursion for both arms; ``x`` is perceived closure (draw, S, H).

    Layout, chosen for speed: the customer state is class-major, ``(arm, C, draw)``,
    with the classes of all segments on one axis, segment by segment. Per-segment sums
    are sums over contiguous blocks of that axis — vectorised across draws and with a
    fixed summation order, so results do not depend on how the draws are chunked. Both
    arms share every operation; the baseline's class factors never change, so only the
    programme's are recomputed each month.

    ``out`` may hold preallocated (arm, draw, S, H) arrays (views into the full result)
    to write into. ``promise_gap`` (draw, S, H) raises the programme's churn hazard and
    ``uplift`` (draw, H) scales its paid acquisitions (branding, docs/model.md §8).
    """
    n, s_count, horizon = x.shape
    owner = p.class_segment
    c_count = owner.size
    first = np.searchsorted(owner, np.arange(s_count))
    blocks = list(zip(first.tolist(), [*first[1:].tolist(), c_count], strict=True))
    theta = np.ascontiguousarray(p.theta.T)  # (C, draw)
    weight = np.ascontiguousarray(p.weight.T)
    paid = p.seg["new_customers_per_month"].T  # (S, draw)
    v = p.v[None, None, :]
    programme = Responses(p.seg, p.resp, x, levers, promise_gap, p.ops.promise_penalty)
    baseline = Responses(p.seg, p.resp, np.zeros((n, s_count, 1)), levers)
    scale = np.ascontiguousarray(np.transpose(programme.hazard_scale, (2, 1, 0)))  # (H, S, draw)
    ref_rate = p.seg["referral_rate"].T
    referring = np.stack(
        [
            np.transpose(programme.referring, (2, 1, 0)) * ref_rate,
            np.broadcast_to(
                np.transpose(baseline.referring, (2, 1, 0)) * ref_rate, (horizon, s_count, n)
            ),
        ],
        axis=1,
    )  # (H, arm, S, draw)

    # Class factors (arm, C, draw): survival this month, over 12 months, annuity for CLV.
    stay = np.empty((2, c_count, n))
    stay[1] = 1.0 - theta * 1.0
    stay[0] = stay[1]
    stay12 = np.empty_like(stay)
    annuity = np.empty_like(stay)

    scratch = np.empty_like(stay)

    def refresh(arms: slice) -> None:
        # stay^12 by squaring, and the annuity factor v/(1 − stay·v), without temporaries.
        s, s12, a, tmp = stay[arms], stay12[arms], annuity[arms], scratch[arms]
        np.multiply(s, s, out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        np.multiply(tmp, tmp, out=s12)
        np.multiply(s12, tmp, out=s12)
        np.multiply(s, v, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        np.divide(v, tmp, out=a)

    refresh(slice(0, 2))
    work = np.empty((4, 2, c_count, n))  # state, survivors, 12-month survivors, CLV weight
    state = work[0]
    state[:] = (p.seg["customers"][:, owner] * p.start_mix).T
    monthly = np.empty((horizon, 4, 2, s_count, n))
    # Paid acquisitions per month and arm, (H, arm, S, draw); the same in both arms
    # unless branding lifts the programme's.
    paid_arms = np.empty((horizon, 2, s_count, n))
    paid_arms[:] = paid
    if uplift is not None:
        paid_arms[:, 0] *= uplift.T[:, None, :]
    programme_moves = bool(np.any(programme.hazard_scale != 1.0))
    for t in range(horizon):
        if programme_moves:
            np.subtract(1.0, theta * scale[t][owner], out=stay[0])
            refresh(slice(0, 1))
        np.multiply(state, stay, out=work[1])
        np.multiply(state, stay12, out=work[2])
        np.multiply(state, annuity, out=work[3])
        # NOTE: a sum per segment block beats np.add.reduceat here by about 4x; a one-class
        # segment needs no sum at all.
        for j, (first, stop) in enumerate(blocks):
            if stop - first == 1:
                monthly[t, :, :, j] = work[:, :, first]
            elif n > 1:
                np.sum(work[:, :, first:stop], axis=2, out=monthly[t, :, :, j])
            else:
                # NOTE: with one draw numpy sums the classes pairwise; add them left to right
                # as it does for any longer chunk, so a draw never depends on the chunking.
                total = monthly[t, :, :, j]
                total[...] = work[:, :, first]
                for c in range(first + 1, stop):
                    total += work[:, :, c]
        referred = monthly[t, 0] * referring[t]  # (arm, S, draw)
        np.multiply((paid_arms[t] + referred)[:, owner], weight, out=state)
        state += work[1]

    if out is None:
        out = {name: np.empty((2, n, s_count, horizon)) for name in STORED_METRICS}
    referral_cost = p.seg["referral_cost"][:, :, None]
    for arm, r in enumerate((programme, baseline)):
        # (H, S, draw) -> (draw, S, H) views of this arm's monthly sums.
        total, survivors, retained, annuity_sum = (
            np.transpose(monthly[:, q, arm], (2, 1, 0)) for q in range(4)
        )
        safe = np.where(total > 0, total, 1.0)
        out["customers"][arm] = total
        np.divide(total - survivors, safe, out=out["churn"][arm])
        np.divide(retained, safe, out=out["retention_12m"][arm])
        np.multiply(annuity_sum / safe, r.margin_pc, out=out["clv"][arm])
        referrals = out["referrals"][arm]
        np.multiply(total, np.transpose(referring[:, arm], (2, 1, 0)), out=referrals)
        paid_cost = np.transpose(paid_arms[:, arm], (2, 1, 0)) * p.seg["cac"][:, :, None]
        out["profit"][arm] = total * r.margin_pc - paid_cost - referrals * referral_cost
    return out
