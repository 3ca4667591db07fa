"""Plans side by side on common random numbers.

Every plan runs with the same seed, so an input that two plans share (same dotted
path) takes the same value in the same draw: differences between plans come from
what differs between them, not from sampling noise. The probability that one plan
beats another is then the share of draws in which its NPV is higher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.montecarlo import simulate
from cxsim.outputs.summary import SUMMARY_ROWS, format_value
from cxsim.outputs.views import ALL, BaseResult
from cxsim.scenario import Scenario

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

    def to_text(self) -> str:
        lines = [
            "Plans compared on common random numbers "
            f"({self.results[0].draws} draws, seed {self.results[0].seed})"
        ]
        width = max(len(str(i)) for i in self.table.index) + 2
        cols = list(self.table.columns)
        colw = max(16, *(len(c) + 2 for c in cols))
        lines.append("".ljust(width) + "".join(c.rjust(colw) for c in cols))
        for key, row in self.table.iterrows():
            unit = self._unit(key)
            lines.append(
                str(key).ljust(width)
                + "".join(format_value(row[c], unit).rjust(colw) for c in cols)
            )
        if self.mechanisms is not None:
            lines.append("")
            lines.append("Operating-model mechanisms (means over draws)")
            lines.append("".ljust(width) + "".join(n.rjust(colw) for n in self.names))
            for key, row in self.mechanisms.iterrows():
                lines.append(
                    str(key).ljust(width) + "".join(f"{row[n]:.3f}".rjust(colw) for n in self.names)
                )
        lines.append("")
        for name, row in self.beats.iterrows():
            lines.append(
                f"  {name}: P(NPV > 0) = {row['p_npv_positive']:.1%}"
                + (
                    ""
                    if np.isnan(row["p_beats_reference"])
                    else f"; P(beats {self.names[0]}) = {row['p_beats_reference']:.1%}"
                )
            )
        return "\n".join(lines)

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
        The plans; the first is the reference.
    names : sequence of str, optional
        Column labels (default: each scenario's name, made unique).
    draws, seed : int
        Monte Carlo draws and the shared seed.
    keep, executor
        As for :func:`cxsim.simulate`, for every plan: what each result keeps, and where
        its chunks of draws run (same numbers either way).
    """
    if len(scenarios) < 2:
        raise CxsimError("compare needs at least two plans")
    horizons = {s.horizon_months for s in scenarios}
    if len(horizons) > 1:
        raise CxsimError(f"plans must share one horizon to be compared (got {sorted(horizons)})")
    names = list(names) if names else _unique([s.name for s in scenarios])
    results = [
        simulate(s, draws=draws, seed=seed, progress=False, keep=keep, executor=executor)
        for s in scenarios
    ]
    reference = results[0].outcomes
    columns = {}
    for name, result in zip(names, results, strict=True):
        columns[name] = result.outcomes[list(COMPARED)].mean()
    for name, result in zip(names[1:], results[1:], strict=True):
        diff = result.outcomes[list(COMPARED)] - reference[list(COMPARED)]
        columns[f"{name} − {names[0]}"] = diff.mean()
    table = pd.DataFrame(columns)
    table.index = [SUMMARY_ROWS[k][0] for k in table.index]
    beats = pd.DataFrame(
        {
            "p_npv_positive": [float((r.outcomes["npv"] > 0).mean()) for r in results],
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
    return Comparison(names, results, table, beats, mechanisms)


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


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
