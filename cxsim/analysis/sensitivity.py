"""What drives the business case: tornado, break-even and sweeps (docs/model.md §6).

- **Tornado**: every uncertain input moves from its p10 to its p90 while the others
  sit at their medians; the swing in NPV ranks what matters.
- **Break-even**: the value of one input at which *expected* NPV (the mean over draws,
  every other input still uncertain, common random numbers) is zero — or a clear
  statement that no such value exists in the input's range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from cxsim.errors import CxsimError
from cxsim.montecarlo import outcomes_of_inputs
from cxsim.montecarlo.memory import keep_freed_memory
from cxsim.outputs.summary import format_value
from cxsim.scenario import Scenario
from cxsim.scenario.allowed import bounds_of
from cxsim.scenario.units import describe
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.sampling import draw_inputs


def _point_values(scenario: Scenario, n: int) -> dict[str, np.ndarray]:
    """Every input at its median (a number stays itself), repeated n times."""
    values = {}
    for item in scenario.inputs():
        point = item.value.median() if isinstance(item.value, Distribution) else item.value
        values[item.path] = np.full(n, float(point))
    return values


def tornado(
    scenario: Scenario,
    *,
    low: float = 0.10,
    high: float = 0.90,
    metric: str = "npv",
    executor=None,
    swing: float | None = None,
    inputs: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Swing in NPV as each input moves between a low and a high value, the others held.

    By default every uncertain input moves from its ``low`` to its ``high`` quantile with
    the others at their medians. With ``swing`` (e.g. 0.1) every numeric input — fixed ones
    too: ARPU, margins, the discount rate, customer counts — moves ±``swing`` of its value
    (its median when uncertain), kept within the range the scenario format allows; an input
    at zero does not move and is left out. ``inputs`` limits either mode to chosen dotted
    paths. All runs (the base case and two per input) go through the engine as rows of
    batched calls, here or as tasks on ``executor`` (same numbers).

    Returns
    -------
    DataFrame sorted by ``swing`` (largest first) with columns ``input`` (the dotted path),
    ``label`` and ``unit`` (readable name and unit, :func:`cxsim.scenario.units.describe`),
    ``low``, ``high`` (the input's values), ``npv_low``, ``npv_high``, ``swing``
    (``|npv_high − npv_low|``) and ``base`` (NPV with every input at its median).
    ``attrs["notes"]`` says which values were clipped to their allowed range.

    Examples
    --------
    >>> flagship = cxsim.load_scenario("scenarios/retail_bank.yaml")  # doctest: +SKIP
    >>> table = tornado(flagship, swing=0.1)  # doctest: +SKIP
    """
    moves, notes = _moves(scenario, low, high, swing, inputs)
    runs = 1 + 2 * len(moves)
    values = _point_values(scenario, runs)
    rows = []
    for i, (path, lo, hi) in enumerate(moves):
        values[path][1 + 2 * i] = lo
        values[path][2 + 2 * i] = hi
        label, unit = describe(path)
        rows.append({"input": path, "label": label, "unit": unit, "low": lo, "high": hi})
    outcome = outcomes_of_inputs(scenario, values, metric, executor)
    table = pd.DataFrame(rows)
    table["npv_low"] = outcome[1::2]
    table["npv_high"] = outcome[2::2]
    table["swing"] = (table["npv_high"] - table["npv_low"]).abs()
    table["base"] = outcome[0]
    table = table.sort_values("swing", ascending=False, ignore_index=True)
    table.attrs["notes"] = notes
    if swing is None:
        table.attrs.update(low_label=f"p{low * 100:g}", high_label=f"p{high * 100:g}")
    else:
        table.attrs.update(low_label=f"−{swing:.0%}", high_label=f"+{swing:.0%}")
    return table


def _moves(
    scenario: Scenario,
    low: float,
    high: float,
    swing: float | None,
    chosen: Sequence[str] | None,
) -> tuple[list[tuple[str, float, float]], list[str]]:
    """(path, low value, high value) of every input the tornado moves, and notes."""
    every = {item.path: item for item in scenario.inputs()}
    for path in chosen or ():
        _known_input(every, path)
    if swing is None:
        if not 0 < low < high < 1:
            raise CxsimError(f"need 0 < low < high < 1 (got low {low}, high {high})")
        items = [i for i in scenario.uncertain_inputs() if chosen is None or i.path in chosen]
        if not items:
            raise CxsimError(
                "no uncertain inputs to move: give a distribution to the inputs you want to "
                "rank (e.g. {dist: pert, min: .., mode: .., max: ..}), or swing every input "
                "by a share of its value (tornado(..., swing=0.1); cxsim sensitivity --swing 0.1)"
            )
        return [(i.path, i.value.quantile(low), i.value.quantile(high)) for i in items], []
    if not (isinstance(swing, int | float) and 0 < swing < 1):
        raise CxsimError(
            f"swing must be a share between 0 and 1, e.g. 0.1 for ±10% (got {swing!r})"
        )
    moves, clipped = [], []
    for path, item in every.items():
        if chosen is not None and path not in chosen:
            continue
        point = item.value.median() if isinstance(item.value, Distribution) else float(item.value)
        if point == 0:
            continue
        lo_bound, hi_bound = bounds_of(path)
        lo, hi = sorted((point * (1 - swing), point * (1 + swing)))
        if lo_bound is not None and lo < lo_bound:
            lo = lo_bound
            clipped.append(path)
        if hi_bound is not None and hi > hi_bound:
            hi = hi_bound
            clipped.append(path)
        moves.append((path, lo, hi))
    if not moves:
        raise CxsimError("every chosen input is zero, so a relative swing moves nothing")
    notes = []
    if clipped:
        notes.append(
            "kept within their allowed range (e.g. a share at most 1): "
            + ", ".join(dict.fromkeys(clipped))
        )
    return moves, notes


