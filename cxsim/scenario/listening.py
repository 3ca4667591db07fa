"""The ``listening:`` block: a voice-of-the-customer programme that steers the work.

Its numbers are decisions, not uncertain inputs: waves every so many months, respondents per
wave, a report delay, what it costs and how much of the not-yet-delivered effort a wave may
move (docs/model.md §13, docs/scenario-format.md). The rules here are the ones no single key's
range can say: waves inside the horizon, respondents naming known segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from cxsim.scenario.problems import ProblemReport as Report

#: Share of the not-yet-delivered improvement effort a wave may move when none is given.
DEFAULT_REALLOCATION = 0.5

# At most ten million respondents a wave per segment: beyond that the sampling noise is nil.
Respondents = Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
Money = Annotated[float, Field(ge=0.0, le=1e15, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListeningCost(_Strict):
    """What listening costs: per respondent of a wave, and per month from month 0."""

    per_respondent: Money = 0.0
    monthly: Money = 0.0


class Listening(_Strict):
    """A VoC wave every ``waves_every_months`` from month 0, acted on after the report delay."""

    waves_every_months: Annotated[int, Field(ge=1, le=600, strict=True)]
    respondents_per_wave: Respondents | dict[str, Respondents]
    report_delay_months: Annotated[int, Field(ge=0, le=600, strict=True)] = 0
    cost: ListeningCost = Field(default_factory=ListeningCost)
    reallocation: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = (
        DEFAULT_REALLOCATION
    )


def check_listening(
    data: Mapping[str, Any], horizon: int | None, segments: Mapping[str, Any], report: Report
) -> None:
    """Waves and report delays inside the horizon; respondents by known segments only."""
    block = data.get("listening")
    if not isinstance(block, Mapping):
        return
    for key in ("waves_every_months", "report_delay_months"):
        value = block.get(key)
        if horizon is not None and isinstance(value, int) and not isinstance(value, bool):
            if value >= horizon if key == "report_delay_months" else value > horizon:
                report.add(
                    ("listening", key),
                    "longer than the horizon"
                    if key == "waves_every_months"
                    else "no wave's report arrives inside the horizon",
                    value,
                    f"at most {horizon if key == 'waves_every_months' else horizon - 1} "
                    "(horizon_months)",
                )
    respondents = block.get("respondents_per_wave")
    if isinstance(respondents, Mapping):
        for name in respondents:
            if name not in segments:
                report.add(
                    ("listening", "respondents_per_wave", name),
                    "unknown segment",
                    name,
                    ", ".join(map(str, segments)) or "a segment of the scenario",
                )
