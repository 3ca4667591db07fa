"""The scenario schema: typed, frozen models of every key a scenario file may hold.

Every numeric input is an *uncertain scalar*: a plain number or a distribution mapping
(``{dist: pert, min: .., mode: .., max: ..}``); both pass the same range check (for a
distribution, its whole support must lie in the allowed range). Unknown keys are
rejected (``extra="forbid"``); :mod:`cxsim.scenario` turns pydantic's errors into
cxsim's ``FILE: path: message (got X; allowed Y)`` lines with a "did you mean".

Key names are the contract documented in ``docs/scenario-format.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from cxsim.scenario.listening import Listening
from cxsim.uncertainty.distributions import (
    Distribution,
    is_distribution_mapping,
    parse_distribution,
)

if TYPE_CHECKING:  # defined beside its checks, which complete ScenarioModel on import
    from cxsim.scenario.shifts import AcquisitionShift

Value = float | Distribution


def _problem(message: str, got: Any, allowed: str, kind: str = "cxsim") -> PydanticCustomError:
    # The message template must not contain braces from user data.
    return PydanticCustomError(
        kind, message.replace("{", "(").replace("}", ")"), {"got": got, "allowed": allowed}
    )


class _Described(str):
    """A value shown by a description (pydantic renders an error's context as text, and Python
    refuses to write an integer of more than 4,300 digits)."""

    def __repr__(self) -> str:
        return str(self)


def to_value(raw: Any) -> Value:
    """A number or a distribution mapping → float or Distribution (else a schema error)."""
    if isinstance(raw, bool):
        raise _problem("expected a number", raw, "a number or a distribution mapping")
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond float range (given from Python)
            digits = _Described(f"an integer of {int(raw.bit_length() * 0.30103) + 1} digits")
            raise _problem("must be a finite number", digits, "a finite number") from None
        if not math.isfinite(value):
            raise _problem("must be a finite number", raw, "a finite number")
        return value
    if is_distribution_mapping(raw):
        dist, problems = parse_distribution(raw)
        if problems:
            raise PydanticCustomError(
                "distribution", "invalid distribution", {"problems": problems, "got": raw}
            )
        return dist
    if isinstance(raw, Mapping):
        raise _problem(
            "a mapping here must name a distribution with 'dist'",
            dict(raw),
            "a number or {dist: pert|triangular|uniform|normal|lognormal|beta, ...}",
        )
    raise _problem("expected a number", raw, "a number or a distribution mapping")


def as_written(number: float) -> float | int:
    """A whole float shown as the integer a user would have typed (for error messages)."""
    whole = float(number).is_integer() and abs(number) < 1e16  # beyond, keep 1e+306 short
    return int(number) if whole else number


def value_range(value: Value) -> tuple[float, float]:
    """The smallest and largest value an uncertain scalar can take."""
    if isinstance(value, Distribution):
        return value.support()
    return (value, value)


#: Ceilings that keep every output finite (docs/scenario-format.md, "Limits"): money in the
#: scenario's currency, per customer or per programme item, and counts of customers. Far above
#: any business (a quadrillion; more people than live), far inside float range even when
#: multiplied together over 600 months of growth.
MONEY_CEILING = 1e15
COUNT_CEILING = 1e10
#: Referred customers per promoter per month: ten times the shipped scenarios' highest (0.008)
#: and still a base that cannot outgrow float range (1.05^600 ≈ 5e12) when nothing saturates it.
REFERRAL_CEILING = 0.05
# The largest value a draw can take: draws are quantiles of uniforms in [2^-53, 1 - 2^-53].
_TOP_QUANTILE = 1.0 - 2.0**-53


def _bounded(lo: float | None, hi: float | None, *, lo_open=False, hi_open=False, ceiling=None):
    left = "-inf" if lo is None else f"{lo:g}"
    top = hi if hi is not None else ceiling
    right = "inf" if top is None else f"{top:g}"
    opening = "(" if lo_open or lo is None else "["
    closing = ")" if hi_open or top is None else "]"
    allowed = f"{opening}{left}, {right}{closing}"

    def check(value: Value) -> Value:
        vlo, vhi = value_range(value)
        if isinstance(value, Distribution):
            # A continuous distribution touches an open bound with probability zero.
            bad = (lo is not None and vlo < lo) or (hi is not None and vhi > hi)
            if bad:
                raise _problem(
                    "the distribution reaches outside the allowed range "
                    f"(support {vlo:g} to {vhi:g}; truncate it with min/max)",
                    value.to_dict(),
                    allowed,
                )
            # An unbounded distribution (normal, lognormal) by its largest possible draw.
            largest = (
                vhi if ceiling is None or math.isfinite(vhi) else value.quantile(_TOP_QUANTILE)
            )
            if ceiling is not None and not largest <= ceiling:
                raise _problem(
                    f"the distribution can draw {largest:g}, above the ceiling that keeps "
                    "results finite",
                    value.to_dict(),
                    allowed,
                )
            return value
        too_low = lo is not None and (vlo <= lo if lo_open else vlo < lo)
        too_high = hi is not None and (vhi >= hi if hi_open else vhi > hi)
        if too_low or too_high:
            raise _problem("out of range", as_written(value), allowed)
        if ceiling is not None and vhi > ceiling:
            raise _problem(
                "above the ceiling that keeps results finite", as_written(value), allowed
            )
        return value

    # Ceilings are not part of the meaningful range a break-even search walks.
    check.bounds = (lo, hi)  # read by allowed.bounds_of() for break-even searches
    check.limits = (lo, top, lo_open, hi_open, allowed)  # allowed.limits_of(): samples tables
    return AfterValidator(check)


def Uncertain(lo=None, hi=None, *, lo_open=False, hi_open=False, ceiling=None):
    """Annotated type of an uncertain scalar restricted to a range (and below ``ceiling``)."""
    bounded = _bounded(lo, hi, lo_open=lo_open, hi_open=hi_open, ceiling=ceiling)
    return Annotated[Any, BeforeValidator(to_value), bounded]


Share = Uncertain(0.0, 1.0)
NonNegative = Uncertain(0.0, None)
Positive = Uncertain(0.0, None, lo_open=True)
Money = Uncertain(0.0, None, ceiling=MONEY_CEILING)
Count = Uncertain(0.0, None, ceiling=COUNT_CEILING)
PositiveCount = Uncertain(0.0, None, lo_open=True, ceiling=COUNT_CEILING)
# Months of a customer's life (a century) and a month's contacts per customer: beyond these a
# starting mix or a cost to serve means nothing, and numbers could leave float range.
Age = Uncertain(0.0, None, ceiling=1200.0)
# Durations: ten times the longest horizon (a triangular of months up to 1e154 overflowed).
Months = Uncertain(0.0, None, ceiling=6000.0)


class Strict(BaseModel):
    """Base of every schema model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