@dataclass
class BreakEven:
    """Result of :func:`breakeven`: the value (or None) and the curve searched."""

    param: str
    value: float | None
    message: str
    curve: pd.DataFrame = field(repr=False)  # columns: value, expected_npv
    current: float | None = None

    def __str__(self) -> str:
        return self.message

    def plot(self, ax=None):
        """Expected NPV against the input's value, marking zero and the break-even."""
        from cxsim.outputs.plotting import axes_or_new, legend, money_axis

        ax = axes_or_new(ax)
        ax.plot(self.curve["value"], self.curve["expected_npv"], marker="o")
        ax.axhline(0, color="black", linewidth=0.8)
        if self.value is not None:
            ax.axvline(
                self.value, color="green", linestyle=":", label=f"break-even {self.value:.4g}"
            )
            legend(ax)
        money_axis(ax.yaxis)
        ax.set(xlabel=describe(self.param)[0], ylabel="Expected NPV", title="Break-even")
        return ax


def breakeven(
    scenario: Scenario,
    param: str,
    *,
    draws: int = 500,
    seed: int = 0,
    bounds: tuple[float, float] | None = None,
    grid: int = 9,
    xtol: float = 1e-6,
    executor=None,
) -> BreakEven:
    """The value of ``param`` at which expected NPV is zero.

    Expected NPV is the mean over ``draws`` draws of every other uncertain input, on
    the same random numbers for every trial value. The search covers ``bounds``, by
    default the range the scenario format allows when it is finite (0..1 for shares),
    else the input's distribution support, else from its lower bound to 10× its current
    value; a coarse grid finds a sign change, then Brent's method pins it down.

    The other inputs are sampled once; each trial only sets ``param``'s column, and the
    whole grid runs as rows of batched engine calls (here or on ``executor``). Every trial
    equals ``simulate(scenario, draws, seed, fixed={param: value})`` bit for bit.
    """
    item = _known_input({i.path: i for i in scenario.inputs()}, param)
    current = item.value.median() if isinstance(item.value, Distribution) else item.value
    lo, hi = bounds if bounds is not None else _search_range(param, item.value, current)
    if not lo < hi:
        raise CxsimError(f"{param}: empty search range [{lo:g}, {hi:g}]")

    keep_freed_memory()
    # Fixing the input takes it out of the sampling (and out of any correlation) whatever
    # its value, so the other inputs' draws are the same for every trial value.
    sampled = draw_inputs(scenario, seed, 0, draws, {param: float(current)})

    def expected_at(trials: np.ndarray) -> np.ndarray:
        """Expected NPV at each trial value: the trials as consecutive blocks of rows."""
        values = {path: np.tile(column, len(trials)) for path, column in sampled.items()}
        values[param] = np.repeat(trials, draws)
        npv = outcomes_of_inputs(scenario, values, "npv", executor)
        return npv.reshape(len(trials), draws).mean(axis=1)

    def expected(value: float) -> float:
        return float(expected_at(np.array([value]))[0])

    xs = np.linspace(lo, hi, grid)
    ys = expected_at(xs)
    points = dict(zip(xs.tolist(), ys.tolist(), strict=True))
    crossing = np.flatnonzero(np.sign(ys[:-1]) * np.sign(ys[1:]) <= 0)
    if crossing.size == 0:
        side = "positive" if ys.min() > 0 else "negative"
        message = (
            f"no break-even for {param} in [{lo:g}, {hi:g}]: expected NPV stays {side} "
            f"(from {format_value(ys.min(), 'money')} to {format_value(ys.max(), 'money')})"
        )
        value = None
    else:
        k = int(crossing[0])
        value = brentq(expected, xs[k], xs[k + 1], xtol=xtol) if ys[k] != 0 else float(xs[k])
        points[value] = 0.0
        message = (
            f"break-even {param} = {value:.6g} (current {current:.6g}); expected NPV is "
            f"{'positive' if ys[-1] > ys[0] else 'negative'} above it"
        )
        if crossing.size > 1:
            message += f"; expected NPV changes sign {crossing.size} times in the range"
    curve = pd.DataFrame(sorted(points.items()), columns=["value", "expected_npv"])
    return BreakEven(param, value, message, curve, current)


def _known_input(inputs: dict, path: str):
    """The input at ``path``, or an error naming inputs with the same last key."""
    if path not in inputs:
        close = [p for p in inputs if p.split(".")[-1] == path.split(".")[-1]][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise CxsimError(f"unknown input {path!r}{hint}; see docs/scenario-format.md")
    return inputs[path]


def _search_range(param: str, value, current: float) -> tuple[float, float]:
    """The whole allowed range when it is finite (a share: 0..1), else the distribution's
    support, else from the lower bound to 10× the current value."""
    lo, hi = bounds_of(param)
    if lo is not None and hi is not None:
        return lo, hi
    if isinstance(value, Distribution):
        s_lo, s_hi = value.support()
        if np.isfinite(s_lo) and np.isfinite(s_hi):
            return s_lo, s_hi
    lo = 0.0 if lo is None else lo
    hi = hi if hi is not None else max(10.0 * abs(current), 1.0)
    return lo, hi
