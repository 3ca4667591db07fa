"""The Monte Carlo driver: draws of a scenario through the engine, kept as the user needs.

Draw ``i`` depends only on the seed and ``i`` (:mod:`cxsim.uncertainty.streams`), so a run
gives identical numbers however it is chunked or spread over workers, and its first ``n``
draws equal an ``n``-draw run. :func:`simulate` chooses what to keep (``keep="all"``: every
draw's monthly arrays; ``"summary"``: per-draw outcomes and streamed monthly statistics),
runs until a target precision when asked (``target_error``) and hands its tasks to any
``concurrent.futures.Executor`` (:mod:`cxsim.montecarlo.executors`); the tasks themselves are
in :mod:`cxsim.montecarlo.tasks`.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from cxsim.errors import CxsimError
from cxsim.model.responses import LEVERS
from cxsim.montecarlo.executors import check_executor, ordered, workers_of
from cxsim.montecarlo.finite import check_finite
from cxsim.montecarlo.footprint import check_max_memory, check_memory, estimate_peak, fits
from cxsim.montecarlo.memory import keep_freed_memory
from cxsim.montecarlo.progress import ProgressBar
from cxsim.montecarlo.tasks import (
    RunSpec,
    allocate,
    bytes_per_draw,
    concatenate,
    default_chunk,
    full_range,
    masks,
    names,
    outcome_of_inputs,
    outcomes_of_inputs,
    run_range,
    simulate_inputs,
    summarise_range,
)
from cxsim.outputs.mc_error import relative_precision
from cxsim.outputs.result import SimulationResult
from cxsim.outputs.streamed import BLOCK, SummaryResult
from cxsim.outputs.views import BaseResult
from cxsim.scenario import Scenario, load_scenario
from cxsim.uncertainty.sampling import draw_inputs, new_seed
from cxsim.uncertainty.streams import check_seed

__all__ = [
    "KEEPS",
    "default_chunk",
    "outcome_of_inputs",
    "outcomes_of_inputs",
    "simulate",
    "simulate_inputs",
]

KEEPS = ("auto", "all", "summary")
#: keep="auto" keeps every draw's monthly arrays up to this size, summaries beyond it.
AUTO_ALL_BYTES = 256 * 2**20
#: Most draws a run with a target error may take when ``draws`` is not given.
TARGET_CAP = 1_000_000
#: Most blocks of draws per task handed to an executor (8,192 draws amortise a task's overhead
#: many times over); fewer when that would leave workers idle (see ``_task_blocks``).
TASK_BLOCKS = 8
# A run with a target error first checks its precision after this many blocks, then after
# every 25% more: a check sorts every NPV so far, so it is not done after every block; the
# stopping point still depends only on the seed.
_FIRST_CHECK, _CHECK_GROWTH = 2, 1.25
# The money a full result checks for non-finite draws before it is handed out.
_PARTS = ("npv", "pv_benefit", "pv_cost")


def simulate(
    scenario: Scenario | str | Mapping,
    draws: int | None = None,
    seed: int | None = None,
    *,
    keep: str = "auto",
    target_error: float | None = None,
    executor: Any = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    fixed: Mapping[str, float] | None = None,
    groups_on: Collection[str] | str | None = None,
    levers: Collection[str] | str = LEVERS,
    max_memory: int | None = None,
) -> BaseResult:
    """Simulate a scenario: programme and no-programme baseline on paired draws.

    Parameters
    ----------
    scenario : Scenario, path or mapping
        A loaded scenario, or anything :func:`cxsim.load_scenario` accepts.
    draws : int, optional
        Monte Carlo draws (default 1, a point estimate when no input is uncertain). With
        ``target_error`` it is the most draws the run may take (default 1,000,000).
    seed : int, optional
        Fixes the random numbers; ``None`` picks one (recorded in ``result.seed``).
    keep : {"auto", "all", "summary"}
        ``"all"`` keeps every draw's monthly arrays (``result.metric()``, ``frame``,
        ``cash_flow``); ``"summary"`` keeps the per-draw outcomes and yearly cash flow and
        streams the monthly statistics (mean, sd, p5/p50/p95: ``quantiles()``, ``band()``,
        the plots) in memory that does not grow with the draws' months; ``"auto"`` keeps all
        while the arrays fit in 256 MB (about 7,000 draws of the flagship) and summaries
        beyond, saying so in ``result.notes``.
    target_error : float, optional
        Add draws, 1,024 at a time, until the Monte Carlo standard error of the mean NPV, of
        its p5 and of its p95 are each at most ``target_error`` times the NPV's p5–p95 width
        (e.g. 0.01); ``result.notes`` says how many draws it took. The same seed stops at the
        same draw.
    executor : concurrent.futures.Executor, optional
        Runs the draws as tasks of 1,024 to 8,192 draws, about four per worker (a
        ``ProcessPoolExecutor``, or a Dask client's ``get_executor()``); workers return
        summaries, never arrays, so it needs ``keep="summary"`` (which ``"auto"`` then
        picks). Results equal a serial run's.
    chunk_size : int, optional
        Draws per engine call; results do not depend on it.
    progress : bool, optional
        Show a progress bar; by default only for long runs on a terminal or notebook.
    fixed : mapping, optional
        Inputs pinned to a number in every draw, by dotted path.
    groups_on : collection of str, optional
        Work groups and capabilities funded by the programme (the others are left out: no
        progress beyond today's maturity, no cost); default all.
    levers : collection of str
        Money levers that respond: ``retention``, ``share_of_wallet``, ``referrals``,
        ``cost_to_serve`` and ``acquisition`` (branding's lift of paid acquisitions); default
        all. One name may be given as a string.
    max_memory : int, optional
        Bytes the run may take. Before allocating anything, the run's peak memory is
        estimated (:mod:`cxsim.montecarlo.footprint`) and the run is refused when the estimate
        exceeds ``max_memory`` or the memory available (``MemAvailable``, a container's
        ``memory.max``), with the estimate and the way out (``keep="summary"``, fewer draws).

    Returns
    -------
    SimulationResult or SummaryResult
        Both offer the business case (``summary()``, ``mc_error()``, ``outcomes``), the
        bands and the tables of :class:`~cxsim.outputs.views.BaseResult`.

    Raises
    ------
    CxsimError
        For draws, seeds or a target error that are not valid, an unknown ``keep``, levers,
        work groups or inputs, a fixed value that is not a finite number, an executor with
        ``keep="all"``, or a run whose estimated memory would not fit.

    Examples
    --------
    >>> import cxsim
    >>> result = cxsim.simulate("scenarios/retail_bank.yaml", draws=200, seed=1)
    >>> result.draws, result.horizon, result.keep
    (200, 60, 'all')
    >>> float(result.outcomes["npv"].mean()) > 0
    True
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    keep_freed_memory()
    seed = _check_seed(seed)
    levers = names("levers", levers)
    unknown_levers = set(levers) - set(LEVERS)
    if unknown_levers:
        raise CxsimError(f"unknown levers {sorted(unknown_levers)}; known: {', '.join(LEVERS)}")
    groups_mask, capabilities_mask = masks(scenario, groups_on)
    chunk = 0 if chunk_size is None else _whole("chunk_size", chunk_size, 1)
    target = _check_target(target_error)
    draws = _whole("draws", draws, 1) if draws is not None else (TARGET_CAP if target else 1)
    executor = check_executor(executor)
    limit = check_max_memory(max_memory)
    asked = keep
    keep, notes = _choose_keep(scenario, keep, draws, target, executor)
    if scenario.listening is not None:  # the loop needs the plan and the oracle beside it
        notes.append(
            "listening: this run is the plan as written, without listening's cost; "
            "cxsim.value_of_listening (cxsim listening FILE) runs the loop"
        )
    footprint = estimate_peak(scenario, draws, keep, chunk, executor)
    if asked == "auto" and keep == "all" and not fits(footprint, limit):
        keep, footprint = "summary", estimate_peak(scenario, draws, "summary", chunk, executor)
        notes.append(
            "kept summaries only, as every draw's monthly arrays would not fit in memory: "
            "outcomes per draw, monthly means and bands"
        )
    check_memory(footprint, draws, keep, limit)
    spec = RunSpec(
        scenario=scenario,
        seed=seed,
        fixed=_check_fixed(scenario, fixed),
        groups_on=groups_mask,
        capabilities_on=capabilities_mask,
        levers=tuple(levers),
        chunk=chunk,
    )
    bar = ProgressBar(draws, progress)
    try:
        if keep == "all" and target is None:
            arrays = allocate(scenario, draws)
            result: BaseResult = run_range(spec, 0, draws, arrays, on_chunk=bar.update)
        else:
            result, more = _run_blocks(spec, draws, keep, target, executor, bar)
            notes += more
    finally:
        bar.close()
    # A summary run has every outcome at hand; a full one checks the money alone, as working
    # out every outcome (the IRR's search) would cost what its caller may never ask for.
    if isinstance(result, SummaryResult):
        columns = {name: result.outcomes[name].to_numpy() for name in result.outcomes.columns}
    else:
        assert isinstance(result, SimulationResult)
        columns = dict(zip(_PARTS, result.npv_parts, strict=True))
    check_finite(
        scenario,
        columns,
        lambda draw: draw_inputs(scenario, spec.seed, draw, draw + 1, spec.fixed),
    )
    result.notes[:0] = notes
    return result


def _run_blocks(
    spec: RunSpec, draws: int, keep: str, target: float | None, executor, bar: ProgressBar
) -> tuple[BaseResult, list[str]]:
    """Draws block by block (tasks of several blocks on an executor), stopping at the target."""
    step = BLOCK * (_task_blocks(draws, executor) if executor is not None else 1)
    task = summarise_range if keep == "summary" else full_range
    tasks = ((spec, a, min(a + step, draws)) for a in range(0, draws, step))
    kept: list = []
    npv: list[np.ndarray] = []
    check = _FIRST_CHECK
    reached = None
    for output in ordered(executor, task, tasks):
        for block in output if keep == "summary" else [output]:
            kept.append(block)
            npv.append(block.outcomes["npv"] if keep == "summary" else block.npv)
            bar.update(block.draws)
            if target is not None and len(kept) >= check:
                precision = relative_precision(np.concatenate(npv))
                if precision <= target:
                    reached = precision
                    break
                check = max(check + 1, math.ceil(check * _CHECK_GROWTH))
        if reached is not None:
            break
    if keep == "summary":
        result: BaseResult = SummaryResult(spec.scenario, spec.seed, spec.levers, kept)
    else:
        result = concatenate(kept)
    notes = []
    if target is not None:
        done = result.draws
        if reached is not None:
            notes.append(
                f"target error {target:g} reached after {done:,} draws: the Monte Carlo error of "
                f"the mean, p5 and p95 NPV is at most {reached:.2%} of the NPV's p5–p95 width"
            )
        else:
            precision = relative_precision(result.npv)
            notes.append(
                f"target error {target:g} not reached within {done:,} draws (the most allowed): "
                f"the Monte Carlo error is {precision:.2%} of the NPV's p5–p95 width"
            )
    return result, notes


def _task_blocks(draws: int, executor) -> int:
    """Blocks per task: about four tasks per worker (so none idles while others finish), at
    least one block (a task of 1,024 draws takes ~0.1 s, against ~5 ms of Dask overhead) and at
    most :data:`TASK_BLOCKS`."""
    blocks = math.ceil(draws / BLOCK)
    return min(TASK_BLOCKS, max(1, math.ceil(blocks / (4 * workers_of(executor)))))


def _choose_keep(
    scenario: Scenario, keep: str, draws: int, target: float | None, executor
) -> tuple[str, list[str]]:
    if keep not in KEEPS:
        hint = difflib.get_close_matches(str(keep), KEEPS, n=1)
        raise CxsimError(
            f"keep must be one of {', '.join(KEEPS)} (got {keep!r})"
            + (f"; did you mean {hint[0]!r}?" if hint else "")
        )
    if keep == "all" and executor is not None:
        raise CxsimError(
            "keep='all' keeps every draw's monthly arrays in this process, so it cannot run on "
            "an executor (workers return summaries): use keep='summary'"
        )
    if keep != "auto":
        return keep, []
    size = bytes_per_draw(scenario) * draws
    if executor is None and target is None and size <= AUTO_ALL_BYTES:
        return "all", []
    if executor is not None:
        why = "the draws run on an executor, whose workers return summaries"
    elif target is not None:
        why = "the number of draws is not known in advance (a target error)"
    else:
        why = f"{draws:,} draws would need {size / 2**30:.1f} GB of monthly arrays"
    return "summary", [
        f"kept summaries only, as {why}: outcomes per draw, monthly means and bands; "
        "keep='all' (cxsim run --keep all) keeps every draw's monthly values"
    ]


def _check_seed(seed: Any) -> int:
    """A fresh seed when none is given, else the seed rules of every run (:func:`check_seed`)."""
    return new_seed() if seed is None else check_seed(seed)


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise CxsimError(f"{name} must be a whole number ≥ {low} (got {value!r})")
    return int(value)


def _check_target(target: Any) -> float | None:
    if target is None:
        return None
    ok = isinstance(target, numbers.Real) and not isinstance(target, bool)
    if not ok or not math.isfinite(target) or not 0 < target < 1:
        raise CxsimError(
            f"target_error must be a number between 0 and 1, a share of the NPV's p5–p95 "
            f"width, e.g. 0.01 (got {target!r})"
        )
    return float(target)


def _check_fixed(scenario: Scenario, fixed: Mapping[str, float] | None) -> dict[str, float]:
    """Inputs pinned to a value: known paths and finite numbers, every problem at once."""
    if not fixed:
        return {}
    known = {i.path for i in scenario.inputs()}
    problems: list[str] = []
    out: dict[str, float] = {}
    for path, value in fixed.items():
        if path not in known:
            hint = difflib.get_close_matches(str(path), known, n=1)
            problems.append(
                f"fixed: unknown input {path!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        number = value if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            problems.append(f"fixed: {path} must be a finite number (got {value!r})")
            continue
        out[path] = float(number)
    if problems:
        raise CxsimError("\n".join(problems))
    return out
