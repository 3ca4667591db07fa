"""Output paths that cannot destroy or lose data: checked, claimed, staged, then swapped in.

A run that writes results goes through four steps, the first two before it simulates:

1. **check** every path it will write: not an input of the run (the scenario file, its
   ``extends:`` base and includes, ``samples:`` tables, the data its calibrations name), a
   folder where a folder is needed, a parent that can be written, and the ``--force`` rules:
   a non-empty folder is replaced only if cxsim wrote it (it holds the :data:`MARKER` file,
   which lists what cxsim put there, and nothing else).
2. **claim** each path with a lock file beside it (``.NAME.cxsim-lock``, exclusive), so that
   of two runs writing the same path one goes ahead and the other stops with a message.
   Holding the claim also proves that staging folders left beside it belong to a run that
   was stopped (a SIGKILL, a power cut): they are removed, and a folder caught half-way
   through a swap is restored.
3. **stage**: everything is written into ``.NAME.cxsim-staging-XXXXXXXX`` beside the target.
4. **swap**: the old folder is renamed aside, the staged one renamed into place, the old one
   removed; a rename is atomic, so a reader sees the old results or the new, never a mix.

OS errors (a read-only or full disk, a path through a file) become one-line
``PATH: could not write: reason`` errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cxsim._version import __version__
from cxsim.errors import CxsimError
from cxsim.outputs.locks import Busy, Lock

#: The file cxsim writes into every results folder, listing the files it wrote there.
MARKER = ".cxsim-results"
_MARKER_HEAD = "cxsim results folder"
#: Test-only: when set to a file path, a run creates that file once its staged output is
#: complete, then waits while the file exists (up to a minute) before swapping it in, so that
#: tests can kill it, or start a second run, while it writes. Never set it otherwise.
PAUSE_FOR_TESTS = "CXSIM_TEST_PAUSE_WHILE_WRITING"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.cxsim-(?P<kind>staging|old)-[0-9a-f]{8}(\.[^.]*)?$")


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


@dataclass
class Outputs:
    """The paths one run writes, checked and claimed together before it computes anything.

    >>> outputs = Outputs(run_inputs(scenario, path), force=False)  # doctest: +SKIP
    >>> outputs.add_folder(Path("case"), "--out")  # doctest: +SKIP
    >>> with outputs:  # checks and claims; releases at the end
    ...     result = simulate(scenario)
    ...     with outputs.writing() as place:
    ...         write_tables(result, place(Path("case")))
    """

    inputs: Iterable[Path]
    force: bool = False
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _made: list[Path] = field(default_factory=list)

    def add_folder(self, path: Path | None, option: str) -> None:
        if path is not None:
            self.targets.append(Target(_absolute(path), option, True, self.force))

    def add_file(
        self, path: Path | None, option: str, suffixes: tuple[str, ...] = (), replace=None
    ) -> None:
        if path is not None:
            replace = self.force if replace is None else replace
            self.targets.append(Target(_absolute(path), option, False, replace, suffixes))

    # -- before computing -----------------------------------------------------------------
    def __enter__(self) -> Outputs:
        self.check()
        try:
            for target in self.targets:
                if target.outer is None:
                    self._claim(target)
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def check(self) -> None:
        """Refuse every path that cannot or must not be written (see the module docstring)."""
        inputs = [Path(p).resolve() for p in self.inputs]
        for target in self.targets:
            if target.path.name == "":
                raise CxsimError(f"{target.path}: {target.option} cannot be the root folder")
            _check_nesting(target, self.targets)
            target.outer = _outermost(target, self.targets)
            _check_kind(target)
            _check_inputs(target, inputs)
            if target.outer is None:
                _check_parent(target.path)
                if target.folder:
                    _check_replaceable(target)
                elif target.path.exists() and not target.replace:
                    raise CxsimError(f"{target.path}: file exists; use --force to replace it")

    def _claim(self, target: Target) -> None:
        parent = target.path.parent
        try:
            self._made += _make_folders(parent)
            target.lock = Lock.take(parent / f".{target.path.name}.cxsim-lock")
        except Busy as busy:
            raise CxsimError(
                f"{target.path}: another cxsim run ({busy.owner}) is writing it; wait for it "
                f"to finish or choose another {target.option}"
            ) from None
        except OSError as exc:
            raise could_not_write(target.path, exc) from None
        if target.lock.stale:
            self.notes.append(f"{target.path}: a run writing it was stopped ({target.lock.stale})")
        self.notes += clean_leftovers(parent, target.path.name)

    def release(self) -> None:
        """Give up every claim; remove staging and the folders made for a run that wrote
        nothing."""
        for target in self.targets:
            if target.staging is not None:
                _remove(target.staging)
                target.staging = None
            if target.lock is not None:
                target.lock.release()
                target.lock = None
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty: something was written there
        self._made = []

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[Callable[[Path], Path]]:
        """Stage every target, give the writers ``place(path)`` (where to write ``path`` now),
        then swap them all in; on any failure or interrupt nothing is swapped in."""
        outer = [t for t in self.targets if t.outer is None and not t.written]
        try:
            for target in outer:
                target.staging = _staging_name(target)
                if target.folder:
                    target.staging.mkdir()
            yield self._place
            # Innermost first, so that an outer folder's marker lists the inner one's.
            for target in sorted(self.targets, key=lambda t: -len(t.path.parts)):
                if target.folder and _outermost_of(target) in outer:
                    _write_marker(target.place())
            _pause_for_tests()
            for target in outer:
                if target.folder or target.staging.exists():  # a file may go unwritten
                    _commit(target)
                    target.written = True
                target.staging = None
            self._made = []
        except OSError as exc:
            raise could_not_write(self._target_of(exc), exc) from None
        finally:
            for target in outer:
                if target.staging is not None:
                    _remove(target.staging)
                    target.staging = None

    def _place(self, path: Path) -> Path:
        wanted = _absolute(path)
        for target in self.targets:
            if target.path == wanted:
                return target.place()
        raise KeyError(f"{path} was not claimed")

    def _target_of(self, exc: OSError) -> Path:
        name = str(exc.filename or "")
        for target in self.targets:
            if target.outer is None and target.staging and name.startswith(str(target.staging)):
                return target.path
        return self.targets[0].path if self.targets else Path(name)


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _outermost_of(target: Target) -> Target:
    while target.outer is not None:
        target = target.outer
    return target


def _outermost(target: Target, targets: list[Target]) -> Target | None:
    """The outermost folder target holding ``target`` (for one path asked for twice, the
    first asked), whose staging folder it is then written into; None if none holds it."""
    around = [t for t in targets[: targets.index(target)] if t.folder and t.path == target.path]
    around += [t for t in targets if t.folder and t.path in target.path.parents]
    return min(around, key=lambda t: len(t.path.parts)) if around else None


def _check_nesting(target: Target, targets: list[Target]) -> None:
    for other in targets:
        if other is target or other.folder:
            continue
        if other.path == target.path or other.path in target.path.parents:
            raise CxsimError(
                f"{target.path}: {target.option} is the file {other.option} writes; "
                "give them different paths"
            )


def _check_kind(target: Target) -> None:
    path = target.path
    if target.folder and path.exists() and not path.is_dir():
        raise CxsimError(f"{path}: exists and is not a folder; {target.option} needs a folder")
    if not target.folder:
        if target.suffixes and path.suffix.lower() not in target.suffixes:
            endings = " or ".join(target.suffixes)
            raise CxsimError(f"{path}: {target.option} needs a file name ending in {endings}")
        if path.is_dir():
            raise CxsimError(f"{path}: is a folder; {target.option} needs a file name")


def _check_inputs(target: Target, inputs: list[Path]) -> None:
    resolved = target.path.resolve()
    for item in inputs:
        if item == resolved or resolved in item.parents:
            shown = _shown(item)
            if target.folder:
                raise CxsimError(
                    f"{target.path}: the folder holds the input {shown}; "
                    f"choose another {target.option}"
                )
            raise CxsimError(f"{target.path}: is the input {shown}; choose another {target.option}")


def _shown(path: Path) -> str:
    """Relative to the working folder when inside it, else in full."""
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if shown.startswith("..") else shown


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor must be a folder this process can write in."""
    ancestor = path.parent
    while not ancestor.exists() and not ancestor.is_symlink():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CxsimError(f"{path}: could not write: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CxsimError(f"{path}: could not write: permission denied in {ancestor}")


def _check_replaceable(target: Target) -> None:
    """An existing folder may be written only if empty, or with ``--force`` if cxsim wrote
    everything in it (its marker lists every file it holds)."""
    path = target.path
    if not path.is_dir():
        return
    present = sorted(_files_under(path))
    if not present and not any(path.iterdir()):
        return
    if not target.replace:
        raise CxsimError(
            f"{path}: folder exists and is not empty; use --force to replace it "
            "(only a results folder cxsim wrote)"
        )
    listed = _read_marker(path / MARKER)
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


def _files_under(folder: Path) -> Iterator[str]:
    """Every file and link under ``folder`` (links not followed), as relative POSIX paths."""
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            yield Path(os.path.relpath(os.path.join(root, name), folder)).as_posix()


def _write_marker(folder: Path) -> None:
    names = sorted(name for name in _files_under(folder) if name != MARKER)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    head = (
        f"{_MARKER_HEAD}: written by cxsim {__version__} on {stamp}. cxsim run --force may "
        "replace this folder while it holds only the files listed below.\n"
    )
    (folder / MARKER).write_text(head + "".join(f"{name}\n" for name in names), "utf-8")


def _read_marker(path: Path) -> set[str] | None:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head, _, rest = text.partition("\n")
    return set(rest.splitlines()) if head.startswith(_MARKER_HEAD) else None


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
    return list(reversed(missing))


def _staging_name(target: Target) -> Path:
    hex8 = uuid.uuid4().hex[:8]
    name = f".{target.path.name}.cxsim-staging-{hex8}{'' if target.folder else target.path.suffix}"
    return target.path.parent / name


def _commit(target: Target) -> None:
    """Swap the staged output in: rename the old aside, the new into place, drop the old."""
    staging, path = target.staging, target.path
    assert staging is not None
    if not target.folder:
        if path.exists() and not target.replace:  # appeared while the run computed
            raise CxsimError(f"{path}: file exists; use --force to replace it")
        os.replace(staging, path)
        return
    if not os.path.lexists(path):
        os.rename(staging, path)
        return
    _check_replaceable(target)  # again: files may have been added while the run computed
    old = path.parent / f".{path.name}.cxsim-old-{uuid.uuid4().hex[:8]}"
    os.rename(path, old)
    try:
        os.rename(staging, path)
    except BaseException:
        os.rename(old, path)
        raise
    _remove(old)  # if this fails, the next run writing here removes it


def clean_leftovers(parent: Path, name: str | None = None) -> list[str]:
    """Remove what runs stopped while writing left in ``parent``, and say what was done.

    Staging folders and files are removed; a folder renamed aside during a swap is put back
    if the swap did not finish, or removed if it did. Only leftovers whose target is claimed
    by this process (``name``) or by no live run (its lock can be taken) are touched.
    """
    notes = []
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return notes
    for entry in entries:
        match = _LEFTOVER.match(entry)
        if match is None:
            continue
        owner = match["name"]
        lock = None
        if owner != name:
            try:
                lock = Lock.take(parent / f".{owner}.cxsim-lock")
            except (Busy, OSError):
                continue  # a live run is writing it
        try:
            notes.append(_clean_one(parent, entry, owner, match["kind"]))
        except OSError as exc:
            notes.append(f"{parent / entry}: left by a stopped run; could not remove it: {exc}")
        finally:
            if lock is not None:
                lock.release()
    return notes


def _clean_one(parent: Path, entry: str, owner: str, kind: str) -> str:
    leftover, target = parent / entry, parent / owner
    if kind == "old" and not os.path.lexists(target):
        os.rename(leftover, target)
        return f"{target}: restored the previous results (a run replacing them was stopped)"
    _remove(leftover)
    return f"{leftover}: removed, left by a run that was stopped while writing {target}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _pause_for_tests() -> None:
    ready = os.environ.get(PAUSE_FOR_TESTS)
    if ready:
        Path(ready).write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while Path(ready).exists() and time.monotonic() < deadline:
            time.sleep(0.02)


__all__ = [
    "MARKER",
    "Outputs",
    "Target",
    "clean_leftovers",
    "could_not_write",
    "run_inputs",
]
