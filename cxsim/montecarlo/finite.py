"""Outcomes that must be numbers: a draw whose NPV, or another outcome that always exists, is
not finite fails the run, naming the draw and its inputs.

ROI, IRR and the paybacks may be undefined in a draw (no cost, no change of sign, not paid
back within the horizon) and say so; the NPV, its parts and the horizon changes always exist,
so NaN or ±inf there means the model could not represent the draw (an input at the edge of
the float range, say), and printing "n/a" would present it as a result.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cxsim.errors import CxsimError
from cxsim.scenario import Scenario

#: Outcome columns defined in every draw, in the order they are checked.
ALWAYS_DEFINED = (
    "npv",
    "pv_benefit",
    "pv_cost",
    "spend",
    "npv_with_terminal",
    "terminal_value",
    "nps_change",
    "retention_12m_change",
    "clv_change",
    "customers_change",
)
# Inputs listed in the message; the rest are counted.
_SHOWN = 12


def first_non_finite(columns: Mapping[str, np.ndarray]) -> tuple[int, str, float] | None:
    """The first draw (lowest index) with a non-finite outcome: (draw, outcome, value)."""
    found = None
    for name in ALWAYS_DEFINED:
        if name not in columns:
            continue
        values = np.asarray(columns[name], dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad) and (found is None or bad[0] < found[0]):
            found = (int(bad[0]), name, float(values[bad[0]]))
    return found


def describe_inputs(scenario: Scenario, values: Mapping[str, np.ndarray], row: int) -> str:
    """The drawn inputs of one row (uncertain ones, or every input when none is)."""
    uncertain = [item.path for item in scenario.uncertain_inputs()]
    paths = [p for p in (uncertain or [item.path for item in scenario.inputs()]) if p in values]
    shown = [f"{path}={float(values[path][row]):.6g}" for path in paths[:_SHOWN]]
    more = len(paths) - len(shown)
    kind = "drawn inputs" if uncertain else "inputs (none is uncertain)"
    return f"its {kind}: " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_finite(
    scenario: Scenario,
    columns: Mapping[str, np.ndarray],
    inputs_of,
    first: int = 0,
) -> None:
    """Raise a CxsimError for the first draw whose always-defined outcomes are not finite.

    ``columns`` hold outcomes of draws ``first, first + 1, ...``; ``inputs_of(draw)`` gives
    the input values of one draw (a mapping of one-row arrays), worked out only on failure.
    """
    found = first_non_finite(columns)
    if found is None:
        return
    row, name, value = found
    draw = first + row
    raise CxsimError(
        f"draw {draw:,} gave {name} = {value} instead of a number, so the run has no result: "
        f"{describe_inputs(scenario, inputs_of(draw), 0)}; check these inputs for values at "
        "the edge of what a float can hold"
    )
