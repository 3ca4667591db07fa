"""Sampled inputs → the arrays the engine runs on, one leading ``draw`` axis each.

Segments are stacked in scenario order (axis ``S``), work groups likewise (``G``).
Latent churn classes of all segments form one flat axis ``C``: an sBG segment adds
``latent_classes`` classes, a one-class segment adds one, and ``class_segment`` says
which segment each class belongs to (no padding, so no work on empty classes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cxsim.model.acquisition import ShiftArrays, build_shifts
from cxsim.model.customers import beta_classes, monthly_from_period, starting_mix
from cxsim.model.finance import monthly_discount
from cxsim.model.operating_model import OperatingArrays, build_operating
from cxsim.scenario import Scenario, topological_order
from cxsim.scenario.schema import RESPONSE_KEYS, Segment
from cxsim.uncertainty.distributions import Distribution

# The segment economics every segment states (the schema's required numbers), and the
# responses; both derived from the schema so a new key cannot be forgotten here.
SEGMENT_FIELDS = tuple(name for name, info in Segment.model_fields.items() if info.is_required())
RESPONSE_FIELDS = RESPONSE_KEYS


@dataclass
class Params:
    """Every input of one chunk of draws as arrays (shapes in comments)."""

    segments: list[str]
    groups: list[str]
    horizon: int
    seg: dict[str, np.ndarray]  # field -> (draw, S)
    resp: dict[str, np.ndarray]  # field -> (draw, S)
    market_size: np.ndarray | None  # (draw, S); NaN where no market size is given
    theta: np.ndarray  # (draw, C) monthly churn per class
    weight: np.ndarray  # (draw, C) class shares of a segment's new customers
    start_mix: np.ndarray  # (draw, C) class shares of a segment's customers today
    class_segment: np.ndarray  # (C,) segment index of each class
    pain: np.ndarray  # (draw, S, G)
    plan_start: np.ndarray  # (draw, G)
    plan_ramp: np.ndarray  # (draw, G)
    target: np.ndarray  # (draw, G)
    execution: np.ndarray  # (draw, G)
    cost_one_time: np.ndarray  # (draw, G)
    cost_monthly: np.ndarray  # (draw, G)
    curves: list[str]  # (G,)
    requires: list[list[int]]
    order: list[int]
    v: np.ndarray  # (draw,) monthly discount factor
    ops: OperatingArrays  # capabilities, journeys, synergies
    shifts: ShiftArrays | None = None  # acquisition shifts (programme arm), None without

    @property
    def draws(self) -> int:
        return self.v.shape[0]


def build_params(scenario: Scenario, values: dict[str, np.ndarray]) -> Params:
    """Engine arrays from sampled inputs (:func:`cxsim.uncertainty.sampling.draw_inputs`)."""
    segments = list(scenario.segments)
    groups = list(scenario.work_groups)
    n = len(next(iter(values.values())))

    def seg_stack(field: str) -> np.ndarray:
        return np.stack([values[f"segments.{s}.{field}"] for s in segments], axis=1)

    def resp_stack(field: str) -> np.ndarray:
        paths = [scenario.response_path(s, field) for s in segments]
        return np.stack([np.zeros(n) if p is None else values[p] for p in paths], axis=1)

    thetas, weights, mixes, owners = [], [], [], []
    for j, name in enumerate(segments):
        seg = scenario.segments[name]
        if seg.sbg is not None:
            alpha = values[f"segments.{name}.sbg.alpha"]
            beta = values[f"segments.{name}.sbg.beta"]
            uncertain = any(isinstance(v, Distribution) for v in (seg.sbg.alpha, seg.sbg.beta))
            th, w = beta_classes(alpha, beta, scenario.latent_classes, batched=uncertain)
            th = monthly_from_period(th, seg.sbg.period)
        else:
            th = values[f"segments.{name}.monthly_churn"][:, None]
            w = np.ones((n, 1))
        if seg.tenure_months is not None:
            mix = starting_mix(th, w, tenure=values[f"segments.{name}.tenure_months"])
        else:
            mix = starting_mix(th, w, base_age=values[f"segments.{name}.base_age_months"])
        thetas.append(th)
        weights.append(w)
        mixes.append(mix)
        owners.append(np.full(th.shape[1], j))

    pain = np.zeros((n, len(segments), len(groups)))
    for g, gname in enumerate(groups):
        for s, sname in enumerate(segments):
            key = f"work_groups.{gname}.pain_share.{sname}"
            if key in values:
                pain[:, s, g] = values[key]

    def group_stack(field: str) -> np.ndarray:
        if not groups:
            return np.zeros((n, 0))
        return np.stack([values[f"work_groups.{g}.{field}"] for g in groups], axis=1)

    index = {g: i for i, g in enumerate(groups)}
    market = None
    if any(scenario.segments[s].market_size is not None for s in segments):
        market = np.stack(
            [values.get(f"segments.{s}.market_size", np.full(n, np.nan)) for s in segments], axis=1
        )
    return Params(
        segments=segments,
        groups=groups,
        horizon=scenario.horizon_months,
        seg={f: seg_stack(f) for f in SEGMENT_FIELDS},
        resp={f: resp_stack(f) for f in RESPONSE_FIELDS},
        market_size=market,
        theta=np.concatenate(thetas, axis=1),
        weight=np.concatenate(weights, axis=1),
        start_mix=np.concatenate(mixes, axis=1),
        class_segment=np.concatenate(owners),
        pain=pain,
        plan_start=group_stack("plan.start_month"),
        plan_ramp=group_stack("plan.ramp_months"),
        target=group_stack("plan.target"),
        execution=group_stack("execution"),
        cost_one_time=group_stack("cost.one_time"),
        cost_monthly=group_stack("cost.monthly"),
        curves=[scenario.work_groups[g].plan.curve for g in groups],
        requires=[[index[p] for p in scenario.work_groups[g].requires] for g in groups],
        order=[index[g] for g in topological_order(scenario.work_groups)],
        v=monthly_discount(values["discount_rate"]),
        ops=build_operating(scenario, values, segments, groups, n),
        shifts=build_shifts(scenario, values, segments),
    )


def repeat(p: Params, times: int) -> Params:
    """``p`` with its draws repeated ``times`` times along the draw axis (row ``k·n + i`` is
    draw ``i``): the rows many plans of one scenario run on, each on the same draws."""

    def tile(values: np.ndarray) -> np.ndarray:
        return np.tile(values, (times,) + (1,) * (values.ndim - 1))

    ops = p.ops
    ops_arrays: dict[str, Any] = {
        name: tile(getattr(ops, name))
        for name in (
            "level",
            "target",
            "start",
            "ramp_months",
            "cost_one_time",
            "cost_monthly",
            "targeting_floor",
            "execution_floor",
            "acquisition_uplift",
            "promise_penalty",
        )
    }
    repeated_ops = replace(
        ops,
        **ops_arrays,
        journeys=[(groups, tile(pain)) for groups, pain in ops.journeys],
        synergies=[(groups, tile(bonus)) for groups, bonus in ops.synergies],
    )
    arrays: dict[str, Any] = {
        name: tile(getattr(p, name))
        for name in (
            "theta",
            "weight",
            "start_mix",
            "pain",
            "plan_start",
            "plan_ramp",
            "target",
            "execution",
            "cost_one_time",
            "cost_monthly",
            "v",
        )
    }
    return replace(
        p,
        seg={k: tile(v) for k, v in p.seg.items()},
        resp={k: tile(v) for k, v in p.resp.items()},
        market_size=None if p.market_size is None else tile(p.market_size),
        **arrays,
        ops=repeated_ops,
        shifts=None if p.shifts is None else p.shifts.tiled(times),
    )
