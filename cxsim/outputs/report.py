"""The business case as text, the results folder's tables and the charts.

Used by the CLI; both work on the public result objects only.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from cxsim.errors import CxsimError
from cxsim.outputs.provenance import Provenance
from cxsim.outputs.result import SimulationResult
from cxsim.outputs.summary import format_value
from cxsim.outputs.views import BaseResult

HORIZON_UNITS = {
    "customers": "count",
    "churn": "pct2",
    "retention_12m": "ratio",
    "nps": "points",
    "share_of_wallet": "ratio",
    "contacts_per_customer": "rate",
    "clv": "money",
    "revenue": "money",
    "profit": "money",
}


def business_case(result: BaseResult, provenance: Provenance | None = None) -> str:
    """A readable business case: where it came from (scenario, files, seed, draws, version,
    overrides), the summary, lagging indicators at the horizon, segment economics."""
    provenance = provenance or Provenance.of(result)
    lines = [provenance.header(), "", result.summary().to_text(title=False), ""]
    seed_note = f"seed {result.seed}, {result.draws} draw(s)"
    lines.append(
        f"Lagging indicators in month {result.horizon} (programme vs baseline; {seed_note})"
    )
    table = result.horizon_table()
    header = f"{'':24}{'programme':>16}{'baseline':>16}{'change':>14}"
    for segment in [*result.segments, "all"]:
        lines.append(f"  [{segment}]")
        lines.append("  " + header)
        for metric, row in table.loc[segment].iterrows():
            unit = HORIZON_UNITS.get(metric, "count")
            programme, baseline = _fmt(row["programme"], unit), _fmt(row["baseline"], unit)
            change = _fmt(row["change"], unit, signed=True)
            lines.append(f"    {metric:22}{programme:>16}{baseline:>16}{change:>14}")
    econ = result.segment_ranking()  # most valuable first
    costly = econ.index[econ["false_ideal_customer"]].tolist()
    lines.append("")
    lines.append(
        "Segment economics today, ranked by value after cost to serve "
        "(margin per customer per month; CLV; CAC):"
    )
    for segment, row in econ.iterrows():
        flag = "  <- costs more to serve than it earns" if row["false_ideal_customer"] else ""
        lines.append(
            f"  {row['rank']}. {segment:22}{row['margin_per_customer']:>10,.2f}   "
            f"CLV {row['clv']:>12,.0f}   CAC {row['cac']:>8,.0f}{flag}"
        )
    if costly:
        lines.append(
            "  Segments flagged above are 'false ideal customers': growing them destroys value."
        )
    return "\n".join(lines)


def _fmt(value: float, unit: str, signed: bool = False) -> str:
    if unit == "pct2":
        return f"{value:+.3%}" if signed else f"{value:.3%}"
    if unit == "rate":
        return f"{value:+.3f}" if signed else f"{value:.3f}"
    if unit == "ratio":
        return f"{value * 100:+.2f} pt" if signed else f"{value:.2%}"
    if unit == "points":
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    text = format_value(value, "money")
    return ("+" + text if value > 0 else text) if signed else text


class Written(list):
    """The files :func:`write_results` wrote (sorted paths), and ``skipped``: a sentence per
    table it did not write, saying why and how to get it."""

    def __init__(self, paths, skipped: list[str]):
        super().__init__(paths)
        self.skipped = skipped


def write_results(
    result: BaseResult,
    out: Path,
    *,
    force: bool = False,
    inputs: list[Path] | None = None,
    max_rows: int = 2_000_000,
    provenance: Provenance | None = None,
) -> Written:
    """Write the result's tables as CSV plus the resolved scenario into ``out``.

    Every result writes the summary, per-draw outcomes and yearly cash flow, the horizon
    table, segment economics and the monthly bands (``lagging_quantiles.csv``,
    ``leading_quantiles.csv``). A result that kept every draw's monthly arrays also writes
    the per-draw monthly tables ``cash_flow.csv``, ``leading.csv`` and, up to ``max_rows``
    rows, ``lagging.csv``; what is left out is listed in the return value's ``skipped``.
    ``run.json`` records the provenance (seed, draws, overrides, cxsim version, each input
    file's SHA-256, command line, date) so the folder can be re-run exactly.

    ``out`` must be new or empty, or, with ``force``, a folder cxsim wrote (the
    ``.cxsim-results`` file it writes lists its files) that holds none of ``inputs`` (by
    default the scenario's own files). The folder is claimed against other runs, written
    beside ``out`` and swapped in only when complete, so a failure never leaves a
    half-written results folder (see :mod:`cxsim.outputs.folders`).
    """
    from cxsim.outputs.folders import Outputs, run_inputs

    outputs = Outputs(run_inputs(result.scenario) if inputs is None else inputs, force=force)
    outputs.add_folder(out, "out")
    with outputs, outputs.writing() as place:
        skipped = write_tables(result, place(out), max_rows=max_rows, provenance=provenance)
    return Written(sorted(p for p in Path(out).iterdir() if p.name != ".cxsim-results"), skipped)


def write_tables(
    result: BaseResult,
    folder: Path,
    *,
    max_rows: int = 2_000_000,
    provenance: Provenance | None = None,
) -> list[str]:
    """Write what :func:`write_results` describes into the existing ``folder``; return a
    sentence per table not written."""
    tables: dict[str, pd.DataFrame] = {
        "summary.csv": result.summary().frame,
        "outcomes.csv": result.outcomes,
        "cash_flow_yearly.csv": result.yearly_cash_flow,
        "horizon.csv": result.horizon_table(),
        "segment_economics.csv": result.segment_economics(),
        "lagging_quantiles.csv": result.quantiles(),
        "leading_quantiles.csv": result.leading_quantiles(),
    }
    skipped = []
    if isinstance(result, SimulationResult):
        tables["cash_flow.csv"] = result.cash_flow
        tables["leading.csv"] = result.leading
        rows = len(result.metric_names) * (len(result.segments) + 1) * 2 * result.draws
        rows *= result.horizon
        if rows <= max_rows:
            tables["lagging.csv"] = result.frame
        else:
            skipped.append(
                f"lagging.csv (every draw's monthly lagging indicators) would have {rows:,} "
                f"rows, more than {max_rows:,}: lagging_quantiles.csv holds their bands; for "
                "the draws themselves use result.frame_of(metric) in Python, or fewer draws"
            )
    else:
        skipped.append(
            "cash_flow.csv, leading.csv and lagging.csv (every draw's monthly values) need "
            "the per-draw monthly arrays, which this run did not keep (keep='summary'): "
            "run with --keep all to write them; the bands are in *_quantiles.csv"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        index = name in ("summary.csv", "horizon.csv", "segment_economics.csv", "outcomes.csv")
        table.to_csv(folder / name, index=index)
    result.scenario.to_yaml(folder / "scenario.yaml")
    (provenance or Provenance.of(result)).write_json(folder / "run.json")
    return skipped


def save_figure(ax, path: Path) -> Path:
    """Save the figure holding ``ax`` as PNG and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figure = ax.figure
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Drawn beside the target and renamed into place: never a half-written image.
    staging = path.with_name(f".{path.name}.cxsim-staging-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        # legends sit outside the axes
        figure.savefig(staging, dpi=120, bbox_inches="tight", format=path.suffix[1:] or "png")
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)
    return path


def write_plots(
    result: BaseResult, folder: Path, sensitivity=None, waterfall=None, group_values=None
) -> list[Path]:
    """The standard charts of a result as PNG files in ``folder`` (created if needed).

    ``sensitivity`` (a tornado table), ``waterfall`` (a lever waterfall) and ``group_values``
    (:func:`cxsim.group_values`: Shapley shares beside losses if dropped) add their charts.
    """
    from cxsim.outputs import plotting

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CxsimError(f"{folder}: exists and is not a folder")
    charts = {
        "leading.png": lambda: plotting.plot_leading(result),
        "timeline.png": lambda: plotting.plot_timeline(result),
        "cash_flow.png": lambda: plotting.plot_cash_flow(result),
        "npv_histogram.png": lambda: plotting.plot_npv_histogram(result),
    }
    for metric in ("customers", "churn", "nps", "clv", "revenue", "profit"):
        charts[f"fan_{metric}.png"] = lambda m=metric: plotting.plot_lagging(result, m)
    if sensitivity is not None:
        charts["tornado.png"] = lambda: plotting.plot_tornado(sensitivity)
    if waterfall is not None:
        charts["waterfall.png"] = lambda: plotting.plot_waterfall(waterfall)
    if group_values is not None:
        charts["waterfall_groups.png"] = lambda: plotting.plot_waterfall(
            group_values, title="What each work group is worth"
        )
    if result.capabilities:
        charts["maturity.png"] = lambda: plotting.plot_maturity(result)
    return [save_figure(draw(), folder / name) for name, draw in charts.items()]
