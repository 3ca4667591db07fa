"""Plots of a simulation result: every function takes ``ax=None`` and returns the Axes.

matplotlib is imported lazily, so importing cxsim never needs a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cxsim.outputs.axes import money_axis, percent_axis  # money_axis: part of this API

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cxsim.outputs.views import BaseResult

PROGRAMME_COLOUR = "#1f77b4"
BASELINE_COLOUR = "#7f7f7f"
METRIC_LABELS = {
    "customers": "Customers",
    "churn": "Monthly churn",
    "retention_12m": "12-month retention",
    "nps": "NPS",
    "clv": "Forward CLV per customer",
    "share_of_wallet": "Share of wallet",
    "contacts_per_customer": "Contacts per customer per month",
    "revenue": "Revenue per month",
    "profit": "Profit per month",
    "referrals": "Referred customers per month",
    "market_share": "Market share",
}


def legend(ax: Axes, **options) -> None:
    """A legend outside the plot area, on the right.

    The location is explicit: matplotlib's default ``loc="best"`` searches for a free spot
    and warns when that is slow on a busy machine; outside the axes it never hides data.
    """
    ax.legend(
        **{"fontsize": "small", "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), **options}
    )


def axes_or_new(ax: Axes | None, size: tuple[float, float] = (7, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)[1]


def _band(band: tuple[float, float]) -> str:
    """``(0.05, 0.95)`` → ``"p5–p95"``; ``(0.1, 0.9)`` → ``"p10–p90"``."""
    return f"p{band[0] * 100:g}–p{band[1] * 100:g}"


def plot_leading(result: BaseResult, ax: Axes | None = None) -> Axes:
    """Leading indicators ``L_g(t)`` per work group (median over draws)."""
    return _median_paths(
        result,
        [("leading", g) for g in result.work_groups],
        ax,
        ylabel="Share of the group's gaps closed",
        title="Leading indicators: CX progress per work group",
    )


def _median_paths(result: BaseResult, keys: list[tuple], ax, *, ylabel: str, title: str) -> Axes:
    """One line per monthly quantity: its median over draws, on a 0..1 scale."""
    ax = axes_or_new(ax)
    months = np.arange(result.horizon)
    for key in keys:
        ax.plot(months, result.band(key).p50, label=key[-1].replace("_", " "))
    ax.set(xlabel="Month", ylabel=ylabel, ylim=(0, 1.02), title=title)
    if keys:
        legend(ax)
    return ax


# Lagging indicators that are shares of customers, plotted as percentages.
SHARE_METRICS = ("churn", "retention_12m", "share_of_wallet", "promoters", "detractors")
SHARE_METRICS += ("market_share",)


def plot_lagging(
    result: BaseResult,
    metric: str = "customers",
    segment: str = "all",
    ax: Axes | None = None,
    band: tuple[float, float] = (0.05, 0.95),
) -> Axes:
    """A lagging metric over time, programme against baseline; a fan (p5–p95) with many draws."""
    ax = axes_or_new(ax)
    key = ("metric", metric, segment)
    median = result.band(key).p50  # (arm, month)
    if result.draws > 1:
        lo, hi = result.quantile(key, band[0]), result.quantile(key, band[1])
    months = np.arange(result.horizon)
    for arm, colour, label in (
        (1, BASELINE_COLOUR, "baseline"),
        (0, PROGRAMME_COLOUR, "programme"),
    ):
        ax.plot(
            months,
            median[arm],
            color=colour,
            label=f"{label} (median)" if result.draws > 1 else label,
            linestyle="--" if arm else "-",
        )
        if result.draws > 1:
            ax.fill_between(
                months, lo[arm], hi[arm], color=colour, alpha=0.2, label=f"{label} {_band(band)}"
            )
    title = METRIC_LABELS.get(metric, metric)
    if metric in ("revenue", "profit", "clv", "cost_to_serve", "acquisition_cost"):
        money_axis(ax.yaxis)
    elif metric in SHARE_METRICS:
        percent_axis(ax.yaxis)
    ax.set(xlabel="Month", ylabel=title, title=f"{title} — {segment}")
    legend(ax)
    return ax


plot_fan = plot_lagging


def plot_cash_flow(
    result: BaseResult,
    ax: Axes | None = None,
    discounted: bool = False,
    band: tuple[float, float] = (0.05, 0.95),
) -> Axes:
    """Cumulative incremental cash flow with the payback month (band across draws)."""
    ax = axes_or_new(ax)
    key = ("cash", "discounted_cumulative" if discounted else "cumulative")
    months = np.arange(1, result.horizon + 1)
    ax.plot(
        months,
        result.band(key).p50,
        color=PROGRAMME_COLOUR,
        label="cumulative cash (median)" if result.draws > 1 else "cumulative cash",
    )
    if result.draws > 1:
        lo, hi = result.quantile(key, band[0]), result.quantile(key, band[1])
        ax.fill_between(months, lo, hi, color=PROGRAMME_COLOUR, alpha=0.2, label=_band(band))
    ax.axhline(0, color="black", linewidth=0.8)
    column = "discounted_payback_months" if discounted else "payback_months"
    payback = result.outcomes[column].to_numpy()
    paid = payback[~np.isnan(payback)]
    if paid.size:
        if result.draws > 1:
            lo_m, hi_m = np.quantile(paid, band)
            ax.axvspan(lo_m, hi_m, color="green", alpha=0.12, label=f"payback {_band(band)}")
        ax.axvline(
            np.median(paid),
            color="green",
            linestyle=":",
            label=f"payback ≈ month {np.median(paid):.0f}",
        )
    money_axis(ax.yaxis)
    ax.set(
        xlabel="Month",
        ylabel="Cumulative incremental cash" + (" (PV)" if discounted else ""),
        title="Cumulative cash flow of the programme",
    )
    legend(ax)
    return ax


def plot_timeline(result: BaseResult, segment: str = "all", ax: Axes | None = None) -> Axes:
    """Leading vs lagging: gap closure, perceived closure and the churn change over time.

    Closure and perception are medians over draws; the churn change compares the mean monthly
    churn of the two arms.
    """
    ax = axes_or_new(ax)
    months = np.arange(result.horizon)
    ax.plot(months, result.band(("closure", segment)).p50, label="gap closure G (leading)")
    ax.plot(months, result.band(("perceived", segment)).p50, label="perceived closure X")
    churn = result.band(("metric", "churn", segment)).mean  # (arm, month)
    cut = 1 - np.divide(churn[0], churn[1], out=np.ones_like(churn[0]), where=churn[1] > 0)
    ax.plot(months, cut, label="churn reduction vs baseline (lagging)", linestyle="--")
    ax.set(xlabel="Month", ylabel="Share", title=f"Leading to lagging — {segment}")
    legend(ax)
    return ax


def plot_npv_histogram(result: BaseResult, ax: Axes | None = None, bins: int = 50) -> Axes:
    """Distribution of NPV across draws, marking zero and P(NPV > 0)."""
    ax = axes_or_new(ax)
    npv = result.outcomes["npv"].to_numpy()
    ax.hist(npv, bins=bins, color=PROGRAMME_COLOUR, alpha=0.8)
    ax.axvline(0, color="black", linewidth=1)
    ax.axvline(np.median(npv), color="green", linestyle=":", label=f"median {np.median(npv):,.0f}")
    share = float((npv > 0).mean())
    money_axis(ax.xaxis)
    ax.set(xlabel="NPV", ylabel="Draws", title=f"NPV distribution — P(NPV > 0) = {share:.0%}")
    legend(ax)
    return ax


def plot_tornado(table, ax: Axes | None = None, top: int = 12) -> Axes:
    """Tornado of :func:`cxsim.analysis.sensitivity.tornado`: NPV at each input's p10 and p90."""
    ax = axes_or_new(ax, (10, 5))
    rows = table.head(top).iloc[::-1]
    base = float(rows["base"].iloc[0])
    y = np.arange(len(rows))
    low, high = table.attrs.get("low_label", "p10"), table.attrs.get("high_label", "p90")
    ax.barh(
        y, rows["npv_low"] - base, left=base, color="#d62728", alpha=0.8, label=f"input at {low}"
    )
    ax.barh(
        y,
        rows["npv_high"] - base,
        left=base,
        color=PROGRAMME_COLOUR,
        alpha=0.8,
        label=f"input at {high}",
    )
    ax.axvline(base, color="black", linewidth=0.8)
    ax.set_yticks(y, rows["label"] if "label" in rows else rows["input"])
    money_axis(ax.xaxis)
    ax.set(xlabel="NPV", title="What moves the NPV (others at their medians)")
    legend(ax)
    return ax


