"""Many variants of one scenario on the same draws, fast: what plan searches and waterfalls need.

Comparing plans, coalitions of work groups or of levers asks one question many times: what
is the NPV of this variant, on the same random draws? :class:`Evaluator` answers it without
redoing shared work:

- the inputs are sampled once (``draw_inputs`` for the seed and draws), never again;
- the baseline arm, which no plan changes, runs once for all variants;
- a variant is switches (work groups, capabilities, levers) and edits of the sampled inputs
  (a plan's target, costs and start scaled or shifted) applied to arrays, not a new scenario
  to validate; several variants run as rows of one engine call when the draws are few;
- the engine computes profit and cost only (:func:`cxsim.model.engine.run_cash`).

Each variant's numbers are those of :func:`cxsim.simulate` for it, bit for bit, when its
edits are exact (switches always are; a scaled uncertain input equals the scaled draws of the
original, which a rewritten distribution matches only to rounding). With an ``executor``,
variants go to workers in groups and come back in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from cxsim.errors import CxsimError
from cxsim.model.acquisition import with_shift_cost
from cxsim.model.engine import run_cash
from cxsim.model.finance import discount_factors, npv
from cxsim.model.leading import monthly_cost, ramp
from cxsim.model.params import Params, build_params, repeat
from cxsim.model.propagation import Perception
from cxsim.model.responses import LEVERS
from cxsim.montecarlo.executors import ordered, workers_of
from cxsim.montecarlo.memory import keep_freed_memory
from cxsim.montecarlo.tasks import CHUNK_CELLS
from cxsim.scenario import Scenario
from cxsim.uncertainty.sampling import draw_inputs

__all__ = ["Edit", "Evaluation", "Evaluator", "Variant"]

# Fields of the engine's inputs a plan edit may scale or shift, per item.
_GROUP_FIELDS = ("target", "cost_one_time", "cost_monthly", "plan_start")
_CAPABILITY_FIELDS = ("target", "cost_one_time", "cost_monthly", "start")
# The inputs of an item's monthly cost, in monthly_cost's order: start, ramp, one-time, monthly.
_COST_COLUMNS = {
    "group": ("plan_start", "plan_ramp", "cost_one_time", "cost_monthly"),
    "capability": ("start", "ramp_months", "cost_one_time", "cost_monthly"),
}
# Item costs and ramps kept per chunk of draws before the cache starts afresh (bounds memory
# when many items and options meet many draws).
_MAX_CACHED = 256


@dataclass(frozen=True)
class Edit:
    """``shift + scale · value`` for one plan input of one item, in every draw.

    ``kind`` is ``"group"`` (fields target, cost_one_time, cost_monthly, plan_start) or
    ``"capability"`` (target, cost_one_time, cost_monthly, start); ``item`` its index.
    """

    kind: str
    item: int
    field: str
    scale: float = 1.0
    shift: float = 0.0


@dataclass(frozen=True)
class Variant:
    """One variant of the scenario: what is funded, which levers respond, what is edited."""

    groups_on: tuple[bool, ...] | None = None
    capabilities_on: tuple[bool, ...] | None = None
    levers: tuple[str, ...] = LEVERS
    edits: tuple[Edit, ...] = ()
    shifts_on: tuple[bool, ...] | None = None  # acquisition shifts; None: all as written


@dataclass
class Evaluation:
    """A variant's money per draw: NPV, its two parts, and undiscounted programme spend."""

    npv: np.ndarray
    pv_benefit: np.ndarray
    pv_cost: np.ndarray
    spend: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.npv.mean())


