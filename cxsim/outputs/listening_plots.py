"""Chart of what listening is worth against respondents per wave
(:func:`cxsim.analysis.listening.listening_sweep`).

Like :mod:`cxsim.outputs.plotting`, it takes ``ax=None`` and returns the Axes; matplotlib is
imported only when a chart is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxsim.outputs.plotting import PROGRAMME_COLOUR, axes_or_new, legend

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

COST_COLOUR = "#d62728"


def plot_listening_sweep(sweep: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Gross value of listening (±2 MC errors) and its cost against respondents per wave;
    listening pays where the value line is above the cost line."""
    ax = axes_or_new(ax)
    n = sweep.index.to_numpy()
    gross = sweep["gross_value"].to_numpy()
    band = 2 * sweep["gross_mc_error"].fillna(0.0).to_numpy()
    ax.plot(n, gross, marker="o", color=PROGRAMME_COLOUR, label="value of the evidence (gross)")
    ax.fill_between(n, gross - band, gross + band, color=PROGRAMME_COLOUR, alpha=0.2)
    ax.plot(
        n, sweep["listening_cost_pv"], marker="s", color=COST_COLOUR, label="listening cost (PV)"
    )
    if "evpi" in sweep:
        ax.axhline(
            sweep["evpi"].iloc[0], color="grey", linestyle="--", label="EVPI (oracle − plan)"
        )
    ax.set(
        xlabel="respondents per wave",
        ylabel="present value",
        title="What listening is worth",
    )
    legend(ax)
    return ax
