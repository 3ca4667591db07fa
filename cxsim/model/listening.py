"""The listening loop: VoC waves measure the pain customers still feel and steer the work.

In each draw the sampled pain shares ``P[s,g]`` are the truth; the organisation believes the
pain shares' central values ``μ[s,g]`` (its plan as written is its decision under that prior),
with the prior variance ``σ²[s,g]`` of the scenario's distributions. A wave at month ``w``
asks ``n_s`` respondents of segment ``s`` whether they still feel group ``g``'s pain, share
``q = P·(1 − L_g(w))``: counts are Binomial(n_s, q), drawn by inverse CDF from the stream
``listening``, so a draw's waves depend only on the seed and the draw index. The estimate
``P̂ = count / (n_s·(1 − L_g(w)))`` updates the belief by precision weighting (the normal
limit of the Beta–binomial update), ``b ← b + κ·(P̂ − b)``, ``κ = σ² / (σ² + σ²_m)``,
``σ²_m = b'(1 − b')/(n_s·(1 − L)²)`` with ``b' = b·(1 − L)``, and ``σ² ← (1 − κ)·σ²``: no
respondents or a certain pain share give ``κ = 0``, the belief and so the plan unchanged.

After the report delay, effort moves. Group ``g``'s value per unit of gap closed is
``a_g(B) = Σ_s B[s,g]·V_s`` (``V_s`` the segment's monthly margin pool, customers × ARPU ×
gross margin); the target multiplier of its not-yet-delivered effort is proportional to
``a_g(b)/a_g(μ)``, scaled so the remaining planned spend is unchanged, and a wave moves at most
``reallocation`` of that spend toward it. The oracle knows ``P`` at month 0 and moves all
the way at once (docs/model.md §13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from cxsim.model import operating_model as om
from cxsim.model.leading import leading_indicators, plan_ramps
from cxsim.model.params import Params
from cxsim.scenario import Scenario
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.streams import stream_id, uniforms

STREAM = "listening"
# Quantiles on which a distribution's prior variance is worked out: fixed, so the prior does
# not depend on the draws.
_GRID = (np.arange(2000) + 0.5) / 2000


@dataclass(frozen=True)
class Prior:
    """The organisation's belief about the pain shares before any wave, (S, G) each."""

    mean: np.ndarray
    variance: np.ndarray


def prior(scenario: Scenario) -> Prior:
    """Central values (medians) and variances of the pain shares; a number is certain."""
    segments, groups = list(scenario.segments), list(scenario.work_groups)
    mean = np.zeros((len(segments), len(groups)))
    variance = np.zeros_like(mean)
    for g, gname in enumerate(groups):
        for s, sname in enumerate(segments):
            share = scenario.work_groups[gname].pain_share.get(sname, 0.0)
            if isinstance(share, Distribution):
                mean[s, g] = share.median()
                variance[s, g] = float(np.var(share.ppf(_GRID)))
            else:
                mean[s, g] = share
    return Prior(mean, variance)


def respondents(scenario: Scenario, p: Params) -> np.ndarray:
    """Respondents per wave and segment, (draw, S): a single number is split by each draw's
    segment sizes (whole respondents, rounded down); a mapping gives them by segment."""
    asked = scenario.listening.respondents_per_wave
    if isinstance(asked, dict):
        return np.tile([float(asked.get(s, 0)) for s in p.segments], (p.draws, 1))
    customers = p.seg["customers"]
    return np.floor(asked * customers / customers.sum(axis=1, keepdims=True))


def wave_months(scenario: Scenario) -> list[int]:
    """Months of the waves: 0, every, 2·every, … inside the horizon."""
    return list(range(0, scenario.horizon_months, scenario.listening.waves_every_months))


def monthly_cost(scenario: Scenario, n: np.ndarray) -> np.ndarray:
    """Listening's cost per draw and month, (draw, H): the monthly fee and each wave's
    respondents."""
    block = scenario.listening
    cost = np.full((n.shape[0], scenario.horizon_months), block.cost.monthly)
    cost[:, wave_months(scenario)] += block.cost.per_respondent * n.sum(axis=1)[:, None]
    return cost


@dataclass
class Loop:
    """The listening loop's plan for a chunk of draws, with what each wave saw and did."""

    ramps: np.ndarray  # (draw, G, H) the planned ramps with effort moved
    measured: np.ndarray  # (wave, draw, S, G) the pain share each wave estimated; NaN unasked
    belief: np.ndarray  # (wave, draw, S, G) the belief after each wave
    multiplier: np.ndarray  # (wave, draw, G) effort on each group's rest, relative to the plan


def value_weights(p: Params) -> np.ndarray:
    """``V_s``: each segment's monthly margin pool, (draw, S)."""
    return p.seg["customers"] * p.seg["arpu"] * p.seg["gross_margin"]


