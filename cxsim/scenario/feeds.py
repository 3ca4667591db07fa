"""Inputs fed by samples tables: read the tables, check them, hand each input its column.

For every ``samples:`` entry of a validated scenario: the table is read (once: ``cache``
keeps tables by file), its columns are matched to inputs, and each fed input is replaced in
the model by an :class:`~cxsim.uncertainty.samples.Empirical` distribution of its column, so
the rest of cxsim sees an uncertain input like any other, while sampling reads whole rows.

Every problem is reported at once: scenario-side ones at their dotted path (``samples.0.file``,
``responses.churn_reduction``), the table's contents as ``FILE:LINE: column: message``. Rows
must keep each value in its input's allowed range and the cross-field rules row by row
(pain shares of a segment at most 1, promoters + detractors at most 1, months inside the
horizon, a perpetuity's growth below the discount rate): :mod:`~cxsim.scenario.row_rules`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from cxsim.errors import Problem
from cxsim.scenario.allowed import limits_of
from cxsim.scenario.reading import MAX_TABLE_BYTES, regular_file_problem
from cxsim.scenario.row_rules import ROW_LIMIT, check_rows
from cxsim.scenario.samples import folder_of
from cxsim.scenario.schema import ScenarioModel, as_written
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.samples import Empirical, SampleTable, read_table

if TYPE_CHECKING:
    from cxsim.scenario.problems import ProblemReport

__all__ = ["attach_tables", "open_tables", "raw_entries", "unfeed"]


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def open_tables(
    entries: list[tuple[int, str]], report: ProblemReport, cache: dict[Path, SampleTable]
) -> dict[int, SampleTable]:
    """Read each entry's table (``(index, file as written)``); report missing or bad files."""
    opened = {}
    for index, file in entries:
        folder = folder_of(report.file_of(("samples", index)))
        path = Path(os.path.abspath(folder / file))
        table = cache.get(path)
        if table is None:
            if not path.exists():
                report.add(
                    ("samples", index, "file"),
                    "samples table not found",
                    file,
                    f"a CSV file, its path relative to {_shown(folder)}",
                )
                continue
            # A device, a pipe or a folder is never read, nor a table beyond the size limit.
            problem = regular_file_problem(path, _shown(path), MAX_TABLE_BYTES, "CSV")
            if problem is not None:
                report.add(("samples", index, "file"), problem.message, file, problem.allowed)
                continue
            table, problems = read_table(path, _shown(path))
            report.items.extend(problems)
            if table is None:
                continue
            cache[path] = table
        opened[index] = table
    return opened


def raw_entries(data: Mapping[str, Any]) -> list[tuple[int, str]]:
    """``(index, file)`` of the readable entries of a raw ``samples`` list."""
    tables = data.get("samples")
    if not isinstance(tables, list):
        return []
    return [
        (index, entry["file"])
        for index, entry in enumerate(tables)
        if isinstance(entry, Mapping) and isinstance(entry.get("file"), str) and entry["file"]
    ]


def attach_tables(
    model: ScenarioModel,
    inputs: Mapping[str, float | Distribution],
    report: ProblemReport,
    cache: dict[Path, SampleTable],
) -> tuple[ScenarioModel, dict[int, SampleTable]]:
    """The model with each table-fed input replaced by its column; each entry's table."""
    opened = open_tables([(i, e.file) for i, e in enumerate(model.samples)], report, cache)
    feeds: dict[str, Empirical] = {}
    claimed: dict[str, str] = {}  # input -> "FILE (column 'C')" that feeds it
    streams: dict[str, Path] = {}
    for index, entry in enumerate(model.samples):
        table = opened.get(index)
        if table is None:
            continue
        stream = _stream_name(entry.name or entry.file, table.path, streams)
        given = entry.columns
        mapping = dict(given) if given is not None else {c: c for c in table.header}
        for column, target in mapping.items():
            here = ("samples", index, "columns", column)
            if column not in table.header:
                hint = difflib.get_close_matches(column, table.header, n=1)
                report.add(
                    here,
                    f"not a column of {table.shown}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                    column,
                    _listing(table.header),
                )
                continue
            value = inputs.get(target)
            located = here if given is not None else None
            if value is None:
                _unknown_input(report, table, located, column, target, inputs)
            elif isinstance(value, Distribution):
                report.add(
                    tuple(target.split(".")),
                    f"fed by the samples table {entry.file} (column {column!r}), so it takes a "
                    "plain number",
                    value.to_dict(),
                    "a plain number, the point estimate; the table gives the uncertainty",
                )
            elif target in claimed:
                message = f"already fed by {claimed[target]}"
                _report_column(report, table, located, column, message, target, _ONE_FEED)
            else:
                claimed[target] = f"{entry.file} (column {column!r})"
                if _values_ok(report, table, column, target, model.horizon_months):
                    c = table.header.index(column)
                    feeds[target] = Empirical(table, c, stream, entry.file, float(value), index)
    if not feeds:
        return model, opened
    check_rows(model, inputs, feeds, report)
    return _with_inputs(model, feeds), opened


_ONE_FEED = "each input fed by one column of one table"


