"""Problems with a scenario, collected with the file each value came from.

:class:`ProblemReport` gathers every problem of a validation pass, and turns pydantic's
errors into cxsim's ``FILE: dotted.path: message (got X; allowed Y)`` lines, with a "did you
mean" for unknown keys and names.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from cxsim.errors import Problem
from cxsim.scenario.allowed import annotation_at

__all__ = ["ProblemReport", "dedupe"]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema model that validates the mapping at ``loc`` (for key suggestions)."""
    try:
        annotation, _ = annotation_at(loc)
    except KeyError:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    # A key spelled differently in the file than in Python (a shift's "from") by its alias.
    return [info.alias or name for name, info in model.model_fields.items()]


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


class ProblemReport:
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


def dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.file, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