def plot_waterfall(
    table,
    ax: Axes | None = None,
    title: str = "Where the NPV comes from",
    values=None,
) -> Axes:
    """Waterfall of :mod:`cxsim.analysis.attribution`: bars step from 0 to the NPV (last row).

    ``table`` is a waterfall (``component`` and ``value``, the NPV last) or the frame of
    :func:`cxsim.group_values`, whose Shapley shares step to the full plan's NPV. With group
    values (that frame, or ``values=`` beside a ``waterfall_by_group`` table) each item's
    loss if dropped is drawn as an outlined bar beside its share, from the same base, and
    why the two differ is noted under the chart: a leader deciding what to cut reads the
    outlined bars.
    """
    if "shapley" in table.columns:
        values = table if values is None else values
        table = _waterfall_of(table)
    ax = axes_or_new(ax, (9, 5))
    parts = table.iloc[:-1]
    total = float(table["value"].iloc[-1])
    starts = np.concatenate([[0.0], np.cumsum(parts["value"].to_numpy())[:-1]])
    colours = ["#2ca02c" if v >= 0 else "#d62728" for v in parts["value"]]
    x = np.arange(len(parts) + 1)
    dropped = np.full(len(parts), np.nan)
    if values is not None:
        known = values["if_dropped"].reindex(parts["component"])
        dropped = known.to_numpy(dtype=float)
    marked = ~np.isnan(dropped)
    if marked.any():
        shares = parts["value"].to_numpy(dtype=float)
        ax.bar(x[:-1] - 0.15, shares, 0.5, bottom=starts, color=colours, label="Shapley share")
        ax.bar(
            x[:-1][marked] + 0.25,
            dropped[marked],
            0.3,
            bottom=starts[marked],
            fill=False,
            edgecolor="0.25",
            hatch="///",
            label="lost if dropped from the full plan",
        )
        for k in np.flatnonzero(marked):
            for offset, value in ((-0.15, shares[k]), (0.25, dropped[k])):
                ax.annotate(
                    _short_money(value),
                    (x[k] + offset, starts[k] + max(value, 0.0)),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize="x-small",
                )
        import textwrap

        notes = getattr(values, "attrs", {}).get("notes") or [_WHY_THEY_DIFFER]
        ax.set_xlabel(textwrap.fill(notes[0], 110), fontsize="small")
    else:
        ax.bar(x[:-1], parts["value"], bottom=starts, color=colours)
    ax.bar(x[-1], total, color=PROGRAMME_COLOUR)
    ax.set_xticks(x, [*parts["component"], "NPV"], rotation=30, ha="right")
    ax.axhline(0, color="black", linewidth=0.8)
    ends = (starts + dropped)[marked]
    tops = np.concatenate([starts + parts["value"].to_numpy(), starts, ends, [total, 0.0]])
    span = tops.max() - tops.min()
    ax.set_ylim(tops.min() - 0.05 * span, tops.max() + 0.08 * span)  # room above the bars
    money_axis(ax.yaxis)
    ax.set(ylabel="Expected NPV contribution", title=title)
    if marked.any():
        legend(ax)
    return ax


