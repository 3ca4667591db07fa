"""What the schema allows at a dotted input path: its type, range and the range's text.

Break-even searches read an input's range (:func:`bounds_of`), samples tables check their
columns against it (:func:`limits_of`), and error messages list the keys a model accepts
(:func:`annotation_at`): all walk :class:`~cxsim.scenario.schema.ScenarioModel` the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cxsim.scenario.schema import ScenarioModel

__all__ = ["annotation_at", "bounds_of", "limits_of"]


def annotation_at(path: tuple | list) -> tuple[Any, list]:
    """The type and validator metadata of the value at a path inside a scenario.

    Each part of ``path`` is a key of a model, a key of a mapping (a segment or group name)
    or an index of a list. Raises KeyError for a path the schema does not have.

    >>> annotation_at(("segments", "core", "sbg"))[0].__name__
    'SBG'
    """
    annotation: Any = ScenarioModel
    metadata: list = []
    for part in path:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                raise KeyError(path)
            annotation, metadata = info.annotation, list(info.metadata)
        else:  # dict[str, X] or list[X]: the key or index selects an item
            args = getattr(annotation, "__args__", None)
            if not args:
                raise KeyError(path)
            annotation, metadata = args[-1], []
        annotation, metadata = _unwrap(annotation, metadata)
    return annotation, metadata


def bounds_of(path: str) -> tuple[float | None, float | None]:
    """The allowed range of the numeric input at a dotted path (None where unbounded).

    >>> bounds_of("responses.churn_reduction")
    (0.0, 1.0)
    """
    _, metadata = annotation_at(path.split("."))
    for item in metadata:
        bounds = getattr(getattr(item, "func", None), "bounds", None)
        if bounds is not None:
            return bounds
    raise KeyError(path)


def limits_of(path: str) -> tuple[float | None, float | None, bool, bool, str]:
    """The allowed range of the input at a dotted path: ``(lo, hi, lo_open, hi_open, text)``.

    >>> limits_of("segments.core.share_of_wallet")
    (0.001, 1.0, False, False, '[0.001, 1]')
    """
    _, metadata = annotation_at(path.split("."))
    for item in metadata:
        limits = getattr(getattr(item, "func", None), "limits", None)
        if limits is not None:
            return limits
    raise KeyError(path)


def _unwrap(annotation: Any, metadata: list) -> tuple[Any, list]:
    """Strip Optional[...] and Annotated[...], collecting validator metadata."""
    for _ in range(4):
        if hasattr(annotation, "__metadata__"):
            metadata = metadata + list(annotation.__metadata__)
            annotation = annotation.__origin__
            continue
        args = getattr(annotation, "__args__", None)
        if args and type(None) in args:
            annotation = next(a for a in args if a is not type(None))
            continue
        break
    return annotation, metadata
