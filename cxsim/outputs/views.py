"""What every simulation result offers, however much of the run it kept.

A run keeps either every draw's monthly arrays (``keep="all"``,
:class:`~cxsim.outputs.result.SimulationResult`) or, for large runs, the per-draw outcomes and
monthly statistics streamed chunk by chunk (``keep="summary"``,
:class:`~cxsim.outputs.streamed.SummaryResult`). Both answer the questions people ask — the
business case, its Monte Carlo error, the bands over months, the lagging indicators at a month,
the segment economics, the workbook — through :class:`BaseResult`, which each fills in with a
few primitives: ``outcomes``, ``band(key)``, ``means_at(...)`` and ``yearly(name)``.

A *key* names a monthly quantity: ``("metric", name, segment)`` for a lagging indicator (arms
programme and baseline), ``("leading", group)``, ``("closure", segment)``, ``("perceived",
segment)``, ``("maturity", capability)``, ``("mechanism", name)``, ``("promise_gap",
segment)``, ``("acquisition_factor",)``, ``("cash", "cumulative" | "discounted_cumulative")``
``("lever", lever)`` for the incremental profit a money lever brings (docs/model.md §5), and
``("cost", item, "one_time" | "running")`` for a work group's or capability's cost lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxsim.errors import CxsimError
from cxsim.model.engine import ARMS, SEGMENT_METRICS
from cxsim.model.operating_model import modelled_capabilities
from cxsim.model.responses import LEVERS
from cxsim.outputs.mc_error import mean_se, proportion_se, quantile_se
from cxsim.outputs.summary import Summary
from cxsim.scenario.shifts import shift_names

if TYPE_CHECKING:
    from cxsim.outputs.provenance import Provenance
    from cxsim.scenario import Scenario

ALL = "all"
#: The quantiles every band keeps (streamed runs keep these and no others).
QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}
HORIZON_METRICS = (
    "customers",
    "churn",
    "retention_12m",
    "nps",
    "share_of_wallet",
    "contacts_per_customer",
    "clv",
    "revenue",
    "profit",
)
#: Per-draw yearly sums every result keeps, (draw, year).
YEARLY = ("programme_cost", "incremental_profit", "incremental_cash_flow")
#: The parts of an item's monthly cost: ``("cost", item, part)`` bands.
COST_PARTS = ("total", "one_time", "running")
#: The incremental profit by money lever (docs/model.md §5): these add up to incremental_profit.
LEVER_LINES = tuple(f"benefit_{lever}" for lever in LEVERS)
STATISTICS = ("mean", "p5", "p50", "p95", "p_positive")


@dataclass
class Band:
    """A monthly quantity over draws: mean, standard deviation and the kept quantiles."""

    mean: np.ndarray
    sd: np.ndarray
    p5: np.ndarray
    p50: np.ndarray
    p95: np.ndarray

    def quantile(self, q: float) -> np.ndarray:
        for name, level in QUANTILES.items():
            if np.isclose(q, level):
                return getattr(self, name)
        raise CxsimError(
            f"this result keeps the quantiles {', '.join(QUANTILES)} of its monthly values, not "
            f"{q:g}; run with keep='all' to draw other bands"
        )


class BaseResult:
    """The views shared by full and streamed results (see the module docstring)."""

    scenario: Scenario
    seed: int
    levers: tuple[str, ...] = LEVERS
    #: "all" (every draw's monthly arrays) or "summary" (outcomes and monthly statistics).
    keep: str = "all"
    #: What the run wants its reader to know (e.g. how many draws a target error took).
    notes: list[str]

    # -- primitives each kind of result provides --------------------------------------------
    @property
    def draws(self) -> int:
        raise NotImplementedError

    @property
    def outcomes(self) -> pd.DataFrame:
        raise NotImplementedError

    @property
    def npv(self) -> np.ndarray:
        """NPV per draw, (draw,)."""
        return self.outcomes["npv"].to_numpy()

    def band(self, key: tuple) -> Band:
        raise NotImplementedError

    def quantile(self, key: tuple, q: float) -> np.ndarray:
        return self.band(key).quantile(q)

    def means_at(self, name: str, segment: str, months: list[int]) -> np.ndarray:
        """Draw means of a lagging indicator at some months, (arm, month)."""
        raise NotImplementedError

    def yearly(self, name: str) -> np.ndarray:
        """Per-draw yearly sums (draw, year) of one of :data:`YEARLY` or :data:`LEVER_LINES`."""
        raise NotImplementedError

    # -- shape -----------------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        return self.scenario.horizon_months

    @property
    def segments(self) -> list[str]:
        return list(self.scenario.segments)

    @property
    def work_groups(self) -> list[str]:
        return list(self.scenario.work_groups)

    @property
    def capabilities(self) -> list[str]:
        """Capabilities the run modelled."""
        return modelled_capabilities(self.scenario)

    @property
    def shifts(self) -> list[str]:
        """Acquisition shifts' labels, ``from->to`` (cost items after the capabilities)."""
        return shift_names(list(self.scenario.acquisition_shifts))

    @property
    def has_market_size(self) -> bool:
        return any(s.market_size is not None for s in self.scenario.segments.values())

    @property
    def metric_names(self) -> list[str]:
        names = [*SEGMENT_METRICS, "nps"]
        if self.has_market_size:
            names.append("market_share")
        return names

    def labels_for(self, metric: str) -> list[str]:
        """Segments (and ``all``) a metric is reported for: market share needs a market size."""
        if metric == "market_share":
            sized = [s for s in self.segments if self.scenario.segments[s].market_size is not None]
            return [*sized, ALL]
        return [*self.segments, ALL]

    def band_keys(self) -> list[tuple]:
        """Every monthly quantity a result can show as a band (see the module docstring)."""
        keys: list[tuple] = [
            ("metric", name, label) for name in self.metric_names for label in self.labels_for(name)
        ]
        labels = (*self.segments, ALL)
        keys += [("leading", g) for g in self.work_groups]
        keys += [(kind, label) for kind in ("closure", "perceived") for label in labels]
        keys += [("maturity", c) for c in self.capabilities]
        keys += [("mechanism", m) for m in ("execution_capacity", "targeting_quality", "promise")]
        keys += [("promise_gap", label) for label in labels]
        keys += [("acquisition_factor",), ("cash", "cumulative"), ("cash", "discounted_cumulative")]
        keys += [("lever", lever) for lever in LEVERS]
        keys += [
            ("cost", item, part)
            for item in (*self.work_groups, *self.capabilities, *self.shifts)
            for part in ("one_time", "running")
        ]
        return keys

    def check_month(self, month: int | None) -> int:
        """A month index of the run (default the last); anything else is a clear error."""
        if month is None:
            return self.horizon - 1
        if isinstance(month, bool) or not isinstance(month, int | np.integer):
            raise CxsimError(f"month must be a whole number (got {month!r})")
        if not 0 <= month < self.horizon:
            raise CxsimError(
                f"month {month} is outside the run: months run from 0 to {self.horizon - 1}"
            )
        return int(month)

    # -- the business case -----------------------------------------------------------------
    def summary(self) -> Summary:
        """NPV, ROI, IRR, payback, PV of benefits and costs, and the horizon changes.

        With one draw the table holds the values; with many, mean, p5, p50 and p95 with their
        Monte Carlo errors, P(NPV > 0) and the probability of payback within the horizon.
        """
        return Summary.from_outcomes(self.outcomes, self.horizon, self.scenario.name)

    def mc_error(self, outcome: str = "npv", statistic: str = "mean") -> float:
        """Monte Carlo standard error of a statistic of a per-draw outcome.

        Parameters
        ----------
        outcome : str
            A column of :attr:`outcomes` (``npv``, ``roi``, ``irr``, ``payback_months``, ...).
        statistic : {"mean", "p5", "p50", "p95", "p_positive"}
            ``sd/√n`` for the mean, the binomial order-statistic method for a quantile, and
            ``√(p(1−p)/n)`` for ``p_positive``, the share of draws above 0. Undefined draws (an
            IRR that does not exist) are left out, as the summary leaves them out.

        Returns
        -------
        float
            NaN with too few draws to tell.
        """
        if outcome not in self.outcomes.columns:
            raise CxsimError(
                f"unknown outcome {outcome!r}; known: {', '.join(self.outcomes.columns)}"
            )
        if statistic not in STATISTICS:
            raise CxsimError(f"unknown statistic {statistic!r}; known: {', '.join(STATISTICS)}")
        values = self.outcomes[outcome].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if statistic == "mean":
            return mean_se(values)
        if statistic == "p_positive":
            return proportion_se(float((values > 0).mean()), values.size) if values.size else np.nan
        return quantile_se(values, QUANTILES[statistic])

    # -- tables ----------------------------------------------------------------------------
    def quantiles(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Compact bands: month, segment, arm, metric, mean, p5, p50, p95 over draws."""
        parts = []
        arms, months = np.meshgrid(np.arange(2), np.arange(self.horizon), indexing="ij")
        arm_labels = pd.Categorical.from_codes(arms.ravel(), categories=pd.Index(list(ARMS)))
        for name in metrics or self.metric_names:
            if name not in self.metric_names:
                raise CxsimError(f"unknown metric {name!r}; known: {', '.join(self.metric_names)}")
            for label in self.labels_for(name):
                band = self.band(("metric", name, label))
                table: dict[str, Any] = {
                    "month": months.ravel(),
                    "segment": label,
                    "arm": arm_labels,
                    "metric": name,
                    "mean": band.mean.ravel(),
                }
                table.update({q: getattr(band, q).ravel() for q in QUANTILES})
                parts.append(pd.DataFrame(table))
        frame = pd.concat(parts, ignore_index=True)
        for column in ("segment", "metric"):
            frame[column] = frame[column].astype("category")
        return frame

    def horizon_table(self, month: int | None = None) -> pd.DataFrame:
        """Lagging indicators at a month (default: the last): programme, baseline, change.

        Values are draw means. Rows: (segment, metric).
        """
        month = self.check_month(month)
        rows = []
        for label in [*self.segments, ALL]:
            for name in HORIZON_METRICS:
                values = self.means_at(name, label, [month])[:, 0]
                rows.append(
                    {
                        "segment": label,
                        "metric": name,
                        "programme": values[0],
                        "baseline": values[1],
                        "change": values[0] - values[1],
                    }
                )
        return pd.DataFrame(rows).set_index(["segment", "metric"])

    def segment_ranking(self) -> pd.DataFrame:
        """Segments ranked by value after cost to serve, false ideal customers named
        (:func:`cxsim.outputs.economics.segment_ranking`)."""
        from cxsim.outputs.economics import segment_ranking

        return segment_ranking(self)

    def segment_economics(self) -> pd.DataFrame:
        """Per segment at month 0 (baseline): margin per customer and forward CLV.

        A negative margin or CLV flags a segment that costs more to serve than it earns.
        """
        rows = []
        for label in self.segments:
            margin = self.means_at("margin_per_customer", label, [0])[1, 0]
            rows.append(
                {
                    "segment": label,
                    "customers": self.means_at("customers", label, [0])[1, 0],
                    "margin_per_customer": margin,
                    "clv": self.means_at("clv", label, [0])[1, 0],
                    "costs_more_than_it_earns": bool(margin < 0),
                    "description": self.scenario.segments[label].description,
                }
            )
        return pd.DataFrame(rows).set_index("segment")

    @property
    def yearly_cash_flow(self) -> pd.DataFrame:
        """Per-draw yearly cash flow: draw, year (1, 2, ...), incremental profit by lever
        (``benefit_retention``, ...), incremental_profit (their sum), programme_cost and
        incremental_cash_flow (the last year may be partial)."""
        from cxsim.outputs.tables import yearly_cash_flow

        return yearly_cash_flow(self)

    def leading_quantiles(self) -> pd.DataFrame:
        """Leading indicators' bands: month, work_group, mean, p5, p50, p95 over draws."""
        from cxsim.outputs.tables import leading_quantiles

        return leading_quantiles(self)

    def provenance(self, command: list[str] | None = None) -> Provenance:
        """Where this result came from: scenario files and their SHA-256, overrides, seed,
        draws, cxsim version (see :mod:`cxsim.outputs.provenance`)."""
        from cxsim.outputs.provenance import Provenance

        return Provenance.of(self, command)

    # -- writing ---------------------------------------------------------------------------
    def to_excel(self, path, sensitivity: pd.DataFrame | None = None, **options):
        """Write the finance workbook: live expected cash flow by lever and by work group,
        named results, risk, lagging indicators, waterfalls, provenance.

        See :func:`cxsim.outputs.excel.write_workbook` for ``sensitivity`` and the
        ``options`` (``waterfall``, ``group_values``, ``extra_sheets``, ``provenance``).
        """
        from cxsim.outputs.excel import write_workbook

        return write_workbook(self, path, sensitivity, **options)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.scenario.name!r}, draws={self.draws}, "
            f"seed={self.seed}, months={self.horizon}, keep={self.keep!r})"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>{self.scenario.name}</b> — {self.draws:,} draw(s), seed {self.seed}, "
            f"keep={self.keep!r}</p>"
        )
        return (
            head
            + self.summary()._repr_html_()
            + self.horizon_table().to_html(float_format=lambda x: f"{x:,.4g}")
        )
