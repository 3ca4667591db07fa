"""Cross-field rules of a scenario: what no single key's range can say (docs/model.md §1–3, §8).

They run on the merged mapping, tolerant of values the schema rejects, so every problem is
reported in one pass: one retention model per segment, promoters + detractors ≤ 1,
customers ≤ market_size, pain shares naming known segments and summing to at most 1, months
inside the horizon, known and acyclic prerequisites, journeys, synergies, capabilities and the
maturity assessment.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cxsim.scenario.listening import check_listening
from cxsim.scenario.schema import ASSESSMENT_DIMENSIONS, as_written, to_value, value_range
from cxsim.scenario.shifts import check_shifts

if TYPE_CHECKING:
    from cxsim.scenario.problems import ProblemReport as Report


def _uncertain_range(raw: Any) -> tuple[float, float] | None:
    """Range of a raw scalar if it is a valid number or distribution, else None."""
    try:
        return value_range(to_value(raw))
    except Exception:  # noqa: BLE001 - invalid values are reported by the schema pass
        return None


def _check_terminal_value(data: Mapping[str, Any], horizon: int | None, report: Report) -> None:
    """A perpetuity needs growth below the discount rate and a year of cash to grow from."""
    terminal = data.get("terminal_value")
    if not isinstance(terminal, Mapping):
        return
    growth = terminal.get("growth", 0.0)
    if not isinstance(growth, int | float) or isinstance(growth, bool):
        return  # the schema pass reports it
    if terminal.get("method") == "clv" and growth != 0:
        report.add(
            ("terminal_value", "growth"),
            "growth applies to the perpetuity method only",
            growth,
            "method: perpetuity with a growth rate, or method: clv without one",
        )
    if terminal.get("method") != "perpetuity":
        return
    rate = _uncertain_range(data.get("discount_rate"))
    if rate and growth >= rate[0]:
        report.add(
            ("terminal_value", "growth"),
            "must be below the discount rate, or the perpetuity has no finite value",
            growth,
            f"an annual rate below {as_written(rate[0])}",
        )
    if horizon is not None and horizon < 12:
        report.add(
            ("terminal_value", "method"),
            "a perpetuity grows the last year's cash flow: the horizon is shorter than a year",
            horizon,
            "horizon_months of at least 12, or method: clv",
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (the schema pass reports the type)."""
    return value if isinstance(value, Mapping) else {}


def cross_check(data: Mapping[str, Any], report: Report) -> None:
    """Rules that span several fields; tolerant of values the schema pass rejects."""
    horizon = data.get("horizon_months")
    horizon = horizon if isinstance(horizon, int) and not isinstance(horizon, bool) else None
    segments: Mapping[str, Any] = _mapping(data.get("segments"))
    groups: Mapping[str, Any] = _mapping(data.get("work_groups"))
    check_listening(data, horizon, segments, report)

    for name, seg in segments.items():
        if not isinstance(seg, Mapping):
            continue
        # An explicit null is no retention model (the engine would find no churn to draw).
        has_churn, has_sbg = (seg.get(key) is not None for key in ("monthly_churn", "sbg"))
        if has_churn == has_sbg:
            report.add(
                ("segments", name, "monthly_churn"),
                "give exactly one retention model" if has_churn else "retention model missing",
                has_got=False,
                allowed="either monthly_churn: θ or sbg: {alpha, beta, period}",
            )
        pro, det = _uncertain_range(seg.get("promoters")), _uncertain_range(seg.get("detractors"))
        if pro and det and pro[1] + det[1] > 1 + 1e-12:
            report.add(
                ("segments", name, "detractors"),
                "promoters + detractors exceed 1",
                pro[1] + det[1],
                "promoters + detractors ≤ 1",
            )
        customers = _uncertain_range(seg.get("customers"))
        market = _uncertain_range(seg.get("market_size"))
        if customers and market and customers[1] > market[0]:
            report.add(
                ("segments", name, "customers"),
                "more customers than the market holds (market_size)",
                as_written(customers[1]),
                f"at most {as_written(market[0])}, the smallest market_size",
            )
        if "tenure_months" in seg and "base_age_months" in seg:
            report.add(
                ("segments", name, "tenure_months"),
                "give tenure_months or base_age_months, not both",
                has_got=False,
                allowed="one starting-mix rule per segment",
            )

    pain_total: dict[str, float] = {}
    for gname, group in groups.items():
        if not isinstance(group, Mapping):
            continue
        _add_pain(("work_groups", gname), group.get("pain_share"), segments, pain_total, report)
        _check_start(("work_groups", gname), group.get("plan"), horizon, report)
        _check_group_names(
            ("work_groups", gname, "requires"),
            group.get("requires", []),
            groups,
            report,
            owner=gname,
        )
    _check_operating_model(data, segments, groups, horizon, pain_total, report)
    check_shifts(data, report)
    _check_terminal_value(data, horizon, report)
    for seg_name, total in pain_total.items():
        if total > 1 + 1e-9:
            report.add(
                ("work_groups",),
                f"pain shares of segment {seg_name!r} sum to more than 1",
                round(total, 6),
                "Σ over work groups and journeys ≤ 1 per segment",
            )

    cycle = _find_cycle(
        {
            g: [r for r in v.get("requires") or [] if isinstance(r, str) and r in groups and r != g]
            for g, v in groups.items()
            if isinstance(v, Mapping) and isinstance(v.get("requires", []), list)
        }
    )
    if cycle:
        report.add(
            ("work_groups", cycle[0], "requires"),
            "requirement cycle",
            " -> ".join(cycle),
            "requirements that form no loop",
        )

    responses = data.get("responses")
    if groups and responses is None:
        report.add(
            ("responses",),
            "required when work_groups are given",
            has_got=False,
            allowed="a responses block (docs/scenario-format.md)",
        )
    if horizon is not None:
        blocks = [(("responses",), responses)] + [
            (("segments", n, "responses"), s.get("responses"))
            for n, s in segments.items()
            if isinstance(s, Mapping)
        ]
        for path, block in blocks:
            if isinstance(block, Mapping):
                delay = _uncertain_range(block.get("perception_delay_months"))
                if delay and delay[1] > horizon - 1:
                    report.add(
                        (*path, "perception_delay_months"),
                        "longer than the horizon",
                        as_written(delay[1]),
                        f"0 to {horizon - 1}",
                    )


