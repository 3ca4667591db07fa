"""The work of a Monte Carlo run: draws of a scenario through the engine, as picklable tasks.

:class:`RunSpec` holds everything a worker needs; :func:`run_range` runs draws ``start`` to
``stop − 1`` in engine chunks into given arrays and returns the full result over them;
:func:`summarise_range` is the task of a streamed run: it runs its draws block by block in one
reused set of arrays and returns only the blocks' summaries (outcomes, yearly lines, monthly
statistics), never the arrays. Draw ``i`` depends only on the seed and ``i``, so any split of
the draws into tasks and chunks gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from cxsim.errors import CxsimError
from cxsim.model.engine import STORED_METRICS, ChunkOutput, run, run_cash
from cxsim.model.finance import npv
from cxsim.model.operating_model import modelled_capabilities
from cxsim.model.params import build_params
from cxsim.model.responses import LEVERS
from cxsim.montecarlo.memory import keep_freed_memory
from cxsim.outputs.result import SimulationResult
from cxsim.outputs.streamed import BLOCK, BlockSummary, summarise_block
from cxsim.scenario import Scenario
from cxsim.uncertainty.sampling import draw_inputs

# Cells of (arm, class, draw) customer state per engine call: small enough that the monthly
# loop works in cache, large enough that numpy's per-call overhead is amortised
# (measured with benchmarks/bench_engine.py).
CHUNK_CELLS = 50_000
# The per-draw series the engine writes besides the stored metrics.
SERIES = (
    "leading",
    "maturity",
    "capability_cost",
    "acquisition_factor",
    "execution_capacity",
    "targeting_quality",
    "promise",
    "closure",
    "perceived",
    "group_cost",
    "shift_cost",
)


def default_chunk(scenario: Scenario) -> int:
    """Draws per engine call: the engine's (arm, class, draw) state should stay in cache."""
    classes = sum(scenario.latent_classes if s.sbg else 1 for s in scenario.segments.values())
    return max(64, CHUNK_CELLS // (2 * classes))


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to run draws of a scenario (picklable, so workers can receive it)."""

    scenario: Scenario
    seed: int
    fixed: dict[str, float] = field(default_factory=dict)
    groups_on: np.ndarray | None = None  # (G,) bool
    capabilities_on: np.ndarray | None = None  # (N,) bool
    levers: tuple[str, ...] = ()
    chunk: int = 0  # engine draws per call; 0 = default_chunk

    @property
    def engine_chunk(self) -> int:
        return self.chunk or default_chunk(self.scenario)


def bytes_per_draw(scenario: Scenario) -> int:
    """Memory a kept draw takes: stored metrics and series, float64 (see :func:`allocate`)."""
    shapes = allocate(scenario, 1, dry=True)
    return 8 * sum(int(np.prod(shape)) for shape in shapes.values())


def allocate(scenario: Scenario, draws: int, dry: bool = False) -> dict:
    """Arrays a run writes into, by name: stored metrics (arm, draw, S, H) and series."""
    s, g, h = len(scenario.segments), len(scenario.work_groups), scenario.horizon_months
    n = len(modelled_capabilities(scenario))
    shapes: dict[str, tuple[int, ...]] = {name: (2, draws, s, h) for name in STORED_METRICS}
    shapes.update(
        leading=(draws, g, h),
        maturity=(draws, n, h),
        capability_cost=(draws, n, h),
        acquisition_factor=(draws, h),
        execution_capacity=(draws, h),
        targeting_quality=(draws, h),
        promise=(draws, h),
        closure=(draws, s, h),
        perceived=(draws, s, h),
        group_cost=(draws, g, h),
        shift_cost=(draws, len(scenario.acquisition_shifts), h),
        lever_profit=(draws, len(LEVERS), h),
    )
    return shapes if dry else {name: np.empty(shape) for name, shape in shapes.items()}


def run_range(
    spec: RunSpec, start: int, stop: int, arrays: dict, on_chunk: Callable | None = None
) -> SimulationResult:
    """Run draws ``start .. stop − 1`` into ``arrays`` (their first ``stop − start`` draws).

    Returns the full result over exactly those draws (views of ``arrays``, no copy);
    ``on_chunk(n)`` is told each time ``n`` more draws are done.
    """
    n = stop - start
    views = {
        name: array[:, :n] if name in STORED_METRICS else array[:n]
        for name, array in arrays.items()
    }
    outputs: list[ChunkOutput] = []
    market = []
    chunk = spec.engine_chunk
    for a in range(start, stop, chunk):
        b = min(a + chunk, stop)
        values = draw_inputs(spec.scenario, spec.seed, a, b, spec.fixed)
        params = build_params(spec.scenario, values)
        out = {
            name: view[:, a - start : b - start]
            if name in STORED_METRICS
            else view[a - start : b - start]
            for name, view in views.items()
        }
        outputs.append(
            run(
                params,
                groups_on=spec.groups_on,
                capabilities_on=spec.capabilities_on,
                levers=spec.levers,
                out=out,
            )
        )
        if params.market_size is not None:
            market.append(params.market_size)
        if on_chunk is not None:
            on_chunk(b - a)
    return assemble(spec, views, outputs, np.concatenate(market) if market else None)


def assemble(
    spec: RunSpec, arrays: dict, outputs: list[ChunkOutput], market: np.ndarray | None
) -> SimulationResult:
    """A full result from the arrays the engine wrote and its chunk outputs."""

    def join(get):
        parts = [get(o) for o in outputs]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    return SimulationResult(
        scenario=spec.scenario,
        seed=spec.seed,
        metrics={name: arrays[name] for name in STORED_METRICS},
        leading_values=arrays["leading"],
        closure=arrays["closure"],
        perceived=arrays["perceived"],
        group_cost=arrays["group_cost"],
        maturity=arrays["maturity"],
        capability_cost=arrays["capability_cost"],
        shift_cost=arrays["shift_cost"],
        acquisition_factor=arrays["acquisition_factor"],
        lever_profit=arrays["lever_profit"],
        mechanisms={k: arrays[k] for k in ("execution_capacity", "targeting_quality", "promise")},
        v=join(lambda o: o.v),
        costs={k: join(lambda o, k=k: o.costs[k]) for k in outputs[0].costs},
        seg={k: join(lambda o, k=k: o.seg[k]) for k in outputs[0].seg},
        resp={k: join(lambda o, k=k: o.resp[k]) for k in outputs[0].resp},
        levers=tuple(spec.levers),
        market_size=market,
    )


def summarise_range(spec: RunSpec, start: int, stop: int) -> list[BlockSummary]:
    """The task of a streamed run: draws ``start .. stop − 1``, block by block.

    ``start`` must be a multiple of :data:`~cxsim.outputs.streamed.BLOCK`, so blocks are the
    same windows of draws whatever the tasks; one set of arrays, one block long, is reused for
    every block (working memory O(block), whatever the number of draws).
    """
    keep_freed_memory()  # in a worker process too
    arrays = allocate(spec.scenario, min(BLOCK, stop - start))
    blocks = []
    for a in range(start, stop, BLOCK):
        b = min(a + BLOCK, stop)
        blocks.append(summarise_block(run_range(spec, a, b, arrays), a))
    return blocks


def concatenate(parts: list[SimulationResult]) -> SimulationResult:
    """One full result from results over consecutive ranges of draws (in draw order)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def join(get, axis: int = 0):
        return np.concatenate([get(part) for part in parts], axis=axis)

    market = None if first.market_size is None else join(lambda r: r.market_size)
    return SimulationResult(
        scenario=first.scenario,
        seed=first.seed,
        metrics={k: join(lambda r, k=k: r.metrics[k], axis=1) for k in first.metrics},
        leading_values=join(lambda r: r.leading_values),
        closure=join(lambda r: r.closure),
        perceived=join(lambda r: r.perceived),
        group_cost=join(lambda r: r.group_cost),
        maturity=join(lambda r: r.maturity),
        capability_cost=join(lambda r: r.capability_cost),
        shift_cost=join(lambda r: r.shift_cost),
        acquisition_factor=join(lambda r: r.acquisition_factor),
        lever_profit=join(lambda r: r.lever_profit),
        mechanisms={k: join(lambda r, k=k: r.mechanisms[k]) for k in first.mechanisms},
        v=join(lambda r: r.v),
        costs={k: join(lambda r, k=k: r.costs[k]) for k in first.costs},
        seg={k: join(lambda r, k=k: r.seg[k]) for k in first.seg},
        resp={k: join(lambda r, k=k: r.resp[k]) for k in first.resp},
        levers=first.levers,
        market_size=market,
    )


def full_range(spec: RunSpec, start: int, stop: int) -> SimulationResult:
    """Draws ``start .. stop − 1`` as a full result in arrays of their own."""
    return run_range(spec, start, stop, allocate(spec.scenario, stop - start))


def simulate_inputs(
    scenario: Scenario,
    values: Mapping[str, np.ndarray],
    *,
    groups_on: Collection[str] | None = None,
    levers: Collection[str] = LEVERS,
    seed: int = 0,
) -> SimulationResult:
    """Run the engine on explicit input arrays (one entry per draw), e.g. a tornado's runs.

    ``values`` maps every numeric input path (see ``Scenario.inputs()``) to an array of
    equal length; each position is one configuration.
    """
    groups_mask, capabilities_mask = masks(scenario, groups_on)
    spec = RunSpec(
        scenario=scenario,
        seed=seed,
        groups_on=groups_mask,
        capabilities_on=capabilities_mask,
        levers=tuple(levers),
    )
    params = build_params(scenario, dict(values))
    output = run(params, groups_on=groups_mask, capabilities_on=capabilities_mask, levers=levers)
    arrays = {
        **output.metrics,
        "leading": output.leading,
        "closure": output.closure,
        "perceived": output.perceived,
        "group_cost": output.group_cost,
        "maturity": output.maturity,
        "capability_cost": output.capability_cost,
        "shift_cost": output.shift_cost,
        "acquisition_factor": output.acquisition_factor,
        "lever_profit": output.lever_profit,
        **output.mechanisms,
    }
    return assemble(spec, arrays, [output], params.market_size)


#: Rows of explicit input values per task (the same slices with or without an executor).
SLICE_ROWS = 2048
_MONEY = ("npv", "pv_benefit", "pv_cost")


def outcome_of_inputs(scenario: Scenario, values: Mapping[str, np.ndarray], outcome: str):
    """One outcome for every row of explicit input values (one engine draw per row).

    The task of tornadoes, break-evens and Sobol' designs: top level, so a process pool can
    pickle it, and it returns one column. NPV and its parts take the engine's cash path
    (profit and cost only); other outcomes the full one.
    """
    if outcome in _MONEY:
        params = build_params(scenario, dict(values))
        cash = run_cash(params)
        assert cash.cost is not None  # run_cash computes the cost unless told not to
        money = npv(cash.profit[0] - cash.profit[1], cash.cost, params.v)
        return money[_MONEY.index(outcome)]
    return simulate_inputs(scenario, values).outcomes[outcome].to_numpy(dtype=float)


def outcomes_of_inputs(
    scenario: Scenario, values: Mapping[str, np.ndarray], outcome: str = "npv", executor=None
) -> np.ndarray:
    """:func:`outcome_of_inputs` of every row, in slices of :data:`SLICE_ROWS` rows run here
    or as tasks on ``executor`` (the same slices either way, so the same bits)."""
    from cxsim.montecarlo.executors import ordered

    rows = len(next(iter(values.values())))
    slices = (
        (scenario, {path: column[a : a + SLICE_ROWS] for path, column in values.items()}, outcome)
        for a in range(0, rows, SLICE_ROWS)
    )
    return np.concatenate(list(ordered(executor, outcome_of_inputs, slices)))


def names(what: str, names: Collection[str] | str) -> tuple[str, ...]:
    """A collection of names; one name given as a string is that one name, not its letters."""
    if isinstance(names, str):
        return (names,)
    try:
        return tuple(names)
    except TypeError:
        raise CxsimError(f"{what} must be names (got {names!r})") from None


def masks(scenario: Scenario, items_on: Collection[str] | str | None):
    """Boolean masks over work groups and capabilities for the funded items (None: all)."""
    if items_on is None:
        return None, None
    items_on = names("groups_on", items_on)
    groups = list(scenario.work_groups)
    capabilities = modelled_capabilities(scenario)
    unknown = set(items_on) - set(groups) - set(capabilities)
    if unknown:
        raise CxsimError(
            f"unknown work groups {sorted(unknown)}; known: {', '.join([*groups, *capabilities])}"
        )
    return (
        np.array([g in items_on for g in groups], dtype=bool),
        np.array([c in items_on for c in capabilities], dtype=bool),
    )
