"""``acquisition_shifts:``: moving paid acquisitions from one segment to another.

The seeds start CX with "identifying your true core-growth customers": a segment that costs
more to serve than it earns (a *false ideal customer*) is one the business should stop
buying. A shift moves ``share`` of segment ``from``'s paid acquisitions to segment ``to``
in the programme arm, ramping in linearly from ``start_month`` over ``ramp_months``; its
``cost`` is a programme cost like a work group's (docs/model.md §5, docs/scenario-format.md).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field

from cxsim.scenario.schema import (
    Cost,
    Months,
    ScenarioModel,
    Share,
    Strict,
    as_written,
    to_value,
    value_range,
)


class AcquisitionShift(Strict):
    """One move of paid acquisitions, programme arm only (docs/model.md §5)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str = Field(alias="from")
    to: str
    share: Share
    start_month: Months = 0.0
    ramp_months: Months = 0.0
    cost: Cost = Field(default_factory=Cost)

    @property
    def name(self) -> str:
        """The shift's label in cost tables and the optimiser: ``from->to``."""
        return f"{self.source}->{self.to}"


# ScenarioModel names this model only for type checkers (the schema cannot import the module
# that builds on it); its field is completed here, when the scenario package is imported.
ScenarioModel.model_rebuild(_types_namespace={"AcquisitionShift": AcquisitionShift})


def shift_names(shifts: list[AcquisitionShift]) -> list[str]:
    """Labels of the shifts, numbered where two move between the same segments."""
    names = [shift.name for shift in shifts]
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def check_shifts(data: Mapping[str, Any], report: Any) -> None:
    """Cross-field rules: known, distinct segments; a start inside the horizon; at most all of
    a segment's paid acquisitions moved away (the largest shares of its shifts add to ≤ 1)."""
    shifts = data.get("acquisition_shifts")
    if not isinstance(shifts, list):
        return
    segments = data.get("segments")
    names = list(segments) if isinstance(segments, Mapping) else []
    horizon = data.get("horizon_months")
    moved: dict[str, float] = {}
    for index, shift in enumerate(shifts):
        if not isinstance(shift, Mapping):
            continue
        path = ("acquisition_shifts", index)
        for key in ("from", "to"):
            name = shift.get(key)
            if isinstance(name, str) and names and name not in names:
                hint = difflib.get_close_matches(name, names, n=1)
                report.add(
                    (*path, key),
                    "unknown segment" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                    name,
                    ", ".join(names),
                )
        if shift.get("from") is not None and shift.get("from") == shift.get("to"):
            report.add(
                (*path, "to"),
                "a shift cannot move acquisitions from a segment to itself",
                shift.get("to"),
                "another segment",
            )
        start = _range(shift.get("start_month"))
        if start and isinstance(horizon, int) and start[1] > horizon - 1:
            report.add(
                (*path, "start_month"),
                "starts after the horizon",
                as_written(start[1]),
                f"0 to {horizon - 1}",
            )
        share = _range(shift.get("share"))
        if share and isinstance(shift.get("from"), str) and 0.0 <= share[1] <= 1.0:
            total = moved.get(shift["from"], 0.0) + share[1]
            moved[shift["from"]] = total
            if total > 1.0 + 1e-12:
                report.add(
                    (*path, "share"),
                    f"the shifts from {shift['from']!r} move more than all its acquisitions",
                    as_written(total),
                    "shares from one segment adding to at most 1",
                )


def _range(raw: Any) -> tuple[float, float] | None:
    try:
        return value_range(to_value(raw))
    except Exception:  # noqa: BLE001 - invalid values are reported by the schema pass
        return None
