"""Reading scenario files: YAML in, one merged mapping out, every value traced to its file.

``yaml.safe_load`` semantics with duplicate keys rejected; YAML syntax errors carry line and
column. ``include:`` files are merged on top of the including file in order (later keys win;
correlations accumulate), and each value remembers the file it came from so that validation
errors can name it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxsim.errors import Problem, ScenarioError


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


def record_origins(value: Any, prefix: tuple[str, ...], source: str, origins: dict) -> None:
    origins[prefix] = source
    if isinstance(value, Mapping) and not (prefix and "dist" in value):
        for key, item in value.items():
            record_origins(item, (*prefix, str(key)), source, origins)


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
            record_origins(value, path, source, origins)
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
            record_origins(value, path, source, origins)


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


def load_merged(path: Path, stack: tuple[Path, ...] = ()) -> _Merged:
    path = path.resolve() if path.is_absolute() else Path(os.path.abspath(path))
    shown = display(path)
    if path in stack:
        chain = " -> ".join(display(p) for p in (*stack, path))
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
                    f"a path relative to {display(path.parent)}",
                )
            )
            continue
        part = load_merged(target, (*stack, path))
        _merge_traced(merged, part)
    if problems:
        raise ScenarioError(problems)
    merged.origins[()] = shown
    return merged


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
