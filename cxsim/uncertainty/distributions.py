"""Uncertain scalars: a validated, immutable distribution with its maths (inverse CDF, moments).

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

Draws come from the counter-based streams of :mod:`~cxsim.uncertainty.streams` through
:meth:`Distribution.ppf`; correlations from :mod:`~cxsim.uncertainty.copula`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxsim.uncertainty.spec import (
    KINDS,
    LABELS,
    PARAMS,
    PERT_LAMBDA,
    allowed_names,
    fmt_number,
    kind_problem,
    normal_mass,
    normal_pdf,
    param_problems,
)

__all__ = ["KINDS", "Distribution", "is_distribution_mapping", "parse_distribution"]

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
        _, problems = param_problems(self.dist, pairs)
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
        # scipy is imported here, not at the top: loading and validating a scenario (e.g.
        # ``cxsim validate``) then starts without it.
        from scipy.special import betaincinv, ndtri

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
            # A lognormal is positive: a draw that underflows to 0 is the smallest normal float.
            x = np.maximum(np.exp(mu + sigma * ndtri(uc)), np.finfo(float).tiny)
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
            return (p["min"] + PERT_LAMBDA * p["mode"] + p["max"]) / (PERT_LAMBDA + 2.0)
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
        _, _, mass = normal_mass(a, b)
        return p["mean"] + p["sd"] * (normal_pdf(a) - normal_pdf(b)) / mass

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
            return (self.p.get("min", -math.inf), self.p.get("max", math.inf))
        if kind == "lognormal":
            return (0.0, math.inf)
        if kind == "beta":
            return (self.p.get("min", 0.0), self.p.get("max", 1.0))
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
        for name in allowed_names(self.dist):
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
        label = LABELS[self.dist]
        if self.dist == "lognormal":
            return f"{label}(mean {fmt_number(p['mean'])}, sd {fmt_number(p['sd'])})"
        args = ", ".join(fmt_number(p[name]) for name in PARAMS[self.dist][0])
        text = f"{label}({args})"
        if self.dist in ("normal", "beta") and ("min" in p or "max" in p):
            lo, hi = self.support()
            left = "(" if math.isinf(lo) else "["
            right = ")" if math.isinf(hi) else "]"
            text += f" on {left}{fmt_number(lo)}, {fmt_number(hi)}{right}"
        return text

    # -- internals ----------------------------------------------------------------------

    def _beta_shape(self) -> tuple[float, float]:
        p = self.p
        if self.dist == "beta":
            return p["alpha"], p["beta"]
        width = p["max"] - p["min"]
        alpha = 1.0 + PERT_LAMBDA * (p["mode"] - p["min"]) / width
        beta = 1.0 + PERT_LAMBDA * (p["max"] - p["mode"]) / width
        return alpha, beta

    def _log_params(self) -> tuple[float, float]:
        """mu and sigma of ln(X) from the mean and sd of X."""
        mean, sd = self.p["mean"], self.p["sd"]
        ratio = sd / mean
        # Beyond 1e150 the square overflows; there log1p(r²) is 2·ln r to the last bit.
        sigma2 = 2.0 * math.log(ratio) if ratio > 1e150 else math.log1p(ratio**2)
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
        from scipy.special import ndtri

        a, b = self._standard_bounds()
        lower, upper, mass = normal_mass(a, b)
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
        return None, [kind_problem(kind)]
    values, problems = param_problems(kind, raw)
    if problems:
        return None, problems
    return Distribution(kind, tuple(sorted(values.items()))), []


# --------------------------------------------------------------------------------------
