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
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cxsim.errors import CxsimError
from cxsim.outputs.locks import Busy, Lock
from cxsim.outputs.targets import (
    MARKER,
    Target,
    check_inputs,
    check_kind,
    check_nesting,
    check_parent,
    check_replaceable,
    could_not_write,
    run_inputs,
    write_marker,
)

#: Test-only: when set to a file path, a run creates that file once its staged output is
#: complete, then waits while the file exists (up to a minute) before swapping it in, so that
#: tests can kill it, or start a second run, while it writes. Never set it otherwise.
PAUSE_FOR_TESTS = "CXSIM_TEST_PAUSE_WHILE_WRITING"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.cxsim-(?P<kind>staging|old)-[0-9a-f]{8}(\.[^.]*)?$")
# Before the names above, a results folder was staged as `.NAME-XXXXXXXX` (tempfile.mkdtemp):
# recognised as a leftover only when it holds nothing but the files cxsim then wrote.
_EARLIER = re.compile(r"^\.(?P<name>.+)-[a-z0-9_]{8}$")
_EARLIER_FILES = {
    "summary.csv", "outcomes.csv", "cash_flow_yearly.csv", "horizon.csv", "segment_economics.csv",
    "lagging_quantiles.csv", "leading_quantiles.csv", "cash_flow.csv", "leading.csv",
    "lagging.csv", "scenario.yaml", "run.json",
}  # fmt: skip


@dataclass
class Outputs:
    """The paths one run writes, checked and claimed together before it computes anything.

    Examples
    --------
    >>> import tempfile, cxsim
    >>> from cxsim.outputs.report import write_tables
    >>> scenario = cxsim.load_scenario("tests/scenarios/minimal.yaml")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     case = Path(folder) / "case"
    ...     outputs = Outputs(run_inputs(scenario), force=False)
    ...     outputs.add_folder(case, "--out")
    ...     with outputs:  # checked and claimed: nothing computed yet
    ...         result = cxsim.simulate(scenario, seed=1)
    ...         with outputs.writing() as place:  # staged, then swapped in
    ...             skipped = write_tables(result, place(case))
    ...     sorted(p.name for p in case.iterdir())[:3]
    ['.cxsim-results', 'cash_flow.csv', 'cash_flow_yearly.csv']
    """

    inputs: Iterable[Path]
    force: bool = False
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what claiming cleaned up after others
    on_note: Callable[[str], None] | None = None  # told each note as it is made
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
        self.check()  # before creating anything, so that a bad path fails at once
        try:
            for target in self.targets:
                if target.outer is None:
                    self._claim(target)
            self.check()  # again under the claims: leftovers may have been put back
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
            check_nesting(target, self.targets)
            target.outer = _outermost(target, self.targets)
            check_kind(target)
            check_inputs(target, inputs)
            if target.outer is None:
                check_parent(target.path)
                if target.folder:
                    check_replaceable(target)
                elif target.path.exists() and not target.replace:
                    raise CxsimError(f"{target.path}: file exists; use --force to replace it")

    def _claim(self, target: Target) -> None:
        parent = target.path.parent
        try:
            self._made += _make_folders(parent)
            # One lock file however the folder is spelled (relative, through a link).
            parent = parent.resolve()
            target.lock = Lock.take(parent / f".{target.path.name}.cxsim-lock")
        except Busy as busy:
            raise CxsimError(
                f"{target.path}: another cxsim run ({busy.owner}) is writing it; wait for it "
                f"to finish or choose another {target.option}"
            ) from None
        except OSError as exc:
            raise could_not_write(target.path, exc) from None
        notes = clean_leftovers(parent, target.path.name)
        if target.lock.stale:
            notes.insert(0, f"{target.path}: a run writing it was stopped ({target.lock.stale})")
        for note in notes:
            self.notes.append(note)
            if self.on_note is not None:
                self.on_note(note)

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
                    write_marker(target.place())
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
    check_replaceable(target)  # again: files may have been added while the run computed
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
        match = _LEFTOVER.match(entry) or _earlier_staging(parent, entry)
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
            kind = match.groupdict().get("kind") or "staging"
            notes.append(_clean_one(parent, entry, owner, kind))
        except OSError as exc:
            notes.append(f"{parent / entry}: left by a stopped run; could not remove it: {exc}")
        finally:
            if lock is not None:
                lock.release()
    return notes


def _earlier_staging(parent: Path, entry: str) -> re.Match[str] | None:
    match = _EARLIER.match(entry)
    if match is None or not (parent / entry).is_dir() or (parent / entry).is_symlink():
        return None
    try:
        names = set(os.listdir(parent / entry))
    except OSError:
        return None
    return match if names and names <= _EARLIER_FILES else None


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
