"""Laying one scenario mapping on another, and noticing what a file's includes replaced.

The rules every layer follows (a base, a file's own keys, each include): mappings merge key
by key at every depth; anything else (a number, a string, a list, a distribution) is replaced
whole; correlations accumulate, a pair given again taking the newer ``rho``, and so do
samples tables, a table named again taking the newer entry (:mod:`~cxsim.scenario.samples`);
a segment's retention model and starting-mix rule replace their alternative. Each value
remembers the file it came from, so that errors can name it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxsim.errors import Problem
from cxsim.scenario.samples import item_origins, lay_tables, own_items

__all__ = [
    "ALTERNATIVES",
    "Merged",
    "deep_merge",
    "drop_fixed_pairs",
    "merge_traced",
    "record_origins",
    "shadowed",
]


@dataclass
class Merged:
    """A file merged with its base and includes: the data, and the file of every value."""

    data: dict[str, Any]
    origins: dict[tuple[str, ...], str] = field(default_factory=dict)
    # Values of a file's own that its includes replaced (see :func:`shadowed`).
    warnings: list[Problem] = field(default_factory=list)
    # Every file read, this one first: their bytes fix the scenario (provenance).
    files: list[Path] = field(default_factory=list)


def record_origins(value: Any, prefix: tuple[str, ...], source: str, origins: dict) -> None:
    origins[prefix] = source
    if isinstance(value, Mapping) and not (prefix and "dist" in value):
        for key, item in value.items():
            record_origins(item, (*prefix, str(key)), source, origins)


ALTERNATIVES = {
    "monthly_churn": "sbg",
    "sbg": "monthly_churn",
    "tenure_months": "base_age_months",
    "base_age_months": "tenure_months",
}


def deep_merge(
    base: dict, top: Mapping, prefix: tuple[str, ...], source: str, origins: dict
) -> None:
    """Merge ``top`` into ``base``: mappings merge key by key, anything else is replaced."""
    for key, value in top.items():
        path = (*prefix, str(key))
        rival = ALTERNATIVES.get(key) if len(prefix) == 2 and prefix[0] == "segments" else None
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
            record_origins(value, path, source, origins)
            continue
        if path == ("samples",) and isinstance(value, list):
            # Samples tables accumulate too; each entry keeps the file that names it.
            lay_tables(base, origins, own_items(value, source))
            continue
        if (
            isinstance(value, Mapping)
            and "dist" not in value
            and isinstance(base.get(key), Mapping)
            and "dist" not in base[key]
        ):
            deep_merge(base[key], value, path, source, origins)
        else:
            for old in [p for p in origins if p[: len(path)] == path]:
                del origins[old]
            base[key] = copy.deepcopy(value)
            record_origins(value, path, source, origins)


def _merge_pairs(old: list, new: list) -> list:
    """Union of two correlation lists keyed by the (unordered) pair of inputs."""
    merged = {_pair(item): item for item in old}
    merged.update({_pair(item): copy.deepcopy(item) for item in new})
    return list(merged.values())


def merge_traced(base: Merged, part: Merged) -> None:
    """Merge an included file into ``base``, keeping the file each value came from."""
    data = part.data
    tables = data.get("samples")
    if isinstance(tables, list):
        items = [(entry, item_origins(part.origins, i)) for i, entry in enumerate(tables)]
        lay_tables(base.data, base.origins, items)
        data = {key: value for key, value in data.items() if key != "samples"}
    deep_merge(base.data, data, (), "", base.origins)
    for path, source in part.origins.items():
        if isinstance(tables, list) and path[:1] == ("samples",):
            continue  # laid above, with their new positions
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


def drop_fixed_pairs(merged: Merged, body: Mapping, shown: str) -> None:
    """Drop the base's correlations of inputs that this file fixes to a number.

    A fixed number cannot be correlated, and a variant has no way to delete the base's pair
    (pairs accumulate), so the pair goes, with a note: the rule ``with_overrides`` follows,
    which keeps a variant written as a file and one built in Python the same scenario.
    """
    pairs = merged.data.get("correlations")
    if not isinstance(pairs, list):
        return
    fixed = {".".join(path) for path, value in _leaves(body, ()) if not isinstance(value, Mapping)}
    own = body.get("correlations")
    own_keys = {_pair(item) for item in own} if isinstance(own, list) else set()
    kept = []
    for item in pairs:
        between = item.get("between") if isinstance(item, Mapping) else None
        named = (
            [p for p in between if isinstance(p, str) and p in fixed]
            if isinstance(between, list)
            else []
        )
        if not named or _pair(item) in own_keys:
            kept.append(item)
            continue
        merged.warnings.append(
            Problem(
                shown,
                named[0],
                "a fixed number here, so the base's correlation between "
                f"{' and '.join(map(str, between))} is dropped",
                has_got=False,
            )
        )
    merged.data["correlations"] = kept


def shadowed(body: Mapping, shown: str, parts: list[Merged], merged: Merged) -> list[Problem]:
    """The file's own values that its includes replaced with different ones.

    Includes win over the file's own keys on purpose (calibration files), but a user who
    includes a shared file and edits one value of it gets the shared file's value back; the
    warning says so and points to ``extends:``. A value an include sets to the same thing,
    or one set by the file's base, is not reported.
    """
    found = []
    for path, own in _leaves(body, ()):
        if path in (("correlations",), ("samples",)):
            continue  # pairs and tables accumulate; a replaced rho is checked below
        winner = None
        for index, part in enumerate(parts):
            where = _replaces(part.data, path)
            if where is not None:
                winner = (index, part, where)
        if winner is None:
            continue
        ok, now = _value_at(merged.data, path)
        if ok and now == own:
            continue
        index, part, where = winner
        file = _origin(part.origins, where)
        ok, new = _value_at(merged.data, where)
        what = f"{_brief(new)}" if where == path else f"{'.'.join(where)}: {_brief(new)}"
        found.append(_shadow(shown, ".".join(path), own, what, file, index, part))
    found += _shadowed_pairs(body, shown, parts, merged)
    return found


def _shadowed_pairs(
    body: Mapping, shown: str, parts: list[Merged], merged: Merged
) -> list[Problem]:
    """Correlation pairs of the file's own whose rho an include gave again, differently."""
    mine = body.get("correlations")
    if not isinstance(mine, list):
        return []
    final = {_pair(item): item for item in merged.data.get("correlations") or []}
    found = []
    for position, item in enumerate(mine):
        key, winner = _pair(item), None
        for index, part in enumerate(parts):
            if any(_pair(other) == key for other in part.data.get("correlations") or []):
                winner = (index, part)
        now = final.get(key)
        if winner is None or not isinstance(now, Mapping) or now.get("rho") == item.get("rho"):
            continue
        index, part = winner
        file = _origin(part.origins, ("correlations",))
        path = f"correlations.{position}.rho"
        found.append(
            _shadow(shown, path, item.get("rho"), _brief(now.get("rho")), file, index, part)
        )
    return found


