"""What drives the business case: tornado, break-even and sweeps (docs/model.md §6).

- **Tornado**: every uncertain input moves from its p10 to its p90 while the others
  sit at their medians; the swing in NPV ranks what matters.
- **Break-even**: the value of one input at which *expected* NPV (the mean over draws,
  every other input still uncertain, common random numbers) is zero — or a clear
  statement that no such value exists in the input's range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from cxsim.errors import CxsimError
from cxsim.montecarlo import outcomes_of_inputs
from cxsim.montecarlo.memory import keep_freed_memory
from cxsim.outputs.summary import format_value
from cxsim.scenario import Scenario
from cxsim.scenario.schema import bounds_of
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
) -> pd.DataFrame:
    """Swing in NPV as each uncertain input moves from its ``low`` to its ``high`` quantile.

    All runs (the base case and two per input) go through the engine as rows of batched
    calls, one configuration per row, here or as tasks on ``executor`` (same numbers).

    Returns
    -------
    DataFrame sorted by ``swing`` (largest first) with columns ``input``, ``low``,
    ``high`` (the input's values), ``npv_low``, ``npv_high``, ``swing`` (``|npv_high −
    npv_low|``) and ``base`` (NPV with every input at its median).

    Examples
    --------
    >>> table = tornado(cxsim.load_scenario("scenarios/retail_bank.yaml"))  # doctest: +SKIP
    """
    inputs = scenario.uncertain_inputs()
    if not inputs:
        raise CxsimError(
            "the scenario has no uncertain inputs; give a distribution to the inputs you "
            "want to rank (e.g. {dist: pert, min: .., mode: .., max: ..})"
        )
    runs = 1 + 2 * len(inputs)
    values = _point_values(scenario, runs)
    rows = []
    for i, item in enumerate(inputs):
        lo, hi = item.value.quantile(low), item.value.quantile(high)
        values[item.path][1 + 2 * i] = lo
        values[item.path][2 + 2 * i] = hi
        rows.append({"input": item.path, "low": lo, "high": hi})
    outcome = outcomes_of_inputs(scenario, values, metric, executor)
    table = pd.DataFrame(rows)
    table["npv_low"] = outcome[1::2]
    table["npv_high"] = outcome[2::2]
    table["swing"] = (table["npv_high"] - table["npv_low"]).abs()
    table["base"] = outcome[0]
    return table.sort_values("swing", ascending=False, ignore_index=True)


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
        from cxsim.outputs.plotting import axes_or_new, legend

        ax = axes_or_new(ax)
        ax.plot(self.curve["value"], self.curve["expected_npv"], marker="o")
        ax.axhline(0, color="black", linewidth=0.8)
        if self.value is not None:
            ax.axvline(
                self.value, color="green", linestyle=":", label=f"break-even {self.value:.4g}"
            )
            legend(ax)
        ax.set(xlabel=self.param, ylabel="Expected NPV", title="Break-even")
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
    paths = {i.path: i for i in scenario.inputs()}
    if param not in paths:
        close = [p for p in paths if p.split(".")[-1] == param.split(".")[-1]][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise CxsimError(f"unknown input {param!r}{hint}; see docs/scenario-format.md")
    item = paths[param]
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
