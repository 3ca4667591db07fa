"""Money: discounting, NPV, ROI, IRR, payback and CLV (docs/model.md §5).

Conventions: monthly steps ``t = 0..H-1``; cash of month ``t`` is discounted at the
*end* of that month with ``v = (1+i)^(-1/12)`` for an annual rate ``i``, so
``PV = Σ_t CF(t)·v^(t+1)``. Every function takes a leading ``draw`` axis.
"""

from __future__ import annotations

import numpy as np


def monthly_discount(annual_rate) -> np.ndarray:
    """Monthly discount factor ``v = (1+i)^(-1/12)`` per draw."""
    return (1.0 + np.asarray(annual_rate, dtype=float)) ** (-1.0 / 12.0)


def discount_factors(v: np.ndarray, horizon: int) -> np.ndarray:
    """``v^(t+1)`` for t = 0..H-1; shape (draw, H)."""
    return np.asarray(v)[:, None] ** np.arange(1, horizon + 1)[None, :]


def discounted(cash: np.ndarray, v: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
    """Monthly cash flows (draw, H) discounted to today: ``CF(t)·v^(t+1)``.

    ``factors`` may hold ``discount_factors(v, H)`` already worked out (the same numbers).
    """
    return cash * (discount_factors(v, cash.shape[-1]) if factors is None else factors)


def present_value(cash: np.ndarray, v: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
    """Present value of monthly cash flows (draw, H) → (draw,): ``Σ_t CF(t)·v^(t+1)``.

    The one present-value function: NPV, the waterfalls, the optimiser and the workbook all
    discount through it.

    Examples
    --------
    Twelve monthly payments of 100 at 10% a year, against the annuity ``100·v(1−v¹²)/(1−v)``:

    >>> v = 1.1 ** (-1 / 12)
    >>> pv = present_value(np.full((1, 12), 100.0), np.array([v]))[0]
    >>> bool(np.isclose(pv, 100 * v * (1 - v**12) / (1 - v), rtol=1e-14))
    True
    """
    return discounted(cash, v, factors).sum(axis=-1)


def npv(
    incremental_profit: np.ndarray,
    programme_cost: np.ndarray,
    v: np.ndarray,
    factors: np.ndarray | None = None,
):
    """NPV per draw with its two parts: ``(PV Δprofit − PV cost, PV Δprofit, PV cost)``."""
    if factors is None:
        factors = discount_factors(v, incremental_profit.shape[-1])
    benefit = present_value(incremental_profit, v, factors)
    cost = present_value(programme_cost, v, factors)
    return benefit - cost, benefit, cost


def clv_constant(margin, churn, v):
    """Closed-form value of one customer with constant churn θ and monthly margin m.

    ``CLV = m·v / (1 − (1−θ)·v)``: margin earned at the start of each month the customer
    is active, discounted to the end of that month (docs/model.md §5).

    Examples
    --------
    >>> round(clv_constant(10.0, 0.02, 1.08 ** (-1 / 12)), 4)
    378.3002
    """
    return margin * v / (1.0 - (1.0 - churn) * v)


def payback_month(cash: np.ndarray) -> np.ndarray:
    """Months until cumulative cash turns non-negative and stays so; NaN if not within the horizon.

    ``0`` means the cumulative cash flow is never negative. Shape (draw, H) → (draw,).
    """
    cumulative = np.cumsum(cash, axis=-1)
    negative = cumulative < -1e-9 * np.maximum(1.0, np.abs(cash).max(axis=-1, keepdims=True))
    horizon = cash.shape[-1]
    # Index of the last month ending with a negative cumulative; the month after it is the
    # first that ends paid back, and payback counts the months up to and including it.
    last_negative = horizon - 1 - np.argmax(negative[..., ::-1], axis=-1)
    months = np.where(negative.any(axis=-1), last_negative + 2.0, 0.0)
    return np.where(negative[..., -1], np.nan, months)


def irr(cash: np.ndarray, *, tol: float = 1e-10, iterations: int = 200) -> np.ndarray:
    """Annualised internal rate of return per draw; NaN where it does not exist.

    The monthly rate ``r`` solves ``Σ_t CF(t)·(1+r)^-(t+1) = 0``; it is searched by
    bisection on ``(−0.99, 10)`` per month (vectorised over draws) and exists only where
    the NPV changes sign over that range, i.e. where the cash flow changes sign. With
    more than one sign change the root found is the one bracketed by that range.
    Returns ``(1+r)^12 − 1``.
    """
    cash = np.asarray(cash, dtype=float)
    if cash.shape[0] == 1:
        # numpy's in-place arithmetic on one-element arrays costs about three times that on
        # two (measured 1.2 vs 0.5 µs a call), and bisection makes thousands of such calls:
        # solve the row twice over. Elementwise, so the same bits.
        return irr(np.repeat(cash, 2, axis=0), tol=tol, iterations=iterations)[:1]
    by_month = np.ascontiguousarray(cash.T)  # (H, draw): each month's row is contiguous

    def npv(rate: np.ndarray) -> np.ndarray:
        # Horner's rule in d = 1/(1+r): Σ_t CF(t)·d^(t+1), one pass over the months.
        d = 1.0 / (1.0 + rate)
        total = np.zeros_like(rate)
        for row in by_month[::-1]:
            total += row
            total *= d
        return total

    n = cash.shape[0]
    lo = np.full(n, -0.99)
    hi = np.full(n, 10.0)
    with np.errstate(over="ignore", invalid="ignore"):
        f_lo, f_hi = npv(lo), npv(hi)
        ok = np.isfinite(f_lo) & np.isfinite(f_hi) & (np.sign(f_lo) * np.sign(f_hi) < 0)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            f_mid = npv(mid)
            left = np.sign(f_mid) == np.sign(f_lo)
            lo = np.where(left, mid, lo)
            f_lo = np.where(left, f_mid, f_lo)
            hi = np.where(left, hi, mid)
            if np.all((hi - lo)[ok] < tol):
                break
    monthly = 0.5 * (lo + hi)
    return np.where(ok, (1.0 + monthly) ** 12 - 1.0, np.nan)


def terminal_perpetuity(cash: np.ndarray, v: np.ndarray, growth: float) -> np.ndarray:
    """Value today of the cash flow beyond the horizon as a growing perpetuity, (draw,).

    The last year's incremental cash flow ``C`` (its last 12 months, summed) grows at
    ``g`` a year for ever: worth ``C·(1+g)/(i−g)`` at the horizon (Gordon), discounted to
    today with ``v^H`` (``i`` the annual discount rate, ``v = (1+i)^(−1/12)``).

    >>> v = np.array([1.1 ** (-1 / 12)])
    >>> value = terminal_perpetuity(np.full((1, 24), 100.0), v, 0.0)[0]
    >>> bool(np.isclose(value, 1200 / 0.1 * 1.1**-2))
    True
    """
    horizon = cash.shape[-1]
    rate = v ** (-12.0) - 1.0
    last_year = cash[..., horizon - 12 :].sum(axis=-1)
    return last_year * (1.0 + growth) / (rate - growth) * v**horizon


def terminal_clv(
    customer_value: np.ndarray,
    last_margin: np.ndarray,
    last_cost: np.ndarray,
    v: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """Value today of what the programme leaves at the horizon, (draw,): its incremental
    customers' margins from month ``H`` on, less its running cost from month ``H`` on.

    ``customer_value`` is the incremental ``Σ N·CLV`` in the last month ``H−1``; forward
    CLV counts that month's margin first (``m·v``), which the NPV already holds, so it is
    taken out with ``last_margin``, the incremental ``Σ N·m`` of that month: the customers
    are worth ``(N·CLV − N·m·v)·v^(H−1)`` today. The last month's programme cost ``c``
    continues for ever, ``c·v^(H+1)/(1−v)``. No customer who joins after the horizon counts.

    A running cost of 1 a month from month 12 on, nothing else, at ``v = 0.99``:

    >>> value = terminal_clv(np.zeros(1), np.zeros(1), np.ones(1), np.array([0.99]), 12)[0]
    >>> bool(np.isclose(value, -(0.99**13) / 0.01, rtol=1e-12))
    True
    """
    customers = (customer_value - last_margin * v) * v ** (horizon - 1)
    return customers - last_cost * v ** (horizon + 1) / (1.0 - v)