def _shadow(
    shown: str, path: str, own: Any, new: str, file: str, index: int, part: Merged
) -> Problem:
    # Name the include as well when the value came from a file it includes in turn.
    included = part.origins.get((), file)
    via = f"include.{index}" + ("" if file == included else f": {included}")
    return Problem(
        shown,
        path,
        f"{_brief(own)} here is overridden by {new} from {file} ({via}); included files win "
        "over a file's own keys (to build on a file and change some of its values, name it "
        "in extends: instead)",
        has_got=False,
    )


def _leaves(node: Any, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every value a file sets; distributions and lists are single values."""
    if isinstance(node, Mapping) and not (prefix and "dist" in node):
        for key, value in node.items():
            yield from _leaves(value, (*prefix, str(key)))
    elif prefix:
        yield prefix, node


def _replaces(data: Mapping, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """Where an included file's ``data`` replaces the value at ``path``, merged on top.

    The path itself, an enclosing key it sets to a plain value, or the alternative it sets
    (``sbg`` for ``monthly_churn``): what :func:`deep_merge` would replace or remove.
    """
    node: Any = data
    for depth, key in enumerate(path):
        if not isinstance(node, Mapping) or (depth and "dist" in node):
            return path[:depth]
        if key not in node:
            rival = ALTERNATIVES.get(key) if depth == 2 and path[0] == "segments" else None
            return (*path[:depth], rival) if rival in node else None
        node = node[key]
    return path


def _value_at(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return False, None
        data = data[key]
    return True, data


def _origin(origins: Mapping[tuple[str, ...], str], path: tuple[str, ...]) -> str:
    while path and path not in origins:
        path = path[:-1]
    return origins.get(path, "")


def _pair(item: Any) -> Any:
    """A correlation's key: the unordered pair of inputs (an unreadable item is its own)."""
    between = item.get("between") if isinstance(item, Mapping) else None
    if isinstance(between, list) and all(isinstance(side, str) for side in between):
        return frozenset(between)
    return id(item)  # the schema reports what is wrong with it


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
