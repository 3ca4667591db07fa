"""Scenario files → a validated, frozen :class:`Scenario`.

The pipeline is visible: read YAML (``yaml.safe_load`` semantics, duplicate keys
rejected) → merge ``include:`` files (later keys win, each value remembers its file)
→ validate against :mod:`cxsim.scenario.schema` and the cross-field rules below → read the
``samples:`` tables and hand each input they feed its column (:mod:`~cxsim.scenario.feeds`)
→ ``Scenario``.
Every problem is collected and reported at once as
``FILE: dotted.field.path: message (got X; allowed Y)``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cxsim.errors import Problem, ScenarioError
from cxsim.scenario.checks import cross_check, topological_order
from cxsim.scenario.feeds import attach_tables, open_tables, raw_entries, unfeed
from cxsim.scenario.loading import display, load_merged, record_origins
from cxsim.scenario.problems import ProblemReport, dedupe
from cxsim.scenario.reading import shape_problems
from cxsim.scenario.schema import RESPONSE_KEYS, ScenarioModel, Segment
from cxsim.uncertainty.copula import check_correlation
from cxsim.uncertainty.distributions import Distribution
from cxsim.uncertainty.samples import Empirical, SampleTable

INLINE = "<mapping>"
# Keys that name files, resolved when a file is loaded (never by an override or a mapping).
FILE_ONLY = ("include", "extends")


@dataclass(frozen=True)
class Input:
    """One numeric input of a scenario: its dotted path and value (number or distribution).

    An input fed by a ``samples:`` table has its column as value, an
    :class:`~cxsim.uncertainty.samples.Empirical` distribution (uncertain like any other).
    """

    path: str
    value: float | Distribution

    @property
    def uncertain(self) -> bool:
        return isinstance(self.value, Distribution)


class Scenario:
    """A validated scenario: the frozen model plus the mapping and files it came from.

    Read attributes as on the model (``scenario.segments["core"].arpu``); build
    variants with :meth:`with_overrides`. Nothing downstream reads raw dicts. An input fed
    by a ``samples:`` table reads as its column (an ``Empirical`` distribution) in the model
    and in :meth:`inputs`; ``tables`` holds the tables, read once, by file.
    """

    def __init__(
        self,
        model: ScenarioModel,
        data: Mapping[str, Any],
        source: str,
        origins: Mapping[tuple[str, ...], str] | None = None,
        tables: Mapping[int, SampleTable] | None = None,
    ):
        self.model = model
        self.data = copy.deepcopy(dict(data))
        self.source = source
        self.origins = dict(origins or {})
        # What loading or an override did besides setting values (an include that replaced
        # one of the file's own values, a correlation dropped), for the user to read.
        self.notes: list[str] = []
        # Provenance: every override applied since loading, in order, as (path, value, source),
        # and the files read with their SHA-256, so a result can be re-run exactly.
        self.overrides: list[tuple[str, Any, str]] = []
        self.files: dict[str, str] = {}
        # The table of each samples entry, by position in the list.
        self.table_of: dict[int, SampleTable] = dict(tables or {})

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
    def response_path(self, segment: str, key: str) -> str | None:
        """The dotted path of the input that sets response ``key`` for ``segment``.

        The segment's own override when it gives one, else the scenario-wide value; None
        when neither exists (a scenario without work groups), which means 0. This is the
        one place the rule lives: the engine's inputs and :meth:`responses_for` both use it.
        """
        if getattr(self.model.segments[segment].responses, key) is not None:
            return f"segments.{segment}.responses.{key}"
        if self.model.responses is not None:
            return f"responses.{key}"
        return None

    def responses_for(self, segment: str) -> dict[str, float | Distribution]:
        """Response elasticities of one segment: scenario-wide values, segment overrides on top."""
        own, shared = self.model.segments[segment].responses, self.model.responses
        values: dict[str, float | Distribution] = {}
        for key in RESPONSE_KEYS:
            path = self.response_path(segment, key)
            source = None if path is None else (shared if path.startswith("responses.") else own)
            values[key] = 0.0 if source is None else getattr(source, key)
        return values

    def inputs(self) -> list[Input]:
        """Every numeric input with its dotted path, in a stable order."""
        return list(_walk_inputs(self.model, ()))

    def uncertain_inputs(self) -> list[Input]:
        return [item for item in self.inputs() if item.uncertain]

    @property
    def tables(self) -> dict[Path, SampleTable]:
        """The samples tables, read once when the scenario was loaded, by file."""
        return {table.path: table for table in self.table_of.values()}

    def table_inputs(self) -> list[Input]:
        """The inputs fed by ``samples:`` tables (their values are the tables' columns)."""
        return [item for item in self.inputs() if isinstance(item.value, Empirical)]

    # -- variants ---------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any], source: str = "override") -> Scenario:
        """A new scenario with values replaced by dotted path, validated like a file.

        An input fed by a ``samples:`` table is taken out of it (its column is no longer
        read; the table's other columns still are), with a note, unless the overrides
        change ``samples`` itself. Tables are not read again.

        >>> s2 = scenario.with_overrides({"segments.core.arpu": 50})  # doctest: +SKIP
        """
        data = copy.deepcopy(self.data)
        origins = dict(self.origins)
        problems = []
        for dotted, value in overrides.items():
            parts = tuple(str(dotted).split("."))
            if parts[0] in FILE_ONLY:
                # Files are read when a scenario is loaded: an override would be ignored.
                problems.append(
                    Problem(
                        source,
                        str(dotted),
                        f"{parts[0]} is read only from scenario files and cannot be overridden",
                        value,
                        "a value's dotted path, e.g. segments.core.arpu (to lay another file "
                        "on top, name it in a scenario file's include:)",
                    )
                )
                continue
            shape = [
                Problem(source, str(dotted), message, has_got=False)
                for _, message, _ in shape_problems(value, ())
            ]
            if shape:
                problems += shape[:1]
                continue
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
                            f"{'.'.join(parts[:-1])} itself, set whole",
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
        notes += unfeed(data, overrides, self.inputs())
        scenario = validate(data, origins=origins, source=self.source, tables=self.tables)
        scenario.notes = [*self.notes, *notes]
        scenario.overrides = [
            *self.overrides,
            *((str(path), copy.deepcopy(value), source) for path, value in overrides.items()),
        ]
        scenario.files = {**self.files, **_table_files(scenario)}
        return scenario

    def to_dict(self, folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The merged scenario as plain data (what ``to_yaml`` writes).

        It stands on its own wherever it is validated: a ``samples:`` table's ``file`` is
        absolute (or relative to ``folder``), and its ``name`` is kept, so the same rows are
        drawn.
        """
        data = copy.deepcopy(self.data)
        for index, table in self.table_of.items():
            entry = data["samples"][index]
            entry.setdefault("name", entry["file"])
            entry["file"] = str(table.path) if folder is None else _relative(table.path, folder)
        return data

    def to_yaml(self, path: str | os.PathLike[str] | None = None) -> str:
        folder = None if path is None else Path(path).resolve().parent
        text = yaml.safe_dump(self.to_dict(folder), sort_keys=False, width=100)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _relative(path: Path, folder: str | os.PathLike[str]) -> str:
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive
        return str(path)


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
        named = [p for p in between if isinstance(p, str) and p in fixed]
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
        # sampling of other inputs; samples name tables; listening's numbers are decisions.
        # None is an input.
        if name in ("provenance", "correlations", "samples", "listening"):
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
    tables: Mapping[Path, SampleTable] | None = None,
) -> Scenario:
    """Validate a merged scenario mapping; raise ScenarioError listing every problem.

    ``samples:`` tables are read relative to the file that names each (``origins``; the
    working folder for a mapping), except those already in ``tables`` (by file).
    """
    origins = dict(origins or {(): source})
    report = ProblemReport(origins, source)
    if not isinstance(data, Mapping):
        raise ScenarioError(
            Problem(
                source, "", "a scenario must be a mapping", type(data).__name__, "a mapping of keys"
            )
        )
    _check_shape(data, report)
    model = None
    try:
        model = ScenarioModel.model_validate(dict(data))
    except ValidationError as exc:
        report.from_pydantic(exc)
    cross_check(data, report)
    cache = dict(tables or {})
    used: dict[int, SampleTable] = {}
    if model is not None:
        inputs = {item.path: item.value for item in _walk_inputs(model, ())}
        model, used = attach_tables(model, inputs, report, cache)
    else:  # the files can still be checked
        open_tables(raw_entries(data), report, cache)
    if model is not None and not report.items:
        _check_correlations(model, report)
    if report.items:
        raise ScenarioError(dedupe(report.items))
    assert model is not None
    return Scenario(model, data, source, origins, used)


def _check_shape(data: Any, report: ProblemReport) -> None:
    """Refuse what a file's reader refuses (cxsim.scenario.reading) in data made in Python:
    names are text (the rules compare, sort and suggest names) and the walks recurse."""
    for path, message, got in shape_problems(data, ()):
        named = "key" in message  # a key that is not text: show it
        report.add(path, message, got, "a name (text)" if named else None, named)
    if report.items:
        raise ScenarioError(report.items)


def _check_correlations(model: ScenarioModel, report: ProblemReport) -> None:
    if not model.correlations:
        return
    scenario = Scenario(model, {}, "")
    uncertain = {i.path for i in scenario.uncertain_inputs()}
    fed = {i.path: i.value for i in scenario.table_inputs() if isinstance(i.value, Empirical)}
    pairs, ok = [], True
    for index, corr in enumerate(model.correlations):
        for side in corr.between:
            if side in fed:
                ok = False
                report.add(
                    ("correlations", index, "between"),
                    f"fed by the samples table {fed[side].file}, which carries its joint law "
                    "with the table's other columns",
                    side,
                    "inputs given as distributions (drop this correlation)",
                )
            elif side not in uncertain:
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
        A scenario file (laid over the file it ``extends:``, with its ``include:`` files
        merged on top of it, in order; later keys win) or an in-memory mapping with the
        same keys.

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
        _check_shape(source, ProblemReport({(): INLINE}, INLINE))
        data = copy.deepcopy(dict(source))
        for key in FILE_ONLY:
            if data.get(key):
                raise ScenarioError(
                    Problem(
                        INLINE,
                        key,
                        f"{key} works only in scenario files",
                        data[key],
                        "load the scenario from a file",
                    )
                )
        scenario = validate(data, source=INLINE)
        scenario.files = _table_files(scenario)
        return scenario
    path = Path(source)
    merged = load_merged(path)
    scenario = validate(merged.data, origins=merged.origins, source=display(path.resolve()))
    scenario.notes = [str(warning) for warning in merged.warnings]
    scenario.files = {**_fingerprints(merged.files), **_table_files(scenario)}
    return scenario


def _table_files(scenario: Scenario) -> dict[str, str]:
    """The SHA-256 of each samples table, by its name as shown (tables are input files too)."""
    return {display(path): table.sha256 for path, table in scenario.tables.items()}


def _fingerprints(paths: list[Path]) -> dict[str, str]:
    """Each file's SHA-256 by its name as shown (relative to the working folder)."""
    out = {}
    for path in paths:
        name = display(path.resolve())
        if name not in out:
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


__all__ = ["Scenario", "Segment", "load_scenario", "validate", "topological_order", "Input"]