#: Months in each named sBG period; ``sbg.period`` may also be a whole number of months.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def months_per_period(period: str | int) -> int:
    """Months in an ``sbg.period``: ``"month"`` 1, ``"quarter"`` 3, ``"year"`` 12, or N."""
    return PERIOD_MONTHS[period] if isinstance(period, str) else int(period)


def _sbg_period(raw: Any) -> str | int:
    # NOTE: a whole number stays an int, so the tornado's walk over float inputs skips it.
    if isinstance(raw, str) and raw in PERIOD_MONTHS:
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 6000:
        return raw
    if isinstance(raw, float) and math.isfinite(raw) and 1 <= raw <= 6000 and raw.is_integer():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 64:
        raw = _Described(f"an integer of {int(raw.bit_length() * 0.30103) + 1} digits")
    # At most 6,000 months: ten times the longest horizon.
    raise _problem(
        "not a period", raw, "month, quarter, year or a whole number of months, 1 to 6000"
    )


class SBG(Strict):
    """Shifted-beta-geometric retention: churn probability ~ Beta(alpha, beta) per period."""

    alpha: Positive
    beta: Positive
    period: Annotated[str | int, BeforeValidator(_sbg_period)] = "month"


class ResponseOverrides(Strict):
    """Per-segment overrides of the response elasticities (any subset)."""

    churn_reduction: Share | None = None
    wallet_gain: Share | None = None
    promoter_gain: Share | None = None
    detractor_reduction: Share | None = None
    avoidable_contacts: Share | None = None
    perception_delay_months: Months | None = None
    perception_lag_months: Months | None = None


class Responses(Strict):
    """How customers respond at full perceived gap closure (docs/model.md §4)."""

    churn_reduction: Share
    wallet_gain: Share
    promoter_gain: Share
    detractor_reduction: Share
    avoidable_contacts: Share
    perception_delay_months: Months
    perception_lag_months: Months


RESPONSE_KEYS = tuple(Responses.model_fields)


class Segment(Strict):
    """A customer segment and its no-programme economics (docs/model.md §1, §5)."""

    description: str = ""
    customers: PositiveCount
    arpu: Money
    gross_margin: Uncertain(-1.0, 1.0)
    monthly_churn: Uncertain(0.0, 1.0, lo_open=True, hi_open=True) | None = None
    sbg: SBG | None = None
    tenure_months: Age | None = None
    base_age_months: Uncertain(1.0, None, ceiling=1200.0) = 120.0
    # At least 0.1%: revenue per customer scales with w/w0, so a programme can multiply it by
    # at most 1/w0 (1,000 here; 4.9e-283 gave revenues past float range).
    share_of_wallet: Uncertain(0.001, 1.0)
    promoters: Share
    detractors: Share
    contacts_per_customer: Uncertain(0.0, None, ceiling=1000.0)
    cost_per_contact: Money
    new_customers_per_month: Count
    cac: Money
    referral_rate: Uncertain(0.0, REFERRAL_CEILING)
    referral_cost: Money
    market_size: PositiveCount | None = None
    responses: ResponseOverrides = Field(default_factory=ResponseOverrides)


class Plan(Strict):
    """A work group's plan for its leading indicator (docs/model.md §2)."""

    start_month: Months
    ramp_months: Months
    target: Share
    curve: Literal["linear", "s_curve"] = "linear"


