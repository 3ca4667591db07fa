"""Uncertain scalars: parse distribution specs and turn them into reproducible draws.

Any number in a cxsim scenario may instead be a distribution, written as a mapping
with a ``dist`` key::

    churn_reduction: {dist: pert, min: 0.01, mode: 0.03, max: 0.06}
    price_uplift:    {dist: normal, mean: 0.02, sd: 0.01, min: 0}
    new_customers:   {dist: lognormal, mean: 1200, sd: 300}

Supported kinds and their parameters:

==========  ===============================  =========================================
kind        parameters                       notes
==========  ===============================  =========================================
pert        min, mode, max                   Beta-PERT, lambda = 4
triangular  min, mode, max
uniform     min, max
normal      mean, sd, [min], [max]           optional truncation to [min, max]
lognormal   mean, sd                         mean and sd of the value, not of its log
beta        alpha, beta, [min], [max]        scaled to [min, max], default [0, 1]
==========  ===============================  =========================================

Draws are *counter-based*: draw ``i`` of an input depends only on the run seed, the
input's stream id (a hash of its dotted path) and ``i``.  A run can therefore be
extended or split into chunks without changing any draw it already made, and adding
an input never shifts the draws of the others.  Correlations between inputs are rank
(Spearman) correlations imposed with a Gaussian copula.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import numbers
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaincinv, ndtr, ndtri

__all__ = [
    "KINDS",
    "Distribution",
    "check_correlation",
    "is_distribution_mapping",
    "normal_scores",
    "parse_distribution",
    "sample",
    "stream_id",
    "uniforms",
]

KINDS: tuple[str, ...] = ("pert", "triangular", "uniform", "normal", "lognormal", "beta")

# Parameter names per kind, in the order users write them: (required, optional).
_PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pert": (("min", "mode", "max"), ()),
    "triangular": (("min", "mode", "max"), ()),
    "uniform": (("min", "max"), ()),
    "normal": (("mean", "sd"), ("min", "max")),
    "lognormal": (("mean", "sd"), ()),
    "beta": (("alpha", "beta"), ("min", "max")),
}

_LABELS = {
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
_PERT_LAMBDA = 4.0
# A truncated normal whose mean lies further than this many sd outside [min, max] keeps
# almost no mass (under 1e-15); it is nearly always a unit or sign mistake.
_MAX_TRUNCATION_SD = 8.0
# Smallest eigenvalue a copula matrix may have; below it the Cholesky factor is unreliable.
_MIN_EIGENVALUE = 1e-10

# splitmix64 constants (Steele, Lea & Flood 2014; finaliser "Mix13" by D. Stafford).
_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_MIX_M1 = 0xBF58476D1CE4E5B9
_MIX_M2 = 0x94D049BB133111EB
# Separates the second per-stream key from the first so the two mixing rounds differ.
_KEY2_SALT = 0xD1B54A32D192ED03
# Uniforms are (k + 0.5) / 2**52 for a 52-bit k: every value is exact in float64 and the
# extremes are 2**-53 and 1 - 2**-53.  (With 53 bits the top value would round to 1.0.)
_UNIFORM_BITS = 52
_U_MIN = 2.0**-53
_U_MAX = 1.0 - 2.0**-53

Problem = tuple[str, str, object, str]


def _fmt(value: float) -> str:
    """Short text for a number: integers without a decimal point, others to 6 digits."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _is_number(value: object) -> bool:
    # bool is an int subclass, but ``min: yes`` in YAML is a mistake, not the number 1.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _allowed_names(kind: str) -> tuple[str, ...]:
    required, optional = _PARAMS[kind]
    return required + optional


# --------------------------------------------------------------------------------------
# Validation shared by parse_distribution and Distribution.__post_init__
# --------------------------------------------------------------------------------------


def _unknown_param_problem(kind: str, key: object, value: object) -> Problem:
    allowed = _allowed_names(kind)
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
    if not _is_number(value):
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
    if not math.isfinite(float(value)):
        return (name, "must be finite", value, "a finite number")
    return None


