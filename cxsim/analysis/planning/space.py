"""The decision space of the optimiser: items, their funding options, rescaled inputs.

Every work group and every capability with a ``plan`` is an *item*, either not funded or
funded at a fraction ``f`` of its planned target with its start moved ``s`` months later.
Funding at ``f`` scales the target and the costs by ``f`` (cost proportional to ambition);
an uncertain input is rescaled through its distribution's parameters (:func:`affine`), so
every draw of the rescaled input is exactly ``f`` times the same draw of the original.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cxsim.errors import CxsimError
from cxsim.scenario import Scenario, topological_order
from cxsim.scenario.schema import CAPABILITIES, as_written
from cxsim.uncertainty.distributions import Distribution

# ---------------------------------------------------------------- rescaled inputs


def affine(value: float | Distribution, scale: float, shift: float = 0.0) -> Any:
    """``shift + scale · value`` for an uncertain scalar, as a number or distribution mapping.

    A distribution keeps its kind: its location parameters are moved and its spread is
    scaled, so each draw of the result is ``shift + scale ×`` the same draw of ``value``
    (draws come from the same uniforms: a stream depends on the input's path only).

    >>> affine(Distribution("pert", {"min": 1, "mode": 2, "max": 4}), 0.5)
    {'dist': 'pert', 'max': 2.0, 'min': 0.5, 'mode': 1.0}
    """
    if not isinstance(value, Distribution):
        return as_written(shift + scale * float(value))
    p = value.p
    if value.dist in ("pert", "triangular", "uniform"):
        new = {k: shift + scale * v for k, v in p.items()}
    elif value.dist == "normal":
        new = {"mean": shift + scale * p["mean"], "sd": scale * p["sd"]}
        new.update({k: shift + scale * p[k] for k in ("min", "max") if k in p})
    elif value.dist == "lognormal":
        if shift:
            raise CxsimError("a lognormal input cannot be shifted; give it a pert or normal")
        new = {"mean": scale * p["mean"], "sd": scale * p["sd"]}
    else:  # beta on [min, max]
        new = {
            "alpha": p["alpha"],
            "beta": p["beta"],
            "min": shift + scale * p.get("min", 0.0),
            "max": shift + scale * p.get("max", 1.0),
        }
    return {"dist": value.dist, **new}


def scaled(value: float | Distribution, f: float) -> Any:
    """``f · value`` (a number or a distribution mapping of the same kind)."""
    return affine(value, f)


def shifted(value: float | Distribution, months: float, horizon: int) -> tuple[Any, float]:
    """A start month moved ``months`` later, clipped so it stays within the horizon.

    Returns the new value and the shift applied: for an uncertain start the whole range
    must end by month ``horizon − 1``, so the shift is clipped by its largest value.
    """
    high = value.support()[1] if isinstance(value, Distribution) else float(value)
    applied = max(0.0, min(float(months), horizon - 1 - high))
    return affine(value, 1.0, applied), applied


def expected_value(value: float | Distribution) -> float:
    return value.mean() if isinstance(value, Distribution) else float(value)


def is_zero(value: float | Distribution) -> bool:
    return not isinstance(value, Distribution) and float(value) == 0.0


# ---------------------------------------------------------------- decision space


@dataclass(frozen=True)
class Option:
    """One way to fund an item: target fraction, start shift, and the inputs it rewrites."""

    fraction: float
    shift: float  # months actually moved (after clipping to the horizon)
    overrides: tuple[tuple[str, Any], ...]
    target: float  # expected target after scaling
    start: float  # expected start month after the shift
    # The same change as edits of the sampled inputs: (field, scale, shift) of this item.
    edits: tuple[tuple[str, float, float], ...] = ()


@dataclass
class Item:
    name: str
    kind: str  # "work_group" or "capability"
    requires: tuple[int, ...]  # indices of items it requires
    options: list[Option]
    spend: list[float] = field(default_factory=list)  # expected spend per option
    position: int = 0  # index among the scenario's work groups (or modelled capabilities)

    @property
    def engine_kind(self) -> str:
        return {"work_group": "group", "capability": "capability"}.get(self.kind, "shift")

    @property
    def enabler(self) -> int:
        """The option a dependent's move funds this item at: cheapest without delay."""
        earliest = min(o.shift for o in self.options)
        return min(
            (k for k, o in enumerate(self.options) if o.shift == earliest),
            key=lambda k: self.spend[k],
        )


def item_options(
    prefix: str, plan, cost, fractions, shifts, horizon: int, level: float = 0.0
) -> list[Option]:
    """The distinct funded options of one item (duplicates after clipping dropped)."""
    seen: dict[str, Option] = {}
    start_field = "plan_start" if prefix.startswith("work_groups.") else "start"
    for f in fractions:
        for s in shifts:
            overrides: dict[str, Any] = {}
            edits: list[tuple[str, float, float]] = []
            if f != 1.0:
                edits += [
                    ("target", f, (1 - f) * level),
                    ("cost_one_time", f, 0.0),
                    ("cost_monthly", f, 0.0),
                ]
                # level + f·(target − level) = f·target + (1 − f)·level
                overrides[f"{prefix}.plan.target"] = affine(plan.target, f, (1 - f) * level)
                for key in ("one_time", "monthly"):
                    value = getattr(cost, key)
                    if not is_zero(value):
                        overrides[f"{prefix}.cost.{key}"] = scaled(value, f)
            start, applied = shifted(plan.start_month, s, horizon)
            if applied:
                overrides[f"{prefix}.plan.start_month"] = start
                edits.append((start_field, 1.0, applied))
            key = json.dumps(overrides, sort_keys=True)
            if key not in seen:
                seen[key] = Option(
                    fraction=float(f),
                    shift=applied,
                    overrides=tuple(overrides.items()),
                    target=level + f * (expected_value(plan.target) - level),
                    start=expected_value(plan.start_month) + applied,
                    edits=tuple(edits),
                )
    # Largest fraction, earliest start first: option 0 is the item's own plan on the default grid.
    return sorted(seen.values(), key=lambda o: (-o.fraction, o.shift))


def planned_capabilities(scenario: Scenario) -> list[str]:
    """The capabilities that are decisions: those with a ``plan``, in the engine's order.

    A capability without a plan stays at today's level whatever is funded; its cost buys
    nothing, so plans and group values leave it out.
    """
    capabilities = scenario.model.capabilities
    return [c for c in CAPABILITIES if c in capabilities and capabilities[c].plan is not None]


def decision_items(scenario: Scenario, fractions, shifts) -> list[Item]:
    """Work groups (prerequisites first), the capabilities that have a plan, then the
    acquisition shifts (on or off, :mod:`~cxsim.analysis.planning.shifts`)."""
    from cxsim.model.operating_model import assessment_levels, modelled_capabilities

    horizon = scenario.horizon_months
    items: list[Item] = []
    index: dict[str, int] = {}
    groups = list(scenario.work_groups)
    for name in topological_order(scenario.work_groups):
        group = scenario.work_groups[name]
        index[name] = len(items)
        items.append(
            Item(
                name,
                "work_group",
                tuple(index[r] for r in group.requires),
                item_options(
                    f"work_groups.{name}", group.plan, group.cost, fractions, shifts, horizon
                ),
                position=groups.index(name),
            )
        )
    modelled = modelled_capabilities(scenario)
    scores = scenario.model.maturity_assessment
    assessed = assessment_levels(scores) if scores else {}
    for name in planned_capabilities(scenario):
        capability = scenario.model.capabilities[name]
        level = capability.level if capability.level is not None else assessed.get(name, 0.0)
        # level + f·(target − level) is a sum of two uncertain inputs when today's level is
        # uncertain, which no single distribution writes exactly: such a capability is
        # funded at its full target or not at all.
        own = (1.0,) if isinstance(level, Distribution) else fractions
        items.append(
            Item(
                name,
                "capability",
                (),
                item_options(
                    f"capabilities.{name}",
                    capability.plan,
                    capability.cost,
                    own,
                    shifts,
                    horizon,
                    expected_value(level),
                ),
                position=modelled.index(name),
            )
        )
    from cxsim.analysis.planning.shifts import shift_items  # after the capabilities

    return items + shift_items(scenario)


Plan = tuple  # one entry per item: an option index, or None when the item is not funded


def describe_plan(items: list[Item], plan: Plan, base: Plan | None = None) -> str:
    """``"it 50%, digital 100% +6m"``: the funded items and their options.

    With ``base``, only what differs from it, an item ``base`` funds and ``plan`` does not
    as ``"branch out"``.
    """
    parts = []
    for i, (item, k) in enumerate(zip(items, plan, strict=True)):
        if base is not None and base[i] == k:
            continue
        if k is None:
            if base is not None:
                parts.append(f"{item.name} out")
            continue
        option = item.options[k]
        text = f"{item.name} {option.fraction:.0%}"
        if option.shift:
            text += f" +{option.shift:g}m"
        parts.append(text)
    if base is not None:
        return ", ".join(parts) or "(the same)"
    return ", ".join(parts) or "(nothing funded)"
