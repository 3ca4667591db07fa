"""Monte Carlo driver: draws in chunks, programme and baseline on the same draws.

Draw ``i`` depends only on the seed and ``i`` (see :mod:`cxsim.uncertainty.sampling`), so a run
gives identical numbers however it is chunked, and its first ``n`` draws equal an
``n``-draw run. Chunks bound the working memory of the engine.
"""

from __future__ import annotations

import difflib
import math
import numbers
import sys
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from cxsim.errors import CxsimError
from cxsim.model.engine import STORED_METRICS, ChunkOutput, run
from cxsim.model.operating_model import modelled_capabilities
from cxsim.model.params import build_params
from cxsim.model.responses import LEVERS
from cxsim.outputs.result import SimulationResult
from cxsim.scenario import Scenario, load_scenario
from cxsim.uncertainty.sampling import draw_inputs, new_seed

# Cells of (arm, class, draw) customer state per chunk: small enough that the monthly
# loop works in cache, large enough that numpy's per-call overhead is amortised
# (measured with benchmarks/bench_engine.py).
CHUNK_CELLS = 50_000


def default_chunk(scenario: Scenario) -> int:
    """Draws per chunk: the engine's (arm, class, draw) state should stay in cache."""
    classes = sum(scenario.latent_classes if s.sbg else 1 for s in scenario.segments.values())
    return max(64, CHUNK_CELLS // (2 * classes))


def simulate(
    scenario: Scenario | str | Mapping,
    draws: int = 1,
    seed: int | None = None,
    *,
    chunk_size: int | None = None,
    progress: bool | None = None,
    fixed: Mapping[str, float] | None = None,
    groups_on: Collection[str] | str | None = None,
    levers: Collection[str] | str = LEVERS,
) -> SimulationResult:
    """Simulate a scenario: programme and no-programme baseline on paired draws.

    Parameters
    ----------
    scenario : Scenario, path or mapping
        A loaded scenario, or anything :func:`cxsim.load_scenario` accepts.
    draws : int
        Monte Carlo draws (1 for a point estimate when no input is uncertain).
    seed : int, optional
        Fixes the random numbers; ``None`` picks one (recorded in ``result.seed``).
    chunk_size : int, optional
        Draws per chunk; results do not depend on it.
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

    Returns
    -------
    SimulationResult

    Raises
    ------
    CxsimError
        For draws or a seed that are not whole numbers, unknown levers, work groups or inputs,
        or a fixed value that is not a finite number.

    Examples
    --------
    >>> import cxsim
    >>> result = cxsim.simulate("scenarios/retail_bank.yaml", draws=200, seed=1)
    >>> result.draws, result.horizon
    (200, 60)
    >>> float(result.outcomes["npv"].mean()) > 0
    True
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise CxsimError(f"draws must be a whole number ≥ 1 (got {draws!r})")
    if seed is None:
        seed = new_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise CxsimError(f"seed must be a whole number ≥ 0 (got {seed!r})")
    levers = _names("levers", levers)
    unknown_levers = set(levers) - set(LEVERS)
    if unknown_levers:
        raise CxsimError(f"unknown levers {sorted(unknown_levers)}; known: {', '.join(LEVERS)}")
    mask, cap_mask = _masks(scenario, groups_on)
    fixed = _check_fixed(scenario, fixed)

    chunk = int(chunk_size or default_chunk(scenario))
    if chunk < 1:
        raise CxsimError(f"chunk_size must be ≥ 1 (got {chunk_size!r})")
    bounds = [(a, min(a + chunk, draws)) for a in range(0, draws, chunk)]
    # The full result is allocated once and every chunk writes its slice in place.
    segments, groups, months = (
        len(scenario.segments),
        len(scenario.work_groups),
        scenario.horizon_months,
    )
    stored = {name: np.empty((2, draws, segments, months)) for name in STORED_METRICS}
    caps = len(modelled_capabilities(scenario))
    series = {
        "leading": np.empty((draws, groups, months)),
        "maturity": np.empty((draws, caps, months)),
        "capability_cost": np.empty((draws, caps, months)),
        "acquisition_factor": np.empty((draws, months)),
        "execution_capacity": np.empty((draws, months)),
        "targeting_quality": np.empty((draws, months)),
        "promise": np.empty((draws, months)),
        "closure": np.empty((draws, segments, months)),
        "perceived": np.empty((draws, segments, months)),
        "group_cost": np.empty((draws, groups, months)),
    }
    outputs: list[ChunkOutput] = []
    bar = _ProgressBar(len(bounds), draws, progress)
    market = []
    for start, stop in bounds:
        values = draw_inputs(scenario, int(seed), start, stop, fixed)
        params = build_params(scenario, values)
        views = {name: array[:, start:stop] for name, array in stored.items()}
        views.update({name: array[start:stop] for name, array in series.items()})
        outputs.append(
            run(params, groups_on=mask, capabilities_on=cap_mask, levers=levers, out=views)
        )
        if params.market_size is not None:
            market.append(params.market_size)
        bar.update(stop - start)
    bar.close()
    return _assemble(
        scenario,
        int(seed),
        stored,
        series,
        outputs,
        np.concatenate(market) if market else None,
        levers,
    )


def _names(what: str, names: Collection[str] | str) -> tuple[str, ...]:
    """A collection of names; one name given as a string is that one name, not its letters."""
    if isinstance(names, str):
        return (names,)
    try:
        return tuple(names)
    except TypeError:
        raise CxsimError(f"{what} must be names (got {names!r})") from None


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


def _masks(scenario: Scenario, items_on: Collection[str] | str | None):
    """Boolean masks over work groups and capabilities for the funded items (None: all)."""
    if items_on is None:
        return None, None
    items_on = _names("groups_on", items_on)
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


def _assemble(
    scenario: Scenario,
    seed: int,
    metrics: dict[str, np.ndarray],
    series: dict[str, np.ndarray],
    outputs: list[ChunkOutput],
    market: np.ndarray | None,
    levers: Collection[str],
) -> SimulationResult:
    def join(get, axis=0):
        parts = [get(o) for o in outputs]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)

    return SimulationResult(
        scenario=scenario,
        seed=seed,
        metrics=metrics,
        leading_values=series["leading"],
        closure=series["closure"],
        perceived=series["perceived"],
        group_cost=series["group_cost"],
        maturity=series["maturity"],
        capability_cost=series["capability_cost"],
        acquisition_factor=series["acquisition_factor"],
        mechanisms={k: series[k] for k in ("execution_capacity", "targeting_quality", "promise")},
        v=join(lambda o: o.v),
        seg={k: join(lambda o, k=k: o.seg[k]) for k in outputs[0].seg},
        resp={k: join(lambda o, k=k: o.resp[k]) for k in outputs[0].resp},
        levers=tuple(levers),
        market_size=market,
    )


class _ProgressBar:
    """tqdm over draws, shown for runs longer than about two seconds when someone is watching."""

    def __init__(self, chunks: int, draws: int, show: bool | None):
        self.show = show
        self.draws = draws
        self.started = time.perf_counter()
        self.bar: Any = None
        self.done = 0
        self.chunks = chunks

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is None and self._wanted():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.draws, unit="draw", desc="simulating", leave=False)
            self.bar.update(self.done - n)
        if self.bar is not None:
            self.bar.update(n)

    def _wanted(self) -> bool:
        if self.show is not None:
            return self.show and self.chunks > 1
        if self.done >= self.draws:
            return False
        elapsed = time.perf_counter() - self.started
        expected = elapsed * self.draws / max(self.done, 1)
        return expected > 2.0 and _attended()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _attended() -> bool:
    """True on an interactive terminal or inside a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


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
    mask, cap_mask = _masks(scenario, groups_on)
    params = build_params(scenario, dict(values))
    output = run(params, groups_on=mask, capabilities_on=cap_mask, levers=levers)
    return _assemble(
        scenario,
        seed,
        output.metrics,
        {
            "leading": output.leading,
            "closure": output.closure,
            "perceived": output.perceived,
            "group_cost": output.group_cost,
            "maturity": output.maturity,
            "capability_cost": output.capability_cost,
            "acquisition_factor": output.acquisition_factor,
            **output.mechanisms,
        },
        [output],
        params.market_size,
        levers,
    )