def _range_problems(values: Mapping[str, float], lo_default: float | None = None) -> list[Problem]:
    """min < max, where either may be absent (and beta's default to 0 and 1)."""
    if "min" in values and "max" in values:
        lo, hi = values["min"], values["max"]
        if not lo < hi:
            return [("max", "must be greater than min", hi, f"> {_fmt(lo)}")]
    elif lo_default is not None:
        lo = values.get("min", 0.0)
        hi = values.get("max", 1.0)
        if not lo < hi:
            if "min" in values:
                return [("min", "must be less than max (1 by default)", lo, f"< {_fmt(hi)}")]
            return [("max", "must be greater than min (0 by default)", hi, f"> {_fmt(lo)}")]
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
                f"lies more than {_fmt(k)} sd below min, so almost no probability is left "
                "inside the truncation",
                mean,
                f">= {_fmt(lo - k * sd)} (min - {_fmt(k)} sd)",
            )
        ]
    if "max" in values and (values["max"] - mean) / sd < -k:
        hi = values["max"]
        return [
            (
                "mean",
                f"lies more than {_fmt(k)} sd above max, so almost no probability is left "
                "inside the truncation",
                mean,
                f"<= {_fmt(hi + k * sd)} (max + {_fmt(k)} sd)",
            )
        ]
    lo = values.get("min", -math.inf)
    hi = values.get("max", math.inf)
    if lo < hi and not _normal_mass((lo - mean) / sd, (hi - mean) / sd)[-1] > 0.0:
        return [("max", "leaves a truncation interval too narrow to hold probability", hi, "wider")]
    return []