def run_loop(scenario: Scenario, p: Params, seed: int, start: int) -> Loop:
    """The listening loop on draws ``start .. start + p.draws − 1`` of ``seed``."""
    block = scenario.listening
    belief_prior = prior(scenario)
    base = plan_ramps(p)
    ramps = base.copy()
    months = wave_months(scenario)
    n = respondents(scenario, p)[:, :, None]  # (draw, S, 1)
    capacity = om.execution(p.ops, om.maturity(p.ops, p.horizon))
    belief = np.broadcast_to(belief_prior.mean, p.pain.shape).copy()
    variance = np.broadcast_to(belief_prior.variance, p.pain.shape).copy()
    multiplier = np.ones((p.draws, len(p.groups)))
    shape = (len(months), *p.pain.shape)
    loop = Loop(
        ramps, np.full(shape, np.nan), np.empty(shape), np.empty((len(months), *multiplier.shape))
    )
    learns = bool(np.any(n > 0) and np.any(variance > 0))
    # One uniform per (wave, segment, group) of each draw, at the draw's own counters.
    cells = len(months) * p.pain.shape[1] * p.pain.shape[2]
    u_all = uniforms(seed, stream_id(STREAM), start * cells, (start + p.draws) * cells)
    u_all = u_all.reshape(p.draws, len(months), *p.pain.shape[1:])
    for k, wave in enumerate(months):
        if learns:
            closed = leading_indicators(p, capacity=capacity, ramps=ramps)[:, :, wave]  # (draw, G)
            still = np.maximum(1.0 - closed, 0.0)[:, None, :]  # (draw, 1, G)
            u = u_all[:, k]
            asked = (n > 0) & (still > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.clip(p.pain * still, 0.0, 1.0)
                measured = np.where(asked, binom.ppf(u, n, q) / (n * still), np.nan)
                expected = np.clip(belief * still, 0.0, 1.0)
                noise = expected * (1.0 - expected) / (n * still * still)
                gain = np.where(asked & (variance > 0), variance / (variance + noise), 0.0)
            belief = belief + gain * np.where(asked, measured - belief, 0.0)
            variance = (1.0 - gain) * variance
            loop.measured[k] = measured
            decided = wave + block.report_delay_months
            if decided < p.horizon:
                multiplier = _move(
                    p,
                    base,
                    ramps,
                    multiplier,
                    belief,
                    belief_prior.mean,
                    decided,
                    block.reallocation,
                )
        loop.belief[k] = belief
        loop.multiplier[k] = multiplier
    return loop


def oracle_ramps(scenario: Scenario, p: Params) -> np.ndarray:
    """The plan with effort moved at month 0 knowing the true pain shares, all the way."""
    base = plan_ramps(p)
    ramps = base.copy()
    _move(p, base, ramps, np.ones((p.draws, len(p.groups))), p.pain, prior(scenario).mean, 0, 1.0)
    return ramps


def _move(p, base, ramps, current, belief, assumed, month: int, share: float) -> np.ndarray:
    """Move effort on what is not yet delivered after ``month`` toward the belief's values;
    updates ``ramps`` in place and returns the new multipliers (draw, G)."""
    weights = value_weights(p)[:, :, None]
    # Groups linked by ``requires`` move together (one multiplier per linked set): moving
    # effort off a prerequisite, or onto a group its prerequisite holds back, is lost to the
    # sequence rule.
    together = _linked(p.requires)  # (G, G) 1 where two groups are linked
    valued = (belief * weights).sum(axis=1) @ together  # (draw, G)
    planned = (assumed[None] * weights).sum(axis=1) @ together
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(planned > 0, valued / planned, 1.0)
    # What the plan still spends on each group per unit of multiplier: its build money times
    # the ramp it has left.
    left = base[:, :, -1] - base[:, :, month]
    unit = p.cost_one_time + p.cost_monthly * p.plan_ramp
    unit = np.where(unit.sum(axis=1, keepdims=True) > 0, unit, 1.0)
    money = unit * left  # (draw, G)
    spend = (money * current).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.where(
            spend > 0, ratio * spend / (money * ratio).sum(axis=1, keepdims=True), current
        )
        moved = 0.5 * (money * np.abs(target - current)).sum(axis=1, keepdims=True)
        step = np.where(moved > 0, np.minimum(1.0, share * spend / moved), 0.0)
    new = current + step * (target - current)
    change = new - current  # exactly 0 where nothing moved, so the ramps stay bit for bit
    grown = np.maximum(base - base[:, :, month : month + 1], 0.0)
    ramps += change[:, :, None] * grown
    # A group cannot close more than all of its gaps.
    with np.errstate(divide="ignore"):
        np.minimum(ramps, np.where(p.target > 0, 1.0 / p.target, np.inf)[:, :, None], out=ramps)
    return new


def _linked(requires: list[list[int]]) -> np.ndarray:
    """(G, G) matrix with 1 where two groups are in the same set linked by ``requires``."""
    count = len(requires)
    label = list(range(count))

    def root(g: int) -> int:
        while label[g] != g:
            g = label[g]
        return g

    for g, needed in enumerate(requires):
        for q in needed:
            label[root(g)] = root(q)
    roots = np.array([root(g) for g in range(count)])
    return (roots[:, None] == roots[None, :]).astype(float)
