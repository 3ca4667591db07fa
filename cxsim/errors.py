"""The exceptions cxsim raises for bad user input.

Every error a user can cause derives from :class:`CxsimError`, so a caller can
catch one class; library code never prints and never exits.
"""

from __future__ import annotations

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


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        # Keep "24.0" visible where a whole number was expected.
        return repr(value) if value.is_integer() else f"{value:g}"
    text = repr(value)
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
