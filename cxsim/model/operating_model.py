"""The CX operating model: capabilities, journeys, synergies (docs/model.md §3 and §8).

CX management has six building blocks ("C4 + I2 + B2") — customer voice, customer
intelligence, improvement and innovation, customer-centricity (leadership), internal
branding and branding — and the claim is that they cannot be leapfrogged. cxsim makes that a
property of the simulation: each capability has a maturity ``M_c(t)`` in 0..1 (today's
``level`` rising to its plan's ``target``), and maturities act on the causal chain:

- **Targeting quality** ``q(t) = f_q + (1 − f_q)·gm(M_voice, M_intelligence)``: the share
  of improvement effort that lands on gaps that matter; it multiplies gap closure.
- **Execution capacity** ``E(t) = f_e + (1 − f_e)·gm(M_centricity, M_internal_branding,
  M_improvement)``: leadership, employee engagement and the improvement engine scale every
  work group's execution ``e_g``.
- **Branding** raises the promise: paid acquisition × ``(1 + u·P(t))`` and, when the promise
  runs ahead of the experience customers perceive, churn hazard × ``(1 + k·max(0, P(t) −
  X_s(t)))``, with ``P(t) = M_branding(t) − M_branding(0)`` the promise raised by the
  programme.

``gm`` is the geometric mean of the capabilities the scenario models (a block that is
missing in one capability holds the others back); a capability the scenario does not list
is not modelled and has no effect, so a scenario without capabilities behaves exactly as
before. ``f_q``, ``f_e``, ``u``, ``k`` are ``operating_model.targeting_floor``,
``execution_floor``, ``acquisition_uplift`` and ``promise_penalty``.

Journeys: pain a segment attributes to several groups jointly closes only as far as the
least advanced of them, ``P_J[s]·min_{g∈J} L_g(t)``. Synergies: when named groups progress
together they close extra pain, ``bonus·min_{g∈S} L_g(t)·Σ_{g∈S} P[s,g]``. Gap closure is
capped at 1.

References
----------
docs/model.md §8 and docs/operating-model.md: the six building blocks, the sequence,
inter-dependencies and synergies, and the fifteen dimensions of a maturity assessment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxsim.model.leading import ramp, switched_on
from cxsim.scenario.schema import ASSESSMENT_DIMENSIONS, CAPABILITIES  # noqa: F401 - doctest

TARGETING = ("customer_voice", "customer_intelligence")
EXECUTION = ("customer_centricity", "internal_branding", "improvement")

# Which assessment dimensions set each capability's starting level: the mean of
# their scores mapped from 1..5 onto 0..1. "delivery" scales every group's execution.
ASSESSMENT_MAP: dict[str, tuple[str, ...]] = {
    "customer_voice": ("data_feedback_insights", "technology"),
    "customer_intelligence": ("data_feedback_insights", "performance_management", "technology"),
    "improvement": ("innovation", "operations"),
    "customer_centricity": ("leadership", "purpose", "vision", "strategy"),
    "internal_branding": ("culture", "employee_engagement", "communications"),
    "branding": ("brand_integration", "communications"),
    "delivery": ("governance", "program_design", "performance_management"),
}
DELIVERY_FLOOR = 0.5  # execution multiplier at the lowest delivery scores


def assessment_levels(scores: dict[str, int]) -> dict[str, float]:
    """Capability levels (0..1) and the delivery score implied by a maturity assessment.

    Examples
    --------
    >>> levels = assessment_levels(dict.fromkeys(ASSESSMENT_DIMENSIONS, 3))
    >>> levels["customer_voice"], levels["delivery"]
    (0.5, 0.5)
    """
    return {
        name: float(np.mean([(scores[d] - 1) / 4 for d in dims]))
        for name, dims in ASSESSMENT_MAP.items()
    }


def delivery_factor(scores: dict[str, int] | None) -> float:
    """Execution multiplier from governance, programme design and performance management."""
    if scores is None:
        return 1.0
    return DELIVERY_FLOOR + (1 - DELIVERY_FLOOR) * assessment_levels(scores)["delivery"]


@dataclass
class OperatingArrays:
    """Capability inputs of one chunk of draws (shapes in comments)."""

    names: list[str]  # modelled capabilities, in CAPABILITIES order
    level: np.ndarray  # (draw, N) maturity today
    target: np.ndarray  # (draw, N) maturity at the end of the plan (= level: no plan)
    start: np.ndarray  # (draw, N)
    ramp_months: np.ndarray  # (draw, N)
    curves: list[str]
    cost_one_time: np.ndarray  # (draw, N)
    cost_monthly: np.ndarray  # (draw, N)
    targeting_floor: np.ndarray  # (draw,)
    execution_floor: np.ndarray  # (draw,)
    acquisition_uplift: np.ndarray  # (draw,)
    promise_penalty: np.ndarray  # (draw,)
    delivery: float  # execution multiplier from the assessment
    journeys: list[tuple[list[int], np.ndarray]]  # group indices, pain (draw, S)
    synergies: list[tuple[list[int], np.ndarray]]  # group indices, bonus (draw,)


def modelled_capabilities(scenario) -> list[str]:
    """Capabilities the engine models: those listed, or all six with a maturity assessment."""
    assessed = scenario.model.maturity_assessment is not None
    return [c for c in CAPABILITIES if c in scenario.model.capabilities or assessed]


def build_operating(
    scenario, values: dict[str, np.ndarray], segments: list[str], groups: list[str], n: int
) -> OperatingArrays:
    """Capability, journey and synergy arrays from sampled inputs."""
    model = scenario.model
    scores = model.maturity_assessment
    from_assessment = assessment_levels(scores) if scores else {}
    names = modelled_capabilities(scenario)

    def column(name: str, field: str, default: np.ndarray) -> np.ndarray:
        return values.get(f"capabilities.{name}.{field}", default)

    level, target, start, length, one_time, monthly, curves = [], [], [], [], [], [], []
    for name in names:
        cap = model.capabilities.get(name)
        today = column(name, "level", np.full(n, from_assessment.get(name, 0.0)))
        level.append(today)
        if cap is not None and cap.plan is not None:
            target.append(column(name, "plan.target", today))
            start.append(column(name, "plan.start_month", np.zeros(n)))
            length.append(column(name, "plan.ramp_months", np.zeros(n)))
            curves.append(cap.plan.curve)
        else:
            target.append(today)
            start.append(np.zeros(n))
            length.append(np.zeros(n))
            curves.append("linear")
        one_time.append(column(name, "cost.one_time", np.zeros(n)))
        monthly.append(column(name, "cost.monthly", np.zeros(n)))

    def stack(items: list[np.ndarray]) -> np.ndarray:
        return np.stack(items, axis=1) if items else np.zeros((n, 0))

    index = {g: i for i, g in enumerate(groups)}
    journeys = []
    for jname, journey in model.journeys.items():
        pain = np.zeros((n, len(segments)))
        for s, sname in enumerate(segments):
            key = f"journeys.{jname}.pain_share.{sname}"
            if key in values:
                pain[:, s] = values[key]
        journeys.append(([index[g] for g in journey.groups], pain))
    synergies = [
        ([index[g] for g in syn.groups], values[f"synergies.{i}.bonus"])
        for i, syn in enumerate(model.synergies)
    ]
    om = "operating_model."
    return OperatingArrays(
        names=names,
        level=stack(level),
        target=stack(target),
        start=stack(start),
        ramp_months=stack(length),
        curves=curves,
        cost_one_time=stack(one_time),
        cost_monthly=stack(monthly),
        targeting_floor=values[om + "targeting_floor"],
        execution_floor=values[om + "execution_floor"],
        acquisition_uplift=values[om + "acquisition_uplift"],
        promise_penalty=values[om + "promise_penalty"],
        delivery=delivery_factor(scores)
        if model.operating_model.execution_from_assessment
        else 1.0,
        journeys=journeys,
        synergies=synergies,
    )


def maturity(ops: OperatingArrays, horizon: int, on: np.ndarray | None = None) -> np.ndarray:
    """``M_c(t)``, (draw, N, H): today's level rising to the target along the plan.

    A capability switched off stays at today's level; ``on`` is (N,) for every draw or
    (draw, N) row by row.
    """
    months = np.arange(horizon)
    out = np.empty((ops.level.shape[0], len(ops.names), horizon))
    for c in range(len(ops.names)):
        level = ops.level[:, c, None]
        switch = switched_on(on, c)
        if switch is False:
            out[:, c] = level
            continue
        progress = ramp(months, ops.start[:, c], ops.ramp_months[:, c], ops.curves[c])
        out[:, c] = level + (ops.target[:, c, None] - level) * progress
        if switch is not True:
            out[:, c] = np.where(switch[:, None] > 0, out[:, c], level)
    return out


def _geomean(mature: np.ndarray, names: list[str], wanted: tuple[str, ...]) -> np.ndarray | None:
    rows = [names.index(c) for c in wanted if c in names]
    if not rows:
        return None
    return np.exp(np.mean(np.log(np.maximum(mature[:, rows], 1e-12)), axis=1))


def targeting(ops: OperatingArrays, mature: np.ndarray) -> np.ndarray | None:
    """Targeting quality ``q(t)`` (draw, H); None without voice or intelligence modelled."""
    gm = _geomean(mature, ops.names, TARGETING)
    if gm is None:
        return None
    floor = ops.targeting_floor[:, None]
    return floor + (1.0 - floor) * gm


def execution(ops: OperatingArrays, mature: np.ndarray) -> np.ndarray | None:
    """Execution-capacity multiplier ``E(t)`` (draw, H), or None when nothing drives it."""
    gm = _geomean(mature, ops.names, EXECUTION)
    if gm is None:
        return None if ops.delivery == 1.0 else np.full(mature.shape[::2], ops.delivery)
    floor = ops.execution_floor[:, None]
    return ops.delivery * (floor + (1.0 - floor) * gm)


def promise(ops: OperatingArrays, mature: np.ndarray) -> np.ndarray | None:
    """Promise raised by branding since today, ``P(t)`` (draw, H), or None without branding."""
    if "branding" not in ops.names:
        return None
    row = mature[:, ops.names.index("branding")]
    return np.maximum(row - row[:, :1], 0.0)


def promise_gap(raised: np.ndarray, perceived: np.ndarray) -> np.ndarray:
    """Branding's promise ahead of the experience customers perceive, ``max(0, P − X_s)``.

    ``raised`` is the promise ``P`` (draw, H), ``perceived`` is ``X`` (draw, S, H).
    """
    return np.maximum(raised[:, None, :] - perceived, 0.0)


def extra_closure(ops: OperatingArrays, leading: np.ndarray, pain: np.ndarray) -> np.ndarray | None:
    """Gap closure from journeys and synergies, (draw, S, H); None when there are neither."""
    if not ops.journeys and not ops.synergies:
        return None
    extra = np.zeros((leading.shape[0], pain.shape[1], leading.shape[2]))
    for groups, share in ops.journeys:
        weakest = leading[:, groups].min(axis=1)  # (draw, H)
        extra += share[:, :, None] * weakest[:, None, :]
    for groups, bonus in ops.synergies:
        together = leading[:, groups].min(axis=1)  # (draw, H)
        owned = pain[:, :, groups].sum(axis=2)  # (draw, S)
        extra += bonus[:, None, None] * owned[:, :, None] * together[:, None, :]
    return extra