def _check_group_names(
    path: tuple, names: Any, groups: Mapping, report: Report, owner: str | None = None
) -> None:
    """A list of work-group names: each known, listed once, and not the group that lists it."""
    if not isinstance(names, list):
        return
    for index, name in enumerate(names):
        if name in names[:index]:
            report.add((*path, index), "listed twice", name, "each work group once")
        elif owner is not None and name == owner:
            report.add(
                (*path, index), "a work group cannot require itself", name, "another work group"
            )
        elif isinstance(name, str) and name not in groups:
            hint = difflib.get_close_matches(name, list(groups), n=1)
            report.add(
                (*path, index),
                "unknown work group" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                name,
                ", ".join(groups) or "no work groups are defined",
            )


def _check_start(path: tuple, plan: Any, horizon: int | None, report: Report) -> None:
    """A plan's start month (its largest possible value) lies inside the horizon."""
    if not isinstance(plan, Mapping) or horizon is None:
        return
    start = _uncertain_range(plan.get("start_month"))
    if start and start[1] > horizon - 1:
        report.add(
            (*path, "plan", "start_month"),
            "starts after the horizon",
            as_written(start[1]),
            f"0 to {horizon - 1}",
        )


def _add_pain(path: tuple, pain: Any, segments: Mapping, pain_total: dict, report) -> None:
    """Check a pain_share mapping's segment names and add its largest values to the totals."""
    if not isinstance(pain, Mapping):
        return
    for seg_name, share in pain.items():
        if seg_name not in segments:
            hint = difflib.get_close_matches(str(seg_name), list(segments), n=1)
            report.add(
                (*path, "pain_share", seg_name),
                "unknown segment" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                seg_name,
                ", ".join(segments),
            )
        elif rng := _uncertain_range(share):
            pain_total[seg_name] = pain_total.get(seg_name, 0.0) + rng[1]


def _check_operating_model(data, segments, groups, horizon, pain_total, report) -> None:
    """Journeys, synergies, capabilities and the maturity assessment (docs/model.md §3, §8)."""

    journeys = data.get("journeys")
    if isinstance(journeys, Mapping):
        for name, journey in journeys.items():
            if not isinstance(journey, Mapping):
                continue
            _check_group_names(("journeys", name, "groups"), journey.get("groups"), groups, report)
            _add_pain(("journeys", name), journey.get("pain_share"), segments, pain_total, report)
    synergies = data.get("synergies")
    if isinstance(synergies, list):
        for index, synergy in enumerate(synergies):
            if isinstance(synergy, Mapping):
                _check_group_names(
                    ("synergies", index, "groups"), synergy.get("groups"), groups, report
                )

    assessment = data.get("maturity_assessment")
    if isinstance(assessment, Mapping):
        missing = [d for d in ASSESSMENT_DIMENSIONS if d not in assessment]
        if missing:
            report.add(
                ("maturity_assessment",),
                "every dimension needs a score",
                f"{len(assessment)} of 15",
                "also score " + ", ".join(missing),
            )
    capabilities = data.get("capabilities")
    if isinstance(capabilities, Mapping):
        for name, capability in capabilities.items():
            if not isinstance(capability, Mapping):
                continue
            if capability.get("level") is None and not isinstance(assessment, Mapping):
                report.add(
                    ("capabilities", name, "level"),
                    "required unless a maturity_assessment is given",
                    has_got=False,
                    allowed="maturity today, 0..1",
                )
            _check_start(("capabilities", name), capability.get("plan"), horizon, report)


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def topological_order(groups: Mapping[str, Any]) -> list[str]:
    """Work groups ordered so every group comes after the groups it requires."""
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        for other in groups[name].requires:
            visit(other)
        done.add(name)
        order.append(name)

    for name in groups:
        visit(name)
    return order
