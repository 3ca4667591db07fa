"""How the calibration results print: fixed-decimal tables and the table of estimates.

The summaries are :class:`cxsim.outputs.fitted.Report` objects (text in a console, HTML in
Jupyter). :class:`~cxsim.outputs.fitted.Table` prints significant digits; the sBG and VoC
summaries print four decimals, which reads best for shares and probabilities and keeps their
columns aligned on the decimal point, so they use :class:`FixedTable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxsim.outputs.fitted import FitResult, Table

__all__ = ["FixedTable", "estimate_table"]


@dataclass
class FixedTable(Table):
    """A :class:`~cxsim.outputs.fitted.Table` whose floats show ``digits`` decimals.

    Examples
    --------
    >>> print(FixedTable("", pd.DataFrame({"x": [0.5, 12.0]}), index=False).as_text())
          x
     0.5000
    12.0000
    """

    def as_text(self) -> str:
        return self.frame.to_string(index=self.index, float_format=self._fixed)

    def as_html(self) -> str:
        return self.frame.to_html(index=self.index, float_format=self._fixed)

    def _fixed(self, value: float) -> str:
        return f"{value:.{self.digits}f}"


def estimate_table(fit: FitResult, intervals: bool = True) -> pd.DataFrame:
    """Estimate and standard error per parameter, and the 95% interval when ``intervals``.

    The layout of the sBG and lag summaries: one row per parameter, columns ``estimate``,
    ``se``, ``lower 95%``, ``upper 95%`` (from the fit's own ``conf_int``).
    """
    table = pd.DataFrame({"estimate": fit.params_, "se": fit.se_})
    if intervals:
        ci = fit.conf_int(0.95)
        table["lower 95%"], table["upper 95%"] = ci["lower"], ci["upper"]
    return table
