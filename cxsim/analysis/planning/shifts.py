"""Acquisition shifts as decisions of the optimiser, beside work groups and capabilities.

A shift (``acquisition_shifts:``, docs/model.md §5) is an on/off item: taken as written,
with its cost, or not at all. It has no target to scale and no start to delay: moving half
of a segment's campaigns is a different shift, which a scenario states as its own entry.
Switched off it moves nothing and costs nothing (the engine's ``shifts_on``).
"""

from __future__ import annotations

from cxsim.analysis.planning.space import Item, Option, expected_value
from cxsim.scenario import Scenario
from cxsim.scenario.shifts import shift_names

#: The ``kind`` of a shift item in plans and tables.
KIND = "acquisition_shift"


def shift_items(scenario: Scenario) -> list[Item]:
    """One item per acquisition shift, in the scenario's order, with its single option."""
    shifts = list(scenario.acquisition_shifts)
    return [
        Item(
            name,
            KIND,
            (),
            [
                Option(
                    fraction=1.0,
                    shift=0.0,
                    overrides=(),
                    target=expected_value(shift.share),
                    start=expected_value(shift.start_month),
                )
            ],
            position=m,
        )
        for m, (name, shift) in enumerate(zip(shift_names(shifts), shifts, strict=True))
    ]


def drop_unchosen(data: dict, chosen: set[str], renamed: dict[str, str]) -> None:
    """Remove the shifts not chosen from a scenario mapping, recording in ``renamed`` how
    the kept shifts' input paths move (``acquisition_shifts.2.`` → ``acquisition_shifts.0.``)."""
    shifts = data.get("acquisition_shifts") or []
    names = [n for n in shift_names(_as_models(shifts))]
    kept = []
    for index, (name, shift) in enumerate(zip(names, shifts, strict=True)):
        if name in chosen:
            renamed[f"acquisition_shifts.{index}."] = f"acquisition_shifts.{len(kept)}."
            kept.append(shift)
    if kept:
        data["acquisition_shifts"] = kept
    else:
        data.pop("acquisition_shifts", None)


def _as_models(raw: list[dict]) -> list:
    from cxsim.scenario.shifts import AcquisitionShift

    return [AcquisitionShift.model_validate(entry) for entry in raw]
