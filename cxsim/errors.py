"""The exceptions cxsim raises for bad user input.

Every error a user can cause derives from :class:`CxsimError`, so a caller can
catch one class; library code never prints and never exits.
"""

from __future__ import annotations

import itertools
import reprlib
from dataclasses import dataclass
from typing import Any


class CxsimError(Exception):
    """Root of every error cxsim raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, what, the bad value and what is allowed."""

    file: str
    path: str
    message: str
    got: Any = None
    allowed: str | None = None
    has_got: bool = True

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        where += f"{self.path}: " if self.path else ""
        tail = []
        if self.has_got:
            tail.append(f"got {_show(self.got)}")
        if self.allowed:
            tail.append(f"allowed {self.allowed}")
        suffix = f" ({'; '.join(tail)})" if tail else ""
        return f"{where}{self.message}{suffix}"


class _Short(reprlib.Repr):
    """Values cut while they are rendered, never rendered whole and cut after: a value built
    from nested YAML aliases can stand for billions of items, and Python refuses to write an
    integer of more than 4,300 digits."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 4, 200, 60, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 6

    def repr_dict(self, x: dict, level: int) -> str:
        # In the order written (reprlib would sort the keys).
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [
            f"{self.repr1(key, level - 1)}: {self.repr1(x[key], level - 1)}"
            for key in itertools.islice(x, self.maxdict)
        ]
        more = ", ..." if len(x) > self.maxdict else ""
        return "{" + ", ".join(items) + more + "}"

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 1000:
            return f"<an integer of {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def _show(value: Any) -> str:
    if isinstance(value, float):
        # Keep "24.0" visible where a whole number was expected.
        return repr(value) if value.is_integer() else f"{value:g}"
    text = _SHORT.repr(value)
    if isinstance(value, str):
        return text
    return text if len(text) <= 60 else text[:57] + "..."


class ScenarioError(CxsimError):
    """A scenario file (or mapping) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("", "", problems, has_got=False)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CalibrationError(CxsimError):
    """Data handed to a calibration fit cannot be used; the message names the problem."""
