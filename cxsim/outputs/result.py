"""SimulationResult: a run that kept every draw's monthly arrays (``keep="all"``).

A result keeps every metric as an array ``(arm, draw, segment, month)`` and builds tidy
DataFrames only when asked: 10,000 draws × months × segments × metrics is far too many rows
to build eagerly. What every result offers (the business case, its Monte Carlo error, bands,
the horizon table, the workbook) comes from :class:`~cxsim.outputs.views.BaseResult`; this
class adds the per-draw monthly arrays and the tidy frames built from them.
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
from cxsim.model.finance import (
    discounted,
    irr,
    npv,
    payback_month,
    terminal_clv,
    terminal_perpetuity,
)
from cxsim.model.leading import running_share, total_cost
from cxsim.model.operating_model import promise_gap
from cxsim.model.responses import LEVERS
from cxsim.outputs.streamed import draw_moments
from cxsim.outputs.views import ALL, COST_PARTS, LEVER_LINES, QUANTILES, YEARLY, Band, BaseResult

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
@dataclass(eq=False, repr=False)
class SimulationResult(BaseResult):
    """Outcome of :func:`cxsim.simulate` that kept every draw's monthly arrays.

    Attributes
    ----------
    metrics : dict of ndarray
        Metric name → array (arm, draw, segment, month); arm 0 is the programme, 1 the baseline.
    leading_values : ndarray (draw, work_group, month)
        Leading indicators ``L_g(t)``.
    closure, perceived : ndarray (draw, segment, month)
        Gap closure ``G_s(t)`` and perceived closure ``X_s(t)``.
    group_cost : ndarray (draw, work_group, month)
    lever_profit : ndarray (draw, lever, month)
        Incremental profit split by money lever (``LEVERS`` order); the levers add up to
        the incremental profit (docs/model.md §5).
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
    shift_cost: np.ndarray | None = None  # (draw, acquisition shift, month)
    acquisition_factor: np.ndarray | None = None  # (draw, month), programme arm
    lever_profit: np.ndarray | None = None  # (draw, lever, month), incremental profit by lever
    mechanisms: dict[str, np.ndarray] = field(default_factory=dict)  # (draw, month) each
    costs: dict[str, np.ndarray] = field(default_factory=dict)  # start, monthly (draw, item)
    seg: dict[str, np.ndarray] = field(default_factory=dict)
    resp: dict[str, np.ndarray] = field(default_factory=dict)
    levers: tuple[str, ...] = LEVERS
    market_size: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    keep = "all"

    # ------------------------------------------------------------------ shape
    @property
    def draws(self) -> int:
        return self.v.shape[0]

    # ------------------------------------------------------------ aggregates
    def metric(self, name: str, segment: str = ALL, months: Any = None) -> np.ndarray:
        """One metric as (arm, draw, month) for a segment or ``"all"``.

        Besides the engine's metrics: ``nps`` (100·(promoters − detractors)),
        ``margin_per_customer`` and ``market_share`` (when market sizes are given).
        ``months`` (a slice or list of month indices) computes only those months.
        """
        if name == "nps":
            return 100.0 * (
                self.metric("promoters", segment, months)
                - self.metric("detractors", segment, months)
            )
        if name == "market_share":
            return self._market_share(segment, months)
        if name == "margin_per_customer":
            # revenue·margin − cost to serve = profit + acquisition cost
            earned = self.metric("profit", segment, months) + self.metric(
                "acquisition_cost", segment, months
            )
            return self._ratio(earned, self.metric("customers", segment, months))
        values = self.segment_values(name, months)
        if segment != ALL:
            return values[:, :, self._segment_index(segment)]
        if name in SUMMED:
            return values.sum(axis=2)
        customers = self._stored("customers", months)
        return self._ratio((values * customers).sum(axis=2), customers.sum(axis=2))

    def _stored(self, name: str, months: Any) -> np.ndarray:
        values = self.metrics[name]
        return values if months is None else values[..., months]

    def segment_values(self, name: str, months: Any = None) -> np.ndarray:
        """A per-segment metric as (arm, draw, segment, month), derived on first use if needed."""
        if name in self.metrics:
            return self._stored(name, months)
        if name not in SEGMENT_METRICS:
            raise CxsimError(f"unknown metric {name!r}; known: {', '.join(self.metric_names)}")
        if months is not None:
            return self._derive(name, months)
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

    def _derive(self, name: str, months: Any = None) -> np.ndarray:
        """A derived per-segment metric, from the model's responses and the stored metrics."""
        if months is None:
            arms, factor = self._responses(), self.acquisition_factor
        else:
            x = self.perceived[..., months]
            arms = responses.arms(self.seg, self.resp, x, self.levers)
            factor = None if self.acquisition_factor is None else self.acquisition_factor[:, months]
        return responses.segment_metric(
            name,
            arms,
            self._stored("customers", months),
            self._stored("referrals", months),
            self.seg,
            factor,
        )

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

    def _market_share(self, segment: str, months: Any = None) -> np.ndarray:
        if self.market_size is None:
            raise CxsimError("market_share needs segments.<name>.market_size in the scenario")
        customers = self._stored("customers", months)
        if segment != ALL:
            j = self._segment_index(segment)
            size = self.market_size[:, j]
            if np.isnan(size).any():
                raise CxsimError(f"segment {segment!r} has no market_size")
            return customers[:, :, j] / size[None, :, None]
        known = ~np.isnan(self.market_size[0])
        total = np.nansum(self.market_size[:, known], axis=1)
        return customers[:, :, known].sum(axis=2) / total[None, :, None]

    # ------------------------------------------------------------- the views' primitives
    def means_at(self, name: str, segment: str, months: list[int]) -> np.ndarray:
        """Draw means of a lagging indicator at some months, (arm, month).

        Each month is averaged on its own, block by block as in :meth:`band` (the numbers a
        streamed run keeps), so a month's mean is the same whichever months come with it.
        """
        values = self.metric(name, segment, list(months))  # (arm, draw, month)
        return draw_moments(values, axis=1)[1]

    def yearly(self, name: str) -> np.ndarray:
        """Per-draw yearly sums (draw, year) of a line of :data:`YEARLY` or
        :data:`LEVER_LINES`; months 0–11 are year 1."""
        starts = list(range(0, self.horizon, 12))
        if name in LEVER_LINES:
            return np.add.reduceat(self.lever_line(name), starts, axis=1)
        if name not in YEARLY:
            known = ", ".join((*YEARLY, *LEVER_LINES))
            raise CxsimError(f"no yearly line {name!r}; known: {known}")
        return np.add.reduceat(getattr(self, name), starts, axis=1)

    def item_cost(self, item: str, part: str = "total") -> np.ndarray:
        """Monthly cost of a work group, capability or acquisition shift, (draw, month):
        ``total``, or its ``one_time`` or ``running`` part (the running part is its monthly
        cost from its start; the one-time cost is the rest)."""
        items = [*self.work_groups, *self.capabilities, *self.shifts]
        if item not in items:
            raise CxsimError(f"no cost item {item!r}; known: {', '.join(items)}")
        if part not in COST_PARTS:
            raise CxsimError(f"unknown cost part {part!r}; known: {', '.join(COST_PARTS)}")
        k = items.index(item)
        groups = len(self.work_groups)
        owned = groups + len(self.capabilities)
        if k < groups:
            total = self.group_cost[:, k]
        elif k < owned:
            total = _kept(self.capability_cost)[:, k - groups]
        else:
            total = _kept(self.shift_cost)[:, k - owned]
        if part == "total":
            return total
        months = np.arange(self.horizon)
        running = self.costs["monthly"][:, k, None] * running_share(
            months, self.costs["start"][:, k]
        )
        return running if part == "running" else total - running

    def lever_line(self, name: str) -> np.ndarray:
        """Monthly incremental profit of one lever, ``benefit_<lever>`` (draw, month)."""
        lever = name.removeprefix("benefit_")
        if lever not in LEVERS:
            raise CxsimError(f"no lever line {name!r}; known: {', '.join(LEVER_LINES)}")
        return _kept(self.lever_profit)[:, LEVERS.index(lever)]

    def values_of(self, key: tuple) -> tuple[np.ndarray, int]:
        """A monthly quantity per draw and the index of its draw axis (see band keys)."""
        kind = key[0]
        if kind == "metric":
            return self.metric(key[1], key[2]), 1
        if kind == "leading":
            return self.leading_values[:, self.work_groups.index(key[1])], 0
        if kind in ("closure", "perceived"):
            values = getattr(self, kind)
            if key[1] != ALL:
                return values[:, self._segment_index(key[1])], 0
            weights = self.metrics["customers"][1, :, :, 0]  # (draw, S): today's customers
            weights = weights / weights.sum(axis=1, keepdims=True)
            return (values * weights[:, :, None]).sum(axis=1), 0
        if kind == "maturity":
            return _kept(self.maturity)[:, self.capabilities.index(key[1])], 0
        if kind == "mechanism":
            return self.mechanisms[key[1]], 0
        if kind == "promise_gap":
            return self.promise_gap(key[1]), 0
        if kind == "acquisition_factor":
            return _kept(self.acquisition_factor), 0
        if kind == "lever":
            return self.lever_line(f"benefit_{key[1]}"), 0
        if kind == "cost":
            return self.item_cost(key[1], key[2]), 0
        if key == ("cash", "cumulative"):
            return np.cumsum(self.incremental_cash_flow, axis=1), 0
        if key == ("cash", "discounted_cumulative"):
            return np.cumsum(discounted(self.incremental_cash_flow, self.v), axis=1), 0
        raise CxsimError(f"unknown monthly quantity {key!r}")

    def band(self, key: tuple) -> Band:
        """Mean, standard deviation and p5/p50/p95 over draws of a monthly quantity."""
        values, axis = self.values_of(key)
        quantiles = np.quantile(values, list(QUANTILES.values()), axis=axis)
        # Merged block by block as a streamed run does, so keep="all" and keep="summary"
        # give the same means and deviations to the last bit.
        n, mean, m2 = draw_moments(values, axis)
        sd = np.sqrt(m2 / (n - 1)) if n > 1 else np.zeros_like(m2)
        return Band(mean, sd, *quantiles)

    def quantile(self, key: tuple, q: float) -> np.ndarray:
        values, axis = self.values_of(key)
        return np.quantile(values, q, axis=axis)

    # ------------------------------------------------------------- cash flow
    @cached_property
    def programme_cost(self) -> np.ndarray:
        """(draw, month) programme cost: work groups, capabilities and acquisition shifts."""
        capabilities = self.capability_cost
        if capabilities is None:
            capabilities = np.zeros((self.draws, 0, self.horizon))
        cost = total_cost(self.group_cost, capabilities)
        if self.shifts:  # acquisition shifts' costs after the others (docs/model.md §5)
            cost = cost + _kept(self.shift_cost).sum(axis=1)
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
        columns: dict[str, np.ndarray] = {}
        if self.scenario.terminal_value is not None:
            value = self.terminal_value()
            columns = {"terminal_value": value, "npv_with_terminal": net + value}
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
                **columns,
            },
            index=pd.RangeIndex(self.draws, name="draw"),
        )

    def terminal_value(self) -> np.ndarray:
        """Value today of the programme beyond the horizon, per draw (docs/model.md §5): a
        growing perpetuity of the last year's cash flow, or the incremental customers' CLV
        less the running cost; never part of the NPV."""
        terminal = self.scenario.terminal_value
        if terminal is None:
            raise CxsimError("the scenario has no terminal_value (docs/scenario-format.md)")
        if terminal.method == "perpetuity":
            return terminal_perpetuity(self.incremental_cash_flow, self.v, terminal.growth)
        last = [self.horizon - 1]
        customers = self.segment_values("customers", last)[..., 0]  # (arm, draw, S)
        value = (customers * self.segment_values("clv", last)[..., 0]).sum(axis=2)
        revenue = self.segment_values("revenue", last)[..., 0] * self.seg["gross_margin"]
        margin = (revenue - self.segment_values("cost_to_serve", last)[..., 0]).sum(axis=2)
        cost = self.programme_cost[:, -1]
        return terminal_clv(value[0] - value[1], margin[0] - margin[1], cost, self.v, self.horizon)

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


def _kept(values: np.ndarray | None) -> np.ndarray:
    """A series every run writes (typed optional for results built by hand)."""
    if values is None:
        raise CxsimError("this result was built without that series")
    return values
