"""Plans side by side on common random numbers.

Every plan runs with the same seed, so an input that two plans share (same dotted
path) takes the same value in the same draw: differences between plans come from
what differs between them, not from sampling noise. The probability that one plan
beats another is then the share of draws in which its NPV is higher.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.montecarlo import simulate
from cxsim.outputs.summary import CENSORED, SUMMARY_ROWS, format_value
from cxsim.outputs.views import ALL, BaseResult
from cxsim.scenario import Scenario

#: The printed comparison fits a terminal this many characters wide.
WIDTH = 100

COMPARED = (
    "npv",
    "roi",
    "irr",
    "payback_months",
    "pv_benefit",
    "pv_cost",
    "nps_change",
    "retention_12m_change",
    "clv_change",
    "customers_change",
)


@dataclass
class Comparison:
    """Several plans' outcomes, their differences from the first plan, and P(beats)."""

    names: list[str]
    results: list[BaseResult]
    table: pd.DataFrame  # rows: outcome; columns: plan means, then differences
    beats: pd.DataFrame  # P(plan NPV > reference NPV) per plan, and P(NPV > 0)
    mechanisms: pd.DataFrame | None = None  # operating-model mechanisms per plan
    # (row, column) cells that are lower bounds: a payback mean when some draws have not paid
    # back within the horizon (they count at the horizon, docs/what-if.md).
    lower_bounds: set[tuple[str, str]] = field(default_factory=set)

    def to_text(self, width: int = WIDTH) -> str:
        """The comparison as text no wider than ``width`` characters.

        Plans are columns headed by their names (wrapped onto up to four lines, cut short
        with "…" beyond, and then also listed in full); when more plans are compared than
        fit side by side, a block continues below itself.
        """
        means = self.table.iloc[:, : len(self.names)]  # then the differences from the first
        blocks = [
            ("Means over draws", self.names, self._formatted(means)),
            (
                f"Difference from {self.names[0]} (mean over the same draws)",
                self.names[1:],
                self._formatted(self.table.iloc[:, len(self.names) :]),
            ),
        ]
        if self.mechanisms is not None:
            rows = {
                str(key): [f"{value:.3f}" for value in row]
                for key, row in self.mechanisms[self.names].iterrows()
            }
            blocks.append(("Operating-model mechanisms (means over draws)", self.names, rows))
        chances = self.beats.T
        horizon = self.results[0].horizon
        rows = {
            "P(NPV > 0)": [f"{p:.1%}" for p in chances.loc["p_npv_positive"]],
            f"P(payback within {horizon} months)": [
                f"{p:.1%}" for p in chances.loc["p_payback_in_horizon"]
            ],
            "P(beats the first plan)": [
                "" if np.isnan(p) else f"{p:.1%}" for p in chances.loc["p_beats_reference"]
            ],
        }
        blocks.append(("Chances over the same draws", self.names, rows))
        grid = _Grid.fit(self.names, [rows for _, _, rows in blocks], width)
        lines = textwrap.wrap(
            "Plans compared on common random numbers "
            f"({self.results[0].draws} draws, seed {self.results[0].seed})",
            width,
        )
        if grid.shortened:
            lines.append("Plans in full (their headings below are shortened):")
            for name in self.names:
                lines += textwrap.wrap(name, width, initial_indent="  ", subsequent_indent="    ")
        for title, heads, rows in blocks:
            lines += ["", *textwrap.wrap(title, width)]
            lines += grid.render(heads, rows)
        return "\n".join(lines)

    def _formatted(self, table: pd.DataFrame) -> dict[str, list[str]]:
        def cell(key: str, column: str, value) -> str:
            text = format_value(value, self._unit(key))
            return f"≥ {text}" if (key, column) in self.lower_bounds else text

        return {
            str(key): [cell(str(key), str(c), value) for c, value in row.items()]
            for key, row in table.iterrows()
        }

    __str__ = to_text

    def _unit(self, label: str) -> str:
        for name, unit in SUMMARY_ROWS.values():
            if name == label:
                return unit
        return "money"

    def _repr_html_(self) -> str:
        parts = [self.table.to_html(float_format=lambda x: f"{x:,.4g}"), self.beats.to_html()]
        if self.mechanisms is not None:
            parts.append(self.mechanisms.to_html(float_format=lambda x: f"{x:.3f}"))
        return "".join(parts)


