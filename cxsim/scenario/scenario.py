"""Scenario files → a validated, frozen :class:`Scenario`.

The pipeline is visible: read YAML (``yaml.safe_load`` semantics, duplicate keys
rejected) → merge ``include:`` files (later keys win, each value remembers its file)
→ validate against :mod:`cxsim.scenario.schema` and the cross-field rules below → ``Scenario``.
Every problem is collected and reported at once as
``FILE: dotted.field.path: message (got X; allowed Y)``.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cxsim.errors import Problem, ScenarioError
from cxsim.scenario.checks import cross_check, topological_order
from cxsim.scenario.loading import display, load_merged, record_origins
from cxsim.scenario.schema import RESPONSE_KEYS, ScenarioModel, Segment
from cxsim.uncertainty.distributions import Distribution

INLINE = "<mapping>"


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
                record_origins(value, parts, source, origins)
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
    cross_check(data, report)
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
    from cxsim.uncertainty.distributions import check_correlation

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
    merged = load_merged(path)
    return validate(merged.data, origins=merged.origins, source=display(path.resolve()))


__all__ = ["Scenario", "Segment", "load_scenario", "validate", "topological_order", "Input"]