def _constraint_problems(kind: str, values: Mapping[str, float]) -> list[Problem]:
    """Checks between parameters; ``values`` holds only the finite numeric ones."""
    problems: list[Problem] = []
    if kind in ("pert", "triangular"):
        if {"min", "max"} <= values.keys():
            lo, hi = values["min"], values["max"]
            if not lo < hi:
                problems.append(("max", "must be greater than min", hi, f"> {_fmt(lo)}"))
            elif "mode" in values and not lo <= values["mode"] <= hi:
                problems.append(
                    (
                        "mode",
                        "must lie between min and max",
                        values["mode"],
                        f"{_fmt(lo)} ≤ mode ≤ {_fmt(hi)}",
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


def _param_problems(kind: str, raw: Mapping[Any, object]) -> tuple[dict[str, float], list[Problem]]:
    """Check the parameters of a known kind; return the usable values and every problem."""
    required, optional = _PARAMS[kind]
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
            values[name] = float(raw[name])
        else:
            problems.append(problem)
    problems += _constraint_problems(kind, values)
    return values, problems


def _kind_problem(kind: object) -> Problem:
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


def _normal_mass(a: float, b: float) -> tuple[float, float, float]:
    """Return ``(Phi(a), 1 - Phi(b), Phi(b) - Phi(a))`` without cancellation.

    Each tail is computed directly (``ndtr(-b)`` rather than ``1 - ndtr(b)``), and the
    mass from whichever side keeps the subtraction between small numbers, so an interval
    8 sd out in either tail still gets its mass to full relative precision.
    """
    lower = float(ndtr(a))  # P(Z < a)
    upper = float(ndtr(-b))  # P(Z > b)
    if b <= 0.0:
        mass = float(ndtr(b)) - lower
    elif a >= 0.0:
        mass = float(ndtr(-a)) - upper
    else:
        mass = 1.0 - lower - upper
    return lower, upper, mass


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) if math.isfinite(x) else 0.0


# --------------------------------------------------------------------------------------
# Distribution
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """A validated, immutable, hashable distribution for one uncertain input.

    Build one with :func:`parse_distribution` (which reports problems instead of raising)
    or directly; direct construction validates too and raises ``ValueError``.

    Parameters
    ----------
    dist : str
        One of :data:`KINDS`.
    params : tuple of (str, float)
        The parameters as ``(name, value)`` pairs.  A mapping is accepted too; either is
        stored as pairs sorted by name, so equal distributions compare and hash equal.

    Examples
    --------
    >>> d = Distribution("pert", {"min": 0.2, "mode": 0.3, "max": 0.45})
    >>> d.params
    (('max', 0.45), ('min', 0.2), ('mode', 0.3))
    >>> d.describe()
    'PERT(0.2, 0.3, 0.45)'
    >>> round(d.mean(), 4)
    0.3083
    >>> d.support()
    (0.2, 0.45)
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        items: Iterable = self.params.items() if isinstance(self.params, Mapping) else self.params
        pairs = {str(name): value for name, value in items}
        if self.dist not in KINDS:
            raise ValueError(f"unknown distribution {self.dist!r}; use one of {', '.join(KINDS)}")
        _, problems = _param_problems(self.dist, pairs)
        if problems:
            text = "; ".join(f"{key}: {message} (got {got!r})" for key, message, got, _ in problems)
            raise ValueError(f"invalid {self.dist} distribution: {text}")
        normalised = tuple(sorted((name, float(value)) for name, value in pairs.items()))
        object.__setattr__(self, "params", normalised)

    # -- parameters ---------------------------------------------------------------------

    def get(self, name: str, default: float | None = None) -> float | None:
        """Return parameter ``name``, or ``default`` when it was not given.

        Examples
        --------
        >>> d = Distribution("normal", {"mean": 10, "sd": 2, "min": 0})
        >>> d.get("min"), d.get("max", float("inf"))
        (0.0, inf)
        """
        for key, value in self.params:
            if key == name:
                return value
        return default

    @property
    def p(self) -> dict[str, float]:
        """The parameters as a new ``dict`` (name -> value).

        Examples
        --------
        >>> Distribution("uniform", {"min": 1, "max": 3}).p
        {'max': 3.0, 'min': 1.0}
        """
        return dict(self.params)

    # -- inverse CDF --------------------------------------------------------------------

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF, vectorised.

        Parameters
        ----------
        u : array_like of float
            Probabilities in [0, 1].  0 and 1 map to the ends of :meth:`support`
            (which may be infinite); values outside [0, 1] or NaN give NaN.

        Returns
        -------
        numpy.ndarray
            float64 values of the same shape as ``u``, never outside :meth:`support`.

        Examples
        --------
        >>> d = Distribution("triangular", {"min": 0, "mode": 5, "max": 10})
        >>> d.ppf([0.0, 0.5, 1.0])
        array([ 0.,  5., 10.])
        """
        u = np.asarray(u, dtype=np.float64)
        valid = (u >= 0.0) & (u <= 1.0)  # also False for NaN
        uc = np.where(valid, u, 0.5)
        lo, hi = self.support()
        p = self.p
        kind = self.dist
        if kind == "uniform":
            x = lo + uc * (hi - lo)
        elif kind == "triangular":
            mode, width = p["mode"], hi - lo
            left = lo + np.sqrt(uc * width * (mode - lo))
            right = hi - np.sqrt((1.0 - uc) * width * (hi - mode))
            x = np.where(uc * width < mode - lo, left, right)
        elif kind in ("pert", "beta"):
            alpha, beta = self._beta_shape()
            x = lo + (hi - lo) * betaincinv(alpha, beta, uc)
        elif kind == "normal":
            x = p["mean"] + p["sd"] * self._standard_truncated_ppf(uc)
        else:  # lognormal
            mu, sigma = self._log_params()
            x = np.exp(mu + sigma * ndtri(uc))
        # Rounding in the closed forms (e.g. mean + sd * b) can step an ulp past an end
        # point; clip, and give the probabilities 0 and 1 the end points exactly.
        x = np.clip(x, lo, hi)
        x = np.where(uc == 0.0, lo, np.where(uc == 1.0, hi, x))
        return np.where(valid, x, np.nan)

    def quantile(self, q: float) -> float:
        """Value below which a fraction ``q`` of the probability lies (``ppf`` at ``q``).

        Examples
        --------
        >>> Distribution("uniform", {"min": 0, "max": 10}).quantile(0.9)
        9.0
        """
        return float(self.ppf(np.asarray([q], dtype=np.float64))[0])

    def median(self) -> float:
        """The 50 % quantile.

        Examples
        --------
        >>> round(Distribution("lognormal", {"mean": 100, "sd": 50}).median(), 3)
        89.443
        """
        return self.quantile(0.5)

    def mean(self) -> float:
        """Analytic mean; for a truncated normal, the mean after truncation.

        Examples
        --------
        >>> Distribution("triangular", {"min": 0, "mode": 3, "max": 9}).mean()
        4.0
        >>> round(Distribution("normal", {"mean": 0, "sd": 1, "min": 0}).mean(), 6)
        0.797885
        """
        p = self.p
        kind = self.dist
        if kind == "pert":
            return (p["min"] + _PERT_LAMBDA * p["mode"] + p["max"]) / (_PERT_LAMBDA + 2.0)
        if kind == "triangular":
            return (p["min"] + p["mode"] + p["max"]) / 3.0
        if kind == "uniform":
            return (p["min"] + p["max"]) / 2.0
        if kind == "lognormal":
            return p["mean"]
        if kind == "beta":
            lo, hi = self.support()
            return lo + (hi - lo) * p["alpha"] / (p["alpha"] + p["beta"])
        # normal: mean + sd * (phi(a) - phi(b)) / Z, which is just the mean untruncated.
        a, b = self._standard_bounds()
        _, _, mass = _normal_mass(a, b)
        return p["mean"] + p["sd"] * (_normal_pdf(a) - _normal_pdf(b)) / mass

    def support(self) -> tuple[float, float]:
        """The ``(lowest, highest)`` possible values; either may be infinite.

        Examples
        --------
        >>> Distribution("normal", {"mean": 0, "sd": 1}).support()
        (-inf, inf)
        >>> Distribution("lognormal", {"mean": 5, "sd": 1}).support()
        (0.0, inf)
        """
        kind = self.dist
        if kind == "normal":
            return (self.get("min", -math.inf), self.get("max", math.inf))
        if kind == "lognormal":
            return (0.0, math.inf)
        if kind == "beta":
            return (self.get("min", 0.0), self.get("max", 1.0))
        return (self.p["min"], self.p["max"])

    # -- text ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the YAML mapping that :func:`parse_distribution` reads back.

        Examples
        --------
        >>> Distribution("pert", {"min": 1, "mode": 2, "max": 4}).to_dict()
        {'dist': 'pert', 'min': 1.0, 'mode': 2.0, 'max': 4.0}
        """
        p = self.p
        out: dict[str, Any] = {"dist": self.dist}
        for name in _allowed_names(self.dist):
            if name in p:
                out[name] = p[name]
        return out

    def describe(self) -> str:
        """Short human-readable text, for reports and error messages.

        Examples
        --------
        >>> Distribution("normal", {"mean": 10, "sd": 2, "min": 0}).describe()
        'Normal(10, 2) on [0, inf)'
        >>> Distribution("lognormal", {"mean": 1200, "sd": 300}).describe()
        'Lognormal(mean 1200, sd 300)'
        """
        p = self.p
        label = _LABELS[self.dist]
        if self.dist == "lognormal":
            return f"{label}(mean {_fmt(p['mean'])}, sd {_fmt(p['sd'])})"
        args = ", ".join(_fmt(p[name]) for name in _PARAMS[self.dist][0])
        text = f"{label}({args})"
        if self.dist in ("normal", "beta") and ("min" in p or "max" in p):
            lo, hi = self.support()
            left = "(" if math.isinf(lo) else "["
            right = ")" if math.isinf(hi) else "]"
            text += f" on {left}{_fmt(lo)}, {_fmt(hi)}{right}"
        return text

    # -- internals ----------------------------------------------------------------------

    def _beta_shape(self) -> tuple[float, float]:
        p = self.p
        if self.dist == "beta":
            return p["alpha"], p["beta"]
        width = p["max"] - p["min"]
        alpha = 1.0 + _PERT_LAMBDA * (p["mode"] - p["min"]) / width
        beta = 1.0 + _PERT_LAMBDA * (p["max"] - p["mode"]) / width
        return alpha, beta

    def _log_params(self) -> tuple[float, float]:
        """mu and sigma of ln(X) from the mean and sd of X."""
        mean, sd = self.p["mean"], self.p["sd"]
        sigma2 = math.log1p((sd / mean) ** 2)
        return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)

    def _standard_bounds(self) -> tuple[float, float]:
        lo, hi = self.support()
        mean, sd = self.p["mean"], self.p["sd"]
        return (lo - mean) / sd, (hi - mean) / sd

    def _standard_truncated_ppf(self, u: np.ndarray) -> np.ndarray:
        """Standard-normal quantiles restricted to [a, b] (the untruncated case included).

        The target probability is ``Phi(a) + u * mass`` but is evaluated from whichever
        tail is nearer: ``ndtri`` of a lower-tail probability below 0.5, and minus
        ``ndtri`` of the upper-tail probability ``(1 - Phi(b)) + (1 - u) * mass``
        above it.  Neither side ever forms ``1 - tiny``, so intervals far in a tail stay
        finite and accurate.
        """
        a, b = self._standard_bounds()
        lower, upper, mass = _normal_mass(a, b)
        p_lower = lower + u * mass
        z = np.empty_like(u)
        low_side = p_lower <= 0.5
        z[low_side] = ndtri(p_lower[low_side])
        high = ~low_side
        z[high] = -ndtri(np.minimum(upper + (1.0 - u[high]) * mass, 1.0))
        return np.clip(z, a, b)


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def is_distribution_mapping(raw: object) -> bool:
    """True when ``raw`` is a mapping with a ``dist`` key, i.e. meant as a distribution.

    Examples
    --------
    >>> is_distribution_mapping({"dist": "uniform", "min": 0, "max": 1})
    True
    >>> is_distribution_mapping(0.3), is_distribution_mapping({"min": 0})
    (False, False)
    """
    return isinstance(raw, Mapping) and "dist" in raw


def parse_distribution(
    raw: Mapping,
) -> tuple[Distribution | None, list[tuple[str, str, object, str]]]:
    """Validate a raw mapping from a scenario file and build a :class:`Distribution`.

    Never raises for bad input: every problem found is returned.

    Parameters
    ----------
    raw : Mapping
        A mapping such as ``{"dist": "pert", "min": 0.1, "mode": 0.2, "max": 0.5}``.
        The ``dist`` value is matched case-insensitively.

    Returns
    -------
    dist : Distribution or None
        The distribution, or None when there is any problem.
    problems : list of (subkey, message, got, allowed)
        ``subkey`` is the offending key inside the mapping (``""`` when ``raw`` is not a
        mapping at all), ``got`` the offending value (None when missing) and ``allowed``
        a short description of what would be accepted.

    Examples
    --------
    >>> d, problems = parse_distribution({"dist": "pert", "min": 0.2, "mode": 0.3, "max": 0.45})
    >>> d.describe(), problems
    ('PERT(0.2, 0.3, 0.45)', [])
    >>> d, problems = parse_distribution({"dist": "normal", "mean": 1, "stdev": 0.5, "min": "0"})
    >>> d is None
    True
    >>> for subkey, message, got, allowed in problems:
    ...     print(f"{subkey}: {message}; got {got!r}")
    stdev: unknown parameter (did you mean 'sd'?); got 0.5
    sd: missing parameter; got None
    min: must be a number; got '0'
    """
    if not isinstance(raw, Mapping):
        return None, [
            ("", "must be a mapping", raw, "a mapping with a 'dist' key, e.g. {dist: uniform, ...}")
        ]
    if "dist" not in raw:
        return None, [("dist", "missing parameter", None, "one of " + ", ".join(KINDS))]
    kind = raw["dist"]
    if isinstance(kind, str) and kind.strip().lower() in KINDS:
        kind = kind.strip().lower()
    else:
        # Without a known kind the other keys cannot be judged, so stop at this one.
        return None, [_kind_problem(kind)]
    values, problems = _param_problems(kind, raw)
    if problems:
        return None, problems
    return Distribution(kind, tuple(sorted(values.items()))), []


# --------------------------------------------------------------------------------------
# Counter-based random numbers
# --------------------------------------------------------------------------------------


def stream_id(name: str) -> int:
    """Stable 64-bit stream id for a name (normally the input's dotted path).

    The first 8 bytes of BLAKE2b of the UTF-8 name, read little-endian, so the id is
    the same on every run, platform and Python version (unlike ``hash``).

    Examples
    --------
    >>> stream_id("retention.churn_reduction") == stream_id("retention.churn_reduction")
    True
    >>> 0 <= stream_id("x") < 2**64
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"stream name must be a str, got {type(name).__name__}")
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mix64(x: int) -> int:
    """splitmix64 finaliser on a Python int (used once per call to derive the keys)."""
    x &= _MASK64
    x = ((x ^ (x >> 30)) * _MIX_M1) & _MASK64
    x = ((x ^ (x >> 27)) * _MIX_M2) & _MASK64
    return x ^ (x >> 31)


def _mix64_inplace(x: np.ndarray, scratch: np.ndarray) -> None:
    """splitmix64 finaliser on a uint64 array, in place (uint64 products wrap mod 2**64)."""
    np.right_shift(x, np.uint64(30), out=scratch)
    np.bitwise_xor(x, scratch, out=x)
    np.multiply(x, np.uint64(_MIX_M1), out=x)
    np.right_shift(x, np.uint64(27), out=scratch)
    np.bitwise_xor(x, scratch, out=x)
    np.multiply(x, np.uint64(_MIX_M2), out=x)
    np.right_shift(x, np.uint64(31), out=scratch)
    np.bitwise_xor(x, scratch, out=x)


def _check_range(start: int, stop: int) -> tuple[int, int]:
    start, stop = operator.index(start), operator.index(stop)
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    return start, stop


def uniforms(seed: int, stream: int, start: int, stop: int) -> np.ndarray:
    """Uniform draws ``start`` to ``stop - 1`` of one stream, strictly inside (0, 1).

    Counter-based: draw ``i`` is a pure function of ``(seed, stream, i)``, so any range
    can be generated on its own and prefixes or chunks of a run agree exactly.  Each
    draw is splitmix64 at position ``i`` of a stream keyed by (seed, stream), mixed a
    second time with another key; the top 52 bits ``k`` give ``(k + 0.5) / 2**52``.

    Parameters
    ----------
    seed : int
        Run seed; any integer (taken modulo 2**64).
    stream : int
        Stream id, usually :func:`stream_id` of the input's path (modulo 2**64).
    start, stop : int
        Draw indices, ``0 <= start <= stop``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(stop - start,)``, values in [2**-53, 1 - 2**-53].

    Examples
    --------
    >>> u = uniforms(42, stream_id("x"), 0, 1000)
    >>> u.shape, bool(((u > 0) & (u < 1)).all())
    ((1000,), True)
    >>> bool((uniforms(42, stream_id("x"), 250, 1000) == u[250:]).all())
    True
    """
    start, stop = _check_range(start, stop)
    seed = operator.index(seed) & _MASK64
    stream = operator.index(stream) & _MASK64
    key1 = _mix64(_mix64(seed + _GOLDEN_GAMMA) ^ stream)
    key2 = _mix64(key1 ^ _KEY2_SALT)
    x = np.arange(start, stop, dtype=np.uint64)
    scratch = np.empty_like(x)
    np.multiply(x, np.uint64(_GOLDEN_GAMMA), out=x)
    np.add(x, np.uint64(key1), out=x)
    _mix64_inplace(x, scratch)
    np.bitwise_xor(x, np.uint64(key2), out=x)
    _mix64_inplace(x, scratch)
    np.right_shift(x, np.uint64(64 - _UNIFORM_BITS), out=x)
    u = x.astype(np.float64)
    u += 0.5
    u *= 2.0**-_UNIFORM_BITS
    return u


def normal_scores(seed: int, streams: Sequence[int], start: int, stop: int) -> np.ndarray:
    """Standard-normal draws, one row per stream: ``ndtri(uniforms(...))``.

    Examples
    --------
    >>> z = normal_scores(7, [stream_id("a"), stream_id("b")], 0, 5)
    >>> z.shape
    (2, 5)
    """
    start, stop = _check_range(start, stop)
    out = np.empty((len(streams), stop - start))
    for row, stream in enumerate(streams):
        out[row] = ndtri(uniforms(seed, stream, start, stop))
    return out


# --------------------------------------------------------------------------------------
# Correlation
# --------------------------------------------------------------------------------------


def _spearman_to_pearson(rho: np.ndarray) -> np.ndarray:
    """Pearson correlation of a Gaussian copula whose Spearman correlation is ``rho``."""
    return 2.0 * np.sin(np.pi * rho / 6.0)


def check_correlation(
    names: Sequence[str], pairs: Sequence[tuple[str, str, float]]
) -> tuple[np.ndarray | None, list[str]]:
    """Validate rank correlations and build the Gaussian-copula correlation matrix.

    Parameters
    ----------
    names : sequence of str
        The correlated inputs' names, in the order of the matrix rows.
    pairs : sequence of (str, str, float)
        ``(name_a, name_b, rho)`` with ``rho`` a Spearman rank correlation; pairs not
        listed are uncorrelated.

    Returns
    -------
    pearson : numpy.ndarray or None
        ``r = 2 sin(pi rho / 6)`` for every pair, 1 on the diagonal; None on problems.
    problems : list of str
        Every problem found: rho not a number or outside [-1, 1], unknown names, a pair
        of an input with itself, a pair given twice, or a set of correlations that no
        joint distribution can have (matrix not positive definite).

    Examples
    --------
    >>> pearson, problems = check_correlation(["a", "b"], [("a", "b", 0.5)])
    >>> problems, pearson.round(4).tolist()
    ([], [[1.0, 0.5176], [0.5176, 1.0]])
    >>> pairs = [("a", "b", 0.9), ("a", "c", 0.9), ("b", "c", -0.9)]
    >>> print(check_correlation(["a", "b", "c"], pairs)[1][0])
    correlations are inconsistent: the matrix is not positive definite (smallest eigenvalue -0.816)
    """
    problems: list[str] = []
    index: dict[str, int] = {}
    for name in names:
        if name in index:
            problems.append(f"input '{name}' is listed twice")
        index.setdefault(name, len(index))
    n = len(index)
    rho = np.eye(n)
    seen: dict[frozenset[str], int] = {}
    has_unit = False
    for number, pair in enumerate(pairs, start=1):
        try:
            name_a, name_b, value = pair
        except (TypeError, ValueError):
            problems.append(f"correlation #{number} must be (input, input, rho), got {pair!r}")
            continue
        label = f"correlation between '{name_a}' and '{name_b}'"
        ok = True
        for name in (name_a, name_b):
            if name not in index:
                close = difflib.get_close_matches(str(name), list(index), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(f"correlation names unknown input '{name}'{hint}")
                ok = False
        if name_a == name_b:
            problems.append(f"correlation pairs '{name_a}' with itself")
            ok = False
        if not _is_number(value) or not math.isfinite(float(value)):
            problems.append(f"{label} must be a number, got {value!r}")
            ok = False
        elif not -1.0 <= float(value) <= 1.0:
            problems.append(f"{label} is {_fmt(float(value))}; it must lie between -1 and 1")
            ok = False
        key = frozenset((str(name_a), str(name_b)))
        if key in seen and name_a != name_b:
            problems.append(f"{label} is given twice (entries #{seen[key]} and #{number})")
            ok = False
        seen.setdefault(key, number)
        if ok:
            i, j = index[name_a], index[name_b]
            rho[i, j] = rho[j, i] = float(value)
            has_unit = has_unit or abs(float(value)) == 1.0
    pearson = _spearman_to_pearson(rho)
    np.fill_diagonal(pearson, 1.0)
    if n:
        smallest = float(np.linalg.eigvalsh(pearson)[0])
        if smallest <= _MIN_EIGENVALUE:
            message = (
                "correlations are inconsistent: the matrix is not positive definite "
                f"(smallest eigenvalue {smallest:.3g})"
            )
            if has_unit:
                message += "; a correlation of exactly 1 or -1 makes two inputs copies, use 0.99"
            problems.append(message)
    if problems:
        return None, problems
    return pearson, []


# --------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------


def sample(
    dists: Sequence[Distribution],
    streams: Sequence[int],
    seed: int,
    start: int,
    stop: int,
    pearson: np.ndarray | None = None,
) -> np.ndarray:
    """Draws ``start`` to ``stop - 1`` of several inputs, optionally rank-correlated.

    Independent inputs are ``ppf(uniforms(seed, stream, start, stop))``.  Correlated
    inputs use a Gaussian copula: normal scores ``z``, ``z' = L z`` with ``L`` the
    Cholesky factor of ``pearson``, then ``ppf(ndtr(z'))``.  Every step works draw by
    draw (the product ``L z`` is summed in a fixed order, not by BLAS, whose blocking
    could change the last bit with the array length), so prefixes and chunks agree
    exactly here too.  An input with no correlation gets exactly the same draws as
    without ``pearson``.

    Parameters
    ----------
    dists : sequence of Distribution
        The marginal distributions.
    streams : sequence of int
        One stream id per distribution (see :func:`stream_id`).
    seed : int
        Run seed.
    start, stop : int
        Draw indices, ``0 <= start <= stop``.
    pearson : numpy.ndarray, optional
        Copula correlation matrix from :func:`check_correlation`, rows in the order
        of ``dists``.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(dists), stop - start)``.

    Raises
    ------
    ValueError
        If the lengths or matrix shape disagree or ``pearson`` is not a valid
        correlation matrix.

    Examples
    --------
    >>> a, _ = parse_distribution({"dist": "uniform", "min": 0, "max": 1})
    >>> b, _ = parse_distribution({"dist": "pert", "min": 10, "mode": 20, "max": 40})
    >>> pearson, _ = check_correlation(["a", "b"], [("a", "b", 0.8)])
    >>> x = sample([a, b], [stream_id("a"), stream_id("b")], 1, 0, 20_000, pearson)
    >>> x.shape
    (2, 20000)
    >>> bool(abs(np.corrcoef(x.argsort().argsort())[0, 1] - 0.8) < 0.02)
    True
    """
    start, stop = _check_range(start, stop)
    m = len(dists)
    if len(streams) != m:
        raise ValueError(f"need one stream per distribution: {m} dists, {len(streams)} streams")
    correlated: list[int] = []
    if pearson is not None:
        pearson = np.asarray(pearson, dtype=np.float64)
        if pearson.shape != (m, m):
            raise ValueError(f"pearson must be {m}x{m}, got shape {pearson.shape}")
        if not np.array_equal(pearson, pearson.T) or not np.all(np.diag(pearson) == 1.0):
            raise ValueError("pearson must be symmetric with ones on the diagonal")
        off_diagonal = pearson - np.eye(m)
        correlated = np.flatnonzero(np.any(off_diagonal != 0.0, axis=1)).tolist()

    out = np.empty((m, stop - start))
    chosen = set(correlated)
    for j, dist in enumerate(dists):
        if j not in chosen:
            out[j] = dist.ppf(uniforms(seed, streams[j], start, stop))
    if not correlated:
        return out

    try:
        factor = np.linalg.cholesky(pearson[np.ix_(correlated, correlated)])
    except np.linalg.LinAlgError as err:
        raise ValueError("pearson is not positive definite") from err
    scores = normal_scores(seed, [streams[j] for j in correlated], start, stop)
    for row, j in enumerate(correlated):
        mixed = factor[row, row] * scores[row]
        for k in range(row):
            # Exact zeros (between separate correlated groups) would add nothing.
            if factor[row, k] != 0.0:
                mixed += factor[row, k] * scores[k]
        u = np.clip(ndtr(mixed), _U_MIN, _U_MAX)
        out[j] = dists[j].ppf(u)
    return out
