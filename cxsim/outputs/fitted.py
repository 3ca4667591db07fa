"""What every fitted result shares: estimates with standard errors, intervals, a summary.

:class:`FitResult` is the base of the calibration fits (sBG retention, VoC, perception lag)
and of the optimiser's result. Attributes ending in ``_`` are fitted values (the lifetimes /
scikit-learn convention):

- ``params_`` and ``se_``: Series of estimates and standard errors, indexed by parameter (or
  by ``(segment, parameter)`` for per-segment fits);
- ``estimates_``: the tidy table ``segment, parameter, estimate, se, lower, upper``;
- ``conf_int(level)``: ``lower``, ``upper`` per parameter;
- ``summary()``: a :class:`Report`, text in a console and HTML in Jupyter;
- ``plot(ax=None)`` returns the Axes; ``to_yaml(path, ...)`` writes what a scenario includes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from cxsim.errors import CxsimError

__all__ = ["FitResult", "Report", "Table", "check_level"]

#: The segment label of a fit that pools all the data it was given.
POOLED = "all"


@dataclass
class Table:
    """One table of a :class:`Report`: a caption, the frame and how to show its numbers."""

    caption: str
    frame: pd.DataFrame
    digits: int = 4
    index: bool = True

    def _formatter(self):
        return lambda v: f"{v:.{self.digits}g}"

    def as_text(self) -> str:
        return self.frame.to_string(index=self.index, float_format=self._formatter())

    def as_html(self) -> str:
        return self.frame.to_html(index=self.index, float_format=self._formatter())


@dataclass
class Report:
    """A summary that prints as text and renders as HTML in Jupyter (as statsmodels' does).

    Examples
    --------
    >>> report = Report("Fit", ["rows used: 10"], [Table("Estimates", pd.DataFrame({"x": [1.5]}))])
    >>> print(report)
    Fit
    ===
    rows used: 10
    <BLANKLINE>
    Estimates
        x
    0 1.5
    """

    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        out = [self.title, "=" * len(self.title), *self.lines]
        for table in self.tables:
            out += ["", table.caption, table.as_text()] if table.caption else ["", table.as_text()]
        if self.notes:
            out += ["", "Notes", *(f"- {note}" for note in self.notes)]
        return "\n".join(out)

    def as_html(self) -> str:
        parts = [f"<h4>{html.escape(self.title)}</h4>"]
        if self.lines:
            parts.append("<p>" + "<br>".join(html.escape(line) for line in self.lines) + "</p>")
        for table in self.tables:
            if table.caption:
                parts.append(f"<h5>{html.escape(table.caption)}</h5>")
            parts.append(table.as_html())
        if self.notes:
            items = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
            parts.append(f"<p>Notes</p><ul>{items}</ul>")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


class FitResult:
    """Base of fitted results; subclasses set ``params_`` and ``se_`` and write the rest.

    ``conf_int`` defaults to normal intervals ``estimate ± z·se``; a fit with a better
    interval (log-scale Wald, bootstrap percentiles) overrides it, and ``estimates_``
    follows.
    """

    params_: pd.Series
    se_: pd.Series
    #: Confidence level of the intervals in ``estimates_``.
    level: float = 0.95
    #: The error raised for bad arguments (calibration fits raise CalibrationError).
    error: type[CxsimError] = CxsimError

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Intervals ``lower``, ``upper`` per parameter at ``level`` (normal approximation)."""
        z = stats.norm.ppf(0.5 + check_level(level, self.error) / 2)
        return pd.DataFrame(
            {"lower": self.params_ - z * self.se_, "upper": self.params_ + z * self.se_}
        )

    @property
    def estimates_(self) -> pd.DataFrame:
        """Tidy table: ``segment, parameter, estimate, se, lower, upper`` (at ``level``)."""
        ci = self.conf_int(self.level)
        index = self.params_.index
        if isinstance(index, pd.MultiIndex):
            segment = list(index.get_level_values(0))
            parameter = list(index.get_level_values(1))
        else:
            segment, parameter = [POOLED] * len(index), list(index)
        return pd.DataFrame(
            {
                "segment": list(segment),
                "parameter": list(parameter),
                "estimate": self.params_.to_numpy(dtype=float),
                "se": self.se_.reindex(index).to_numpy(dtype=float),
                "lower": ci["lower"].reindex(index).to_numpy(dtype=float),
                "upper": ci["upper"].reindex(index).to_numpy(dtype=float),
            }
        )

    def summary(self) -> Report:
        raise NotImplementedError

    def plot(self, ax=None):
        raise NotImplementedError

    def to_yaml(self, path, *args: Any, **kwargs: Any):
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def check_level(level: Any, error: type[CxsimError] = CxsimError) -> float:
    """``level`` as a float if it is a probability strictly between 0 and 1, else ``error``."""
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise error(f"level must lie in (0, 1), got {level!r}")
    return float(level)