# For group values given without their notes (plot_waterfall's values= from another source).
_WHY_THEY_DIFFER = (
    "Shapley (filled bars) averages each item's contribution over every order of funding; "
    "the outlined bars are the loss if it is dropped from the full plan"
)


def _waterfall_of(values):
    """A waterfall table from the frame of :func:`cxsim.group_values`."""
    import pandas as pd

    total = values.attrs.get("npv", float(values["shapley"].sum()))
    return pd.DataFrame(
        {
            "component": [*values.index, "NPV"],
            "value": [*values["shapley"], total],
        }
    )


def _short_money(value: float) -> str:
    """``2.0M``, ``-350k``: a bar label short enough to sit above a narrow bar."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    return f"{value / 1e3:.0f}k"


def plot_assessment(scores, ax: Axes | None = None, title: str = "CX maturity assessment") -> Axes:
    """Radar chart of a 15-dimension maturity assessment (scores 1–5).

    ``ax`` must be a polar Axes when given (``subplot_kw={"projection": "polar"}``).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(7, 7), subplot_kw={"projection": "polar"})[1]
    labels = list(scores)
    values = np.array([scores[k] for k in labels], dtype=float)
    angles = np.linspace(0, 2 * np.pi, len(labels), endpoint=False)
    ax.plot(np.append(angles, angles[0]), np.append(values, values[0]), color=PROGRAMME_COLOUR)
    ax.fill(angles, values, color=PROGRAMME_COLOUR, alpha=0.25)
    ax.set_xticks(angles, [label.replace("_", " ") for label in labels], fontsize="small")
    ax.set_ylim(0, 5)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.set_rlabel_position(360 / len(labels) / 2)  # score labels between two spokes
    ax.set_title(title)
    return ax


def plot_maturity(result: BaseResult, ax: Axes | None = None) -> Axes:
    """Capability maturity over time (median over draws)."""
    return _median_paths(
        result,
        [("maturity", c) for c in result.capabilities],
        ax,
        ylabel="Maturity (0..1)",
        title="Operating-model capabilities",
    )
