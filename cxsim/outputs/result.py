"""SimulationResult: the numbers of a run as arrays, and the tables people read.

A result keeps every metric as an array ``(arm, draw, segment, month)`` and builds
tidy DataFrames only when asked: 10,000 draws × months × segments × metrics is far
too many rows to build eagerly. ``summary()`` and ``quantiles()`` are the compact
views; ``frame`` is the full tidy table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import cxsim.outputs.tables as tables
from cxsim.errors import CxsimError
from cxsim.model import responses
from cxsim.model.engine import SEGMENT_METRICS
from cxsim.model.finance import discounted, irr, npv, payback_month
from cxsim.model.operating_model import modelled_capabilities, promise_gap
from cxsim.model.responses import LEVERS
from cxsim.outputs.summary import Summary
from cxsim.outputs.tables import ALL

if TYPE_CHECKING:
    from cxsim.scenario import Scenario

# How each metric aggregates over segments: summed, or averaged with customer weights.
SUMMED = {
    "customers",
    "referrals",
    "new_customers",
    "revenue",
    "cost_to_serve",
    "acquisition_cost",
    "profit",
}


# eq=False: results hold large arrays; two results are the same only if they are one object.
@dataclass(eq=False)
class SimulationResult:
    """Outcome of :func:`cxsim.simulate` for one scenario, seed and number of draws.

    Attributes
    ----------
    metrics : dict of ndarray
        Metric name → array (arm, draw, segment, month); arm 0 is the programme, 1 the baseline.
    leading_values : ndarray (draw, work_group, month)
        Leading indicators ``L_g(t)``.
    closure, perceived : ndarray (draw, segment, month)
        Gap closure ``G_s(t)`` and perceived closure ``X_s(t)``.
    group_cost : ndarray (draw, work_group, month)
    """

    scenario: Scenario
    seed: int
    metrics: dict[str, np.ndarray]
    leading_values: np.ndarray
    closure: np.ndarray
    perceived: np.ndarray
    group_cost: np.ndarray
    v: np.ndarray
    maturity: np.ndarray | None = None  # (draw, capability, month)
    capability_cost: np.ndarray | None = None  # (draw, capability, month)
    acquisition_factor: np.ndarray | None = None  # (draw, month), programme arm
    mechanisms: dict[str, np.ndarray] = field(default_factory=dict)  # (draw, month) each
    seg: dict[str, np.ndarray] = field(default_factory=dict)
    resp: dict[str, np.ndarray] = field(default_factory=dict)
    levers: tuple[str, ...] = LEVERS
    market_size: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ shape
    @property
    def draws(self) -> int:
        return self.v.shape[0]

    @property
    def segments(self) -> list[str]:
        return list(self.scenario.segments)

    @property
    def work_groups(self) -> list[str]:
        return list(self.scenario.work_groups)

    @property
    def capabilities(self) -> list[str]:
        """Capabilities the run modelled (the maturity array's second axis)."""
        return modelled_capabilities(self.scenario)

    @property
    def horizon(self) -> int:
        return self.scenario.horizon_months

    # ------------------------------------------------------------ aggregates
    def metric(self, name: str, segment: str = ALL) -> np.ndarray:
        """One metric as (arm, draw, month) for a segment or ``"all"``.

        Besides the engine's metrics: ``nps`` (100·(promoters − detractors)),
        ``margin_per_customer`` and ``market_share`` (when market sizes are given).
        """
        if name == "nps":
            return 100.0 * (self.metric("promoters", segment) - self.metric("detractors", segment))
        if name == "market_share":
            return self._market_share(segment)
        if name == "margin_per_customer":
            # revenue·margin − cost to serve = profit + acquisition cost
            earned = self.metric("profit", segment) + self.metric("acquisition_cost", segment)
            return self._ratio(earned, self.metric("customers", segment))
        values = self.segment_values(name)
        if segment != ALL:
            return values[:, :, self._segment_index(segment)]
        if name in SUMMED:
            return values.sum(axis=2)
        customers = self.metrics["customers"]
        return self._ratio((values * customers).sum(axis=2), customers.sum(axis=2))

    def segment_values(self, name: str) -> np.ndarray:
        """A per-segment metric as (arm, draw, segment, month), derived on first use if needed."""
        if name in self.metrics:
            return self.metrics[name]
        if name not in SEGMENT_METRICS:
            raise CxsimError(f"unknown metric {name!r}; known: {', '.join(self.metric_names)}")
        cache = self.extras.setdefault("derived", {})
        if name not in cache:
            cache[name] = self._derive(name)
        return cache[name]

    def _responses(self, month: int | None = None) -> tuple:
        """Per-customer responses of the programme and baseline arms (cached for all months)."""
        if month is not None:
            x = self.perceived[:, :, month : month + 1]
            return responses.arms(self.seg, self.resp, x, self.levers)
        if "responses" not in self.extras:
            self.extras["responses"] = responses.arms(
                self.seg, self.resp, self.perceived, self.levers
            )
        return self.extras["responses"]

    def _derive(self, name: str) -> np.ndarray:
        """A derived per-segment metric, from the model's responses and the stored metrics."""
        return responses.segment_metric(
            name,
            self._responses(),
            self.metrics["customers"],
            self.metrics["referrals"],
            self.seg,
            self.acquisition_factor,
        )

    @property
    def metric_names(self) -> list[str]:
        names = [*SEGMENT_METRICS, "nps"]
        if self.market_size is not None:
            names.append("market_share")
        return names

    def labels_for(self, metric: str) -> list[str]:
        """Segments (and ``all``) a metric is reported for: market share needs a market size."""
        labels = [*self.segments, ALL]
        if metric == "market_share" and self.market_size is not None:
            known = ~np.isnan(self.market_size[0])
            labels = [s for s, k in zip(self.segments, known, strict=True) if k] + [ALL]
        return labels

    def _segment_index(self, segment: str) -> int:
        try:
            return self.segments.index(segment)
        except ValueError:
            raise CxsimError(
                f"unknown segment {segment!r}; known: {', '.join(self.segments)}, all"
            ) from None

    @staticmethod
    def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)

    def _market_share(self, segment: str) -> np.ndarray:
        if self.market_size is None:
            raise CxsimError("market_share needs segments.<name>.market_size in the scenario")
        customers = self.metrics["customers"]
        if segment != ALL:
            j = self._segment_index(segment)
            size = self.market_size[:, j]
            if np.isnan(size).any():
                raise CxsimError(f"segment {segment!r} has no market_size")
            return customers[:, :, j] / size[None, :, None]
        known = ~np.isnan(self.market_size[0])
        total = np.nansum(self.market_size[:, known], axis=1)
        return customers[:, :, known].sum(axis=2) / total[None, :, None]

    # ------------------------------------------------------------- cash flow
    @cached_property
    def programme_cost(self) -> np.ndarray:
        """(draw, month) programme cost: work groups plus capabilities."""
        cost = self.group_cost.sum(axis=1)
        if self.capability_cost is not None and self.capability_cost.shape[1]:
            cost = cost + self.capability_cost.sum(axis=1)
        return cost

    @cached_property
    def incremental_profit(self) -> np.ndarray:
        """(draw, month) profit of the programme arm minus the baseline arm."""
        profit = self.metrics["profit"].sum(axis=2)
        return profit[0] - profit[1]

    @cached_property
    def incremental_cash_flow(self) -> np.ndarray:
        return self.incremental_profit - self.programme_cost

    @cached_property
    def npv_parts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per draw: NPV, PV of incremental profit and PV of programme cost (model.finance)."""
        return npv(self.incremental_profit, self.programme_cost, self.v)

    @property
    def npv(self) -> np.ndarray:
        """NPV per draw, (draw,)."""
        return self.npv_parts[0]

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per draw: NPV, ROI, IRR, payback and the horizon changes."""
        net, pv_benefit, pv_cost = self.npv_parts
        cash = self.incremental_cash_flow
        roi = np.divide(
            pv_benefit - pv_cost, pv_cost, out=np.full_like(pv_cost, np.nan), where=pv_cost > 0
        )
        last = self.horizon - 1
        nps = self._horizon_nps()
        # Only the last month is needed: weight it alone rather than every month.
        weights = self.metrics["customers"][:, :, :, last]  # (arm, draw, S)
        total = weights.sum(axis=2)
        retention = self._ratio(
            (self.metrics["retention_12m"][..., last] * weights).sum(axis=2), total
        )
        clv = self._ratio((self.metrics["clv"][..., last] * weights).sum(axis=2), total)
        customers = total
        return pd.DataFrame(
            {
                "npv": net,
                "roi": roi,
                "irr": irr(cash),
                "payback_months": payback_month(cash),
                "discounted_payback_months": payback_month(discounted(cash, self.v)),
                "pv_benefit": pv_benefit,
                "pv_cost": pv_cost,
                "nps_change": nps[0] - nps[1],
                "retention_12m_change": retention[0] - retention[1],
                "clv_change": clv[0] - clv[1],
                "customers_change": customers[0] - customers[1],
            },
            index=pd.RangeIndex(self.draws, name="draw"),
        )

    def _horizon_nps(self) -> np.ndarray:
        """NPS of all segments in the last month, (arm, draw), without building every month."""
        last = self.horizon - 1
        weights = self.metrics["customers"][:, :, :, last]  # (arm, draw, S)
        values = []
        for arm, r in enumerate(self._responses(last)):
            share = responses.net_promoter_share(r)
            share = np.broadcast_to(share, weights.shape[1:] + (1,))[..., 0]
            values.append(self._ratio((share * weights[arm]).sum(axis=1), weights[arm].sum(axis=1)))
        return 100.0 * np.stack(values)

    def promise_gap(self, segment: str = ALL) -> np.ndarray:
        """Branding's promise ahead of perceived experience, ``max(0, P − X)``, (draw, month).

        For ``all``, weighted by the programme's customers.
        """
        promise = self.mechanisms.get("promise")
        if promise is None:
            return np.zeros((self.draws, self.horizon))
        gap = promise_gap(promise, self.perceived)  # (draw, S, month)
        if segment != ALL:
            return gap[:, self._segment_index(segment)]
        weights = self.metrics["customers"][0]
        return self._ratio((gap * weights).sum(axis=1), weights.sum(axis=1))

    # ----------------------------------------------------------------- tables
    @property
    def cash_flow(self) -> pd.DataFrame:
        """Tidy monthly cash flow.

        Columns: draw, month, programme_cost, incremental_profit, incremental_cash_flow.
        """
        return tables.cash_flow(self)

    @property
    def leading(self) -> pd.DataFrame:
        """Tidy leading indicators: draw, month, work_group, value."""
        return tables.leading(self)

    @property
    def frame(self) -> pd.DataFrame:
        """Tidy lagging indicators: draw, month, segment, arm, metric, value.

        Segment ``all`` holds the totals (sums, or customer-weighted averages of rates).
        """
        return tables.frame(self)

    def frame_of(self, metric: str, segments: list[str] | None = None) -> pd.DataFrame:
        """The tidy frame of one metric (all draws), for segments (default: each and ``all``)."""
        return tables.frame_of(self, metric, segments)

    def quantiles(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Compact bands: month, segment, arm, metric, mean, p5, p50, p95 over draws."""
        return tables.quantiles(self, metrics)

    def horizon_table(self, month: int | None = None) -> pd.DataFrame:
        """Lagging indicators at a month (default: the last): programme, baseline, change.

        Values are draw means. Rows: (segment, metric).
        """
        return tables.horizon_table(self, month)

    def segment_economics(self) -> pd.DataFrame:
        """Per segment at month 0 (baseline): margin per customer and forward CLV.

        A negative margin or CLV flags a segment that costs more to serve than it earns.
        """
        return tables.segment_economics(self)

    def summary(self) -> Summary:
        """NPV, ROI, IRR, payback, PV of benefits and costs, and the horizon changes.

        With one draw the table holds the values; with many, mean, p5, p50 and p95 plus
        P(NPV > 0) and the probability of payback within the horizon.
        """
        return Summary.from_outcomes(self.outcomes, self.horizon, self.scenario.name)

    def to_excel(
        self,
        path,
        sensitivity: pd.DataFrame | None = None,
        extra_sheets: dict[str, pd.DataFrame] | None = None,
    ):
        """Write the finance workbook (summary, assumptions, yearly cash flow and indicators).

        See :func:`cxsim.outputs.excel.write_workbook`; ``extra_sheets`` maps sheet names to more
        DataFrames, one sheet each (e.g. waterfalls).
        """
        from cxsim.outputs.excel import write_workbook

        return write_workbook(self, path, sensitivity, extra_sheets=extra_sheets)

    def __repr__(self) -> str:
        return (
            f"SimulationResult({self.scenario.name!r}, draws={self.draws}, seed={self.seed}, "
            f"months={self.horizon}, segments={self.segments})"
        )

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.scenario.name}</b> — {self.draws} draw(s), seed {self.seed}</p>"
        return (
            head
            + self.summary()._repr_html_()
            + self.horizon_table().to_html(float_format=lambda x: f"{x:,.4g}")
        )