def compare(
    scenarios: Sequence[Scenario],
    *,
    names: Sequence[str] | None = None,
    draws: int = 1000,
    seed: int = 0,
    keep: str = "auto",
    executor=None,
) -> Comparison:
    """Simulate plans on common random numbers and tabulate them against the first.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The plans; the first is the reference. A variant of a plan is
        ``scenario.with_overrides({PATH: VALUE, ...}, source=NAME)``: the same scenario with
        those values changed and validated (errors name ``source``), as
        ``cxsim compare FILE --variant NAME PATH=VALUE`` builds it.
    names : sequence of str, optional
        Column labels, one per plan, all different (default: each scenario's name, repeats
        numbered).
    draws, seed : int
        Monte Carlo draws and the shared seed.
    keep, executor
        As for :func:`cxsim.simulate`, for every plan: what each result keeps, and where
        its chunks of draws run (same numbers either way).

    Examples
    --------
    >>> import cxsim
    >>> plan = cxsim.load_scenario("tests/scenarios/minimal.yaml")
    >>> faster = plan.with_overrides({"work_groups.support.plan.ramp_months": 3}, source="Faster")
    >>> result = cxsim.compare([plan, faster], names=["Plan", "Faster"], draws=20, seed=1)
    >>> bool(result.table.loc["NPV", "Faster − Plan"] > 0)
    True
    """
    if len(scenarios) < 2:
        raise CxsimError("compare needs at least two plans")
    if names is not None and (len(names) != len(scenarios) or len(set(names)) < len(names)):
        raise CxsimError(
            f"names: expected {len(scenarios)} different names, one per plan (got {list(names)})"
        )
    horizons = {s.horizon_months for s in scenarios}
    if len(horizons) > 1:
        raise CxsimError(f"plans must share one horizon to be compared (got {sorted(horizons)})")
    names = list(names) if names is not None else unique_names([s.name for s in scenarios])
    results = [
        simulate(s, draws=draws, seed=seed, progress=False, keep=keep, executor=executor)
        for s in scenarios
    ]
    horizon, reference = results[0].horizon, results[0].outcomes
    # A draw that has not paid back within the horizon counts at the horizon: the mean is then
    # a lower bound (marked), and a difference of two bounds means nothing (n/a).
    outcomes = [_bounded(r.outcomes[list(COMPARED)], horizon) for r in results]
    censorable = set(CENSORED) & set(COMPARED)
    bounded = [censorable & set(r.outcomes.columns[r.outcomes.isna().any()]) for r in results]
    lower_bounds = set()
    columns = {}
    for name, values, censored in zip(names, outcomes, bounded, strict=True):
        columns[name] = values.mean()
        lower_bounds |= {(SUMMARY_ROWS[k][0], name) for k in censored}
    for name, values, censored in zip(names[1:], outcomes[1:], bounded[1:], strict=True):
        diff = (values - outcomes[0]).mean()
        diff[list(censored | bounded[0])] = np.nan
        columns[f"{name} − {names[0]}"] = diff
    table = pd.DataFrame(columns)
    table.index = [SUMMARY_ROWS[k][0] for k in table.index]
    beats = pd.DataFrame(
        {
            "p_npv_positive": [float((r.outcomes["npv"] > 0).mean()) for r in results],
            "p_payback_in_horizon": [
                float(r.outcomes["payback_months"].notna().mean()) for r in results
            ],
            "p_beats_reference": [np.nan]
            + [
                float((r.outcomes["npv"].to_numpy() > reference["npv"].to_numpy()).mean())
                for r in results[1:]
            ],
        },
        index=names,
    )
    mechanisms = None
    if any(r.capabilities for r in results):
        mechanisms = pd.DataFrame(
            {name: _mechanisms(r) for name, r in zip(names, results, strict=True)}
        )
    return Comparison(names, results, table, beats, mechanisms, lower_bounds)


def _bounded(outcomes: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Outcomes with paybacks beyond the horizon counted at the horizon."""
    out = outcomes.copy()
    for key in CENSORED:
        if key in out:
            out[key] = out[key].fillna(float(horizon))
    return out


def _mechanisms(result: BaseResult) -> dict[str, float]:
    """The operating model's mechanisms, from monthly means over draws (so a streamed
    summary shows them too)."""

    def mean(key: tuple) -> np.ndarray:
        return result.band(key).mean

    gap = mean(("promise_gap", ALL))
    return {
        "targeting quality, first year": mean(("mechanism", "targeting_quality"))[:12].mean(),
        "targeting quality, whole horizon": mean(("mechanism", "targeting_quality")).mean(),
        "execution capacity, first year": mean(("mechanism", "execution_capacity"))[:12].mean(),
        "promise gap, first two years": gap[:24].mean(),
        "promise gap, peak month": gap.max(),
        "acquisition lift, whole horizon": (mean(("acquisition_factor",)) - 1.0).mean(),
    }


@dataclass(frozen=True)
class _Grid:
    """One column layout for every block of the printed comparison, so columns line up."""

    label: int  # width of the row labels
    cell: int  # width of a column, its heading wrapped two short of it
    per_line: int  # columns side by side
    headings: dict[str, list[str]]

    @classmethod
    def fit(cls, names: list[str], blocks: list[dict[str, list[str]]], width: int) -> _Grid:
        label = max(len(key) for rows in blocks for key in rows) + 1
        widest = max(len(value) for rows in blocks for row in rows.values() for value in row)
        # Columns as wide as the room allows (long names need fewer heading lines), but no
        # narrower than the widest figure and no wider than reads well.
        cell = max(widest + 2, min(_MAX_CELL, max(_MIN_CELL, (width - label) // len(names))))
        per_line = max(1, (width - label) // cell)
        return cls(label, cell, per_line, {name: _heading(name, cell - 2) for name in names})

    @property
    def shortened(self) -> bool:
        return any(lines[-1].endswith("…") for lines in self.headings.values())

    def render(self, heads: list[str], rows: dict[str, list[str]]) -> list[str]:
        lines: list[str] = []
        for start in range(0, len(heads), self.per_line):
            block = range(start, min(start + self.per_line, len(heads)))
            if start:
                lines.append("")
            tops = [self.headings[heads[i]] for i in block]
            for depth in range(max(len(top) for top in tops)):
                cells = [top[depth] if depth < len(top) else "" for top in tops]
                lines.append(" " * self.label + "".join(c.rjust(self.cell) for c in cells))
            for key, values in rows.items():
                cells = [values[i] for i in block]
                lines.append(key.ljust(self.label) + "".join(c.rjust(self.cell) for c in cells))
        return lines


_MIN_CELL, _MAX_CELL = 14, 22


def _heading(name: str, width: int, depth: int = 4) -> list[str]:
    """``name`` on at most ``depth`` lines of ``width``, the last cut short with "…"."""
    lines = textwrap.wrap(name, width) or [""]
    if len(lines) > depth:
        rest = " ".join(lines[depth - 1 :])
        lines = [*lines[: depth - 1], rest[: width - 1] + "…"]
    return lines


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique by numbering repeats: a, a -> a, a (2)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
