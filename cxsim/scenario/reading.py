"""One YAML file in, plain data out: bounded, so that no file can crash or hang cxsim.

A scenario file is read with ``yaml.safe_load`` semantics and these limits, each reported as
a located :class:`~cxsim.errors.ScenarioError` (``FILE:LINE: path: message``), never as a
traceback or a hang (docs/scenario-format.md, "Limits"):

- only a regular file (not a folder, a device such as ``/dev/zero`` or a pipe) of at most
  :data:`MAX_YAML_BYTES`; the pure-Python parser reads about 80 kB a second, so the limit
  also bounds the time a file can take;
- mappings and lists nested at most :data:`MAX_DEPTH` deep (the parser recurses);
- at most :data:`MAX_VALUES` values, each alias counted as the values it stands for, so a
  few hundred bytes of nested aliases (a "billion laughs") are refused before they expand;
- keys are text: a name YAML reads as a number, a date, true/false or null (``2024:``,
  ``null:``, ``no:``) must be quoted, and a list or mapping is no key;
- integers fit a float (at most about 1.8e308, checked before Python converts the digits);
- numbers written with an exponent and no dot (``1e5``, YAML 1.2) are numbers, not text;
- merge keys (``<<: *defaults``) lay the named mapping under the mapping's own keys;
- a key given twice in one mapping is an error (YAML would keep the last).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from cxsim.errors import Problem, ScenarioError

__all__ = [
    "MAX_DEPTH",
    "MAX_TABLE_BYTES",
    "MAX_VALUES",
    "MAX_YAML_BYTES",
    "read_bounded",
    "read_yaml",
    "regular_file_problem",
    "shape_problems",
]

#: Largest scenario file read: 1 MB (the shipped ones are under 13 kB; 1 MB parses in ~12 s).
MAX_YAML_BYTES = 1_000_000
#: Largest samples table read: 100 MB (a posterior of 4,000 draws of 50 inputs is ~4 MB).
MAX_TABLE_BYTES = 100_000_000
#: Deepest nesting of mappings and lists (a scenario needs 6; the parser recurses per level).
MAX_DEPTH = 100
#: Most values in one file, each alias counted as what it stands for (telecom.yaml has 394).
MAX_VALUES = 100_000
# Integers longer than this are refused unread: 400 characters hold any float-sized integer,
# and Python refuses to convert more than 4,300 digits.
_MAX_NUMBER_CHARS = 400
_LARGEST = 1.7976931348623157e308  # sys.float_info.max

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_KIND = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
}


class _Refused(Exception):
    """A limit of this module, found at a place in the file."""

    def __init__(self, mark: Any, path: tuple[str, ...], message: str, got: Any, allowed: str):
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None
        self.path, self.message, self.got, self.allowed = path, message, got, allowed


class _ScenarioLoader(yaml.SafeLoader):
    """SafeLoader with cxsim's limits: depth, numbers, keys and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        # NOTE: the composer recurses once per level; refusing here keeps the stack short.
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    mark,
                    (),
                    f"nested more than {MAX_DEPTH} deep",
                    None,
                    f"at most {MAX_DEPTH} levels of mappings and lists",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (_Refused, yaml.YAMLError):
            raise
        except (ValueError, TypeError, ArithmeticError, AttributeError) as exc:
            # An explicit tag on text it cannot read (!!int abc, !!timestamp x).
            raise _Refused(
                node.start_mark,
                (),
                f"cannot read this value as tagged ({node.tag.rsplit(':', 1)[-1]}): {exc}",
                _clip(str(node.value)) if isinstance(node, yaml.ScalarNode) else None,
                "a value its tag can hold, or no tag",
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text) > _MAX_NUMBER_CHARS:
            raise _too_large(node, text)
        value = super().construct_yaml_int(node)
        if abs(value) > _LARGEST:
            raise _too_large(node, text)
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {_clip(key)!r} (first given on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        # Merge keys are laid first, so the mapping's own keys win over them.
        return super().construct_mapping(node, deep=deep)


_ScenarioLoader.add_constructor("tag:yaml.org,2002:int", _ScenarioLoader.construct_yaml_int)
# YAML 1.2 reads 1e5 and 2.5E-3 as numbers; PyYAML's YAML 1.1 rule wants a dot and a signed
# exponent, and reads them as text, which a number field then refuses.
_ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _too_large(node: yaml.Node, text: str) -> _Refused:
    digits = sum(ch.isdigit() for ch in text)
    return _Refused(
        node.start_mark,
        (),
        f"number too large ({digits} digits)",
        _clip(text),
        "numbers below 1.8e308 (and each input's own range)",
    )


def _clip(value: Any, width: int = 40) -> str:
    """A value as text, at most ``width`` characters, cut before the whole is rendered."""
    text = value if isinstance(value, str) else type(value).__name__
    return text if len(text) <= width else f"{text[: width - 3]}..."


def _check_graph(root: yaml.Node) -> None:
    """Refuse keys that are not text and documents that expand past :data:`MAX_VALUES`.

    Nodes an alias names are shared, so sizes are counted once per node (memoised) and a
    bomb of nested aliases is measured without being expanded.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, path: tuple[str, ...]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _Refused(
                node.start_mark,
                path,
                "an alias refers to the value it is inside",
                None,
                "aliases of values defined before and outside them",
            )
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                total += size(item, (*path, str(index)))
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = _key_name(key_node, path)
                total += 1 + size(value_node, (*path, name) if name else path)
        open_nodes.discard(key)
        if total > MAX_VALUES:
            raise _Refused(
                node.start_mark,
                path,
                f"more than {MAX_VALUES:,} values (aliases count as the values they repeat)",
                None,
                "a scenario of hand-written size; large tables go in samples: CSV files",
            )
        sizes[key] = total
        return total

    size(root, ())


def _key_name(node: yaml.Node, path: tuple[str, ...]) -> str:
    """The text of a mapping key, or a refusal saying how to write it."""
    if node.tag == _MERGE:
        return ""
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR:
            return str(node.value)
        kind = _KIND.get(node.tag, f"a value tagged {node.tag}")
        text = _clip(str(node.value)) or "~"
        raise _Refused(
            node.start_mark,
            path,
            f"a key must be text; YAML reads {text} as {kind}",
            text,
            f"a quoted name, e.g. '{text}':",
        )
    what = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
    raise _Refused(node.start_mark, path, f"a key must be text, not {what}", None, "a name")


def shape_problems(node: Any, path: tuple, inside: tuple = ()) -> Iterator[tuple[tuple, str, Any]]:
    """What :func:`parse_yaml` refuses, found in data made in Python (a mapping, an override):
    ``(path, message, key)`` for keys that are not text, nesting deeper than
    :data:`MAX_DEPTH`, a value that contains itself and binary data."""
    if isinstance(node, bytes | bytearray):
        # YAML's !!binary: pydantic would read it as text, bypassing the name checks.
        yield path, "binary data (a !!binary value) is not a scenario value", None
        return
    if not isinstance(node, Mapping | list | tuple):
        return
    if any(node is outer for outer in inside):
        yield path, "a value that contains itself", None
        return
    if len(inside) >= MAX_DEPTH:
        yield path, f"nested more than {MAX_DEPTH} deep", None
        return
    inside = (*inside, node)
    items = node.items() if isinstance(node, Mapping) else enumerate(node)
    for key, value in items:
        if isinstance(node, Mapping) and not isinstance(key, str):
            yield path, "a key must be text", key
        else:
            yield from shape_problems(value, (*path, key), inside)


def regular_file_problem(path: Path, shown: str, limit: int, what: str) -> Problem | None:
    """Why ``path`` cannot be read as an input file (not a regular file, too large), or None."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return Problem(shown, "", "file not found", has_got=False)
    except OSError as exc:
        return Problem(shown, "", f"cannot read file: {exc.strerror}", has_got=False)
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return Problem(
            shown, "", f"{kind}, so it is not read", has_got=False, allowed=f"a {what} file"
        )
    if info.st_size > limit:
        return _too_big(shown, info.st_size, limit, what)
    return None


def _too_big(shown: str, size: int, limit: int, what: str) -> Problem:
    return Problem(
        shown,
        "",
        f"file too large to read ({size:,} bytes)",
        has_got=False,
        allowed=f"a {what} file of at most {limit:,} bytes",
    )


def read_bounded(path: Path, shown: str, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else a ScenarioError.

    The file is opened without blocking (a pipe would wait for a writer) and checked once
    open, so a file swapped after the first look is still refused; at most ``limit + 1``
    bytes are read, so a file that grows is refused too.
    """
    problem = regular_file_problem(path, shown, limit, what)
    if problem is not None:
        raise ScenarioError(problem)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ScenarioError(
            Problem(shown, "", f"cannot read file: {exc.strerror}", has_got=False)
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScenarioError(
                Problem(shown, "", "not a regular file, so it is not read", has_got=False)
            )
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise ScenarioError(
                Problem(shown, "", f"cannot read file: {exc.strerror}", has_got=False)
            ) from None
    if len(data) > limit:
        raise ScenarioError(_too_big(shown, len(data), limit, what))
    return data


def read_yaml(path: Path, shown: str | None = None) -> Any:
    """Parse one scenario file within the limits above; every problem a located ScenarioError."""
    shown = shown or str(path)
    raw = read_bounded(path, shown, MAX_YAML_BYTES, "YAML scenario")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            Problem(shown, "", f"cannot read file: not UTF-8 text ({exc.reason})", has_got=False)
        ) from None
    return parse_yaml(text, shown)


def parse_yaml(text: str, shown: str) -> Any:
    """Parse YAML text (a file's, or a ``--set`` value) within the limits above."""
    try:
        # The reader checks every character when it is built: control characters are refused.
        loader = _ScenarioLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(
            Problem(
                f"{shown}:{line}",
                "",
                f"a character YAML does not allow (code {exc.character:#x}: {exc.reason})",
                has_got=False,
                allowed="printable text; write control characters as escapes in double quotes",
            )
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except _Refused as exc:
        where = f"{shown}:{exc.line}" if exc.line is not None else shown
        path, shown_got = ".".join(exc.path), exc.got is not None
        raise ScenarioError(
            Problem(where, path, exc.message, exc.got, exc.allowed, shown_got)
        ) from None
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
    finally:
        loader.dispose()