def _stream_name(written: str, path: Path, streams: dict[str, Path]) -> str:
    """``samples.<name, or the file as written>``; another file of that name gets ``#2``, …"""
    name, k = f"samples.{written}", 1
    while streams.setdefault(name, path) != path:
        k += 1
        name = f"samples.{written}#{k}"
    return name


def _listing(names: tuple[str, ...] | list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _report_column(
    report: ProblemReport,
    table: SampleTable,
    located: tuple | None,
    column: str,
    message: str,
    got: Any,
    allowed: str,
) -> None:
    """A problem with a column: at ``samples.I.columns.C`` when mapped there, else the header."""
    if located is not None:
        report.add(located, message, got, allowed)
    else:  # the column's name is the input path: say it once
        where = f"{table.shown}:{table.header_line}"
        report.items.append(Problem(where, column, message, got, allowed, got != column))


def _unknown_input(report, table, located, column, target, inputs) -> None:
    try:
        limits_of(target)
    except KeyError:
        hint = difflib.get_close_matches(target, list(inputs), n=1, cutoff=0.6)
        message = "not an input of this scenario" + (
            f" (did you mean {hint[0]!r}?)" if hint else ""
        )
        allowed = (
            "a numeric input's dotted path, e.g. responses.churn_reduction; to read only some "
            "columns, map them with columns: {COLUMN: INPUT.PATH}"
        )
    else:
        message = "the scenario gives this input no value"
        allowed = "write its point estimate (a plain number) in the scenario too"
    _report_column(report, table, located, column, message, target, allowed)


def _values_ok(
    report: ProblemReport, table: SampleTable, column: str, target: str, horizon: int
) -> bool:
    """Every value of the column is a number in the input's allowed range; report the rest."""
    c = table.header.index(column)
    for_input = "" if column == target else f" for {target}"
    bad_cells = [(r, text) for r, cc, text in table.bad if cc == c]
    listed = [
        (
            r,
            f"not a number{for_input}" if text.strip() else f"no value{for_input}",
            text,
            "a number",
        )
        for r, text in bad_cells
    ]
    values = table.values[:, c]
    lo, hi, lo_open, hi_open, allowed = limits_of(target)
    finite = np.isfinite(values)
    low = finite & ((values <= lo if lo_open else values < lo) if lo is not None else False)
    high = finite & ((values >= hi if hi_open else values > hi) if hi is not None else False)
    outside = np.flatnonzero(low | high)
    listed += [
        (int(r), f"out of range{for_input}", as_written(float(values[r])), allowed) for r in outside
    ]
    last = target.rsplit(".", 1)[-1]
    if last in ("start_month", "perception_delay_months"):
        what = "starts after the horizon" if last == "start_month" else "longer than the horizon"
        late = np.flatnonzero(finite & (values > horizon - 1) & ~(low | high))
        listed += [
            (int(r), what + for_input, as_written(float(values[r])), f"0 to {horizon - 1}")
            for r in late
        ]
    by_message: dict[str, list] = {}
    for row, message, got, text in sorted(listed):
        by_message.setdefault(message, []).append((row, got, text))
    for message, rows in by_message.items():
        for row, got, text in rows[:ROW_LIMIT]:
            report.items.append(Problem(table.where(row), column, message, got, text))
        if len(rows) > ROW_LIMIT:
            report.items.append(
                Problem(
                    table.shown,
                    column,
                    f"{len(rows) - ROW_LIMIT} more rows: {message}",
                    has_got=False,
                )
            )
    return not listed


def _with_inputs(model: BaseModel, feeds: Mapping[str, Empirical]) -> Any:
    """A copy of the frozen model with the value at each dotted path replaced."""
    for path, value in feeds.items():
        model = _replace(model, path.split("."), value)
    return model


def _replace(node: Any, parts: list[str], value: Any) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(node, BaseModel):
        new = value if not rest else _replace(getattr(node, head), rest, value)
        return node.model_copy(update={head: new})
    if isinstance(node, dict):
        copied = dict(node)
        copied[head] = value if not rest else _replace(node[head], rest, value)
        return copied
    items = list(node)  # a list: the part is an index
    items[int(head)] = value if not rest else _replace(items[int(head)], rest, value)
    return items


def unfeed(
    data: dict, paths: Iterable[str], inputs: list, why: str = "is set by an override"
) -> list[str]:
    """Take inputs out of the tables that feed them: their columns are no longer read.

    ``inputs`` are the scenario's inputs as they were (``Scenario.inputs()``). Changes
    ``data`` in place (a table read whole gets an explicit ``columns`` mapping without the
    column); returns a note for each input taken out, saying ``why``. Paths of ``samples``
    itself mean the caller sets the tables: nothing is taken out then.
    """
    paths = [str(path) for path in paths]
    if any(path.split(".")[0] == "samples" for path in paths):
        return []
    fed = {i.path: i.value for i in inputs if isinstance(i.value, Empirical)}
    notes = []
    for path in paths:
        feed = fed.get(path)
        if feed is None:
            continue
        entry = data["samples"][feed.entry]
        columns = entry.get("columns")
        if columns is None:
            columns = {name: name for name in feed.table.header}
        entry["columns"] = {c: t for c, t in columns.items() if t != path}
        notes.append(
            f"{path} {why}, so the samples table {feed.file} no longer feeds it (its column "
            f"{feed.name!r} is not read)"
        )
    return notes
