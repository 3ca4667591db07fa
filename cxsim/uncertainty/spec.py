"""Distribution specs: the kinds, their parameters and every check on them.

Shared by :func:`~cxsim.uncertainty.distributions.parse_distribution` (which reports
problems) and :class:`~cxsim.uncertainty.distributions.Distribution` (which raises on them),
so a spec is judged the same way however it is built.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping
from typing import Any, TypeGuard, cast

KINDS: tuple[str, ...] = ("pert", "triangular", "uniform", "normal", "lognormal", "beta")

# Parameter names per kind, in the order users write them: (required, optional).
PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pert": (("min", "mode", "max"), ()),
    "triangular": (("min", "mode", "max"), ()),
    "uniform": (("min", "max"), ()),
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("mean", "sd"), ()),
    "beta": (("alpha", "beta"), ("min", "max")),
}

LABELS = {
    "pert": "PERT",
    "triangular": "Triangular",
    "uniform": "Uniform",
    "normal": "Normal",
    "lognormal": "Lognormal",
    "beta": "Beta",
}

# Names people reach for that difflib cannot connect to ours; used only for hints.
_PARAM_ALIASES = {
    "stdev": "sd",
    "stddev": "sd",
    "std": "sd",
    "sigma": "sd",
    "mu": "mean",
    "average": "mean",
    "avg": "mean",
    "lo": "min",
    "low": "min",
    "lower": "min",
    "minimum": "min",
    "hi": "max",
    "high": "max",
    "upper": "max",
    "maximum": "max",
    "likely": "mode",
    "most_likely": "mode",
    "ml": "mode",
    "peak": "mode",
    "a": "alpha",
    "b": "beta",
}
_KIND_ALIASES = {
    "betapert": "pert",
    "beta-pert": "pert",
    "beta_pert": "pert",
    "tri": "triangular",
    "triang": "triangular",
    "gaussian": "normal",
    "gauss": "normal",
    "unif": "uniform",
}

# PERT's lambda: the weight of the mode relative to the end points.
PERT_LAMBDA = 4.0
# A truncated normal whose mean lies further than this many sd outside [min, max] keeps
# almost no mass (under 1e-15); it is nearly always a unit or sign mistake.
_MAX_TRUNCATION_SD = 8.0
# Smallest eigenvalue a copula matrix may have; below it the Cholesky factor is unreliable.

Problem = tuple[str, str, object, str]


def fmt_number(value: float) -> str:
    """Short text for a number: integers without a decimal point, others to 6 digits."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def is_number(value: object) -> TypeGuard[numbers.Real]:
    # bool is an int subclass, but ``min: yes`` in YAML is a mistake, not the number 1.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def allowed_names(kind: str) -> tuple[str, ...]:
    required, optional = PARAMS[kind]
    return required + optional


# --------------------------------------------------------------------------------------
# Validation shared by parse_distribution and Distribution.__post_init__
# --------------------------------------------------------------------------------------


def _unknown_param_problem(kind: str, key: object, value: object) -> Problem:
    allowed = allowed_names(kind)
    name = str(key)
    hint = _PARAM_ALIASES.get(name.lower())
    if hint not in allowed:
        close = difflib.get_close_matches(name.lower(), allowed, n=1, cutoff=0.6)
        hint = close[0] if close else None
    message = "unknown parameter"
    if hint is not None:
        message += f" (did you mean '{hint}'?)"
    if kind == "lognormal" and name.lower() in ("mu", "sigma", "meanlog", "sdlog"):
        message += "; lognormal takes the mean and sd of the value itself, not of its log"
    return (name, message, value, ", ".join(allowed))


def _number_problem(name: str, value: object) -> Problem | None:
    if not is_number(value):
        allowed = "a number"
        # PyYAML follows YAML 1.1, which reads 1e-3 (no decimal point) as a string.
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                pass
            else:
                allowed = "a number, written without quotes (YAML reads 1e-3 as text; write 1.0e-3)"
        return (name, "must be a number", value, allowed)
    try:
        finite = math.isfinite(float(value))
    except OverflowError:  # an integer beyond float range
        finite = False
    if not finite:
        return (name, "must be finite", value, "a finite number")
    return None


def _range_problems(values: Mapping[str, float], lo_default: float | None = None) -> list[Problem]:
    """min < max, where either may be absent (and beta's default to 0 and 1)."""
    if "min" in values and "max" in values:
        lo, hi = values["min"], values["max"]
        if not lo < hi:
            return [("max", "must be greater than min", hi, f"> {fmt_number(lo)}")]
    elif lo_default is not None:
        lo = values.get("min", 0.0)
        hi = values.get("max", 1.0)
        if not lo < hi:
            if "min" in values:
                return [("min", "must be less than max (1 by default)", lo, f"< {fmt_number(hi)}")]
            return [("max", "must be greater than min (0 by default)", hi, f"> {fmt_number(lo)}")]
    return []


