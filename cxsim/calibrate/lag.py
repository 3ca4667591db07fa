"""Monthly leading vs lagging series → perception dead time, smoothing time and effect size.

cxsim's perception lag (MODEL.md §3) turns gap closure ``G(t)`` into perceived closure::

    X(t) = X(t-1) + lam * (G(t - delay) - X(t-1)),   lam = 1 - exp(-1/lag)   (lag = 0: lam = 1)

with ``X(-1) = 0`` and ``G(t) = 0`` before the series starts (the simulator starts with no
programme). A lagging indicator responds linearly (MODEL.md §4)::

    lagging(t) = intercept + effect * X(t) + noise

so ``effect`` is the change in the lagging indicator at full perceived closure (``X = 1``).
A fractional ``delay`` interpolates linearly between ``G(t - floor(delay))`` and
``G(t - ceil(delay))``, which makes the fit continuous in ``delay``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from cxsim.calibrate.files import frame_sha256, provenance, write_calibration
from cxsim.errors import CalibrationError
from cxsim.model.propagation import perceived

__all__ = ["LagResult", "fit_lag", "perceived_closure"]

METHOD = (
    "least squares on the perception-lag filter (dead time + geometric smoothing), "
    "intercept and effect profiled by OLS; residual moving-block bootstrap"
)
MIN_MONTHS = 24
_NAMES = ["delay", "lag", "effect", "intercept"]
_DELAY_STEP = 0.1  # months, grid used by the bootstrap and to start the refinement
# Series-months of the perception filter per grid chunk (bounds its working memory).
_GRID_CELLS = 2_000_000


def perceived_closure(leading, delay: float, lag: float) -> np.ndarray:
    """Apply the engine's perception filter to one gap-closure series.

    This is :func:`cxsim.model.propagation.perceived` on a single series, so the delay and
    lag this module fits are exactly the ones the simulator applies.

    Parameters
    ----------
    leading : array-like
        Gap closure ``G(t)``, one value per month; values before the first are taken as 0.
    delay : float
        Dead time ``delay >= 0`` in months (fractional values interpolate).
    lag : float
        Smoothing time ``lag >= 0`` in months; ``lam = 1 - exp(-1/lag)``, ``lag = 0`` gives
        ``lam = 1`` (no smoothing).

    Returns
    -------
    ndarray
        Perceived closure ``X(t)``.

    References
    ----------
    docs/model.md §4 (perception dead time and smoothing, geometric adstock).

    Examples
    --------
    >>> perceived_closure([1.0, 1.0, 1.0, 1.0], delay=1, lag=0).tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    g = np.asarray(leading, dtype=float)
    return perceived(g[None, None, :], np.array([[float(delay)]]), np.array([[float(lag)]]))[0, 0]


