"""Scenario files → a validated, frozen :class:`Scenario`.

The pipeline is visible: read YAML (``yaml.safe_load`` semantics, duplicate keys
rejected) → merge ``include:`` files (later keys win, each value remembers its file)
→ validate against :mod:`cxsim.schema` and the cross-field rules below → ``Scenario``.
Every problem is collected and reported at once as
``FILE: dotted.field.path: message (got X; allowed Y)``.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cxsim.distributions import Distribution
from cxsim.errors import Problem, ScenarioError
from cxsim.schema import (
    RESPONSE_KEYS,
    ScenarioModel,
    Segment,
    _to_value,
    as_written,
    value_range,
)

INLINE = "<mapping>"


# --------------------------------------------------------------------------- reading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice in one mapping (YAML would keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first given on line {seen[key].start_mark.line + 1})",
                mark,
            )
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, shown: str | None = None) -> Any:
    """Parse one YAML file; syntax errors become a ScenarioError with line and column."""
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(Problem(shown, "", "file not found", has_got=False)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(Problem(shown, "", f"cannot read file: {exc}", has_got=False)) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        what = exc.problem or str(exc)
        if exc.context:
            what = f"{exc.context}: {what}"
        raise ScenarioError(
            Problem(shown, "", f"YAML syntax error at {where}: {what}", has_got=False)
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(Problem(shown, "", f"YAML error: {exc}", has_got=False)) from None


@dataclass
class _Merged:
    data: dict[str, Any]
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)


def _record_origins(value: Any, prefix: tuple[str, ...], source: str, origins: dict) -> None:
    origins[prefix] = source
    if isinstance(value, Mapping) and not (prefix and "dist" in value):
        for key, item in value.items():
            _record_origins(item, (*prefix, str(key)), source, origins)


_ALTERNATIVES = {
    "monthly_churn": "sbg",
    "sbg": "monthly_churn",
    "tenure_months": "base_age_months",
    "base_age_months": "tenure_months",
}


def _deep_merge(
    base: dict, top: Mapping, prefix: tuple[str, ...], source: str, origins: dict
) -> None:
    """Merge ``top`` into ``base``: mappings merge key by key, anything else is replaced."""
    for key, value in top.items():
        path = (*prefix, str(key))
        rival = _ALTERNATIVES.get(key) if len(prefix) == 2 and prefix[0] == "segments" else None
        if rival in base and rival not in top:
            # Setting one retention model (or starting-mix rule) replaces the other.
            del base[rival]
            for old in [p for p in origins if p[: len(path)] == (*prefix, rival)]:
                del origins[old]
        if (
            path == ("correlations",)
            and isinstance(value, list)
            and isinstance(base.get(key), list)
        ):
            # Correlations accumulate across files; a pair given again takes the newer rho.
            base[key] = _merge_pairs(base[key], value)
            _record_origins(value, path, source, origins)
            continue
        if (
            isinstance(value, Mapping)
            and "dist" not in value
            and isinstance(base.get(key), Mapping)
            and "dist" not in base[key]
        ):
            _deep_merge(base[key], value, path, source, origins)
        else:
            for old in [p for p in origins if p[: len(path)] == path]:
                del origins[old]
            base[key] = copy.deepcopy(value)
            _record_origins(value, path, source, origins)


def _merge_pairs(old: list, new: list) -> list:
    """Union of two correlation lists keyed by the (unordered) pair of inputs."""

    def key(item: Any) -> Any:
        between = item.get("between") if isinstance(item, Mapping) else None
        return frozenset(between) if isinstance(between, list) else id(item)

    merged = {key(item): item for item in old}
    merged.update({key(item): copy.deepcopy(item) for item in new})
    return list(merged.values())


def _merge_traced(base: _Merged, part: _Merged) -> None:
    """Merge an included file into ``base``, keeping the file each value came from."""
    _deep_merge(base.data, part.data, (), "", base.origins)
    for path, source in part.origins.items():
        # A mapping both files contribute to keeps its first file; values take the newest.
        if path and not (path in base.origins and _is_branch(part.data, path)):
            base.origins[path] = source


def _is_branch(data: Mapping, path: tuple[str, ...]) -> bool:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return isinstance(node, Mapping) and "dist" not in node


def _load_with_includes(path: Path, stack: tuple[Path, ...] = ()) -> _Merged:
    path = path.resolve() if path.is_absolute() else Path(os.path.abspath(path))
    shown = _display(path)
    if path in stack:
        chain = " -> ".join(_display(p) for p in (*stack, path))
        raise ScenarioError(Problem(shown, "include", f"include cycle: {chain}", has_got=False))
    raw = read_yaml(path, shown)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ScenarioError(
            Problem(
                shown,
                "",
                "a scenario file must be a mapping of keys",
                type(raw).__name__,
                "a YAML mapping (key: value lines)",
            )
        )
    includes = raw.get("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ScenarioError(
            Problem(
                shown,
                "include",
                "expected a list of file paths",
                includes,
                "a list of paths relative to this file",
            )
        )
    # The file's own keys first, then each include on top: later keys win, so a
    # calibration file overrides the hand-set assumptions it was fitted to replace.
    merged = _Merged({})
    body = {k: v for k, v in raw.items() if k != "include"}
    _deep_merge(merged.data, body, (), shown, merged.origins)
    problems = []
    for index, name in enumerate(includes):
        target = path.parent / name
        if not target.exists():
            problems.append(
                Problem(
                    shown,
                    f"include.{index}",
                    "included file not found",
                    name,
                    f"a path relative to {_display(path.parent)}",
                )
            )
            continue
        part = _load_with_includes(target, (*stack, path))
        _merge_traced(merged, part)
    if problems:
        raise ScenarioError(problems)
    merged.origins[()] = shown
    return merged


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- problems


def _model_at(loc: tuple, model: type[BaseModel] | None = ScenarioModel) -> type[BaseModel] | None:
    """The schema model that validates the mapping at ``loc`` (for key suggestions)."""
    annotation: Any = model
    for part in loc:
        if annotation is None:
            return None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return None
            annotation = _strip(info.annotation)
        else:  # dict[str, Model] or list[Model]: the key or index selects an item
            annotation = _strip(getattr(annotation, "__args__", (None,))[-1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _strip(annotation: Any) -> Any:
    """Unwrap Optional[...] and Annotated[...] to the model or container type inside."""
    for _ in range(4):
        args = getattr(annotation, "__args__", None)
        origin = getattr(annotation, "__origin__", None)
        if hasattr(annotation, "__metadata__"):
            annotation = origin
        elif args and origin is None and type(None) in args:  # X | None
            annotation = next(a for a in args if a is not type(None))
        elif args and str(origin).endswith("Union"):
            annotation = next(a for a in args if a is not type(None))
        else:
            break
    return annotation


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _describe_type_error(err: Mapping[str, Any]) -> tuple[str, str]:
    kind = err["type"]
    if kind.startswith("int"):
        return "expected a whole number", "an integer"
    if kind.startswith(("float", "decimal")):
        return "expected a number", "a number"
    if kind.startswith("string"):
        return "expected text", "a string"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping", "a mapping of keys"
    if kind == "list_type":
        return "expected a list", "a list"
    if kind == "bool_type":
        return "expected true or false", "true/false"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return "not one of the allowed values", expected.replace("'", "")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        ctx = err.get("ctx", {})
        sign = {
            "greater_than_equal": "≥",
            "less_than_equal": "≤",
            "greater_than": ">",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return "out of range", f"{sign} {bound}"
    if kind == "too_short":
        return "too few items", f"at least {err.get('ctx', {}).get('min_length', 1)}"
    if kind == "too_long":
        return "too many items", f"at most {err.get('ctx', {}).get('max_length')}"
    return err.get("msg", "invalid value"), ""


class _Problems:
    """Collects problems, naming the file each value came from."""

    def __init__(self, origins: Mapping[tuple[str, ...], str], default: str):
        self.origins = origins
        self.default = default
        self.items: list[Problem] = []

    def file_of(self, path: tuple) -> str:
        key = tuple(str(p) for p in path)
        while key:
            if key in self.origins:
                return self.origins[key]
            key = key[:-1]
        return self.origins.get((), self.default)

    def add(
        self,
        path: tuple,
        message: str,
        got: Any = None,
        allowed: str | None = None,
        has_got: bool = True,
    ) -> None:
        self.items.append(
            Problem(
                self.file_of(path), ".".join(str(p) for p in path), message, got, allowed, has_got
            )
        )

    def from_pydantic(self, exc: ValidationError) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            ctx = err.get("ctx") or {}
            kind = err["type"]
            if kind == "extra_forbidden":
                parent = _model_at(loc[:-1])
                keys = _allowed_keys(parent) if parent else []
                hint = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
                message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                self.add(loc, message, str(loc[-1]), ", ".join(keys) if keys else None)
            elif kind == "missing":
                parent = _model_at(loc[:-1])
                self.add(
                    loc,
                    "required key is missing",
                    has_got=False,
                    allowed=_field_doc(parent, str(loc[-1])),
                )
            elif kind == "distribution":
                for sub, message, got, allowed in ctx["problems"]:
                    self.add((*loc, sub) if sub else loc, message, got, allowed)
            elif kind == "cxsim":
                self.add(loc, err["msg"], ctx.get("got"), ctx.get("allowed"))
            elif kind == "literal_error" and loc and loc[-1] == "[key]":
                # A mapping whose keys are a fixed set (capabilities, assessment dimensions).
                allowed = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
                keys = [k.strip() for k in allowed.split(",")]
                hint = difflib.get_close_matches(str(loc[-2]), keys, n=1, cutoff=0.6)
                message = "unknown name" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                self.add(loc[:-1], message, str(loc[-2]), allowed)
            else:
                message, allowed = _describe_type_error(err)
                self.add(loc, message, err.get("input"), allowed or None)


def _field_doc(model: type[BaseModel] | None, name: str) -> str | None:
    if model is None or name not in model.model_fields:
        return None
    return model.model_fields[name].description


# ------------------------------------------------------------------ cross-field rules


def _uncertain_range(raw: Any) -> tuple[float, float] | None:
    """Range of a raw scalar if it is a valid number or distribution, else None."""
    try:
        return value_range(_to_value(raw))
    except Exception:  # noqa: BLE001 - invalid values are reported by the schema pass
        return None


def _cross_check(data: Mapping[str, Any], report: _Problems) -> None:
    """Rules that span several fields; tolerant of values the schema pass rejects."""
    horizon = data.get("horizon_months")
    horizon = horizon if isinstance(horizon, int) and not isinstance(horizon, bool) else None
    segments = data.get("segments") if isinstance(data.get("segments"), Mapping) else {}
    groups = data.get("work_groups") if isinstance(data.get("work_groups"), Mapping) else {}

    for name, seg in segments.items():
        if not isinstance(seg, Mapping):
            continue
        has_churn, has_sbg = "monthly_churn" in seg, "sbg" in seg
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
        plan = group.get("plan")
        if isinstance(plan, Mapping) and horizon is not None:
            start = _uncertain_range(plan.get("start_month"))
            if start and start[1] > horizon - 1:
                report.add(
                    ("work_groups", gname, "plan", "start_month"),
                    "starts after the horizon",
                    as_written(start[1]),
                    f"0 to {horizon - 1}",
                )
        requires = group.get("requires", [])
        if isinstance(requires, list):
            for index, other in enumerate(requires):
                if other in requires[:index]:
                    report.add(
                        ("work_groups", gname, "requires", index),
                        "listed twice",
                        other,
                        "each prerequisite once",
                    )
                elif other == gname:
                    report.add(
                        ("work_groups", gname, "requires", index),
                        "a work group cannot require itself",
                        other,
                        "another work group",
                    )
                elif isinstance(other, str) and other not in groups:
                    hint = difflib.get_close_matches(other, list(groups), n=1)
                    report.add(
                        ("work_groups", gname, "requires", index),
                        "unknown work group" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                        other,
                        ", ".join(groups),
                    )
    _check_operating_model(data, segments, groups, horizon, pain_total, report)
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
            g: [r for r in (v.get("requires") or []) if r in groups and r != g]
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
    """Journeys, synergies, capabilities and the maturity assessment (MODEL.md §3, §8)."""
    from cxsim.schema import ASSESSMENT_DIMENSIONS

    def known_groups(path: tuple, names: Any) -> None:
        if not isinstance(names, list):
            return
        for index, name in enumerate(names):
            if isinstance(name, str) and name not in groups:
                hint = difflib.get_close_matches(name, list(groups), n=1)
                report.add(
                    (*path, index),
                    "unknown work group" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                    name,
                    ", ".join(groups) or "no work groups are defined",
                )
            elif name in names[:index]:
                report.add((*path, index), "listed twice", name, "each work group once")

    journeys = data.get("journeys")
    if isinstance(journeys, Mapping):
        for name, journey in journeys.items():
            if not isinstance(journey, Mapping):
                continue
            known_groups(("journeys", name, "groups"), journey.get("groups"))
            _add_pain(("journeys", name), journey.get("pain_share"), segments, pain_total, report)
    synergies = data.get("synergies")
    if isinstance(synergies, list):
        for index, synergy in enumerate(synergies):
            if isinstance(synergy, Mapping):
                known_groups(("synergies", index, "groups"), synergy.get("groups"))

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
            plan = capability.get("plan")
            if isinstance(plan, Mapping) and horizon is not None:
                start = _uncertain_range(plan.get("start_month"))
                if start and start[1] > horizon - 1:
                    report.add(
                        ("capabilities", name, "plan", "start_month"),
                        "starts after the horizon",
                        as_written(start[1]),
                        f"0 to {horizon - 1}",
                    )


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


# --------------------------------------------------------------------------- Scenario


@dataclass(frozen=True)
class Input:
    """One numeric input of a scenario: its dotted path and value (number or distribution)."""

    path: str
    value: float | Distribution

    @property
    def uncertain(self) -> bool:
        return isinstance(self.value, Distribution)


class Scenario:
    """A validated scenario: the frozen model plus the mapping and files it came from.

    Read attributes as on the model (``scenario.segments["core"].arpu``); build
    variants with :meth:`with_overrides`. Nothing downstream reads raw dicts.
    """

    def __init__(
        self,
        model: ScenarioModel,
        data: Mapping[str, Any],
        source: str,
        origins: Mapping[tuple[str, ...], str] | None = None,
    ):
        self.model = model
        self.data = copy.deepcopy(dict(data))
        self.source = source
        self.origins = dict(origins or {})
        self.notes: list[str] = []  # what an override changed besides the values it set

    def __getattr__(self, name: str) -> Any:
        if name in ScenarioModel.model_fields:
            return getattr(self.model, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return (
            f"Scenario({self.model.name!r}, {len(self.model.segments)} segments, "
            f"{len(self.model.work_groups)} work groups, {self.model.horizon_months} months)"
        )

    # -- resolved views ---------------------------------------------------------
    def responses_for(self, segment: str) -> dict[str, float | Distribution]:
        """Response elasticities of one segment: scenario-wide values, segment overrides on top."""
        shared = self.model.responses
        own = self.model.segments[segment].responses
        values = {}
        for key in RESPONSE_KEYS:
            value = getattr(own, key)
            if value is None:
                value = getattr(shared, key) if shared is not None else 0.0
            values[key] = value
        return values

    def inputs(self) -> list[Input]:
        """Every numeric input with its dotted path, in a stable order."""
        return list(_walk_inputs(self.model, ()))

    def uncertain_inputs(self) -> list[Input]:
        return [item for item in self.inputs() if item.uncertain]

    # -- variants ---------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any], source: str = "override") -> Scenario:
        """A new scenario with values replaced by dotted path, validated like a file.

        >>> s2 = scenario.with_overrides({"segments.core.arpu": 50})  # doctest: +SKIP
        """
        data = copy.deepcopy(self.data)
        origins = dict(self.origins)
        problems = []
        for dotted, value in overrides.items():
            parts = tuple(str(dotted).split("."))
            node: Any = data
            for depth, part in enumerate(parts[:-1]):
                if not isinstance(node, dict) or part not in node:
                    known = list(node) if isinstance(node, dict) else []
                    hint = difflib.get_close_matches(part, known, n=1)
                    problems.append(
                        Problem(
                            source,
                            dotted,
                            f"no key {part!r} at {'.'.join(parts[:depth]) or 'the top level'}"
                            + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                            value,
                            ", ".join(map(str, known)) or None,
                        )
                    )
                    break
                node = node[part]
            else:
                if not isinstance(node, dict):
                    problems.append(
                        Problem(
                            source,
                            dotted,
                            "path goes through a value that is not a mapping",
                            value,
                            None,
                        )
                    )
                    continue
                node[parts[-1]] = value
                for old in [p for p in origins if p[: len(parts)] == parts]:
                    del origins[old]
                _record_origins(value, parts, source, origins)
        if problems:
            raise ScenarioError(problems)
        notes = _drop_fixed_correlations(data, overrides)
        scenario = validate(data, origins=origins, source=self.source)
        scenario.notes = [*self.notes, *notes]
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """The merged scenario as plain data (what ``to_yaml`` writes)."""
        return copy.deepcopy(self.data)

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, width=100)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _drop_fixed_correlations(data: dict, overrides: Mapping[str, Any]) -> list[str]:
    """An input fixed to a number by an override can no longer be correlated: drop its pairs.

    Returns a note for each dropped pair, so the change is reported, never silent.
    """
    fixed = {str(path) for path, value in overrides.items() if not isinstance(value, Mapping)}
    pairs = data.get("correlations")
    if not fixed or not isinstance(pairs, list):
        return []
    kept, notes = [], []
    for pair in pairs:
        between = pair.get("between", []) if isinstance(pair, Mapping) else []
        named = [p for p in between if p in fixed]
        if named:
            notes.append(
                f"correlation between {' and '.join(map(str, between))} dropped: "
                f"{named[0]} is now a fixed number"
            )
        else:
            kept.append(pair)
    data["correlations"] = kept
    return notes


def _walk_inputs(model: BaseModel, prefix: tuple[str, ...]) -> Iterator[Input]:
    for name in type(model).model_fields:
        # Provenance records where numbers came from; a correlation's rho shapes the
        # sampling of other inputs. Neither is an input.
        if name in ("provenance", "correlations"):
            continue
        value = getattr(model, name)
        path = (*prefix, name)
        if isinstance(value, float | Distribution) and not isinstance(value, bool):
            yield Input(".".join(path), value)
        elif isinstance(value, BaseModel):
            yield from _walk_inputs(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from _walk_inputs(item, (*path, str(key)))
                elif isinstance(item, float | Distribution) and not isinstance(item, bool):
                    yield Input(".".join((*path, str(key))), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _walk_inputs(item, (*path, str(index)))


def validate(
    data: Mapping[str, Any],
    *,
    origins: Mapping[tuple[str, ...], str] | None = None,
    source: str = INLINE,
) -> Scenario:
    """Validate a merged scenario mapping; raise ScenarioError listing every problem."""
    origins = dict(origins or {(): source})
    report = _Problems(origins, source)
    if not isinstance(data, Mapping):
        raise ScenarioError(
            Problem(
                source, "", "a scenario must be a mapping", type(data).__name__, "a mapping of keys"
            )
        )
    model = None
    try:
        model = ScenarioModel.model_validate(dict(data))
    except ValidationError as exc:
        report.from_pydantic(exc)
    _cross_check(data, report)
    if model is not None and not report.items:
        _check_correlations(model, report)
    if report.items:
        raise ScenarioError(_dedupe(report.items))
    assert model is not None
    return Scenario(model, data, source, origins)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.file, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _check_correlations(model: ScenarioModel, report: _Problems) -> None:
    from cxsim.distributions import check_correlation

    if not model.correlations:
        return
    scenario = Scenario(model, {}, "")
    uncertain = {i.path for i in scenario.uncertain_inputs()}
    pairs, ok = [], True
    for index, corr in enumerate(model.correlations):
        for side in corr.between:
            if side not in uncertain:
                ok = False
                report.add(
                    ("correlations", index, "between"),
                    "not an uncertain input of this scenario",
                    side,
                    ", ".join(sorted(uncertain)) or "no input is uncertain",
                )
        pairs.append((corr.between[0], corr.between[1], corr.rho))
    if ok:
        names = sorted({name for a, b, _ in pairs for name in (a, b)})
        _, problems = check_correlation(names, pairs)
        for message in problems:
            report.add(("correlations",), message, has_got=False)


def load_scenario(source: str | os.PathLike[str] | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a YAML file or a mapping.

    Parameters
    ----------
    source : path or mapping
        A scenario file (its ``include:`` files are merged on top of it, in order;
        later keys win) or
        an in-memory mapping with the same keys.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Listing every problem as ``FILE: dotted.path: message (got X; allowed Y)``.

    Examples
    --------
    >>> import cxsim
    >>> s = cxsim.load_scenario({"name": "tiny", "horizon_months": 12, "discount_rate": 0.08,
    ...     "segments": {"core": {"customers": 1000, "arpu": 40, "gross_margin": 0.5,
    ...     "monthly_churn": 0.02, "share_of_wallet": 0.4, "promoters": 0.3, "detractors": 0.2,
    ...     "contacts_per_customer": 0.3, "cost_per_contact": 5, "new_customers_per_month": 20,
    ...     "cac": 150, "referral_rate": 0.01, "referral_cost": 20}}})
    >>> s.segments["core"].arpu
    40.0
    """
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        if data.get("include"):
            raise ScenarioError(
                Problem(
                    INLINE,
                    "include",
                    "include works only in scenario files",
                    data["include"],
                    "load the scenario from a file",
                )
            )
        return validate(data, source=INLINE)
    path = Path(source)
    merged = _load_with_includes(path)
    return validate(merged.data, origins=merged.origins, source=_display(path.resolve()))


__all__ = ["Scenario", "Segment", "load_scenario", "validate", "topological_order", "Input"]
