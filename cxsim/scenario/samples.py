"""``samples:`` across files: where a table is, and what each layer does to the list.

A table's ``file`` is relative to the scenario file that names it, so every entry of the
merged ``samples`` list keeps the file it came from (its origin, like every value). The list
**accumulates** across layers (a base, a file's own keys, each include), as correlations do,
so a calibration file included on top of a scenario adds its table to the scenario's own; a
table named again (the same file) takes the later entry, in the earlier one's place.

A variant that ``extends:`` a base and sets an input the base's table feeds (to a number or
a distribution) takes it out of the table: the table's column for it is no longer read, as
with ``Scenario.with_overrides`` (:func:`unfeed_fixed`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cxsim.errors import Problem
from cxsim.scenario.reading import MAX_TABLE_BYTES, regular_file_problem
from cxsim.uncertainty.samples import read_header

__all__ = ["folder_of", "item_origins", "lay_tables", "table_key", "unfeed_fixed"]

Origins = dict[tuple[str, ...], str]


def folder_of(origin: str) -> Path:
    """The folder a table named in ``origin`` is relative to: the naming file's, else ``.``.

    ``origin`` is a scenario file as shown in messages (relative to the working folder);
    an in-memory mapping or an override names tables relative to the working folder.
    """
    path = Path(origin)
    return path.parent if origin and path.is_file() else Path(".")


def table_key(entry: Any, origin: str) -> Any:
    """What makes two entries the same table: the file they name, made absolute."""
    file = entry.get("file") if isinstance(entry, Mapping) else None
    if not isinstance(file, str) or not file:
        return id(entry)  # unreadable: its own key (the schema reports it)
    return Path(os.path.abspath(folder_of(origin) / file))


def item_origins(origins: Mapping[tuple[str, ...], str], index: int) -> Origins:
    """The origins of entry ``index`` of ``samples``, relative to the entry (``()`` is its file)."""
    prefix = ("samples", str(index))
    found = {path[2:]: file for path, file in origins.items() if path[:2] == prefix}
    if () not in found:
        found[()] = origins.get(("samples",), origins.get((), ""))
    return found


def lay_tables(data: dict, origins: dict, items: list[tuple[Any, Origins]]) -> None:
    """Lay ``items`` (an entry and its origins each) over ``data["samples"]``: they accumulate.

    A table already listed (the same file) takes the new entry in its old place; other
    tables are appended. Origins are rewritten for the new positions.
    """
    old = data.get("samples")
    listed = (
        [(e, item_origins(origins, i)) for i, e in enumerate(old)] if isinstance(old, list) else []
    )
    merged: dict[Any, tuple[Any, Origins]] = {}
    for entry, where in [*listed, *items]:
        merged[table_key(entry, where[()])] = (entry, where)
    for path in [p for p in origins if p[:1] == ("samples",)]:
        del origins[path]
    data["samples"] = [copy.deepcopy(entry) for entry, _ in merged.values()]
    origins[("samples",)] = items[-1][1][()] if items else origins.get((), "")
    for index, (_, where) in enumerate(merged.values()):
        for suffix, file in where.items():
            origins[("samples", str(index), *suffix)] = file


def own_items(value: list, source: str) -> list[tuple[Any, Origins]]:
    """A file's own ``samples`` entries, each with the origins of its keys (all ``source``)."""
    items = []
    for entry in value:
        where: Origins = {(): source}
        if isinstance(entry, Mapping):
            for path in _paths(entry, ()):
                where[path] = source
        items.append((entry, where))
    return items


def _paths(node: Mapping, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for key, value in node.items():
        path = (*prefix, str(key))
        yield path
        if isinstance(value, Mapping):
            yield from _paths(value, path)


def unfeed_fixed(data: dict, origins: Origins, body: Mapping, shown: str) -> list[Problem]:
    """Take the inputs a variant sets out of its base's tables; a note for each.

    ``body`` is the variant's own keys, already laid over the base in ``data``. A table the
    variant names itself is left alone (the values it sets are then point estimates).
    """
    entries = data.get("samples")
    if not isinstance(entries, list):
        return []
    own = body.get("samples")
    own_keys = {table_key(e, shown) for e in own} if isinstance(own, list) else set()
    fixed = {".".join(path) for path in _set_values(body, ())}
    notes = []
    for index, entry in enumerate(entries):
        where = item_origins(origins, index)
        key = table_key(entry, where[()])
        if key in own_keys or not isinstance(key, Path) or not isinstance(entry, Mapping):
            continue
        columns = entry.get("columns")
        if columns is None:
            # Only a regular file of bounded size is read (the scenario reports any other).
            unreadable = regular_file_problem(key, str(key), MAX_TABLE_BYTES, "CSV")
            header = None if unreadable else read_header(key)
            columns = {name: name for name in header or ()}
        if not isinstance(columns, Mapping):
            continue
        hit = [column for column, target in columns.items() if target in fixed]
        if not hit:
            continue
        entry["columns"] = {c: t for c, t in columns.items() if c not in hit}
        for column in hit:
            notes.append(
                Problem(
                    shown,
                    str(columns[column]),
                    f"set here, so the base's samples table {entry.get('file')} no longer feeds "
                    f"it (its column {column!r} is not read)",
                    has_got=False,
                )
            )
    return notes


def _set_values(node: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Paths of the values a file sets (a distribution is one value); not tables or pairs."""
    if isinstance(node, Mapping) and not (prefix and "dist" in node):
        for key, value in node.items():
            if prefix or key not in ("samples", "correlations", "include", "extends"):
                yield from _set_values(value, (*prefix, str(key)))
    elif prefix:
        yield prefix