@dataclass
class Evaluator:
    """Evaluates variants of ``scenario`` on draws ``0 .. draws − 1`` of ``seed``."""

    scenario: Scenario
    draws: int
    seed: int
    fixed: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.draws < 1:
            raise CxsimError(f"draws must be at least 1 (got {self.draws})")
        keep_freed_memory()
        self.values = draw_inputs(self.scenario, self.seed, 0, self.draws, dict(self.fixed))
        self.baseline = _baseline_profit(self.scenario, self.values)
        # What variants share per chunk of draws, kept across calls (serial runs).
        self._shared = _chunks(self.scenario, self.values, self.draws)

    def spend(self, variant: Variant) -> np.ndarray:
        """The variant's undiscounted programme spend per draw, (draw,), without running the
        engine: cost depends only on the plans, not on what customers do."""
        return np.concatenate([shared.cost(variant).sum(axis=1) for shared in self._shared])

    def evaluate(self, variants: Sequence[Variant], executor=None) -> list[Evaluation]:
        """Every variant's :class:`Evaluation`, in the order given."""
        variants = list(variants)
        if executor is None:
            return _evaluate(self.scenario, self.values, self.baseline, variants, self._shared)
        size = max(1, -(-len(variants) // (2 * workers_of(executor))))
        groups = [variants[k : k + size] for k in range(0, len(variants), size)]
        tasks = ((self.scenario, self.values, self.baseline, group) for group in groups)
        return [item for part in ordered(executor, _evaluate, tasks) for item in part]


def rows_per_call(scenario: Scenario) -> int:
    """Engine rows per call for the programme arm alone: its state should stay in cache."""
    classes = sum(scenario.latent_classes if s.sbg else 1 for s in scenario.segments.values())
    return max(64, CHUNK_CELLS // classes)


def _baseline_profit(scenario: Scenario, values: dict[str, np.ndarray]) -> np.ndarray:
    """The baseline arm's profit per draw and month, (draw, H): the same for every variant."""
    draws = len(next(iter(values.values())))
    step = rows_per_call(scenario)
    parts = []
    for a in range(0, draws, step):
        params = build_params(scenario, _rows(values, a, min(a + step, draws)))
        parts.append(run_cash(params, arms=(1,)).profit[0])
    return np.concatenate(parts)


def _rows(values: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {path: column[start:stop] for path, column in values.items()}


def _chunks(scenario: Scenario, values: dict[str, np.ndarray], draws: int) -> list[_Shared]:
    """The draws cut into chunks of about the rows an engine call keeps in cache."""
    step = min(draws, rows_per_call(scenario))
    return [
        _Shared(build_params(scenario, _rows(values, a, min(a + step, draws))))
        for a in range(0, draws, step)
    ]


def _evaluate(
    scenario: Scenario,
    values: dict[str, np.ndarray],
    baseline: np.ndarray,
    variants: list[Variant],
    chunks: list[_Shared] | None = None,
) -> list[Evaluation]:
    """The task: variants over every draw, batched so each engine call has about the rows
    that keep its state in cache (one variant over a chunk of draws, or several over few).

    What the variants share is worked out once per chunk of draws: the inputs, the
    perception filter, the discount factors, and each item's cost under each of its edits
    (a plan's cost is the sum of its items', added in the engine's order, so the same bits).
    """
    keep_freed_memory()  # in a worker process too
    draws = baseline.shape[0]
    if chunks is None:
        chunks = _chunks(scenario, values, draws)
    batch = max(1, rows_per_call(scenario) // chunks[0].params.draws)
    pieces: list[list[tuple]] = [[] for _ in variants]
    a = 0
    for shared in chunks:
        b = a + shared.params.draws
        for first in range(0, len(variants), batch):
            group = variants[first : first + batch]
            params = shared.params if len(group) == 1 else repeat(shared.params, len(group))
            edited = _apply(params, group, b - a)
            cash = run_cash(
                edited,
                groups_on=_stack([v.groups_on for v in group], b - a),
                capabilities_on=_stack([v.capabilities_on for v in group], b - a),
                levers=_lever_rows(group, b - a),
                arms=(0,),
                perception=shared.perception(len(group)),
                with_cost=False,
                ramps=np.concatenate([shared.ramps(v) for v in group]),
                shifts_on=_stack([v.shifts_on for v in group], b - a),
            )
            cost = np.concatenate([shared.cost(v) for v in group])
            profit = cash.profit[0] - np.tile(baseline[a:b], (len(group), 1))
            net, benefit, pv_cost = npv(profit, cost, edited.v, shared.factors(len(group)))
            spend = cost.sum(axis=1)
            for k in range(len(group)):
                rows_k = slice(k * (b - a), (k + 1) * (b - a))
                pieces[first + k].append(
                    (net[rows_k], benefit[rows_k], pv_cost[rows_k], spend[rows_k])
                )
        a = b
    return [
        Evaluation(*(np.concatenate([piece[q] for piece in parts]) for q in range(4)))
        for parts in pieces
    ]


class _Shared:
    """What every variant of one chunk of draws shares, worked out on first use."""

    def __init__(self, params: Params):
        self.params = params
        self._perception: dict[int, Perception] = {}
        self._factors: dict[int, np.ndarray] = {}
        self._costs: dict[tuple, np.ndarray] = {}

    def perception(self, times: int) -> Perception:
        if times not in self._perception:
            resp = self.params.resp
            delay, lag = resp["perception_delay_months"], resp["perception_lag_months"]
            self._perception[times] = Perception(
                np.tile(delay, (times, 1)), np.tile(lag, (times, 1)), self.params.horizon
            )
        return self._perception[times]

    def factors(self, times: int) -> np.ndarray:
        if times not in self._factors:
            self._factors[times] = discount_factors(
                np.tile(self.params.v, times), self.params.horizon
            )
        return self._factors[times]

    def cost(self, variant: Variant) -> np.ndarray:
        """The variant's programme cost (draw, H): its items' costs summed in engine order."""
        p = self.params
        groups = _items_cost(self, variant, "group", len(p.groups), variant.groups_on)
        capabilities = _items_cost(
            self, variant, "capability", len(p.ops.names), variant.capabilities_on
        )
        cost = groups if capabilities is None else groups + capabilities
        on = None if variant.shifts_on is None else np.asarray(variant.shifts_on, bool)
        return with_shift_cost(p, cost, on)

    def _make_room(self) -> None:
        if len(self._costs) >= _MAX_CACHED:
            self._costs.clear()

    def ramps(self, variant: Variant) -> np.ndarray:
        """The variant's work-group ramps (draw, G, H), zero for groups switched off."""
        p = self.params
        out = np.zeros((p.draws, len(p.groups), p.horizon))
        for g in range(len(p.groups)):
            if variant.groups_on is not None and not variant.groups_on[g]:
                continue
            shifts = tuple(
                e
                for e in variant.edits
                if e.kind == "group" and e.item == g and e.field == "plan_start"
            )
            key = ("ramp", g, shifts)
            if key not in self._costs:
                self._make_room()
                start = p.plan_start[:, g]
                for edit in shifts:
                    start = edit.shift + edit.scale * start
                months = np.arange(p.horizon)
                self._costs[key] = ramp(months, start, p.plan_ramp[:, g], p.curves[g])
            out[:, g] = self._costs[key]
        return out

    def item_cost(self, kind: str, item: int, edits: tuple[Edit, ...]) -> np.ndarray:
        key = (kind, item, edits)
        if key not in self._costs:
            self._make_room()
            source = self.params if kind == "group" else self.params.ops
            names = _COST_COLUMNS[kind]
            columns = [getattr(source, name)[:, item] for name in names]
            for edit in edits:
                if edit.field in names:  # a target edit changes no cost
                    q = names.index(edit.field)
                    columns[q] = edit.shift + edit.scale * columns[q]
            self._costs[key] = monthly_cost(np.arange(self.params.horizon), *columns)
        return self._costs[key]


def _items_cost(
    shared: _Shared, variant: Variant, kind: str, count: int, on: tuple[bool, ...] | None
) -> np.ndarray | None:
    """Σ of the items' costs in order (switched-off items add nothing), as the engine sums
    them (``total_cost``); None for capabilities when none is modelled."""
    if kind == "capability" and count == 0:
        return None
    total = None
    for item in range(count):
        if on is not None and not on[item]:
            cost = np.zeros((shared.params.draws, shared.params.horizon))
        else:
            edits = tuple(e for e in variant.edits if e.kind == kind and e.item == item)
            cost = shared.item_cost(kind, item, edits)
        total = cost.copy() if total is None else total + cost
    if total is None:  # a scenario without work groups
        total = np.zeros((shared.params.draws, shared.params.horizon))
    return total


def _stack(masks: list[tuple[bool, ...] | None], draws: int) -> np.ndarray | None:
    """Row switches for variants stacked on the draw axis; None when all switch nothing."""
    if all(mask is None for mask in masks):
        return None
    width = len(next(mask for mask in masks if mask is not None))
    rows = [np.ones(width, bool) if mask is None else np.asarray(mask, bool) for mask in masks]
    return np.repeat(np.stack(rows), draws, axis=0)


def _lever_rows(variants: list[Variant], draws: int) -> np.ndarray | tuple[str, ...]:
    if all(v.levers == LEVERS for v in variants):
        return LEVERS
    rows = np.array([[lever in v.levers for lever in LEVERS] for v in variants])
    return np.repeat(rows, draws, axis=0)


def _apply(params: Params, variants: list[Variant], draws: int) -> Params:
    """The inputs with each variant's edits on its rows; arrays an edit touches are copied
    first, so the shared inputs stay as sampled."""
    if not any(v.edits for v in variants):
        return params
    plan = {name: getattr(params, name).copy() for name in _GROUP_FIELDS}
    ops = {name: getattr(params.ops, name).copy() for name in _CAPABILITY_FIELDS}
    for k, variant in enumerate(variants):
        rows = slice(k * draws, (k + 1) * draws)
        for edit in variant.edits:
            if edit.kind == "group" and edit.field in _GROUP_FIELDS:
                array = plan[edit.field]
            elif edit.kind == "capability" and edit.field in _CAPABILITY_FIELDS:
                array = ops[edit.field]
            else:
                raise CxsimError(f"cannot edit {edit.kind} field {edit.field!r}")
            array[rows, edit.item] = edit.shift + edit.scale * array[rows, edit.item]
    return replace(params, **plan, ops=replace(params.ops, **ops))
