"""Charts of the global sensitivity analysis (:mod:`cxsim.analysis.global_sensitivity`).

Like :mod:`cxsim.outputs.plotting`, every function takes ``ax=None`` and returns the Axes;
matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cxsim.outputs.plotting import PROGRAMME_COLOUR, axes_or_new, legend

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

FIRST_ORDER_COLOUR = "#ff7f0e"


def plot_sobol(table: pd.DataFrame, ax: Axes | None = None, top: int = 12) -> Axes:
    """Horizontal bars of each input's first-order (S1) and total (ST) Sobol' index.

    ``table`` is :func:`cxsim.sobol`'s frame; the ``top`` inputs by ``ST`` are drawn,
    largest at the top, with their confidence intervals as error bars.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"input": ["a", "b"], "S1": [0.7, 0.2], "S1_conf": [0.05, 0.03],
    ...      "ST": [0.75, 0.22], "ST_conf": [0.04, 0.02]}
    ... )
    >>> ax = plot_sobol(table)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['b', 'a']
    """
    ax = axes_or_new(ax, (10, 5))
    rows = table.head(top).iloc[::-1]
    y = np.arange(len(rows))
    height = 0.38
    level = table.attrs.get("level")
    interval = f" ({level:.0%} interval)" if level else " (with interval)"
    ax.barh(
        y + height / 2,
        rows["ST"],
        height,
        xerr=rows["ST_conf"],
        color=PROGRAMME_COLOUR,
        error_kw={"elinewidth": 0.8, "capsize": 2},
        label="ST: total, with interactions" + interval,
    )
    ax.barh(
        y - height / 2,
        rows["S1"],
        height,
        xerr=rows["S1_conf"],
        color=FIRST_ORDER_COLOUR,
        error_kw={"elinewidth": 0.8, "capsize": 2},
        label="S1: first order, alone" + interval,
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, rows["input"])
    outcome = str(table.attrs.get("outcome", "npv"))
    name = "NPV" if outcome == "npv" else outcome.replace("_", " ")
    ax.set(
        xlabel=f"Share of the variance of {name}",
        xlim=(min(0.0, float((rows["S1"] - rows["S1_conf"]).min()) - 0.02), None),
        title=f"What drives the variance of {name} (Sobol' indices)",
    )
    legend(ax)
    return ax


def plot_variance_shares(table: pd.DataFrame, ax: Axes | None = None, top: int = 12) -> Axes:
    """Horizontal bars of :func:`cxsim.variance_shares`, with R² in the title.

    Bars are coloured by the sign of the input's rank coefficient (does a higher value raise
    or lower the outcome).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"input": ["a", "b"], "share": [0.6, 0.3], "srrc": [0.77, -0.55]})
    >>> table.attrs["r2"] = 0.9
    >>> plot_variance_shares(table).get_title()
    'What drives the variance of NPV (rank regression, R² = 90%)'
    """
    ax = axes_or_new(ax, (10, 5))
    rows = table.head(top).iloc[::-1]
    y = np.arange(len(rows))
    rising = rows["srrc"].to_numpy() >= 0
    for mask, colour, label in (
        (rising, PROGRAMME_COLOUR, "higher input raises it"),
        (~rising, "#d62728", "higher input lowers it"),
    ):
        if mask.any():
            ax.barh(y[mask], rows["share"].to_numpy()[mask], color=colour, label=label)
    ax.set_yticks(y, rows["input"])
    outcome = str(table.attrs.get("outcome", "npv"))
    name = "NPV" if outcome == "npv" else outcome.replace("_", " ")
    r2 = table.attrs.get("r2")
    fit = f", R² = {r2:.0%}" if r2 is not None else ""
    ax.set(
        xlabel=f"Share of the variance of {name}'s ranks",
        xlim=(0, None),
        title=f"What drives the variance of {name} (rank regression{fit})",
    )
    legend(ax)
    return ax