class Cost(Strict):
    """Programme cost of a work group: one-time spread over the ramp, monthly from start."""

    one_time: Money = 0.0
    monthly: Money = 0.0


class WorkGroup(Strict):
    """An internal work group that owns a share of each segment's experience gaps."""

    description: str = ""
    pain_share: dict[str, Share]
    plan: Plan
    cost: Cost = Field(default_factory=Cost)
    execution: Uncertain(0.0, 1.0, lo_open=True) = 1.0
    requires: list[str] = Field(default_factory=list)


def _text(what: str, allowed: str):
    """A non-empty string, else a problem saying what was expected."""

    def check(raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise _problem(f"expected {what}", raw, allowed)
        return raw

    return BeforeValidator(check)


def _table_list(raw: Any) -> Any:
    if not isinstance(raw, list):
        raise _problem(
            "expected a list of tables", raw, "a list, e.g. samples: [{file: draws.csv}]"
        )
    return raw


class Samples(Strict):
    """A table of joint draws (bootstrap replicates, posterior draws) feeding inputs."""

    file: Annotated[
        str,
        _text("a file path", "a CSV file, its path relative to this file"),
        Field(description="a CSV file of draws, its path relative to this file"),
    ]
    columns: (
        dict[str, Annotated[str, _text("an input path", "a dotted path, e.g. discount_rate")]]
        | None
    ) = None
    name: Annotated[str, _text("a name", "a name for the table's random stream")] | None = None


class Correlation(Strict):
    """A rank correlation between two uncertain inputs, named by dotted path."""

    between: Annotated[list[str], Field(min_length=2, max_length=2)]
    rho: Annotated[float, Field(ge=-1.0, le=1.0, strict=True)]


CAPABILITIES = (
    "customer_voice",
    "customer_intelligence",
    "improvement",
    "customer_centricity",
    "internal_branding",
    "branding",
)
# The fifteen dimensions of CX management (scored 1-5 in a maturity assessment).
ASSESSMENT_DIMENSIONS = (
    "leadership",
    "purpose",
    "vision",
    "strategy",
    "program_design",
    "culture",
    "employee_engagement",
    "governance",
    "data_feedback_insights",
    "operations",
    "performance_management",
    "communications",
    "brand_integration",
    "innovation",
    "technology",
)


class Capability(Strict):
    """A building block of the CX operating model with its own maturity path (docs/model.md §8).

    Maturity rises from ``level`` (today, 0..1; from the maturity assessment when omitted)
    to ``plan.target`` along the plan's ramp.
    """

    description: str = ""
    level: Share | None = None
    plan: Plan | None = None
    cost: Cost = Field(default_factory=Cost)


class OperatingModel(Strict):
    """Effect sizes of the capabilities (docs/model.md §8; docs/operating-model.md)."""

    targeting_floor: Share = 0.5
    execution_floor: Share = 0.4
    # Ceilings: a tenfold lift of paid acquisition, churn at most 11 times as likely.
    acquisition_uplift: Uncertain(0.0, None, ceiling=10.0) = 0.3
    promise_penalty: Uncertain(0.0, None, ceiling=10.0) = 1.0
    execution_from_assessment: bool = True


class TerminalValue(Strict):
    """Value beyond the horizon, shown beside the NPV and never in it (docs/model.md §5)."""

    method: Literal["clv", "perpetuity"]
    growth: Annotated[float, Field(ge=-0.5, le=0.5, allow_inf_nan=False)] = 0.0


class Journey(Strict):
    """Pain owned jointly by several groups: it closes only as far as the least advanced."""

    description: str = ""
    groups: Annotated[list[str], Field(min_length=2)]
    pain_share: dict[str, Share]


class Synergy(Strict):
    """Extra gap closure when the named groups progress together (docs/model.md §3)."""

    groups: Annotated[list[str], Field(min_length=2)]
    bonus: Share


class ScenarioModel(Strict):
    """A whole scenario file, after includes are merged."""

    name: str
    description: str = ""
    horizon_months: Annotated[int, Field(ge=1, le=600, strict=True)]
    discount_rate: Uncertain(-0.5, 1.0)
    latent_classes: Annotated[int, Field(ge=1, le=64, strict=True)] = 24
    segments: Annotated[dict[str, Segment], Field(min_length=1)]
    work_groups: dict[str, WorkGroup] = Field(default_factory=dict)
    responses: Responses | None = None
    correlations: list[Correlation] = Field(default_factory=list)
    samples: Annotated[list[Samples], BeforeValidator(_table_list)] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    journeys: dict[str, Journey] = Field(default_factory=dict)
    synergies: list[Synergy] = Field(default_factory=list)
    capabilities: dict[Literal[CAPABILITIES], Capability] = Field(default_factory=dict)
    acquisition_shifts: list[AcquisitionShift] = Field(default_factory=list)
    operating_model: OperatingModel = Field(default_factory=OperatingModel)
    terminal_value: TerminalValue | None = None
    listening: Listening | None = None
    maturity_assessment: (
        dict[Literal[ASSESSMENT_DIMENSIONS], Annotated[int, Field(ge=1, le=5, strict=True)]] | None
    ) = None