def _truncation_problems(values: Mapping[str, float]) -> list[Problem]:
    """A truncated normal must keep probability mass inside [min, max]."""
    mean, sd = values["mean"], values["sd"]
    k = _MAX_TRUNCATION_SD
    if "min" in values and (values["min"] - mean) / sd > k:
        lo = values["min"]
        return [
            (
                "mean",
                f"lies more than {fmt_number(k)} sd below min, so almost no probability is left "
                "inside the truncation",
                mean,
                f">= {fmt_number(lo - k * sd)} (min - {fmt_number(k)} sd)",
            )
        ]
    if "max" in values and (values["max"] - mean) / sd < -k:
        hi = values["max"]
        return [
            (
                "mean",
                f"lies more than {fmt_number(k)} sd above max, so almost no probability is left "
                "inside the truncation",
                mean,
                f"<= {fmt_number(hi + k * sd)} (max + {fmt_number(k)} sd)",
            )
        ]
    lo = values.get("min", -math.inf)
    hi = values.get("max", math.inf)
    if lo < hi and not normal_mass((lo - mean) / sd, (hi - mean) / sd)[-1] > 0.0:
        return [("max", "leaves a truncation interval too narrow to hold probability", hi, "wider")]
    return []


def _constraint_problems(kind: str, values: Mapping[str, float]) -> list[Problem]:
    """Checks between parameters; ``values`` holds only the finite numeric ones."""
    problems: list[Problem] = []
    if kind in ("pert", "triangular"):
        if {"min", "max"} <= values.keys():
            lo, hi = values["min"], values["max"]
            if not lo < hi:
                problems.append(("max", "must be greater than min", hi, f"> {fmt_number(lo)}"))
            elif "mode" in values and not lo <= values["mode"] <= hi:
                problems.append(
                    (
                        "mode",
                        "must lie between min and max",
                        values["mode"],
                        f"{fmt_number(lo)} ≤ mode ≤ {fmt_number(hi)}",
                    )
                )
    elif kind == "uniform":
        problems += _range_problems(values)
    elif kind == "normal":
        sd_ok = True
        if "sd" in values and not values["sd"] > 0:
            problems.append(("sd", "must be positive", values["sd"], "> 0"))
            sd_ok = False
        range_problems = _range_problems(values)
        problems += range_problems
        if sd_ok and not range_problems and {"mean", "sd"} <= values.keys():
            problems += _truncation_problems(values)
    elif kind == "lognormal":
        for name in ("mean", "sd"):
            if name in values and not values[name] > 0:
                problems.append((name, "must be positive", values[name], "> 0"))
    elif kind == "beta":
        for name in ("alpha", "beta"):
            if name in values and not values[name] > 0:
                problems.append((name, "must be positive", values[name], "> 0"))
        problems += _range_problems(values, lo_default=0.0)
    return problems


def param_problems(kind: str, raw: Mapping[Any, object]) -> tuple[dict[str, float], list[Problem]]:
    """Check the parameters of a known kind; return the usable values and every problem."""
    required, optional = PARAMS[kind]
    allowed = required + optional
    problems: list[Problem] = []
    for key, value in raw.items():
        if key != "dist" and key not in allowed:
            problems.append(_unknown_param_problem(kind, key, value))
    values: dict[str, float] = {}
    for name in allowed:
        if name not in raw:
            if name in required:
                problems.append((name, "missing parameter", None, "a number"))
            continue
        problem = _number_problem(name, raw[name])
        if problem is None:
            values[name] = float(cast(float, raw[name]))
        else:
            problems.append(problem)
    problems += _constraint_problems(kind, values)
    return values, problems


def kind_problem(kind: object) -> Problem:
    hint = None
    if isinstance(kind, str):
        hint = _KIND_ALIASES.get(kind.strip().lower())
        if hint is None:
            close = difflib.get_close_matches(kind.strip().lower(), KINDS, n=1, cutoff=0.6)
            hint = close[0] if close else None
    message = "unknown distribution"
    if hint is not None:
        message += f" (did you mean '{hint}'?)"
    return ("dist", message, kind, "one of " + ", ".join(KINDS))


# --------------------------------------------------------------------------------------
# Truncated-normal helpers
# --------------------------------------------------------------------------------------


def normal_mass(a: float, b: float) -> tuple[float, float, float]:
    """Return ``(Phi(a), 1 - Phi(b), Phi(b) - Phi(a))`` without cancellation.

    Each tail is computed directly (``ndtr(-b)`` rather than ``1 - ndtr(b)``), and the
    mass from whichever side keeps the subtraction between small numbers, so an interval
    8 sd out in either tail still gets its mass to full relative precision.
    """
    from scipy.special import ndtr  # here, so that loading a scenario needs no scipy

    lower = float(ndtr(a))  # P(Z < a)
    upper = float(ndtr(-b))  # P(Z > b)
    if b <= 0.0:
        mass = float(ndtr(b)) - lower
    elif a >= 0.0:
        mass = float(ndtr(-a)) - upper
    else:
        mass = 1.0 - lower - upper
    return lower, upper, mass


def normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) if math.isfinite(x) else 0.0


# --------------------------------------------------------------------------------------
# Distribution