def fit_lag(
    leading,
    lagging,
    *,
    max_delay: int = 12,
    max_lag: float | None = None,
    time=None,
    n_boot: int = 200,
    block_length: int | None = None,
    seed: int | np.random.Generator | None = 0,
) -> LagResult:
    """Fit the perception dead time, smoothing time and effect size to monthly series.

    Parameters
    ----------
    leading : array-like or Series
        Monthly gap closure / work-group progress (0..1 at full closure), used as given;
        months before the series start count as 0.
    lagging : array-like or Series
        Monthly lagging indicator (NPS, churn, ...), same length. When both are Series their
        indexes are aligned (months missing from one become NaN and are reported).
    max_delay : int
        Largest dead time searched, in months.
    max_lag : float, optional
        Largest smoothing time searched (default: half the series, at most 36 months).
    time : array-like, optional
        Month labels (default: the Series index, else 0, 1, ...); used in messages and plots.
    n_boot : int
        Bootstrap replications for intervals and standard errors (0: none).
    block_length : int, optional
        Block length of the moving-block residual bootstrap. Default: 1 when the residuals
        look like white noise (lag-1 autocorrelation within ±2/sqrt(n)), else ``ceil(n**(1/3))``.
    seed : int or Generator
        Randomness of the bootstrap; the default 0 makes calibration files reproducible.

    Returns
    -------
    LagResult

    Raises
    ------
    CalibrationError
        Series of different lengths, NaN or infinite values, fewer than 24 months, or a
        constant series.

    Notes
    -----
    For each ``(delay, lag)`` the intercept and effect are ordinary least squares, so the fit
    searches two dimensions: a grid (delay in 0.1-month steps, a dense grid of lags), then three
    rounds of a finer local grid around the best point (to 1e-4 of a step). Every grid point
    runs the engine's own perception filter (:func:`perceived_closure`). Intervals: residuals
    (rescaled by ``sqrt(n / (n - 4))`` for the four fitted parameters) are resampled in circular
    blocks (keeping their autocorrelation), added to the fitted values, and the grid fit is
    repeated for every replication at once (one matrix product); percentile intervals. Dead time
    and smoothing time trade off along a ridge (a ramp smoothed by ``lag`` looks like a ramp
    delayed by ``lag``); they are told apart by sharp changes in the leading series, and the
    bootstrap intervals show how well the data did that.

    References
    ----------
    Künsch, H. R. (1989). The jackknife and the bootstrap for general stationary
    observations. *Annals of Statistics*, 17(3), 1217–1241.
    cxsim reference model, MODEL.md §3–4.

    Examples
    --------
    >>> months = np.arange(48)
    >>> leading = np.clip((months - 6) / 12, 0, 1)
    >>> nps = 10 + 30 * perceived_closure(leading, delay=2, lag=4)
    >>> fit = fit_lag(leading, nps + np.sin(months), n_boot=0)
    >>> round(fit.delay_), round(fit.lag_)
    (2, 4)
    """
    g, y, labels, names = _align(leading, lagging, time)
    n = g.size
    if not (isinstance(max_delay, (int, np.integer)) and 0 <= max_delay <= n - MIN_MONTHS // 2):
        raise CalibrationError(
            f"max_delay must be a whole number of months in 0..{n - MIN_MONTHS // 2}, "
            f"got {max_delay!r}"
        )
    max_lag = float(min(36.0, n / 2) if max_lag is None else max_lag)
    if not max_lag > 0:
        raise CalibrationError(f"max_lag must be positive, got {max_lag!r}")
    delays = np.round(np.arange(0, max_delay + 1e-9, _DELAY_STEP), 10)
    lags = _lag_grid(max_lag)
    grid_x = _grid(g, delays, lags)  # (delay, lag, month)

    rss = _profile_rss(grid_x, y[None, :])[0]  # (delay, lag)
    i, j = np.unravel_index(np.argmin(rss), rss.shape)
    delay, lag = _refine(g, y, delays[i], lags[j], max_delay, max_lag, lags)
    x = perceived_closure(g, delay, lag)
    intercept, effect = _ols(x, y)
    fitted = intercept + effect * x
    resid = y - fitted
    r2 = 1 - resid @ resid / np.sum((y - y.mean()) ** 2)

    n_boot = int(n_boot)
    if n_boot < 0:
        raise CalibrationError(f"n_boot must be >= 0, got {n_boot}")
    block = _block_length(resid) if block_length is None else int(block_length)
    if block < 1:
        raise CalibrationError(f"block_length must be >= 1, got {block_length!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    boot = _bootstrap(grid_x, delays, lags, fitted, resid, n_boot, block, rng)
    return LagResult(
        delay=delay,
        lag=lag,
        effect=effect,
        intercept=intercept,
        r2=float(r2),
        boot=boot,
        frame=pd.DataFrame({"leading": g, "lagging": y, "fitted": fitted}, index=labels),
        names=names,
        settings={
            "max_delay": int(max_delay),
            "max_lag": max_lag,
            "n_boot": n_boot,
            "block_length": block,
            "seed": seed if isinstance(seed, (int, np.integer)) else None,
        },
    )


class LagResult:
    """A fitted perception lag: dead time, smoothing time and effect on a lagging indicator.

    Attributes
    ----------
    delay_ : float
        Dead time ``delay`` in months (continuous optimum).
    lag_ : float
        Smoothing time ``tau`` in months (``lam = 1 - exp(-1/tau)``).
    effect_ : float
        Change of the lagging indicator at full perceived closure (``X = 1``).
    intercept_ : float
        Lagging indicator with no perceived closure.
    params_, se_ : Series
        Estimates and bootstrap standard errors, indexed delay, lag, effect, intercept
        (``se_`` is NaN without bootstrap).
    r2_ : float
        Share of the lagging indicator's variance explained.
    boot_ : DataFrame
        One row per bootstrap replication.
    fitted_, resid_ : Series
        Fitted lagging indicator and residuals, indexed by month.
    n_obs_ : int
        Months used.
    """

    def __init__(self, *, delay, lag, effect, intercept, r2, boot, frame, names, settings):
        self.delay_ = float(delay)
        self.lag_ = float(lag)
        self.effect_ = float(effect)
        self.intercept_ = float(intercept)
        self.params_ = pd.Series([delay, lag, effect, intercept], index=_NAMES, name="estimate")
        self.boot_ = boot
        sd = boot.std(ddof=1) if len(boot) > 1 else pd.Series(np.nan, index=_NAMES)
        self.se_ = sd.reindex(_NAMES).rename("se")
        self.r2_ = r2
        self.n_obs_ = len(frame)
        self.fitted_ = frame["fitted"].rename("fitted")
        self.resid_ = (frame["lagging"] - frame["fitted"]).rename("resid")
        self.names = names
        self.settings = settings
        self._frame = frame

    def perceived(self, leading):
        """Perceived closure ``X(t)`` of a leading series under the fitted delay and lag."""
        x = perceived_closure(np.asarray(leading, dtype=float), self.delay_, self.lag_)
        return pd.Series(x, index=leading.index, name="perceived") if _is_series(leading) else x

    def predict(self, leading):
        """Lagging indicator predicted from a leading series: ``intercept + effect * X(t)``."""
        return self.intercept_ + self.effect_ * self.perceived(leading)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile bootstrap intervals (rows delay, lag, effect, intercept)."""
        if not 0 < level < 1:
            raise CalibrationError(f"level must lie in (0, 1), got {level!r}")
        if len(self.boot_) < 2:
            raise CalibrationError("no bootstrap replications: fit again with n_boot > 0")
        q = self.boot_.quantile([(1 - level) / 2, (1 + level) / 2]).T
        q.columns = ["lower", "upper"]
        return q.reindex(_NAMES)

    def _table(self) -> pd.DataFrame:
        table = pd.DataFrame({"estimate": self.params_, "se": self.se_})
        if len(self.boot_) > 1:
            ci = self.conf_int()
            table["lower 95%"], table["upper 95%"] = ci["lower"], ci["upper"]
        return table

    def _header(self) -> list[str]:
        return [
            f"leading: {self.names[0]}    lagging: {self.names[1]}    months: {self.n_obs_}",
            f"R²: {self.r2_:.3f}    bootstrap: {self.settings['n_boot']} replications, "
            f"block length {self.settings['block_length']} month(s)",
            "delay, lag in months; effect = change in the lagging indicator at full closure",
        ]

    def summary(self) -> str:
        """A text table of the estimates, bootstrap standard errors and 95% intervals."""
        title = "Perception lag fit: lagging = intercept + effect * X(t)"
        table = self._table().to_string(float_format=lambda v: f"{v:.4g}")
        return "\n".join([title, "=" * len(title), *self._header(), "", table])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "<br>".join(self._header())
        table = self._table().to_html(float_format=lambda v: f"{v:.4g}")
        return f"<b>Perception lag fit</b><br>{head}{table}"

    def plot(self, ax=None):
        """Observed and fitted lagging indicator, with the leading series on a twin axis.

        Returns
        -------
        Axes
            The primary (lagging indicator) axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        frame = self._frame
        x = np.arange(len(frame))
        ax.plot(x, frame["lagging"], ".", color="C0", label=f"{self.names[1]} (observed)")
        ax.plot(x, frame["fitted"], "-", color="C0", label="fitted")
        twin = ax.twinx()
        twin.plot(x, frame["leading"], "--", color="C1", label=f"{self.names[0]} (leading)")
        twin.plot(
            x,
            self.perceived(frame["leading"].to_numpy()),
            ":",
            color="C1",
            label="perceived closure",
        )
        twin.set(ylabel=self.names[0])
        step = max(1, len(frame) // 6)
        ax.set_xticks(x[::step], [str(v) for v in frame.index[::step]])
        ax.set(
            xlabel="month",
            ylabel=self.names[1],
            title=f"delay {self.delay_:.1f} mo, lag {self.lag_:.1f} mo",
        )
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize="small")
        return ax

    def to_yaml(
        self,
        path: str | os.PathLike[str],
        segment: str | None = None,
        data_file: str | os.PathLike[str] | None = None,
    ):
        """Write ``responses.perception_delay_months`` and ``perception_lag_months``.

        Both are truncated normals ``{dist: normal, mean: estimate, sd: bootstrap sd, min: 0}``;
        with ``segment`` they go under ``segments.<segment>.responses``. The effect size and
        all intervals go into the provenance record. A parameter whose bootstrap sd is 0 (every
        replication agreed) is written as a point value, and the provenance says so.

        Returns
        -------
        pathlib.Path
        """
        ci = self.conf_int()
        responses: dict[str, Any] = {}
        degenerate = []
        for name, key in (("delay", "perception_delay_months"), ("lag", "perception_lag_months")):
            sd = float(self.se_[name])
            if sd > 0:
                # Truncate to the range the fit searched: 0..max_delay for the dead time
                # (a scenario rejects delays beyond its horizon), 0..max_lag for the lag.
                upper = self.settings["max_delay" if name == "delay" else "max_lag"]
                responses[key] = {
                    "dist": "normal",
                    "mean": self.params_[name],
                    "sd": sd,
                    "min": 0.0,
                    "max": float(upper),
                }
            else:
                responses[key] = self.params_[name]
                degenerate.append(key)
        fragment = (
            {"responses": responses}
            if segment is None
            else {"segments": {segment: {"responses": responses}}}
        )
        data = self._frame[["leading", "lagging"]].reset_index(drop=True)
        record = provenance(
            method=METHOD,
            rows_used=self.n_obs_,
            rows_dropped=0,
            data_file=data_file,
            data_sha256=None if data_file is not None else frame_sha256(data),
            leading=self.names[0],
            lagging=self.names[1],
            estimates={n: self.params_[n] for n in _NAMES},
            se={n: self.se_[n] for n in _NAMES},
            conf_int_95={n: [ci.loc[n, "lower"], ci.loc[n, "upper"]] for n in _NAMES},
            effect_size=self.effect_,
            effect_meaning="change in the lagging indicator at full perceived closure (X = 1)",
            r2=self.r2_,
            degenerate_intervals=degenerate,
            **self.settings,
        )
        name = "perception_lag" + (f"_{segment}" if segment else "") + f"_{self.names[1]}"
        header = f"Perception lag calibration from {self.names[0]!r} → {self.names[1]!r}"
        return write_calibration(path, fragment, name, record, header=header)


# -- fitting machinery ----------------------------------------------------------------------
def _lag_grid(max_lag: float) -> np.ndarray:
    """Smoothing times searched: fine where the data can tell lags apart, coarser beyond."""
    grid = np.concatenate(
        [np.arange(0, 2, 0.1), np.arange(2, 12, 0.25), np.arange(12, 24, 0.5), np.arange(24, 241)]
    )
    return np.unique(np.append(grid[grid < max_lag], max_lag))


def _grid(g: np.ndarray, delays: np.ndarray, lags: np.ndarray) -> np.ndarray:
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


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
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
        rss = _profile_rss(_grid(g, delays, near), y[None, :])[0]
        i, k = np.unravel_index(np.argmin(rss), rss.shape)
        delay0, lag0 = float(delays[i]), float(near[k])
        delay_step, lag_step = delay_step / 10, lag_step / 10
    return delay0, lag0


def _bootstrap(grid_x, delays, lags, fitted, resid, n_boot, block, rng) -> pd.DataFrame:
    """Moving-block residual bootstrap, every replication fitted on the grid at once."""
    if n_boot == 0:
        return pd.DataFrame(columns=_NAMES, dtype=float)
    n = fitted.size
    # Residuals understate the noise by the 4 fitted parameters: rescale by sqrt(n / (n - 4)).
    centred = (resid - resid.mean()) * math.sqrt(n / (n - len(_NAMES)))
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(n_boot, -1)[:, :n] % n
    ys = fitted + centred[index]  # (boot, month)
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
    return pd.DataFrame(np.vstack(rows), columns=_NAMES)


def _block_length(resid: np.ndarray) -> int:
    """1 for white-noise residuals (lag-1 autocorrelation within ±2/sqrt(n)), else n^(1/3)."""
    n = resid.size
    e = resid - resid.mean()
    rho = float(e[1:] @ e[:-1] / (e @ e)) if e @ e > 0 else 0.0
    return 1 if abs(rho) < 2 / math.sqrt(n) else math.ceil(n ** (1 / 3))


# -- input handling -------------------------------------------------------------------------
def _is_series(x) -> bool:
    return isinstance(x, pd.Series)


def _align(leading, lagging, time):
    """Both series → float arrays of equal length, month labels and the series' names."""
    names = [
        str(s.name) if _is_series(s) and s.name is not None else default
        for s, default in ((leading, "leading"), (lagging, "lagging"))
    ]
    if _is_series(leading) and _is_series(lagging) and not leading.index.equals(lagging.index):
        both = pd.concat([leading.rename("g"), lagging.rename("y")], axis=1, sort=True)
        leading, lagging = both["g"], both["y"]
    g, y = _numeric(leading, names[0]), _numeric(lagging, names[1])
    if g.size != y.size:
        raise CalibrationError(
            f"leading ({names[0]}) has {g.size} months but lagging ({names[1]}) has {y.size}; "
            "give series of the same length (or pandas Series with a common index)"
        )
    if time is not None:
        labels = pd.Index(np.asarray(time))
        if len(labels) != g.size:
            raise CalibrationError(f"time has {len(labels)} labels for {g.size} months")
    elif _is_series(leading):
        labels = leading.index
    elif _is_series(lagging):
        labels = lagging.index
    else:
        labels = pd.RangeIndex(g.size)
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


def _numeric(x, name: str) -> np.ndarray:
    try:
        if _is_series(x):
            values = x.to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{name} must be numbers: {exc}") from None
    if values.ndim != 1:
        raise CalibrationError(f"{name} must be one series (1-D), got shape {values.shape}")
    return values
