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

from cxsim.model import acquisition as acq
from cxsim.model import operating_model as om
from cxsim.model.leading import (
    capability_cost,
    cost_inputs,
    leading_indicators,
    programme_cost,
    total_cost,
)
from cxsim.model.levers import grow_split, lever_profit
from cxsim.model.params import Params
from cxsim.model.propagation import Perception, gap_closure
from cxsim.model.responses import DERIVED_METRICS, LEVERS, Responses, lever_switches

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
    lever_profit: np.ndarray  # (draw, lever, H) incremental profit by lever (docs/model.md §5)
    costs: dict[str, np.ndarray]  # start and running cost per item, (draw, G + N + M) each
    shift_cost: np.ndarray | None = None  # (draw, M, H) acquisition shifts' cost


def run(
    p: Params,
    *,
    groups_on: np.ndarray | None = None,
    capabilities_on: np.ndarray | None = None,
    levers: Collection[str] | np.ndarray = LEVERS,
    out: dict[str, np.ndarray] | None = None,
    shifts_on: np.ndarray | None = None,
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
        ``group_cost``, ``maturity``, ``capability_cost``, ``acquisition_factor``,
        ``lever_profit`` and the mechanisms (see ``cxsim.montecarlo.simulate``).
    shifts_on : bool array (M,), optional
        Acquisition shifts in the programme; the others leave acquisitions as written.
    """
    out = out if out is not None else {}
    chain = _chain(p, groups_on, capabilities_on, levers, out)
    by_lever = out.get("lever_profit")
    if by_lever is None:
        by_lever = np.empty((p.draws, len(LEVERS), p.horizon))
    metrics = _customer_months(
        p,
        chain.perceived,
        levers,
        out if "customers" in out else None,
        promise_gap=chain.promise_gap,
        uplift=chain.uplift,
        by_lever=by_lever,
        shifts_on=shifts_on,
    )
    cost = _into(out.get("group_cost"), programme_cost(p, groups_on))
    cap_cost = _into(out.get("capability_cost"), capability_cost(p, capabilities_on))
    return ChunkOutput(
        metrics,
        chain.leading,
        chain.closure,
        chain.perceived,
        cost,
        p.v,
        p.seg,
        p.resp,
        chain.maturity,
        cap_cost,
        chain.acquisition_factor,
        chain.mechanisms,
        by_lever,
        acq.with_shift_inputs(p, cost_inputs(p, groups_on, capabilities_on), shifts_on),
        _into(out.get("shift_cost"), acq.shift_cost(p, shifts_on)),
    )


@dataclass
class CashOutput:
    """What an NPV needs of a chunk of draws: profit per arm and the programme's cost."""

    profit: np.ndarray  # (arm, draw, H), summed over segments; arms in the order asked
    cost: np.ndarray | None  # (draw, H), work groups and capabilities


def run_cash(
    p: Params,
    *,
    groups_on: np.ndarray | None = None,
    capabilities_on: np.ndarray | None = None,
    levers: Collection[str] | np.ndarray = LEVERS,
    arms: tuple[int, ...] = (0, 1),
    perception: Perception | None = None,
    with_cost: bool = True,
    ramps: np.ndarray | None = None,
    shifts_on: np.ndarray | None = None,
) -> CashOutput:
    """Profit and programme cost only: the engine as plan comparisons and searches use it.

    The same chain as :func:`run`, with the switches row by row (``groups_on`` (draw, G),
    ``capabilities_on`` (draw, N), ``levers`` (draw, 5): many plans or attributions as rows
    of one call) and only the ``arms`` asked for — the baseline arm does not depend on the
    plan, so a caller evaluating many plans runs it once (``arms=(1,)``) and the plans with
    ``arms=(0,)``. Each row's profit equals that of :func:`run` for its plan, bit for bit.
    ``perception`` may hold the draws' perception filter already prepared, ``ramps`` the
    switched plans' ramps (:func:`~cxsim.model.leading.plan_ramps`); ``with_cost`` False
    leaves the cost to a caller that keeps its items' costs (``cost`` is then None).
    """
    n, s_count = p.draws, len(p.segments)
    if 0 in arms:
        chain = _chain(p, groups_on, capabilities_on, levers, {}, perception, ramps)
        x, gap, uplift = chain.perceived, chain.promise_gap, chain.uplift
    else:  # the baseline alone: no plan, no perception
        x, gap, uplift = np.zeros((n, s_count, p.horizon)), None, None
    months = _customer_months(
        p, x, levers, promise_gap=gap, uplift=uplift, arms=arms, full=False, shifts_on=shifts_on
    )
    cost = None
    if with_cost:
        cost = total_cost(programme_cost(p, groups_on), capability_cost(p, capabilities_on))
        cost = acq.with_shift_cost(p, cost, shifts_on)
    return CashOutput(months["profit"].sum(axis=2), cost)


@dataclass
class _Chain:
    """The programme arm's path from plans to perceived closure, with its mechanisms."""

    maturity: np.ndarray
    mechanisms: dict[str, np.ndarray]
    leading: np.ndarray
    closure: np.ndarray
    perceived: np.ndarray
    promise_gap: np.ndarray | None
    uplift: np.ndarray | None
    acquisition_factor: np.ndarray


def _chain(
    p: Params,
    groups_on,
    capabilities_on,
    levers,
    out: dict,
    perception: Perception | None = None,
    ramps: np.ndarray | None = None,
) -> _Chain:
    """Capabilities → leading indicators → gap closure → perceived closure (§2–§3, §8)."""
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
    leading = _into(out.get("leading"), leading_indicators(p, groups_on, capacity, ramps))
    closure = gap_closure(p.pain, leading)
    extra = om.extra_closure(ops, leading, p.pain)
    if extra is not None:
        closure = closure + extra
    if quality is not None:
        closure = closure * quality[:, None, :]
    if extra is not None or quality is not None:
        closure = np.minimum(closure, 1.0)
    closure = _into(out.get("closure"), closure)
    if perception is None:
        delay, lag = p.resp["perception_delay_months"], p.resp["perception_lag_months"]
        perception = Perception(delay, lag, p.horizon)
    x = _into(out.get("perceived"), perception(closure))
    uplift = _uplift(ops, raised, levers)
    return _Chain(
        maturity=mature,
        mechanisms=mechanisms,
        leading=leading,
        closure=closure,
        perceived=x,
        promise_gap=None if raised is None else om.promise_gap(raised, x),
        uplift=uplift,
        acquisition_factor=_into(out.get("acquisition_factor"), ones if uplift is None else uplift),
    )


def _uplift(ops, raised: np.ndarray | None, levers) -> np.ndarray | None:
    """Paid acquisitions' multiplier in the programme arm, ``1 + u·P`` (draw, H), while the
    acquisition lever is on; None when branding is not modelled or the lever is off."""
    on = lever_switches(levers)["acquisition"]
    if raised is None or on is False:
        return None
    lift = ops.acquisition_uplift[:, None] * raised
    return 1.0 + (lift if on is True else lift * on[:, None])


def _customer_months(
    p: Params,
    x: np.ndarray,
    levers: Collection[str] | np.ndarray,
    out: dict[str, np.ndarray] | None = None,
    *,
    promise_gap: np.ndarray | None = None,
    uplift: np.ndarray | None = None,
    arms: tuple[int, ...] = (0, 1),
    full: bool = True,
    by_lever: np.ndarray | None = None,
    shifts_on: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The customer recursion; ``x`` is perceived closure (draw, S, H).

    Layout, chosen for speed: the customer state is class-major, ``(arm, C, draw)``,
    with the classes of all segments on one axis, segment by segment. Per-segment sums
    are sums over contiguous blocks of that axis — vectorised across draws and with a
    fixed summation order, so results do not depend on how the draws are chunked. The arms
    share every operation; the baseline's class factors never change, so only the
    programme's are recomputed each month.

    ``arms`` are the arms to run (0 programme, 1 baseline), in the order of the outputs'
    arm axis. ``full`` computes every stored metric; without it only the profit, which is
    all an NPV needs (the 12-month survival and CLV factors are skipped; the customers, and
    so the profit, are the same numbers). ``out`` may hold preallocated (arm, draw, S, H)
    arrays (views into the full result) to write into. ``promise_gap`` (draw, S, H) raises
    the programme's churn hazard and ``uplift`` (draw, H) scales its paid acquisitions
    (branding, docs/model.md §8). ``by_lever`` (draw, lever, H), with both arms, receives the
    incremental profit split by lever (docs/model.md §5, :func:`_lever_profit`).
    """
    n, s_count, horizon = x.shape
    n_arms = len(arms)
    owner = p.class_segment
    c_count = owner.size
    first = np.searchsorted(owner, np.arange(s_count))
    blocks = list(zip(first.tolist(), [*first[1:].tolist(), c_count], strict=True))
    theta = np.ascontiguousarray(p.theta.T)  # (C, draw)
    weight = np.ascontiguousarray(p.weight.T)
    paid = p.seg["new_customers_per_month"].T  # (S, draw)
    v = p.v[None, None, :]
    responses = {}
    if 0 in arms:
        responses[0] = Responses(p.seg, p.resp, x, levers, promise_gap, p.ops.promise_penalty)
    if 1 in arms:
        responses[1] = Responses(p.seg, p.resp, np.zeros((n, s_count, 1)), levers)
    ref_rate = p.seg["referral_rate"].T
    referring = np.stack(
        [
            np.broadcast_to(
                np.transpose(responses[arm].referring, (2, 1, 0)) * ref_rate,
                (horizon, s_count, n),
            )
            for arm in arms
        ],
        axis=1,
    )  # (H, arm, S, draw)
    moving = arms.index(0) if 0 in arms else None  # the arm whose hazards move
    if moving is not None:
        scale = np.ascontiguousarray(np.transpose(responses[0].hazard_scale, (2, 1, 0)))

    # Class factors (arm, C, draw): survival this month, over 12 months, annuity for CLV.
    stay = np.empty((n_arms, c_count, n))
    stay[:] = 1.0 - theta * 1.0
    stay12 = np.empty_like(stay)
    annuity = np.empty_like(stay)
    scratch = np.empty_like(stay)

    def refresh(arm: slice) -> None:
        # stay^12 by squaring, and the annuity factor v/(1 − stay·v), without temporaries.
        s, s12, a, tmp = stay[arm], stay12[arm], annuity[arm], scratch[arm]
        np.multiply(s, s, out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        np.multiply(tmp, tmp, out=s12)
        np.multiply(s12, tmp, out=s12)
        np.multiply(s, v, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        np.divide(v, tmp, out=a)

    if full:
        refresh(slice(0, n_arms))
    # state, survivors, and with every metric 12-month survivors and the CLV weight
    quantities = 4 if full else 1
    work = np.empty((4 if full else 2, n_arms, c_count, n))
    state = work[0]
    state[:] = (p.seg["customers"][:, owner] * p.start_mix).T
    monthly = np.empty((horizon, quantities, n_arms, s_count, n))
    # Paid acquisitions per month and arm, (H, arm, S, draw); the same in both arms
    # unless branding lifts the programme's.
    paid_arms = np.empty((horizon, n_arms, s_count, n))
    paid_arms[:] = paid
    if p.shifts is not None and moving is not None:  # acquisition shifts (docs/model.md §5)
        paid_arms[:, moving] = acq.programme_paid(p, shifts_on)
    if uplift is not None and moving is not None:
        paid_arms[:, moving] *= uplift.T[:, None, :]
    programme_moves = moving is not None and bool(np.any(responses[0].hazard_scale != 1.0))
    # Customers the programme adds through retention and through paid acquisition, (source,
    # C, draw); the referrals' share is the rest of the difference between the arms.
    split = split_monthly = None
    if by_lever is not None:
        sources = 1 if uplift is None and p.shifts is None else 2  # paid differ: branding, shifts
        split = np.zeros((sources, c_count, n))
        split_monthly = np.empty((horizon, sources, s_count, n))
        split_scratch = np.empty((c_count, n))
        # Baseline referrals per customer never change: its class-mixed rate, once.
        referred_weight = referring[0, arms.index(1)][owner] * weight
    for t in range(horizon):
        # NOTE: each month's survival is worked out in the month: precomputing all months at
        # once (H, C, draw) is fewer calls but leaves the cache, and measured 3x slower.
        if programme_moves and moving is not None:
            np.subtract(1.0, theta * scale[t][owner], out=stay[moving])
            # A promise penalty can push a high hazard past 1: a class loses at most everyone.
            np.maximum(stay[moving], 0.0, out=stay[moving])
            if full:
                refresh(slice(moving, moving + 1))
        np.multiply(state, stay, out=work[1])
        if full:
            np.multiply(state, stay12, out=work[2])
            np.multiply(state, annuity, out=work[3])
        _segment_sums(work[:quantities], blocks, monthly[t])
        if split is not None and split_monthly is not None:
            _segment_sums(split, blocks, split_monthly[t])
            grow_split(
                split,
                split_monthly[t],
                state[0],
                stay,
                paid_arms[t],
                referred_weight,
                p,
                split_scratch,
            )
        referred = monthly[t, 0] * referring[t]  # (arm, S, draw)
        np.multiply((paid_arms[t] + referred)[:, owner], weight, out=state)
        state += work[1]

    names = STORED_METRICS if full else ("profit",)
    if out is None:
        out = {name: np.empty((n_arms, n, s_count, horizon)) for name in names}
    referral_cost = p.seg["referral_cost"][:, :, None]
    for index, arm in enumerate(arms):
        r = responses[arm]
        # (H, S, draw) -> (draw, S, H) views of this arm's monthly sums.
        total = np.transpose(monthly[:, 0, index], (2, 1, 0))
        referrals = np.multiply(total, np.transpose(referring[:, index], (2, 1, 0)))
        paid_cost = np.transpose(paid_arms[:, index], (2, 1, 0)) * p.seg["cac"][:, :, None]
        out["profit"][index] = total * r.margin_pc - paid_cost - referrals * referral_cost
        if not full:
            continue
        survivors, retained, annuity_sum = (
            np.transpose(monthly[:, q, index], (2, 1, 0)) for q in range(1, 4)
        )
        safe = np.where(total > 0, total, 1.0)
        out["customers"][index] = total
        np.divide(total - survivors, safe, out=out["churn"][index])
        np.divide(retained, safe, out=out["retention_12m"][index])
        np.multiply(annuity_sum / safe, r.margin_pc, out=out["clv"][index])
        out["referrals"][index] = referrals
    if by_lever is not None and split_monthly is not None:
        added = np.ascontiguousarray(np.transpose(split_monthly, (1, 3, 2, 0)))
        extra = acq.extra_paid(p, paid_arms, uplift)
        lever_profit(p, responses, out["customers"], added, extra, by_lever)
    return out


def _segment_sums(counted: np.ndarray, blocks: list, into: np.ndarray) -> None:
    """Sums of (..., C, draw) over each segment's classes into (..., S, draw)."""
    n = counted.shape[-1]
    # NOTE: a sum per segment block beats np.add.reduceat here by about 4x; a one-class
    # segment needs no sum at all.
    for j, (first, stop) in enumerate(blocks):
        if stop - first == 1:
            into[..., j, :] = counted[..., first, :]
        elif n > 1:
            np.sum(counted[..., first:stop, :], axis=-2, out=into[..., j, :])
        else:
            # NOTE: with one draw numpy sums the classes pairwise; add them left to right
            # as it does for any longer chunk, so a draw never depends on the chunking.
            total = into[..., j, :]
            total[...] = counted[..., first, :]
            for c in range(first + 1, stop):
                total += counted[..., c, :]
