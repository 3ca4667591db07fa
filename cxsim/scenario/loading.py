"""Reading scenario files: YAML in, one merged mapping out, every value traced to its file.

Each file is read by :mod:`~cxsim.scenario.reading` (``yaml.safe_load`` semantics, bounded:
only regular files of limited size, depth and number of values; duplicate keys rejected;
YAML syntax errors carry line and column). A file is laid out in three layers, lowest first:
the file it ``extends:`` (resolved the same way), its own keys, then each of its ``include:``
files in order (:mod:`~cxsim.scenario.merging` holds the rules). Each value remembers the
file it came from, so that validation errors can name it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cxsim.errors import Problem, ScenarioError
from cxsim.scenario.merging import (
    Merged,
    deep_merge,
    drop_fixed_pairs,
    merge_traced,
    record_origins,
    shadowed,
)
from cxsim.scenario.reading import MAX_YAML_BYTES, read_yaml, regular_file_problem
from cxsim.scenario.samples import unfeed_fixed

__all__ = ["display", "load_merged", "read_yaml", "record_origins"]


def load_merged(
    path: Path, stack: tuple[Path, ...] = (), extended_by: tuple[str, str] | None = None
) -> Merged:
    """Read one scenario file with its base and includes, in the order of precedence.

    Lowest first: the ``extends:`` base (itself fully resolved: its own base, keys and
    includes), then this file's own keys, then each ``include:`` in order. ``stack`` holds
    the files that led here, so that a cycle is reported instead of recursing forever;
    ``extended_by`` (file, path as written) names the file this one is the base of.
    """
    path = _absolute(path)
    shown = display(path)
    raw = read_yaml(path, shown)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        what = type(raw).__name__
        if extended_by:
            # Blame the file that extends it: pointing at the wrong file is the likelier slip.
            raise ScenarioError(
                Problem(
                    extended_by[0],
                    "extends",
                    f"the base file holds a {what}, not a scenario",
                    extended_by[1],
                    "a scenario file (a YAML mapping of key: value lines)",
                )
            )
        raise ScenarioError(
            Problem(
                shown,
                "",
                "a scenario file must be a mapping of keys",
                what,
                "a YAML mapping (key: value lines)",
            )
        )
    problems: list[Problem] = []
    base_name = _extends_of(raw, shown, problems)
    includes = _includes_of(raw, shown, problems)
    chain = (*stack, path)
    base = _target(path, "extends", base_name, chain, problems) if base_name else None
    targets = [_target(path, f"include.{i}", n, chain, problems) for i, n in enumerate(includes)]
    if problems:
        raise ScenarioError(problems)
    # The base at the bottom: this file's own keys change it where they differ.
    merged = load_merged(base, chain, (shown, str(base_name))) if base else Merged({})
    body = {k: v for k, v in raw.items() if k not in ("include", "extends")}
    deep_merge(merged.data, body, (), shown, merged.origins)
    if base:
        drop_fixed_pairs(merged, body, shown)
        merged.warnings += unfeed_fixed(merged.data, merged.origins, body, shown)
    # Then each include on top: later keys win, so a calibration file overrides the
    # hand-set assumptions it was fitted to replace, in the base and in this file alike.
    parts = [load_merged(target, chain) for target in targets if target is not None]
    for part in parts:
        merge_traced(merged, part)
        merged.warnings += part.warnings
    merged.warnings += shadowed(body, shown, parts, merged)
    merged.origins[()] = shown
    merged.files = [path, *merged.files, *(f for part in parts for f in part.files)]
    return merged


def _absolute(path: Path) -> Path:
    return path.resolve() if path.is_absolute() else Path(os.path.abspath(path))


def _extends_of(raw: Mapping, shown: str, problems: list[Problem]) -> str | None:
    """The one base file a scenario file extends, or None; a bad value is a problem."""
    base = raw.get("extends")
    if base is None and "extends" not in raw:
        return None
    if isinstance(base, str) and base.strip():
        return base
    problems.append(
        Problem(
            shown,
            "extends",
            "expected one file path",
            base,
            "a single path relative to this file, e.g. extends: retail_bank.yaml; "
            "to lay several files on top, use include:",
        )
    )
    return None


def _includes_of(raw: Mapping, shown: str, problems: list[Problem]) -> list[str]:
    includes = raw.get("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if isinstance(includes, list) and all(isinstance(i, str) for i in includes):
        return includes
    problems.append(
        Problem(
            shown,
            "include",
            "expected a list of file paths",
            includes,
            "a list of paths relative to this file",
        )
    )
    return []


def _target(
    path: Path, key: str, name: str, chain: tuple[Path, ...], problems: list[Problem]
) -> Path | None:
    """The file ``key`` of ``path`` names, or None after reporting it missing or a cycle."""
    shown = display(path)
    kind = "extends" if key == "extends" else "include"
    target = _absolute(path.parent / name)
    if target in chain:
        loop = " -> ".join(display(p) for p in (*chain[chain.index(target) :], target))
        problems.append(
            Problem(shown, key, f"{kind} cycle: {loop}", name, "files that form no loop")
        )
        return None
    if not target.exists():
        what = "base file not found" if kind == "extends" else "included file not found"
        problems.append(
            Problem(shown, key, what, name, f"a path relative to {display(path.parent)}")
        )
        return None
    problem = regular_file_problem(target, display(target), MAX_YAML_BYTES, "YAML scenario")
    if problem is not None:
        # Said where the file is named: a device, a pipe or a folder is never read.
        problems.append(Problem(shown, key, problem.message, name, problem.allowed))
        return None
    return target


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
