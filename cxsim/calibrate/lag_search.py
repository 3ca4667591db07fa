"""The search behind :func:`~cxsim.calibrate.lag.fit_lag`: grid, profiled RSS, bootstrap.

For each ``(delay, lag)`` the intercept and effect are ordinary least squares, so only the
residual sum of squares profiled over them is searched (:func:`grid_search`): first on a grid
of dead times in 0.1-month steps and a dense grid of smoothing times, then on ever finer local
grids around the best point. The moving-block residual bootstrap (:func:`block_bootstrap`)
refits every replication on the same grid at once. Every grid point runs the engine's
perception filter, so what is fitted is what the simulator applies. :func:`align_series` turns
the two input series into checked arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxsim.calibrate.data import DataProblem, DataProblems, where
from cxsim.calibrate.months import month_order
from cxsim.errors import CalibrationError
from cxsim.model.propagation import perceived

__all__ = [
    "MIN_MONTHS",
    "PARAMETERS",
    "LagGrid",
    "align_series",
    "auto_block_length",
    "block_bootstrap",
    "grid_search",
    "ols",
]

#: Shortest series the fit accepts.
MIN_MONTHS = 24
#: The fitted parameters, in the order of ``params_`` and of the bootstrap's columns.
PARAMETERS = ["delay", "lag", "effect", "intercept"]
_DELAY_STEP = 0.1  # months, grid used by the bootstrap and to start the refinement
# Series-months of the perception filter per grid chunk (bounds its working memory).
_GRID_CELLS = 2_000_000


@dataclass
class LagGrid:
    """The search grid: dead times, smoothing times and the perceived closure at each pair."""

    delays: np.ndarray
    lags: np.ndarray
    closure: np.ndarray  # (delay, lag, month)


def grid_search(
    g: np.ndarray, y: np.ndarray, max_delay: int, max_lag: float
) -> tuple[float, float, LagGrid]:
    """The least-squares ``(delay, lag)`` of ``y`` on the perceived closure of ``g``.

    The best point of the grid, refined to 1e-4 of its steps; the grid is returned for the
    bootstrap, which refits on it.
    """
    delays, lags = _delay_grid(max_delay), _lag_grid(max_lag)
    grid = LagGrid(delays, lags, _closure_grid(g, delays, lags))
    rss = _profile_rss(grid.closure, y[None, :])[0]  # (delay, lag)
    i, j = np.unravel_index(np.argmin(rss), rss.shape)
    delay, lag = _refine(g, y, delays[i], lags[j], max_delay, max_lag, lags)
    return delay, lag, grid


# -- grids ----------------------------------------------------------------------------------
def _delay_grid(max_delay: int) -> np.ndarray:
    """Dead times searched: ``0 .. max_delay`` in steps of 0.1 month."""
    return np.round(np.arange(0, max_delay + 1e-9, _DELAY_STEP), 10)


def _lag_grid(max_lag: float) -> np.ndarray:
    """Smoothing times searched: fine where the data can tell lags apart, coarser beyond."""
    grid = np.concatenate(
        [np.arange(0, 2, 0.1), np.arange(2, 12, 0.25), np.arange(12, 24, 0.5), np.arange(24, 241)]
    )
    return np.unique(np.append(grid[grid < max_lag], max_lag))


def _closure_grid(g: np.ndarray, delays: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Perceived closure for every (delay, lag) on the grid: (delay, lag, month).

    Every grid point is one series of the engine's perception filter; the delays go through
    in chunks so the filter's working arrays stay small on long series.
    """
    out = np.empty((delays.size, lags.size, g.size))
    per_chunk = max(1, _GRID_CELLS // max(lags.size * g.size, 1))
    for start in range(0, delays.size, per_chunk):
        d = delays[start : start + per_chunk]
        d_all, lag_all = np.repeat(d, lags.size), np.tile(lags, d.size)
        closure = np.broadcast_to(g, (d_all.size, 1, g.size))
        x = perceived(closure, d_all[:, None], lag_all[:, None])
        out[start : start + d.size] = x.reshape(d.size, lags.size, g.size)
    return out


# -- least squares --------------------------------------------------------------------------
def _profile_rss(grid_x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Residual sum of squares of the OLS of each y on each grid column: (y, delay, lag)."""
    xc = grid_x - grid_x.mean(axis=-1, keepdims=True)
    sxx = np.einsum("dlt,dlt->dl", xc, xc)
    yc = ys - ys.mean(axis=1, keepdims=True)
    syy = np.einsum("bt,bt->b", yc, yc)
    sxy = np.einsum("dlt,bt->bdl", xc, yc)
    with np.errstate(divide="ignore", invalid="ignore"):
        explained = np.where(sxx > 0, sxy**2 / sxx, 0.0)
    return syy[:, None, None] - explained


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of the least-squares line of ``y`` on ``x`` (slope 0 if x is flat)."""
    xc = x - x.mean()
    sxx = xc @ xc
    effect = float(xc @ (y - y.mean()) / sxx) if sxx > 0 else 0.0
    return float(y.mean() - effect * x.mean()), effect


def _refine(g, y, delay0, lag0, max_delay, max_lag, lags) -> tuple[float, float]:
    """Zoom in on the best grid point: three rounds of a 21 × 21 local grid, each ten times
    finer, so the optimum is found to 1e-4 of the grid steps (continuous in both)."""
    j = int(np.searchsorted(lags, lag0))
    delay_step = _DELAY_STEP
    lag_step = max(np.diff(lags[max(j - 1, 0) : j + 2]).max(initial=0.0), _DELAY_STEP)
    offsets = np.linspace(-1.0, 1.0, 21)
    for _ in range(3):
        delays = np.unique(np.clip(delay0 + delay_step * offsets, 0.0, max_delay))
        near = np.unique(np.clip(lag0 + lag_step * offsets, 0.0, max_lag))
        rss = _profile_rss(_closure_grid(g, delays, near), y[None, :])[0]
        i, k = np.unravel_index(np.argmin(rss), rss.shape)
        delay0, lag0 = float(delays[i]), float(near[k])
        delay_step, lag_step = delay_step / 10, lag_step / 10
    return delay0, lag0


# -- bootstrap ------------------------------------------------------------------------------
def block_bootstrap(grid: LagGrid, fitted, resid, n_boot, block, rng) -> pd.DataFrame:
    """Moving-block residual bootstrap, every replication fitted on the grid at once.

    Returns one row per replication, columns :data:`PARAMETERS` (empty when ``n_boot`` is 0).
    """
    if n_boot == 0:
        return pd.DataFrame(columns=PARAMETERS, dtype=float)
    n = fitted.size
    # Residuals understate the noise by the 4 fitted parameters: rescale by sqrt(n / (n - 4)).
    centred = (resid - resid.mean()) * math.sqrt(n / (n - len(PARAMETERS)))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n] % n
    ys = fitted + centred[index]  # (boot, month)
    grid_x, delays, lags = grid.closure, grid.delays, grid.lags
    xc = grid_x - grid_x.mean(axis=-1, keepdims=True)
    sxx = np.einsum("dlt,dlt->dl", xc, xc).ravel()
    flat = xc.reshape(-1, n)
    rows = []
    chunk = max(1, int(4e6 // flat.shape[0]))  # NOTE: bounds the (boot, grid) matrix in memory
    for start in range(0, n_boot, chunk):
        y = ys[start : start + chunk]
        yc = y - y.mean(axis=1, keepdims=True)
        sxy = yc @ flat.T  # (boot, grid)
        with np.errstate(divide="ignore", invalid="ignore"):
            explained = np.where(sxx > 0, sxy**2 / sxx, 0.0)
        best = np.argmax(explained, axis=1)
        d, lg = np.unravel_index(best, grid_x.shape[:2])
        with np.errstate(divide="ignore", invalid="ignore"):
            effect = np.where(sxx[best] > 0, sxy[np.arange(len(y)), best] / sxx[best], 0.0)
        xbar = grid_x.mean(axis=-1)[d, lg]
        intercept = y.mean(axis=1) - effect * xbar
        rows.append(np.column_stack([delays[d], lags[lg], effect, intercept]))
    return pd.DataFrame(np.vstack(rows), columns=PARAMETERS)


def auto_block_length(resid: np.ndarray) -> int:
    """1 for white-noise residuals (lag-1 autocorrelation within ±2/sqrt(n)), else n^(1/3)."""
    n = resid.size
    e = resid - resid.mean()
    rho = float(e[1:] @ e[:-1] / (e @ e)) if e @ e > 0 else 0.0
    return 1 if abs(rho) < 2 / math.sqrt(n) else math.ceil(n ** (1 / 3))


# -- input handling -------------------------------------------------------------------------
def align_series(leading, lagging, time):
    """Both series → float arrays of equal length, month labels and the series' names.

    Series with different indexes are aligned on their union (months missing from one become
    NaN, and are reported); every problem of both series is named at once.

    Raises
    ------
    CalibrationError
        Different lengths, months that are unreadable, given twice or missing
        (:func:`~cxsim.calibrate.months.month_order`), NaN or infinite values, fewer than
        :data:`MIN_MONTHS` months, or a constant series.
    """
    names = [
        str(s.name) if isinstance(s, pd.Series) and s.name is not None else default
        for s, default in ((leading, "leading"), (lagging, "lagging"))
    ]
    both_series = isinstance(leading, pd.Series) and isinstance(lagging, pd.Series)
    if both_series and not leading.index.equals(lagging.index):
        both = pd.concat([leading.rename("g"), lagging.rename("y")], axis=1, sort=True)
        leading, lagging = both["g"], both["y"]
    located = DataProblems()
    g, y = _numeric(leading, names[0], located), _numeric(lagging, names[1], located)
    if g.size != y.size:
        raise CalibrationError(
            f"leading ({names[0]}) has {g.size} months but lagging ({names[1]}) has {y.size}; "
            "give series of the same length (or pandas Series with a common index)"
        )
    if time is not None:
        labels = pd.Index(np.asarray(time))
        if len(labels) != g.size:
            raise CalibrationError(f"time has {len(labels)} labels for {g.size} months")
    elif isinstance(leading, pd.Series):
        labels = leading.index
    elif isinstance(lagging, pd.Series):
        labels = lagging.index
    else:
        labels = pd.RangeIndex(g.size)
    # Rows in time order, whatever order the file has; duplicate, missing or unreadable
    # months are refused (all at once, by file and line when read with read_table).
    column = str(time.name) if isinstance(time, pd.Series) and time.name is not None else "month"
    series = time if isinstance(time, pd.Series) else pd.Series(labels, dtype=object)
    order = month_order(series, column, located)
    located.raise_if_any()
    g, y, labels = g[order], y[order], labels[order]
    problems = []
    for values, name in ((g, names[0]), (y, names[1])):
        missing = np.isnan(values)
        if missing.any():
            problems.append(
                f"{name} has {int(missing.sum())} NaN value(s), first at month(s) "
                f"{list(labels[missing][:5])}"
            )
        infinite = np.isinf(values)
        if infinite.any():
            problems.append(
                f"{name} has {int(infinite.sum())} non-finite value(s), first at month(s) "
                f"{list(labels[infinite][:5])}"
            )
    if problems:
        raise CalibrationError("; ".join(problems) + "; fill or trim them before fitting")
    if g.size < MIN_MONTHS:
        raise CalibrationError(
            f"only {g.size} months of data; the perception lag needs at least {MIN_MONTHS}"
        )
    for values, name, role in ((g, names[0], "leading"), (y, names[1], "lagging")):
        if np.ptp(values) == 0:
            raise CalibrationError(
                f"the {role} series {name!r} is constant ({values[0]:g}): nothing to fit"
            )
    return g, y, labels, names


def _numeric(x, name: str, problems: DataProblems) -> np.ndarray:
    """Floats; in a Series (a file's column), each cell that is not a number is a located
    problem (an empty cell stays NaN, reported with the others below)."""
    if isinstance(x, pd.Series):
        values = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for position in np.flatnonzero(np.isnan(values) & x.notna().to_numpy()):
            problems.add(
                DataProblem(where(x, int(position)), name, "not a number", x.iloc[position])
            )
        return values
    try:
        values = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{name} must be numbers: {exc}") from None
    if values.ndim != 1:
        raise CalibrationError(f"{name} must be one series (1-D), got shape {values.shape}")
    return values
