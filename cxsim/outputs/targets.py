"""What a run may write: its output paths (targets), the inputs they must not cover, and the
marker that says a folder is cxsim's (see :mod:`cxsim.outputs.folders` for how they are used).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxsim._version import __version__
from cxsim.errors import CxsimError
from cxsim.outputs.locks import Lock

#: The file cxsim writes into every results folder, listing the files it wrote there.
MARKER = ".cxsim-results"
_MARKER_HEAD = "cxsim results folder"


def could_not_write(path: Path | str, exc: OSError) -> CxsimError:
    """``PATH: could not write: reason`` for an OS error while writing ``path``."""
    return CxsimError(f"{path}: could not write: {exc.strerror or exc}")


def run_inputs(scenario, main: Path | None = None) -> list[Path]:
    """Every file a run reads, which no output may replace or sit above.

    The scenario file, every file it was read from (``extends:`` base, includes), its
    ``samples:`` tables, and the data files its calibrations name (``provenance:
    ...data_file``, relative to the working folder or to the scenario file) that exist.
    """
    found = [Path(main)] if main is not None else []
    found += [Path(name) for name in scenario.files]
    found += list(scenario.tables)
    folder = Path(scenario.source).parent if main is None else Path(main).parent
    for data_file in _data_files(scenario.model.provenance):
        found += [p for p in (Path(data_file), folder / data_file) if p.is_file()]
    return found


def _data_files(node) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data_file" and isinstance(value, str | os.PathLike):
                yield str(value)
            else:
                yield from _data_files(value)
    elif isinstance(node, list):
        for value in node:
            yield from _data_files(value)


@dataclass
class Target:
    """One path a run writes: a folder or a file, named by the option that asked for it."""

    path: Path  # absolute, symlinks not followed
    option: str
    folder: bool
    replace: bool  # --force (files: replace an existing one; folders: one cxsim wrote)
    suffixes: tuple[str, ...] = ()
    outer: Target | None = None  # the folder target this one is written inside
    lock: Lock | None = None
    staging: Path | None = None
    written: bool = False  # swapped in: a later writing() leaves it alone

    def place(self) -> Path:
        """Where the writer writes this target now (inside the staging of its outermost)."""
        if self.outer is None:
            assert self.staging is not None, "write only inside Outputs.writing()"
            return self.staging
        return self.outer.place() / self.path.relative_to(self.outer.path)


def check_nesting(target: Target, targets: list[Target]) -> None:
    for other in targets:
        if other is target or other.folder:
            continue
        if other.path == target.path or other.path in target.path.parents:
            raise CxsimError(
                f"{target.path}: {target.option} is the file {other.option} writes; "
                "give them different paths"
            )


def check_kind(target: Target) -> None:
    path = target.path
    if target.folder and path.exists() and not path.is_dir():
        raise CxsimError(f"{path}: exists and is not a folder; {target.option} needs a folder")
    if not target.folder:
        if target.suffixes and path.suffix.lower() not in target.suffixes:
            endings = " or ".join(target.suffixes)
            raise CxsimError(f"{path}: {target.option} needs a file name ending in {endings}")
        if path.is_dir():
            raise CxsimError(f"{path}: is a folder; {target.option} needs a file name")


def check_inputs(target: Target, inputs: list[Path]) -> None:
    """Refuse a target that is an input (resolved) or a folder above one."""
    resolved = target.path.resolve()
    for item in inputs:
        if item == resolved or resolved in item.parents:
            name = shown(item)
            if target.folder:
                raise CxsimError(
                    f"{target.path}: the folder holds the input {name}; "
                    f"choose another {target.option}"
                )
            raise CxsimError(f"{target.path}: is the input {name}; choose another {target.option}")


def shown(path: Path) -> str:
    """Relative to the working folder when inside it, else in full."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if relative.startswith("..") else relative


def check_parent(path: Path) -> None:
    """The nearest existing ancestor must be a folder this process can write in."""
    ancestor = path.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CxsimError(f"{path}: could not write: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CxsimError(f"{path}: could not write: permission denied in {ancestor}")


def check_replaceable(target: Target) -> None:
    """An existing folder may be written only if empty, or with ``--force`` if cxsim wrote
    everything in it (its marker lists every file it holds)."""
    path = target.path
    if not path.is_dir():
        return
    present = sorted(files_under(path))
    if not present and not any(path.iterdir()):
        return
    if not target.replace:
        raise CxsimError(
            f"{path}: folder exists and is not empty; use --force to replace it "
            "(only a results folder cxsim wrote)"
        )
    listed = read_marker(path / MARKER)
    if listed is None:
        raise CxsimError(
            f"{path}: not a folder cxsim wrote (no {MARKER} file in it), so --force will not "
            f"replace it; choose another {target.option}, or empty it yourself"
        )
    extra = [name for name in present if name not in listed and name != MARKER]
    if extra:
        more = f" and {len(extra) - 1} more" if len(extra) > 1 else ""
        raise CxsimError(
            f"{path}: holds {extra[0]}{more}, which cxsim did not write, so --force will not "
            f"replace it; move {'them' if more else 'it'} away or choose another {target.option}"
        )


def files_under(folder: Path) -> Iterator[str]:
    """Every file and link under ``folder`` (links not followed), as relative POSIX paths."""
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            yield Path(os.path.relpath(os.path.join(root, name), folder)).as_posix()


def write_marker(folder: Path) -> None:
    names = sorted(name for name in files_under(folder) if name != MARKER)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    head = (
        f"{_MARKER_HEAD}: written by cxsim {__version__} on {stamp}. cxsim run --force may "
        "replace this folder while it holds only the files listed below.\n"
    )
    (folder / MARKER).write_text(head + "".join(f"{name}\n" for name in names), "utf-8")


def read_marker(path: Path) -> set[str] | None:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head, _, rest = text.partition("\n")
    return set(rest.splitlines()) if head.startswith(_MARKER_HEAD) else None
